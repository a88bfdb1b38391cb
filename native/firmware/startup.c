/*
 * startup.c — the Cortex-M3 vector table and reset handler of the LM3S6965 firmware: copies
 * .data from flash, clears .bss, calls main.
 */
#include <stdint.h>

#include "board.h"

extern uint32_t _data_start, _data_end, _data_load, _bss_start, _bss_end, _stack_top;

int main(void);
void reset_handler(void);

static void default_handler(void)
{
    for (;;) {
    }
}

/* Cortex-M3 system exceptions, then the LM3S6965's interrupts up to UART0 (IRQ 5). */
__attribute__((section(".vectors"), used)) static void (*const vectors[16 + 6])(void) = {
    (void (*)(void))(uintptr_t)&_stack_top,
    reset_handler,
    default_handler, /* NMI */
    fault_handler,   /* HardFault */
    fault_handler,   /* MemManage */
    fault_handler,   /* BusFault */
    fault_handler,   /* UsageFault */
    0,
    0,
    0,
    0,
    default_handler, /* SVCall */
    default_handler, /* DebugMon */
    0,
    default_handler, /* PendSV */
    systick_handler,
    default_handler, /* GPIO A */
    default_handler, /* GPIO B */
    default_handler, /* GPIO C */
    default_handler, /* GPIO D */
    default_handler, /* GPIO E */
    uart0_handler,
};

void reset_handler(void)
{
    uint32_t *src = &_data_load, *dst = &_data_start;
    /* cppcheck-suppress comparePointers ; _data_start and _data_end bound one section (the
     * linker script's .data), a single object cppcheck cannot see */
    while (dst < &_data_end) {
        *dst++ = *src++;
    }
    /* cppcheck-suppress comparePointers ; the same for .bss */
    for (dst = &_bss_start; dst < &_bss_end; dst++) {
        *dst = 0;
    }
    main();
    for (;;) {
    }
}

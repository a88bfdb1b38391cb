/*
 * cortex_m3.c — start-up, faults, reset records and the stack canary of the Cortex-M3
 * firmware, for every board (see cortex_m3.h).
 */
#include "cortex_m3.h"

#include <stddef.h>

#include "board.h"
#include "serial.h"

extern uint32_t _data_start[], _data_end[], _data_load[], _bss_start[], _bss_end[];
extern uint32_t _stack_limit[], _ram_start[], _ram_end[];

int main(void);

#define NVIC_ISER(n) CM3_REG(0xE000E100u + 4u * (n))
#define NVIC_ICER(n) CM3_REG(0xE000E180u + 4u * (n))
#define NVIC_ISPR(n) CM3_REG(0xE000E200u + 4u * (n))
#define NVIC_IPR_BYTE(n) (*(volatile uint8_t *)(0xE000E400u + (n)))
#define SCB_AIRCR CM3_REG(0xE000ED0Cu)
#define SCB_CFSR CM3_REG(0xE000ED28u)
#define SCB_HFSR CM3_REG(0xE000ED2Cu)
#define AIRCR_RESET (0x05FA0000u | (1u << 2)) /* VECTKEY, SYSRESETREQ */

void cm3_irq_enable(uint32_t irq, uint8_t priority)
{
    NVIC_IPR_BYTE(irq) = priority;
    NVIC_ISER(irq / 32u) = 1u << (irq % 32u);
}

void cm3_irq_disable(uint32_t irq)
{
    NVIC_ICER(irq / 32u) = 1u << (irq % 32u);
}

void cm3_irq_pend(uint32_t irq)
{
    NVIC_ISPR(irq / 32u) = 1u << (irq % 32u);
}

/* ---- the reset record: RAM that start-up neither loads nor clears (.noinit) ---- */

#define RECORD_MAGIC 0x52455031u /* "REP1" */

typedef struct reset_record {
    uint32_t magic, cause, check;
} reset_record;

__attribute__((section(".noinit"))) static reset_record record;

static void record_cause(cm3_reset_cause cause)
{
    record.magic = RECORD_MAGIC;
    record.cause = (uint32_t)cause;
    record.check = ~(RECORD_MAGIC ^ (uint32_t)cause);
}

cm3_reset_cause cm3_last_reset(void)
{
    cm3_reset_cause cause = CM3_RESET_POWER_ON;
    if (record.magic == RECORD_MAGIC && record.check == ~(RECORD_MAGIC ^ record.cause) &&
        record.cause <= (uint32_t)CM3_RESET_STACK) {
        cause = (cm3_reset_cause)record.cause;
    }
    record.magic = 0;
    return cause;
}

const char *cm3_reset_words(cm3_reset_cause cause)
{
    switch (cause) {
    case CM3_RESET_WATCHDOG:
        return " (after a reset by the watchdog)";
    case CM3_RESET_FAULT:
        return " (after a reset by a fault)";
    case CM3_RESET_STACK:
        return " (after a reset by a stack overflow)";
    default:
        return "";
    }
}

/* ---- reports ---- */

static void append_hex(char *buf, size_t cap, size_t *len, uint32_t v)
{
    static const char hex[] = "0123456789abcdef";
    int shift;
    serial_append(buf, cap, len, "0x");
    for (shift = 28; shift >= 0; shift -= 4) {
        if (*len < cap) {
            buf[*len] = hex[(v >> (uint32_t)shift) & 0xFu];
            (*len)++;
        }
    }
}

/* What the transmit ring holds goes out first (the end of a response), then a newline ends
 * whatever line was in progress, then `line`. */
static void report(const char *line, size_t n)
{
    uint8_t byte;
    while (serial_tx_get(&byte)) {
        board_panic_write((const char *)&byte, 1);
    }
    board_panic_write("\n", 1);
    board_panic_write(line, n);
}

void cm3_reset(void)
{
    __asm__ volatile("dsb" ::: "memory");
    SCB_AIRCR = AIRCR_RESET;
    __asm__ volatile("dsb" ::: "memory");
    for (;;) {
    }
}

void cm3_fatal(cm3_reset_cause cause, const char *message)
{
    char line[160];
    size_t len = 0;
    cm3_interrupts_off();
    record_cause(cause);
    serial_append(line, sizeof line, &len, "firmware: ");
    serial_append(line, sizeof line, &len, message);
    serial_append(line, sizeof line, &len, ": resetting\n");
    report(line, len);
    cm3_reset();
}

static volatile bool watchdog_warned;

void cm3_watchdog_warning(void)
{
    static const char line[] = "firmware: watchdog: the serve loop stopped kicking it: the "
                               "board resets when it runs out again\n";
    watchdog_warned = true;
    record_cause(CM3_RESET_WATCHDOG);
    report(line, sizeof line - 1u);
}

void cm3_watchdog_kicked(void)
{
    if (watchdog_warned) {
        /* The loop came back in time: no reset is coming. */
        watchdog_warned = false;
        record.magic = 0;
    }
}

/* Called by cm3_fault_handler with the exception's stacked frame (r0-r3, r12, lr, pc, xpsr)
 * and EXC_RETURN. The frame is read only where it lies in RAM: an overflowed stack may not. */
__attribute__((used, noreturn)) static void fault_report(const uint32_t *frame,
                                                         uint32_t exc_return)
{
    char line[160];
    size_t len = 0;
    uint32_t ipsr;
    static const char *const names[] = {"HardFault", "MemManage fault", "BusFault",
                                        "UsageFault"};
    __asm__ volatile("mrs %0, ipsr" : "=r"(ipsr));
    record_cause(CM3_RESET_FAULT);
    serial_append(line, sizeof line, &len, "firmware: ");
    serial_append(line, sizeof line, &len,
                  (ipsr >= 3u && ipsr <= 6u) ? names[ipsr - 3u] : "fault");
    serial_append(line, sizeof line, &len, " (CFSR ");
    append_hex(line, sizeof line, &len, SCB_CFSR);
    serial_append(line, sizeof line, &len, ", HFSR ");
    append_hex(line, sizeof line, &len, SCB_HFSR);
    serial_append(line, sizeof line, &len, ")");
    if (frame >= _ram_start && frame + 8 <= _ram_end) {
        serial_append(line, sizeof line, &len, " at pc ");
        append_hex(line, sizeof line, &len, frame[6]);
        serial_append(line, sizeof line, &len, ", lr ");
        append_hex(line, sizeof line, &len, frame[5]);
    }
    serial_append(line, sizeof line, &len, (exc_return & 4u) != 0u ? " in a task" : "");
    serial_append(line, sizeof line, &len, ": resetting\n");
    report(line, len);
    cm3_reset();
}

/* The stacked frame is on the process stack (a FreeRTOS task) or the main stack, as bit 2 of
 * EXC_RETURN (in lr) says. */
__attribute__((naked)) void cm3_fault_handler(void)
{
    __asm__ volatile("tst lr, #4\n"
                     "ite eq\n"
                     "mrseq r0, msp\n"
                     "mrsne r0, psp\n"
                     "mov r1, lr\n"
                     "b fault_report\n");
}

void cm3_default_handler(void)
{
    cm3_fatal(CM3_RESET_FAULT, "unexpected interrupt");
}

void svc_handler(void) __attribute__((weak, alias("cm3_default_handler")));
void pendsv_handler(void) __attribute__((weak, alias("cm3_default_handler")));
void systick_handler(void) __attribute__((weak, alias("cm3_default_handler")));

/* ---- the stack canary ---- */

#define CANARY 0xC0DEDBADu

void cm3_canary_arm(uint32_t *bottom)
{
    uint32_t i;
    for (i = 0; i < CM3_CANARY_WORDS; i++) {
        bottom[i] = CANARY ^ i;
    }
}

bool cm3_canary_intact(const uint32_t *bottom)
{
    uint32_t i;
    for (i = 0; i < CM3_CANARY_WORDS; i++) {
        if (bottom[i] != (CANARY ^ i)) {
            return false;
        }
    }
    return true;
}

uint32_t *cm3_main_stack_bottom(void)
{
    return _stack_limit;
}

/* ---- start-up ---- */

void cm3_reset_handler(void)
{
    uint32_t *src = _data_load, *dst = _data_start;
    /* cppcheck-suppress comparePointers ; _data_start and _data_end bound one section (the
     * linker script's .data), a single object cppcheck cannot see */
    while (dst < _data_end) {
        *dst++ = *src++;
    }
    /* cppcheck-suppress comparePointers ; the same for .bss */
    for (dst = _bss_start; dst < _bss_end; dst++) {
        *dst = 0;
    }
    cm3_canary_arm(_stack_limit);
    (void)main();
    cm3_reset();
}

/*
 * cortex_m3.h — what every Cortex-M3 firmware here shares, whatever the board: the reset
 * handler, fault handlers that report over the UART and reset, the record of why the board
 * last reset, the stack canary, and the register helpers.
 */
#ifndef CORTEX_M3_H
#define CORTEX_M3_H

#include <stdbool.h>
#include <stdint.h>

/** A memory-mapped register. */
#define CM3_REG(addr) (*(volatile uint32_t *)(addr))

/** NVIC: enables interrupt `irq`, at priority `priority` (the top bits count; 0 is the most
 *  urgent). */
void cm3_irq_enable(uint32_t irq, uint8_t priority);
/** NVIC: disables interrupt `irq`. */
void cm3_irq_disable(uint32_t irq);
/** NVIC: makes interrupt `irq` pending (its handler runs once it is enabled and unmasked). */
void cm3_irq_pend(uint32_t irq);

static inline void cm3_interrupts_off(void)
{
    __asm__ volatile("cpsid i" ::: "memory");
}

static inline void cm3_interrupts_on(void)
{
    __asm__ volatile("cpsie i" ::: "memory");
}

/** Masks interrupts (PRIMASK) and returns the mask as it was, for cm3_interrupts_restore:
 *  a short critical section that nests, and leaves FreeRTOS's BASEPRI alone. */
static inline uint32_t cm3_interrupts_save(void)
{
    uint32_t primask;
    __asm__ volatile("mrs %0, primask\n"
                     "cpsid i"
                     : "=r"(primask)
                     :
                     : "memory");
    return primask;
}

static inline void cm3_interrupts_restore(uint32_t primask)
{
    __asm__ volatile("msr primask, %0" : : "r"(primask) : "memory");
}

/* The ARM APB watchdog (the CMSDK's; the Stellaris parts carry it as their "Luminary"
 * watchdog): the same registers on both boards. */
#define CM3_WDT_LOAD 0x000u
#define CM3_WDT_CTRL 0x008u
#define CM3_WDT_INTCLR 0x00Cu
#define CM3_WDT_LOCK 0xC00u
#define CM3_WDT_UNLOCK 0x1ACCE551u

/** Starts the APB watchdog at `base`: it interrupts after `load` clocks without a kick and
 *  resets the board after as many again; locked afterwards. */
static inline void cm3_apb_watchdog_start(uint32_t base, uint32_t load)
{
    CM3_REG(base + CM3_WDT_LOCK) = CM3_WDT_UNLOCK;
    CM3_REG(base + CM3_WDT_LOAD) = load;
    CM3_REG(base + CM3_WDT_CTRL) = 3u; /* INTEN (counting from now), RESEN */
    CM3_REG(base + CM3_WDT_LOCK) = 0u;
}

/** Kicks the APB watchdog at `base` (its count reloads). */
static inline void cm3_apb_watchdog_kick(uint32_t base)
{
    CM3_REG(base + CM3_WDT_LOCK) = CM3_WDT_UNLOCK;
    CM3_REG(base + CM3_WDT_INTCLR) = 1u;
    CM3_REG(base + CM3_WDT_LOCK) = 0u;
}

static inline void cm3_wait_for_interrupt(void)
{
    __asm__ volatile("wfi" ::: "memory");
}

/** Why the board last reset, as recorded before the reset in RAM that start-up leaves alone
 *  (a power-on finds no valid record). */
typedef enum cm3_reset_cause {
    CM3_RESET_POWER_ON = 0, /* no record: power-on, the reset pin, a debugger */
    CM3_RESET_WATCHDOG,     /* the serve loop stopped kicking the watchdog */
    CM3_RESET_FAULT,        /* a fault handler (HardFault, MemManage, BusFault, UsageFault) */
    CM3_RESET_STACK         /* the stack canary was found overwritten */
} cm3_reset_cause;

/** The cause of the last reset (read once at start-up: the record is cleared). */
cm3_reset_cause cm3_last_reset(void);
/** Words for the boot banner: "" for a power-on, else " (after a reset by the watchdog)" etc. */
const char *cm3_reset_words(cm3_reset_cause cause);

/** Records `cause`, reports `message` on the UART (polled, after what the transmit ring
 *  held) and resets the board. */
__attribute__((noreturn)) void cm3_fatal(cm3_reset_cause cause, const char *message);
/** The watchdog's warning (its interrupt: the serve loop stopped): records the cause and
 *  reports it; the watchdog resets the board when its count runs out again. */
void cm3_watchdog_warning(void);
/** Called by board_watchdog_kick: a loop back in time after a warning clears the record. */
void cm3_watchdog_kicked(void);
/** Resets the board now (SYSRESETREQ). */
__attribute__((noreturn)) void cm3_reset(void);

/** Words of the stack canary: a pattern at the lowest addresses of a stack, which only an
 *  overflow overwrites. */
#define CM3_CANARY_WORDS 8u
/** Writes the canary at `bottom` (the lowest word of a stack). */
void cm3_canary_arm(uint32_t *bottom);
/** Whether the canary at `bottom` is intact. */
bool cm3_canary_intact(const uint32_t *bottom);
/** The lowest word of the main stack (the linker script's _stack_limit). */
uint32_t *cm3_main_stack_bottom(void);

/** The handlers the vector tables use. */
void cm3_reset_handler(void);
void cm3_default_handler(void);
void cm3_fault_handler(void);
/** SVCall, PendSV and SysTick: weak, cm3_default_handler unless the firmware defines them
 *  (main.c's SysTick clock; FreeRTOS's port, whose handlers FreeRTOSConfig.h names so). */
void svc_handler(void);
void pendsv_handler(void);
void systick_handler(void);

#endif /* CORTEX_M3_H */

/*
 * main.c — the bare-metal REP executor firmware, the same on every board (board.h): the C
 * library and the mock step kinds served over the board's UART.
 *
 * The serve loop: kick the watchdog, check the stack canary, rep_tick, then sleep (WFI) until
 * a byte arrives or rep_idle_ms has passed (at most LOOP_MS), and feed what the receive
 * interrupt put in the ring (serial_feed: a byte with a UART error drops its line). The port:
 * - rep_io.write: serial_write, through the transmit ring the UART's interrupt drains, with a
 *   bounded wait;
 * - rep_io.now_ms: SysTick counting core cycles, its wraps (every 10 ms) counted by its
 *   interrupt, widened to 64 bits;
 * - no wall clock: event timestamps count from 1970-01-01T00:00:00Z at boot.
 * A UART has no end of input: the firmware serves until it is reset or powered off. Bytes
 * before the first newline after reset are dropped as line noise (rep_executor_resync).
 */
#include <stdint.h>
#include <string.h>

#include "board.h"
#include "cortex_m3.h"
#include "mock_steps.h"
#include "rep_executor.h"
#include "serial.h"
#ifdef FIRMWARE_DIAG
#include "diag_steps.h"
#endif

/* The longest sleep of the serve loop: the watchdog is kicked at least this often. */
#define LOOP_MS 250u

/* Cortex-M3 SysTick and the interrupt control register. */
#define SYST_CSR CM3_REG(0xE000E010u)
#define SYST_RVR CM3_REG(0xE000E014u)
#define SYST_CVR CM3_REG(0xE000E018u)
/* SysTick wraps every 10 ms: its interrupt counts the wraps and wakes the serve loop from
 * WFI, so a deadline is met within 10 ms. A wrap whose interrupt is late (as under emulation)
 * is still counted once (see cycles); the time is lost only when an interrupt is more than
 * 10 ms late. */
#define SYST_RELOAD (board_core_hz / 100u - 1u)
#define SCB_ICSR CM3_REG(0xE000ED04u)
#define ICSR_PENDSTSET (1u << 26)

/* Received items: written by the UART interrupt (serial_rx_put), read by the serve loop
 * (single producer, single consumer; the indexes only grow and wrap by masking). The last slot
 * is kept for an overrun mark. */
#define RX_ITEMS 512u
static volatile serial_item rx_ring[RX_ITEMS];
static volatile uint32_t rx_head, rx_tail;
static volatile bool rx_paused;

static volatile uint32_t systick_wraps;

static rep_executor executor;
static serial_stats stats;

void systick_handler(void)
{
    systick_wraps++;
}

bool serial_rx_put(serial_item item)
{
    uint32_t head = rx_head, used = head - rx_tail;
    if (used >= RX_ITEMS - 1u) {
        /* Full: the byte is lost. The last slot, kept for this, records the loss in order
         * (once), as an overrun; the line it hits is dropped. */
        if (used == RX_ITEMS - 1u) {
            rx_ring[head % RX_ITEMS] = SERIAL_ERR_OVERRUN;
            rx_head = head + 1u;
        }
        rx_paused = true;
        return false;
    }
    rx_ring[head % RX_ITEMS] = item;
    rx_head = head + 1u;
    if (used + 1u >= RX_ITEMS - 1u) {
        rx_paused = true; /* one slot left: the caller pauses reception */
        return false;
    }
    return true;
}

/* Core cycles since boot. A wrap whose interrupt has not run yet (interrupts masked, or it
 * is just happening) is pending in ICSR: it is counted, with the counter read after it. */
static uint64_t cycles(void)
{
    uint32_t before, wraps, count;
    do {
        before = systick_wraps;
        wraps = before;
        count = SYST_CVR;
        if ((SCB_ICSR & ICSR_PENDSTSET) != 0u) {
            count = SYST_CVR; /* read after the wrap */
            wraps++;
        }
    } while (before != systick_wraps); /* the interrupt ran meanwhile: read again */
    return (uint64_t)wraps * (SYST_RELOAD + 1u) + (SYST_RELOAD - count);
}

static uint64_t now_ms(void *ctx)
{
    (void)ctx;
    return cycles() / (board_core_hz / 1000u);
}

static void pause_for_interrupt(void *ctx)
{
    (void)ctx;
    cm3_wait_for_interrupt();
}

static const serial_tx_port tx_port = {board_uart_tx_kick, now_ms, pause_for_interrupt, NULL};

static int uart_write(void *ctx, const char *bytes, size_t n)
{
    (void)ctx;
    return serial_write(&stats, &tx_port, bytes, n);
}

/* Sleeps until a byte arrives or `ms` have passed. Interrupts are masked between the check
 * and WFI, which still wakes on a pending interrupt: none is missed. */
static void wait_for_input(uint32_t ms)
{
    uint64_t deadline = now_ms(NULL) + ms;
    for (;;) {
        cm3_interrupts_off();
        if (rx_head != rx_tail || now_ms(NULL) >= deadline) {
            cm3_interrupts_on();
            return;
        }
        cm3_wait_for_interrupt();
        cm3_interrupts_on();
    }
}

/* Feeds what the ring holds, 64 items at a time; reception resumes once the ring is half
 * empty. */
static void feed_received(void)
{
    serial_item items[64];
    uint32_t n = 0, tail = rx_tail;
    while (tail != rx_head && n < 64u) {
        items[n] = rx_ring[tail % RX_ITEMS];
        n++;
        tail++;
    }
    rx_tail = tail;
    (void)serial_feed(&executor, &stats, items, n, uart_write, NULL);
    if (rx_paused && rx_head - rx_tail <= RX_ITEMS / 2u) {
        rx_paused = false;
        board_uart_rx_resume();
    }
}

static void smash_canary(void)
{
    cm3_main_stack_bottom()[0] = 0;
}

/* Reports why the firmware cannot serve and stops: the watchdog resets the board. */
static void halt(const char *why)
{
    static const char prefix[] = "firmware: ";
    (void)uart_write(NULL, prefix, sizeof prefix - 1u);
    (void)uart_write(NULL, why, strlen(why));
    (void)uart_write(NULL, ", halted\n", 9);
    for (;;) {
        cm3_wait_for_interrupt();
    }
}

int main(void)
{
    cm3_reset_cause cause = cm3_last_reset();
    char banner[128];
    size_t len = 0;
    rep_io io;
    board_init();
    SYST_RVR = SYST_RELOAD;
    SYST_CVR = 0;
    SYST_CSR = 7; /* core clock, interrupt, enable */
    cm3_interrupts_on();

    if (cause != CM3_RESET_POWER_ON) {
        /* Only a reset with a reason is announced (hosts log what the board prints: a banner
         * on every start would be noise). */
        serial_append(banner, sizeof banner, &len, "firmware: REP v0.1 executor on ");
        serial_append(banner, sizeof banner, &len, board_name);
        serial_append(banner, sizeof banner, &len, " ready");
        serial_append(banner, sizeof banner, &len, cm3_reset_words(cause));
        serial_append(banner, sizeof banner, &len, "\n");
        (void)uart_write(NULL, banner, len);
    }

    io.read = NULL; /* the serve loop feeds bytes itself */
    io.write = uart_write;
    io.now_ms = now_ms;
    io.unix_ms = NULL;
    io.ctx = NULL;
    if (rep_executor_init(&executor, &io, NULL) != REP_OK ||
        mock_steps_register(&executor) != REP_OK) {
        halt("the executor cannot start (limits?)");
    }
#ifdef FIRMWARE_DIAG
    if (diag_steps_register(&executor, smash_canary) != REP_OK) {
        halt("the executor cannot start (REP_MAX_KINDS?)");
    }
#else
    (void)smash_canary;
#endif
    /* Whatever arrives before the first newline after reset is line noise (a host connecting,
     * a glitch at power-up); the host side sends a newline when it connects (rep-bridge). */
    (void)rep_executor_resync(&executor);
    for (;;) {
        board_watchdog_kick();
        if (!cm3_canary_intact(cm3_main_stack_bottom())) {
            cm3_fatal(CM3_RESET_STACK, "stack canary overwritten: the main stack overflowed");
        }
        rep_tick(&executor);
        wait_for_input(rep_idle_ms(&executor, LOOP_MS));
        feed_received();
    }
}

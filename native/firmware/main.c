/*
 * main.c — the REP executor firmware for a Cortex-M3 (Stellaris LM3S6965, as QEMU's
 * lm3s6965evb emulates it): the C library and the mock step kinds over UART0.
 *
 * The port is the three rep_io callbacks:
 * - read: bytes that UART0's receive interrupt put in a ring buffer; while there are none and
 *   the library has nothing to do, the core sleeps (WFI) until the next interrupt;
 * - write: polled transmission on UART0;
 * - now_ms: SysTick counting core cycles, its wraps (every 1.34 s) counted by its interrupt —
 *   one interrupt per millisecond would lose ticks whenever an interrupt is delayed by more
 *   than a tick, as it often is under emulation.
 * The board has no wall clock, so event timestamps count from 1970-01-01T00:00:00Z at boot.
 * A UART has no end of input: the firmware serves until it is reset or powered off. Bytes
 * before the first newline after reset are dropped as line noise (rep_executor_resync).
 */
#include <stdint.h>

#include "board.h"
#include "mock_steps.h"
#include "rep_executor.h"

#define REG(addr) (*(volatile uint32_t *)(addr))

/* UART0 (a PL011 with Stellaris registers). */
#define UART0 0x4000C000u
#define UART_DR REG(UART0 + 0x000)
#define UART_FR REG(UART0 + 0x018)
#define UART_IBRD REG(UART0 + 0x024)
#define UART_FBRD REG(UART0 + 0x028)
#define UART_LCRH REG(UART0 + 0x02C)
#define UART_CTL REG(UART0 + 0x030)
#define UART_IM REG(UART0 + 0x038)
#define UART_ICR REG(UART0 + 0x044)
#define FR_RXFE (1u << 4)
#define FR_TXFF (1u << 5)
#define IM_RX ((1u << 4) | (1u << 6)) /* receive and receive-timeout interrupts */

/* System control: clock gating of UART0 and GPIO A (its pins). */
#define SYSCTL_RCGC1 REG(0x400FE104u)
#define SYSCTL_RCGC2 REG(0x400FE108u)

/* Cortex-M3 SysTick and NVIC. */
#define SYST_CSR REG(0xE000E010u)
#define SYST_RVR REG(0xE000E014u)
#define SYST_CVR REG(0xE000E018u)
#define SYST_RELOAD 0xFFFFFFu /* the largest: the counter wraps every 2^24 cycles */
#define SCB_ICSR REG(0xE000ED04u)
#define ICSR_PENDSTSET (1u << 26)
#define NVIC_ISER0 REG(0xE000E100u)
#define UART0_IRQ 5u

/* The core clock after reset (QEMU's model and the board's 12 MHz crystal / PLL bypass):
 * 12.5 MHz; override with -DCORE_HZ=… for another clock set-up. */
#ifndef CORE_HZ
#define CORE_HZ 12500000u
#endif

/* Received bytes: written by the interrupt, read by the main loop (single producer, single
 * consumer; the indexes only grow and wrap by masking). */
#define RX_BYTES 512u
static volatile uint8_t rx_ring[RX_BYTES];
static volatile uint32_t rx_head, rx_tail;

static volatile uint32_t systick_wraps;

static rep_executor executor;

static void irq_disable(void)
{
    __asm__ volatile("cpsid i" ::: "memory");
}

static void irq_enable(void)
{
    __asm__ volatile("cpsie i" ::: "memory");
}

static void wait_for_interrupt(void)
{
    __asm__ volatile("wfi" ::: "memory");
}

void systick_handler(void)
{
    systick_wraps++;
}

/* Moves received bytes into the ring; when it is full, stops listening (the bytes wait in the
 * UART, and the sender is held back) until the main loop has made room. */
void uart0_handler(void)
{
    while (!(UART_FR & FR_RXFE)) {
        if (rx_head - rx_tail >= RX_BYTES) {
            UART_IM = 0;
            break;
        }
        rx_ring[rx_head % RX_BYTES] = (uint8_t)UART_DR;
        rx_head++;
    }
    UART_ICR = IM_RX;
}

static void uart_write_bytes(const char *bytes, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++) {
        while (UART_FR & FR_TXFF) {
        }
        UART_DR = (uint8_t)bytes[i];
    }
}

void fault_handler(void)
{
    static const char msg[] = "firmware: hard fault, halted\n";
    uart_write_bytes(msg, sizeof msg - 1);
    for (;;) {
    }
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
        if (SCB_ICSR & ICSR_PENDSTSET) {
            count = SYST_CVR; /* read after the wrap */
            wraps++;
        }
    } while (before != systick_wraps); /* the interrupt ran meanwhile: read again */
    return (uint64_t)wraps * (SYST_RELOAD + 1u) + (SYST_RELOAD - count);
}

static uint64_t now_ms(void *ctx)
{
    (void)ctx;
    return cycles() / (CORE_HZ / 1000u);
}

static long uart_read(void *ctx, char *buf, size_t cap, uint32_t timeout_ms)
{
    uint64_t deadline = now_ms(ctx) + timeout_ms;
    size_t n = 0;
    /* Sleep until a byte arrives or the deadline passes. Interrupts are masked between the
     * check and WFI, which still wakes on a pending interrupt: none is missed. */
    for (;;) {
        irq_disable();
        if (rx_head != rx_tail || now_ms(ctx) >= deadline) {
            irq_enable();
            break;
        }
        wait_for_interrupt();
        irq_enable();
    }
    while (n < cap && rx_tail != rx_head) {
        buf[n++] = (char)rx_ring[rx_tail % RX_BYTES];
        rx_tail++;
    }
    UART_IM = IM_RX; /* listening again, if the ring was full */
    return (long)n;
}

static int uart_write(void *ctx, const char *bytes, size_t n)
{
    (void)ctx;
    uart_write_bytes(bytes, n);
    return 0;
}

static void board_init(void)
{
    SYSCTL_RCGC1 |= 1u;        /* UART0 */
    SYSCTL_RCGC2 |= 1u;        /* GPIO A */
    UART_CTL = 0;
    UART_IBRD = 6;             /* 115200 baud at 12.5 MHz (QEMU ignores the rate) */
    UART_FBRD = 50;
    /* 8N1 with the FIFOs off: switching them on would empty the receive buffer, losing a
     * byte that arrived since reset (a host may write as soon as it connects). */
    UART_LCRH = 0x60;
    UART_IM = IM_RX;
    UART_CTL = 0x301;          /* enable, TX, RX */
    NVIC_ISER0 = 1u << UART0_IRQ;
    SYST_RVR = SYST_RELOAD;
    SYST_CVR = 0;
    SYST_CSR = 7;              /* core clock, interrupt, enable */
    irq_enable();
}

int main(void)
{
    static const char banner[] = "firmware: REP v0.1 executor on lm3s6965evb ready\n";
    rep_io io;
    board_init();
    uart_write_bytes(banner, sizeof banner - 1);
    io.read = uart_read;
    io.write = uart_write;
    io.now_ms = now_ms;
    io.unix_ms = 0;
    io.ctx = 0;
    if (rep_executor_init(&executor, &io, 0) != REP_OK ||
        mock_steps_register(&executor) != REP_OK) {
        static const char broken[] = "firmware: the executor cannot start (limits?), halted\n";
        uart_write_bytes(broken, sizeof broken - 1);
        for (;;) {
            wait_for_interrupt();
        }
    }
    /* Whatever arrives before the first newline after reset is line noise (a host connecting,
     * a glitch at power-up); the host side sends a newline when it connects (rep-bridge). */
    (void)rep_executor_resync(&executor);
    (void)rep_serve(&executor);
    for (;;) {
        wait_for_interrupt();
    }
}

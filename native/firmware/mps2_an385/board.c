/*
 * board.c — ARM's MPS2 with the AN385 image (QEMU's mps2-an385, a Cortex-M3 at 25 MHz): UART0,
 * a CMSDK APB UART (one-byte buffers, no FIFO, an overrun flag); the CMSDK APB watchdog,
 * wired to the NMI; the vector table. See ../board.h.
 */
#include "board.h"

#include <stdint.h>

#include "cortex_m3.h"
#include "serial.h"

const char board_name[] = "mps2-an385";
const uint32_t board_core_hz = 25000000u;

/* UART0: CMSDK APB UART. */
#define UART0 0x40004000u
#define UART_DATA CM3_REG(UART0 + 0x000u)
#define UART_STATE CM3_REG(UART0 + 0x004u)
#define UART_CTRL CM3_REG(UART0 + 0x008u)
#define UART_INTCLEAR CM3_REG(UART0 + 0x00Cu)
#define UART_BAUDDIV CM3_REG(UART0 + 0x010u)
#define STATE_TXFULL 1u
#define STATE_RXFULL 2u
#define STATE_RXOVERRUN 8u
#define CTRL_TX_EN 1u
#define CTRL_RX_EN 2u
#define CTRL_TX_INTEN 4u
#define CTRL_RX_INTEN 8u
#define INT_TX 1u
#define INT_RX 2u
#define UART0_RX_IRQ 0u
#define UART0_TX_IRQ 1u

/* CMSDK APB watchdog: its interrupt is the NMI on this board. */
#define WDT 0x40008000u

#define PRIORITY_UART (6u << 5)

extern uint32_t _stack_top[];
void uart0_rx_handler(void);
void uart0_tx_handler(void);
void nmi_handler(void);

void uart0_rx_handler(void)
{
    UART_INTCLEAR = INT_RX; /* first: a byte arriving after the loop raises it again */
    /* None while reception is paused: an interrupt pending when it paused still runs this. */
    while ((UART_CTRL & CTRL_RX_INTEN) != 0u && (UART_STATE & STATE_RXFULL) != 0u) {
        serial_item item = (serial_item)(UART_DATA & 0xFFu);
        if ((UART_STATE & STATE_RXOVERRUN) != 0u) {
            /* A byte was lost before this one (the buffer holds one). */
            item |= SERIAL_ERR_OVERRUN;
            UART_STATE = STATE_RXOVERRUN;
        }
        if (!serial_rx_put(item)) {
            board_uart_rx_pause();
            break;
        }
    }
}

/* Sends the next byte of the ring when the UART's buffer is free; it raises the transmit
 * interrupt when that byte has gone. Interrupts masked by the caller. */
static void tx_next(void)
{
    uint8_t byte;
    if ((UART_STATE & STATE_TXFULL) == 0u && serial_tx_get(&byte)) {
        UART_DATA = byte;
    }
}

void uart0_tx_handler(void)
{
    UART_INTCLEAR = INT_TX;
    tx_next();
}

void board_uart_rts(bool ready)
{
    /* The MPS2's console UART has no RTS pin: back-pressure is the masked interrupt alone. */
    (void)ready;
}

void board_uart_rx_pause(void)
{
    UART_CTRL &= ~CTRL_RX_INTEN;
    board_uart_rts(false);
}

void board_uart_rx_resume(void)
{
    uint32_t primask = cm3_interrupts_save();
    UART_CTRL |= CTRL_RX_INTEN;
    if ((UART_STATE & STATE_RXFULL) != 0u) {
        /* The byte that waited arrived while the interrupt was off: it raised none. */
        cm3_irq_pend(UART0_RX_IRQ);
    }
    cm3_interrupts_restore(primask);
    board_uart_rts(true);
}

void board_uart_tx_kick(void)
{
    uint32_t primask = cm3_interrupts_save();
    tx_next();
    cm3_interrupts_restore(primask);
}

void board_panic_write(const char *bytes, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++) {
        uint32_t spins = 0;
        while ((UART_STATE & STATE_TXFULL) != 0u && spins < 400000u) {
            spins++;
        }
        UART_DATA = (uint8_t)bytes[i];
    }
}

void board_watchdog_kick(void)
{
    cm3_apb_watchdog_kick(WDT);
    cm3_watchdog_kicked();
}

void nmi_handler(void)
{
    /* The watchdog's count ran out once (its only use of the NMI here): warn; it resets the
     * board when the count runs out again. */
    cm3_watchdog_warning();
}

void board_init(void)
{
    UART_CTRL = 0;
    UART_BAUDDIV = board_core_hz / 115200u; /* 217 */
    UART_STATE = STATE_RXOVERRUN;           /* clears a stale overrun */
    UART_INTCLEAR = INT_RX | INT_TX;
    UART_CTRL = CTRL_TX_EN | CTRL_RX_EN | CTRL_TX_INTEN | CTRL_RX_INTEN;
    cm3_irq_enable(UART0_RX_IRQ, PRIORITY_UART);
    cm3_irq_enable(UART0_TX_IRQ, PRIORITY_UART);

    cm3_apb_watchdog_start(WDT, (board_core_hz / 1000u) * BOARD_WATCHDOG_MS);
}

/* Cortex-M3 exceptions, then the AN385's interrupts up to UART0's (0: receive, 1: transmit). */
__attribute__((section(".vectors"), used)) static void (*const vectors[16 + 2])(void) = {
    (void (*)(void))(uintptr_t)_stack_top, /* the initial stack pointer (sections.ld) */
    cm3_reset_handler,
    nmi_handler,       /* NMI: the watchdog */
    cm3_fault_handler, /* HardFault */
    cm3_fault_handler, /* MemManage */
    cm3_fault_handler, /* BusFault */
    cm3_fault_handler, /* UsageFault */
    0,
    0,
    0,
    0,
    svc_handler,
    cm3_default_handler, /* DebugMon */
    0,
    pendsv_handler,
    systick_handler,
    uart0_rx_handler, /* 0 UART0 receive */
    uart0_tx_handler, /* 1 UART0 transmit */
};

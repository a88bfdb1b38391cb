/*
 * board.c — the Stellaris LM3S6965 (QEMU's lm3s6965evb): UART0, a PL011, with its FIFOs on
 * and its error bits read; the Luminary watchdog; the vector table. See ../board.h.
 */
#include "board.h"

#include <stdint.h>

#include "cortex_m3.h"
#include "serial.h"

const char board_name[] = "lm3s6965evb";
/* The core clock after reset (QEMU's model; the board's 12 MHz crystal with the PLL bypassed):
 * 12.5 MHz. */
const uint32_t board_core_hz = 12500000u;

/* UART0: a PL011 with Stellaris registers. */
#define UART0 0x4000C000u
#define UART_DR CM3_REG(UART0 + 0x000u)
#define UART_ECR CM3_REG(UART0 + 0x004u)
#define UART_FR CM3_REG(UART0 + 0x018u)
#define UART_IBRD CM3_REG(UART0 + 0x024u)
#define UART_FBRD CM3_REG(UART0 + 0x028u)
#define UART_LCRH CM3_REG(UART0 + 0x02Cu)
#define UART_CTL CM3_REG(UART0 + 0x030u)
#define UART_IFLS CM3_REG(UART0 + 0x034u)
#define UART_IM CM3_REG(UART0 + 0x038u)
#define UART_ICR CM3_REG(UART0 + 0x044u)
#define FR_RXFE (1u << 4)
#define FR_TXFF (1u << 5)
#define LCRH_FEN (1u << 4)
#define LCRH_WLEN8 (3u << 5)
#define IM_RX ((1u << 4) | (1u << 6)) /* receive and receive-timeout */
#define IM_TX (1u << 5)
#define IM_ERRORS (0xFu << 7) /* framing, parity, break, overrun: read with each byte */
#define UART0_IRQ 5u

/* Luminary watchdog. */
#define WDT 0x40000000u
#define WDT_IRQ 18u

/* System control: clock gating. GPIO A: UART0's pins. */
#define SYSCTL_RCGC0 CM3_REG(0x400FE100u)
#define SYSCTL_RCGC1 CM3_REG(0x400FE104u)
#define SYSCTL_RCGC2 CM3_REG(0x400FE108u)
#define GPIOA_AFSEL CM3_REG(0x40004420u)
#define GPIOA_DEN CM3_REG(0x4000451Cu)

/* Interrupt priorities (3 bits on this part, in the top bits): the watchdog above everything,
 * FreeRTOS's critical sections included (it never calls the kernel); the UART at 6, below
 * FreeRTOS's configMAX_SYSCALL_INTERRUPT_PRIORITY (5), as its FromISR calls require. */
#define PRIORITY_WATCHDOG (1u << 5)
#define PRIORITY_UART (6u << 5)

/* Moves bytes from the transmit ring into the UART's FIFO while it has room; keeps the
 * transmit interrupt on while the ring has more. Interrupts masked by the caller. */
static void tx_fill(void)
{
    uint8_t byte;
    while ((UART_FR & FR_TXFF) == 0u) {
        if (!serial_tx_get(&byte)) {
            UART_IM &= ~IM_TX;
            return;
        }
        UART_DR = byte;
    }
    UART_IM |= IM_TX;
}

extern uint32_t _stack_top[];
void uart0_handler(void);
void watchdog_handler(void);

void uart0_handler(void)
{
    /* Cleared first: a byte arriving after the FIFO is found empty raises it again. (QEMU's
     * model raises the receive interrupt when the FIFO goes from empty to one byte only.) */
    UART_ICR = IM_RX | IM_ERRORS | IM_TX;
    /* Every byte with its error bits (DR[11:8]), until the FIFO is empty or the receive side
     * has no more room — and none while reception is paused: an interrupt that was pending
     * when it paused still runs this handler once. */
    while ((UART_IM & IM_RX) != 0u && (UART_FR & FR_RXFE) == 0u) {
        if (!serial_rx_put((serial_item)(UART_DR & 0xFFFu))) {
            board_uart_rx_pause();
            break;
        }
    }
    tx_fill();
}

void board_uart_rts(bool ready)
{
    /* UART0 of the LM3S6965 has no RTS pin: back-pressure is the masked interrupt alone. */
    (void)ready;
}

void board_uart_rx_pause(void)
{
    UART_IM &= ~IM_RX;
    board_uart_rts(false);
}

void board_uart_rx_resume(void)
{
    uint32_t primask = cm3_interrupts_save();
    UART_IM |= IM_RX;
    if ((UART_FR & FR_RXFE) == 0u) {
        /* Bytes waited in the FIFO: their interrupt may have been cleared already. */
        cm3_irq_pend(UART0_IRQ);
    }
    cm3_interrupts_restore(primask);
    board_uart_rts(true);
}

void board_uart_tx_kick(void)
{
    uint32_t primask = cm3_interrupts_save();
    tx_fill();
    cm3_interrupts_restore(primask);
}

void board_panic_write(const char *bytes, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++) {
        uint32_t spins = 0;
        /* 50 ms at 12.5 MHz, a few cycles per turn: far more than a byte at 9,600 baud. */
        while ((UART_FR & FR_TXFF) != 0u && spins < 200000u) {
            spins++;
        }
        UART_DR = (uint8_t)bytes[i];
    }
}

void board_watchdog_kick(void)
{
    cm3_apb_watchdog_kick(WDT);
    cm3_watchdog_kicked();
    cm3_irq_enable(WDT_IRQ, PRIORITY_WATCHDOG); /* again, after a warning */
}

void watchdog_handler(void)
{
    /* The count ran out once: warn. The interrupt stays pending (the watchdog resets the board
     * when the count runs out again), so it is disabled here rather than re-entered. */
    cm3_irq_disable(WDT_IRQ);
    cm3_watchdog_warning();
}

void board_init(void)
{
    SYSCTL_RCGC0 |= 1u << 3; /* watchdog */
    SYSCTL_RCGC1 |= 1u;      /* UART0 */
    SYSCTL_RCGC2 |= 1u;      /* GPIO A */
    GPIOA_AFSEL |= 3u;       /* PA0, PA1: U0Rx, U0Tx */
    GPIOA_DEN |= 3u;

    UART_CTL = 0;
    UART_IBRD = 6; /* 115,200 baud at 12.5 MHz: 12.5e6 / (16 × 115200) = 6.78 → 6 + 50/64 */
    UART_FBRD = 50;
    /* FIFOs on. A byte that arrived before now (the receiver holds one while they are off)
     * is lost: whatever came before the UART was set up is line noise anyway, which the
     * host side ends with a newline (rep-bridge sends one on connecting and another after
     * --settle-ms). It is not read first: reading lets the next byte in, and QEMU's model
     * loses a byte that arrives as the FIFOs are switched on. */
    UART_LCRH = LCRH_WLEN8 | LCRH_FEN; /* 8N1, FIFOs on */
    UART_IFLS = 0;                     /* interrupts at 1/8 full (receive), 1/8 (transmit) */
    UART_ECR = 0;                      /* clears the error flags */
    UART_ICR = 0x7FFu;
    UART_IM = IM_RX;
    UART_CTL = (1u << 9) | (1u << 8) | 1u; /* RXE, TXE, UARTEN */
    cm3_irq_enable(UART0_IRQ, PRIORITY_UART);

    cm3_apb_watchdog_start(WDT, (board_core_hz / 1000u) * BOARD_WATCHDOG_MS);
    cm3_irq_enable(WDT_IRQ, PRIORITY_WATCHDOG);
}

/* Cortex-M3 exceptions, then the LM3S6965's interrupts up to the watchdog (18). */
__attribute__((section(".vectors"), used)) static void (*const vectors[16 + 19])(void) = {
    (void (*)(void))(uintptr_t)_stack_top, /* the initial stack pointer (sections.ld) */
    cm3_reset_handler,
    cm3_default_handler, /* NMI */
    cm3_fault_handler,   /* HardFault */
    cm3_fault_handler,   /* MemManage */
    cm3_fault_handler,   /* BusFault */
    cm3_fault_handler,   /* UsageFault */
    0,
    0,
    0,
    0,
    svc_handler,
    cm3_default_handler, /* DebugMon */
    0,
    pendsv_handler,
    systick_handler,
    cm3_default_handler, /* 0 GPIO A */
    cm3_default_handler, /* 1 GPIO B */
    cm3_default_handler, /* 2 GPIO C */
    cm3_default_handler, /* 3 GPIO D */
    cm3_default_handler, /* 4 GPIO E */
    uart0_handler,       /* 5 UART0 */
    cm3_default_handler, /* 6 UART1 */
    cm3_default_handler, /* 7 SSI0 */
    cm3_default_handler, /* 8 I2C0 */
    cm3_default_handler, /* 9 PWM fault */
    cm3_default_handler, /* 10 PWM generator 0 */
    cm3_default_handler, /* 11 PWM generator 1 */
    cm3_default_handler, /* 12 PWM generator 2 */
    cm3_default_handler, /* 13 QEI0 */
    cm3_default_handler, /* 14 ADC sequence 0 */
    cm3_default_handler, /* 15 ADC sequence 1 */
    cm3_default_handler, /* 16 ADC sequence 2 */
    cm3_default_handler, /* 17 ADC sequence 3 */
    watchdog_handler,    /* 18 watchdog */
};

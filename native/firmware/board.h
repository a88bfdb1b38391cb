/*
 * board.h — the seam between the executor firmware and a board: what each board's file
 * (lm3s6965/board.c, mps2_an385/board.c) implements. Everything else — the serve loop
 * (main.c), the FreeRTOS application (../freertos/), the receive and transmit rings and the
 * UART error handling (serial.c), faults, reset records and the stack canary (cortex_m3.c) —
 * is the same on every board.
 *
 * Interrupt rules: the board's UART interrupt handler only moves bytes — received ones to
 * serial_rx_put (serial.h), bytes to send from serial_tx_get — and never calls the REP
 * library. board_panic_write is the only output allowed with interrupts masked (faults, the
 * watchdog's warning).
 */
#ifndef BOARD_H
#define BOARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** The board's name, as QEMU's `-M` calls it (the boot banner says it). */
extern const char board_name[];
/** The core clock in Hz after board_init (SysTick counts it). */
extern const uint32_t board_core_hz;

/** Clocks, the UART (8N1, receive FIFO and interrupt on, transmission interrupt-driven from
 *  serial.c's ring) and the watchdog (started: board_watchdog_kick at least every
 *  BOARD_WATCHDOG_MS). Interrupts stay masked: the caller unmasks them. */
void board_init(void);

/** The receive side refused a byte (its ring or queue is full): the UART interrupt handler
 *  stops taking bytes, so the hardware holds the sender back (its FIFO fills; on a line with
 *  RTS/CTS, RTS drops — see board_uart_rts). */
void board_uart_rx_pause(void);
/** The receive side has room again: the UART interrupt handler takes bytes again. */
void board_uart_rx_resume(void);
/** RTS/CTS hook: `ready` false asks the sender to stop (RTS deasserted), true to go on.
 *  Called with board_uart_rx_pause / board_uart_rx_resume. The boards here have no RTS pin
 *  on their console UART, so it does nothing; a board with one drives the pin (a GPIO, or
 *  the UART's own RTSEn) here. */
void board_uart_rts(bool ready);
/** Bytes were put in serial.c's transmit ring: starts interrupt-driven transmission (primes
 *  the UART's transmit buffer; its interrupt sends the rest). Safe with interrupts on. */
void board_uart_tx_kick(void);
/** Writes `n` bytes by polling the UART, interrupts masked, at most about 50 ms per byte
 *  (faults and the watchdog's warning, when the transmit ring cannot be trusted). */
void board_panic_write(const char *bytes, size_t n);

/** The watchdog's period: without a kick for this long it interrupts (its handler warns on
 *  the UART), and after as long again it resets the board. */
#define BOARD_WATCHDOG_MS 1000u
/** Restarts the watchdog's countdown. */
void board_watchdog_kick(void);

#endif /* BOARD_H */

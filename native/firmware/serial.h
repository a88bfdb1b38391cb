/*
 * serial.h — the serial line between an executor and its host, above the UART driver: what
 * the receive interrupt hands over (a byte and its error bits), what the serving loop does with
 * it (bytes to rep_feed; a byte received with an error drops the line, counted and logged), and
 * the transmit ring the UART's transmit interrupt drains. Portable C: the bare-metal firmware,
 * the FreeRTOS application and the C unit tests (on Linux) share it.
 *
 * Who calls what:
 * - the board's receive interrupt calls serial_rx_put for every byte, with the UART's error
 *   bits; the application implements it (a ring on bare metal, a FreeRTOS queue);
 * - the serving loop (one thread or task) gives what it took to serial_feed;
 * - writers put bytes with serial_tx_put (one writer: the serving thread); the transmit
 *   interrupt takes them with serial_tx_get.
 */
#ifndef SERIAL_H
#define SERIAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rep_executor.h"

/** A received item: the byte in bits 0-7, its receive errors (SERIAL_ERR_*) in bits 8-11, as
 *  the PL011's data register reports them (DR[11:8]). */
typedef uint16_t serial_item;

/** The stop bit was missing (wrong speed, noise). */
#define SERIAL_ERR_FRAMING 0x100u
/** The parity bit was wrong. */
#define SERIAL_ERR_PARITY 0x200u
/** The line was held low longer than a character (a break). */
#define SERIAL_ERR_BREAK 0x400u
/** A byte arrived while the receive FIFO was full: at least one byte was lost before this one. */
#define SERIAL_ERR_OVERRUN 0x800u
/** All error bits. */
#define SERIAL_ERR_ANY 0xF00u

/** Implemented by the application, called by the board's receive interrupt for each byte:
 *  true when it was taken, false when there is no room (the board then pauses reception:
 *  board_uart_rx_pause). */
bool serial_rx_put(serial_item item);

/** What the receive side has seen since start-up. */
typedef struct serial_stats {
    uint32_t framing, parity, breaks, overruns; /* bytes received with each error */
    uint32_t resyncs;                           /* lines dropped because of them */
    uint32_t tx_stalls;                         /* writes cut short (see serial_write) */
} serial_stats;

/** Where serial_feed logs (a line for the host side to show, e.g. on rep-bridge's stderr). */
typedef int (*serial_log_fn)(void *ctx, const char *bytes, size_t n);

/** Feeds `n` received items to `ex`: runs of clean bytes go to rep_feed; a byte with an error
 *  bit is dropped, counted in `stats`, logged through `log` ("firmware: uart: framing error
 *  (2 so far): dropping the line") and the line it was in is dropped up to the next newline
 *  (rep_executor_resync) — a request hit by line noise is never answered from corrupt bytes.
 *  Call it from the serving thread, between the library's other calls. Returns REP_OK or the
 *  first error of rep_feed / rep_executor_resync. */
rep_err serial_feed(rep_executor *ex, serial_stats *stats, const serial_item *items, size_t n,
                    serial_log_fn log, void *log_ctx);

/** Bytes of the transmit ring (a power of two). */
#define SERIAL_TX_BYTES 1024u

/** Puts up to `n` bytes in the transmit ring; returns how many fitted. One writer at a time. */
size_t serial_tx_put(const char *bytes, size_t n);
/** For the transmit interrupt: the next byte to send, false when the ring is empty. */
bool serial_tx_get(uint8_t *byte);
/** Whether the ring is empty (everything was handed to the UART). */
bool serial_tx_empty(void);

/** What serial_write needs from its platform. */
typedef struct serial_tx_port {
    /** Starts the UART's interrupt-driven transmission (board_uart_tx_kick). */
    void (*kick)(void);
    /** Monotonic milliseconds (the serving thread's clock). */
    uint64_t (*now_ms)(void *ctx);
    /** Sleeps until an interrupt or a tick (WFI; vTaskDelay(1)). */
    void (*pause)(void *ctx);
    void *ctx;
} serial_tx_port;

/** How long a write waits for the transmit ring to make progress before it gives up. */
#define SERIAL_TX_STALL_MS 1000u

/** Writes `n` bytes through the transmit ring (rep_io.write of a UART port), waiting for room
 *  while the UART sends; the wait is bounded: when the ring makes no progress for
 *  SERIAL_TX_STALL_MS (the host stopped reading, flow control holds the line) the rest of
 *  the write is dropped and counted in stats->tx_stalls; later writes are dropped at once
 *  while the ring is still full, and the first one that fits starts with a newline, so that
 *  the host side sees the cut line as one broken line, never glued to the next response. Always returns 0: a host that stops reading does not stop the executor, and
 *  one that comes back is answered. */
int serial_write(serial_stats *stats, const serial_tx_port *port, const char *bytes, size_t n);

/** Appends the decimal text of `v` to `buf` at `*len` (at most `cap`); for log lines without
 *  printf. */
void serial_append_u32(char *buf, size_t cap, size_t *len, uint32_t v);
/** Appends the NUL-terminated `s` to `buf` at `*len` (at most `cap`). */
void serial_append(char *buf, size_t cap, size_t *len, const char *s);

#endif /* SERIAL_H */

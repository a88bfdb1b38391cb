/*
 * serial.c — received bytes to the executor (with the UART's errors turned into a counted,
 * logged resynchronisation) and the transmit ring with its bounded wait. See serial.h.
 */
#include "serial.h"

#include <string.h>

void serial_append(char *buf, size_t cap, size_t *len, const char *s)
{
    while (*s != '\0' && *len < cap) {
        buf[*len] = *s;
        (*len)++;
        s++;
    }
}

void serial_append_u32(char *buf, size_t cap, size_t *len, uint32_t v)
{
    char digits[10];
    size_t n = 0;
    do {
        digits[n] = (char)('0' + (v % 10u));
        n++;
        v /= 10u;
    } while (v > 0u);
    while (n > 0u && *len < cap) {
        n--;
        buf[*len] = digits[n];
        (*len)++;
    }
}

/* Counts the error of `item` and logs it: "firmware: uart: <error> (<n> so far): dropping the
 * line". Overrun is named first: it means bytes were lost, whatever else the byte carried. */
static void count_error(serial_stats *stats, serial_item item, serial_log_fn log, void *log_ctx)
{
    char line[96];
    size_t len = 0;
    const char *what;
    uint32_t count;
    if ((item & SERIAL_ERR_OVERRUN) != 0u) {
        what = "overrun";
        count = ++stats->overruns;
    } else if ((item & SERIAL_ERR_BREAK) != 0u) {
        what = "break";
        count = ++stats->breaks;
    } else if ((item & SERIAL_ERR_PARITY) != 0u) {
        what = "parity error";
        count = ++stats->parity;
    } else {
        what = "framing error";
        count = ++stats->framing;
    }
    stats->resyncs++;
    if (log == NULL) {
        return;
    }
    serial_append(line, sizeof line, &len, "firmware: uart: ");
    serial_append(line, sizeof line, &len, what);
    serial_append(line, sizeof line, &len, " (");
    serial_append_u32(line, sizeof line, &len, count);
    serial_append(line, sizeof line, &len, " so far): dropping the line\n");
    (void)log(log_ctx, line, len);
}

rep_err serial_feed(rep_executor *ex, serial_stats *stats, const serial_item *items, size_t n,
                    serial_log_fn log, void *log_ctx)
{
    char run[64];
    size_t i, len = 0;
    rep_err err = REP_OK;
    for (i = 0; i < n && err == REP_OK; i++) {
        if ((items[i] & SERIAL_ERR_ANY) == 0u) {
            run[len] = (char)(items[i] & 0xFFu);
            len++;
            if (len == sizeof run) {
                err = rep_feed(ex, run, len);
                len = 0;
            }
            continue;
        }
        if (len > 0u) {
            err = rep_feed(ex, run, len);
            len = 0;
        }
        count_error(stats, items[i], log, log_ctx);
        if (err == REP_OK) {
            err = rep_executor_resync(ex);
        }
    }
    if (err == REP_OK && len > 0u) {
        err = rep_feed(ex, run, len);
    }
    return err;
}

/* ---- transmit ring: one writer (the serving thread), one reader (the UART interrupt) ---- */

static uint8_t tx_ring[SERIAL_TX_BYTES];
static volatile uint32_t tx_head, tx_tail; /* free-running; the ring index is & (size - 1) */
static bool tx_cut;                        /* the last write was cut short */

size_t serial_tx_put(const char *bytes, size_t n)
{
    uint32_t head = tx_head;
    size_t room = SERIAL_TX_BYTES - (size_t)(head - tx_tail), i;
    if (n > room) {
        n = room;
    }
    for (i = 0; i < n; i++) {
        tx_ring[(head + (uint32_t)i) & (SERIAL_TX_BYTES - 1u)] = (uint8_t)bytes[i];
    }
    tx_head = head + (uint32_t)n; /* published after the bytes */
    return n;
}

bool serial_tx_get(uint8_t *byte)
{
    uint32_t tail = tx_tail;
    if (tail == tx_head) {
        return false;
    }
    *byte = tx_ring[tail & (SERIAL_TX_BYTES - 1u)];
    tx_tail = tail + 1u;
    return true;
}

bool serial_tx_empty(void)
{
    return tx_head == tx_tail;
}

int serial_write(serial_stats *stats, const serial_tx_port *port, const char *bytes, size_t n)
{
    uint64_t deadline = port->now_ms(port->ctx) + SERIAL_TX_STALL_MS;
    if (tx_cut) {
        /* The cut line ends here, before anything new; while the ring is still full the host
         * is still not reading: drop at once rather than wait again. */
        if (serial_tx_put("\n", 1) == 0u) {
            stats->tx_stalls++;
            return 0;
        }
        tx_cut = false;
        port->kick();
    }
    while (n > 0u) {
        size_t put = serial_tx_put(bytes, n);
        bytes += put;
        n -= put;
        port->kick();
        if (put > 0u) {
            deadline = port->now_ms(port->ctx) + SERIAL_TX_STALL_MS;
        } else if (port->now_ms(port->ctx) >= deadline) {
            /* No progress for SERIAL_TX_STALL_MS: the host is not reading. What the ring holds
             * goes out when it reads again; the rest of this write is dropped. */
            stats->tx_stalls++;
            tx_cut = true;
            return 0;
        } else {
            port->pause(port->ctx);
        }
    }
    return 0;
}

/*
 * test_serial.c — the serial line of the firmware (firmware/serial.c) on Linux: a byte received
 * with a UART error drops its line (counted, logged) instead of reaching the executor, and a
 * write that the UART cannot take waits a bounded time, then drops (issue 23, finding 3).
 */
#include <stdio.h>
#include <string.h>

#include "serial.h"
#include "test.h"

static const char health[] = "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"Runtime.Health\"}\n";

static char logged[512];
static size_t logged_len;

static int log_line(void *ctx, const char *bytes, size_t n)
{
    (void)ctx;
    if (logged_len + n < sizeof logged) {
        memcpy(logged + logged_len, bytes, n);
        logged_len += n;
        logged[logged_len] = '\0';
    }
    return 0;
}

/* Feeds `text` as received items, the byte at `at` carrying `error` (none when 0). */
static rep_err feed(serial_stats *stats, const char *text, size_t at, serial_item error)
{
    serial_item items[256];
    size_t i, n = strlen(text);
    for (i = 0; i < n && i < 256u; i++) {
        items[i] = (serial_item)(unsigned char)text[i];
    }
    if (error != 0u) {
        items[at] |= error;
    }
    return serial_feed(&test_executor, stats, items, n, log_line, NULL);
}

static void each_uart_error_drops_its_line_counted_and_logged(void)
{
    static const struct {
        serial_item bit;
        const char *words;
    } errors[] = {{SERIAL_ERR_FRAMING, "framing error"},
                  {SERIAL_ERR_PARITY, "parity error"},
                  {SERIAL_ERR_BREAK, "break"},
                  {SERIAL_ERR_OVERRUN, "overrun"}};
    size_t i;
    for (i = 0; i < sizeof errors / sizeof errors[0]; i++) {
        serial_stats stats;
        int lines;
        char expected[96];
        memset(&stats, 0, sizeof stats);
        logged_len = 0;
        ex_reset();
        lines = ex_lines();
        /* The error hits the middle of a request: it is not answered, even as malformed. */
        CHECK(feed(&stats, health, 20, errors[i].bit) == REP_OK);
        CHECK(ex_lines() == lines);
        snprintf(expected, sizeof expected, "firmware: uart: %s (1 so far): dropping the line\n",
                 errors[i].words);
        CHECK(strcmp(logged, expected) == 0);
        CHECK(stats.resyncs == 1);
        /* The next line is whole again and answered. */
        CHECK(feed(&stats, health, 0, 0) == REP_OK);
        CHECK(ex_lines() == lines + 1);
    }
}

static void errors_are_counted_by_kind(void)
{
    serial_stats stats;
    memset(&stats, 0, sizeof stats);
    ex_reset();
    CHECK(feed(&stats, health, 3, SERIAL_ERR_FRAMING) == REP_OK);
    CHECK(feed(&stats, health, 5, SERIAL_ERR_FRAMING | SERIAL_ERR_PARITY) == REP_OK);
    CHECK(feed(&stats, health, 9, SERIAL_ERR_OVERRUN | SERIAL_ERR_BREAK) == REP_OK);
    CHECK(stats.framing == 1 && stats.parity == 1 && stats.overruns == 1 && stats.breaks == 0);
    CHECK(stats.resyncs == 3);
}

/* A byte with an error just before a newline: the line it ends is dropped, and no more. */
static void an_error_on_the_newline_drops_only_that_line(void)
{
    serial_stats stats;
    char two[256];
    int lines;
    memset(&stats, 0, sizeof stats);
    ex_reset();
    lines = ex_lines();
    snprintf(two, sizeof two, "%s%s", health, health);
    CHECK(feed(&stats, two, strlen(health) - 1u, SERIAL_ERR_FRAMING) == REP_OK);
    /* The corrupt newline was dropped, so the resync ends at the second line's newline. */
    CHECK(ex_lines() == lines);
    CHECK(feed(&stats, health, 0, 0) == REP_OK);
    CHECK(ex_lines() == lines + 1);
}

/* ---- the transmit ring's bounded wait ---- */

static uint64_t clock_ms;
static int uart_takes; /* the fake UART takes bytes from the ring when set */

static void fake_kick(void)
{
    uint8_t byte;
    while (uart_takes && serial_tx_get(&byte)) {
    }
}

static uint64_t fake_now_ms(void *ctx)
{
    (void)ctx;
    return clock_ms;
}

static void fake_pause(void *ctx)
{
    (void)ctx;
    clock_ms += 10;
}

static const serial_tx_port port = {fake_kick, fake_now_ms, fake_pause, NULL};

static void drain(char *out, size_t cap, size_t *n)
{
    uint8_t byte;
    *n = 0;
    while (serial_tx_get(&byte)) {
        if (*n < cap) {
            out[*n] = (char)byte;
        }
        (*n)++;
    }
}

static void a_stalled_uart_costs_a_bounded_wait_then_drops(void)
{
    static char big[3000], out[4096];
    serial_stats stats;
    size_t n;
    memset(&stats, 0, sizeof stats);
    memset(big, 'x', sizeof big);
    drain(out, sizeof out, &n);
    clock_ms = 1000;
    uart_takes = 0;
    /* The ring takes SERIAL_TX_BYTES; the rest waits SERIAL_TX_STALL_MS, then is dropped. */
    CHECK(serial_write(&stats, &port, big, sizeof big) == 0);
    CHECK(stats.tx_stalls == 1);
    CHECK(clock_ms >= 1000 + SERIAL_TX_STALL_MS && clock_ms <= 1000 + SERIAL_TX_STALL_MS + 10);
    /* While the ring is still full, a write is dropped at once. */
    CHECK(serial_write(&stats, &port, "{\"a\":1}\n", 8) == 0);
    CHECK(stats.tx_stalls == 2);
    CHECK(clock_ms <= 1000 + SERIAL_TX_STALL_MS + 10);
    /* The host reads again: what the ring held goes out, then a newline ends the cut line
     * before the next response. */
    drain(out, sizeof out, &n);
    CHECK(n == SERIAL_TX_BYTES);
    uart_takes = 0;
    CHECK(serial_write(&stats, &port, "{\"b\":2}\n", 8) == 0);
    drain(out, sizeof out, &n);
    CHECK(n == 9 && memcmp(out, "\n{\"b\":2}\n", 9) == 0);
    CHECK(stats.tx_stalls == 2);
}

static void a_draining_uart_never_stalls(void)
{
    static char big[10000];
    serial_stats stats;
    size_t n;
    char out[16];
    memset(&stats, 0, sizeof stats);
    memset(big, 'y', sizeof big);
    drain(out, sizeof out, &n);
    clock_ms = 0;
    uart_takes = 1;
    CHECK(serial_write(&stats, &port, big, sizeof big) == 0);
    CHECK(stats.tx_stalls == 0 && clock_ms == 0);
    CHECK(serial_tx_empty());
}

const test_case serial_tests[] = {
    {"serial: each UART error drops its line, counted and logged", each_uart_error_drops_its_line_counted_and_logged},
    {"serial: errors are counted by kind", errors_are_counted_by_kind},
    {"serial: an error on the newline drops only that line", an_error_on_the_newline_drops_only_that_line},
    {"serial: a stalled UART costs a bounded wait, then drops", a_stalled_uart_costs_a_bounded_wait_then_drops},
    {"serial: a draining UART never stalls", a_draining_uart_never_stalls},
    {NULL, NULL}};

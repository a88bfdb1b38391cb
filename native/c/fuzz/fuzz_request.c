/*
 * fuzz_request.c — libFuzzer target for the request handler: the input is a stream of request
 * bytes (framing, JSON-RPC, StartRun validation, scheduling, references, the mock step kinds,
 * rep.probe, Poll). Besides AddressSanitizer and UBSan, every response line must be one
 * JSON-RPC 2.0 response object: anything else aborts.
 *
 *   bash native/build.sh fuzz 600     # ten minutes
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mock_steps.h"
#include "rep_internal.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

static rep_executor executor;
static uint64_t fake_now;
static char line[1 << 20];
static size_t line_len;

static long no_read(void *ctx, char *buf, size_t cap, uint32_t timeout_ms)
{
    (void)ctx;
    (void)buf;
    (void)cap;
    (void)timeout_ms;
    return -1;
}

static void violation(const char *what)
{
    fprintf(stderr, "fuzz_request: %s: %.*s\n", what, (int)(line_len > 400 ? 400 : line_len), line);
    abort();
}

/* Every complete line must be {"jsonrpc":"2.0","id":…,"result"|"error":…}. */
static void check_line(void)
{
    rep_json v, id, result, error;
    if (rep_json_parse(line, line_len, &v, NULL, NULL) != 0) {
        violation("a response is not JSON");
    }
    if (rep_json_typeof(v) != REP_JSON_OBJECT ||
        !rep_json_string_equals(rep_json_get(v, "jsonrpc"), "2.0", 3)) {
        violation("a response is not a JSON-RPC 2.0 object");
    }
    id = rep_json_get(v, "id");
    result = rep_json_get(v, "result");
    error = rep_json_get(v, "error");
    if (rep_json_typeof(id) == REP_JSON_MISSING ||
        (result.p == NULL) == (error.p == NULL)) {
        violation("a response lacks an id, or has not exactly one of result and error");
    }
    if (error.p && (rep_json_typeof(rep_json_get(error, "code")) != REP_JSON_NUMBER ||
                    rep_json_typeof(rep_json_get(error, "message")) != REP_JSON_STRING)) {
        violation("an error object lacks code or message");
    }
}

static int capture(void *ctx, const char *bytes, size_t n)
{
    size_t i;
    (void)ctx;
    for (i = 0; i < n; i++) {
        if (bytes[i] == '\n') {
            check_line();
            line_len = 0;
        } else if (line_len < sizeof line) {
            line[line_len++] = bytes[i];
        } else {
            violation("a response line is over 1 MiB");
        }
    }
    return 0;
}

static uint64_t fake_clock(void *ctx)
{
    (void)ctx;
    return fake_now;
}

/* Polls every run the input started (their ids as the executor holds them). */
static void poll_all(void)
{
    static char request[REP_MAX_RUN_ID_BYTES + 96];
    int i;
    for (i = 0; i < REP_MAX_RUNS; i++) {
        rep_run *run = &executor.runs[i];
        int n;
        if (!run->used) {
            continue;
        }
        n = snprintf(request, sizeof request,
                     "{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"Runtime.Poll\","
                     "\"params\":{\"run_id\":%.*s}}",
                     (int)run->id_len, run->id);
        rep_handle_line(&executor, request, (size_t)n);
    }
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    rep_io io;
    size_t at = 0;
    unsigned chunk;
    int turn;
    io.read = no_read;
    io.write = capture;
    io.now_ms = fake_clock;
    io.unix_ms = NULL;
    io.ctx = NULL;
    fake_now = 1000;
    line_len = 0;
    rep_executor_init(&executor, &io, NULL);
    mock_steps_register(&executor);
    rep_executor_add_probe(&executor);
    if (size == 0) {
        return 0;
    }
    /* The first byte picks how the bytes arrive: chunk size and time between chunks. */
    chunk = 1u + (data[0] & 0x3Fu) * 64u;
    data++;
    size--;
    while (at < size) {
        size_t n = size - at < chunk ? size - at : chunk;
        rep_feed(&executor, (const char *)data + at, n);
        at += n;
        fake_now += data[0] & 0xC0u;
        rep_tick(&executor);
    }
    rep_feed_eof(&executor);
    /* Let the runs go on: time passes in big steps, and every run is polled. */
    for (turn = 0; turn < 40; turn++) {
        fake_now += 97;
        rep_tick(&executor);
        poll_all();
    }
    fake_now += 100000;
    rep_tick(&executor);
    poll_all();
    if (line_len != 0) {
        violation("a response does not end with a newline");
    }
    return 0;
}

/*
 * poll_bench.c — how long one Runtime.Poll of a finished run takes, as a function of the
 * `dsl.emit` keys the run emitted (issue 23, finding 1). In-process: requests go to
 * rep_handle_line, responses to a sink that only counts bytes, time is CLOCK_MONOTONIC around
 * each Poll. Built by `bash native/build.sh bench`, run by `python3 bench/scripts/bench.py
 * native-poll` (BENCHMARKS.md).
 *
 *   poll-bench history EMITTED POLLS   EMITTED keys by EMITTED/16 dsl.emit steps that each emit
 *                                      the same 16 keys: the outputs hold 16 keys whatever
 *                                      EMITTED is, so the Poll's cost is the history's alone
 *   poll-bench distinct EMITTED POLLS  EMITTED distinct keys by 4 dsl.emit steps: the outputs
 *                                      grow with EMITTED
 *
 * Prints one line: `<mode> <emitted> keys: <bytes> B per Poll; us: <t1> <t2> …` (one time per
 * Poll, in microseconds).
 */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mock_steps.h"
#include "rep_executor.h"

static rep_executor executor;
static size_t written;
static char doc[REP_MAX_FRAME_BYTES];

static int sink(void *ctx, const char *bytes, size_t n)
{
    (void)ctx;
    (void)bytes;
    written += n;
    return 0;
}

static uint64_t zero_clock(void *ctx)
{
    (void)ctx;
    return 0;
}

/* Appends to `doc` (exits when it is full). */
static size_t append(size_t at, const char *text)
{
    size_t n = strlen(text);
    if (at + n >= sizeof doc) {
        fputs("poll-bench: the request exceeds REP_MAX_FRAME_BYTES\n", stderr);
        exit(2);
    }
    memcpy(doc + at, text, n);
    return at + n;
}

/* The StartRun request: `steps` dsl.emit nodes in a chain, node i emitting `keys` keys named
 * k<first(i) + j>. */
static size_t start_request(unsigned steps, unsigned keys, int distinct)
{
    char piece[96];
    size_t at = 0;
    unsigned i, j;
    at = append(at, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"Runtime.StartRun\",\"params\":{"
                    "\"options\":{\"run_id\":\"b\"},\"ir\":{\"version\":\"1.0.0\","
                    "\"flow\":{\"name\":\"bench\",\"timeout_ms\":0},"
                    "\"constants\":{\"policyRef\":\"p\",\"policy\":{}},\"inputs_schema\":{},"
                    "\"metadata\":{\"generated_at\":\"2026-11-20T00:00:00Z\","
                    "\"source_file\":\"bench.wdl\"},\"graph\":{\"nodes\":[");
    for (i = 0; i < steps; i++) {
        snprintf(piece, sizeof piece, "%s{\"id\":\"e%u\",\"type\":\"dsl.emit\",\"with\":{",
                 i ? "," : "", i);
        at = append(at, piece);
        for (j = 0; j < keys; j++) {
            snprintf(piece, sizeof piece, "%s\"k%u\":%u", j ? "," : "",
                     distinct ? i * keys + j : j, i);
            at = append(at, piece);
        }
        at = append(at, "},\"timeout_ms\":0,\"retry\":{\"max\":0,\"backoff_ms\":0}}");
    }
    at = append(at, "],\"edges\":[");
    for (i = 1; i < steps; i++) {
        snprintf(piece, sizeof piece, "%s{\"from\":\"e%u\",\"to\":\"e%u\",\"on\":\"success\"}",
                 i > 1 ? "," : "", i - 1, i);
        at = append(at, piece);
    }
    return append(at, "]}}}}");
}

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

int main(int argc, char **argv)
{
    static const char poll[] =
        "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"Runtime.Poll\",\"params\":{\"run_id\":\"b\"}}";
    rep_io io;
    int distinct;
    unsigned emitted, polls, steps, keys, i;
    size_t n, bytes = 0;
    if (argc != 4 || (strcmp(argv[1], "history") != 0 && strcmp(argv[1], "distinct") != 0)) {
        fputs("usage: poll-bench history|distinct EMITTED POLLS\n", stderr);
        return 2;
    }
    distinct = strcmp(argv[1], "distinct") == 0;
    emitted = (unsigned)strtoul(argv[2], NULL, 10);
    polls = (unsigned)strtoul(argv[3], NULL, 10);
    steps = distinct ? 4 : emitted / 16;
    keys = distinct ? emitted / 4 : 16;
    if (steps == 0 || keys == 0 || steps > REP_MAX_NODES || polls == 0) {
        fputs("poll-bench: EMITTED must be a multiple of 16 (history) or 4 (distinct)\n", stderr);
        return 2;
    }
    io.read = NULL;
    io.write = sink;
    io.now_ms = zero_clock;
    io.unix_ms = NULL;
    io.ctx = NULL;
    if (rep_executor_init(&executor, &io, NULL) != REP_OK ||
        mock_steps_register(&executor) != REP_OK) {
        fputs("poll-bench: the executor does not start\n", stderr);
        return 1;
    }
    n = start_request(steps, keys, distinct);
    (void)rep_handle_line(&executor, doc, n);
    /* Run it to its end, draining the events, so that every timed Poll writes the same. */
    for (i = 0; i < 2 * steps + 8; i++) {
        rep_tick(&executor);
        (void)rep_handle_line(&executor, poll, sizeof poll - 1);
    }
    printf("%s %u keys:", argv[1], emitted);
    for (i = 0; i < polls; i++) {
        double t0, elapsed;
        written = 0;
        t0 = now_us();
        (void)rep_handle_line(&executor, poll, sizeof poll - 1);
        elapsed = now_us() - t0;
        if (i == 0) {
            printf(" %zu B per Poll; us:", written);
        }
        printf(" %.2f", elapsed);
        bytes += written;
    }
    printf("\n");
    return bytes > 0 ? 0 : 1;
}

/*
 * test.h — a minimal test harness for the C library's unit tests (run under AddressSanitizer
 * and UBSan by `bash native/build.sh test`).
 */
#ifndef REP_TEST_H
#define REP_TEST_H

#include <stddef.h>

#include "rep_executor.h"

/** Records a failed check; the test returns at once. */
void test_failed(const char *file, int line, const char *what);
/** Whether the current test has failed. */
int test_has_failed(void);

#define CHECK(cond)                                                                             \
    do {                                                                                        \
        if (!(cond)) {                                                                          \
            test_failed(__FILE__, __LINE__, #cond);                                             \
            return;                                                                             \
        }                                                                                       \
    } while (0)

/** A test: a name and a function. */
typedef struct test_case {
    const char *name;
    void (*fn)(void);
} test_case;

/** The tests of each file (NULL-terminated lists). */
extern const test_case json_tests[];
extern const test_case resolve_tests[];
extern const test_case scheduler_tests[];
extern const test_case dispatch_tests[];
extern const test_case steps_tests[];
extern const test_case serial_tests[];
extern const test_case probe_tests[];

/** `text` as a JSON value (the test fails on invalid JSON). */
rep_json J(const char *text);
/** Whether `v` is JSON equal to `text`: same text once blanks outside strings are removed. */
int json_eq(rep_json v, const char *text);

/* ---- a whole executor on a fake clock (harness.c) ---- */

/** The fake monotonic clock, in ms. */
extern uint64_t fake_now;
/** The executor under test, with the mock step kinds and a "test.pending" kind that waits
 *  `with.wait_ms` (then succeeds with {"waited": N}) and honours cancellation. */
extern rep_executor test_executor;
/** test.handoff (a kind of the test executor): a handler whose work another task finishes. It
 *  records (place, serial) of every call in handoff_calls (handoff_count of them) and
 *  completes once handoff_done[place] holds its serial. */
extern uint32_t handoff_done[REP_MAX_RUNS * REP_CONCURRENCY];
extern uint32_t handoff_calls[16][2];
extern int handoff_count;
/** The test I/O: no input (EOF), output captured (ex_call reads it), the fake clock. */
void fake_io(rep_io *io);
/** Fresh executor (fake clock at 1000 ms, the output capture cleared). */
void ex_reset(void);
/** Sends one request line; returns the response (missing when none was written). */
rep_json ex_call(const char *line);
/** Like ex_call with a line built from a format without % escapes: `line` is used as is. */
rep_json ex_request(const char *method, const char *params_json);
/** Makes the fake clock advance by `ms` and ticks the executor. */
void ex_advance(uint64_t ms);
/** Number of response lines written so far. */
int ex_lines(void);
/** Makes the next writes fail (1) or succeed (0). */
void ex_fail_writes(int fail);

/* ---- flows (harness.c) ---- */

/** Every event of the current run so far, comma-separated after a '[' (see all_events). */
extern char events[1 << 17];
extern size_t events_len;
/** Polls made in the current run. */
extern int polls;
/** A Flow IR document with `nodes` and `edges` (JSON arrays) and `policy` at
 *  constants.policy.policy. */
const char *ir_with_policy(const char *nodes, const char *edges, unsigned flow_timeout_ms,
                           const char *policy);
/** The same with the plant-monitor-like threshold policy (75.0, WRITE_BACK). */
const char *ir(const char *nodes, const char *edges, unsigned flow_timeout_ms);
/** A node object (kept in one of 16 rotating buffers). */
const char *node(const char *id, const char *type, const char *with, unsigned timeout_ms,
                 unsigned retry_max, unsigned backoff_ms);
/** StartRun of `ir_text` with `inputs` and run id "r"; clears the collected events. */
rep_json start(const char *ir_text, const char *inputs);
/** One Poll of `run_id` (its events collected); returns the result. */
rep_json poll_once(const char *run_id);
/** Polls "r", advancing the clock `step_ms` between polls, until it is final. */
rep_json run_to_end(uint64_t step_ms);
/** The collected events as a JSON array. */
rep_json all_events(void);
/** "id:state" of every collected step event, joined by spaces. */
const char *step_trace(void);
/** Whether a Poll result has `status`. */
int status_is(rep_json result, const char *status);
/** summary.<key> of a Poll result. */
rep_json summary(rep_json result, const char *key);
/** A file's text (relative to the repository root), "null" when it cannot be read. */
const char *read_file(const char *path);

#endif /* REP_TEST_H */

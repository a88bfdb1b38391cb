/*
 * harness.c — runs the unit tests, and drives a whole executor on a fake clock for them.
 */
#include <stdio.h>
#include <string.h>

#include "mock_steps.h"
#include "rep_internal.h"
#include "test.h"

static int current_failed;

void test_failed(const char *file, int line, const char *what)
{
    fprintf(stderr, "    %s:%d: check failed: %s\n", file, line, what);
    current_failed = 1;
}

int test_has_failed(void)
{
    return current_failed;
}

rep_json J(const char *text)
{
    rep_json v = {NULL, 0};
    size_t at;
    const char *why;
    if (rep_json_parse(text, strlen(text), &v, &at, &why) != 0) {
        fprintf(stderr, "    invalid test JSON (%s at %zu): %s\n", why, at, text);
        current_failed = 1;
    }
    return v;
}

/* `n` bytes of JSON without the blanks outside strings, into `out`. */
static size_t squeeze(const char *p, size_t n, char *out, size_t cap)
{
    size_t i, k = 0;
    int in_string = 0;
    for (i = 0; i < n && k < cap; i++) {
        char c = p[i];
        if (in_string) {
            out[k++] = c;
            if (c == '\\' && i + 1 < n && k < cap) {
                out[k++] = p[++i];
            } else if (c == '"') {
                in_string = 0;
            }
        } else if (c != ' ' && c != '\n' && c != '\t' && c != '\r') {
            out[k++] = c;
            in_string = c == '"';
        }
    }
    return k;
}

int json_eq(rep_json v, const char *text)
{
    static char a[65536], b[65536];
    size_t na, nb;
    if (!v.p) {
        fprintf(stderr, "    missing value, expected %s\n", text);
        return 0;
    }
    na = squeeze(v.p, v.n, a, sizeof a);
    nb = squeeze(text, strlen(text), b, sizeof b);
    if (na != nb || memcmp(a, b, na) != 0) {
        fprintf(stderr, "    got      %.*s\n    expected %.*s\n", (int)na, a, (int)nb, b);
        return 0;
    }
    return 1;
}

/* ---- the executor under test ---- */

uint64_t fake_now;
rep_executor test_executor;
static char captured[1 << 20];
static size_t captured_len;
static int write_fails;
static int line_count;
static long next_id;

static long no_read(void *ctx, char *buf, size_t cap, uint32_t timeout_ms)
{
    (void)ctx;
    (void)buf;
    (void)cap;
    (void)timeout_ms;
    return -1;
}

static int capture(void *ctx, const char *bytes, size_t n)
{
    size_t i;
    (void)ctx;
    if (write_fails) {
        return -1;
    }
    if (captured_len + n > sizeof captured) {
        captured_len = 0;
    }
    memcpy(captured + captured_len, bytes, n);
    captured_len += n;
    for (i = 0; i < n; i++) {
        line_count += bytes[i] == '\n';
    }
    return 0;
}

static uint64_t fake_clock(void *ctx)
{
    (void)ctx;
    return fake_now;
}

/* test.pending: waits with.wait_ms, then outputs {"waited": wait_ms}; stops when cancelled. */
static rep_step_result pending_step(rep_step *step, rep_json with, rep_writer *out, void *user)
{
    uint32_t wait = 0;
    (void)user;
    rep_json_to_u32(rep_json_get(with, "wait_ms"), 1000000, &wait);
    if (rep_step_cancelled(step)) {
        if (rep_json_typeof(rep_json_get(with, "ignore_cancel")) == REP_JSON_BOOL) {
            return rep_step_wait(step, 5);
        }
        rep_step_fail(step, 2001, "test.pending: cancelled");
        rep_step_set_cause(step, "cancelled");
        return REP_STEP_FAILED;
    }
    if (rep_step_elapsed_ms(step) < wait) {
        return rep_step_wait(step, (uint32_t)(wait - rep_step_elapsed_ms(step)));
    }
    rep_w_begin_object(out);
    rep_w_key(out, "waited");
    rep_w_int(out, wait);
    rep_w_end_object(out);
    return REP_STEP_DONE;
}

/* test.handoff: work handed to "another task": the first call records its place and serial
 * in handoff_calls and waits 10 s; once handoff_done[place] is set, outputs
 * {"place": P, "serial": S}. */
uint32_t handoff_done[REP_MAX_RUNS * REP_CONCURRENCY];
uint32_t handoff_calls[16][2];
int handoff_count;

static rep_step_result handoff_step(rep_step *step, rep_json with, rep_writer *out, void *user)
{
    uint32_t place = rep_step_place(step), serial = rep_step_serial(step);
    (void)with;
    (void)user;
    if (handoff_count < 16) {
        handoff_calls[handoff_count][0] = place;
        handoff_calls[handoff_count][1] = serial;
        handoff_count++;
    }
    if (handoff_done[place] != serial) {
        return rep_step_wait(step, 10000);
    }
    rep_w_begin_object(out);
    rep_w_key(out, "place");
    rep_w_int(out, place);
    rep_w_key(out, "serial");
    rep_w_int(out, serial);
    rep_w_end_object(out);
    return REP_STEP_DONE;
}

/* test.log: three log events (only two are kept per call). */
static rep_step_result log_step(rep_step *step, rep_json with, rep_writer *out, void *user)
{
    (void)with;
    (void)user;
    rep_step_log(step, "info", "one");
    rep_step_log(step, "info", "two");
    rep_step_log(step, "info", "three");
    rep_w_null(out);
    return REP_STEP_DONE;
}

/* test.raw: writes with.text as raw output (to test invalid and oversized outputs). */
static rep_step_result raw_step(rep_step *step, rep_json with, rep_writer *out, void *user)
{
    char text[16384];
    long n = rep_json_string_decode(rep_json_get(with, "text"), text, sizeof text);
    uint32_t repeat = 1, i;
    (void)step;
    (void)user;
    rep_json_to_u32(rep_json_get(with, "repeat"), 100000, &repeat);
    for (i = 0; i < repeat && n > 0; i++) {
        rep_w_raw(out, text, (size_t)n);
    }
    return REP_STEP_DONE;
}

void fake_io(rep_io *io)
{
    io->read = no_read;
    io->write = capture;
    io->now_ms = fake_clock;
    io->unix_ms = NULL;
    io->ctx = NULL;
}

void ex_reset(void)
{
    rep_io io;
    fake_io(&io);
    fake_now = 1000;
    captured_len = 0;
    write_fails = 0;
    line_count = 0;
    next_id = 1;
    memset(&test_executor, 0xA5, sizeof test_executor); /* garbage: init must not rely on 0s */
    rep_executor_init(&test_executor, &io, "9.9.9");
    mock_steps_register(&test_executor);
    rep_executor_add_step(&test_executor, "test.pending", pending_step, NULL);
    rep_executor_add_step(&test_executor, "test.log", log_step, NULL);
    rep_executor_add_step(&test_executor, "test.raw", raw_step, NULL);
    rep_executor_add_step(&test_executor, "test.handoff", handoff_step, NULL);
    memset(handoff_done, 0, sizeof handoff_done);
    handoff_count = 0;
}

rep_json ex_call(const char *line)
{
    size_t start = captured_len, end;
    rep_json v = {NULL, 0};
    rep_handle_line(&test_executor, line, strlen(line));
    if (captured_len == start) {
        return v;
    }
    end = captured_len;
    if (captured[end - 1] != '\n') {
        fprintf(stderr, "    response without a newline\n");
        current_failed = 1;
        return v;
    }
    if (memchr(captured + start, '\n', end - start - 1)) {
        fprintf(stderr, "    more than one line for one request\n");
        current_failed = 1;
    }
    if (rep_json_parse(captured + start, end - start - 1, &v, NULL, NULL) != 0) {
        fprintf(stderr, "    response is not JSON: %.*s\n", (int)(end - start), captured + start);
        current_failed = 1;
    }
    return v;
}

rep_json ex_request(const char *method, const char *params_json)
{
    static char line[200000];
    int n = snprintf(line, sizeof line, "{\"jsonrpc\":\"2.0\",\"id\":%ld,\"method\":\"%s\"%s%s}",
                     next_id++, method, params_json ? ",\"params\":" : "",
                     params_json ? params_json : "");
    if (n < 0 || (size_t)n >= sizeof line) {
        current_failed = 1;
        return J("null");
    }
    return ex_call(line);
}

void ex_advance(uint64_t ms)
{
    fake_now += ms;
    rep_tick(&test_executor);
}

int ex_lines(void)
{
    return line_count;
}

void ex_fail_writes(int fail)
{
    write_fails = fail;
}

/* ---- flows for the tests ---- */

char events[1 << 17]; /* every event of the last run, as a JSON array */
size_t events_len;
int polls;

const char *ir_with_policy(const char *nodes, const char *edges, unsigned flow_timeout_ms,
                           const char *policy)
{
    static char buf[65536];
    snprintf(buf, sizeof buf,
             "{\"version\":\"1.0.0\",\"flow\":{\"name\":\"t\",\"timeout_ms\":%u},"
             "\"constants\":{\"policyRef\":\"p\",\"policy\":{\"policy\":%s}},\"inputs_schema\":{},"
             "\"graph\":{\"nodes\":%s,\"edges\":%s},"
             "\"metadata\":{\"generated_at\":\"2026-11-20T22:58:45Z\",\"source_file\":\"t.wdl\"}}",
             flow_timeout_ms, policy, nodes, edges);
    return buf;
}

const char *ir(const char *nodes, const char *edges, unsigned flow_timeout_ms)
{
    return ir_with_policy(nodes, edges, flow_timeout_ms,
                          "{\"strategy\":\"pdl/v0\",\"params\":{\"arms\":{\"default\":{"
                          "\"threshold\":\"75.0\",\"action_on_violation\":\"WRITE_BACK\"}},"
                          "\"emit\":{\"action\":\"action\"}}}");
}

/* A node object. */
const char *node(const char *id, const char *type, const char *with, unsigned timeout_ms,
                        unsigned retry_max, unsigned backoff_ms)
{
    static char bufs[16][1024];
    static int next;
    char *b = bufs[next++ % 16];
    snprintf(b, 1024,
             "{\"id\":\"%s\",\"type\":\"%s\",\"with\":%s,\"timeout_ms\":%u,"
             "\"retry\":{\"max\":%u,\"backoff_ms\":%u}}",
             id, type, with, timeout_ms, retry_max, backoff_ms);
    return b;
}

/* StartRun of `ir_text` with `inputs`; returns the response. */
rep_json start(const char *ir_text, const char *inputs)
{
    static char params[70000];
    snprintf(params, sizeof params, "{\"ir\":%s,\"inputs\":%s,\"options\":{\"run_id\":\"r\"}}",
             ir_text, inputs);
    events_len = 0;
    polls = 0;
    return ex_request("Runtime.StartRun", params);
}

/* Appends the events of a Poll result to `events`. */
static void collect(rep_json result)
{
    rep_json_iter it;
    rep_json e;
    rep_json_iter_init(&it, rep_json_get(result, "events"));
    while (rep_json_iter_next(&it, NULL, &e)) {
        if (events_len + e.n + 2 < sizeof events) {
            events[events_len] = events_len ? ',' : '[';
            events_len++;
            memcpy(events + events_len, e.p, e.n);
            events_len += e.n;
        }
    }
}

rep_json poll_once(const char *run_id)
{
    char params[128];
    rep_json r;
    snprintf(params, sizeof params, "{\"run_id\":\"%s\"}", run_id);
    r = rep_json_get(ex_request("Runtime.Poll", params), "result");
    polls++;
    collect(r);
    return r;
}

static int is_final(rep_json result)
{
    rep_json status = rep_json_get(result, "status");
    return rep_json_string_equals(status, "completed", 9) ||
           rep_json_string_equals(status, "failed", 6);
}

/* Polls (advancing the clock by `step_ms` between polls) until the run is final; returns the
 * final Poll result. */
rep_json run_to_end(uint64_t step_ms)
{
    rep_json r = poll_once("r");
    int turns = 0;
    while (!is_final(r) && turns++ < 100000) {
        ex_advance(step_ms);
        r = poll_once("r");
    }
    return r;
}

rep_json all_events(void)
{
    static char copy[sizeof events + 2];
    rep_json v;
    memcpy(copy, events, events_len);
    if (events_len == 0) {
        copy[0] = '[';
        events_len = 1;
    }
    copy[events_len] = ']';
    if (rep_json_parse(copy, events_len + 1, &v, NULL, NULL) != 0) {
        v.p = "[]";
        v.n = 2;
    }
    return v;
}

/* "id:state" of every step event, joined by spaces, into `out`. */
const char *step_trace(void)
{
    static char out[8192];
    size_t n = 0;
    rep_json_iter it;
    rep_json e;
    out[0] = '\0';
    rep_json_iter_init(&it, all_events());
    while (rep_json_iter_next(&it, NULL, &e)) {
        char id[64], state[16];
        long a, b;
        if (!rep_json_string_equals(rep_json_get(e, "type"), "step", 4)) {
            continue;
        }
        a = rep_json_string_decode(rep_json_get(e, "step_id"), id, sizeof id);
        b = rep_json_string_decode(rep_json_get(e, "state"), state, sizeof state);
        if (a < 0 || b < 0 || n + (size_t)a + (size_t)b + 3 >= sizeof out) {
            break;
        }
        n += (size_t)snprintf(out + n, sizeof out - n, "%s%.*s:%.*s", n ? " " : "", (int)a, id,
                              (int)b, state);
    }
    return out;
}

int status_is(rep_json result, const char *status)
{
    return rep_json_string_equals(rep_json_get(result, "status"), status, strlen(status));
}

rep_json summary(rep_json result, const char *key)
{
    return rep_json_get(rep_json_get(result, "summary"), key);
}

const char *read_file(const char *path)
{
    static char bufs[2][65536];
    static int next;
    char *buf = bufs[next++ % 2];
    FILE *f = fopen(path, "rb");
    size_t n;
    if (!f) {
        return "null";
    }
    n = fread(buf, 1, sizeof bufs[0] - 1, f);
    fclose(f);
    buf[n] = '\0';
    return buf;
}

int main(void)
{
    static const test_case *const suites[] = {json_tests,     resolve_tests, scheduler_tests,
                                              dispatch_tests, steps_tests,   serial_tests,
                                              probe_tests};
    size_t s;
    int passed = 0, failed = 0;
    for (s = 0; s < sizeof suites / sizeof suites[0]; s++) {
        const test_case *t;
        for (t = suites[s]; t->name; t++) {
            current_failed = 0;
            t->fn();
            if (current_failed) {
                fprintf(stderr, "FAIL %s\n", t->name);
                failed++;
            } else {
                passed++;
            }
        }
    }
    printf("C unit tests: %d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}

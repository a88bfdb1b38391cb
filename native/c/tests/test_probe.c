/*
 * test_probe.c — `rep.probe` (rep_probe.c), registered with one call: its delay waits without
 * blocking Poll and ends at once on Cancel and on the node's timeout, fail_times and fail,
 * its output, and its refusal of mistyped keys (docs/protocol.md, "Conformance extension").
 */
#include <stdio.h>
#include <string.h>

#include "test.h"

static const char PROBE_EDGE[] = "[{\"from\":\"p\",\"to\":\"out\",\"on\":\"success\"}]";

/* StartRun of probe `p` (`with`, `timeout_ms`, `retry_max`), then a dsl.emit of its output,
 * on a fresh executor with the probe registered. */
static void start_probe(const char *with, unsigned timeout_ms, unsigned retry_max,
                        const char *inputs)
{
    static char nodes[4096];
    snprintf(nodes, sizeof nodes, "[%s,%s]", node("p", "rep.probe", with, timeout_ms, retry_max, 0),
             node("out", "dsl.emit", "{\"out\":\"$step.p\"}", 0, 0, 0));
    ex_reset();
    if (rep_executor_add_probe(&test_executor) != REP_OK) {
        test_failed(__FILE__, __LINE__, "rep_executor_add_probe");
    }
    start(ir(nodes, PROBE_EDGE, 0), inputs);
}

/* The `attempt` of every step event of `p` in `state`, as digits ("123"). */
static const char *attempts_of_p(const char *state)
{
    static char out[32];
    size_t n = 0;
    rep_json_iter it;
    rep_json e;
    rep_json_iter_init(&it, all_events());
    while (rep_json_iter_next(&it, NULL, &e) && n + 1 < sizeof out) {
        uint32_t attempt = 0;
        if (rep_json_string_equals(rep_json_get(e, "type"), "step", 4) &&
            rep_json_string_equals(rep_json_get(e, "step_id"), "p", 1) &&
            rep_json_string_equals(rep_json_get(e, "state"), state, strlen(state)) &&
            rep_json_to_u32(rep_json_get(e, "attempt"), 9, &attempt) == REP_OK) {
            out[n++] = (char)('0' + attempt);
        }
    }
    out[n] = '\0';
    return out;
}

static void registering_it_advertises_rep_probe(void)
{
    char kinds[512];
    rep_json caps;
    long n;
    ex_reset();
    CHECK(rep_executor_add_probe(&test_executor) == REP_OK);
    CHECK(rep_executor_add_probe(&test_executor) == REP_OK); /* again: replaced, not added */
    caps = rep_json_get(ex_request("Runtime.Capabilities", "{}"), "result");
    n = (long)rep_json_get(caps, "step_kinds").n;
    CHECK(n > 0 && (size_t)n < sizeof kinds);
    memcpy(kinds, rep_json_get(caps, "step_kinds").p, (size_t)n);
    kinds[n] = '\0';
    CHECK(strstr(kinds, "\"rep.probe\"") != NULL);
    CHECK(strstr(strstr(kinds, "\"rep.probe\"") + 1, "\"rep.probe\"") == NULL);
}

static void the_delay_waits_without_blocking_and_the_output_is_with_output(void)
{
    rep_json r;
    start_probe("{\"delay_ms\":100,\"output\":{\"v\":\"$input.x\",\"n\":[1,{\"k\":null}]}}", 0, 0,
                "{\"x\":7}");
    ex_advance(0);
    ex_advance(60);
    r = poll_once("r"); /* answered while the probe waits */
    CHECK(status_is(r, "running"));
    CHECK(strcmp(step_trace(), "p:started") == 0);
    r = run_to_end(10);
    CHECK(status_is(r, "completed"));
    CHECK(fake_now - 1000 >= 100 && fake_now - 1000 < 120);
    CHECK(json_eq(rep_json_get(summary(r, "outputs"), "out"),
                  "{\"v\":7,\"n\":[1,{\"k\":null}]}"));
    /* Without output (or with null) it is {}. */
    start_probe("{\"output\":null}", 0, 0, "{}");
    r = run_to_end(1);
    CHECK(json_eq(rep_json_get(summary(r, "outputs"), "out"), "{}"));
}

static void fail_times_fails_the_first_attempts_retriably(void)
{
    rep_json r;
    start_probe("{\"fail_times\":2}", 0, 2, "{}");
    r = run_to_end(1);
    CHECK(status_is(r, "completed"));
    CHECK(strcmp(attempts_of_p("failed"), "12") == 0);
    CHECK(strcmp(attempts_of_p("succeeded"), "3") == 0);
    start_probe("{\"fail_times\":3}", 0, 2, "{}");
    r = run_to_end(1);
    CHECK(status_is(r, "failed"));
    CHECK(strcmp(attempts_of_p("failed"), "123") == 0);
    CHECK(json_eq(rep_json_get(rep_json_get(summary(r, "error"), "data"), "attempt"), "3"));
}

static void fail_fails_every_attempt_without_retry(void)
{
    rep_json r, data;
    start_probe("{\"fail\":true,\"fail_times\":0,\"delay_ms\":5}", 0, 3, "{}");
    r = run_to_end(1);
    CHECK(status_is(r, "failed"));
    CHECK(strcmp(attempts_of_p("started"), "1") == 0);
    CHECK(fake_now - 1000 >= 5); /* the delay comes first */
    data = rep_json_get(summary(r, "error"), "data");
    CHECK(json_eq(rep_json_get(data, "retriable"), "false"));
    start_probe("{\"fail\":false}", 0, 0, "{}");
    CHECK(status_is(run_to_end(1), "completed"));
}

static void cancel_ends_the_delay_at_once(void)
{
    rep_json r;
    start_probe("{\"delay_ms\":60000}", 0, 3, "{}");
    ex_advance(10);
    r = poll_once("r");
    CHECK(strcmp(step_trace(), "p:started") == 0);
    ex_request("Runtime.Cancel", "{\"run_id\":\"r\"}");
    r = run_to_end(1);
    CHECK(status_is(r, "failed"));
    CHECK(fake_now - 1000 < 20);
    CHECK(strcmp(step_trace(), "p:started p:failed") == 0);
    CHECK(strstr(events, "cancelled during its delay_ms") != NULL);
}

static void the_node_timeout_ends_each_attempt(void)
{
    rep_json r;
    start_probe("{\"delay_ms\":3000}", 100, 1, "{}");
    r = run_to_end(10);
    CHECK(status_is(r, "failed"));
    CHECK(strcmp(attempts_of_p("failed"), "12") == 0); /* a timeout is retried */
    CHECK(fake_now - 1000 >= 200 && fake_now - 1000 < 300);
    CHECK(json_eq(rep_json_get(rep_json_get(summary(r, "error"), "data"), "cause"),
                  "\"timeout\""));
}

static void mistyped_keys_fail_once_naming_the_key(void)
{
    static const char *const cases[][2] = {
        {"{\"delay_ms\":-1}", "with.delay_ms must be an integer >= 0, got -1"},
        {"{\"delay_ms\":\"5\"}", "with.delay_ms must be an integer >= 0, got \"5\""},
        {"{\"fail_times\":1.5}", "with.fail_times must be an integer >= 0, got 1.5"},
        {"{\"fail\":\"yes\"}", "with.fail must be a boolean, got \"yes\""},
    };
    size_t i;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char msg[256];
        long n;
        rep_json r;
        start_probe(cases[i][0], 0, 3, "{}");
        r = run_to_end(1);
        CHECK(status_is(r, "failed"));
        CHECK(strcmp(attempts_of_p("started"), "1") == 0);
        n = rep_json_string_decode(rep_json_get(summary(r, "error"), "message"), msg,
                                   sizeof msg - 1);
        CHECK(n > 0);
        msg[n] = '\0';
        if (strstr(msg, cases[i][1]) == NULL) {
            fprintf(stderr, "    message \"%s\" lacks \"%s\"\n", msg, cases[i][1]);
        }
        CHECK(strstr(msg, cases[i][1]) != NULL);
    }
    /* Integers beyond 32 bits count as 2^32 - 1: a failure on every attempt, not an error. */
    start_probe("{\"fail_times\":123456789012345678901234567890}", 0, 1, "{}");
    CHECK(status_is(run_to_end(1), "failed"));
    CHECK(strcmp(attempts_of_p("failed"), "12") == 0);
}

const test_case probe_tests[] = {
    {"probe: registering it advertises rep.probe", registering_it_advertises_rep_probe},
    {"probe: the delay waits without blocking; the output is with.output", the_delay_waits_without_blocking_and_the_output_is_with_output},
    {"probe: fail_times fails the first attempts, retriably", fail_times_fails_the_first_attempts_retriably},
    {"probe: fail fails every attempt without retry", fail_fails_every_attempt_without_retry},
    {"probe: Cancel ends the delay at once", cancel_ends_the_delay_at_once},
    {"probe: the node's timeout ends each attempt", the_node_timeout_ends_each_attempt},
    {"probe: mistyped keys fail once, naming the key", mistyped_keys_fail_once_naming_the_key},
    {NULL, NULL}};

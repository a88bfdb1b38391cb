/*
 * test_scheduler.c — whole runs on the executor, on a fake clock: the graph semantics, retries,
 * timeouts, cancellation, events, limits.
 */
#include <stdio.h>
#include <string.h>

#include "rep_internal.h"
#include "test.h"

/* ---- tests ---- */

static void plant_monitor_takes_the_write_branch(void)
{
    rep_json r;
    ex_reset();
    r = start(read_file("examples/plant-monitor/out/dsl/flows/plant-monitor.ir.json"),
              read_file("examples/plant-monitor/input.json"));
    CHECK(json_eq(rep_json_get(r, "result"), "{\"run_id\":\"r\"}"));
    r = run_to_end(1);
    CHECK(status_is(r, "completed"));
    CHECK(json_eq(summary(r, "outputs"),
                  "{\"decision\":{\"action\":\"WRITE_BACK\",\"target_node\":\"ns=2;i=5001\","
                  "\"value\":1,\"reason\":{\"temp\":80.0,\"threshold\":75.0}}}"));
    CHECK(json_eq(summary(r, "completed_steps"), "6"));
    CHECK(strcmp(step_trace(),
                 "read:started read:succeeded decide:started decide:succeeded when_0:started "
                 "when_0:succeeded write:started write:succeeded emit_1:started emit_1:succeeded "
                 "finish_2:started finish_2:succeeded") == 0);
}

static void a_low_reading_takes_the_default_branch(void)
{
    rep_json r;
    ex_reset();
    start(read_file("examples/plant-monitor/out/dsl/flows/plant-monitor.ir.json"),
          "{\"endpoint\":\"e\",\"nodes\":[\"n1\"],\"mock_values\":{\"n1\":70.5}}");
    r = run_to_end(1);
    CHECK(status_is(r, "completed"));
    CHECK(strstr(step_trace(), "write:") == NULL);
    CHECK(json_eq(rep_json_get(rep_json_get(summary(r, "outputs"), "decision"), "action"),
                  "\"NONE\""));
}

static void a_failure_edge_is_taken_and_success_paths_die(void)
{
    char nodes[4096], edges[1024];
    rep_json r;
    snprintf(nodes, sizeof nodes, "[%s,%s,%s]",
             node("a", "dsl.emit", "{\"_mock\":{\"fail\":true}}", 0, 0, 0),
             node("b", "dsl.emit", "{\"handled\":true}", 0, 0, 0),
             node("c", "dsl.emit", "{\"unreached\":true}", 0, 0, 0));
    snprintf(edges, sizeof edges, "[{\"from\":\"a\",\"to\":\"b\",\"on\":\"failure\"},"
                                  "{\"from\":\"a\",\"to\":\"c\",\"on\":\"success\"}]");
    ex_reset();
    start(ir(nodes, edges, 0), "{}");
    r = run_to_end(1);
    CHECK(status_is(r, "completed"));
    CHECK(strcmp(step_trace(), "a:started a:failed b:started b:succeeded") == 0);
    CHECK(json_eq(summary(r, "outputs"), "{\"handled\":true}"));
    CHECK(json_eq(summary(r, "failed_steps"), "1"));
}

static void a_failure_without_failure_edge_fails_the_run(void)
{
    char nodes[4096];
    rep_json r, error;
    snprintf(nodes, sizeof nodes, "[%s,%s]",
             node("a", "opcua.read", "{\"node_ids\":\"x\"}", 0, 3, 0),
             node("b", "dsl.emit", "{}", 0, 0, 0));
    ex_reset();
    start(ir(nodes, "[{\"from\":\"a\",\"to\":\"b\",\"on\":\"success\"}]", 0), "{}");
    r = run_to_end(1);
    CHECK(status_is(r, "failed"));
    CHECK(strcmp(step_trace(), "a:started a:failed") == 0); /* not retriable: one attempt */
    error = summary(r, "error");
    CHECK(json_eq(rep_json_get(error, "code"), "2001"));
    CHECK(json_eq(rep_json_get(error, "data"),
                  "{\"step_id\":\"a\",\"attempt\":1,\"retriable\":false}"));
    CHECK(json_eq(rep_json_get(error, "message"),
                  "\"opcua.read: node_ids must be an array, got \\\"x\\\"\""));
}

static void retries_wait_for_their_backoff(void)
{
    char nodes[4096];
    rep_json r;
    int i;
    snprintf(nodes, sizeof nodes, "[%s]",
             node("a", "dsl.emit", "{\"_mock\":{\"fail_times\":2},\"ok\":1}", 0, 2, 100));
    ex_reset();
    start(ir(nodes, "[]", 0), "{}");
    r = poll_once("r");
    CHECK(strcmp(step_trace(), "a:started a:failed") == 0);
    for (i = 0; i < 9; i++) {
        ex_advance(10); /* 90 ms: still in the backoff */
    }
    r = poll_once("r");
    CHECK(strcmp(step_trace(), "a:started a:failed") == 0);
    ex_advance(10);
    r = poll_once("r");
    CHECK(strcmp(step_trace(), "a:started a:failed a:started a:failed") == 0);
    r = run_to_end(100);
    CHECK(status_is(r, "completed"));
    CHECK(strcmp(step_trace(),
                 "a:started a:failed a:started a:failed a:started a:succeeded") == 0);
    CHECK(json_eq(summary(r, "outputs"), "{\"ok\":1}"));
    CHECK(json_eq(summary(r, "failed_steps"), "0"));
}

static void a_step_timeout_fails_the_attempt(void)
{
    char nodes[4096];
    rep_json r, error;
    snprintf(nodes, sizeof nodes, "[%s]", node("slow", "test.pending", "{\"wait_ms\":5000}", 100, 0, 0));
    ex_reset();
    start(ir(nodes, "[]", 0), "{}");
    r = run_to_end(10);
    CHECK(status_is(r, "failed"));
    CHECK(fake_now - 1000 >= 100 && fake_now - 1000 < 200);
    error = summary(r, "error");
    CHECK(json_eq(error, "{\"code\":2001,\"message\":\"step \\\"slow\\\" timed out after 100 ms\","
                         "\"data\":{\"step_id\":\"slow\",\"attempt\":1,"
                         "\"details\":{\"timeout_ms\":100},\"cause\":\"timeout\"}}"));
}

static void a_flow_timeout_stops_the_run(void)
{
    char nodes[4096];
    rep_json r;
    snprintf(nodes, sizeof nodes, "[%s]", node("slow", "test.pending", "{\"wait_ms\":5000}", 0, 0, 0));
    ex_reset();
    start(ir(nodes, "[]", 50), "{}");
    r = run_to_end(10);
    CHECK(status_is(r, "failed"));
    CHECK(fake_now - 1000 < 100);
    CHECK(json_eq(summary(r, "error"),
                  "{\"code\":2001,\"message\":\"flow timed out after 50 ms\",\"data\":{"
                  "\"retriable\":false,\"details\":{\"flow_timeout_ms\":50},\"cause\":\"timeout\"}}"));
    CHECK(strcmp(step_trace(), "slow:started slow:failed") == 0);
}

static void cancel_stops_a_running_step(void)
{
    char nodes[4096];
    rep_json r;
    snprintf(nodes, sizeof nodes, "[%s]", node("slow", "test.pending", "{\"wait_ms\":5000}", 0, 0, 0));
    ex_reset();
    start(ir(nodes, "[]", 0), "{}");
    ex_advance(10);
    CHECK(json_eq(ex_request("Runtime.Cancel", "{\"run_id\":\"r\"}"),
                  "{\"jsonrpc\":\"2.0\",\"id\":2,\"result\":{\"ok\":true}}"));
    r = run_to_end(1);
    CHECK(status_is(r, "failed"));
    CHECK(fake_now - 1000 < 20);
    CHECK(json_eq(summary(r, "error"), "{\"code\":3001,\"message\":\"run cancelled\","
                                       "\"data\":{\"retriable\":false,\"cause\":\"cancelled\"}}"));
    CHECK(strstr(events, "\"cancel requested\"") != NULL);
    CHECK(strstr(events, "\"cause\":\"cancelled\"") != NULL);
    /* Cancel again, and of a finished run: ok, nothing changes. */
    CHECK(json_eq(rep_json_get(ex_request("Runtime.Cancel", "{\"run_id\":\"r\"}"), "result"),
                  "{\"ok\":true}"));
    r = poll_once("r");
    CHECK(status_is(r, "failed"));
    CHECK(json_eq(rep_json_get(r, "events"), "[]"));
}

static void a_handler_ignoring_cancel_gets_the_grace(void)
{
    char nodes[4096];
    rep_json r;
    snprintf(nodes, sizeof nodes, "[%s]",
             node("stubborn", "test.pending", "{\"wait_ms\":5000,\"ignore_cancel\":true}", 0, 0, 0));
    ex_reset();
    start(ir(nodes, "[]", 0), "{}");
    ex_advance(0); /* the step starts */
    ex_request("Runtime.Cancel", "{\"run_id\":\"r\"}");
    r = run_to_end(10);
    CHECK(status_is(r, "failed"));
    CHECK(fake_now - 1000 >= REP_CANCEL_GRACE_MS && fake_now - 1000 < REP_CANCEL_GRACE_MS + 20);
    CHECK(strstr(events, "did not stop within 150 ms") != NULL);
}

static void a_join_runs_once_after_every_taken_path(void)
{
    char nodes[4096];
    rep_json r;
    snprintf(nodes, sizeof nodes, "[%s,%s,%s,%s]", node("a", "dsl.emit", "{}", 0, 0, 0),
             node("b", "test.pending", "{\"wait_ms\":30}", 0, 0, 0),
             node("c", "dsl.emit", "{\"c\":1}", 0, 0, 0),
             node("d", "dsl.emit", "{\"b\":\"$step.b.waited\",\"c\":\"$step.c.c\"}", 0, 0, 0));
    ex_reset();
    start(ir(nodes,
             "[{\"from\":\"a\",\"to\":\"b\",\"on\":\"success\"},{\"from\":\"a\",\"to\":\"c\","
             "\"on\":\"success\"},{\"from\":\"b\",\"to\":\"d\",\"on\":\"success\"},"
             "{\"from\":\"c\",\"to\":\"d\",\"on\":\"success\"}]",
             0),
          "{}");
    r = run_to_end(10);
    CHECK(status_is(r, "completed"));
    CHECK(strcmp(step_trace(), "a:started a:succeeded b:started c:started c:succeeded "
                               "b:succeeded d:started d:succeeded") == 0);
    CHECK(json_eq(summary(r, "outputs"), "{\"c\":1,\"b\":30}"));
}

static void a_switch_skips_the_other_branch_through_a_join(void)
{
    char nodes[4096];
    rep_json r;
    snprintf(nodes, sizeof nodes, "[%s,%s,%s,%s]",
             node("s", "switch",
                  "{\"key_from\":\"$input.route\",\"cases\":{\"x\":\"x\",\"y\":\"y\"},"
                  "\"default\":\"y\"}",
                  0, 0, 0),
             node("x", "dsl.emit", "{\"x\":1}", 0, 0, 0), node("y", "dsl.emit", "{\"y\":1}", 0, 0, 0),
             node("z", "dsl.emit", "{\"z\":1}", 0, 0, 0));
    ex_reset();
    start(ir(nodes,
             "[{\"from\":\"s\",\"to\":\"x\",\"on\":\"success\",\"case\":\"x\"},"
             "{\"from\":\"s\",\"to\":\"y\",\"on\":\"success\",\"case\":\"y\"},"
             "{\"from\":\"x\",\"to\":\"z\",\"on\":\"success\"},"
             "{\"from\":\"y\",\"to\":\"z\",\"on\":\"success\"}]",
             0),
          "{\"route\":\"nope\"}");
    r = run_to_end(1);
    CHECK(status_is(r, "completed"));
    CHECK(strcmp(step_trace(), "s:started s:succeeded y:started y:succeeded z:started "
                               "z:succeeded") == 0);
    CHECK(json_eq(summary(r, "outputs"), "{\"y\":1,\"z\":1}"));
}

static void a_switch_without_a_usable_case_fails(void)
{
    char nodes[4096];
    rep_json r;
    snprintf(nodes, sizeof nodes, "[%s,%s]",
             node("s", "switch", "{\"key_from\":\"$input.n\",\"cases\":{\"1\":\"x\"}}", 0, 0, 0),
             node("x", "finish", "{}", 0, 0, 0));
    ex_reset();
    start(ir(nodes, "[{\"from\":\"s\",\"to\":\"x\",\"on\":\"success\",\"case\":\"1\"}]", 0),
          "{\"n\":1}");
    r = run_to_end(1);
    CHECK(status_is(r, "completed")); /* the number 1 matches case "1" */
    ex_reset();
    start(ir(nodes, "[{\"from\":\"s\",\"to\":\"x\",\"on\":\"success\",\"case\":\"1\"}]", 0),
          "{\"n\":2}");
    r = run_to_end(1);
    CHECK(status_is(r, "failed"));
    CHECK(json_eq(rep_json_get(summary(r, "error"), "message"),
                  "\"switch: no case matches 2 and there is no usable default\""));
}

static void finish_ends_the_flow(void)
{
    char nodes[4096];
    rep_json r;
    snprintf(nodes, sizeof nodes, "[%s,%s,%s]", node("f", "finish", "{}", 0, 0, 0),
             node("e", "dsl.emit", "{\"e\":1}", 0, 0, 0), node("g", "dsl.emit", "{\"g\":1}", 0, 0, 0));
    ex_reset();
    start(ir(nodes, "[{\"from\":\"f\",\"to\":\"g\",\"on\":\"success\"}]", 0), "{}");
    r = run_to_end(1);
    CHECK(status_is(r, "completed"));
    /* e was started with f (both entry nodes); g, after finish, never starts. */
    CHECK(strcmp(step_trace(), "f:started e:started f:succeeded e:succeeded") == 0);
}

/* An IR whose nodes are dsl.emit steps e0, e1, … run one after the other, each with the
 * `with` given (NULL ends the list). */
static const char *emit_chain(const char *const *withs)
{
    static char nodes[60000], edges[8000];
    size_t n = 0, m = 0;
    int i;
    n += (size_t)snprintf(nodes + n, sizeof nodes - n, "[");
    m += (size_t)snprintf(edges + m, sizeof edges - m, "[");
    for (i = 0; withs[i]; i++) {
        n += (size_t)snprintf(nodes + n, sizeof nodes - n,
                              "%s{\"id\":\"e%d\",\"type\":\"dsl.emit\",\"with\":%s,"
                              "\"timeout_ms\":0,\"retry\":{\"max\":0,\"backoff_ms\":0}}",
                              i ? "," : "", i, withs[i]);
        if (i > 0) {
            m += (size_t)snprintf(edges + m, sizeof edges - m,
                                  "%s{\"from\":\"e%d\",\"to\":\"e%d\",\"on\":\"success\"}",
                                  i > 1 ? "," : "", i - 1, i);
        }
    }
    snprintf(nodes + n, sizeof nodes - n, "]");
    snprintf(edges + m, sizeof edges - m, "]");
    return ir(nodes, edges, 0);
}

static void events_are_delivered_once_and_never_dropped(void)
{
    /* A chain of 60 steps makes ~120 step events, far more than REP_RUN_EVENT_BYTES holds:
     * the run pauses until each Poll drains them. */
    static const char *withs[61];
    int i, count = 0;
    rep_json r, e;
    rep_json_iter it;
    for (i = 0; i < 60; i++) {
        withs[i] = "{}";
    }
    withs[60] = NULL;
    ex_reset();
    start(emit_chain(withs), "{}");
    r = run_to_end(1);
    CHECK(status_is(r, "completed"));
    CHECK(polls > 2);
    rep_json_iter_init(&it, all_events());
    while (rep_json_iter_next(&it, NULL, &e)) {
        count++;
    }
    CHECK(count == 2 * 60 + 2); /* every step event and the two run logs, once each */
    r = poll_once("r");
    CHECK(json_eq(rep_json_get(r, "events"), "[]"));
}

static void oversized_or_invalid_outputs_fail_the_step(void)
{
    char nodes[4096];
    rep_json r;
    snprintf(nodes, sizeof nodes, "[%s]",
             node("big", "test.raw", "{\"text\":\"[0123456789]\",\"repeat\":2000}", 0, 0, 0));
    ex_reset();
    start(ir(nodes, "[]", 0), "{}");
    r = run_to_end(1);
    CHECK(status_is(r, "failed"));
    CHECK(json_eq(rep_json_get(summary(r, "error"), "code"), "3003")); /* out of resources */
    CHECK(json_eq(rep_json_get(rep_json_get(summary(r, "error"), "data"), "details"),
                  "{\"limit\":\"REP_RUN_OUTPUT_BYTES\"}"));
    snprintf(nodes, sizeof nodes, "[%s]", node("bad", "test.raw", "{\"text\":\"{} {}\"}", 0, 0, 0));
    ex_reset();
    start(ir(nodes, "[]", 0), "{}");
    r = run_to_end(1);
    CHECK(status_is(r, "failed"));
    CHECK(strstr(events, "not JSON") != NULL);
}

static void an_oversized_with_fails_the_step(void)
{
    static char nodes[16384], with[8192];
    rep_json r;
    memset(with, 'x', sizeof with);
    memcpy(with, "{\"t\":\"", 6);
    memcpy(with + REP_WITH_BYTES + 1, "\"}", 3);
    snprintf(nodes, sizeof nodes, "[{\"id\":\"w\",\"type\":\"dsl.emit\",\"with\":%s,"
                                  "\"timeout_ms\":0,\"retry\":{\"max\":0,\"backoff_ms\":0}}]",
             with);
    ex_reset();
    start(ir(nodes, "[]", 0), "{}");
    r = run_to_end(1);
    CHECK(status_is(r, "failed"));
    CHECK(strstr(events, "exceeds REP_WITH_BYTES") != NULL);
    CHECK(json_eq(rep_json_get(summary(r, "error"), "code"), "3003"));
}

static void handlers_log_at_most_two_events_per_call(void)
{
    char nodes[1024];
    rep_json r;
    snprintf(nodes, sizeof nodes, "[%s]", node("l", "test.log", "{}", 0, 0, 0));
    ex_reset();
    start(ir(nodes, "[]", 0), "{}");
    r = run_to_end(1);
    CHECK(status_is(r, "completed"));
    CHECK(strstr(events, "\"two\",\"step_id\":\"l\"") != NULL);
    CHECK(strstr(events, "\"three\"") == NULL);
}

static void run_slots_are_reused_once_finished(void)
{
    char nodes[1024], slow[1024];
    static char params[70000];
    rep_json r;
    snprintf(slow, sizeof slow, "[%s]", node("s", "test.pending", "{\"wait_ms\":50}", 0, 0, 0));
    snprintf(nodes, sizeof nodes, "%s", slow);
    ex_reset();
    snprintf(params, sizeof params, "{\"ir\":%s,\"options\":{\"run_id\":\"one\"}}", ir(nodes, "[]", 0));
    CHECK(rep_json_typeof(rep_json_get(ex_request("Runtime.StartRun", params), "result")) ==
          REP_JSON_OBJECT);
    snprintf(params, sizeof params, "{\"ir\":%s,\"options\":{\"run_id\":\"two\"}}", ir(nodes, "[]", 0));
    CHECK(rep_json_typeof(rep_json_get(ex_request("Runtime.StartRun", params), "result")) ==
          REP_JSON_OBJECT);
    snprintf(params, sizeof params, "{\"ir\":%s,\"options\":{\"run_id\":\"two\"}}", ir(nodes, "[]", 0));
    r = ex_request("Runtime.StartRun", params);
    CHECK(json_eq(rep_json_get(rep_json_get(r, "error"), "code"), "1000")); /* id in use */
    snprintf(params, sizeof params, "{\"ir\":%s,\"options\":{\"run_id\":\"three\"}}", ir(nodes, "[]", 0));
    r = ex_request("Runtime.StartRun", params);
    /* Every slot busy: out of resources (3003), retriable, naming the limit. */
    CHECK(json_eq(rep_json_get(rep_json_get(r, "error"), "code"), "3003"));
    CHECK(json_eq(rep_json_get(rep_json_get(r, "error"), "data"),
                  "{\"retriable\":true,\"details\":{\"limit\":\"REP_MAX_RUNS\"}}"));
    ex_advance(0);  /* the steps start */
    ex_advance(60); /* and end */
    r = ex_request("Runtime.StartRun", params);
    CHECK(json_eq(rep_json_get(r, "result"), "{\"run_id\":\"three\"}"));
    r = ex_request("Runtime.Poll", "{\"run_id\":\"one\"}"); /* evicted: the oldest finished */
    CHECK(json_eq(rep_json_get(rep_json_get(r, "error"), "code"), "1000"));
    r = ex_request("Runtime.Poll", "{\"run_id\":\"two\"}");
    CHECK(status_is(rep_json_get(r, "result"), "completed"));
}

static void concurrency_is_bounded(void)
{
    char nodes[4096];
    rep_json r;
    snprintf(nodes, sizeof nodes, "[%s,%s,%s]",
             node("a", "test.pending", "{\"wait_ms\":10}", 0, 0, 0),
             node("b", "test.pending", "{\"wait_ms\":10}", 0, 0, 0),
             node("c", "test.pending", "{\"wait_ms\":10}", 0, 0, 0));
    ex_reset();
    start(ir(nodes, "[]", 0), "{}");
    r = poll_once("r");
    CHECK(strcmp(step_trace(), "a:started b:started") == 0); /* REP_CONCURRENCY is 2 here */
    r = run_to_end(10);
    CHECK(status_is(r, "completed"));
}

/* A handler handing its work to another task: each attempt in progress has a place of its own
 * and a serial that stays the same across its calls; rep_executor_wake calls it again at the
 * next tick instead of when its 10 s wait expires, and the next attempt in the same place
 * gets another serial. */
static void a_woken_step_is_called_before_its_wait_expires(void)
{
    char nodes[4096];
    rep_json r;
    uint32_t a_place, a_serial, b_place;
    snprintf(nodes, sizeof nodes, "[%s,%s,%s]", node("a", "test.handoff", "{}", 0, 0, 0),
             node("b", "test.handoff", "{}", 0, 0, 0), node("c", "test.handoff", "{}", 0, 0, 0));
    ex_reset();
    start(ir(nodes, "[]", 0), "{}");
    ex_advance(1);
    CHECK(handoff_count == 2);
    a_place = handoff_calls[0][0];
    a_serial = handoff_calls[0][1];
    b_place = handoff_calls[1][0];
    CHECK(a_place != b_place && a_place < REP_MAX_RUNS * REP_CONCURRENCY &&
          b_place < REP_MAX_RUNS * REP_CONCURRENCY);
    CHECK(a_serial != 0 && a_serial != handoff_calls[1][1]);
    ex_advance(1); /* not due: nobody is called */
    CHECK(handoff_count == 2);
    handoff_done[a_place] = a_serial;
    CHECK(rep_executor_wake(&test_executor) == REP_OK);
    ex_advance(0); /* both are called; a completes, c starts in a's place */
    CHECK(handoff_count == 5);
    CHECK(handoff_calls[2][1] == a_serial && handoff_calls[3][0] == b_place);
    CHECK(handoff_calls[4][0] == a_place && handoff_calls[4][1] != a_serial);
    r = poll_once("r");
    CHECK(strcmp(step_trace(), "a:started b:started a:succeeded c:started") == 0);
    CHECK(status_is(r, "running"));
}

/* summary.outputs: each key at its first place with its last value, keys compared by their
 * decoded text, merged as each dsl.emit completes. */
static void outputs_merge_each_key_at_its_first_place_with_its_last_value(void)
{
    static const char *const withs[] = {
        "{\"x\":1,\"y\":2,\"x\":3}", "{\"z\":4,\"\\u0079\":5,\"_mock\":{\"delay_ms\":10}}",
        "{\"x\":{\"deep\":[6]}}", "{}", NULL};
    rep_json r;
    ex_reset();
    start(emit_chain(withs), "{}");
    r = poll_once("r"); /* e0 ran, e1 waits 10 ms */
    CHECK(json_eq(summary(r, "outputs"), "{\"x\":3,\"y\":2}"));
    r = run_to_end(1);
    CHECK(status_is(r, "completed"));
    CHECK(json_eq(summary(r, "outputs"), "{\"x\":{\"deep\":[6]},\"y\":5,\"z\":4}"));
    r = poll_once("r"); /* the same again: Poll only writes what was merged */
    CHECK(json_eq(summary(r, "outputs"), "{\"x\":{\"deep\":[6]},\"y\":5,\"z\":4}"));
}

/* More distinct keys than REP_MAX_OUTPUT_KEYS: the dsl.emit that would pass it fails with
 * 3003, and summary.outputs keeps what was merged before, unchanged. */
static void too_many_output_keys_fail_the_emit_with_3003(void)
{
    static char first[4096], second[4096];
    const char *withs[3];
    size_t n = 0, m = 0;
    int i;
    rep_json r, outputs, v;
    rep_json_iter it;
    int count = 0;
    n += (size_t)snprintf(first + n, sizeof first - n, "{");
    for (i = 0; i < REP_MAX_OUTPUT_KEYS - 10; i++) {
        n += (size_t)snprintf(first + n, sizeof first - n, "%s\"k%d\":1", i ? "," : "", i);
    }
    snprintf(first + n, sizeof first - n, "}");
    /* An update of k0 first, then 11 new keys: one too many. */
    m += (size_t)snprintf(second + m, sizeof second - m, "{\"k0\":2");
    for (i = 0; i < 11; i++) {
        m += (size_t)snprintf(second + m, sizeof second - m, ",\"new%d\":1", i);
    }
    snprintf(second + m, sizeof second - m, "}");
    withs[0] = first;
    withs[1] = second;
    withs[2] = NULL;
    ex_reset();
    start(emit_chain(withs), "{}");
    r = run_to_end(1);
    CHECK(status_is(r, "failed"));
    CHECK(json_eq(rep_json_get(summary(r, "error"), "code"), "3003"));
    CHECK(json_eq(rep_json_get(rep_json_get(summary(r, "error"), "data"), "details"),
                  "{\"limit\":\"REP_MAX_OUTPUT_KEYS\"}"));
    outputs = summary(r, "outputs");
    CHECK(json_eq(rep_json_get(outputs, "k0"), "1"));
    rep_json_iter_init(&it, outputs);
    while (rep_json_iter_next(&it, NULL, &v)) {
        count++;
    }
    CHECK(count == REP_MAX_OUTPUT_KEYS - 10);
}

/* A run slot reused by a later run starts with empty outputs (the index is cleared). */
static void a_reused_run_slot_starts_with_empty_outputs(void)
{
    static const char *const a[] = {"{\"a\":1,\"shared\":1}", NULL};
    static const char *const b[] = {"{\"b\":2,\"shared\":2}", NULL};
    static char params[70000];
    const char *ids[] = {"m1", "m2", "m3"};
    int i;
    rep_json r;
    ex_reset();
    for (i = 0; i < 3; i++) {
        char poll[64];
        snprintf(params, sizeof params, "{\"ir\":%s,\"options\":{\"run_id\":\"%s\"}}",
                 emit_chain(i == 1 ? b : a), ids[i]);
        CHECK(rep_json_typeof(rep_json_get(ex_request("Runtime.StartRun", params), "result")) ==
              REP_JSON_OBJECT);
        ex_advance(0);
        ex_advance(0);
        snprintf(poll, sizeof poll, "{\"run_id\":\"%s\"}", ids[i]);
        r = rep_json_get(ex_request("Runtime.Poll", poll), "result");
        CHECK(status_is(r, "completed"));
        CHECK(json_eq(summary(r, "outputs"), i == 1 ? "{\"b\":2,\"shared\":2}"
                                                    : "{\"a\":1,\"shared\":1}"));
    }
}

static rep_err reentry[4];

/* test.reenter: calls the executor's entry points from inside a handler. */
static rep_step_result reenter_step(rep_step *step, rep_json with, rep_writer *out, void *user)
{
    (void)with;
    (void)user;
    (void)step;
    reentry[0] = rep_feed(&test_executor, "\n", 1);
    reentry[1] = rep_handle_line(&test_executor, "{}", 2);
    reentry[2] = rep_executor_add_step(&test_executor, "x", reenter_step, NULL);
    reentry[3] = rep_executor_resync(&test_executor);
    rep_tick(&test_executor); /* does nothing */
    rep_w_null(out);
    return REP_STEP_DONE;
}

static void a_handler_cannot_reenter_its_executor(void)
{
    char nodes[1024];
    rep_json r;
    int i;
    ex_reset();
    CHECK(rep_executor_add_step(&test_executor, "test.reenter", reenter_step, NULL) == REP_OK);
    snprintf(nodes, sizeof nodes, "[%s]", node("x", "test.reenter", "{}", 0, 0, 0));
    start(ir(nodes, "[]", 0), "{}");
    r = run_to_end(1);
    CHECK(status_is(r, "completed"));
    for (i = 0; i < 4; i++) {
        CHECK(reentry[i] == REP_ERR_BUSY);
    }
    CHECK(rep_handle_line(&test_executor, "", 0) == REP_OK); /* after the handler: usable */
}

const test_case scheduler_tests[] = {
    {"scheduler: plant-monitor takes the write branch", plant_monitor_takes_the_write_branch},
    {"scheduler: a low reading takes the default branch", a_low_reading_takes_the_default_branch},
    {"scheduler: a failure edge is taken, success paths die", a_failure_edge_is_taken_and_success_paths_die},
    {"scheduler: a failure without failure edge fails the run", a_failure_without_failure_edge_fails_the_run},
    {"scheduler: retries wait for their backoff", retries_wait_for_their_backoff},
    {"scheduler: a step timeout fails the attempt", a_step_timeout_fails_the_attempt},
    {"scheduler: a flow timeout stops the run", a_flow_timeout_stops_the_run},
    {"scheduler: Cancel stops a running step", cancel_stops_a_running_step},
    {"scheduler: a handler ignoring Cancel gets the grace", a_handler_ignoring_cancel_gets_the_grace},
    {"scheduler: a join runs once after every taken path", a_join_runs_once_after_every_taken_path},
    {"scheduler: switch skips the other branch through a join", a_switch_skips_the_other_branch_through_a_join},
    {"scheduler: a switch without a usable case fails", a_switch_without_a_usable_case_fails},
    {"scheduler: finish ends the flow", finish_ends_the_flow},
    {"scheduler: events are delivered once, never dropped", events_are_delivered_once_and_never_dropped},
    {"scheduler: oversized or invalid outputs fail the step", oversized_or_invalid_outputs_fail_the_step},
    {"scheduler: an oversized with fails the step", an_oversized_with_fails_the_step},
    {"scheduler: handlers log at most two events per call", handlers_log_at_most_two_events_per_call},
    {"scheduler: run slots are reused once finished", run_slots_are_reused_once_finished},
    {"scheduler: concurrency is bounded", concurrency_is_bounded},
    {"scheduler: a woken step is called before its wait expires", a_woken_step_is_called_before_its_wait_expires},
    {"scheduler: outputs merge: first place, last value", outputs_merge_each_key_at_its_first_place_with_its_last_value},
    {"scheduler: too many output keys fail the emit with 3003", too_many_output_keys_fail_the_emit_with_3003},
    {"scheduler: a reused run slot starts with empty outputs", a_reused_run_slot_starts_with_empty_outputs},
    {"scheduler: a handler cannot reenter its executor", a_handler_cannot_reenter_its_executor},
    {NULL, NULL}};

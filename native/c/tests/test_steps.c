/*
 * test_steps.c — the mock step kinds (native/steps): the same results as the Rust mock
 * executor's handlers, policy and fault injection.
 */
#include <stdio.h>
#include <string.h>

#include "rep_internal.h"
#include "test.h"

/* Runs `kind` with `with` (then a dsl.emit of its output) and returns the final Poll result. */
static rep_json run_step(const char *kind, const char *with, const char *inputs,
                         const char *policy)
{
    static char nodes[8192];
    snprintf(nodes, sizeof nodes, "[%s,%s]", node("s", kind, with, 0, 0, 0),
             node("out", "dsl.emit", "{\"out\":\"$step.s\"}", 0, 0, 0));
    ex_reset();
    start(policy ? ir_with_policy(nodes, "[{\"from\":\"s\",\"to\":\"out\",\"on\":\"success\"}]", 0,
                                  policy)
                 : ir(nodes, "[{\"from\":\"s\",\"to\":\"out\",\"on\":\"success\"}]", 0),
          inputs);
    return run_to_end(1);
}

static int output_is(rep_json result, const char *expected)
{
    return status_is(result, "completed") &&
           json_eq(rep_json_get(summary(result, "outputs"), "out"), expected);
}

static int fails_with(rep_json result, const char *text)
{
    char msg[512];
    long n = rep_json_string_decode(rep_json_get(summary(result, "error"), "message"), msg,
                                    sizeof msg - 1);
    if (!status_is(result, "failed") || n < 0) {
        return 0;
    }
    msg[n] = '\0';
    if (!strstr(msg, text)) {
        fprintf(stderr, "    message \"%s\" lacks \"%s\"\n", msg, text);
        return 0;
    }
    return 1;
}

static void opcua_read(void)
{
    CHECK(output_is(run_step("opcua.read", "{\"endpoint\":\"$input.e\",\"node_ids\":\"$input.n\"}",
                             "{\"e\":\"opc\",\"n\":[\"a\",\"b\",3],\"mock_values\":{\"b\":1.5,"
                             "\"3\":7,\"a\":\"9\"}}",
                             NULL),
                    "{\"endpoint\":\"opc\",\"values\":{\"a\":80.0,\"b\":1.5,\"3\":7}}"));
    CHECK(output_is(run_step("opcua.read", "{}", "{}", NULL),
                    "{\"endpoint\":null,\"values\":{}}"));
    CHECK(fails_with(run_step("opcua.read", "{\"node_ids\":{}}", "{}", NULL),
                     "node_ids must be an array, got {}"));
}

static void opcua_write_echoes(void)
{
    CHECK(output_is(run_step("opcua.write", "{\"endpoint\":\"e\",\"node_id\":\"n\",\"value\":1}",
                             "{}", NULL),
                    "{\"endpoint\":\"e\",\"node_id\":\"n\",\"value\":1,\"status\":\"ok\"}"));
}

static const char *plant_policy =
    "{\"strategy\":\"pdl/v0\",\"params\":{\"arms\":{\"default\":{\"threshold\":\"75.0\","
    "\"action_on_violation\":\"WRITE_BACK\",\"target_node\":\"ns=2;i=5001\"}},\"emit\":{"
    "\"action\":\"action\",\"target_node\":\"arms.active.target_node\",\"value\":\"1\","
    "\"reason\":\"{ temp: temp, threshold: arms.active.threshold }\"}}}";

static void the_threshold_rule(void)
{
    CHECK(output_is(run_step("policy.apply", "{\"values\":{\"x\":80,\"y\":1}}", "{}", plant_policy),
                    "{\"action\":\"WRITE_BACK\",\"target_node\":\"ns=2;i=5001\",\"value\":1,"
                    "\"reason\":{\"temp\":80.0,\"threshold\":75.0}}"));
    CHECK(output_is(run_step("policy.apply", "{\"values\":{\"x\":\" 75 \"}}", "{}", plant_policy),
                    "{\"action\":\"WRITE_BACK\",\"target_node\":\"ns=2;i=5001\",\"value\":1,"
                    "\"reason\":{\"temp\":75.0,\"threshold\":75.0}}"));
    CHECK(output_is(run_step("policy.apply", "{\"values\":{\"x\":\"n/a\",\"y\":70.5}}", "{}",
                             plant_policy),
                    "{\"action\":\"NONE\",\"target_node\":\"ns=2;i=5001\",\"value\":1,"
                    "\"reason\":{\"temp\":70.5,\"threshold\":75.0}}"));
    CHECK(output_is(run_step("policy.apply", "{}", "{}", plant_policy),
                    "{\"action\":\"NONE\",\"target_node\":\"ns=2;i=5001\",\"value\":1,"
                    "\"reason\":{\"temp\":null,\"threshold\":75.0}}"));
    /* serde_json Map order: a repeated key keeps its first place and its last value. */
    CHECK(output_is(run_step("policy.apply", "{\"values\":{\"a\":1,\"b\":90,\"a\":\"x\"}}", "{}",
                             plant_policy),
                    "{\"action\":\"WRITE_BACK\",\"target_node\":\"ns=2;i=5001\",\"value\":1,"
                    "\"reason\":{\"temp\":90.0,\"threshold\":75.0}}"));
}

static void without_threshold_the_arm_action_applies(void)
{
    CHECK(output_is(run_step("policy.apply", "{\"values\":{\"temperature\":\"72\"}}", "{}",
                             "{\"strategy\":\"pdl/v0\",\"params\":{\"arms\":{\"default\":{"
                             "\"action_on_violation\":\"PASS\"}},\"emit\":{\"action\":\"action\"}}}"),
                    "{\"action\":\"PASS\"}"));
    CHECK(output_is(run_step("policy.apply", "{}", "{}", "{\"strategy\":\"pdl/v0\",\"params\":{}}"),
                    "{\"action\":\"NONE\"}"));
}

static void emit_expressions(void)
{
    CHECK(output_is(
        run_step("policy.apply", "{\"values\":{\"t\":\"1e3\"}}", "{}",
                 "{\"strategy\":\"pdl/v0\",\"params\":{\"arms\":{\"default\":{\"k\":\" 2.50 \","
                 "\"s\":\"text\",\"o\":{\"z\":1}}},\"emit\":{\"n\":\"-7\",\"f\":\"+0.5e-2\","
                 "\"big\":\"1e25\",\"inf\":\"inf\",\"nan\":\"NaN\",\"q\":\"\\\"quoted\\\"\","
                 "\"k\":\"arms.active.k\",\"s\":\"arms.default.s\",\"o\":\"arms.active.o\","
                 "\"m\":\"arms.active.missing\",\"t\":\"temp\",\"w\":\"some words\",\"x\":5,"
                 "\"nest\":\"{ a: { b: temp, \\\"c\\\": 1 }, d: action, e }\"}}}"),
        "{\"n\":-7,\"f\":0.005,\"big\":1.0e25,\"inf\":null,\"nan\":null,\"q\":\"quoted\","
        "\"k\":2.5,\"s\":\"text\",\"o\":{\"z\":1},\"m\":null,\"t\":1000.0,\"w\":\"some words\","
        "\"x\":5,\"nest\":{\"a\":{\"b\":1000.0,\"c\":1},\"d\":\"NONE\"}}"));
}

/* An emit expression `{ a: { a: … temp … } }` nested `levels` deep, as policy params. */
static const char *nested_policy(int levels)
{
    static char policy[1024];
    size_t n = 0;
    int i;
    n += (size_t)snprintf(policy + n, sizeof policy - n,
                          "{\"strategy\":\"pdl/v0\",\"params\":{\"emit\":{\"nest\":\"");
    for (i = 0; i < levels; i++) {
        n += (size_t)snprintf(policy + n, sizeof policy - n, "{ a: ");
    }
    n += (size_t)snprintf(policy + n, sizeof policy - n, "temp");
    for (i = 0; i < levels; i++) {
        n += (size_t)snprintf(policy + n, sizeof policy - n, " }");
    }
    snprintf(policy + n, sizeof policy - n, "\"}}}");
    return policy;
}

/* The same nesting as the expected JSON, with `innermost` at the bottom. */
static const char *nested_json(int levels, const char *innermost)
{
    static char text[1024];
    size_t n = 0;
    int i;
    n += (size_t)snprintf(text + n, sizeof text - n, "{\"nest\":");
    for (i = 0; i < levels; i++) {
        n += (size_t)snprintf(text + n, sizeof text - n, "{\"a\":");
    }
    n += (size_t)snprintf(text + n, sizeof text - n, "%s", innermost);
    for (i = 0; i < levels; i++) {
        n += (size_t)snprintf(text + n, sizeof text - n, "}");
    }
    snprintf(text + n, sizeof text - n, "}");
    return text;
}

/* Emit expressions nest 16 deep (walked on an explicit stack, not by recursion); a 17th level
 * is null. */
static void emit_expressions_nest_sixteen_deep(void)
{
    CHECK(output_is(run_step("policy.apply", "{\"values\":{\"t\":5}}", "{}", nested_policy(16)),
                    nested_json(16, "5.0")));
    CHECK(output_is(run_step("policy.apply", "{\"values\":{\"t\":5}}", "{}", nested_policy(17)),
                    nested_json(16, "null")));
}

static void policy_errors(void)
{
    CHECK(fails_with(run_step("policy.apply", "{}", "{}", "{\"strategy\":\"other\"}"),
                     "expected policy strategy \"pdl/v0\", found \"other\""));
    CHECK(fails_with(run_step("policy.apply", "{}", "{}", "{\"strategy\":\"pdl/v0\"}"),
                     "policy params are missing"));
    CHECK(fails_with(run_step("policy.apply", "{}", "{}", "null"),
                     "constants.policy.policy is missing"));
}

static void mock_faults(void)
{
    rep_json r;
    CHECK(output_is(run_step("dsl.emit", "{\"a\":1,\"_mock\":{\"delay_ms\":\"40\"}}", "{}", NULL),
                    "{\"a\":1}"));
    CHECK(fake_now - 1000 >= 40);
    CHECK(output_is(run_step("opcua.read", "{\"_mock\":{\"output\":{\"v\":2}}}", "{}", NULL),
                    "{\"v\":2}"));
    CHECK(fails_with(run_step("dsl.emit", "{\"_mock\":{\"fail\":\"true\"}}", "{}", NULL),
                     "injected failure of attempt 1 (fail: true)"));
    CHECK(fails_with(run_step("dsl.emit", "{\"_mock\":{\"delay\":1}}", "{}", NULL),
                     "unknown key _mock.\"delay\""));
    CHECK(fails_with(run_step("dsl.emit", "{\"_mock\":3}", "{}", NULL), "_mock must be an object"));
    CHECK(fails_with(run_step("dsl.emit", "{\"_mock\":{\"delay_ms\":-1}}", "{}", NULL),
                     "non-negative integer"));
    r = run_step("dsl.emit", "{\"_mock\":{\"panic\":true}}", "{}", NULL);
    CHECK(fails_with(r, "panicked"));
    CHECK(json_eq(rep_json_get(summary(r, "error"), "code"), "3002"));
    CHECK(strstr(events, "\"cause\":\"panic\"") != NULL);
}

static void a_cancelled_delay_stops_at_once(void)
{
    static char nodes[2048];
    rep_json r;
    snprintf(nodes, sizeof nodes, "[%s]",
             node("slow", "opcua.read", "{\"_mock\":{\"delay_ms\":10000}}", 0, 0, 0));
    ex_reset();
    start(ir(nodes, "[]", 0), "{}");
    ex_advance(5);
    ex_request("Runtime.Cancel", "{\"run_id\":\"r\"}");
    r = run_to_end(1);
    CHECK(status_is(r, "failed"));
    CHECK(fake_now - 1000 < 10);
    CHECK(strstr(events, "cancelled during delay_ms 10000") != NULL);
}

const test_case steps_tests[] = {
    {"steps: opcua.read", opcua_read},
    {"steps: opcua.write echoes", opcua_write_echoes},
    {"steps: policy.apply, the pdl/v0 threshold rule", the_threshold_rule},
    {"steps: without threshold the arm's action applies", without_threshold_the_arm_action_applies},
    {"steps: emit expressions", emit_expressions},
    {"steps: emit expressions nest 16 deep", emit_expressions_nest_sixteen_deep},
    {"steps: policy errors", policy_errors},
    {"steps: with._mock faults", mock_faults},
    {"steps: a cancelled delay stops at once", a_cancelled_delay_stops_at_once},
    {NULL, NULL}};

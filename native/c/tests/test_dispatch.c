/*
 * test_dispatch.c — JSON-RPC 2.0 and the Runtime.* methods: error codes, StartRun's checks in
 * REP order (1001 → 1003 → 1002 → 1004), framing.
 */
#include <stdio.h>
#include <string.h>

#include "rep_internal.h"
#include "test.h"

static const char *node_list1(void);

static rep_json error_code(rep_json response)
{
    return rep_json_get(rep_json_get(response, "error"), "code");
}

static int message_has(rep_json response, const char *text)
{
    char msg[512];
    long n = rep_json_string_decode(rep_json_get(rep_json_get(response, "error"), "message"), msg,
                                    sizeof msg - 1);
    if (n < 0) {
        return 0;
    }
    msg[n] = '\0';
    if (!strstr(msg, text)) {
        fprintf(stderr, "    message \"%s\" lacks \"%s\"\n", msg, text);
        return 0;
    }
    return 1;
}

static void capabilities_and_health(void)
{
    ex_reset();
    CHECK(json_eq(ex_call("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"Runtime.Capabilities\"}"),
                  "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"version\":\"9.9.9\",\"step_kinds\":["
                  "\"dsl.emit\",\"finish\",\"opcua.read\",\"opcua.write\",\"policy.apply\","
                  "\"switch\",\"test.log\",\"test.pending\",\"test.raw\"],"
                  "\"limits\":{\"concurrency\":2}}}"));
    CHECK(json_eq(ex_call("{\"jsonrpc\":\"2.0\",\"id\":\"h\",\"method\":\"Runtime.Health\","
                          "\"params\":{}}"),
                  "{\"jsonrpc\":\"2.0\",\"id\":\"h\",\"result\":{\"ok\":true,\"details\":{\"runs\":0}}}"));
}

static void malformed_requests_get_json_rpc_codes(void)
{
    rep_json r;
    ex_reset();
    r = ex_call("{nope");
    CHECK(json_eq(rep_json_get(r, "id"), "null") && json_eq(error_code(r), "-32700"));
    r = ex_call("42");
    CHECK(json_eq(rep_json_get(r, "id"), "null") && json_eq(error_code(r), "-32600"));
    r = ex_call("[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"Runtime.Health\"}]");
    CHECK(json_eq(error_code(r), "-32600"));
    r = ex_call("{\"jsonrpc\":\"2.0\",\"id\":7}");
    CHECK(json_eq(rep_json_get(r, "id"), "7") && json_eq(error_code(r), "-32600"));
    r = ex_call("{\"jsonrpc\":\"2.0\",\"id\":{},\"method\":\"Runtime.Health\"}");
    CHECK(json_eq(rep_json_get(r, "id"), "null") && json_eq(error_code(r), "-32600"));
    r = ex_call("{\"jsonrpc\":\"1.0\",\"id\":3,\"method\":\"Runtime.Health\"}");
    CHECK(json_eq(rep_json_get(r, "id"), "3") && json_eq(error_code(r), "-32600"));
    r = ex_call("{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"Runtime.Health\",\"params\":1}");
    CHECK(json_eq(error_code(r), "-32600"));
    r = ex_call("{\"jsonrpc\":\"2.0\",\"id\":\"x\\\"y\",\"method\":\"Runtime.Nope\"}");
    CHECK(json_eq(rep_json_get(r, "id"), "\"x\\\"y\"") && json_eq(error_code(r), "-32601"));
    CHECK(message_has(r, "Runtime.Nope"));
    CHECK(ex_call("{\"jsonrpc\":\"2.0\",\"method\":\"Runtime.Health\"}").p == NULL);
    CHECK(ex_call("   \t").p == NULL);
}

static void poll_and_cancel_params(void)
{
    rep_json r;
    ex_reset();
    CHECK(json_eq(error_code(ex_request("Runtime.Poll", "{\"run_id\":5}")), "-32602"));
    CHECK(json_eq(error_code(ex_request("Runtime.Poll", "{}")), "-32602"));
    CHECK(json_eq(error_code(ex_request("Runtime.Cancel", NULL)), "-32602"));
    CHECK(json_eq(error_code(ex_request("Runtime.Poll", "[\"a\",\"b\"]")), "-32602"));
    r = ex_request("Runtime.Poll", "[\"nope\"]");
    CHECK(json_eq(rep_json_get(r, "error"),
                  "{\"code\":1000,\"message\":\"unknown run id \\\"nope\\\"\","
                  "\"data\":{\"retriable\":false}}"));
    CHECK(json_eq(error_code(ex_request("Runtime.Cancel", "{\"run_id\":\"nope\"}")), "1000"));
}

static void start_run_params(void)
{
    const char *valid = ir(node_list1(), "[]", 0);
    static char params[70000];
    ex_reset();
    CHECK(json_eq(error_code(ex_request("Runtime.StartRun", "[]")), "-32602"));
    CHECK(json_eq(error_code(ex_request("Runtime.StartRun", "{}")), "-32602"));
    snprintf(params, sizeof params, "{\"ir\":%s,\"inputs\":[]}", valid);
    CHECK(json_eq(error_code(ex_request("Runtime.StartRun", params)), "-32602"));
    snprintf(params, sizeof params, "{\"ir\":%s,\"options\":{\"run_id\":3}}", valid);
    CHECK(json_eq(error_code(ex_request("Runtime.StartRun", params)), "-32602"));
    snprintf(params, sizeof params, "{\"ir\":%s,\"options\":{\"allow_shell\":null}}", valid);
    CHECK(json_eq(error_code(ex_request("Runtime.StartRun", params)), "-32602"));
    snprintf(params, sizeof params, "{\"ir\":%s,\"options\":7}", valid);
    CHECK(json_eq(error_code(ex_request("Runtime.StartRun", params)), "-32602"));
    snprintf(params, sizeof params, "{\"ir\":%s,\"inputs\":null,\"options\":{\"run_id\":null,"
                                    "\"trace_id\":\"t\",\"allow_shell\":false,\"x\":1}}",
             valid);
    CHECK(json_eq(rep_json_get(ex_request("Runtime.StartRun", params), "result"),
                  "{\"run_id\":\"run-1\"}"));
}

/* StartRun of `ir_text`; returns the response. */
static rep_json start_ir(const char *ir_text)
{
    static char params[70000];
    snprintf(params, sizeof params, "{\"ir\":%s}", ir_text);
    return ex_request("Runtime.StartRun", params);
}

static void version_is_checked_first(void)
{
    static char doc[70000];
    rep_json r;
    ex_reset();
    snprintf(doc, sizeof doc, "%s", ir("[{\"id\":\"a\",\"type\":\"no.such\"}]", "[]", 0));
    memcpy(strstr(doc, "1.0.0"), "2.0.0", 5);
    r = start_ir(doc);
    CHECK(json_eq(error_code(r), "1001"));
    CHECK(message_has(r, "newer major version (2.x)"));
    memcpy(strstr(doc, "2.0.0"), "1.0.1", 5);
    CHECK(message_has(start_ir(doc), "1.0.1 is not supported"));
    CHECK(message_has(start_ir("{\"version\":\"v1\"}"), "not a MAJOR.MINOR.PATCH"));
    CHECK(message_has(start_ir("{\"version\":1}"), "must be a string"));
    CHECK(message_has(start_ir("{}"), "\"version\" is missing"));
    CHECK(message_has(start_ir("[]"), "found an array"));
}

/* The pointer and a piece of the message of a 1003 answer to a variant of a valid IR. */
static int invalid(const char *nodes, const char *edges, const char *pointer, const char *text)
{
    rep_json r = start_ir(ir(nodes, edges, 0));
    rep_json details = rep_json_get(rep_json_get(rep_json_get(r, "error"), "data"), "details");
    rep_json_iter it;
    rep_json first = {NULL, 0};
    rep_json_iter_init(&it, details);
    rep_json_iter_next(&it, NULL, &first);
    if (!json_eq(error_code(r), "1003") ||
        !rep_json_string_equals(rep_json_get(first, "pointer"), pointer, strlen(pointer))) {
        fprintf(stderr, "    expected 1003 at %s\n", pointer);
        json_eq(r, "{}");
        return 0;
    }
    return message_has(r, text);
}

/* One valid node, "a". */
static const char *node_list1(void)
{
    return "[{\"id\":\"a\",\"type\":\"dsl.emit\",\"with\":{},\"timeout_ms\":0,"
           "\"retry\":{\"max\":0,\"backoff_ms\":0}}]";
}

static void invalid_documents_are_1003_with_a_pointer(void)
{
    static char two[4096];
    ex_reset();
    snprintf(two, sizeof two, "[%s,%s]", node("a", "dsl.emit", "{}", 0, 0, 0),
             node("b", "switch", "{\"key_from\":\"x\",\"cases\":{\"k\":\"zz\"}}", 0, 0, 0));
    CHECK(invalid("[]", "[]", "/graph/nodes", "at least 1 item"));
    CHECK(invalid("[{\"type\":\"dsl.emit\",\"with\":{},\"timeout_ms\":0,\"retry\":{\"max\":0,"
                  "\"backoff_ms\":0}}]",
                  "[]", "/graph/nodes/0", "\"id\" is a required property"));
    CHECK(invalid("[{\"id\":\"a b\",\"type\":\"dsl.emit\",\"with\":{},\"timeout_ms\":0,"
                  "\"retry\":{\"max\":0,\"backoff_ms\":0}}]",
                  "[]", "/graph/nodes/0/id", "must match"));
    CHECK(invalid("[{\"id\":\"a\",\"type\":\"\",\"with\":{},\"timeout_ms\":0,"
                  "\"retry\":{\"max\":0,\"backoff_ms\":0}}]",
                  "[]", "/graph/nodes/0/type", "must not be empty"));
    CHECK(invalid("[{\"id\":\"a\",\"type\":\"x\",\"with\":[],\"timeout_ms\":0,"
                  "\"retry\":{\"max\":0,\"backoff_ms\":0}}]",
                  "[]", "/graph/nodes/0/with", "must be an object"));
    CHECK(invalid("[{\"id\":\"a\",\"type\":\"x\",\"with\":{},\"timeout_ms\":1.0,"
                  "\"retry\":{\"max\":0,\"backoff_ms\":0}}]",
                  "[]", "/graph/nodes/0/timeout_ms", "written as an integer"));
    CHECK(invalid("[{\"id\":\"a\",\"type\":\"x\",\"with\":{},\"timeout_ms\":-1,"
                  "\"retry\":{\"max\":0,\"backoff_ms\":0}}]",
                  "[]", "/graph/nodes/0/timeout_ms", "at least 0"));
    CHECK(invalid("[{\"id\":\"a\",\"type\":\"x\",\"with\":{},\"timeout_ms\":2147483648,"
                  "\"retry\":{\"max\":0,\"backoff_ms\":0}}]",
                  "[]", "/graph/nodes/0/timeout_ms", "at most 2147483647"));
    CHECK(invalid("[{\"id\":\"a\",\"type\":\"x\",\"with\":{},\"timeout_ms\":0,"
                  "\"retry\":{\"max\":0,\"backoff_ms\":0,\"jitter\":1}}]",
                  "[]", "/graph/nodes/0/retry", "additional property \"jitter\""));
    CHECK(invalid(two, "[]", "/graph/nodes/1/with/cases/k", "names node \"zz\""));
    snprintf(two, sizeof two, "[%s,%s]", node("a", "dsl.emit", "{}", 0, 0, 0),
             node("a", "dsl.emit", "{}", 0, 0, 0));
    CHECK(invalid(two, "[]", "/graph/nodes/1/id", "duplicate node id"));
    CHECK(invalid(node_list1(), "[{\"from\":\"a\",\"to\":\"b\",\"on\":\"success\"}]",
                  "/graph/edges/0/to", "does not exist"));
    CHECK(invalid(node_list1(), "[{\"from\":\"a\",\"to\":\"a\",\"on\":\"maybe\"}]",
                  "/graph/edges/0/on", "\"success\" or \"failure\""));
    CHECK(invalid(node_list1(), "[{\"from\":\"a\",\"to\":\"a\",\"on\":\"success\",\"case\":1}]",
                  "/graph/edges/0/case", "must be a string"));
    CHECK(invalid(node_list1(), "[{\"from\":\"a\",\"to\":\"a\",\"on\":\"success\"}]", "/graph/edges",
                  "cycle through node \"a\""));
    CHECK(invalid(node_list1(), "{}", "/graph/edges", "must be an array"));
}

static void document_level_rules(void)
{
    static char doc[70000];
    rep_json r;
    ex_reset();
    snprintf(doc, sizeof doc, "%s", ir(node_list1(), "[]", 0));
    memcpy(strstr(doc, "2026-11-20T22"), "2026-02-30T22", 13);
    r = start_ir(doc);
    CHECK(json_eq(error_code(r), "1003") && message_has(r, "RFC 3339"));
    snprintf(doc, sizeof doc, "%s", ir(node_list1(), "[]", 0));
    memcpy(strstr(doc, "\"name\":\"t\""), "\"name\":\" \"", 10);
    CHECK(message_has(start_ir(doc), "/flow/name"));
    snprintf(doc, sizeof doc, "%s", ir(node_list1(), "[]", 0));
    memcpy(strstr(doc, "\"policyRef\":\"p\""), "\"policyRef\":\"\" ", 15);
    CHECK(message_has(start_ir(doc), "/constants/policyRef"));
    snprintf(doc, sizeof doc, "%s", ir(node_list1(), "[]", 0));
    memcpy(strstr(doc, "\"inputs_schema\":{}"), "\"inputs_schema\":0 ", 18);
    CHECK(message_has(start_ir(doc), "/inputs_schema"));
}

static void too_many_nodes_is_1003_naming_the_limit(void)
{
    static char nodes[70000];
    size_t n = 0;
    int i;
    ex_reset();
    n += (size_t)snprintf(nodes, sizeof nodes, "[");
    for (i = 0; i <= REP_MAX_NODES; i++) {
        char id[8];
        snprintf(id, sizeof id, "n%d", i);
        n += (size_t)snprintf(nodes + n, sizeof nodes - n, "%s%s", i ? "," : "",
                              node(id, "dsl.emit", "{}", 0, 0, 0));
    }
    snprintf(nodes + n, sizeof nodes - n, "]");
    CHECK(invalid(nodes, "[]", "/graph/nodes", "REP_MAX_NODES"));
}

static void unknown_kinds_are_1002_after_the_document_checks(void)
{
    static char nodes[4096];
    rep_json r;
    ex_reset();
    snprintf(nodes, sizeof nodes, "[%s,%s,%s]", node("a", "zz.b", "{}", 0, 0, 0),
             node("b", "aa.a", "{}", 0, 0, 0), node("c", "zz.b", "{}", 0, 0, 0));
    r = start_ir(ir(nodes, "[]", 0));
    CHECK(json_eq(rep_json_get(r, "error"),
                  "{\"code\":1002,\"message\":\"unsupported step kind(s): aa.a, zz.b\","
                  "\"data\":{\"retriable\":false,\"details\":{\"missing\":[\"aa.a\",\"zz.b\"]}}}"));
    /* An invalid document with an unknown kind: 1003 first. */
    CHECK(invalid("[{\"id\":\"a\",\"type\":\"zz\",\"with\":{},\"timeout_ms\":0}]", "[]",
                  "/graph/nodes/0", "\"retry\" is a required property"));
}

/* A valid IR declaring `schema` as its inputs_schema. */
static const char *ir_declaring(const char *schema)
{
    static char doc[70000];
    const char *base = ir(node_list1(), "[]", 0);
    const char *at = strstr(base, "\"inputs_schema\":{}");
    snprintf(doc, sizeof doc, "%.*s\"inputs_schema\":%s%s", (int)(at - base), base, schema,
             at + strlen("\"inputs_schema\":{}"));
    return doc;
}

static void inputs_are_checked_against_inputs_schema_1004(void)
{
    const char *schema =
        "{\"endpoint\":{\"type\":\"string\"},\"nodes\":{\"type\":\"list<string>\"},"
        "\"limit\":{\"type\":\"int?\"},\"tags\":{\"type\":\"map<string, bool>\"},"
        "\"odd\":{\"type\":\"Tensor<3>\"},\"meta\":{\"description\":\"not a declaration\"}}";
    const char *doc = ir_declaring(schema);
    rep_json r;
    ex_reset();
    /* Every declared input of its type, extra inputs allowed, an optional one left out. */
    r = start(doc, "{\"endpoint\":\"e\",\"nodes\":[\"a\"],\"tags\":{},\"odd\":5,\"extra\":1}");
    CHECK(json_eq(rep_json_get(r, "result"), "{\"run_id\":\"r\"}"));
    ex_reset();
    r = start(doc, "{\"endpoint\":\"e\",\"nodes\":[\"a\"],\"tags\":{},\"odd\":5,\"limit\":null}");
    CHECK(json_eq(rep_json_get(r, "result"), "{\"run_id\":\"r\"}"));
    ex_reset();
    r = start(doc, "{\"nodes\":[\"a\",7],\"limit\":1.5,\"tags\":{\"a/b\":\"yes\"},\"odd\":5}");
    CHECK(json_eq(rep_json_get(r, "error"),
                  "{\"code\":1004,\"message\":\"invalid inputs: input endpoint (string): "
                  "missing (and 3 more)\",\"data\":{\"retriable\":false,\"details\":["
                  "{\"pointer\":\"/endpoint\",\"input\":\"endpoint\",\"declared\":\"string\","
                  "\"message\":\"missing\"},"
                  "{\"pointer\":\"/nodes/1\",\"input\":\"nodes\",\"declared\":\"list<string>\","
                  "\"message\":\"expected a string, got number 7\"},"
                  "{\"pointer\":\"/limit\",\"input\":\"limit\",\"declared\":\"int?\","
                  "\"message\":\"expected an integer, got number 1.5\"},"
                  "{\"pointer\":\"/tags/a~1b\",\"input\":\"tags\",\"declared\":\"map<string, bool>\","
                  "\"message\":\"expected a boolean, got string \\\"yes\\\"\"}]}}"));
    /* The pointer is in the message when it is deeper than the input. */
    ex_reset();
    r = start(doc, "{\"endpoint\":\"e\",\"nodes\":[[]],\"tags\":{},\"odd\":5}");
    CHECK(message_has(r, "invalid inputs: input nodes (list<string>): /nodes/0: expected a "
                         "string, got a list of 0 items"));
    /* The IR is checked first: an invalid IR with bad inputs is 1003. */
    ex_reset();
    CHECK(json_eq(error_code(start("{\"version\":\"1.0.0\"}", "{}")), "1003"));
}

static void framing(void)
{
    static char line[REP_MAX_FRAME_BYTES + 64];
    const char *health = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"Runtime.Health\"}\r\n";
    size_t i, before;
    ex_reset();
    memset(line, ' ', sizeof line);
    line[sizeof line - 1] = '\n';
    CHECK(rep_feed(&test_executor, line, sizeof line) == 0);
    CHECK(ex_lines() == 1); /* the over-long line: -32600 */
    before = (size_t)ex_lines();
    for (i = 0; health[i]; i++) { /* byte by byte, CRLF */
        CHECK(rep_feed(&test_executor, health + i, 1) == 0);
    }
    CHECK((size_t)ex_lines() == before + 1);
    CHECK(rep_feed(&test_executor, "\n\n", 2) == 0); /* blank lines: no answer */
    CHECK((size_t)ex_lines() == before + 1);
    CHECK(rep_feed(&test_executor, health, strlen(health) - 2) == 0);
    CHECK((size_t)ex_lines() == before + 1);
    CHECK(rep_feed_eof(&test_executor) == 0); /* the last line without '\n' is answered */
    CHECK((size_t)ex_lines() == before + 2);
    memset(line, 'x', sizeof line);
    CHECK(rep_feed(&test_executor, line, sizeof line) == 0);
    CHECK(rep_feed_eof(&test_executor) == 0); /* EOF inside an over-long line */
    CHECK((size_t)ex_lines() == before + 3);
}

static void a_failed_write_is_reported(void)
{
    const char *health = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"Runtime.Health\"}\n";
    ex_reset();
    ex_fail_writes(1);
    CHECK(rep_feed(&test_executor, health, strlen(health)) == -1);
    ex_fail_writes(0);
}

const test_case dispatch_tests[] = {
    {"dispatch: Capabilities and Health", capabilities_and_health},
    {"dispatch: malformed requests get the JSON-RPC codes", malformed_requests_get_json_rpc_codes},
    {"dispatch: Poll and Cancel params, unknown runs", poll_and_cancel_params},
    {"dispatch: StartRun params", start_run_params},
    {"dispatch: the IR version is checked first (1001)", version_is_checked_first},
    {"dispatch: invalid documents are 1003 with a pointer", invalid_documents_are_1003_with_a_pointer},
    {"dispatch: document-level rules", document_level_rules},
    {"dispatch: too many nodes is 1003 naming the limit", too_many_nodes_is_1003_naming_the_limit},
    {"dispatch: unknown kinds are 1002, after 1003", unknown_kinds_are_1002_after_the_document_checks},
    {"dispatch: inputs against inputs_schema are 1004", inputs_are_checked_against_inputs_schema_1004},
    {"dispatch: framing", framing},
    {"dispatch: a failed write is reported", a_failed_write_is_reported},
    {NULL, NULL}};

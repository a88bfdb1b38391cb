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
                  "\"switch\",\"test.handoff\",\"test.log\",\"test.pending\",\"test.raw\"],"
                  "\"limits\":{\"concurrency\":2}}}"));
    CHECK(json_eq(ex_call("{\"jsonrpc\":\"2.0\",\"id\":\"h\",\"method\":\"Runtime.Health\","
                          "\"params\":{}}"),
                  "{\"jsonrpc\":\"2.0\",\"id\":\"h\",\"result\":{\"ok\":true,\"details\":{\"runs\":0}}}"));
}

static void malformed_requests_get_json_rpc_codes(void)
{
    rep_json r;
    ex_reset();
    ex_request("Runtime.Health", NULL); /* past the first request: every line is answered */
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

/* Nested input types are walked on an explicit stack: the deepest type a declaration can
 * spell (20 levels of list<…> in 128 bytes) is checked down to its last level. */
static void deeply_nested_input_types_are_checked(void)
{
    static char schema[512], inputs[512], expected[512];
    size_t n = 0, m = 0, k = 0;
    int i;
    rep_json r;
    n += (size_t)snprintf(schema + n, sizeof schema - n, "{\"v\":{\"type\":\"");
    for (i = 0; i < 20; i++) {
        n += (size_t)snprintf(schema + n, sizeof schema - n, "list<");
    }
    n += (size_t)snprintf(schema + n, sizeof schema - n, "int");
    for (i = 0; i < 20; i++) {
        n += (size_t)snprintf(schema + n, sizeof schema - n, ">");
    }
    snprintf(schema + n, sizeof schema - n, "\"}}");
    m += (size_t)snprintf(inputs + m, sizeof inputs - m, "{\"v\":");
    k += (size_t)snprintf(expected + k, sizeof expected - k, "/v");
    for (i = 0; i < 20; i++) {
        m += (size_t)snprintf(inputs + m, sizeof inputs - m, "[1,");
        k += (size_t)snprintf(expected + k, sizeof expected - k, "/1");
    }
    m += (size_t)snprintf(inputs + m, sizeof inputs - m, "\"x\"");
    for (i = 0; i < 20; i++) {
        m += (size_t)snprintf(inputs + m, sizeof inputs - m, "]");
    }
    snprintf(inputs + m, sizeof inputs - m, "}");
    ex_reset();
    r = start(ir_declaring(schema), inputs);
    CHECK(json_eq(error_code(r), "1004"));
    /* Level 1 holds 1 (not a list): a problem at /v/0; the walk goes on to the bottom. */
    CHECK(message_has(r, "/v/0: expected a list, got number 1 (and 19 more)"));
    {
        static char details[8192];
        rep_json d = rep_json_get(rep_json_get(rep_json_get(r, "error"), "data"), "details");
        CHECK(d.n < sizeof details);
        memcpy(details, d.p, d.n);
        details[d.n] = '\0';
        strcat(expected, "\",\"input\":\"v\"");
        CHECK(strstr(details, expected) != NULL);
        CHECK(strstr(details, "expected an integer, got string \\\"x\\\"") != NULL);
    }
}

static void framing(void)
{
    static char line[REP_MAX_FRAME_BYTES + 64];
    const char *health = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"Runtime.Health\"}\r\n";
    size_t i, before;
    ex_reset();
    ex_request("Runtime.Health", NULL); /* past the first request: every line is answered */
    memset(line, ' ', sizeof line);
    line[sizeof line - 1] = '\n';
    CHECK(rep_feed(&test_executor, line, sizeof line) == REP_OK);
    CHECK(ex_lines() == 2); /* the over-long line: -32600 */
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
    CHECK(rep_feed(&test_executor, health, strlen(health)) == REP_ERR_IO);
    ex_fail_writes(0);
}

/* Noise on the line before the first request (a boot banner, bytes at the wrong speed, a
 * glitch) is dropped and counted, never answered with an `id: null` error; a line that begins
 * like a JSON object is a request and is answered, malformed or not. */
static void noise_before_the_first_request_is_not_answered(void)
{
    static const char noise[] = "\xff\xfe\x00\x13 garbage\r\nfirmware: booting...\n42\n[1]\n"
                                "{nope\n   \x7f{\"jsonrpc\"\n\n";
    static char long_noise[REP_MAX_FRAME_BYTES + 10];
    const char *caps = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"Runtime.Capabilities\"}\n";
    rep_json r;
    ex_reset();
    CHECK(rep_feed(&test_executor, noise, sizeof noise - 1) == REP_OK);
    memset(long_noise, '~', sizeof long_noise);
    long_noise[sizeof long_noise - 1] = '\n';
    CHECK(rep_feed(&test_executor, long_noise, sizeof long_noise) == REP_OK); /* over-long */
    CHECK(ex_lines() == 0);
    CHECK(rep_executor_dropped_bytes(&test_executor) ==
          sizeof noise - 1 - 1 + sizeof long_noise); /* the blank line is not noise */
    CHECK(rep_feed(&test_executor, caps, strlen(caps)) == REP_OK);
    CHECK(ex_lines() == 1);
    /* From now on noise is answered as JSON-RPC 2.0 says. */
    r = ex_call("42");
    CHECK(json_eq(rep_json_get(r, "id"), "null") && json_eq(error_code(r), "-32600"));
    /* A fresh executor: a malformed line that begins like an object is answered (REP-RPC-001
     * of rep-conformance sends one first). */
    ex_reset();
    r = ex_call("{\"jsonrpc\": \"2.0\", \"id\": 1, \"method\": \"Runtime.Capabilities\", ");
    CHECK(json_eq(rep_json_get(r, "id"), "null") && json_eq(error_code(r), "-32700"));
    ex_reset();
    r = ex_call(" {}");
    CHECK(json_eq(error_code(r), "-32600"));
    ex_reset();
    memset(long_noise, ' ', sizeof long_noise);
    memcpy(long_noise, "{\"a\":\"", 6);
    long_noise[sizeof long_noise - 1] = '\n';
    CHECK(rep_feed(&test_executor, long_noise, sizeof long_noise) == REP_OK);
    CHECK(ex_lines() == 1); /* an over-long request: -32600 */
}

/* rep_executor_resync drops everything up to the next newline, across feeds, then serves. */
static void resync_drops_bytes_up_to_the_next_newline(void)
{
    const char *health = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"Runtime.Health\"}\n";
    static const char junk[] = "\x00\xff{\"jsonrpc\":\"2.0\",\"id\":1,";
    ex_reset();
    CHECK(rep_executor_resync(&test_executor) == REP_OK);
    CHECK(rep_feed(&test_executor, junk, sizeof junk - 1) == REP_OK);
    CHECK(rep_feed(&test_executor, health, strlen(health)) == REP_OK); /* glued to the noise */
    CHECK(ex_lines() == 0);
    CHECK(rep_executor_dropped_bytes(&test_executor) == sizeof junk - 1 + strlen(health));
    CHECK(rep_feed(&test_executor, health, strlen(health)) == REP_OK);
    CHECK(ex_lines() == 1);
    /* The host's newline on connecting: nothing is lost after it. */
    ex_reset();
    CHECK(rep_executor_resync(&test_executor) == REP_OK);
    CHECK(rep_feed(&test_executor, "\n", 1) == REP_OK);
    CHECK(rep_feed(&test_executor, health, strlen(health)) == REP_OK);
    CHECK(ex_lines() == 1);
    /* A resync in the middle of a line (a UART framing error) drops that line. */
    CHECK(rep_feed(&test_executor, health, 10) == REP_OK);
    CHECK(rep_executor_resync(&test_executor) == REP_OK);
    CHECK(rep_feed(&test_executor, health + 10, strlen(health) - 10) == REP_OK);
    CHECK(ex_lines() == 1);
    CHECK(rep_feed(&test_executor, health, strlen(health)) == REP_OK);
    CHECK(ex_lines() == 2);
}

static rep_step_result never_called(rep_step *step, rep_json with, rep_writer *out, void *user)
{
    (void)with;
    (void)out;
    (void)user;
    return rep_step_fail(step, 3002, "never called");
}

/* An executor compiled with other limits than the library (another sizeof or layout tag) is
 * refused, and every later call is refused too instead of touching memory. */
static void another_layout_is_refused(void)
{
    static rep_executor ex;
    rep_io io;
    fake_io(&io);
    CHECK(rep_executor_init_checked(&ex, sizeof ex - 8, REP_LAYOUT_TAG, &io, NULL) ==
          REP_ERR_LAYOUT);
    CHECK(rep_executor_init_checked(&ex, sizeof ex, REP_LAYOUT_TAG ^ 1u, &io, NULL) ==
          REP_ERR_LAYOUT);
    CHECK(rep_executor_add_step(&ex, "k", never_called, NULL) == REP_ERR_LAYOUT);
    CHECK(rep_feed(&ex, "\n", 1) == REP_ERR_LAYOUT);
    CHECK(rep_feed_eof(&ex) == REP_ERR_LAYOUT);
    CHECK(rep_handle_line(&ex, "{}", 2) == REP_ERR_LAYOUT);
    CHECK(rep_serve(&ex) == REP_ERR_LAYOUT);
    CHECK(rep_executor_resync(&ex) == REP_ERR_LAYOUT);
    CHECK(rep_idle_ms(&ex, 77) == 77);
    rep_tick(&ex); /* nothing */
    CHECK(strstr(rep_err_str(REP_ERR_LAYOUT), "other limits") != NULL);
    /* The same executor, initialized as the macro does it, works. */
    CHECK(rep_executor_init(&ex, &io, NULL) == REP_OK);
    CHECK(rep_executor_add_step(&ex, "k", never_called, NULL) == REP_OK);
    CHECK(rep_serve(&ex) == REP_OK); /* EOF at once */
    io.write = NULL;
    CHECK(rep_executor_init(&ex, &io, NULL) == REP_ERR_ARG);
    CHECK(rep_feed(&ex, "\n", 1) == REP_ERR_LAYOUT);
}

static void registration_errors(void)
{
    int i;
    char names[REP_MAX_KINDS + 1][16];
    ex_reset();
    CHECK(rep_executor_add_step(&test_executor, "", never_called, NULL) == REP_ERR_ARG);
    CHECK(rep_executor_add_step(&test_executor, NULL, never_called, NULL) == REP_ERR_ARG);
    CHECK(rep_executor_add_step(&test_executor, "k", NULL, NULL) == REP_ERR_ARG);
    for (i = 0; i <= REP_MAX_KINDS; i++) {
        snprintf(names[i], sizeof names[i], "k%d", i);
        if (rep_executor_add_step(&test_executor, names[i], never_called, NULL) != REP_OK) {
            break;
        }
    }
    CHECK(rep_executor_add_step(&test_executor, "one.more", never_called, NULL) == REP_ERR_FULL);
    for (i = REP_ERR_BUSY; i <= REP_OK; i++) {
        CHECK(rep_err_str((rep_err)i) != NULL && strncmp(rep_err_str((rep_err)i), "REP_", 4) == 0);
    }
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
    {"dispatch: deeply nested input types are checked", deeply_nested_input_types_are_checked},
    {"dispatch: framing", framing},
    {"dispatch: a failed write is reported", a_failed_write_is_reported},
    {"dispatch: noise before the first request is not answered", noise_before_the_first_request_is_not_answered},
    {"dispatch: resync drops bytes up to the next newline", resync_drops_bytes_up_to_the_next_newline},
    {"dispatch: an executor of another layout is refused", another_layout_is_refused},
    {"dispatch: registration errors", registration_errors},
    {NULL, NULL}};

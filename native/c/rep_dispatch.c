/*
 * rep_dispatch.c — framing, JSON-RPC 2.0 and the Runtime.* methods (REP v0.1 §1, §3, §5), and
 * the serve loop.
 *
 * Malformed frames get the JSON-RPC 2.0 codes: -32700 (not JSON), -32600 (not a request
 * object, or longer than REP_MAX_FRAME_BYTES), -32601 (unknown method), -32602 (bad params).
 * StartRun checks the IR's version (1001), then the document (1003), then the step kinds
 * (1002), then the inputs (1004); a StartRun that does not fit a limit (run slots, document
 * bytes) is refused with 3003. Poll and Cancel of an unknown run id answer 1000.
 *
 * Line noise: before the first line that begins like a JSON object, other lines are dropped
 * and counted, never answered (an `id: null` error would end the host's session), and
 * rep_executor_resync drops bytes up to the next newline.
 */
#include <string.h>

#include "rep_internal.h"

static const rep_json NO_ID = {"null", 4};

/* Whether `ex` may be used now: initialized with this library's layout, and not from inside
 * one of its step handlers. */
static rep_err usable(const rep_executor *ex)
{
    if (ex == NULL || ex->layout_tag != REP_LAYOUT_TAG) {
        return REP_ERR_LAYOUT;
    }
    return ex->in_handler ? REP_ERR_BUSY : REP_OK;
}

/* REP_ERR_IO once a response could not be written. */
static rep_err io_status(const rep_executor *ex)
{
    return ex->write_failed ? REP_ERR_IO : REP_OK;
}

/* ---- responses ---- */

static int flush_io(void *ctx, const char *bytes, size_t n)
{
    rep_executor *ex = (rep_executor *)ctx;
    if (ex->write_failed) {
        return -1;
    }
    if (ex->io.write(ex->io.ctx, bytes, n) != 0) {
        ex->write_failed = 1;
        return -1;
    }
    return 0;
}

/* Starts a response with `id`: `{"jsonrpc":"2.0","id":<id>,` then "result" or "error". */
static void response_begin(rep_executor *ex, rep_writer *w, rep_json id, const char *member)
{
    rep_writer_init(w, ex->out_buf, sizeof ex->out_buf);
    w->flush = flush_io;
    w->flush_ctx = ex;
    rep_w_begin_object(w);
    rep_w_key(w, "jsonrpc");
    rep_w_string(w, "2.0");
    rep_w_key(w, "id");
    rep_w_value(w, id);
    rep_w_key(w, member);
}

static int response_end(rep_writer *w)
{
    rep_w_end_object(w);
    rep_w_raw(w, "\n", 1);
    return rep_w_flush(w) == REP_OK ? 0 : -1;
}

/* Starts an error response: `{"code": code, "message": "` — the caller writes the message's
 * escaped text, then ends it with a closing quote or validation_data_begin. */
static void error_begin(rep_executor *ex, rep_writer *w, rep_json id, int32_t code)
{
    response_begin(ex, w, id, "error");
    rep_w_begin_object(w);
    rep_w_key(w, "code");
    rep_w_int(w, code);
    rep_w_key(w, "message");
    rep_w_item(w);
    rep_w_raw(w, "\"", 1);
}

/* Ends the message and opens `"data": {"retriable": false` (Validation errors, 1xxx); the
 * caller adds members, then closes data and the error with two rep_w_end_object. */
static void validation_data_begin(rep_writer *w)
{
    rep_w_raw(w, "\"", 1);
    rep_w_key(w, "data");
    rep_w_begin_object(w);
    rep_w_key(w, "retriable");
    rep_w_bool(w, 0);
}

/* An error response whose message is `a` followed by the `bn` bytes at `b` (may be NULL). */
static int error_response(rep_executor *ex, rep_json id, int32_t code, const char *a,
                          const char *b, size_t bn)
{
    rep_writer w;
    error_begin(ex, &w, id, code);
    rep_w_escaped(&w, a, strlen(a), REP_MAX_MESSAGE_BYTES);
    if (b) {
        rep_w_escaped(&w, b, bn, REP_MAX_MESSAGE_BYTES);
    }
    if (code >= 1000 && code <= 1999) {
        validation_data_begin(&w);
        rep_w_end_object(&w);
    } else {
        rep_w_raw(&w, "\"", 1);
    }
    rep_w_end_object(&w);
    return response_end(&w);
}

/* 3003: a limit of this executor is reached — `{code, message, data: {retriable, details:
 * {limit}}}` (RuntimeInternal, out of resources). */
static int resources_error(rep_executor *ex, rep_json id, const char *limit, bool retriable,
                           const char *message)
{
    rep_writer w;
    error_begin(ex, &w, id, REP_RESOURCES);
    rep_w_escaped(&w, message, strlen(message), REP_MAX_MESSAGE_BYTES);
    rep_w_raw(&w, "\"", 1);
    rep_w_key(&w, "data");
    rep_w_begin_object(&w);
    rep_w_key(&w, "retriable");
    rep_w_bool(&w, retriable);
    rep_w_key(&w, "details");
    rep_w_begin_object(&w);
    rep_w_key(&w, "limit");
    rep_w_string(&w, limit);
    rep_w_end_object(&w);
    rep_w_end_object(&w);
    rep_w_end_object(&w);
    return response_end(&w);
}

/* ---- methods ---- */

static int capabilities(rep_executor *ex, rep_json id)
{
    const char *names[REP_MAX_KINDS + 2];
    size_t n = 0, i, j;
    int have_switch = 0, have_finish = 0;
    rep_writer w;
    for (i = 0; i < ex->kind_count; i++) {
        names[n++] = ex->kinds[i].name;
        have_switch |= strcmp(ex->kinds[i].name, "switch") == 0;
        have_finish |= strcmp(ex->kinds[i].name, "finish") == 0;
    }
    if (!have_switch) {
        names[n++] = "switch";
    }
    if (!have_finish) {
        names[n++] = "finish";
    }
    for (i = 1; i < n; i++) {
        const char *k = names[i];
        for (j = i; j > 0 && strcmp(names[j - 1], k) > 0; j--) {
            names[j] = names[j - 1];
        }
        names[j] = k;
    }
    response_begin(ex, &w, id, "result");
    rep_w_begin_object(&w);
    rep_w_key(&w, "version");
    rep_w_string(&w, ex->version);
    rep_w_key(&w, "step_kinds");
    rep_w_begin_array(&w);
    for (i = 0; i < n; i++) {
        rep_w_string(&w, names[i]);
    }
    rep_w_end_array(&w);
    rep_w_key(&w, "limits");
    rep_w_begin_object(&w);
    rep_w_key(&w, "concurrency");
    rep_w_int(&w, REP_CONCURRENCY);
    rep_w_end_object(&w);
    rep_w_end_object(&w);
    return response_end(&w);
}

static int health(rep_executor *ex, rep_json id)
{
    rep_writer w;
    int i, runs = 0;
    for (i = 0; i < REP_MAX_RUNS; i++) {
        runs += ex->runs[i].used;
    }
    response_begin(ex, &w, id, "result");
    rep_w_begin_object(&w);
    rep_w_key(&w, "ok");
    rep_w_bool(&w, 1);
    rep_w_key(&w, "details");
    rep_w_begin_object(&w);
    rep_w_key(&w, "runs");
    rep_w_int(&w, runs);
    rep_w_end_object(&w);
    rep_w_end_object(&w);
    return response_end(&w);
}

/* The run whose id (a JSON string) equals `run_id`, or NULL. */
static rep_run *find_run(rep_executor *ex, rep_json run_id)
{
    int i;
    for (i = 0; i < REP_MAX_RUNS; i++) {
        rep_run *run = &ex->runs[i];
        rep_json id;
        id.p = run->id;
        id.n = run->id_len;
        if (run->used && rep_json_strings_equal(id, run_id)) {
            return run;
        }
    }
    return NULL;
}

/* `{run_id}` (or `[run_id]`) → the run id string, or an error response sent (-1). */
static int run_id_param(rep_executor *ex, rep_json id, rep_json params, rep_json *run_id)
{
    rep_json v = {NULL, 0};
    if (rep_json_typeof(params) == REP_JSON_OBJECT) {
        v = rep_json_get(params, "run_id");
    } else {
        rep_json_iter it;
        rep_json item;
        int count = 0;
        rep_json_iter_init(&it, params);
        while (rep_json_iter_next(&it, NULL, &item)) {
            if (count++ == 0) {
                v = item;
            }
        }
        if (count > 1) {
            return error_response(ex, id, REP_INVALID_PARAMS,
                                  "Invalid params: expected one element, [run_id]", NULL, 0) == 0
                       ? -1
                       : -2;
        }
    }
    if (rep_json_typeof(v) == REP_JSON_MISSING) {
        return error_response(ex, id, REP_INVALID_PARAMS,
                              "Invalid params: missing field `run_id`", NULL, 0) == 0
                   ? -1
                   : -2;
    }
    if (rep_json_typeof(v) != REP_JSON_STRING) {
        return error_response(ex, id, REP_INVALID_PARAMS,
                              "Invalid params: `run_id` must be a string, found ", v.p,
                              v.n > 40 ? 40 : v.n) == 0
                   ? -1
                   : -2;
    }
    *run_id = v;
    return 0;
}

static int unknown_run(rep_executor *ex, rep_json id, rep_json run_id)
{
    return error_response(ex, id, REP_UNKNOWN_RUN, "unknown run id ", run_id.p,
                          run_id.n > 140 ? 140 : run_id.n);
}

/* The run named by Poll's or Cancel's params, or NULL with the error answered (`*status` 0, or
 * -1 when the answer could not be written). */
static rep_run *named_run(rep_executor *ex, rep_json id, rep_json params, int *status)
{
    rep_json run_id;
    rep_run *run;
    int r = run_id_param(ex, id, params, &run_id);
    if (r != 0) {
        *status = r == -1 ? 0 : -1;
        return NULL;
    }
    run = find_run(ex, run_id);
    if (!run) {
        *status = unknown_run(ex, id, run_id);
    }
    return run;
}

static int poll(rep_executor *ex, rep_json id, rep_json params)
{
    rep_writer w;
    int status = 0;
    rep_run *run = named_run(ex, id, params, &status);
    if (!run) {
        return status;
    }
    rep_run_tick(ex, run);
    response_begin(ex, &w, id, "result");
    rep_run_poll(ex, run, &w);
    return response_end(&w);
}

static int cancel(rep_executor *ex, rep_json id, rep_json params)
{
    rep_writer w;
    int status = 0;
    rep_run *run = named_run(ex, id, params, &status);
    if (!run) {
        return status;
    }
    rep_run_cancel(ex, run);
    response_begin(ex, &w, id, "result");
    rep_w_begin_object(&w);
    rep_w_key(&w, "ok");
    rep_w_bool(&w, 1);
    rep_w_end_object(&w);
    return response_end(&w);
}

/* 1004: "invalid inputs: <the first problem> (and N more)", every problem in data.details. */
static int inputs_error(rep_executor *ex, rep_json id, rep_json inputs_schema, rep_json inputs,
                        int count, const rep_ir_problem *first)
{
    rep_writer w;
    error_begin(ex, &w, id, REP_INVALID_INPUTS);
    rep_w_raw(&w, "invalid inputs: ", 16);
    rep_w_escaped(&w, first->message, first->message_len, REP_MAX_MESSAGE_BYTES);
    if (count > 1) {
        rep_w_raw(&w, " (and ", 6);
        rep_w_u64_raw(&w, (uint64_t)(count - 1));
        rep_w_raw(&w, " more)", 6);
    }
    validation_data_begin(&w);
    rep_w_key(&w, "details");
    rep_inputs_details(ex->inputs_stack, inputs_schema, inputs, &w);
    rep_w_end_object(&w);
    rep_w_end_object(&w);
    return response_end(&w);
}

/* The error of a refused IR: {code, message, data: {retriable: false, details}}. */
static int ir_error(rep_executor *ex, rep_json id, rep_json ir, const rep_ir_problem *pr)
{
    rep_writer w;
    error_begin(ex, &w, id, pr->code);
    if (pr->code == REP_INVALID_IR) {
        rep_w_raw(&w, "invalid Flow IR: ", 17);
        if (pr->pointer_len == 0) {
            rep_w_raw(&w, "/", 1);
        }
        rep_w_escaped(&w, pr->pointer, pr->pointer_len, REP_MAX_MESSAGE_BYTES);
        rep_w_raw(&w, ": ", 2);
    }
    rep_w_escaped(&w, pr->message, pr->message_len, REP_MAX_MESSAGE_BYTES);
    validation_data_begin(&w);
    rep_w_key(&w, "details");
    if (pr->code == REP_UNSUPPORTED_STEP_KIND) {
        const rep_graph *g = &ex->staging;
        uint16_t i;
        rep_w_begin_object(&w);
        rep_w_key(&w, "missing");
        rep_w_begin_array(&w);
        for (i = 0; i < pr->missing_count; i++) {
            rep_json node;
            node.p = ir.p + g->nodes[pr->missing[i]].off;
            node.n = g->nodes[pr->missing[i]].len;
            rep_w_value(&w, rep_json_get(node, "type"));
        }
        rep_w_end_array(&w);
        rep_w_end_object(&w);
    } else {
        rep_w_begin_array(&w);
        rep_w_begin_object(&w);
        rep_w_key(&w, "pointer");
        rep_w_string_n(&w, pr->pointer, pr->pointer_len);
        rep_w_key(&w, "message");
        rep_w_string_n(&w, pr->message, pr->message_len);
        rep_w_end_object(&w);
        rep_w_end_array(&w);
    }
    rep_w_end_object(&w);
    rep_w_end_object(&w);
    return response_end(&w);
}

/* A slot for a new run: a free one, else the oldest finished one; NULL when all run. */
static rep_run *take_slot(rep_executor *ex)
{
    rep_run *oldest = NULL;
    int i;
    for (i = 0; i < REP_MAX_RUNS; i++) {
        rep_run *run = &ex->runs[i];
        if (!run->used) {
            return run;
        }
        if (rep_run_final(run) && (!oldest || run->seq < oldest->seq)) {
            oldest = run;
        }
    }
    return oldest;
}

static int start_run(rep_executor *ex, rep_json id, rep_json params)
{
    static const char empty_object[] = "{}";
    rep_json ir, inputs, options, run_id = {NULL, 0};
    rep_ir_problem problem;
    int problems;
    rep_run *run;
    char generated[24];
    rep_writer w;
    if (rep_json_typeof(params) != REP_JSON_OBJECT) {
        return error_response(ex, id, REP_INVALID_PARAMS,
                              "Invalid params: params must be an object", NULL, 0);
    }
    ir = rep_json_get(params, "ir");
    if (rep_json_typeof(ir) == REP_JSON_MISSING) {
        return error_response(ex, id, REP_INVALID_PARAMS, "Invalid params: missing field `ir`",
                              NULL, 0);
    }
    inputs = rep_json_get(params, "inputs");
    if (rep_json_typeof(inputs) == REP_JSON_MISSING || rep_json_typeof(inputs) == REP_JSON_NULL) {
        inputs.p = empty_object;
        inputs.n = 2;
    } else if (rep_json_typeof(inputs) != REP_JSON_OBJECT) {
        return error_response(ex, id, REP_INVALID_PARAMS,
                              "Invalid params: `inputs` must be an object", NULL, 0);
    }
    options = rep_json_get(params, "options");
    if (rep_json_typeof(options) == REP_JSON_OBJECT) {
        rep_json v = rep_json_get(options, "run_id");
        if (rep_json_typeof(v) == REP_JSON_STRING) {
            run_id = v;
        } else if (rep_json_typeof(v) != REP_JSON_MISSING && rep_json_typeof(v) != REP_JSON_NULL) {
            return error_response(ex, id, REP_INVALID_PARAMS,
                                  "Invalid params: `options`: run_id must be a string", NULL, 0);
        }
        v = rep_json_get(options, "trace_id");
        if (rep_json_typeof(v) != REP_JSON_MISSING && rep_json_typeof(v) != REP_JSON_NULL &&
            rep_json_typeof(v) != REP_JSON_STRING) {
            return error_response(ex, id, REP_INVALID_PARAMS,
                                  "Invalid params: `options`: trace_id must be a string", NULL, 0);
        }
        v = rep_json_get(options, "allow_shell");
        if (rep_json_typeof(v) != REP_JSON_MISSING && rep_json_typeof(v) != REP_JSON_BOOL) {
            return error_response(ex, id, REP_INVALID_PARAMS,
                                  "Invalid params: `options`: allow_shell must be a boolean", NULL,
                                  0);
        }
    } else if (rep_json_typeof(options) != REP_JSON_MISSING &&
               rep_json_typeof(options) != REP_JSON_NULL) {
        return error_response(ex, id, REP_INVALID_PARAMS,
                              "Invalid params: `options` must be an object", NULL, 0);
    }
    if (run_id.p && run_id.n > REP_MAX_RUN_ID_BYTES) {
        return error_response(ex, id, REP_INVALID_PARAMS,
                              "Invalid params: `options`: run_id is longer than this executor's "
                              "limit REP_MAX_RUN_ID_BYTES",
                              NULL, 0);
    }
    if (rep_ir_check(ex, ir, &ex->staging, &problem) != 0) {
        return ir_error(ex, id, ir, &problem);
    }
    problems = rep_inputs_check(ex->inputs_stack, rep_json_get(ir, "inputs_schema"), inputs,
                                problem.message, sizeof problem.message, &problem.message_len);
    if (problems > 0) {
        return inputs_error(ex, id, rep_json_get(ir, "inputs_schema"), inputs, problems,
                            &problem);
    }
    if (!run_id.p) {
        rep_writer_init(&w, generated, sizeof generated);
        rep_w_raw(&w, "\"run-", 5);
        rep_w_u64_raw(&w, (uint64_t)ex->run_seq + 1);
        rep_w_raw(&w, "\"", 1);
        run_id.p = generated;
        run_id.n = w.len;
    }
    if (find_run(ex, run_id)) {
        return error_response(ex, id, REP_UNKNOWN_RUN, "run id is already in use: ", run_id.p,
                              run_id.n);
    }
    if (ir.n + inputs.n > REP_RUN_DOC_BYTES) {
        return resources_error(ex, id, "REP_RUN_DOC_BYTES", false,
                               "out of resources: the IR and inputs are larger than this "
                               "executor's limit REP_RUN_DOC_BYTES");
    }
    run = take_slot(ex);
    if (!run) {
        return resources_error(ex, id, "REP_MAX_RUNS", true,
                               "out of resources: every run slot is busy (this executor keeps "
                               "REP_MAX_RUNS runs; one frees when a run ends)");
    }
    run->used = 1;
    run->seq = ++ex->run_seq;
    (void)memcpy(run->id, run_id.p, run_id.n);
    run->id_len = (uint16_t)run_id.n;
    (void)memcpy(run->doc, ir.p, ir.n);
    (void)memcpy(run->doc + ir.n, inputs.p, inputs.n);
    run->doc_len = ir.n + inputs.n;
    run->ir.p = run->doc;
    run->ir.n = ir.n;
    run->inputs.p = run->doc + ir.n;
    run->inputs.n = inputs.n;
    (void)memcpy(&run->graph, &ex->staging, sizeof run->graph);
    rep_run_start(ex, run);
    response_begin(ex, &w, id, "result");
    rep_w_begin_object(&w);
    rep_w_key(&w, "run_id");
    rep_w_value(&w, run_id);
    rep_w_end_object(&w);
    return response_end(&w);
}

/* ---- requests ---- */

static bool is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f';
}

/* How far the start of a line looks like a JSON object: `{`, blanks, then `"` or `}`. */
enum { LOOKS_UNSURE, LOOKS_AFTER_BRACE, LOOKS_OBJECT, LOOKS_NOISE };

/* Advances `state` over the `n` bytes at `p`. */
static int looks_like_object(int state, const char *p, size_t n)
{
    size_t i;
    for (i = 0; i < n && (state == LOOKS_UNSURE || state == LOOKS_AFTER_BRACE); i++) {
        if (is_blank(p[i])) {
            continue;
        }
        if (state == LOOKS_UNSURE) {
            state = p[i] == '{' ? LOOKS_AFTER_BRACE : LOOKS_NOISE;
        } else {
            state = (p[i] == '"' || p[i] == '}') ? LOOKS_OBJECT : LOOKS_NOISE;
        }
    }
    return state;
}

/* Answers one request line. Returns 0, or -1 after a write error. */
static int handle_line(rep_executor *ex, const char *line, size_t n)
{
    rep_json req, id, jsonrpc, method, params;
    rep_json_type idt;
    size_t at = 0;
    const char *why = "";
    int has_id;
    if (rep_json_parse(line, n, &req, &at, &why) != 0) {
        char msg[96];
        rep_writer w;
        rep_writer_init(&w, msg, sizeof msg);
        rep_w_raw(&w, why, strlen(why));
        rep_w_raw(&w, " at byte ", 9);
        rep_w_u64_raw(&w, at);
        (void)error_response(ex, NO_ID, REP_PARSE_ERROR, "Parse error: ", msg, w.len);
        return ex->write_failed ? -1 : 0;
    }
    if (rep_json_typeof(req) != REP_JSON_OBJECT) {
        (void)error_response(ex, NO_ID, REP_INVALID_REQUEST,
                             "Invalid Request: a request must be a JSON object "
                             "(batches are not used)",
                             NULL, 0);
        return ex->write_failed ? -1 : 0;
    }
    id = rep_json_get(req, "id");
    idt = rep_json_typeof(id);
    has_id = idt != REP_JSON_MISSING;
    if (has_id && idt != REP_JSON_NUMBER && idt != REP_JSON_STRING && idt != REP_JSON_NULL) {
        (void)error_response(ex, NO_ID, REP_INVALID_REQUEST,
                             "Invalid Request: id must be a string, a number or null", NULL, 0);
        return ex->write_failed ? -1 : 0;
    }
    if (!has_id) {
        id = NO_ID;
    }
    jsonrpc = rep_json_get(req, "jsonrpc");
    if (!rep_json_string_equals(jsonrpc, "2.0", 3)) {
        (void)error_response(ex, id, REP_INVALID_REQUEST,
                             "Invalid Request: jsonrpc must be \"2.0\"",
                             NULL, 0);
        return ex->write_failed ? -1 : 0;
    }
    method = rep_json_get(req, "method");
    if (rep_json_typeof(method) != REP_JSON_STRING) {
        (void)error_response(ex, id, REP_INVALID_REQUEST,
                             "Invalid Request: method must be a string",
                             NULL, 0);
        return ex->write_failed ? -1 : 0;
    }
    params = rep_json_get(req, "params");
    if (rep_json_typeof(params) == REP_JSON_MISSING) {
        params.p = "{}";
        params.n = 2;
    } else if (rep_json_typeof(params) != REP_JSON_OBJECT &&
               rep_json_typeof(params) != REP_JSON_ARRAY) {
        (void)error_response(ex, id, REP_INVALID_REQUEST,
                             "Invalid Request: params must be an object or an array", NULL, 0);
        return ex->write_failed ? -1 : 0;
    }
    if (!has_id) {
        return 0; /* a notification: REP v0.1 uses none, and none is answered */
    }
    if (rep_json_string_equals(method, "Runtime.Capabilities", 20)) {
        (void)capabilities(ex, id);
    } else if (rep_json_string_equals(method, "Runtime.StartRun", 16)) {
        (void)start_run(ex, id, params);
    } else if (rep_json_string_equals(method, "Runtime.Poll", 12)) {
        (void)poll(ex, id, params);
    } else if (rep_json_string_equals(method, "Runtime.Cancel", 14)) {
        (void)cancel(ex, id, params);
    } else if (rep_json_string_equals(method, "Runtime.Health", 14)) {
        (void)health(ex, id);
    } else {
        char name[64];
        long len = rep_json_string_decode(method, name, sizeof name);
        if (len < 0) {
            (void)error_response(ex, id, REP_METHOD_NOT_FOUND, "Method not found", NULL, 0);
        } else {
            (void)error_response(ex, id, REP_METHOD_NOT_FOUND, "Method not found: ", name,
                                 (size_t)len);
        }
    }
    return ex->write_failed ? -1 : 0;
}

/* A complete line (without '\n'; `raw` bytes received with it): blank lines get no answer,
 * noise before the first object is dropped, anything else is answered. Returns 0, or -1
 * after a write error. */
static int line_in(rep_executor *ex, const char *line, size_t n, size_t raw)
{
    size_t i = 0;
    while (i < n && is_blank(line[i])) {
        i++;
    }
    if (i == n) {
        return 0;
    }
    if (!ex->synced) {
        if (looks_like_object(LOOKS_UNSURE, line, n) != LOOKS_OBJECT) {
            ex->dropped_bytes += raw;
            return 0;
        }
        ex->synced = 1;
    }
    return handle_line(ex, line, n);
}

/* ---- framing ---- */

static int too_long(rep_executor *ex, size_t len)
{
    char msg[96];
    rep_writer w;
    if (ex->discarding_noise) {
        ex->dropped_bytes += len + 1;
        return 0;
    }
    rep_writer_init(&w, msg, sizeof msg);
    rep_w_raw(&w, "request of ", 11);
    rep_w_u64_raw(&w, len);
    rep_w_raw(&w, " bytes exceeds the limit of ", 28);
    rep_w_u64_raw(&w, REP_MAX_FRAME_BYTES);
    rep_w_raw(&w, " bytes", 6);
    (void)error_response(ex, NO_ID, REP_INVALID_REQUEST, "Invalid Request: ", msg, w.len);
    return ex->write_failed ? -1 : 0;
}

static int complete_line(rep_executor *ex)
{
    size_t n = ex->line_len, raw = n + 1;
    ex->line_len = 0;
    if (n > 0 && ex->line[n - 1] == '\r') {
        n--;
    }
    return line_in(ex, ex->line, n, raw);
}

/* The start of a line that is too long to keep: its answer is an error unless it is noise
 * before the first object. */
static void start_discarding(rep_executor *ex, const char *chunk, size_t chunk_n)
{
    int state = looks_like_object(LOOKS_UNSURE, ex->line, ex->line_len);
    state = looks_like_object(state, chunk, chunk_n);
    ex->discarding_noise = (uint8_t)(!ex->synced && state != LOOKS_OBJECT);
    if (!ex->discarding_noise) {
        ex->synced = 1;
    }
    ex->discarding = ex->line_len + chunk_n;
    ex->line_len = 0;
}

static int feed(rep_executor *ex, const char *bytes, size_t n)
{
    if (ex->resyncing && n > 0) {
        const char *nl = memchr(bytes, '\n', n);
        size_t drop = nl ? (size_t)(nl - bytes) + 1 : n;
        ex->dropped_bytes += drop;
        ex->resyncing = (uint8_t)(nl == NULL);
        bytes += drop;
        n -= drop;
    }
    while (n > 0) {
        const char *nl = memchr(bytes, '\n', n);
        size_t chunk = nl ? (size_t)(nl - bytes) : n;
        if (ex->discarding > 0) {
            ex->discarding += chunk;
            if (nl && too_long(ex, ex->discarding) != 0) {
                return -1;
            }
            if (nl) {
                ex->discarding = 0;
            }
        } else if (ex->line_len + chunk > REP_MAX_FRAME_BYTES) {
            start_discarding(ex, bytes, chunk);
            if (nl) {
                if (too_long(ex, ex->discarding) != 0) {
                    return -1;
                }
                ex->discarding = 0;
            }
        } else {
            (void)memcpy(ex->line + ex->line_len, bytes, chunk);
            ex->line_len += chunk;
            if (nl && complete_line(ex) != 0) {
                return -1;
            }
        }
        if (!nl) {
            break;
        }
        bytes += chunk + 1;
        n -= chunk + 1;
    }
    return ex->write_failed ? -1 : 0;
}

static int feed_eof(rep_executor *ex)
{
    if (ex->resyncing) {
        ex->dropped_bytes += ex->line_len;
        ex->line_len = 0;
        return ex->write_failed ? -1 : 0;
    }
    if (ex->discarding > 0) {
        size_t len = ex->discarding;
        ex->discarding = 0;
        return too_long(ex, len);
    }
    if (ex->line_len > 0) {
        return complete_line(ex);
    }
    return ex->write_failed ? -1 : 0;
}

rep_err rep_feed(rep_executor *ex, const char *bytes, size_t n)
{
    rep_err err = usable(ex);
    if (err != REP_OK) {
        return err;
    }
    if (bytes == NULL && n > 0) {
        return REP_ERR_ARG;
    }
    (void)feed(ex, bytes, n);
    return io_status(ex);
}

rep_err rep_feed_eof(rep_executor *ex)
{
    rep_err err = usable(ex);
    if (err != REP_OK) {
        return err;
    }
    (void)feed_eof(ex);
    return io_status(ex);
}

rep_err rep_handle_line(rep_executor *ex, const char *line, size_t n)
{
    rep_err err = usable(ex);
    if (err != REP_OK) {
        return err;
    }
    if (line == NULL && n > 0) {
        return REP_ERR_ARG;
    }
    (void)line_in(ex, line, n, n);
    return io_status(ex);
}

rep_err rep_executor_wake(rep_executor *ex)
{
    int i;
    rep_err err = usable(ex);
    if (err != REP_OK) {
        return err;
    }
    for (i = 0; i < REP_MAX_RUNS; i++) {
        if (ex->runs[i].used) {
            rep_run_wake(&ex->runs[i]);
        }
    }
    return REP_OK;
}

rep_err rep_executor_resync(rep_executor *ex)
{
    rep_err err = usable(ex);
    if (err != REP_OK) {
        return err;
    }
    ex->dropped_bytes += ex->line_len + ex->discarding;
    ex->line_len = 0;
    ex->discarding = 0;
    ex->resyncing = 1;
    return REP_OK;
}

uint64_t rep_executor_dropped_bytes(const rep_executor *ex)
{
    if (ex == NULL || ex->layout_tag != REP_LAYOUT_TAG) {
        return 0;
    }
    return ex->dropped_bytes;
}

/* ---- the executor ---- */

rep_err rep_executor_init_checked(rep_executor *ex, size_t size, uint32_t layout_tag,
                                  const rep_io *io, const char *version)
{
    int i;
    if (ex == NULL) {
        return REP_ERR_ARG;
    }
    if (size != sizeof(rep_executor) || layout_tag != REP_LAYOUT_TAG) {
        /* The caller's layout is not ours: only the first field is common to both. */
        if (size >= sizeof ex->layout_tag) {
            ex->layout_tag = 0;
        }
        return REP_ERR_LAYOUT;
    }
    ex->layout_tag = 0;
    if (io == NULL || io->write == NULL || io->now_ms == NULL) {
        return REP_ERR_ARG;
    }
    /* Only the control fields: the buffers (megabytes on Linux) are written before they are
     * read, and leaving them alone keeps untouched static pages unmapped. */
    ex->in_handler = 0;
    ex->synced = 0;
    ex->resyncing = 0;
    ex->kind_count = 0;
    ex->run_seq = 0;
    ex->line_len = 0;
    ex->discarding = 0;
    ex->discarding_noise = 0;
    ex->write_failed = 0;
    ex->dropped_bytes = 0;
    ex->epoch_unix_ms = 0;
    ex->io = *io;
    ex->version = version ? version : REP_EXECUTOR_VERSION;
    ex->epoch_mono_ms = rep_now(ex);
    for (i = 0; i < REP_MAX_RUNS; i++) {
        ex->runs[i].used = 0;
        ex->runs[i].merged_index_clean = 0; /* cleared when a run first uses it */
        ex->runs[i].merged_count = 0;
    }
    ex->layout_tag = REP_LAYOUT_TAG;
    return REP_OK;
}

rep_err rep_executor_add_step(rep_executor *ex, const char *kind, rep_step_fn fn, void *user)
{
    uint16_t i;
    rep_err err = usable(ex);
    if (err != REP_OK) {
        return err;
    }
    if (kind == NULL || kind[0] == '\0' || fn == NULL) {
        return REP_ERR_ARG;
    }
    for (i = 0; i < ex->kind_count; i++) {
        if (strcmp(ex->kinds[i].name, kind) == 0) {
            ex->kinds[i].fn = fn;
            ex->kinds[i].user = user;
            return REP_OK;
        }
    }
    if (ex->kind_count >= REP_MAX_KINDS) {
        return REP_ERR_FULL;
    }
    ex->kinds[ex->kind_count].name = kind;
    ex->kinds[ex->kind_count].fn = fn;
    ex->kinds[ex->kind_count].user = user;
    ex->kind_count++;
    return REP_OK;
}

void rep_tick(rep_executor *ex)
{
    int i;
    if (usable(ex) != REP_OK) {
        return;
    }
    for (i = 0; i < REP_MAX_RUNS; i++) {
        if (ex->runs[i].used) {
            rep_run_tick(ex, &ex->runs[i]);
        }
    }
}

uint32_t rep_idle_ms(rep_executor *ex, uint32_t max_ms)
{
    uint32_t wait = max_ms;
    int i;
    if (usable(ex) != REP_OK) {
        return max_ms;
    }
    for (i = 0; i < REP_MAX_RUNS; i++) {
        if (ex->runs[i].used) {
            uint32_t w = rep_run_idle_ms(ex, &ex->runs[i], max_ms);
            if (w < wait) {
                wait = w;
            }
        }
    }
    return wait;
}

rep_err rep_serve(rep_executor *ex)
{
    char buf[REP_READ_CHUNK];
    rep_err err = usable(ex);
    if (err != REP_OK) {
        return err;
    }
    if (ex->io.read == NULL) {
        return REP_ERR_ARG;
    }
    /* A server: runs until the input ends or the output breaks. */
    for (;;) {
        long n;
        rep_tick(ex);
        n = ex->io.read(ex->io.ctx, buf, sizeof buf, rep_idle_ms(ex, 1000));
        if (n < 0) {
            (void)feed_eof(ex);
            return io_status(ex);
        }
        if (n > 0 && feed(ex, buf, (size_t)n) != 0) {
            return REP_ERR_IO;
        }
    }
}

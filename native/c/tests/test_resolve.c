/*
 * test_resolve.c — reference resolution, the same table as the Rust kit's resolve.rs.
 */
#include <string.h>

#include "rep_internal.h"
#include "test.h"

static rep_run run;

/* A run whose succeeded steps are `ids` with `outputs` (JSON texts). */
static void fake_run(const char *const *ids, const char *const *outputs, int n)
{
    static char ir[256];
    size_t ir_len = 0;
    int i;
    run.ir.p = ir;
    run.output_len = 0;
    run.done_count = 0;
    for (i = 0; i < n; i++) {
        size_t len = strlen(ids[i]), olen = strlen(outputs[i]);
        ir[ir_len] = '"';
        memcpy(ir + ir_len + 1, ids[i], len);
        ir[ir_len + 1 + len] = '"';
        run.graph.nodes[i].id_off = (uint32_t)ir_len;
        run.graph.nodes[i].id_len = (uint32_t)(len + 2);
        ir_len += len + 2;
        memcpy(run.output + run.output_len, outputs[i], olen);
        run.out_off[i] = (uint32_t)run.output_len;
        run.out_len[i] = (uint32_t)olen;
        run.output_len += olen;
        run.done_order[run.done_count++] = (uint16_t)i;
    }
    run.ir.n = ir_len;
}

static int resolves(const char *with, const char *expected)
{
    static const char *const ids[] = {"read", "ns.step", "ns"};
    static const char *const outputs[] = {"{\"values\": {\"a\": 80.0}, \"list\": [10, 20]}",
                                          "{\"x\": \"dotted\"}", "{\"step\": {\"x\": \"shadowed\"}}"};
    char buf[1024];
    rep_writer w;
    rep_scope scope;
    rep_json v;
    fake_run(ids, outputs, 3);
    scope.inputs = J("{\"endpoint\": \"opc.tcp://x\", \"nodes\": [\"a\", \"b\"], "
                     "\"deep\": {\"k\": {\"v\": 1}}}");
    scope.run = &run;
    rep_writer_init(&w, buf, sizeof buf);
    rep_resolve(J(with), &scope, &w);
    if (w.overflow || rep_json_parse(buf, w.len, &v, NULL, NULL) != 0) {
        return 0;
    }
    if (!json_eq(v, expected)) {
        return 0;
    }
    return 1;
}

static void reference_table(void)
{
    static const char *const table[][2] = {
        {"\"$input.endpoint\"", "\"opc.tcp://x\""},
        {"\"$input.nodes\"", "[\"a\",\"b\"]"},
        {"\"$input.deep.k.v\"", "1"},
        {"\"$input.missing\"", "null"},
        {"\"$input.deep.k.missing.more\"", "null"},
        {"\"$step.read\"", "{\"values\":{\"a\":80.0},\"list\":[10,20]}"},
        {"\"$step.read.values.a\"", "80.0"},
        {"\"$.vars.read.values.a\"", "80.0"},
        {"\"$step.read.list.1\"", "20"},
        {"\"$step.read.list.+1\"", "20"},
        {"\"$step.read.values.zzz\"", "null"},
        {"\"$step.unknown\"", "null"},
        {"\"$step.unknown.path\"", "null"},
        {"\"$step.ns.step.x\"", "\"dotted\""},
        {"\"plain text\"", "\"plain text\""},
        {"\"75.0\"", "\"75.0\""},
        {"42", "42"},
        {"null", "null"},
        {"[\"$input.endpoint\", {\"n\": \"$step.read.values.a\"}, 3]",
         "[\"opc.tcp://x\",{\"n\":80.0},3]"},
        {"{\"outer\": {\"inner\": [\"$input.missing\"]}}", "{\"outer\":{\"inner\":[null]}}"},
        {"\"$input\"", "{\"endpoint\":\"opc.tcp://x\",\"nodes\":[\"a\",\"b\"],\"deep\":{\"k\":{\"v\":1}}}"},
        {"\"$input.nodes.1\"", "\"b\""},
        {"\"$input.nodes.2\"", "null"},
        {"\"$input.nodes.x\"", "null"},
        {"\"$input.endpoint.more\"", "null"},
        {"\"$input.deep.\"", "{\"k\":{\"v\":1}}"},
        {"\"$step.read.list.-1\"", "null"},
        {"\"$step.read.\"", "{\"values\":{\"a\":80.0},\"list\":[10,20]}"},
        {"\"$step.\"", "null"},
        {"\"$.vars.unknown.x\"", "null"},
        {"\"$.vars.ns.step.x\"", "\"dotted\""},
        {"\"  $input.endpoint \"", "\"opc.tcp://x\""},
        {"\"\\u00a0$input.endpoint\\u3000\"", "\"opc.tcp://x\""},
        {"\"\\u0024input.endpoint\"", "\"opc.tcp://x\""},
        {"\"value: $input.endpoint\"", "\"value: $input.endpoint\""},
        {"\"$inputs.endpoint\"", "\"$inputs.endpoint\""},
        {"{\"$input.endpoint\": 1}", "{\"$input.endpoint\":1}"},
        {"[[{\"a\": [\"$step.read.values.a\", \"$step.nope\"]}], {\"b\": {\"c\": [\"$input.deep.k\"]}}]",
         "[[{\"a\":[80.0,null]}],{\"b\":{\"c\":[{\"v\":1}]}}]"},
    };
    size_t i;
    for (i = 0; i < sizeof table / sizeof table[0]; i++) {
        if (!resolves(table[i][0], table[i][1])) {
            test_failed(__FILE__, __LINE__, table[i][0]);
        }
    }
}

static void no_step_outputs_without_a_run(void)
{
    char buf[64];
    rep_writer w;
    rep_scope scope;
    scope.inputs = J("{}");
    scope.run = NULL;
    rep_writer_init(&w, buf, sizeof buf);
    rep_resolve(J("[\"$step.read\"]"), &scope, &w);
    CHECK(w.len == 6 && memcmp(buf, "[null]", 6) == 0);
}

static void an_overflowing_resolution_is_flagged(void)
{
    char buf[8];
    rep_writer w;
    rep_scope scope;
    scope.inputs = J("{\"a\": \"0123456789\"}");
    scope.run = NULL;
    rep_writer_init(&w, buf, sizeof buf);
    rep_resolve(J("[\"$input.a\"]"), &scope, &w);
    CHECK(w.overflow);
}

const test_case resolve_tests[] = {
    {"resolve: the reference table of the Rust kit", reference_table},
    {"resolve: no run, no step outputs", no_step_outputs_without_a_run},
    {"resolve: a resolution that does not fit is flagged", an_overflowing_resolution_is_flagged},
    {NULL, NULL}};

/*
 * rep_ir.c — StartRun's checks of a Flow IR v1.0.0 document, in REP order: the version
 * (1001), the schema's required fields and types plus the semantic rules 1–6, switch cases and
 * cycles (1003), then the step kinds (1002). The first problem found is reported, with its
 * JSON pointer. A valid document's graph is built on the way.
 */
#include <string.h>

#include "rep_internal.h"

#define MAX_INT 2147483647u

typedef struct checker {
    rep_executor *ex;
    rep_graph *g;
    rep_ir_problem *pr;
    int failed;
} checker;

/* ---- messages and pointers ---- */

typedef struct text {
    char *buf;
    size_t cap, len;
} text;

static void t_add(text *t, const char *s, size_t n)
{
    /* Cut at a character boundary: never split a UTF-8 sequence. */
    if (t->len + n > t->cap) {
        n = t->cap - t->len;
        while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80) {
            n--;
        }
    }
    (void)memcpy(t->buf + t->len, s, n);
    t->len += n;
}

/* Appends at most `max` bytes of `s` (cut at a character boundary, marked "..."). */
static void t_add_cut(text *t, const char *s, size_t n, size_t max)
{
    if (n <= max) {
        t_add(t, s, n);
        return;
    }
    while (max > 0 && ((unsigned char)s[max] & 0xC0) == 0x80) {
        max--;
    }
    t_add(t, s, max);
    t_add(t, "...", 3);
}

static void t_str(text *t, const char *s)
{
    t_add(t, s, strlen(s));
}

static void t_u64(text *t, uint64_t v)
{
    char digits[20];
    t_add(t, digits, rep_format_u64(v, digits));
}

/* Appends a JSON pointer segment (RFC 6901 escapes). */
static void t_segment(text *t, const char *s, size_t n)
{
    size_t i;
    t_add(t, "/", 1);
    for (i = 0; i < n; i++) {
        if (s[i] == '~') {
            t_add(t, "~0", 2);
        } else if (s[i] == '/') {
            t_add(t, "~1", 2);
        } else {
            t_add(t, s + i, 1);
        }
    }
}

/* A pointer built from up to four parts: fixed text, an index, fixed text, a decoded key. */
typedef struct ptr {
    const char *a;
    long index; /* -1: none */
    const char *b;
    rep_json key; /* a JSON string to append as a segment, or missing */
} ptr;

static ptr P(const char *a)
{
    ptr p;
    p.a = a;
    p.index = -1;
    p.b = NULL;
    p.key.p = NULL;
    p.key.n = 0;
    return p;
}

static ptr PI(const char *a, long index, const char *b)
{
    ptr p = P(a);
    p.index = index;
    p.b = b;
    return p;
}

/* Records the problem (the first one only). `msg2` may be NULL; `shown` is a JSON value
 * appended to the message, or missing. */
static void problem(checker *c, ptr where, const char *msg1, rep_json shown, const char *msg2)
{
    text t;
    if (c->failed) {
        return;
    }
    c->failed = 1;
    c->pr->code = REP_INVALID_IR;
    t.buf = c->pr->pointer;
    t.cap = sizeof c->pr->pointer;
    t.len = 0;
    t_str(&t, where.a);
    if (where.index >= 0) {
        t_add(&t, "/", 1);
        t_u64(&t, (uint64_t)where.index);
    }
    if (where.b) {
        t_str(&t, where.b);
    }
    if (where.key.p) {
        char key[64];
        long n = rep_json_string_decode(where.key, key, sizeof key);
        if (n >= 0) {
            t_segment(&t, key, (size_t)n);
        }
    }
    c->pr->pointer_len = t.len;
    t.buf = c->pr->message;
    t.cap = sizeof c->pr->message;
    t.len = 0;
    t_str(&t, msg1);
    if (shown.p) {
        t_add_cut(&t, shown.p, shown.n, 80);
    }
    if (msg2) {
        t_str(&t, msg2);
    }
    c->pr->message_len = t.len;
}

static const rep_json NONE = {NULL, 0};

static const char *type_name(rep_json v)
{
    switch (rep_json_typeof(v)) {
    case REP_JSON_NULL:
        return "null";
    case REP_JSON_BOOL:
        return "a boolean";
    case REP_JSON_NUMBER:
        return "a number";
    case REP_JSON_STRING:
        return "a string";
    case REP_JSON_ARRAY:
        return "an array";
    case REP_JSON_OBJECT:
        return "an object";
    default:
        return "nothing";
    }
}

/* "<field> must be <what>, found <type>" */
static void wrong_type(checker *c, ptr where, const char *field, const char *what, rep_json v)
{
    char msg[128];
    text t;
    t.buf = msg;
    t.cap = sizeof msg - 1;
    t.len = 0;
    t_str(&t, "\"");
    t_str(&t, field);
    t_str(&t, "\" must be ");
    t_str(&t, what);
    t_str(&t, ", found ");
    t_str(&t, type_name(v));
    msg[t.len] = '\0';
    problem(c, where, msg, NONE, NULL);
}

/* Member `key` of `obj` (at `where`), required: a problem when missing. */
static rep_json required(checker *c, rep_json obj, const char *key, ptr where)
{
    rep_json v = rep_json_get(obj, key);
    if (rep_json_typeof(v) == REP_JSON_MISSING) {
        char msg[64];
        text t;
        t.buf = msg;
        t.cap = sizeof msg - 1;
        t.len = 0;
        t_str(&t, "\"");
        t_str(&t, key);
        t_str(&t, "\" is a required property");
        msg[t.len] = '\0';
        problem(c, where, msg, NONE, NULL);
    }
    return v;
}

/* Members of `obj` other than `allowed` (NULL-terminated) are a problem at `where`. */
static void no_other_members(checker *c, rep_json obj, const char *const *allowed, ptr where)
{
    rep_json_iter it;
    rep_json k;
    rep_json_iter_init(&it, obj);
    while (!c->failed && rep_json_iter_next(&it, &k, NULL)) {
        const char *const *a;
        int ok = 0;
        for (a = allowed; *a; a++) {
            if (rep_json_string_equals(k, *a, strlen(*a))) {
                ok = 1;
            }
        }
        if (!ok) {
            problem(c, where, "additional property ", k, " is not allowed");
        }
    }
}

static int expect_object(checker *c, rep_json v, ptr where, const char *field)
{
    if (c->failed) {
        return 0;
    }
    if (rep_json_typeof(v) != REP_JSON_OBJECT) {
        wrong_type(c, where, field, "an object", v);
        return 0;
    }
    return 1;
}

/* Rule 5 and the schema: an integer in 0..2^31-1 written with digits only. */
static uint32_t expect_int(checker *c, rep_json v, ptr where, const char *field)
{
    uint32_t out = 0;
    if (c->failed || rep_json_typeof(v) == REP_JSON_MISSING) {
        return 0;
    }
    if (rep_json_typeof(v) != REP_JSON_NUMBER) {
        wrong_type(c, where, field, "an integer", v);
        return 0;
    }
    if (rep_json_to_u32(v, MAX_INT, &out) == 0) {
        return out;
    }
    if (v.p[0] == '-') {
        problem(c, where, "must be at least 0, found ", v, " (rule 5)");
    } else if (memchr(v.p, '.', v.n) || memchr(v.p, 'e', v.n) || memchr(v.p, 'E', v.n)) {
        problem(c, where, "must be written as an integer, found ", v, " (rule 5)");
    } else {
        problem(c, where, "must be at most 2147483647, found ", v, " (rule 5)");
    }
    return 0;
}

/* Rule 1 and the schema: a non-empty string. */
static int expect_string(checker *c, rep_json v, ptr where, const char *field)
{
    if (c->failed || rep_json_typeof(v) == REP_JSON_MISSING) {
        return 0;
    }
    if (rep_json_typeof(v) != REP_JSON_STRING) {
        wrong_type(c, where, field, "a string", v);
        return 0;
    }
    if (v.n <= 2) {
        problem(c, where, "must not be empty (rule 1)", NONE, NULL);
        return 0;
    }
    return 1;
}

/* An identifier: ^[A-Za-z0-9_.-]+$, at most REP_MAX_ID_BYTES. */
static int expect_identifier(checker *c, rep_json v, ptr where, const char *field)
{
    rep_strdec d;
    int ch;
    size_t n = 0;
    if (!expect_string(c, v, where, field)) {
        return 0;
    }
    rep_strdec_init(&d, v);
    while ((ch = rep_strdec_next(&d)) >= 0) {
        if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
              ch == '_' || ch == '.' || ch == '-')) {
            problem(c, where, "must match ^[A-Za-z0-9_.-]+$, found ", v, NULL);
            return 0;
        }
        n++;
    }
    if (n > REP_MAX_ID_BYTES) {
        problem(c, where, "is longer than this executor's limit REP_MAX_ID_BYTES: ", v, NULL);
        return 0;
    }
    return 1;
}

/* ---- rule 6: RFC 3339 date-time ---- */

static int digits_at(const char *p, const char *end, int n, unsigned *out)
{
    unsigned v = 0;
    int i;
    if (end - p < n) {
        return 0;
    }
    for (i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9') {
            return 0;
        }
        v = v * 10 + (unsigned)(p[i] - '0');
    }
    *out = v;
    return 1;
}

static int rfc3339(const char *p, size_t n)
{
    static const unsigned mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    const char *end = p + n;
    unsigned y, mo, d, h, mi, s, oh, om;
    int leap;
    if (!digits_at(p, end, 4, &y) || end - p < 20 || p[4] != '-' ||
        !digits_at(p + 5, end, 2, &mo) || p[7] != '-' || !digits_at(p + 8, end, 2, &d) ||
        (p[10] != 'T' && p[10] != 't') || !digits_at(p + 11, end, 2, &h) || p[13] != ':' ||
        !digits_at(p + 14, end, 2, &mi) || p[16] != ':' || !digits_at(p + 17, end, 2, &s)) {
        return 0;
    }
    leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || (mo == 2 && d == 29 && !leap) ||
        h > 23 || mi > 59 || s > 60 || (s == 60 && mi != 59)) {
        return 0;
    }
    /* Then [.fraction], then Z or ±hh:mm: `at` is the offset in p[0..n). */
    {
        size_t at = 19;
        if (at < n && p[at] == '.') {
            at++;
            if (at >= n || p[at] < '0' || p[at] > '9') {
                return 0;
            }
            while (at < n && p[at] >= '0' && p[at] <= '9') {
                at++;
            }
        }
        /* cppcheck-suppress knownConditionTrueFalse ; a false positive: it is true for every
         * "…:45Z" (each IR's generated_at, test_dispatch.c) */
        if (n - at == 1 && (p[at] == 'Z' || p[at] == 'z')) {
            return 1;
        }
        /* cppcheck-suppress knownConditionTrueFalse ; the same false positive ("…+02:00") */
        if (n - at != 6 || (p[at] != '+' && p[at] != '-') || !digits_at(p + at + 1, end, 2, &oh) ||
            p[at + 3] != ':' || !digits_at(p + at + 4, end, 2, &om)) {
            return 0;
        }
    }
    return oh <= 23 && om <= 59;
}

/* ---- the graph ---- */

/* The index of the node whose id equals the JSON string `id`, or -1. */
static long node_index(const checker *c, rep_json ir, rep_json id)
{
    uint16_t i;
    for (i = 0; i < c->g->node_count; i++) {
        rep_json other;
        other.p = ir.p + c->g->nodes[i].id_off;
        other.n = c->g->nodes[i].id_len;
        if (rep_json_strings_equal(other, id)) {
            return i;
        }
    }
    return -1;
}

static rep_json node_id(const rep_graph *g, rep_json ir, uint16_t i)
{
    rep_json v;
    v.p = ir.p + g->nodes[i].id_off;
    v.n = g->nodes[i].id_len;
    return v;
}

/* Whether `kind` (a JSON string) names a step kind this executor runs; sets `*index`. */
static int kind_lookup(const rep_executor *ex, rep_json kind, uint16_t *index)
{
    uint16_t i;
    for (i = 0; i < ex->kind_count; i++) {
        if (rep_json_string_equals(kind, ex->kinds[i].name, strlen(ex->kinds[i].name))) {
            *index = i;
            return 1;
        }
    }
    if (rep_json_string_equals(kind, "switch", 6)) {
        *index = REP_KIND_SWITCH;
        return 1;
    }
    if (rep_json_string_equals(kind, "finish", 6)) {
        *index = REP_KIND_FINISH;
        return 1;
    }
    return 0;
}

static void check_node(checker *c, rep_json ir, rep_json node, long i)
{
    static const char *const retry_keys[] = {"max", "backoff_ms", NULL};
    rep_node_info *info = &c->g->nodes[i];
    rep_json id, type, with, timeout, retry;
    if (!expect_object(c, node, PI("/graph/nodes", i, NULL), "node")) {
        return;
    }
    id = required(c, node, "id", PI("/graph/nodes", i, NULL));
    type = required(c, node, "type", PI("/graph/nodes", i, NULL));
    with = required(c, node, "with", PI("/graph/nodes", i, NULL));
    timeout = required(c, node, "timeout_ms", PI("/graph/nodes", i, NULL));
    retry = required(c, node, "retry", PI("/graph/nodes", i, NULL));
    (void)expect_identifier(c, id, PI("/graph/nodes", i, "/id"), "id");
    (void)expect_string(c, type, PI("/graph/nodes", i, "/type"), "type");
    (void)expect_object(c, with, PI("/graph/nodes", i, "/with"), "with");
    info->timeout_ms = expect_int(c, timeout, PI("/graph/nodes", i, "/timeout_ms"), "timeout_ms");
    if (expect_object(c, retry, PI("/graph/nodes", i, "/retry"), "retry")) {
        rep_json max = required(c, retry, "max", PI("/graph/nodes", i, "/retry"));
        rep_json backoff = required(c, retry, "backoff_ms", PI("/graph/nodes", i, "/retry"));
        no_other_members(c, retry, retry_keys, PI("/graph/nodes", i, "/retry"));
        info->retry_max = expect_int(c, max, PI("/graph/nodes", i, "/retry/max"), "max");
        info->backoff_ms =
            expect_int(c, backoff, PI("/graph/nodes", i, "/retry/backoff_ms"), "backoff_ms");
    }
    if (c->failed) {
        return;
    }
    info->off = (uint32_t)(node.p - ir.p);
    info->len = (uint32_t)node.n;
    info->id_off = (uint32_t)(id.p - ir.p);
    info->id_len = (uint32_t)id.n;
    info->with_off = (uint32_t)(with.p - ir.p);
    info->with_len = (uint32_t)with.n;
    info->in_count = 0;
    info->out_count = 0;
    info->flags = (uint8_t)((rep_json_string_equals(type, "switch", 6) ? REP_NODE_SWITCH : 0u) |
                            (rep_json_string_equals(type, "finish", 6) ? REP_NODE_FINISH : 0u) |
                            (rep_json_string_equals(type, "dsl.emit", 8) ? REP_NODE_EMIT : 0u));
    if (!kind_lookup(c->ex, type, &info->kind)) {
        info->kind = 0xFFFFu; /* reported as 1002 after the 1003 checks */
    }
}

static void check_edge(checker *c, rep_json ir, rep_json edge, long i)
{
    rep_edge_info *info = &c->g->edges[i];
    rep_json from, to, on, kase;
    long f, t;
    if (!expect_object(c, edge, PI("/graph/edges", i, NULL), "edge")) {
        return;
    }
    from = required(c, edge, "from", PI("/graph/edges", i, NULL));
    to = required(c, edge, "to", PI("/graph/edges", i, NULL));
    on = required(c, edge, "on", PI("/graph/edges", i, NULL));
    (void)expect_identifier(c, from, PI("/graph/edges", i, "/from"), "from");
    (void)expect_identifier(c, to, PI("/graph/edges", i, "/to"), "to");
    if (!c->failed && rep_json_typeof(on) != REP_JSON_STRING) {
        wrong_type(c, PI("/graph/edges", i, "/on"), "on", "a string", on);
    }
    if (!c->failed && !rep_json_string_equals(on, "success", 7) &&
        !rep_json_string_equals(on, "failure", 7)) {
        problem(c, PI("/graph/edges", i, "/on"), "\"on\" must be \"success\" or \"failure\", found ",
                on, " (rule 4)");
    }
    kase = rep_json_get(edge, "case");
    if (!c->failed && rep_json_typeof(kase) != REP_JSON_MISSING) {
        if (rep_json_typeof(kase) != REP_JSON_STRING) {
            wrong_type(c, PI("/graph/edges", i, "/case"), "case",
                       "a string naming a switch case", kase);
        } else if (kase.n <= 2) {
            problem(c, PI("/graph/edges", i, "/case"), "\"case\" must not be empty (rule 1)", NONE,
                    NULL);
        }
    }
    if (c->failed) {
        return;
    }
    f = node_index(c, ir, from);
    t = node_index(c, ir, to);
    if (f < 0) {
        problem(c, PI("/graph/edges", i, "/from"), "edge \"from\" names node ", from,
                ", which does not exist (rule 3)");
        return;
    }
    if (t < 0) {
        problem(c, PI("/graph/edges", i, "/to"), "edge \"to\" names node ", to,
                ", which does not exist (rule 3)");
        return;
    }
    info->from = (uint16_t)f;
    info->to = (uint16_t)t;
    info->failure = rep_json_string_equals(on, "failure", 7) ? 1 : 0;
    if (rep_json_typeof(kase) == REP_JSON_STRING) {
        info->case_off = (uint32_t)(kase.p - ir.p);
        info->case_len = (uint32_t)kase.n;
    } else {
        info->case_off = info->case_len = 0;
    }
    c->g->nodes[t].in_count++;
    c->g->nodes[f].out_count++;
}

/* A switch node's cases name existing nodes and its default is a case key. */
static void check_switch(checker *c, rep_json ir, long i)
{
    rep_json with, cases, def, k, v;
    rep_json_iter it;
    with.p = ir.p + c->g->nodes[i].with_off;
    with.n = c->g->nodes[i].with_len;
    cases = rep_json_get(with, "cases");
    if (rep_json_typeof(cases) == REP_JSON_MISSING) {
        return;
    }
    if (rep_json_typeof(cases) != REP_JSON_OBJECT) {
        wrong_type(c, PI("/graph/nodes", i, "/with/cases"), "cases",
                   "an object mapping case keys to node ids", cases);
        return;
    }
    rep_json_iter_init(&it, cases);
    while (!c->failed && rep_json_iter_next(&it, &k, &v)) {
        ptr where = PI("/graph/nodes", i, "/with/cases");
        where.key = k;
        if (rep_json_typeof(v) != REP_JSON_STRING) {
            wrong_type(c, where, "case", "a node id (a string)", v);
        } else if (node_index(c, ir, v) < 0) {
            problem(c, where, "switch case names node ", v, ", which does not exist");
        }
    }
    def = rep_json_get(with, "default");
    if (!c->failed && rep_json_typeof(def) == REP_JSON_STRING) {
        int found = 0;
        rep_json_iter_init(&it, cases);
        while (rep_json_iter_next(&it, &k, NULL)) {
            found |= rep_json_strings_equal(k, def);
        }
        if (!found) {
            problem(c, PI("/graph/nodes", i, "/with/default"), "switch default ", def,
                    " is not one of the case keys");
        }
    }
}

/* No cycles (Kahn's algorithm); on a cycle, names a node on it. */
static void check_acyclic(checker *c, rep_json ir)
{
    rep_graph *g = c->g;
    uint16_t *indeg = c->ex->tmp_a, *queue = c->ex->tmp_b;
    uint16_t i, head = 0, tail = 0, e;
    long n;
    for (i = 0; i < g->node_count; i++) {
        indeg[i] = g->nodes[i].in_count;
        if (indeg[i] == 0) {
            queue[tail++] = i;
        }
    }
    while (head < tail) {
        uint16_t at = queue[head++];
        for (e = 0; e < g->nodes[at].out_count; e++) {
            uint16_t to = g->edges[g->out_list[g->nodes[at].out_start + e]].to;
            if (--indeg[to] == 0) {
                queue[tail++] = to;
            }
        }
    }
    if (tail == g->node_count) {
        return;
    }
    /* Every node left has a predecessor left: walking back node_count steps from any of them
     * ends on a cycle. */
    for (i = 0; indeg[i] == 0; i++) {
    }
    for (n = 0; n < g->node_count; n++) {
        for (e = 0; e < g->edge_count; e++) {
            if (g->edges[e].to == i && indeg[g->edges[e].from] != 0) {
                i = g->edges[e].from;
                break;
            }
        }
    }
    problem(c, P("/graph/edges"), "the graph has a cycle through node ", node_id(g, ir, i),
            NULL);
}

static void build_out_lists(rep_graph *g)
{
    uint16_t i, e, start = 0;
    for (i = 0; i < g->node_count; i++) {
        g->nodes[i].out_start = start;
        start = (uint16_t)(start + g->nodes[i].out_count);
        g->nodes[i].out_count = 0;
    }
    for (e = 0; e < g->edge_count; e++) {
        rep_node_info *from = &g->nodes[g->edges[e].from];
        g->out_list[from->out_start + from->out_count++] = e;
    }
}

static int version_check(checker *c, rep_json ir)
{
    rep_json v;
    char buf[40];
    long n;
    text t;
    unsigned part = 0, parts = 0, major = 0, digits = 0;
    int shape = 1;
    long k;
    t.buf = c->pr->message;
    t.cap = sizeof c->pr->message;
    t.len = 0;
    c->pr->code = REP_UNSUPPORTED_IR_VERSION;
    c->pr->pointer_len = 0;
    if (rep_json_typeof(ir) != REP_JSON_OBJECT) {
        t_str(&t, "expected a Flow IR object with \"version\", found ");
        t_str(&t, type_name(ir));
    } else if (rep_json_typeof(v = rep_json_get(ir, "version")) == REP_JSON_MISSING) {
        t_str(&t, "\"version\" is missing");
    } else if (rep_json_typeof(v) != REP_JSON_STRING) {
        (void)memcpy(c->pr->pointer, "/version", 8);
        c->pr->pointer_len = 8;
        t_str(&t, "\"version\" must be a string, found ");
        t_str(&t, type_name(v));
    } else if (rep_json_string_equals(v, "1.0.0", 5)) {
        return 0;
    } else {
        (void)memcpy(c->pr->pointer, "/version", 8);
        c->pr->pointer_len = 8;
        n = rep_json_string_decode(v, buf, sizeof buf);
        if (n < 0) {
            shape = 0;
        }
        for (k = 0; shape && k <= n; k++) {
            if (k == n || buf[k] == '.') {
                if (digits == 0) {
                    shape = 0;
                }
                if (parts == 0) {
                    major = part;
                }
                parts++;
                part = digits = 0;
            } else if (buf[k] >= '0' && buf[k] <= '9' && digits < 9) {
                part = part * 10 + (unsigned)(buf[k] - '0');
                digits++;
            } else {
                shape = 0;
            }
        }
        if (!shape || parts != 3) {
            t_str(&t, "Flow IR version ");
            t_add_cut(&t, v.p, v.n, 40);
            t_str(&t, " is not a MAJOR.MINOR.PATCH version");
        } else if (major > 1) {
            t_str(&t, "Flow IR version ");
            t_add(&t, buf, (size_t)n);
            t_str(&t, " is a newer major version (");
            t_u64(&t, major);
            t_str(&t, ".x) than supported");
        } else {
            t_str(&t, "Flow IR version ");
            t_add(&t, buf, (size_t)n);
            t_str(&t, " is not supported");
        }
    }
    t_str(&t, "; supported version: 1.0.0");
    c->pr->message_len = t.len;
    return -1;
}

static rep_json node_kind(const rep_graph *g, rep_json ir, uint16_t i)
{
    rep_json node;
    node.p = ir.p + g->nodes[i].off;
    node.n = g->nodes[i].len;
    return rep_json_get(node, "type");
}

/* Sorted insertion of a missing kind (by node index), without duplicates. */
static void add_missing(rep_ir_problem *pr, const rep_graph *g, rep_json ir, uint16_t node)
{
    rep_json kind = node_kind(g, ir, node);
    uint16_t i, at;
    for (i = 0; i < pr->missing_count; i++) {
        if (rep_json_strings_equal(node_kind(g, ir, pr->missing[i]), kind)) {
            return;
        }
    }
    if (pr->missing_count >= sizeof pr->missing / sizeof pr->missing[0]) {
        return;
    }
    /* Keep the byte order of the decoded names. */
    for (at = 0; at < pr->missing_count; at++) {
        rep_strdec a, b;
        int ca, cb;
        rep_strdec_init(&a, kind);
        rep_strdec_init(&b, node_kind(g, ir, pr->missing[at]));
        do {
            ca = rep_strdec_next(&a);
            cb = rep_strdec_next(&b);
        } while (ca == cb && ca >= 0);
        if (ca < cb) {
            break;
        }
    }
    memmove(&pr->missing[at + 1], &pr->missing[at], (pr->missing_count - at) * sizeof(uint16_t));
    pr->missing[at] = node;
    pr->missing_count++;
}

/* Checks the items of `array` (at `pointer`) with `check`, at most `limit` of them; returns
 * how many were checked. */
static uint16_t check_items(checker *c, rep_json ir, rep_json array, long limit,
                            const char *pointer, const char *too_many,
                            void (*check)(checker *, rep_json, rep_json, long))
{
    rep_json_iter it;
    rep_json v;
    long count = 0;
    rep_json_iter_init(&it, array);
    while (!c->failed && rep_json_iter_next(&it, NULL, &v)) {
        if (count >= limit) {
            problem(c, P(pointer), too_many, NONE, NULL);
            break;
        }
        check(c, ir, v, count);
        count++;
    }
    return (uint16_t)count;
}

/* Rule 2: unique node ids. */
static void check_unique_ids(checker *c, rep_json ir)
{
    uint16_t i, j;
    for (i = 1; !c->failed && i < c->g->node_count; i++) {
        for (j = 0; j < i; j++) {
            if (rep_json_strings_equal(node_id(c->g, ir, i), node_id(c->g, ir, j))) {
                char msg[40];
                text t;
                t.buf = msg;
                t.cap = sizeof msg - 1;
                t.len = 0;
                t_str(&t, " (rule 2, first at /graph/nodes/");
                t_u64(&t, j);
                t_str(&t, ")");
                msg[t.len] = '\0';
                problem(c, PI("/graph/nodes", i, "/id"), "duplicate node id ",
                        node_id(c->g, ir, i), msg);
                break;
            }
        }
    }
}

static void check_graph(checker *c, rep_json ir, rep_json graph)
{
    static const char *const graph_keys[] = {"nodes", "edges", NULL};
    rep_graph *g = c->g;
    rep_json nodes, edges;
    uint16_t i;
    if (!expect_object(c, graph, P("/graph"), "graph")) {
        return;
    }
    nodes = required(c, graph, "nodes", P("/graph"));
    edges = required(c, graph, "edges", P("/graph"));
    no_other_members(c, graph, graph_keys, P("/graph"));
    if (!c->failed && rep_json_typeof(nodes) != REP_JSON_ARRAY) {
        wrong_type(c, P("/graph/nodes"), "nodes", "an array", nodes);
    }
    if (!c->failed && rep_json_typeof(edges) != REP_JSON_ARRAY) {
        wrong_type(c, P("/graph/edges"), "edges", "an array", edges);
    }
    g->node_count = check_items(c, ir, nodes, REP_MAX_NODES, "/graph/nodes",
                                "more nodes than this executor's limit REP_MAX_NODES", check_node);
    if (!c->failed && g->node_count == 0) {
        problem(c, P("/graph/nodes"), "\"nodes\" must have at least 1 item", NONE, NULL);
    }
    check_unique_ids(c, ir);
    g->edge_count = check_items(c, ir, edges, REP_MAX_EDGES, "/graph/edges",
                                "more edges than this executor's limit REP_MAX_EDGES", check_edge);
    for (i = 0; !c->failed && i < g->node_count; i++) {
        if (g->nodes[i].flags & REP_NODE_SWITCH) {
            check_switch(c, ir, i);
        }
    }
    if (!c->failed) {
        build_out_lists(g);
        check_acyclic(c, ir);
    }
}

/* Rule 6 and the schema's metadata. */
static void check_metadata(checker *c, rep_json metadata)
{
    rep_json at, source;
    if (!expect_object(c, metadata, P("/metadata"), "metadata")) {
        return;
    }
    at = required(c, metadata, "generated_at", P("/metadata"));
    source = required(c, metadata, "source_file", P("/metadata"));
    (void)expect_string(c, source, P("/metadata/source_file"), "source_file");
    if (expect_string(c, at, P("/metadata/generated_at"), "generated_at")) {
        char buf[64];
        long n = rep_json_string_decode(at, buf, sizeof buf);
        if (n < 0 || !rfc3339(buf, (size_t)n)) {
            problem(c, P("/metadata/generated_at"),
                    "\"generated_at\" must be an RFC 3339 date-time such as "
                    "2026-11-20T22:58:45Z, found ",
                    at, " (rule 6)");
        }
    }
}

/* 1002: the kinds nobody runs, sorted and named once each. Returns -1 when there are some. */
static int check_kinds(checker *c, rep_json ir)
{
    rep_graph *g = c->g;
    rep_ir_problem *pr = c->pr;
    text t;
    uint16_t i;
    for (i = 0; i < g->node_count; i++) {
        if (g->nodes[i].kind == 0xFFFFu) {
            add_missing(pr, g, ir, i);
        }
    }
    if (pr->missing_count == 0) {
        return 0;
    }
    pr->code = REP_UNSUPPORTED_STEP_KIND;
    t.buf = pr->message;
    t.cap = sizeof pr->message;
    t.len = 0;
    t_str(&t, "unsupported step kind(s): ");
    for (i = 0; i < pr->missing_count; i++) {
        rep_json kind = node_kind(g, ir, pr->missing[i]);
        char name[64];
        long n = rep_json_string_decode(kind, name, sizeof name);
        if (i > 0) {
            t_str(&t, ", ");
        }
        if (n >= 0) {
            t_add(&t, name, (size_t)n);
        } else {
            t_add(&t, kind.p, kind.n);
        }
    }
    pr->message_len = t.len;
    return -1;
}

int rep_ir_check(rep_executor *ex, rep_json ir, rep_graph *g, rep_ir_problem *pr)
{
    static const char *const flow_keys[] = {"name", "timeout_ms", NULL};
    static const char *const constants_keys[] = {"policyRef", "policy", NULL};
    checker c;
    rep_json flow, constants, inputs_schema, graph, metadata;
    c.ex = ex;
    c.g = g;
    c.pr = pr;
    c.failed = 0;
    (void)memset(pr, 0, sizeof *pr);
    g->node_count = g->edge_count = 0;
    g->flow_timeout_ms = 0;

    if (version_check(&c, ir) != 0) {
        return -1;
    }
    flow = required(&c, ir, "flow", P(""));
    constants = required(&c, ir, "constants", P(""));
    inputs_schema = required(&c, ir, "inputs_schema", P(""));
    graph = required(&c, ir, "graph", P(""));
    metadata = required(&c, ir, "metadata", P(""));
    if (expect_object(&c, flow, P("/flow"), "flow")) {
        rep_json name = required(&c, flow, "name", P("/flow"));
        rep_json timeout = required(&c, flow, "timeout_ms", P("/flow"));
        no_other_members(&c, flow, flow_keys, P("/flow"));
        (void)expect_identifier(&c, name, P("/flow/name"), "name");
        g->flow_timeout_ms = expect_int(&c, timeout, P("/flow/timeout_ms"), "timeout_ms");
    }
    if (expect_object(&c, constants, P("/constants"), "constants")) {
        rep_json ref = required(&c, constants, "policyRef", P("/constants"));
        rep_json policy = required(&c, constants, "policy", P("/constants"));
        no_other_members(&c, constants, constants_keys, P("/constants"));
        (void)expect_string(&c, ref, P("/constants/policyRef"), "policyRef");
        (void)expect_object(&c, policy, P("/constants/policy"), "policy");
    }
    (void)expect_object(&c, inputs_schema, P("/inputs_schema"), "inputs_schema");
    check_graph(&c, ir, graph);
    check_metadata(&c, metadata);
    if (c.failed) {
        return -1;
    }
    /* After the document is known valid: 1003 comes before 1002. */
    return check_kinds(&c, ir);
}

/* ---- run inputs against inputs_schema (REP v0.1 §3 [clarified]: 1004) ----
 *
 * The compiler declares each input as {name: {type: "<WDL type>"}}. Understood types
 * (case-insensitive): string/str, number/float/double, int/integer, bool/boolean, any,
 * object/map/dict, map<K, V>/dict<K, V> (each value a V), list/array, list<T>/array<T> (each
 * item a T), and T? (a T, null or no input). Any other type name, a declaration that is not
 * {type: "<string>"}, or one longer than INPUT_TYPE_BYTES, accepts anything. The same rules
 * as the Rust kit's (flow-ir's check_inputs), with the same messages.
 *
 * Nested values are walked with an explicit stack of REP_INPUT_TYPE_DEPTH levels (in the
 * executor), not by recursion: a type text of INPUT_TYPE_BYTES nests at most 20 levels
 * (`list<` and `>` per level), so the bound never cuts a type the Rust kit would check. */

#define INPUT_TYPE_BYTES 128

#if REP_INPUT_TYPE_DEPTH < INPUT_TYPE_BYTES / 6
#error "REP_INPUT_TYPE_DEPTH must cover the nesting of a type text of INPUT_TYPE_BYTES"
#endif

enum input_kind { K_STRING, K_NUMBER, K_INTEGER, K_BOOL, K_OBJECT, K_LIST, K_ANY };

typedef struct inputs_check {
    rep_inputs_frame *stack; /* REP_INPUT_TYPE_DEPTH levels */
    rep_writer *details; /* NULL: count the problems and keep the first one's text */
    unsigned problems;
    text first;
    rep_json name;     /* the input being checked (a JSON string) */
    const char *decl;  /* its declared type, decoded */
    size_t decl_n;
    char pointer[REP_MAX_MESSAGE_BYTES];
    size_t pointer_len;
    size_t input_pointer_len; /* the pointer's length when it names the input itself */
} inputs_check;

static int lower_is(const char *s, size_t n, const char *word)
{
    size_t i;
    if (strlen(word) != n) {
        return 0;
    }
    for (i = 0; i < n; i++) {
        char c = s[i];
        if (c >= 'A' && c <= 'Z') {
            c = (char)(c - 'A' + 'a');
        }
        if (c != word[i]) {
            return 0;
        }
    }
    return 1;
}

static void trim(const char **s, size_t *n)
{
    while (*n > 0 && (**s == ' ' || **s == '\t')) {
        (*s)++;
        (*n)--;
    }
    while (*n > 0 && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t')) {
        (*n)--;
    }
}

/* The kind the type text `t` names; -1 for an unknown one. For list<T> and map<K, V>, `*inner`
 * is T or V (NULL for a bare list or map). */
static int input_kind(const char *t, size_t n, const char **inner, size_t *inner_n)
{
    const char *lt;
    size_t name_n;
    *inner = NULL;
    *inner_n = 0;
    trim(&t, &n);
    lt = n ? memchr(t, '<', n) : NULL;
    name_n = lt ? (size_t)(lt - t) : n;
    if (lt) {
        const char *args = lt + 1;
        size_t args_n = n - name_n - 1, i, depth = 0;
        if (args_n == 0 || args[args_n - 1] != '>') {
            return -1;
        }
        args_n--;
        trim(&t, &name_n);
        if (lower_is(t, name_n, "list") || lower_is(t, name_n, "array")) {
            *inner = args;
            *inner_n = args_n;
            return K_LIST;
        }
        if (!lower_is(t, name_n, "map") && !lower_is(t, name_n, "dict")) {
            return -1;
        }
        for (i = 0; i < args_n; i++) { /* V: after the first comma outside <...> */
            if (args[i] == '<') {
                depth++;
            } else if (args[i] == '>' && depth > 0) {
                depth--;
            } else if (args[i] == ',' && depth == 0) {
                *inner = args + i + 1;
                *inner_n = args_n - i - 1;
                return K_OBJECT;
            }
        }
        return -1;
    }
    if (lower_is(t, n, "string") || lower_is(t, n, "str")) {
        return K_STRING;
    }
    if (lower_is(t, n, "number") || lower_is(t, n, "float") || lower_is(t, n, "double")) {
        return K_NUMBER;
    }
    if (lower_is(t, n, "int") || lower_is(t, n, "integer")) {
        return K_INTEGER;
    }
    if (lower_is(t, n, "bool") || lower_is(t, n, "boolean")) {
        return K_BOOL;
    }
    if (lower_is(t, n, "any")) {
        return K_ANY;
    }
    if (lower_is(t, n, "object") || lower_is(t, n, "map") || lower_is(t, n, "dict")) {
        return K_OBJECT;
    }
    if (lower_is(t, n, "list") || lower_is(t, n, "array")) {
        return K_LIST;
    }
    return -1;
}

static int is_integral(rep_json number)
{
    double x;
    if (rep_json_to_double(number, &x) != 0) {
        return 0;
    }
    if (x > -9.0e18 && x < 9.0e18) {
        return (double)(int64_t)x == x;
    }
    return 1; /* doubles this large have no fraction */
}

/* "got number 5", "got string \"x\"", "got a list of 3 items", "got null", ... */
static void t_describe(text *t, rep_json v)
{
    rep_json_iter it;
    rep_json k, item;
    unsigned count = 0;
    char digits[20];
    switch (rep_json_typeof(v)) {
    case REP_JSON_NULL:
        t_add(t, "null", 4);
        return;
    case REP_JSON_BOOL:
        t_add(t, "boolean ", 8);
        break;
    case REP_JSON_NUMBER:
        t_add(t, "number ", 7);
        break;
    case REP_JSON_STRING:
        t_add(t, "string ", 7);
        break;
    case REP_JSON_ARRAY:
        rep_json_iter_init(&it, v);
        while (rep_json_iter_next(&it, &k, &item)) {
            count++;
        }
        t_add(t, "a list of ", 10);
        t_add(t, digits, rep_format_u64(count, digits));
        t_add(t, " items", 6);
        return;
    default:
        t_add(t, "an object", 9);
        return;
    }
    if (v.n > 40) {
        t_add(t, v.p, 40);
        t_add(t, "...", 3);
    } else {
        t_add(t, v.p, v.n);
    }
}

static void input_problem(inputs_check *c, int kind, rep_json value)
{
    static const char *const expected_text[] = {"a string", "a number", "an integer",
                                                "a boolean", "an object", "a list", "a value"};
    char buf[REP_MAX_MESSAGE_BYTES];
    text msg = {buf, sizeof buf, 0};
    if (value.p) {
        t_add(&msg, "expected ", 9);
        t_add(&msg, expected_text[kind], strlen(expected_text[kind]));
        t_add(&msg, ", got ", 6);
        t_describe(&msg, value);
    } else {
        t_add(&msg, "missing", 7);
    }
    c->problems++;
    if (c->details) {
        rep_w_begin_object(c->details);
        rep_w_key(c->details, "pointer");
        rep_w_string_n(c->details, c->pointer, c->pointer_len);
        rep_w_key(c->details, "input");
        rep_w_value(c->details, c->name);
        rep_w_key(c->details, "declared");
        rep_w_string_n(c->details, c->decl, c->decl_n);
        rep_w_key(c->details, "message");
        rep_w_string_n(c->details, msg.buf, msg.len);
        rep_w_end_object(c->details);
    } else if (c->problems == 1) {
        /* "input nodes (list<string>): /nodes/1: expected a string, got number 7" */
        char name[REP_MAX_MESSAGE_BYTES];
        long name_n = rep_json_string_decode(c->name, name, sizeof name);
        t_add(&c->first, "input ", 6);
        if (name_n >= 0) {
            t_add(&c->first, name, (size_t)name_n);
        }
        t_add(&c->first, " (", 2);
        t_add(&c->first, c->decl, c->decl_n);
        t_add(&c->first, "): ", 3);
        if (c->pointer_len != c->input_pointer_len) {
            t_add(&c->first, c->pointer, c->pointer_len);
            t_add(&c->first, ": ", 2);
        }
        t_add(&c->first, msg.buf, msg.len);
    }
}

/* Appends "/" and the escaped key (RFC 6901: ~ → ~0, / → ~1) or index to the pointer; a
 * pointer that would not fit stays as it is (the message still names the input). */
static void pointer_push(inputs_check *c, rep_json key, size_t index)
{
    size_t n = c->pointer_len;
    if (n < sizeof c->pointer) {
        c->pointer[n++] = '/';
    }
    if (key.p) {
        rep_strdec d;
        int ch;
        rep_strdec_init(&d, key);
        while ((ch = rep_strdec_next(&d)) >= 0 && n + 2 <= sizeof c->pointer) {
            if (ch == '~' || ch == '/') {
                c->pointer[n++] = '~';
                c->pointer[n++] = ch == '~' ? '0' : '1';
            } else {
                c->pointer[n++] = (char)ch;
            }
        }
    } else {
        char digits[20];
        size_t dn = rep_format_u64(index, digits);
        if (n + dn <= sizeof c->pointer) {
            (void)memcpy(c->pointer + n, digits, dn);
            n += dn;
        }
    }
    c->pointer_len = n;
}

/* Whether `v` (of JSON type `type`) is of `kind` itself, its items aside. */
static int fits_kind(int kind, rep_json_type type, rep_json v)
{
    switch (kind) {
    case K_STRING:
        return type == REP_JSON_STRING;
    case K_NUMBER:
        return type == REP_JSON_NUMBER;
    case K_INTEGER:
        return type == REP_JSON_NUMBER && is_integral(v);
    case K_BOOL:
        return type == REP_JSON_BOOL;
    case K_OBJECT:
        return type == REP_JSON_OBJECT;
    case K_LIST:
        return type == REP_JSON_ARRAY;
    default: /* any, or a type this library does not know */
        return 1;
    }
}

/* Checks `v` against the type text `t`, and the items of a `list<T>` / values of a
 * `map<K, T>` against T, in document order (a pre-order walk on the explicit stack). */
static void check_value(inputs_check *c, const char *t, size_t tn, rep_json v)
{
    static const rep_json no_key = {NULL, 0};
    size_t depth = 0; /* levels of the stack in use */
    for (;;) {
        const char *inner = NULL;
        size_t inner_n = 0;
        int kind = depth >= REP_INPUT_TYPE_DEPTH ? -1 : input_kind(t, tn, &inner, &inner_n);
        if (!fits_kind(kind, rep_json_typeof(v), v)) {
            input_problem(c, kind, v);
        } else if ((kind == K_OBJECT || kind == K_LIST) && inner) {
            rep_inputs_frame *f = &c->stack[depth++];
            rep_json_iter_init(&f->items, v);
            f->inner = inner;
            f->inner_len = (uint16_t)inner_n;
            f->kind = (uint8_t)kind;
            f->index = 0;
            f->pointer_len = (uint16_t)c->pointer_len;
        }
        /* The next item: of the innermost level that has one left. */
        for (;;) {
            rep_inputs_frame *f;
            rep_json key, item;
            if (depth == 0) {
                return;
            }
            f = &c->stack[depth - 1];
            c->pointer_len = f->pointer_len;
            if (rep_json_iter_next(&f->items, &key, &item)) {
                pointer_push(c, f->kind == K_OBJECT ? key : no_key, f->index++);
                t = f->inner;
                tn = f->inner_len;
                v = item;
                break;
            }
            depth--;
        }
    }
}

/* Checks every declared input of `inputs`; returns the number of problems. */
static unsigned check_inputs(inputs_check *c, rep_json inputs_schema, rep_json inputs)
{
    rep_json_iter it;
    rep_json name, entry;
    char decl[INPUT_TYPE_BYTES];
    char key[REP_MAX_MESSAGE_BYTES];
    long key_n;
    rep_json_iter_init(&it, inputs_schema);
    while (rep_json_iter_next(&it, &name, &entry)) {
        long n = rep_json_string_decode(rep_json_get(entry, "type"), decl, sizeof decl);
        const char *t = decl;
        size_t tn;
        int optional = 0;
        rep_json value;
        if (n < 0) {
            continue; /* not {type: "<string>"}, or too long to be a type we know */
        }
        tn = (size_t)n;
        trim(&t, &tn);
        if (tn > 0 && t[tn - 1] == '?') {
            optional = 1;
            tn--;
        }
        c->name = name;
        c->decl = decl;
        c->decl_n = (size_t)n;
        c->pointer_len = 0;
        key_n = rep_json_string_decode(name, key, sizeof key);
        if (key_n < 0) {
            continue; /* a name longer than any message could carry: not checked */
        }
        value = rep_json_get_n(inputs, key, (size_t)key_n);
        pointer_push(c, name, 0);
        c->input_pointer_len = c->pointer_len;
        if (!value.p) {
            if (!optional) {
                input_problem(c, K_ANY, value);
            }
        } else if (!(optional && rep_json_typeof(value) == REP_JSON_NULL)) {
            check_value(c, t, tn, value);
        }
    }
    return c->problems;
}

int rep_inputs_check(rep_inputs_frame *stack, rep_json inputs_schema, rep_json inputs,
                     char *first, size_t first_cap, size_t *first_len)
{
    inputs_check c;
    (void)memset(&c, 0, sizeof c);
    c.stack = stack;
    c.first.buf = first;
    c.first.cap = first_cap;
    (void)check_inputs(&c, inputs_schema, inputs);
    *first_len = c.first.len;
    return (int)c.problems;
}

void rep_inputs_details(rep_inputs_frame *stack, rep_json inputs_schema, rep_json inputs,
                        rep_writer *w)
{
    inputs_check c;
    (void)memset(&c, 0, sizeof c);
    c.stack = stack;
    c.details = w;
    rep_w_begin_array(w);
    (void)check_inputs(&c, inputs_schema, inputs);
    rep_w_end_array(w);
}

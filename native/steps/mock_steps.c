/*
 * mock_steps.c — the mock executor's step kinds (see mock_steps.h), written to give the same
 * JSON values as the Rust mock-executor (mock-executor/src/handlers.rs, policy.rs, faults.rs).
 *
 * Numbers are kept as decimal text: a value read from the inputs is copied as written, and a
 * number the policy computes is written as the decimal it was parsed from, in float form
 * ("80" → "80.0"), which is the same double as Rust's `json!(f64)` gives.
 */
#include <string.h>

#include "mock_steps.h"

/* Longest `with` string the policy decodes (emit expressions, numeric strings). */
#define TEXT_BYTES 512
/* Deepest `{ k: { … } }` nesting of an emit expression evaluated; deeper is null. */
#define EVAL_DEPTH 16

/* policy.apply's output nests EVAL_DEPTH + 1 levels and a dsl.emit of it (`{"r": "$step.p"}`)
 * two more: the library validates step outputs against REP_MAX_DEPTH. */
#if REP_MAX_DEPTH < EVAL_DEPTH + 4
#error "the mock step kinds need REP_MAX_DEPTH >= 20 (EVAL_DEPTH + 4)"
#endif

static const rep_json MISSING = {NULL, 0};

/* A NUL-terminated message built in a fixed buffer (cut when full). */
typedef struct msgbuf {
    char *buf;
    size_t cap, len;
} msgbuf;

static void m_init(msgbuf *m, char *buf, size_t cap)
{
    m->buf = buf;
    m->cap = cap;
    m->len = 0;
    buf[0] = '\0';
}

static void m_str(msgbuf *m, const char *s)
{
    size_t n = strlen(s);
    if (n > m->cap - 1 - m->len) {
        n = m->cap - 1 - m->len;
    }
    memcpy(m->buf + m->len, s, n);
    m->len += n;
    m->buf[m->len] = '\0';
}

static void m_u64(msgbuf *m, uint64_t v)
{
    char digits[21];
    size_t n = sizeof digits - 1;
    digits[n] = '\0';
    do {
        digits[--n] = (char)('0' + v % 10);
        v /= 10;
    } while (v > 0);
    m_str(m, digits + n);
}

/* ---- small text helpers ---- */

static int is_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* Trims ASCII blanks and the Unicode blanks U+0085, U+00A0 and U+2000..U+3000 (Rust's
 * str::trim). */
static size_t blank_at(const char *p, size_t n)
{
    const unsigned char *u = (const unsigned char *)p;
    if (n >= 1 && is_space(u[0])) {
        return 1;
    }
    if (n >= 2 && u[0] == 0xC2 && (u[1] == 0x85 || u[1] == 0xA0)) {
        return 2;
    }
    if (n >= 3 && u[0] == 0xE1 && u[1] == 0x9A && u[2] == 0x80) {
        return 3;
    }
    if (n >= 3 && u[0] == 0xE2 && u[1] == 0x80 &&
        (u[2] <= 0x8A || u[2] == 0xA8 || u[2] == 0xA9 || u[2] == 0xAF)) {
        return 3;
    }
    if (n >= 3 && u[0] == 0xE2 && u[1] == 0x81 && u[2] == 0x9F) {
        return 3;
    }
    if (n >= 3 && u[0] == 0xE3 && u[1] == 0x80 && u[2] == 0x80) {
        return 3;
    }
    return 0;
}

static void trim(const char **p, size_t *n)
{
    size_t k;
    while (*n > 0 && (k = blank_at(*p, *n)) > 0) {
        *p += k;
        *n -= k;
    }
    for (;;) {
        size_t back = 0;
        if (*n >= 1 && is_space((unsigned char)(*p)[*n - 1])) {
            back = 1;
        } else if (*n >= 2 && blank_at(*p + *n - 2, 2) == 2) {
            back = 2;
        } else if (*n >= 3 && blank_at(*p + *n - 3, 3) == 3) {
            back = 3;
        }
        if (back == 0) {
            return;
        }
        *n -= back;
    }
}

static int lower_eq(const char *p, size_t n, const char *word)
{
    size_t i;
    if (strlen(word) != n) {
        return 0;
    }
    for (i = 0; i < n; i++) {
        char c = p[i];
        if (c >= 'A' && c <= 'Z') {
            c = (char)(c - 'A' + 'a');
        }
        if (c != word[i]) {
            return 0;
        }
    }
    return 1;
}

/* ---- numbers as Rust's f64::from_str reads them ---- */

typedef struct num {
    int nonfinite; /* 1: inf or NaN, written as null */
    int nan;
    int sign;      /* -1 or 1 (for infinities) */
    double v;
    char text[72]; /* canonical JSON float text: [-]d.ddd…e<exp>, or "0.0" */
    size_t text_len;
} num;

static void num_append(num *x, const char *s, size_t n)
{
    if (x->text_len + n <= sizeof x->text) {
        memcpy(x->text + x->text_len, s, n);
        x->text_len += n;
    }
}

/* Parses [+-]?(inf|infinity|nan|digits[.digits][e[+-]digits]) (at least one mantissa digit).
 * Returns 1 and fills `x`, or 0. */
static int parse_float(const char *p, size_t n, num *x)
{
    const char *end = p + n;
    int neg = 0, exp_neg = 0, any = 0;
    char sig[40];
    size_t nsig = 0;
    long int_digits = 0, lead_frac_zeros = 0, exp = 0;
    int seen = 0, in_frac = 0;
    memset(x, 0, sizeof *x);
    x->sign = 1;
    if (p < end && (*p == '+' || *p == '-')) {
        neg = *p == '-';
        x->sign = neg ? -1 : 1;
        p++;
    }
    if (lower_eq(p, (size_t)(end - p), "inf") || lower_eq(p, (size_t)(end - p), "infinity") ||
        lower_eq(p, (size_t)(end - p), "nan")) {
        x->nonfinite = 1;
        x->nan = (*p == 'n' || *p == 'N');
        return 1;
    }
    for (; p < end; p++) {
        if (*p == '.' && !in_frac) {
            in_frac = 1;
            continue;
        }
        if (*p < '0' || *p > '9') {
            break;
        }
        any = 1;
        if (!seen && *p == '0') {
            lead_frac_zeros += in_frac;
            continue;
        }
        seen = 1;
        int_digits += !in_frac;
        if (nsig < sizeof sig) {
            sig[nsig++] = *p;
        }
    }
    if (!any) {
        return 0;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        int digits = 0;
        p++;
        if (p < end && (*p == '+' || *p == '-')) {
            exp_neg = *p == '-';
            p++;
        }
        for (; p < end && *p >= '0' && *p <= '9'; p++) {
            digits = 1;
            if (exp < 100000) {
                exp = exp * 10 + (*p - '0');
            }
        }
        if (!digits) {
            return 0;
        }
    }
    if (p != end) {
        return 0;
    }
    while (nsig > 1 && sig[nsig - 1] == '0') {
        nsig--;
    }
    if (!seen) {
        num_append(x, "0.0", 3);
    } else {
        char e[24];
        msgbuf m;
        long first_exp = (int_digits > 0 ? int_digits - 1 : -(lead_frac_zeros + 1)) +
                         (exp_neg ? -exp : exp);
        if (first_exp < -400) {
            num_append(x, "0.0", 3);
        } else if (first_exp >= -7 && first_exp <= 20) {
            /* Positional, as serde_json writes such doubles: 80.0, 0.001, 1500.25 */
            long k;
            if (neg) {
                num_append(x, "-", 1);
            }
            if (first_exp < 0) {
                num_append(x, "0.", 2);
                for (k = first_exp + 1; k < 0; k++) {
                    num_append(x, "0", 1);
                }
                num_append(x, sig, nsig);
            } else {
                for (k = 0; k <= first_exp; k++) {
                    num_append(x, (size_t)k < nsig ? sig + k : "0", 1);
                }
                num_append(x, ".", 1);
                if ((size_t)first_exp + 1 < nsig) {
                    num_append(x, sig + first_exp + 1, nsig - (size_t)first_exp - 1);
                } else {
                    num_append(x, "0", 1);
                }
            }
        } else {
            if (neg) {
                num_append(x, "-", 1);
            }
            num_append(x, sig, 1);
            num_append(x, ".", 1);
            if (nsig > 1) {
                num_append(x, sig + 1, nsig - 1);
            } else {
                num_append(x, "0", 1);
            }
            m_init(&m, e, sizeof e);
            m_str(&m, first_exp < 0 ? "e-" : "e");
            m_u64(&m, (uint64_t)(first_exp < 0 ? -first_exp : first_exp));
            num_append(x, e, m.len);
        }
    }
    {
        rep_json t;
        t.p = x->text;
        t.n = x->text_len;
        /* rep_json_parse refuses numbers beyond the double range: those are infinities. */
        if (rep_json_parse(t.p, t.n, &t, NULL, NULL) != 0) {
            x->nonfinite = 1;
            return 1;
        }
        rep_json_to_double(t, &x->v);
    }
    return 1;
}

/* A number value, or a string that parses as one (Rust: s.trim().parse::<f64>()). */
static int number(rep_json v, num *x)
{
    char buf[TEXT_BYTES];
    const char *p = buf;
    size_t n;
    long len;
    if (rep_json_typeof(v) == REP_JSON_NUMBER) {
        return parse_float(v.p, v.n, x);
    }
    if (rep_json_typeof(v) != REP_JSON_STRING) {
        return 0;
    }
    len = rep_json_string_decode(v, buf, sizeof buf);
    if (len < 0) {
        return 0;
    }
    n = (size_t)len;
    trim(&p, &n);
    return parse_float(p, n, x);
}

/* a >= b for doubles with infinities and NaN. */
static int num_ge(const num *a, const num *b)
{
    int ra, rb;
    if (a->nan || b->nan) {
        return 0;
    }
    ra = a->nonfinite ? a->sign * 2 : 0;
    rb = b->nonfinite ? b->sign * 2 : 0;
    if (ra != rb || ra != 0) {
        return ra >= rb;
    }
    return a->v >= b->v;
}

static void write_num(rep_writer *w, const num *x)
{
    if (x->nonfinite) {
        rep_w_null(w);
    } else {
        rep_w_number_text(w, x->text, x->text_len);
    }
}

/* Rust's i64::from_str: [+-]?digits without overflow. */
static int parse_i64(const char *p, size_t n, int64_t *out)
{
    size_t i = 0;
    int neg = 0;
    uint64_t v = 0, limit;
    if (n > 0 && (p[0] == '+' || p[0] == '-')) {
        neg = p[0] == '-';
        i = 1;
    }
    if (i >= n) {
        return 0;
    }
    limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    for (; i < n; i++) {
        if (p[i] < '0' || p[i] > '9') {
            return 0;
        }
        if (v > (limit - (uint64_t)(p[i] - '0')) / 10) {
            return 0;
        }
        v = v * 10 + (uint64_t)(p[i] - '0');
    }
    if (neg) {
        *out = v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v;
    } else {
        *out = (int64_t)v;
    }
    return 1;
}

/* Rust's u64::from_str: +?digits without overflow. */
static int parse_u64(const char *p, size_t n, uint64_t *out)
{
    size_t i = n > 0 && p[0] == '+' ? 1 : 0;
    uint64_t v = 0;
    if (i >= n) {
        return 0;
    }
    for (; i < n; i++) {
        if (p[i] < '0' || p[i] > '9' || v > (UINT64_MAX - (uint64_t)(p[i] - '0')) / 10) {
            return 0;
        }
        v = v * 10 + (uint64_t)(p[i] - '0');
    }
    *out = v;
    return 1;
}

/* ---- serde_json Map semantics over JSON text ---- */

/* The member of `obj` whose key equals the JSON string `key` (the last one). */
static rep_json get_json_key(rep_json obj, rep_json key)
{
    rep_json_iter it;
    rep_json k, v, found = MISSING;
    rep_json_iter_init(&it, obj);
    while (rep_json_iter_next(&it, &k, &v)) {
        if (rep_json_strings_equal(k, key)) {
            found = v;
        }
    }
    return found;
}

/* Whether the key of member number `pos` of `obj` appeared at an earlier member. */
static int repeated_key(rep_json obj, size_t pos, rep_json key)
{
    rep_json_iter it;
    rep_json k;
    size_t i = 0;
    rep_json_iter_init(&it, obj);
    while (i < pos && rep_json_iter_next(&it, &k, NULL)) {
        if (rep_json_strings_equal(k, key)) {
            return 1;
        }
        i++;
    }
    return 0;
}

/* ---- fault injection: with._mock ---- */

typedef struct faults {
    uint64_t delay_ms;
    uint32_t fail_times;
    int fail, retriable, panic;
    rep_json output;
} faults;

static rep_step_result bad_mock(rep_step *step, const char *msg, rep_json v)
{
    rep_step_fail_with(step, 2001, msg, v);
    rep_step_set_retriable(step, false);
    return REP_STEP_FAILED;
}

static int mock_number(rep_json v, uint64_t *out)
{
    char buf[32];
    const char *p = buf;
    size_t n;
    long len;
    if (rep_json_typeof(v) == REP_JSON_NUMBER) {
        return parse_u64(v.p, v.n, out) && v.p[0] != '+';
    }
    len = rep_json_string_decode(v, buf, sizeof buf);
    if (len < 0) {
        return 0;
    }
    n = (size_t)len;
    trim(&p, &n);
    return parse_u64(p, n, out);
}

static int mock_bool(rep_json v, int *out)
{
    if (rep_json_typeof(v) == REP_JSON_BOOL) {
        *out = v.p[0] == 't';
        return 1;
    }
    if (rep_json_string_equals(v, "true", 4) || rep_json_string_equals(v, "false", 5)) {
        *out = rep_json_string_equals(v, "true", 4);
        return 1;
    }
    return 0;
}

/* Parses _mock; on a bad one fails the step and returns -1. */
static int parse_faults(rep_step *step, rep_json mock, faults *f)
{
    rep_json_iter it;
    rep_json k, v;
    memset(f, 0, sizeof *f);
    f->retriable = 1;
    if (rep_json_typeof(mock) != REP_JSON_OBJECT) {
        bad_mock(step, "_mock must be an object, got ", mock);
        return -1;
    }
    rep_json_iter_init(&it, mock);
    while (rep_json_iter_next(&it, &k, &v)) {
        uint64_t u;
        if (rep_json_string_equals(k, "delay_ms", 8)) {
            if (!mock_number(v, &f->delay_ms)) {
                bad_mock(step, "_mock.delay_ms must be a non-negative integer, got ", v);
                return -1;
            }
        } else if (rep_json_string_equals(k, "fail_times", 10)) {
            if (!mock_number(v, &u)) {
                bad_mock(step, "_mock.fail_times must be a non-negative integer, got ", v);
                return -1;
            }
            if (u > UINT32_MAX) {
                bad_mock(step, "_mock.fail_times is too large", MISSING);
                return -1;
            }
            f->fail_times = (uint32_t)u;
        } else if (rep_json_string_equals(k, "fail", 4)) {
            if (!mock_bool(v, &f->fail)) {
                bad_mock(step, "_mock.fail must be a boolean, got ", v);
                return -1;
            }
        } else if (rep_json_string_equals(k, "retriable", 9)) {
            if (!mock_bool(v, &f->retriable)) {
                bad_mock(step, "_mock.retriable must be a boolean, got ", v);
                return -1;
            }
        } else if (rep_json_string_equals(k, "panic", 5)) {
            if (!mock_bool(v, &f->panic)) {
                bad_mock(step, "_mock.panic must be a boolean, got ", v);
                return -1;
            }
        } else if (rep_json_string_equals(k, "output", 6)) {
            if (rep_json_typeof(v) != REP_JSON_OBJECT) {
                bad_mock(step, "_mock.output must be an object", MISSING);
                return -1;
            }
            f->output = v;
        } else {
            bad_mock(step, "unknown key _mock.", k);
            return -1;
        }
    }
    return 0;
}

typedef rep_step_result (*mock_fn)(rep_step *step, rep_json with, rep_writer *out);

/* `with` without its `_mock` members. */
static char stripped[REP_WITH_BYTES];

static rep_json strip_mock(rep_json with)
{
    rep_writer w;
    rep_json_iter it;
    rep_json k, v, out;
    rep_writer_init(&w, stripped, sizeof stripped);
    rep_w_begin_object(&w);
    rep_json_iter_init(&it, with);
    while (rep_json_iter_next(&it, &k, &v)) {
        if (!rep_json_string_equals(k, "_mock", 5)) {
            rep_w_key_json(&w, k);
            rep_w_value(&w, v);
        }
    }
    rep_w_end_object(&w);
    /* It is shorter than `with`, which fitted in the same size. */
    out.p = stripped;
    out.n = w.len;
    return out;
}

static rep_step_result with_faults(rep_step *step, rep_json with, rep_writer *out, mock_fn inner)
{
    rep_json mock = rep_json_get(with, "_mock");
    faults f;
    uint32_t attempt = rep_step_attempt(step);
    if (rep_json_typeof(mock) == REP_JSON_MISSING) {
        return inner(step, with, out);
    }
    if (parse_faults(step, mock, &f) != 0) {
        return REP_STEP_FAILED;
    }
    if (f.delay_ms > 0) {
        uint64_t elapsed = rep_step_elapsed_ms(step);
        if (rep_step_cancelled(step)) {
            char msg[64];
            msgbuf m;
            m_init(&m, msg, sizeof msg);
            m_str(&m, "_mock: cancelled during delay_ms ");
            m_u64(&m, f.delay_ms);
            rep_step_fail(step, 2001, msg);
            rep_step_set_cause(step, "cancelled");
            rep_step_set_retriable(step, false);
            return REP_STEP_FAILED;
        }
        if (elapsed < f.delay_ms) {
            uint64_t left = f.delay_ms - elapsed;
            return rep_step_wait(step, left > 1000 ? 1000 : (uint32_t)left);
        }
    }
    if (f.fail || attempt <= f.fail_times) {
        char msg[96];
        msgbuf m;
        m_init(&m, msg, sizeof msg);
        m_str(&m, "_mock: injected failure of attempt ");
        m_u64(&m, attempt);
        if (f.fail) {
            m_str(&m, " (fail: true)");
        } else {
            m_str(&m, " (fail_times: ");
            m_u64(&m, f.fail_times);
            m_str(&m, ")");
        }
        rep_step_fail(step, 2001, msg);
        if (!f.retriable) {
            rep_step_set_retriable(step, false);
        }
        return REP_STEP_FAILED;
    }
    if (f.panic) {
        rep_step_fail(step, 3002, "step handler panicked: _mock: injected panic");
        rep_step_set_cause(step, "panic");
        rep_step_set_retriable(step, false);
        return REP_STEP_FAILED;
    }
    if (f.output.p) {
        rep_w_value(out, f.output);
        return REP_STEP_DONE;
    }
    return inner(step, strip_mock(with), out);
}

/* ---- the step kinds ---- */

static rep_step_result opcua_read(rep_step *step, rep_json with, rep_writer *out)
{
    rep_json overrides = rep_json_get(rep_step_inputs(step), "mock_values");
    rep_json ids = rep_json_get(with, "node_ids");
    rep_json_type t = rep_json_typeof(ids);
    rep_json_iter it;
    rep_json id;
    if (t != REP_JSON_ARRAY && t != REP_JSON_NULL && t != REP_JSON_MISSING) {
        rep_step_fail_with(step, 2001, "opcua.read: node_ids must be an array, got ", ids);
        rep_step_set_retriable(step, false);
        return REP_STEP_FAILED;
    }
    if (rep_json_typeof(overrides) != REP_JSON_OBJECT) {
        overrides = MISSING;
    }
    rep_w_begin_object(out);
    rep_w_key(out, "endpoint");
    rep_w_value(out, rep_json_get(with, "endpoint"));
    rep_w_key(out, "values");
    rep_w_begin_object(out);
    rep_json_iter_init(&it, ids);
    while (rep_json_iter_next(&it, NULL, &id)) {
        rep_json value;
        if (rep_json_typeof(id) == REP_JSON_STRING) {
            rep_w_key_json(out, id);
            value = get_json_key(overrides, id);
        } else {
            /* A non-string id is keyed by its JSON text (as Rust's Value::to_string). */
            rep_w_key_n(out, id.p, id.n);
            value = rep_json_get_n(overrides, id.p, id.n);
        }
        if (rep_json_typeof(value) == REP_JSON_NUMBER) {
            rep_w_value(out, value);
        } else {
            rep_w_number_text(out, MOCK_DEFAULT_READING, sizeof MOCK_DEFAULT_READING - 1);
        }
    }
    rep_w_end_object(out);
    rep_w_end_object(out);
    return REP_STEP_DONE;
}

static rep_step_result opcua_write(rep_step *step, rep_json with, rep_writer *out)
{
    (void)step;
    rep_w_begin_object(out);
    rep_w_key(out, "endpoint");
    rep_w_value(out, rep_json_get(with, "endpoint"));
    rep_w_key(out, "node_id");
    rep_w_value(out, rep_json_get(with, "node_id"));
    rep_w_key(out, "value");
    rep_w_value(out, rep_json_get(with, "value"));
    rep_w_key(out, "status");
    rep_w_string(out, "ok");
    rep_w_end_object(out);
    return REP_STEP_DONE;
}

static rep_step_result dsl_emit(rep_step *step, rep_json with, rep_writer *out)
{
    (void)step;
    rep_w_value(out, with);
    return REP_STEP_DONE;
}

/* What the emit expressions of pdl/v0 can see. */
typedef struct policy_scope {
    const char *action;
    size_t action_len;
    int has_temp;
    num temp;
    rep_json arm;
} policy_scope;

/* The member of the arm named by the `n` bytes at `key`. */
static void eval_arm(const policy_scope *s, const char *key, size_t n, rep_writer *w)
{
    rep_json v = rep_json_get_n(s->arm, key, n);
    num x;
    if (rep_json_typeof(v) == REP_JSON_STRING) {
        if (number(v, &x)) {
            write_num(w, &x);
        } else {
            rep_w_value(w, v);
        }
        return;
    }
    rep_w_value(w, v);
}

/* A scalar emit expression: a quoted string, an integer, a float, `action`, `temp`,
 * `arms.active.<key>` / `arms.default.<key>`, else the text itself as a string. */
static void eval_scalar(const policy_scope *s, const char *p, size_t n, rep_writer *w)
{
    int64_t i64;
    num x;
    if (n >= 2 && p[0] == '"' && p[n - 1] == '"') {
        rep_w_string_n(w, p + 1, n - 2);
        return;
    }
    if (parse_i64(p, n, &i64)) {
        rep_w_int(w, i64);
        return;
    }
    if (parse_float(p, n, &x)) {
        write_num(w, &x);
        return;
    }
    if (n == 6 && memcmp(p, "action", 6) == 0) {
        rep_w_string_n(w, s->action, s->action_len);
        return;
    }
    if (n == 4 && memcmp(p, "temp", 4) == 0) {
        if (s->has_temp) {
            write_num(w, &s->temp);
        } else {
            rep_w_null(w);
        }
        return;
    }
    if (n >= 12 && memcmp(p, "arms.active.", 12) == 0) {
        eval_arm(s, p + 12, n - 12, w);
        return;
    }
    if (n >= 13 && memcmp(p, "arms.default.", 13) == 0) {
        eval_arm(s, p + 13, n - 13, w);
        return;
    }
    rep_w_string_n(w, p, n);
}

/* An object expression `{ k: v, … }` being evaluated: its members not yet evaluated are
 * `next..end` (end: its closing brace). */
typedef struct eval_frame {
    const char *next, *end;
} eval_frame;

/* The explicit stack of eval: one level per open object expression. */
static eval_frame eval_stack[EVAL_DEPTH];

/* The next member `key: value` of the object expression `f` (split at the commas outside
 * braces; blank parts and parts without a colon are skipped). Returns 0 when there is none. */
static int next_member(eval_frame *f, const char **key, size_t *key_n, const char **value,
                       size_t *value_n)
{
    while (f->next <= f->end) {
        const char *part = f->next, *q = f->next, *colon, *tp = part;
        size_t braces = 0, plen, tn;
        while (q < f->end && !(*q == ',' && braces == 0)) {
            if (*q == '{') {
                braces++;
            } else if (*q == '}') {
                braces = braces > 0 ? braces - 1 : 0;
            }
            q++;
        }
        plen = (size_t)(q - part);
        f->next = q + 1;
        tn = plen;
        trim(&tp, &tn);
        colon = memchr(part, ':', plen);
        if (tn == 0 || !colon) {
            continue;
        }
        *key = part;
        *key_n = (size_t)(colon - part);
        trim(key, key_n);
        while (*key_n > 0 && (*key)[0] == '"') {
            (*key)++;
            (*key_n)--;
        }
        while (*key_n > 0 && (*key)[*key_n - 1] == '"') {
            (*key_n)--;
        }
        *value = colon + 1;
        *value_n = (size_t)(part + plen - colon - 1);
        return 1;
    }
    return 0;
}

/* Evaluates an emit expression (policy.rs EmitScope::eval): object expressions nest up to
 * EVAL_DEPTH levels (deeper ones are null), walked on eval_stack, not by recursion. */
static void eval(const policy_scope *s, const char *p, size_t n, rep_writer *w)
{
    size_t depth = 0; /* object expressions open */
    for (;;) {
        trim(&p, &n);
        if (n >= 2 && p[0] == '{' && p[n - 1] == '}') {
            if (depth >= EVAL_DEPTH) {
                rep_w_null(w);
            } else {
                rep_w_begin_object(w);
                eval_stack[depth].next = p + 1;
                eval_stack[depth].end = p + n - 1;
                depth++;
            }
        } else {
            eval_scalar(s, p, n, w);
        }
        /* The next member of the innermost open object; objects without one are closed. */
        for (;;) {
            const char *key;
            size_t key_n;
            if (depth == 0) {
                return;
            }
            if (next_member(&eval_stack[depth - 1], &key, &key_n, &p, &n)) {
                rep_w_key_n(w, key, key_n);
                break;
            }
            rep_w_end_object(w);
            depth--;
        }
    }
}

/* Fails the step (not retriable); `v` is appended to the message unless missing. */
static rep_step_result policy_error(rep_step *step, const char *msg, rep_json v)
{
    if (v.p || msg[strlen(msg) - 1] == ' ') {
        rep_step_fail_with(step, 2001, msg, v);
    } else {
        rep_step_fail(step, 2001, msg);
    }
    rep_step_set_retriable(step, false);
    return REP_STEP_FAILED;
}

static rep_step_result policy_apply(rep_step *step, rep_json with, rep_writer *out)
{
    static char text[TEXT_BYTES];
    rep_json policy = rep_json_get(
        rep_json_get(rep_json_get(rep_step_ir(step), "constants"), "policy"), "policy");
    rep_json strategy, params, arm, values, emit, k, v, violation, threshold;
    rep_json_iter it;
    policy_scope scope;
    size_t pos = 0;
    num th;
    if (rep_json_typeof(policy) != REP_JSON_OBJECT) {
        return policy_error(step, "policy.apply: constants.policy.policy is missing or not an object",
                            MISSING);
    }
    strategy = rep_json_get(policy, "strategy");
    if (!rep_json_string_equals(strategy, "pdl/v0", 6)) {
        return policy_error(step, "policy.apply: expected policy strategy \"pdl/v0\", found ",
                            strategy);
    }
    params = rep_json_get(policy, "params");
    if (rep_json_typeof(params) != REP_JSON_OBJECT) {
        return policy_error(step, "policy.apply: policy params are missing", MISSING);
    }
    arm = rep_json_get(rep_json_get(params, "arms"), "default");
    if (rep_json_typeof(arm) != REP_JSON_OBJECT) {
        arm.p = "{}";
        arm.n = 2;
    }
    values = rep_json_get(with, "values");
    memset(&scope, 0, sizeof scope);
    scope.arm = arm;
    /* The reading: the first numeric value of `values`, in serde_json Map order (each key at
     * its first place, with its last value). */
    rep_json_iter_init(&it, values);
    while (!scope.has_temp && rep_json_iter_next(&it, &k, NULL)) {
        if (!repeated_key(values, pos, k) && number(get_json_key(values, k), &scope.temp)) {
            scope.has_temp = 1;
        }
        pos++;
    }
    violation = rep_json_get(arm, "action_on_violation");
    scope.action = "NONE";
    scope.action_len = 4;
    if (rep_json_typeof(violation) == REP_JSON_STRING) {
        long n = rep_json_string_decode(violation, text, sizeof text);
        if (n >= 0) {
            scope.action = text;
            scope.action_len = (size_t)n;
        }
    }
    threshold = rep_json_get(arm, "threshold");
    if (number(threshold, &th) && !(scope.has_temp && num_ge(&scope.temp, &th))) {
        scope.action = "NONE";
        scope.action_len = 4;
    }
    emit = rep_json_get(params, "emit");
    rep_w_begin_object(out);
    if (rep_json_typeof(emit) != REP_JSON_OBJECT) {
        rep_w_key(out, "action");
        rep_w_string_n(out, scope.action, scope.action_len);
    } else {
        static char expr[TEXT_BYTES];
        rep_json_iter_init(&it, emit);
        while (rep_json_iter_next(&it, &k, &v)) {
            rep_w_key_json(out, k);
            if (rep_json_typeof(v) == REP_JSON_STRING) {
                long n = rep_json_string_decode(v, expr, sizeof expr);
                if (n >= 0) {
                    eval(&scope, expr, (size_t)n, out);
                } else {
                    rep_w_value(out, v);
                }
            } else {
                rep_w_value(out, v);
            }
        }
    }
    rep_w_end_object(out);
    return REP_STEP_DONE;
}

/* ---- registration ---- */

static rep_step_result read_step(rep_step *s, rep_json with, rep_writer *out, void *user)
{
    (void)user;
    return with_faults(s, with, out, opcua_read);
}

static rep_step_result write_step(rep_step *s, rep_json with, rep_writer *out, void *user)
{
    (void)user;
    return with_faults(s, with, out, opcua_write);
}

static rep_step_result policy_step(rep_step *s, rep_json with, rep_writer *out, void *user)
{
    (void)user;
    return with_faults(s, with, out, policy_apply);
}

static rep_step_result emit_step(rep_step *s, rep_json with, rep_writer *out, void *user)
{
    (void)user;
    return with_faults(s, with, out, dsl_emit);
}

rep_err mock_steps_register(rep_executor *ex)
{
    rep_err err = rep_executor_add_step(ex, "opcua.read", read_step, NULL);
    if (err == REP_OK) {
        err = rep_executor_add_step(ex, "opcua.write", write_step, NULL);
    }
    if (err == REP_OK) {
        err = rep_executor_add_step(ex, "policy.apply", policy_step, NULL);
    }
    if (err == REP_OK) {
        err = rep_executor_add_step(ex, "dsl.emit", emit_step, NULL);
    }
    return err;
}

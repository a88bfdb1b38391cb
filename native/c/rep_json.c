/*
 * rep_json.c — the JSON validator, the cursor functions over validated text, string decoding,
 * numbers, and the writer (rep_json.h). Every scan is bounded by the end of its slice; nesting
 * is tracked in a 64-bit mask, never by recursion. Needs nothing of the executor library.
 */
#include <string.h>

#include "rep_json.h"

const char *rep_err_str(rep_err err)
{
    switch (err) {
    case REP_OK:
        return "REP_OK: success";
    case REP_ERR_SYNTAX:
        return "REP_ERR_SYNTAX: not valid JSON";
    case REP_ERR_TYPE:
        return "REP_ERR_TYPE: a JSON value of another type";
    case REP_ERR_RANGE:
        return "REP_ERR_RANGE: a value out of range or too long for its buffer";
    case REP_ERR_FULL:
        return "REP_ERR_FULL: a table sized by a limit is full (REP_MAX_KINDS)";
    case REP_ERR_ARG:
        return "REP_ERR_ARG: an invalid argument (NULL or empty)";
    case REP_ERR_LAYOUT:
        return "REP_ERR_LAYOUT: the rep_executor was compiled with other limits than the library "
               "(use the same REP_CONFIG_FILE or -D limits for both), or was not initialized";
    case REP_ERR_IO:
        return "REP_ERR_IO: writing a response failed (the host is gone)";
    case REP_ERR_BUSY:
        return "REP_ERR_BUSY: called from inside a step handler (the executor is not reentrant)";
    default:
        return "unknown rep_err";
    }
}

/* ---- lexical helpers ---- */

static bool is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

const char *rep_skip_ws(const char *p, const char *end)
{
    while (p < end && is_ws(*p)) {
        p++;
    }
    return p;
}

rep_json rep_json_slice(const char *p, const char *end)
{
    rep_json v;
    p = rep_skip_ws(p, end);
    while (end > p && is_ws(end[-1])) {
        end--;
    }
    v.p = p;
    v.n = (size_t)(end - p);
    return v;
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

/* Four hex digits at p (bounded by end) → *cp; 0 when not. */
static int hex4(const char *p, const char *end, unsigned *cp)
{
    unsigned v = 0;
    int i;
    if (end - p < 4) {
        return 0;
    }
    for (i = 0; i < 4; i++) {
        int h = hex_value(p[i]);
        if (h < 0) {
            return 0;
        }
        v = (v << 4) | (unsigned)h;
    }
    *cp = v;
    return 1;
}

/* Length of the valid UTF-8 sequence (2–4 bytes) at p, 0 when invalid (Unicode 3-7). */
static size_t utf8_len(const unsigned char *p, const unsigned char *end)
{
    unsigned char c = p[0], lo = 0x80, hi = 0xBF;
    size_t n, i;
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        if (c == 0xE0) {
            lo = 0xA0;
        } else if (c == 0xED) {
            hi = 0x9F;
        }
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        if (c == 0xF0) {
            lo = 0x90;
        } else if (c == 0xF4) {
            hi = 0x8F;
        }
    } else {
        return 0;
    }
    if ((size_t)(end - p) < n) {
        return 0;
    }
    if (p[1] < lo || p[1] > hi) {
        return 0;
    }
    for (i = 2; i < n; i++) {
        if (p[i] < 0x80 || p[i] > 0xBF) {
            return 0;
        }
    }
    return n;
}

/* ---- validation ---- */

/* Scans the string starting at the quote at p. Returns the byte after its closing quote, or
 * NULL with *why set (and *at the offending position). */
static const char *scan_string(const char *p, const char *end, const char **why,
                               const char **at)
{
    p++;
    while (p < end) {
        unsigned char c = (unsigned char)*p;
        if (c == '"') {
            return p + 1;
        }
        if (c == '\\') {
            unsigned cp = 0;
            *at = p;
            if (p + 1 >= end) {
                break;
            }
            switch (p[1]) {
            case '"':
            case '\\':
            case '/':
            case 'b':
            case 'f':
            case 'n':
            case 'r':
            case 't':
                p += 2;
                continue;
            case 'u':
                if (!hex4(p + 2, end, &cp)) {
                    *why = "invalid \\u escape";
                    return NULL;
                }
                p += 6;
                if (cp >= 0xD800 && cp <= 0xDBFF) {
                    unsigned low = 0;
                    if (end - p < 6 || p[0] != '\\' || p[1] != 'u' || !hex4(p + 2, end, &low) ||
                        low < 0xDC00 || low > 0xDFFF) {
                        *why = "lone leading surrogate in \\u escape";
                        return NULL;
                    }
                    p += 6;
                } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
                    *why = "lone trailing surrogate in \\u escape";
                    return NULL;
                }
                continue;
            default:
                *why = "invalid escape in string";
                return NULL;
            }
        }
        if (c < 0x20) {
            *at = p;
            *why = "control character in string";
            return NULL;
        }
        if (c < 0x80) {
            p++;
        } else {
            size_t n = utf8_len((const unsigned char *)p, (const unsigned char *)end);
            if (n == 0) {
                *at = p;
                *why = "invalid UTF-8";
                return NULL;
            }
            p += n;
        }
    }
    *at = end;
    *why = "unterminated string";
    return NULL;
}

/* Whether the significant digits and decimal exponent of a number put it beyond the largest
 * double (1.7976931348623157e308), which serde_json refuses as out of range. */
static int number_overflows(const char *p, const char *end)
{
    static const char max_digits[] = "17976931348623158";
    char sig[18];
    size_t nsig = 0;
    long first_exp = 0; /* exponent of the first significant digit */
    long exp = 0, int_digits = 0, frac_zeros = 0;
    int seen_nonzero = 0, in_frac = 0, extra_nonzero = 0, exp_neg = 0;
    if (p < end && *p == '-') {
        p++;
    }
    for (; p < end && (is_digit(*p) || *p == '.'); p++) {
        if (*p == '.') {
            in_frac = 1;
            continue;
        }
        if (!seen_nonzero && *p == '0') {
            if (in_frac) {
                frac_zeros++;
            }
            continue;
        }
        if (!seen_nonzero) {
            seen_nonzero = 1;
        }
        if (!in_frac) {
            int_digits++;
        }
        if (nsig < 17) {
            sig[nsig++] = *p;
        } else if (*p != '0') {
            extra_nonzero = 1;
        }
    }
    if (!seen_nonzero) {
        return 0;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < end && (*p == '+' || *p == '-')) {
            exp_neg = *p == '-';
            p++;
        }
        for (; p < end && is_digit(*p); p++) {
            if (exp < 100000) {
                exp = exp * 10 + (*p - '0');
            }
        }
    }
    first_exp = int_digits > 0 ? int_digits - 1 : -(frac_zeros + 1);
    first_exp += exp_neg ? -exp : exp;
    if (first_exp != 308) {
        return first_exp > 308;
    }
    while (nsig < 17) {
        sig[nsig++] = '0';
    }
    {
        int cmp = memcmp(sig, max_digits, 17);
        return cmp > 0 || (cmp == 0 && extra_nonzero);
    }
}

/* Scans the number at p. Returns its end, or NULL. */
static const char *scan_number(const char *p, const char *end)
{
    const char *start = p;
    if (p < end && *p == '-') {
        p++;
    }
    if (p >= end || !is_digit(*p)) {
        return NULL;
    }
    if (*p == '0') {
        p++;
    } else {
        while (p < end && is_digit(*p)) {
            p++;
        }
    }
    if (p < end && *p == '.') {
        p++;
        if (p >= end || !is_digit(*p)) {
            return NULL;
        }
        while (p < end && is_digit(*p)) {
            p++;
        }
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < end && (*p == '+' || *p == '-')) {
            p++;
        }
        if (p >= end || !is_digit(*p)) {
            return NULL;
        }
        while (p < end && is_digit(*p)) {
            p++;
        }
    }
    if (number_overflows(start, p)) {
        return NULL;
    }
    return p;
}

bool rep_is_json_number(const char *p, size_t n)
{
    return n > 0 && scan_number(p, p + n) == p + n;
}

static const char *scan_literal(const char *p, const char *end)
{
    static const char *const words[3] = {"true", "false", "null"};
    int i;
    for (i = 0; i < 3; i++) {
        size_t n = strlen(words[i]);
        if ((size_t)(end - p) >= n && memcmp(p, words[i], n) == 0) {
            return p + n;
        }
    }
    return NULL;
}

enum parse_state { ST_VALUE, ST_VALUE_OR_CLOSE, ST_KEY_OR_CLOSE, ST_KEY, ST_COLON, ST_AFTER };

rep_err rep_json_parse(const char *text, size_t len, rep_json *out, size_t *error_at,
                       const char **why)
{
    const char *p = text, *end = text + len, *start, *bad = NULL;
    uint64_t is_object = 0;
    int depth = 0;
    enum parse_state st = ST_VALUE;
    const char *reason = "unexpected character";

    p = rep_skip_ws(p, end);
    start = p;
    /* Every turn consumes at least one byte, except ST_VALUE_OR_CLOSE and ST_KEY_OR_CLOSE,
     * which move on to a state that does: at most 2 * len turns. */
    for (;;) {
        p = rep_skip_ws(p, end);
        if (st == ST_AFTER && depth == 0) {
            if (p != end) {
                reason = "trailing characters after the JSON value";
                bad = p;
                goto fail;
            }
            out->p = start;
            out->n = (size_t)(p - start);
            while (out->n > 0 && is_ws(start[out->n - 1])) {
                out->n--;
            }
            return REP_OK;
        }
        if (p >= end) {
            reason = "unexpected end of input";
            bad = end;
            goto fail;
        }
        switch (st) {
        case ST_VALUE_OR_CLOSE:
            if (*p == ']') {
                p++;
                depth--;
                st = ST_AFTER;
            } else {
                st = ST_VALUE;
            }
            continue;
        case ST_KEY_OR_CLOSE:
            if (*p == '}') {
                p++;
                depth--;
                st = ST_AFTER;
            } else {
                st = ST_KEY;
            }
            continue;
        case ST_KEY:
            if (*p != '"') {
                reason = "expected a string key";
                bad = p;
                goto fail;
            }
            p = scan_string(p, end, &reason, &bad);
            if (!p) {
                goto fail;
            }
            st = ST_COLON;
            continue;
        case ST_COLON:
            if (*p != ':') {
                reason = "expected ':'";
                bad = p;
                goto fail;
            }
            p++;
            st = ST_VALUE;
            continue;
        case ST_AFTER:
            if (*p == ',') {
                p++;
                st = (is_object >> depth) & 1u ? ST_KEY : ST_VALUE;
            } else if (*p == '}' && ((is_object >> depth) & 1u)) {
                p++;
                depth--;
            } else if (*p == ']' && !((is_object >> depth) & 1u)) {
                p++;
                depth--;
            } else {
                reason = "expected ',' or the end of the container";
                bad = p;
                goto fail;
            }
            continue;
        case ST_VALUE:
        default:
            break;
        }
        /* ST_VALUE */
        switch (*p) {
        case '{':
        case '[':
            if (depth >= REP_MAX_DEPTH) {
                reason = "nesting deeper than REP_MAX_DEPTH";
                bad = p;
                goto fail;
            }
            depth++;
            if (*p == '{') {
                is_object |= (uint64_t)1 << depth;
                st = ST_KEY_OR_CLOSE;
            } else {
                is_object &= ~((uint64_t)1 << depth);
                st = ST_VALUE_OR_CLOSE;
            }
            p++;
            continue;
        case '"':
            p = scan_string(p, end, &reason, &bad);
            if (!p) {
                goto fail;
            }
            break;
        case 't':
        case 'f':
        case 'n':
            bad = p;
            p = scan_literal(p, end);
            if (!p) {
                reason = "invalid literal";
                goto fail;
            }
            break;
        default:
            bad = p;
            if (*p != '-' && !is_digit(*p)) {
                reason = "expected a JSON value";
                goto fail;
            }
            p = scan_number(p, end);
            if (!p) {
                reason = "invalid number or number out of range";
                goto fail;
            }
            break;
        }
        st = ST_AFTER;
    }
fail:
    if (error_at) {
        *error_at = (size_t)((bad ? bad : end) - text);
    }
    if (why) {
        *why = reason;
    }
    return REP_ERR_SYNTAX;
}

/* ---- cursor functions over validated text ---- */

static const char *string_end(const char *p, const char *end)
{
    p++;
    while (p < end) {
        if (*p == '\\') {
            p += 2;
            continue;
        }
        if (*p == '"') {
            return p + 1;
        }
        p++;
    }
    return end;
}

const char *rep_value_end(const char *p, const char *end)
{
    long depth = 0;
    if (p >= end) {
        return end;
    }
    if (*p == '"') {
        return string_end(p, end);
    }
    if (*p != '{' && *p != '[') {
        while (p < end && !is_ws(*p) && *p != ',' && *p != ']' && *p != '}' && *p != ':') {
            p++;
        }
        return p;
    }
    while (p < end) {
        char c = *p;
        if (c == '"') {
            p = string_end(p, end);
            continue;
        }
        if (c == '{' || c == '[') {
            depth++;
        } else if (c == '}' || c == ']') {
            depth--;
            if (depth == 0) {
                return p + 1;
            }
        }
        p++;
    }
    return end;
}

rep_json_type rep_json_typeof(rep_json v)
{
    if (!v.p || v.n == 0) {
        return REP_JSON_MISSING;
    }
    switch (v.p[0]) {
    case 'n':
        return REP_JSON_NULL;
    case 't':
    case 'f':
        return REP_JSON_BOOL;
    case '"':
        return REP_JSON_STRING;
    case '[':
        return REP_JSON_ARRAY;
    case '{':
        return REP_JSON_OBJECT;
    default:
        return REP_JSON_NUMBER;
    }
}

void rep_json_iter_init(rep_json_iter *it, rep_json v)
{
    rep_json_type t = rep_json_typeof(v);
    if ((t == REP_JSON_OBJECT || t == REP_JSON_ARRAY) && v.n >= 2) {
        it->p = v.p + 1;
        it->end = v.p + v.n - 1;
        it->object = t == REP_JSON_OBJECT;
    } else {
        it->p = it->end = v.p;
        it->object = 0;
    }
}

bool rep_json_iter_next(rep_json_iter *it, rep_json *key, rep_json *value)
{
    const char *p = rep_skip_ws(it->p, it->end), *e;
    if (p < it->end && *p == ',') {
        p = rep_skip_ws(p + 1, it->end);
    }
    if (p >= it->end) {
        it->p = it->end;
        return false;
    }
    if (it->object) {
        e = rep_value_end(p, it->end);
        if (key) {
            key->p = p;
            key->n = (size_t)(e - p);
        }
        p = rep_skip_ws(e, it->end);
        if (p < it->end && *p == ':') {
            p++;
        }
        p = rep_skip_ws(p, it->end);
    } else if (key) {
        key->p = NULL;
        key->n = 0;
    }
    e = rep_value_end(p, it->end);
    if (value) {
        value->p = p;
        value->n = (size_t)(e - p);
    }
    it->p = e;
    return true;
}

/* ---- strings ---- */

void rep_strdec_init(rep_strdec *d, rep_json s)
{
    if (rep_json_typeof(s) == REP_JSON_STRING && s.n >= 2) {
        d->p = s.p + 1;
        d->end = s.p + s.n - 1;
    } else {
        d->p = d->end = s.p;
    }
    d->npend = d->ipend = 0;
}

static int utf8_encode(unsigned cp, unsigned char *out)
{
    if (cp < 0x80) {
        out[0] = (unsigned char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (unsigned char)(0xC0 | (cp >> 6));
        out[1] = (unsigned char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (unsigned char)(0xE0 | (cp >> 12));
        out[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (unsigned char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (unsigned char)(0xF0 | (cp >> 18));
    out[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (unsigned char)(0x80 | (cp & 0x3F));
    return 4;
}

int rep_strdec_next(rep_strdec *d)
{
    unsigned cp = 0;
    if (d->ipend < d->npend) {
        return d->pend[d->ipend++];
    }
    if (d->p >= d->end) {
        return -1;
    }
    if (*d->p != '\\') {
        return (unsigned char)*d->p++;
    }
    if (d->end - d->p < 2) {
        d->p = d->end;
        return -1;
    }
    switch (d->p[1]) {
    case 'b':
        d->p += 2;
        return '\b';
    case 'f':
        d->p += 2;
        return '\f';
    case 'n':
        d->p += 2;
        return '\n';
    case 'r':
        d->p += 2;
        return '\r';
    case 't':
        d->p += 2;
        return '\t';
    case 'u':
        break;
    default: {
        int c = (unsigned char)d->p[1];
        d->p += 2;
        return c;
    }
    }
    if (!hex4(d->p + 2, d->end, &cp)) {
        d->p = d->end;
        return -1;
    }
    d->p += 6;
    if (cp >= 0xD800 && cp <= 0xDBFF) {
        unsigned low = 0;
        if (d->end - d->p >= 6 && hex4(d->p + 2, d->end, &low)) {
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
            d->p += 6;
        }
    }
    d->npend = utf8_encode(cp, d->pend);
    d->ipend = 1;
    return d->pend[0];
}

bool rep_json_string_equals(rep_json s, const char *bytes, size_t n)
{
    rep_strdec d;
    size_t i;
    if (rep_json_typeof(s) != REP_JSON_STRING) {
        return false;
    }
    /* Fast path: no escapes, same bytes. */
    if (s.n == n + 2 && memchr(s.p, '\\', s.n) == NULL) {
        return memcmp(s.p + 1, bytes, n) == 0;
    }
    rep_strdec_init(&d, s);
    for (i = 0; i < n; i++) {
        if (rep_strdec_next(&d) != (unsigned char)bytes[i]) {
            return false;
        }
    }
    return rep_strdec_next(&d) < 0;
}

bool rep_json_strings_equal(rep_json a, rep_json b)
{
    rep_strdec da, db;
    int ca;
    if (rep_json_typeof(a) != REP_JSON_STRING || rep_json_typeof(b) != REP_JSON_STRING) {
        return false;
    }
    if (a.n == b.n && memcmp(a.p, b.p, a.n) == 0) {
        return true;
    }
    rep_strdec_init(&da, a);
    rep_strdec_init(&db, b);
    /* Each turn consumes at least one byte of each side, or ends. */
    do {
        int cb;
        ca = rep_strdec_next(&da);
        cb = rep_strdec_next(&db);
        if (ca != cb) {
            return false;
        }
    } while (ca >= 0);
    return true;
}

long rep_json_string_decode(rep_json s, char *out, size_t cap)
{
    rep_strdec d;
    size_t n = 0;
    int c;
    if (rep_json_typeof(s) != REP_JSON_STRING) {
        return REP_ERR_TYPE;
    }
    rep_strdec_init(&d, s);
    while ((c = rep_strdec_next(&d)) >= 0) {
        if (n >= cap) {
            return REP_ERR_RANGE;
        }
        out[n++] = (char)c;
    }
    return (long)n;
}

rep_json rep_json_get_n(rep_json obj, const char *key, size_t n)
{
    rep_json_iter it;
    rep_json k, v, found = {NULL, 0};
    if (rep_json_typeof(obj) != REP_JSON_OBJECT) {
        return found;
    }
    rep_json_iter_init(&it, obj);
    while (rep_json_iter_next(&it, &k, &v)) {
        if (rep_json_string_equals(k, key, n)) {
            found = v;
        }
    }
    return found;
}

rep_json rep_json_get(rep_json obj, const char *key)
{
    return rep_json_get_n(obj, key, strlen(key));
}

/* ---- numbers ---- */

rep_err rep_json_to_u32(rep_json v, uint32_t max, uint32_t *out)
{
    uint64_t acc = 0;
    size_t i;
    if (v.n == 0 || v.p == NULL) {
        return REP_ERR_TYPE;
    }
    for (i = 0; i < v.n; i++) {
        if (!is_digit(v.p[i])) {
            return REP_ERR_TYPE;
        }
        if (acc <= max) {
            acc = acc * 10 + (uint64_t)(v.p[i] - '0');
        }
    }
    if (acc > max) {
        return REP_ERR_RANGE;
    }
    *out = (uint32_t)acc;
    return REP_OK;
}

rep_err rep_json_to_double(rep_json v, double *out)
{
    static const double pow10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                   1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                   1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
    const char *p = v.p, *end = v.p + v.n;
    uint64_t mant = 0;
    long exp10 = 0, e = 0;
    int neg = 0, digits = 0, eneg = 0;
    double x;
    if (rep_json_typeof(v) != REP_JSON_NUMBER) {
        return REP_ERR_TYPE;
    }
    if (p < end && *p == '-') {
        neg = 1;
        p++;
    }
    for (; p < end && is_digit(*p); p++) {
        if (digits < 19) {
            mant = mant * 10 + (uint64_t)(*p - '0');
            if (mant) {
                digits++;
            }
        } else {
            exp10++;
        }
    }
    if (p < end && *p == '.') {
        for (p++; p < end && is_digit(*p); p++) {
            if (digits < 19) {
                mant = mant * 10 + (uint64_t)(*p - '0');
                if (mant) {
                    digits++;
                }
                exp10--;
            }
        }
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < end && (*p == '+' || *p == '-')) {
            eneg = *p == '-';
            p++;
        }
        for (; p < end && is_digit(*p); p++) {
            if (e < 100000) {
                e = e * 10 + (*p - '0');
            }
        }
    }
    exp10 += eneg ? -e : e;
    x = (double)mant;
    if (mant != 0) {
        /* Bounded: |exp10| <= 100000 + 19 + digits of the number, in steps of 22; stop once
         * the value is 0 or infinite. */
        while (exp10 > 22 && x < 1e308) {
            x *= 1e22;
            exp10 -= 22;
        }
        while (exp10 < -22 && x > 0) {
            x /= 1e22;
            exp10 += 22;
        }
        if (exp10 > 0 && exp10 <= 22) {
            x *= pow10[exp10];
        } else if (exp10 < 0 && exp10 >= -22) {
            x /= pow10[-exp10];
        }
    }
    *out = neg ? -x : x;
    return REP_OK;
}

/* ---- the writer ---- */

void rep_writer_init(rep_writer *w, char *buf, size_t cap)
{
    (void)memset(w, 0, sizeof *w);
    w->buf = buf;
    w->cap = cap;
}

rep_err rep_w_flush(rep_writer *w)
{
    if (w->failed) {
        return REP_ERR_IO;
    }
    if (w->flush && w->len > 0) {
        if (w->flush(w->flush_ctx, w->buf, w->len) != 0) {
            w->failed = 1;
            return REP_ERR_IO;
        }
        w->len = 0;
    }
    return REP_OK;
}

void rep_w_raw(rep_writer *w, const char *bytes, size_t n)
{
    if (w->overflow || w->failed) {
        return;
    }
    /* A streaming writer hands a piece larger than its buffer to the callback as it is: one
     * call instead of one per buffer. */
    if (w->flush && n >= w->cap) {
        if (rep_w_flush(w) == REP_OK && w->flush(w->flush_ctx, bytes, n) != 0) {
            w->failed = 1;
        }
        return;
    }
    while (n > 0) {
        size_t room = w->cap - w->len, k;
        if (room == 0) {
            if (!w->flush) {
                w->overflow = 1;
                return;
            }
            if (rep_w_flush(w) != 0) {
                return;
            }
            room = w->cap;
        }
        k = n < room ? n : room;
        (void)memcpy(w->buf + w->len, bytes, k);
        w->len += k;
        bytes += k;
        n -= k;
    }
}

void rep_w_item(rep_writer *w)
{
    uint64_t bit;
    if (w->after_key) {
        w->after_key = 0;
        return;
    }
    if (w->depth <= 0) {
        return;
    }
    bit = (uint64_t)1 << w->depth;
    if (w->has_item & bit) {
        rep_w_raw(w, ",", 1);
    } else {
        w->has_item |= bit;
    }
}

void rep_w_escaped(rep_writer *w, const char *s, size_t n, size_t max_out)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)s, *end = p + n;
    size_t out = 0;
    while (p < end) {
        char esc[8];
        const char *piece;
        size_t len = 2, adv = 1;
        unsigned char c = *p;
        if (c == '"') {
            piece = "\\\"";
        } else if (c == '\\') {
            piece = "\\\\";
        } else if (c == '\n') {
            piece = "\\n";
        } else if (c == '\r') {
            piece = "\\r";
        } else if (c == '\t') {
            piece = "\\t";
        } else if (c == '\b') {
            piece = "\\b";
        } else if (c == '\f') {
            piece = "\\f";
        } else if (c < 0x20) {
            (void)memcpy(esc, "\\u00", 4);
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 15];
            piece = esc;
            len = 6;
        } else if (c < 0x80) {
            piece = (const char *)p;
            len = 1;
        } else {
            adv = utf8_len(p, end);
            if (adv == 0) {
                /* Not UTF-8: the replacement character, so the output stays valid JSON. */
                piece = "\\ufffd";
                len = 6;
                adv = 1;
            } else {
                piece = (const char *)p;
                len = adv;
            }
        }
        if (out + len > max_out) {
            return;
        }
        rep_w_raw(w, piece, len);
        out += len;
        p += adv;
    }
}

void rep_w_string_n(rep_writer *w, const char *s, size_t n)
{
    rep_w_item(w);
    rep_w_raw(w, "\"", 1);
    rep_w_escaped(w, s, n, (size_t)-1);
    rep_w_raw(w, "\"", 1);
}

void rep_w_string(rep_writer *w, const char *s)
{
    rep_w_string_n(w, s, strlen(s));
}

void rep_w_key_n(rep_writer *w, const char *key, size_t n)
{
    rep_w_string_n(w, key, n);
    rep_w_raw(w, ":", 1);
    w->after_key = 1;
}

void rep_w_key(rep_writer *w, const char *key)
{
    rep_w_key_n(w, key, strlen(key));
}

void rep_w_key_json(rep_writer *w, rep_json key)
{
    rep_w_item(w);
    if (rep_json_typeof(key) == REP_JSON_STRING) {
        rep_w_raw(w, key.p, key.n);
    } else {
        rep_w_raw(w, "\"\"", 2);
    }
    rep_w_raw(w, ":", 1);
    w->after_key = 1;
}

static void open_container(rep_writer *w, const char *c)
{
    rep_w_item(w);
    rep_w_raw(w, c, 1);
    if (w->depth >= 63) {
        w->overflow = 1;
        return;
    }
    w->depth++;
    w->has_item &= ~((uint64_t)1 << w->depth);
}

static void close_container(rep_writer *w, const char *c)
{
    rep_w_raw(w, c, 1);
    if (w->depth > 0) {
        w->depth--;
    }
    w->after_key = 0;
}

void rep_w_begin_object(rep_writer *w)
{
    open_container(w, "{");
}

void rep_w_end_object(rep_writer *w)
{
    close_container(w, "}");
}

void rep_w_begin_array(rep_writer *w)
{
    open_container(w, "[");
}

void rep_w_end_array(rep_writer *w)
{
    close_container(w, "]");
}

size_t rep_format_u64(uint64_t v, char out[20])
{
    char digits[20];
    size_t n = 0;
    do {
        digits[sizeof digits - 1 - n] = (char)('0' + v % 10);
        v /= 10;
        n++;
    } while (v > 0);
    memcpy(out, digits + sizeof digits - n, n);
    return n;
}

void rep_w_u64_raw(rep_writer *w, uint64_t v)
{
    char digits[20];
    rep_w_raw(w, digits, rep_format_u64(v, digits));
}

void rep_w_int(rep_writer *w, int64_t v)
{
    rep_w_item(w);
    if (v < 0) {
        rep_w_raw(w, "-", 1);
        rep_w_u64_raw(w, (uint64_t)0 - (uint64_t)v);
    } else {
        rep_w_u64_raw(w, (uint64_t)v);
    }
}

void rep_w_bool(rep_writer *w, bool v)
{
    rep_w_item(w);
    if (v) {
        rep_w_raw(w, "true", 4);
    } else {
        rep_w_raw(w, "false", 5);
    }
}

void rep_w_null(rep_writer *w)
{
    rep_w_item(w);
    rep_w_raw(w, "null", 4);
}

void rep_w_value(rep_writer *w, rep_json v)
{
    if (rep_json_typeof(v) == REP_JSON_MISSING) {
        rep_w_null(w);
        return;
    }
    rep_w_item(w);
    rep_w_raw(w, v.p, v.n);
}

void rep_w_number_text(rep_writer *w, const char *text, size_t n)
{
    rep_w_item(w);
    rep_w_raw(w, text, n);
}

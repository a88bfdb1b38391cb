/*
 * rep_resolve.c — reference resolution inside a node's `with` (Flow IR dialect,
 * "References").
 *
 * `$input` / `$input.<path>` read the run inputs; `$step.<id>[.<path>]` and
 * `$.vars.<id>[.<path>]` read the output of a step that succeeded earlier. References are whole
 * string values (surrounding Unicode blanks ignored), also nested in objects and arrays; keys
 * are never references. A path walks object keys separated by dots, and array indexes where the
 * value is an array. Anything unresolvable is null. Node ids may contain dots: the longest id
 * that prefixes the path on a segment boundary wins. A string longer than REP_MAX_REF_BYTES is
 * text, never a reference.
 */
#include <string.h>

#include "rep_internal.h"

static const rep_json MISSING = {NULL, 0};

/* Unicode White_Space (what Rust's str::trim removes). */
static int is_space(uint32_t cp)
{
    return (cp >= 0x09 && cp <= 0x0D) || cp == 0x20 || cp == 0x85 || cp == 0xA0 ||
           cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 ||
           cp == 0x202F || cp == 0x205F || cp == 0x3000;
}

/* The code point of the valid UTF-8 sequence at s (n bytes left); its length in *len. */
static uint32_t decode_cp(const unsigned char *s, size_t n, size_t *len)
{
    if (s[0] < 0x80 || n < 2) {
        *len = 1;
        return s[0];
    }
    if (s[0] < 0xE0) {
        *len = 2;
        return ((uint32_t)(s[0] & 0x1F) << 6) | (s[1] & 0x3F);
    }
    if (s[0] < 0xF0 || n < 4) {
        *len = n < 3 ? n : 3;
        return n < 3 ? 0 : ((uint32_t)(s[0] & 0x0F) << 12) | ((uint32_t)(s[1] & 0x3F) << 6) |
                               (s[2] & 0x3F);
    }
    *len = 4;
    return ((uint32_t)(s[0] & 0x07) << 18) | ((uint32_t)(s[1] & 0x3F) << 12) |
           ((uint32_t)(s[2] & 0x3F) << 6) | (s[3] & 0x3F);
}

/* Trims Unicode blanks from both ends of buf[0..*n); returns the new start. */
static const char *trim(const char *buf, size_t *n)
{
    const char *p = buf, *end = buf + *n;
    while (p < end) {
        size_t len;
        uint32_t cp = decode_cp((const unsigned char *)p, (size_t)(end - p), &len);
        if (!is_space(cp)) {
            break;
        }
        p += len;
    }
    while (end > p) {
        const char *q = end - 1;
        size_t len;
        /* Back to the first byte of the last character (at most 3 continuation bytes). */
        while (q > p && ((unsigned char)*q & 0xC0) == 0x80 && end - q < 4) {
            q--;
        }
        if (!is_space(decode_cp((const unsigned char *)q, (size_t)(end - q), &len))) {
            break;
        }
        end = q;
    }
    *n = (size_t)(end - p);
    return p;
}

/* An array index as Rust's usize::from_str reads it: optional '+', then digits. */
static int parse_index(const char *s, size_t n, size_t *out)
{
    size_t i = 0, v = 0;
    if (n > 0 && s[0] == '+') {
        i = 1;
    }
    if (i >= n) {
        return 0;
    }
    for (; i < n; i++) {
        if (s[i] < '0' || s[i] > '9' || v > ((size_t)-1 - 9) / 10) {
            return 0;
        }
        v = v * 10 + (size_t)(s[i] - '0');
    }
    *out = v;
    return 1;
}

/* Walks `path` (segments separated by dots) from `root`. */
static rep_json walk(rep_json root, const char *path, size_t n)
{
    const char *seg = path, *end = path + n;
    rep_json at = root;
    /* One turn per segment: bounded by the path's length. */
    for (;;) {
        const char *dot = memchr(seg, '.', (size_t)(end - seg));
        size_t len = (size_t)((dot ? dot : end) - seg);
        rep_json_type t = rep_json_typeof(at);
        if (t == REP_JSON_OBJECT) {
            at = rep_json_get_n(at, seg, len);
        } else if (t == REP_JSON_ARRAY) {
            size_t index;
            rep_json found = MISSING;
            if (parse_index(seg, len, &index)) {
                rep_json_iter it;
                rep_json item;
                size_t k = 0;
                rep_json_iter_init(&it, at);
                while (rep_json_iter_next(&it, NULL, &item)) {
                    if (k++ == index) {
                        found = item;
                        break;
                    }
                }
            }
            at = found;
        } else {
            return MISSING;
        }
        if (rep_json_typeof(at) == REP_JSON_MISSING || !dot) {
            return at;
        }
        seg = dot + 1;
    }
}

/* The output of the succeeded step whose id is the `n` bytes at `id`, or missing. */
static rep_json step_output(const rep_run *run, const char *id, size_t n)
{
    uint16_t i;
    if (!run) {
        return MISSING;
    }
    for (i = 0; i < run->done_count; i++) {
        uint16_t node = run->done_order[i];
        rep_json nid;
        nid.p = run->ir.p + run->graph.nodes[node].id_off;
        nid.n = run->graph.nodes[node].id_len;
        if (rep_json_string_equals(nid, id, n)) {
            rep_json out;
            out.p = run->output + run->out_off[node];
            out.n = run->out_len[node];
            return out;
        }
    }
    return MISSING;
}

/* `<id>[.<path>]`: the longest step id prefixing `path` on a segment boundary. */
static rep_json resolve_step(const rep_scope *scope, const char *path, size_t n)
{
    size_t end = n;
    /* Each turn moves `end` back to an earlier dot: bounded by the path's length. */
    for (;;) {
        rep_json out = step_output(scope->run, path, end);
        if (rep_json_typeof(out) != REP_JSON_MISSING) {
            /* Nothing after the id (or only its dot): the whole output. */
            if (end + 1 >= n) {
                return out;
            }
            return walk(out, path + end + 1, n - end - 1);
        }
        while (end > 0 && path[end - 1] != '.') {
            end--;
        }
        if (end == 0) {
            return MISSING;
        }
        end--;
    }
}

/* Resolves the string value `s`: 1 and `*out` when it is a reference (missing = null). */
static int resolve_string(rep_json s, const rep_scope *scope, rep_json *out)
{
    char buf[REP_MAX_REF_BYTES];
    size_t n;
    const char *r;
    long len;
    /* Only a string with a '$' (or an escape, which may be one) can be a reference. */
    if (s.n < 3 || (memchr(s.p, '$', s.n) == NULL && memchr(s.p, '\\', s.n) == NULL)) {
        return 0;
    }
    len = rep_json_string_decode(s, buf, sizeof buf);
    if (len < 0) {
        return 0;
    }
    n = (size_t)len;
    r = trim(buf, &n);
    if (n == 6 && memcmp(r, "$input", 6) == 0) {
        *out = scope->inputs;
        return 1;
    }
    if (n >= 7 && memcmp(r, "$input.", 7) == 0) {
        const char *path = r + 7, *dot;
        size_t plen = n - 7, first;
        rep_json v;
        dot = memchr(path, '.', plen);
        first = dot ? (size_t)(dot - path) : plen;
        v = rep_json_get_n(scope->inputs, path, first);
        /* As Rust's split_once: "a." is the key "a" with nothing after it. */
        *out = (dot && first + 1 < plen && rep_json_typeof(v) != REP_JSON_MISSING)
                   ? walk(v, dot + 1, plen - first - 1)
                   : v;
        return 1;
    }
    if (n >= 6 && memcmp(r, "$step.", 6) == 0) {
        *out = resolve_step(scope, r + 6, n - 6);
        return 1;
    }
    if (n >= 7 && memcmp(r, "$.vars.", 7) == 0) {
        *out = resolve_step(scope, r + 7, n - 7);
        return 1;
    }
    return 0;
}

void rep_resolve(rep_json with, const rep_scope *scope, rep_writer *out)
{
    const char *p = with.p, *end = with.p + with.n;
    rep_w_item(out);
    /* Copies the text, replacing each string value that is a reference. Every turn consumes
     * at least one byte. */
    while (p < end) {
        if (*p == '"') {
            const char *e = rep_value_end(p, end);
            const char *after = rep_skip_ws(e, end);
            rep_json s, v;
            s.p = p;
            s.n = (size_t)(e - p);
            if ((after >= end || *after != ':') && resolve_string(s, scope, &v)) {
                if (rep_json_typeof(v) == REP_JSON_MISSING) {
                    rep_w_raw(out, "null", 4);
                } else {
                    rep_w_raw(out, v.p, v.n);
                }
            } else {
                rep_w_raw(out, p, s.n);
            }
            p = e;
        } else {
            const char *q = memchr(p, '"', (size_t)(end - p));
            if (!q) {
                q = end;
            }
            rep_w_raw(out, p, (size_t)(q - p));
            p = q;
        }
    }
}

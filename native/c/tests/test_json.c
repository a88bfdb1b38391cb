/*
 * test_json.c — the tokenizer/validator, the cursor functions, strings, numbers, the writer.
 */
#define _POSIX_C_SOURCE 200809L

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rep_internal.h"
#include "test.h"

/* Parses a copy of `n` bytes in a heap block of exactly that size, so that AddressSanitizer
 * reports any read past the end. */
static int parse_exact(const char *text, size_t n, rep_json *out)
{
    char *copy = malloc(n ? n : 1);
    rep_json v;
    size_t at;
    const char *why;
    int r;
    memcpy(copy, text, n);
    r = rep_json_parse(copy, n, &v, &at, &why);
    if (r == 0 && out) {
        /* Walk it all too: every cursor function over the exact buffer. */
        rep_json_iter it;
        rep_json k, x;
        rep_json_iter_init(&it, v);
        while (rep_json_iter_next(&it, &k, &x)) {
            char buf[64];
            rep_json_string_decode(k, buf, sizeof buf);
            rep_json_string_decode(x, buf, sizeof buf);
            rep_json_typeof(x);
        }
        out->n = v.n;
    }
    free(copy);
    return r;
}

static void json_test_suite(void)
{
    const char *dir = "tests/data/JSONTestSuite/test_parsing";
    DIR *d = opendir(dir);
    struct dirent *e;
    int seen = 0;
    CHECK(d != NULL);
    while ((e = readdir(d)) != NULL) {
        char path[512], *text;
        FILE *f;
        long n;
        rep_json v;
        int r;
        if (e->d_name[0] != 'y' && e->d_name[0] != 'n' && e->d_name[0] != 'i') {
            continue;
        }
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        f = fopen(path, "rb");
        CHECK(f != NULL);
        fseek(f, 0, SEEK_END);
        n = ftell(f);
        fseek(f, 0, SEEK_SET);
        text = malloc((size_t)n + 1);
        CHECK(fread(text, 1, (size_t)n, f) == (size_t)n);
        fclose(f);
        r = parse_exact(text, (size_t)n, &v);
        free(text);
        seen++;
        if (e->d_name[0] == 'y' && r != 0) {
            fprintf(stderr, "    must parse: %s\n", e->d_name);
            test_failed(__FILE__, __LINE__, "y_ case refused");
        }
        if (e->d_name[0] == 'n' && r == 0) {
            fprintf(stderr, "    must not parse: %s\n", e->d_name);
            test_failed(__FILE__, __LINE__, "n_ case accepted");
        }
    }
    closedir(d);
    CHECK(seen > 300);
}

static void refuses_what_serde_json_refuses(void)
{
    static const char *const bad[] = {
        "",           " ",         "{",           "[1,]",          "{\"a\":1,}",   "01",
        "1.",         ".5",        "-",           "1e",            "\"\\x\"",      "\"a",
        "\"\\ud800\"", "\"\\udc00\"", "\"\\ud800\\u0041\"", "1e400",   "-1e309",       "[1] x",
        "nul",        "tru",       "{\"a\" 1}",   "{1:2}",         "\"\t\"",        "[\"\x01\"]",
        "\"\xc0\xaf\"", "\"\xed\xa0\x80\"", "\"\xf4\x90\x80\x80\"", "\"\xe2\x82\""};
    size_t i;
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (parse_exact(bad[i], strlen(bad[i]), NULL) == 0) {
            fprintf(stderr, "    accepted: %s\n", bad[i]);
            test_failed(__FILE__, __LINE__, "invalid JSON accepted");
        }
    }
}

static void accepts_edge_values(void)
{
    static const char *const good[] = {
        "0",   "-0",   "1e308", "1.7976931348623157e308", "2.2250738585072014e-308", "1e-400",
        "\"\\ud83d\\ude00\"", "\"\xf0\x9f\x98\x80\"", " {\"a\" : [ 1 , 2 ] } ", "[[[[]]]]",
        "\"\\u0000\"", "123456789012345678901234567890"};
    size_t i;
    rep_json v;
    for (i = 0; i < sizeof good / sizeof good[0]; i++) {
        if (parse_exact(good[i], strlen(good[i]), &v) != 0) {
            fprintf(stderr, "    refused: %s\n", good[i]);
            test_failed(__FILE__, __LINE__, "valid JSON refused");
        }
    }
}

static void nesting_is_bounded(void)
{
    char deep[REP_MAX_DEPTH * 2 + 4];
    size_t i, n = 0;
    for (i = 0; i < REP_MAX_DEPTH; i++) {
        deep[n++] = '[';
    }
    for (i = 0; i < REP_MAX_DEPTH; i++) {
        deep[n++] = ']';
    }
    CHECK(parse_exact(deep, n, NULL) == 0);
    memmove(deep + 1, deep, n);
    deep[0] = '[';
    deep[n + 1] = ']';
    CHECK(parse_exact(deep, n + 2, NULL) != 0);
}

static void parse_reports_where(void)
{
    rep_json v;
    size_t at = 0;
    const char *why = NULL;
    CHECK(rep_json_parse("{\"a\": tru}", 10, &v, &at, &why) != 0);
    CHECK(at == 6);
    CHECK(strstr(why, "literal") != NULL);
    CHECK(rep_json_parse("  [1] ", 6, &v, &at, &why) == 0);
    CHECK(v.n == 3 && v.p[0] == '[');
}

static void get_and_iterate(void)
{
    rep_json o = J("{\"a\": 1, \"b\": {\"c\": [true, null, \"x\"]}, \"a\": 2, \"\\u0064\": 4}");
    rep_json_iter it;
    rep_json k, v;
    int n = 0;
    CHECK(json_eq(rep_json_get(o, "a"), "2")); /* the last of a repeated key */
    CHECK(json_eq(rep_json_get(rep_json_get(o, "b"), "c"), "[true,null,\"x\"]"));
    CHECK(json_eq(rep_json_get(o, "d"), "4")); /* escaped key */
    CHECK(rep_json_typeof(rep_json_get(o, "zz")) == REP_JSON_MISSING);
    CHECK(rep_json_typeof(rep_json_get(J("[1]"), "a")) == REP_JSON_MISSING);
    rep_json_iter_init(&it, rep_json_get(rep_json_get(o, "b"), "c"));
    while (rep_json_iter_next(&it, &k, &v)) {
        CHECK(k.p == NULL);
        n++;
    }
    CHECK(n == 3);
    rep_json_iter_init(&it, J("{}"));
    CHECK(!rep_json_iter_next(&it, &k, &v));
    rep_json_iter_init(&it, J("7"));
    CHECK(!rep_json_iter_next(&it, &k, &v));
    CHECK(rep_json_typeof(J("-1")) == REP_JSON_NUMBER);
    CHECK(rep_json_typeof(J("false")) == REP_JSON_BOOL);
}

static void strings_decode_and_compare(void)
{
    char buf[16];
    rep_json s = J("\"a\\n\\u00e9\\ud83d\\ude00\\\"\"");
    long n = rep_json_string_decode(s, buf, sizeof buf);
    CHECK(n == 9);
    CHECK(memcmp(buf, "a\n\xc3\xa9\xf0\x9f\x98\x80\"", 9) == 0);
    CHECK(rep_json_string_decode(s, buf, 4) == REP_ERR_RANGE);
    CHECK(rep_json_string_decode(J("1"), buf, sizeof buf) == REP_ERR_TYPE);
    CHECK(rep_json_string_equals(J("\"\\u0061b\""), "ab", 2));
    CHECK(!rep_json_string_equals(J("\"ab\""), "abc", 3));
    CHECK(!rep_json_string_equals(J("\"abc\""), "ab", 2));
    CHECK(rep_json_strings_equal(J("\"\\/x\""), J("\"/x\"")));
    CHECK(!rep_json_strings_equal(J("\"x\""), J("\"x \"")));
    CHECK(!rep_json_strings_equal(J("\"x\""), J("1")));
}

static void numbers(void)
{
    uint32_t u = 0;
    double d = 0;
    CHECK(rep_json_to_u32(J("2147483647"), 2147483647u, &u) == 0 && u == 2147483647u);
    CHECK(rep_json_to_u32(J("2147483648"), 2147483647u, &u) == REP_ERR_RANGE);
    CHECK(rep_json_to_u32(J("99999999999"), 4294967295u, &u) == REP_ERR_RANGE);
    CHECK(rep_json_to_u32(J("1.0"), 10, &u) == REP_ERR_TYPE);
    CHECK(rep_json_to_u32(J("1e2"), 1000, &u) == REP_ERR_TYPE);
    CHECK(rep_json_to_u32(J("-0"), 10, &u) == REP_ERR_TYPE);
    CHECK(rep_json_to_double(J("80.0"), &d) == 0 && d == 80.0);
    CHECK(rep_json_to_double(J("-1.5e3"), &d) == 0 && d == -1500.0);
    CHECK(rep_json_to_double(J("0.000123"), &d) == 0 && d > 0.000122999 && d < 0.000123001);
    CHECK(rep_json_to_double(J("1e300"), &d) == 0 && d > 0.99e300 && d < 1.01e300);
    CHECK(rep_json_to_double(J("12345678901234567890123"), &d) == 0 && d > 1.2345e22 &&
          d < 1.2346e22);
    CHECK(rep_json_to_double(J("\"1\""), &d) == REP_ERR_TYPE);
}

static void writer_builds_json(void)
{
    char buf[256];
    rep_writer w;
    rep_json v;
    rep_writer_init(&w, buf, sizeof buf);
    rep_w_begin_object(&w);
    rep_w_key(&w, "s");
    rep_w_string(&w, "q\"\\\n\x01\xff end");
    rep_w_key(&w, "a");
    rep_w_begin_array(&w);
    rep_w_int(&w, INT64_MIN);
    rep_w_bool(&w, 1);
    rep_w_null(&w);
    rep_w_value(&w, J("{\"x\":[]}"));
    rep_w_begin_object(&w);
    rep_w_end_object(&w);
    rep_w_end_array(&w);
    rep_w_key_n(&w, "k\"", 2);
    rep_w_number_text(&w, "1.5", 3);
    rep_w_end_object(&w);
    CHECK(!w.overflow);
    CHECK(rep_json_parse(buf, w.len, &v, NULL, NULL) == 0);
    CHECK(json_eq(v, "{\"s\":\"q\\\"\\\\\\n\\u0001\\ufffd end\",\"a\":[-9223372036854775808,true,"
                     "null,{\"x\":[]},{}],\"k\\\"\":1.5}"));
}

static void writer_overflow_is_sticky(void)
{
    char buf[8];
    rep_writer w;
    rep_writer_init(&w, buf, sizeof buf);
    rep_w_string(&w, "0123456789");
    CHECK(w.overflow);
    CHECK(w.len <= sizeof buf);
    rep_w_null(&w);
    CHECK(w.len <= sizeof buf);
}

static void escaped_text_is_cut_at_a_character(void)
{
    char buf[64];
    rep_writer w;
    rep_writer_init(&w, buf, sizeof buf);
    rep_w_escaped(&w, "ab\xc3\xa9\xc3\xa9", 6, 5); /* a b é | é: only a, b, é fit in 5 */
    CHECK(w.len == 4);
    rep_writer_init(&w, buf, sizeof buf);
    rep_w_escaped(&w, "a\n", 2, 2); /* "\n" takes 2: only a fits */
    CHECK(w.len == 1);
}

static int flushed_calls;
static char flushed[64];
static size_t flushed_len;

static int flush_into(void *ctx, const char *bytes, size_t n)
{
    (void)ctx;
    flushed_calls++;
    if (flushed_len + n > sizeof flushed) {
        return -1;
    }
    memcpy(flushed + flushed_len, bytes, n);
    flushed_len += n;
    return 0;
}

static void writer_streams_through_flush(void)
{
    char buf[4];
    rep_writer w;
    rep_writer_init(&w, buf, sizeof buf);
    w.flush = flush_into;
    flushed_calls = 0;
    flushed_len = 0;
    rep_w_string(&w, "hello world");
    CHECK(rep_w_flush(&w) == 0);
    CHECK(flushed_len == 13 && memcmp(flushed, "\"hello world\"", 13) == 0);
    CHECK(flushed_calls >= 4);
    rep_w_string(&w, "0123456789012345678901234567890123456789012345678901234567890123");
    CHECK(w.failed);
    CHECK(rep_w_flush(&w) == REP_ERR_IO);
}

static void rfc3339_timestamps(void)
{
    char ts[24];
    CHECK(rep_format_rfc3339(0, ts) == 24 && memcmp(ts, "1970-01-01T00:00:00.000Z", 24) == 0);
    rep_format_rfc3339(1795301925123ull, ts);
    CHECK(memcmp(ts, "2026-11-21T22:58:45.123Z", 24) == 0);
    rep_format_rfc3339(951782400000ull, ts); /* a leap day */
    CHECK(memcmp(ts, "2000-02-29T00:00:00.000Z", 24) == 0);
}

const test_case json_tests[] = {
    {"json: JSONTestSuite y_ parse, n_ do not, i_ do not crash", json_test_suite},
    {"json: refuses what serde_json refuses", refuses_what_serde_json_refuses},
    {"json: accepts edge values", accepts_edge_values},
    {"json: nesting is bounded by REP_MAX_DEPTH", nesting_is_bounded},
    {"json: parse errors say where and why", parse_reports_where},
    {"json: get (last of a repeated key) and iterate", get_and_iterate},
    {"json: strings decode and compare with escapes", strings_decode_and_compare},
    {"json: integers and doubles", numbers},
    {"json: the writer builds valid JSON", writer_builds_json},
    {"json: writer overflow is sticky and bounded", writer_overflow_is_sticky},
    {"json: escaped text is cut at a character boundary", escaped_text_is_cut_at_a_character},
    {"json: a flushing writer streams and reports failure", writer_streams_through_flush},
    {"json: RFC 3339 timestamps", rfc3339_timestamps},
    {NULL, NULL}};

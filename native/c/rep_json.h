/*
 * rep_json.h — a strict JSON reader and a JSON writer in C99, with no heap and no recursion.
 *
 * Usable on its own: compile rep_json.c with this header and rep_config.h (for REP_MAX_DEPTH);
 * nothing else of the executor library is needed.
 *
 * Reading: rep_json_parse validates a text once (RFC 8259: UTF-8, no lone surrogates, numbers
 * within the double range, nesting at most REP_MAX_DEPTH); the result is a `rep_json`, a slice
 * of that text, and every other reading function walks validated text in place, bounded by the
 * slice. Nothing is copied or allocated: a `rep_json` stays valid as long as the text it points
 * into, which the caller owns.
 *
 * Writing: a `rep_writer` builds one JSON value into a fixed buffer, or streams it through a
 * flush callback; separators are automatic and errors are sticky (a full buffer sets
 * `overflow`, a failed callback `failed`, and every later call does nothing).
 *
 * Errors: functions that can fail return a `rep_err` (REP_OK, 0, or a negative REP_ERR_*);
 * a function that returns a length returns it (>= 0) or a negative rep_err. Predicates return
 * bool. No function keeps a pointer it was given beyond its return, except the writer, which
 * keeps `buf` and the flush callback until its value is written.
 *
 * Reentrancy: no function has global or static mutable state; each call touches only its
 * arguments. Any number of threads may read the same validated text and write with their own
 * writers. Nothing here is meant for interrupt handlers (rep_json_parse is O(length)).
 *
 * The C library uses memcpy, memset, memcmp, memchr and strlen from <string.h>, and soft-float
 * double arithmetic in rep_json_to_double only.
 */
#ifndef REP_JSON_H
#define REP_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rep_config.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------------------------
 * Errors of the library's functions (not protocol error codes, which are REP v0.1 §5's).
 * ---------------------------------------------------------------------------------------- */

/** What a function of the library that can fail returns: REP_OK (0) or a negative error. */
typedef enum rep_err {
    /** Success. */
    REP_OK = 0,
    /** The text is not valid JSON (rep_json_parse). */
    REP_ERR_SYNTAX = -1,
    /** The value is of another JSON type than the function reads (e.g. not a string). */
    REP_ERR_TYPE = -2,
    /** The value is out of range for the call: a number above `max`, a string longer than
     *  the buffer given. */
    REP_ERR_RANGE = -3,
    /** A table sized by a limit is full (REP_MAX_KINDS). */
    REP_ERR_FULL = -4,
    /** An argument is invalid: NULL, or an empty string where a name is needed. */
    REP_ERR_ARG = -5,
    /** The `rep_executor` was compiled with other limits than the library (sizeof or
     *  REP_LAYOUT_TAG differ), or was never initialized. Nothing was touched. */
    REP_ERR_LAYOUT = -6,
    /** Writing a response failed: the host is gone. */
    REP_ERR_IO = -7,
    /** Called from inside a step handler (the executor is not reentrant). */
    REP_ERR_BUSY = -8
} rep_err;

/** A short constant English text for `err` ("REP_ERR_LAYOUT: …"); never NULL. Any thread,
 *  any time (also from an interrupt handler). */
const char *rep_err_str(rep_err err);

/* ------------------------------------------------------------------------------------------
 * Reading: slices of validated JSON text.
 * ---------------------------------------------------------------------------------------- */

/** A JSON value: `n` bytes of valid JSON text at `p`, without surrounding blanks. A missing
 *  value (a key that is not there) has `p == NULL` and `n == 0`. The text is the caller's:
 *  the value is valid as long as it is. */
typedef struct rep_json {
    const char *p;
    size_t n;
} rep_json;

/** The type of a JSON value. */
typedef enum rep_json_type {
    REP_JSON_MISSING = 0,
    REP_JSON_NULL,
    REP_JSON_BOOL,
    REP_JSON_NUMBER,
    REP_JSON_STRING,
    REP_JSON_ARRAY,
    REP_JSON_OBJECT
} rep_json_type;

/** Iterates the members of an object or the elements of an array (fields private). */
typedef struct rep_json_iter {
    const char *p;
    const char *end;
    int object;
} rep_json_iter;

/** Validates the `len` bytes at `text` (RFC 8259: UTF-8, no lone surrogates, numbers within
 *  the double range, nesting at most REP_MAX_DEPTH; blanks around the value allowed), in one
 *  pass with no recursion. Returns REP_OK and sets `*out` to the value (a slice of `text`), or
 *  REP_ERR_SYNTAX and sets `*error_at` (byte offset) and `*why` (static text) when they are
 *  not NULL. */
rep_err rep_json_parse(const char *text, size_t len, rep_json *out, size_t *error_at,
                       const char **why);

/** The value's type (REP_JSON_MISSING for a missing value). O(1). */
rep_json_type rep_json_typeof(rep_json v);

/** The member `key` (a NUL-terminated UTF-8 string, compared with the decoded member names)
 *  of object `obj`; the last one when the key repeats (as serde_json and most parsers do).
 *  Missing when `obj` is not an object or has no such member. O(size of obj). */
rep_json rep_json_get(rep_json obj, const char *key);

/** Like rep_json_get with a key of `n` raw bytes (not NUL-terminated). */
rep_json rep_json_get_n(rep_json obj, const char *key, size_t n);

/** Starts iterating `v`; iteration yields nothing when `v` is not an object or an array. */
void rep_json_iter_init(rep_json_iter *it, rep_json v);

/** The next member (`key`: the member name as a JSON string value; NULL allowed) or element
 *  (`key` set missing) and its `value` (NULL allowed). Returns true, or false at the end. */
bool rep_json_iter_next(rep_json_iter *it, rep_json *key, rep_json *value);

/** Whether `s` is a JSON string whose decoded content is the `n` bytes at `bytes`. */
bool rep_json_string_equals(rep_json s, const char *bytes, size_t n);

/** Whether `a` and `b` are JSON strings with the same decoded content. */
bool rep_json_strings_equal(rep_json a, rep_json b);

/** Decodes the JSON string `s` into `out` (UTF-8, not NUL-terminated). Returns the decoded
 *  length (>= 0), REP_ERR_TYPE when `s` is not a string, or REP_ERR_RANGE when its content
 *  does not fit in `cap` bytes (`out` then holds the first `cap` bytes). */
long rep_json_string_decode(rep_json s, char *out, size_t cap);

/** A non-negative integer written with digits only (no sign, fraction or exponent) and at
 *  most `max`: REP_OK and `*out` set; REP_ERR_TYPE when `v` is not such a number,
 *  REP_ERR_RANGE when it is above `max`. */
rep_err rep_json_to_u32(rep_json v, uint32_t max, uint32_t *out);

/** A JSON number as a double (decimal conversion correct to about 15 significant digits):
 *  REP_OK and `*out` set, or REP_ERR_TYPE when `v` is not a number. */
rep_err rep_json_to_double(rep_json v, double *out);

/* ------------------------------------------------------------------------------------------
 * Writing JSON: into a fixed buffer, or streaming through a flush callback.
 * ---------------------------------------------------------------------------------------- */

/** Builds one JSON value. Separators are automatic: call rep_w_key before each member value
 *  of an object. Errors are sticky: `overflow` is set when a buffer without flush callback is
 *  full (or nesting passes 63), `failed` when the flush callback failed; later calls do
 *  nothing. Fields are private except `buf`, `len`, `overflow` and `failed`. */
typedef struct rep_writer {
    char *buf;
    size_t cap;
    size_t len;
    int (*flush)(void *ctx, const char *bytes, size_t n);
    void *flush_ctx;
    int overflow;
    int failed;
    int depth;
    int after_key;
    uint64_t has_item; /* bit d: the container at depth d already has an item */
} rep_writer;

/** A writer into `buf` (`cap` bytes, kept by pointer until the value is written); its text is
 *  `buf[0..len)`. To stream, set `flush` (called with full buffers; returns 0, or non-zero on
 *  failure) and `flush_ctx` after this call, and call rep_w_flush at the end. */
void rep_writer_init(rep_writer *w, char *buf, size_t cap);
/** `{` */
void rep_w_begin_object(rep_writer *w);
/** `}` */
void rep_w_end_object(rep_writer *w);
/** `[` */
void rep_w_begin_array(rep_writer *w);
/** `]` */
void rep_w_end_array(rep_writer *w);
/** A member key from a NUL-terminated UTF-8 string (escaped as needed). */
void rep_w_key(rep_writer *w, const char *key);
/** A member key from `n` bytes of UTF-8 (escaped as needed). */
void rep_w_key_n(rep_writer *w, const char *key, size_t n);
/** A member key copied from a JSON string value (its text as it is; `""` when `key` is not a
 *  string). */
void rep_w_key_json(rep_writer *w, rep_json key);
/** A string value from NUL-terminated UTF-8 (bytes that are not UTF-8 become U+FFFD). */
void rep_w_string(rep_writer *w, const char *s);
/** A string value from `n` bytes of UTF-8. */
void rep_w_string_n(rep_writer *w, const char *s, size_t n);
/** An integer. */
void rep_w_int(rep_writer *w, int64_t v);
/** `true` or `false`. */
void rep_w_bool(rep_writer *w, bool v);
/** `null` */
void rep_w_null(rep_writer *w);
/** Copies the JSON value `v` (its text as it is); a missing value is written as null. */
void rep_w_value(rep_writer *w, rep_json v);
/** A number written as the caller's text, which must be a valid JSON number (see
 *  rep_is_json_number). */
void rep_w_number_text(rep_writer *w, const char *text, size_t n);
/** Sends what a flushing writer holds to its callback: REP_OK, or REP_ERR_IO when the
 *  callback failed now or before. A writer without callback keeps its text (REP_OK). */
rep_err rep_w_flush(rep_writer *w);

/* ------------------------------------------------------------------------------------------
 * Building blocks (used by the executor library; for writers of their own framing).
 * ---------------------------------------------------------------------------------------- */

/** Writes raw bytes: no separator, no escaping (the caller keeps the text valid JSON). */
void rep_w_raw(rep_writer *w, const char *bytes, size_t n);
/** Writes `n` bytes as the content of a JSON string (escaped, without quotes), at most
 *  `max_out` output bytes, cut at a character boundary. */
void rep_w_escaped(rep_writer *w, const char *s, size_t n, size_t max_out);
/** Writes the separator a new item needs (a comma after an earlier item). */
void rep_w_item(rep_writer *w);
/** Writes an unsigned decimal (raw: no separator). */
void rep_w_u64_raw(rep_writer *w, uint64_t v);
/** `v` in decimal into `out` (20 bytes, not NUL-terminated); returns its length. */
size_t rep_format_u64(uint64_t v, char out[20]);
/** Whether the `n` bytes at `p` are one JSON number (strict grammar, within the double
 *  range). */
bool rep_is_json_number(const char *p, size_t n);
/** The first byte at or after `p` that is not JSON blank (or `end`). */
const char *rep_skip_ws(const char *p, const char *end);
/** The end of the valid JSON value starting at `p`, never past `end`. `p` must point into
 *  text that rep_json_parse accepted. */
const char *rep_value_end(const char *p, const char *end);
/** The value `p..end` with surrounding blanks trimmed. */
rep_json rep_json_slice(const char *p, const char *end);

/** Decodes a JSON string value byte by byte (fields private). */
typedef struct rep_strdec {
    const char *p, *end;
    unsigned char pend[4];
    int npend, ipend;
} rep_strdec;
/** Starts decoding the JSON string `s` (nothing when it is not a string). */
void rep_strdec_init(rep_strdec *d, rep_json s);
/** The next decoded byte (0..255), or -1 at the end. */
int rep_strdec_next(rep_strdec *d);

#ifdef __cplusplus
}
#endif

#endif /* REP_JSON_H */

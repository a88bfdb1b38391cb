/*
 * rep_executor.h — a REP v0.1 executor library in C99 with no heap.
 *
 * Speaks REP v0.1 (JSON-RPC 2.0, one JSON object per line) and runs Flow IR v1.0.0 in the
 * dialect of the reference compiler: entry nodes, success/failure edges, `switch`, `finish`,
 * `$input.` / `$step.` / `$.vars.` references, `retry`, step and flow `timeout_ms`.
 *
 * - No heap: every byte lives in a `rep_executor` the caller declares (typically `static`),
 *   sized at compile time by the REP_* limits below (override them with -D).
 * - No recursion, every loop bounded by its input or a limit; the only libc functions used are
 *   memcpy, memmove, memset, memcmp and strlen.
 * - I/O through callbacks (`rep_io`): read bytes, write bytes, monotonic milliseconds (and,
 *   optionally, the wall clock), so the same code serves stdio on Linux and a UART on a board.
 * - Single-threaded and cooperative: step handlers run to completion or return
 *   REP_STEP_PENDING and are called again later, so Poll and Cancel are answered while a step
 *   waits.
 *
 * See docs/native-executors.md for a guide, the limits and how to port to a board.
 */
#ifndef REP_EXECUTOR_H
#define REP_EXECUTOR_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Version of this library, advertised by Runtime.Capabilities unless the executor sets its own. */
#define REP_EXECUTOR_VERSION "0.1.0"

/* ------------------------------------------------------------------------------------------
 * Limits. Each is a compile-time size; override with -DNAME=VALUE for the whole build (the
 * library and every file that includes this header must agree).
 * ---------------------------------------------------------------------------------------- */

/** Longest request line in bytes (without its '\n'). A longer line is answered -32600. */
#ifndef REP_MAX_FRAME_BYTES
#define REP_MAX_FRAME_BYTES 65536
#endif
/** Deepest JSON nesting (objects and arrays) accepted anywhere; deeper is a parse error. */
#ifndef REP_MAX_DEPTH
#define REP_MAX_DEPTH 32
#endif
/** Most nodes in one Flow IR graph; more is error 1003. */
#ifndef REP_MAX_NODES
#define REP_MAX_NODES 128
#endif
/** Most edges in one Flow IR graph; more is error 1003. */
#ifndef REP_MAX_EDGES
#define REP_MAX_EDGES 256
#endif
/** Longest node id and flow name in bytes; longer is error 1003. */
#ifndef REP_MAX_ID_BYTES
#define REP_MAX_ID_BYTES 64
#endif
/** Longest run id (options.run_id) in bytes of its JSON text; longer is error -32602. */
#ifndef REP_MAX_RUN_ID_BYTES
#define REP_MAX_RUN_ID_BYTES 128
#endif
/** Most step kinds registered with rep_executor_add_step. */
#ifndef REP_MAX_KINDS
#define REP_MAX_KINDS 16
#endif
/** Runs kept at once (running or finished and still pollable). */
#ifndef REP_MAX_RUNS
#define REP_MAX_RUNS 2
#endif
/** Steps of one run in progress at once (`limits.concurrency`). */
#ifndef REP_CONCURRENCY
#define REP_CONCURRENCY 4
#endif
/** Bytes kept per run for the IR and the inputs (their JSON text as received). */
#ifndef REP_RUN_DOC_BYTES
#define REP_RUN_DOC_BYTES REP_MAX_FRAME_BYTES
#endif
/** Bytes per run for the outputs of its steps (JSON text). A step whose output does not fit
 *  fails (3002). */
#ifndef REP_RUN_OUTPUT_BYTES
#define REP_RUN_OUTPUT_BYTES 16384
#endif
/** Bytes per run for events not yet delivered by a Poll. When it is nearly full the run
 *  pauses until the next Poll drains it: no event is ever dropped. */
#ifndef REP_RUN_EVENT_BYTES
#define REP_RUN_EVENT_BYTES 16384
#endif
/** Bytes for one step's resolved `with` (one buffer per concurrent step). A `with` that does
 *  not fit fails the step (3002). */
#ifndef REP_WITH_BYTES
#define REP_WITH_BYTES 8192
#endif
/** Longest error or log message kept, in bytes of JSON text (longer ones are cut at a
 *  character boundary). */
#ifndef REP_MAX_MESSAGE_BYTES
#define REP_MAX_MESSAGE_BYTES 256
#endif
/** How long (ms) a step handler may stay PENDING after its run is cancelled or its
 *  timeout_ms expired before the step is failed with cause `cancelled`. */
#ifndef REP_CANCEL_GRACE_MS
#define REP_CANCEL_GRACE_MS 150
#endif

#if REP_MAX_DEPTH < 4 || REP_MAX_DEPTH > 63
#error "REP_MAX_DEPTH must be within 4..63"
#endif
#if REP_MAX_NODES < 1 || REP_MAX_NODES > 65535 || REP_MAX_EDGES > 65535
#error "REP_MAX_NODES and REP_MAX_EDGES must be within 1..65535"
#endif
#if REP_CONCURRENCY < 1 || REP_MAX_RUNS < 1
#error "REP_CONCURRENCY and REP_MAX_RUNS must be at least 1"
#endif

/** Upper bound of one event's JSON text (ids and messages are capped, see above). */
#define REP_MAX_EVENT_BYTES (192 + REP_MAX_ID_BYTES + REP_MAX_MESSAGE_BYTES)

#if REP_RUN_EVENT_BYTES < (2 * REP_CONCURRENCY + 8) * REP_MAX_EVENT_BYTES
#error "REP_RUN_EVENT_BYTES is too small for REP_CONCURRENCY steps (see rep_executor.h)"
#endif

/* ------------------------------------------------------------------------------------------
 * JSON values: slices of JSON text that the library has validated.
 * ---------------------------------------------------------------------------------------- */

/** A JSON value: `n` bytes of valid JSON text at `p`, without surrounding blanks. A missing
 *  value (a key that is not there) has `p == NULL` and `n == 0`. */
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

/** Iterates the members of an object or the elements of an array. */
typedef struct rep_json_iter {
    const char *p;
    const char *end;
    int object;
} rep_json_iter;

/** Validates `text` (RFC 8259: UTF-8, no lone surrogates, numbers within the double range,
 *  nesting at most REP_MAX_DEPTH; blanks around the value allowed). Returns 0 and sets `*out`
 *  to the value, or -1 and sets `*error_at` (byte offset) and `*why` (static text). */
int rep_json_parse(const char *text, size_t len, rep_json *out, size_t *error_at,
                   const char **why);

/** The value's type (REP_JSON_MISSING for a missing value). */
rep_json_type rep_json_typeof(rep_json v);

/** The member `key` (a NUL-terminated UTF-8 string) of object `obj`; the last one when the key
 *  repeats (as serde_json and most parsers do). Missing when `obj` is not an object. */
rep_json rep_json_get(rep_json obj, const char *key);

/** Like rep_json_get with a key of `n` raw bytes. */
rep_json rep_json_get_n(rep_json obj, const char *key, size_t n);

/** Starts iterating `v`; iteration yields nothing when `v` is not an object or an array. */
void rep_json_iter_init(rep_json_iter *it, rep_json v);

/** The next member (`key` is a JSON string value, NULL allowed for arrays) or element.
 *  Returns 1, or 0 at the end. */
int rep_json_iter_next(rep_json_iter *it, rep_json *key, rep_json *value);

/** Whether `s` is a JSON string whose decoded content is the `n` bytes at `bytes`. */
int rep_json_string_equals(rep_json s, const char *bytes, size_t n);

/** Whether `a` and `b` are JSON strings with the same decoded content. */
int rep_json_strings_equal(rep_json a, rep_json b);

/** Decodes the JSON string `s` into `out` (UTF-8, not NUL-terminated). Returns the decoded
 *  length, or -1 when `s` is not a string or its content does not fit in `cap` bytes. */
long rep_json_string_decode(rep_json s, char *out, size_t cap);

/** A non-negative integer written with digits only (no fraction, no exponent) and at most
 *  `max`. Returns 0 and sets `*out`, or -1. */
int rep_json_to_u32(rep_json v, uint32_t max, uint32_t *out);

/** A JSON number as a double (decimal conversion correct to about 15 significant digits).
 *  Returns 0 and sets `*out`, or -1 when `v` is not a number. */
int rep_json_to_double(rep_json v, double *out);

/* ------------------------------------------------------------------------------------------
 * Writing JSON: a writer into a fixed buffer, or streaming through a flush callback.
 * ---------------------------------------------------------------------------------------- */

/** Builds one JSON value. Separators are automatic: call rep_w_key before each member value
 *  of an object. Errors are sticky: `overflow` is set when a buffer without flush callback is
 *  full, `failed` when the flush callback failed; later calls do nothing. */
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

/** A writer into `buf` (`cap` bytes); its text is `buf[0..len)`. */
void rep_writer_init(rep_writer *w, char *buf, size_t cap);
void rep_w_begin_object(rep_writer *w);
void rep_w_end_object(rep_writer *w);
void rep_w_begin_array(rep_writer *w);
void rep_w_end_array(rep_writer *w);
/** A member key from a NUL-terminated UTF-8 string (escaped as needed). */
void rep_w_key(rep_writer *w, const char *key);
/** A member key from `n` bytes of UTF-8 (escaped as needed). */
void rep_w_key_n(rep_writer *w, const char *key, size_t n);
/** A member key copied from a JSON string value. */
void rep_w_key_json(rep_writer *w, rep_json key);
/** A string value from NUL-terminated UTF-8. */
void rep_w_string(rep_writer *w, const char *s);
/** A string value from `n` bytes of UTF-8. */
void rep_w_string_n(rep_writer *w, const char *s, size_t n);
void rep_w_int(rep_writer *w, int64_t v);
void rep_w_bool(rep_writer *w, int v);
void rep_w_null(rep_writer *w);
/** Copies the JSON value `v`; a missing value is written as null. */
void rep_w_value(rep_writer *w, rep_json v);
/** A number written as the caller's text, which must be a valid JSON number. */
void rep_w_number_text(rep_writer *w, const char *text, size_t n);

/* ------------------------------------------------------------------------------------------
 * Step handlers.
 * ---------------------------------------------------------------------------------------- */

/** What a step handler returns. */
typedef enum rep_step_result {
    /** The step succeeded; its output is the one JSON value written to `out`. */
    REP_STEP_DONE = 0,
    /** The attempt failed (see rep_step_fail). */
    REP_STEP_FAILED = 1,
    /** Not finished: call the handler again later (see rep_step_wait). Whatever was written
     *  to `out` is discarded. */
    REP_STEP_PENDING = 2
} rep_step_result;

/** The step being run; valid only during the handler call. */
typedef struct rep_step rep_step;

/** Runs one attempt of a step. `with` is the node's `with` object with every reference
 *  resolved; the handler writes its output (any JSON value, usually an object) to `out`. */
typedef rep_step_result (*rep_step_fn)(rep_step *step, rep_json with, rep_writer *out,
                                       void *user);

/** The attempt number, from 1. */
uint32_t rep_step_attempt(const rep_step *step);
/** The node id (a JSON string). */
rep_json rep_step_id(const rep_step *step);
/** The run inputs (a JSON object). */
rep_json rep_step_inputs(const rep_step *step);
/** The whole Flow IR document of the run (e.g. for `constants.policy`). */
rep_json rep_step_ir(const rep_step *step);
/** Milliseconds since this attempt started. */
uint64_t rep_step_elapsed_ms(const rep_step *step);
/** Non-zero when the attempt must stop: the run was cancelled or is stopping, or the node's
 *  timeout_ms expired. A handler then returns promptly (REP_CANCEL_GRACE_MS at most). */
int rep_step_cancelled(const rep_step *step);
/** Asks to be called again within `ms` milliseconds (or as soon as something happens); returns
 *  REP_STEP_PENDING for `return rep_step_wait(step, 10);`. */
rep_step_result rep_step_wait(rep_step *step, uint32_t ms);
/** Fails the attempt with `code` (2001 for a step failure) and `message`; returns
 *  REP_STEP_FAILED. By default a 2xxx failure is retried within the node's retry.max. */
rep_step_result rep_step_fail(rep_step *step, int32_t code, const char *message);
/** Like rep_step_fail, with the JSON text of `value` appended to the message. */
rep_step_result rep_step_fail_with(rep_step *step, int32_t code, const char *message,
                                   rep_json value);
/** After rep_step_fail: whether the failure may be retried (default: only 2000–2999). */
void rep_step_set_retriable(rep_step *step, int retriable);
/** After rep_step_fail: a machine-readable cause, "timeout", "cancelled" or "panic". */
void rep_step_set_cause(rep_step *step, const char *cause);
/** Emits a `log` event for this step (`level` e.g. "info"). */
void rep_step_log(rep_step *step, const char *level, const char *message);

/* ------------------------------------------------------------------------------------------
 * I/O callbacks: the port to a platform.
 * ---------------------------------------------------------------------------------------- */

/** How the executor talks to its host and reads time. */
typedef struct rep_io {
    /** Reads up to `cap` bytes of requests into `buf`, waiting at most `timeout_ms` (0: do not
     *  wait). Returns the number of bytes read (> 0), 0 when none arrived in time, or -1 at
     *  the end of input (EOF) or on a read error. */
    long (*read)(void *ctx, char *buf, size_t cap, uint32_t timeout_ms);
    /** Writes all `n` bytes of responses; returns 0, or -1 on error. */
    int (*write)(void *ctx, const char *bytes, size_t n);
    /** Monotonic milliseconds (any origin; must not go backwards). */
    uint64_t (*now_ms)(void *ctx);
    /** Optional (may be NULL): the wall clock as milliseconds since the Unix epoch, for event
     *  timestamps. Without it, timestamps count from 1970-01-01T00:00:00Z at start-up. */
    uint64_t (*unix_ms)(void *ctx);
    /** Passed to every callback. */
    void *ctx;
} rep_io;

/* ------------------------------------------------------------------------------------------
 * The executor. Its fields are private: use the functions.
 * ---------------------------------------------------------------------------------------- */

/** One node of a validated graph (offsets are relative to the IR text). */
typedef struct rep_node_info {
    uint32_t off, len;         /* the node object */
    uint32_t id_off, id_len;   /* the id string value */
    uint32_t with_off, with_len;
    uint32_t timeout_ms, retry_max, backoff_ms;
    uint16_t kind;             /* index into the kinds, or REP_KIND_SWITCH / REP_KIND_FINISH */
    uint8_t flags;             /* type is switch / finish / dsl.emit */
    uint16_t in_count;
    uint16_t out_start, out_count; /* into out_list */
} rep_node_info;

/** One edge of a validated graph. */
typedef struct rep_edge_info {
    uint16_t from, to;
    uint8_t failure;           /* on: "failure" */
    uint32_t case_off, case_len; /* the `case` string value, len 0 when absent */
} rep_edge_info;

/** A validated graph. */
typedef struct rep_graph {
    uint16_t node_count, edge_count;
    uint32_t flow_timeout_ms;
    rep_node_info nodes[REP_MAX_NODES];
    rep_edge_info edges[REP_MAX_EDGES];
    uint16_t out_list[REP_MAX_EDGES];
} rep_graph;

/** An error kept for a run summary or a step attempt. */
typedef struct rep_error_info {
    int32_t code;
    int16_t node;      /* -1: not about one step */
    int8_t retriable;  /* -1 unset, 0, 1 */
    uint8_t cause;     /* 0 none, 1 timeout, 2 cancelled, 3 panic */
    uint8_t details;   /* 0 none, 1 {timeout_ms}, 2 {flow_timeout_ms} */
    uint32_t attempt;
    uint32_t details_ms;
    uint16_t message_len;
    char message[REP_MAX_MESSAGE_BYTES];
} rep_error_info;

/** A step in progress. */
typedef struct rep_slot {
    int16_t node;      /* -1: free */
    uint8_t phase;     /* running, backoff */
    uint8_t cancelled; /* the attempt's stop signal fired */
    uint8_t timed_out;
    uint32_t attempt;
    uint64_t started_ms, wake_ms, cancel_deadline_ms;
    size_t with_len;
    char with[REP_WITH_BYTES];
} rep_slot;

/** One run. */
typedef struct rep_run {
    uint8_t used, status, stopping, finished_flow, cancel_requested, has_failure;
    uint8_t more_now; /* the last tick stopped early: tick again at once */
    uint32_t seq;       /* start order, for eviction */
    uint16_t id_len;
    char id[REP_MAX_RUN_ID_BYTES]; /* JSON string text of the run id */
    uint64_t deadline_ms; /* flow timeout_ms, 0: none */
    uint32_t completed_steps, failed_steps;
    rep_error_info failure;
    rep_graph graph;
    size_t doc_len;
    rep_json ir, inputs;
    char doc[REP_RUN_DOC_BYTES];
    /* per node: scheduling state and output */
    uint16_t remaining[REP_MAX_NODES];
    uint8_t activated[REP_MAX_NODES];
    uint8_t node_state[REP_MAX_NODES];
    uint32_t out_off[REP_MAX_NODES], out_len[REP_MAX_NODES];
    uint16_t ready[REP_MAX_NODES];
    uint16_t ready_head, ready_len;
    uint16_t emit_order[REP_MAX_NODES]; /* dsl.emit nodes in completion order */
    uint16_t emit_count;
    uint16_t done_order[REP_MAX_NODES]; /* succeeded nodes, in completion order */
    uint16_t done_count;
    rep_slot slots[REP_CONCURRENCY];
    size_t output_len;
    char output[REP_RUN_OUTPUT_BYTES];
    size_t events_len;
    char events[REP_RUN_EVENT_BYTES];
} rep_run;

/** A registered step kind. */
typedef struct rep_kind {
    const char *name;
    rep_step_fn fn;
    void *user;
} rep_kind;

/** The executor: declare one (static storage), then rep_executor_init. */
typedef struct rep_executor {
    rep_io io;
    const char *version;
    rep_kind kinds[REP_MAX_KINDS];
    uint16_t kind_count;
    uint32_t run_seq;
    uint64_t epoch_unix_ms, epoch_mono_ms;
    /* input framing */
    size_t line_len;
    size_t discarding; /* > 0: bytes of an over-long line seen so far */
    int write_failed;
    char line[REP_MAX_FRAME_BYTES + 1];
    char out_buf[512];
    rep_graph staging; /* StartRun validates into this before a run takes it */
    rep_error_info step_error; /* the failure of the handler call in progress */
    uint16_t tmp_a[REP_MAX_NODES], tmp_b[REP_MAX_NODES];
    uint16_t tmp_edges[REP_MAX_EDGES];
    rep_run runs[REP_MAX_RUNS];
} rep_executor;

/** Prepares `ex` (no I/O). `version` (semver) is advertised by Runtime.Capabilities; NULL means
 *  REP_EXECUTOR_VERSION. The built-in kinds `switch` and `finish` are always there. */
void rep_executor_init(rep_executor *ex, const rep_io *io, const char *version);

/** Registers `fn` for step kind `kind` (a NUL-terminated string kept by pointer: use a string
 *  literal). Registering `switch` or `finish` replaces the built-in. Returns 0, or -1 when the
 *  table is full (REP_MAX_KINDS) or `kind` is empty. */
int rep_executor_add_step(rep_executor *ex, const char *kind, rep_step_fn fn, void *user);

/** Serves REP until the end of input: reads requests, answers them, runs the runs. Returns 0
 *  at EOF, -1 when writing a response failed (the host is gone). */
int rep_serve(rep_executor *ex);

/* Lower-level entry points, for a main loop of one's own (interrupt-driven boards, tests). */

/** Feeds request bytes: answers each complete line. Returns 0, or -1 after a write error. */
int rep_feed(rep_executor *ex, const char *bytes, size_t n);
/** The end of input: answers a last line without '\n'. Returns 0, or -1 after a write error. */
int rep_feed_eof(rep_executor *ex);
/** Answers one request line (without '\n'). Returns 0, or -1 after a write error. */
int rep_handle_line(rep_executor *ex, const char *line, size_t n);
/** Advances every run as far as it can go now. */
void rep_tick(rep_executor *ex);
/** How long the caller may wait for input before rep_tick is due again: 0 when a run can make
 *  progress now, at most `max_ms`. */
uint32_t rep_idle_ms(rep_executor *ex, uint32_t max_ms);

#ifdef __cplusplus
}
#endif

#endif /* REP_EXECUTOR_H */

/*
 * rep_executor.h — a REP v0.1 executor library in C99 with no heap: the step API, the I/O
 * port and the executor's life cycle.
 *
 * Speaks REP v0.1 (JSON-RPC 2.0, one JSON object per line) and runs Flow IR v1.0.0 in the
 * dialect of the reference compiler: entry nodes, success/failure edges, `switch`, `finish`,
 * `$input.` / `$step.` / `$.vars.` references, `retry`, step and flow `timeout_ms`.
 *
 * - No heap: every byte lives in a `rep_executor` the caller declares (typically `static`),
 *   sized at compile time by the limits of rep_config.h (a REP_CONFIG_FILE or -D).
 * - No recursion: nesting is walked with explicit stacks of fixed size; every loop is bounded
 *   by its input or a limit.
 * - libc: memcpy, memmove, memset, memcmp, memchr, strlen and strcmp (<string.h>); soft-float
 *   double arithmetic only in rep_json_to_double and the run-input check of `int` types.
 * - I/O through callbacks (`rep_io`): read bytes, write bytes, monotonic milliseconds (and,
 *   optionally, the wall clock), so the same code serves stdio on Linux and a UART on a board.
 * - Single-threaded and cooperative: step handlers run to completion or return
 *   REP_STEP_PENDING and are called again later, so Poll and Cancel are answered while a step
 *   waits.
 *
 * Threads and interrupts: an executor belongs to one thread (or task) at a time; different
 * executors are independent. No function of this header may be called from an interrupt
 * handler (feed bytes from a queue or ring the handler fills instead), and a step handler must
 * not call rep_serve, rep_feed, rep_feed_eof, rep_handle_line, rep_tick or
 * rep_executor_resync on its own executor (they return REP_ERR_BUSY).
 *
 * Errors: functions that can fail return a `rep_err` (rep_json.h): REP_OK or a negative
 * REP_ERR_*; see rep_err_str. Protocol errors (REP v0.1 §5 codes) are answered to the host,
 * never returned.
 *
 * See docs/native-executors.md for a guide, the limits and how to port to a board.
 */
#ifndef REP_EXECUTOR_H
#define REP_EXECUTOR_H

#include <stddef.h>
#include <stdint.h>

#include "rep_config.h"
#include "rep_json.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Version of this library, advertised by Runtime.Capabilities unless the executor sets its
 *  own. */
#define REP_EXECUTOR_VERSION "0.2.0"

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

/** The attempt being run. Valid only during the handler call: never keep the pointer. */
typedef struct rep_step rep_step;

/** Runs one call of an attempt of a step. `with` is the node's `with` object with every
 *  reference resolved: valid during the call only (copy what you keep). The handler writes its
 *  output (any JSON value, usually an object) to `out`. `user` is what rep_executor_add_step
 *  was given. A handler must return promptly (it holds the whole executor while it runs): to
 *  wait for something, return rep_step_wait and be called again. */
typedef rep_step_result (*rep_step_fn)(rep_step *step, rep_json with, rep_writer *out,
                                       void *user);

/* The step API: call these only with the `step` of the handler call in progress. Every
 * rep_json they return points into the run's storage and stays valid during the call. */

/** The attempt number, from 1 (a retried attempt gets the next number; the handler of a
 *  PENDING attempt sees the same number on every call). */
uint32_t rep_step_attempt(const rep_step *step);
/** The node id (a JSON string). */
rep_json rep_step_id(const rep_step *step);
/** The run inputs (a JSON object). */
rep_json rep_step_inputs(const rep_step *step);
/** The whole Flow IR document of the run (e.g. for `constants.policy`). */
rep_json rep_step_ir(const rep_step *step);
/** Milliseconds since this attempt started (its first call), by rep_io.now_ms. */
uint64_t rep_step_elapsed_ms(const rep_step *step);
/** Whether the attempt must stop: the run was cancelled or is stopping, or the node's
 *  timeout_ms expired. A handler then returns promptly (REP_CANCEL_GRACE_MS at most). */
bool rep_step_cancelled(const rep_step *step);
/** Asks to be called again within `ms` milliseconds (or as soon as something happens, e.g. a
 *  Cancel); returns REP_STEP_PENDING for `return rep_step_wait(step, 10);`. Meanwhile the
 *  executor answers requests and runs other steps. */
rep_step_result rep_step_wait(rep_step *step, uint32_t ms);
/** Fails the attempt with `code` (2001 for a step failure; 3002 for an internal error) and
 *  `message` (NUL-terminated UTF-8, copied and cut to REP_MAX_MESSAGE_BYTES); returns
 *  REP_STEP_FAILED. By default a 2xxx failure is retried within the node's retry.max. */
rep_step_result rep_step_fail(rep_step *step, int32_t code, const char *message);
/** Like rep_step_fail, with the JSON text of `value` appended to the message. */
rep_step_result rep_step_fail_with(rep_step *step, int32_t code, const char *message,
                                   rep_json value);
/** After rep_step_fail: whether the failure may be retried (default: only 2000–2999). */
void rep_step_set_retriable(rep_step *step, bool retriable);
/** After rep_step_fail: a machine-readable cause, "timeout", "cancelled" or "panic" (NULL or
 *  anything else: none). */
void rep_step_set_cause(rep_step *step, const char *cause);
/** Where this attempt runs: a number in [0, REP_MAX_RUNS × REP_CONCURRENCY) that no other
 *  attempt in progress has (a place holds one attempt at a time). With rep_step_serial, for a
 *  handler that hands its work to another task and keeps state per place (the FreeRTOS
 *  port's blocking steps, docs/native-executors.md). */
uint32_t rep_step_place(const rep_step *step);
/** A number identifying this attempt among every attempt the executor started: the same on
 *  every call of a pending attempt, another one for the next attempt in the same place (never
 *  0; it wraps after 2^32 attempts). */
uint32_t rep_step_serial(const rep_step *step);
/** Emits a `log` event for this step (`level` e.g. "info"; both NUL-terminated, copied).
 *  At most two per handler call are recorded. */
void rep_step_log(rep_step *step, const char *level, const char *message);

/* ------------------------------------------------------------------------------------------
 * I/O callbacks: the port to a platform.
 * ---------------------------------------------------------------------------------------- */

/** How the executor talks to its host and reads time. Copied by rep_executor_init; `ctx` is
 *  kept by pointer and passed to every callback. The callbacks are called from the thread
 *  that calls rep_serve / rep_feed / rep_tick, never from two threads at once. */
typedef struct rep_io {
    /** Reads up to `cap` bytes of requests into `buf`, waiting at most `timeout_ms` (0: do not
     *  wait). Returns the number of bytes read (> 0), 0 when none arrived in time, or -1 at
     *  the end of input (EOF) or on a read error. Used by rep_serve only. */
    long (*read)(void *ctx, char *buf, size_t cap, uint32_t timeout_ms);
    /** Writes all `n` bytes of responses; returns 0, or -1 on error (the host is gone). The
     *  bytes are valid during the call only. */
    int (*write)(void *ctx, const char *bytes, size_t n);
    /** Monotonic milliseconds as a 64-bit count (any origin; must not go backwards, must not
     *  wrap: widen a 32-bit tick counter). */
    uint64_t (*now_ms)(void *ctx);
    /** Optional (may be NULL): the wall clock as milliseconds since the Unix epoch, for event
     *  timestamps. Without it, timestamps count from 1970-01-01T00:00:00Z at start-up. */
    uint64_t (*unix_ms)(void *ctx);
    /** Passed to every callback. */
    void *ctx;
} rep_io;

/* ------------------------------------------------------------------------------------------
 * The executor.
 * ---------------------------------------------------------------------------------------- */

/** The executor: declare one (static storage), then rep_executor_init. Its fields are
 *  private (rep_layout.h): use the functions. */
typedef struct rep_executor rep_executor;

/** Prepares `ex` (no I/O but one now_ms call): REP_OK, REP_ERR_ARG when `io` lacks read,
 *  write or now_ms, or REP_ERR_LAYOUT when this translation unit's `rep_executor` was compiled
 *  with other limits than the library (the caller's sizeof and REP_LAYOUT_TAG are passed by
 *  the macro) — then `ex` is left refusing every call. `io` is copied. `version` (semver,
 *  NUL-terminated, kept by pointer: a string literal) is advertised by Runtime.Capabilities;
 *  NULL means REP_EXECUTOR_VERSION. The built-in kinds `switch` and `finish` are always
 *  there. Call it before any other function on `ex`, from the thread that will serve. */
#define rep_executor_init(ex, io, version)                                                     \
    rep_executor_init_checked((ex), sizeof *(ex), REP_LAYOUT_TAG, (io), (version))

/** rep_executor_init with the caller's view of the layout given explicitly: `size` is
 *  sizeof(rep_executor) and `layout_tag` REP_LAYOUT_TAG as the caller was compiled. */
rep_err rep_executor_init_checked(rep_executor *ex, size_t size, uint32_t layout_tag,
                                  const rep_io *io, const char *version);

/** Registers `fn` for step kind `kind` (a NUL-terminated string kept by pointer: use a string
 *  literal or storage that outlives `ex`); `user` is passed to `fn` as it is. Registering a
 *  kind again replaces its handler; registering `switch` or `finish` replaces the built-in.
 *  Returns REP_OK, REP_ERR_ARG (`kind` NULL or empty, `fn` NULL), REP_ERR_FULL (REP_MAX_KINDS
 *  kinds registered), REP_ERR_LAYOUT or REP_ERR_BUSY. */
rep_err rep_executor_add_step(rep_executor *ex, const char *kind, rep_step_fn fn, void *user);

/** The step kind of rep_executor_add_probe. */
#define REP_PROBE_STEP_KIND "rep.probe"

/** Registers `rep.probe` (rep_probe.c), the probe step kind of rep-conformance's semantic
 *  tests — a conformance extension, not part of REP v0.1 (docs/protocol.md): with it in
 *  `step_kinds`, rep-conformance checks how the executor runs graphs (retries, timeouts,
 *  edges, `switch`, `finish`, joins, concurrency, Cancel). An attempt lasts `with.delay_ms`
 *  without blocking the executor and ends at once when cancelled; attempts 1 …
 *  `with.fail_times` fail (2001, retriable); `with.fail: true` fails every attempt, not
 *  retriable; otherwise the output is `with.output` (default `{}`). Takes one of the
 *  REP_MAX_KINDS kinds. Returns as rep_executor_add_step. */
rep_err rep_executor_add_probe(rep_executor *ex);

/** Serves REP until the end of input: reads requests (rep_io.read), answers them, runs the
 *  runs, sleeping in read when there is nothing to do. Returns REP_OK at EOF, REP_ERR_IO when
 *  writing a response failed (the host is gone), REP_ERR_LAYOUT or REP_ERR_BUSY. Uses
 *  REP_READ_CHUNK bytes of stack for its read buffer. */
rep_err rep_serve(rep_executor *ex);

/* Lower-level entry points, for a main loop of one's own (an RTOS task fed by a queue,
 * interrupt-driven boards, tests): feed the bytes that arrived, call rep_tick, and wait for
 * more input at most rep_idle_ms. */

/** Feeds request bytes (copied as needed; `bytes` is not kept): answers each complete line.
 *  Returns REP_OK, REP_ERR_IO after a write error, REP_ERR_LAYOUT or REP_ERR_BUSY. */
rep_err rep_feed(rep_executor *ex, const char *bytes, size_t n);
/** The end of input: answers a last line without '\n'. Returns as rep_feed. */
rep_err rep_feed_eof(rep_executor *ex);
/** Answers one request line (the `n` bytes at `line`, without '\n'). Returns as rep_feed. */
rep_err rep_handle_line(rep_executor *ex, const char *line, size_t n);
/** Advances every run as far as it can go now (calls step handlers). Does nothing on an
 *  executor that is not initialized or from inside a step handler. */
void rep_tick(rep_executor *ex);
/** How long the caller may wait for input before rep_tick is due again: 0 when a run can make
 *  progress now, at most `max_ms`. */
uint32_t rep_idle_ms(rep_executor *ex, uint32_t max_ms);

/** Makes every pending step due now: its handler is called again at the next rep_tick instead
 *  of when its rep_step_wait expires. For a serving task woken because another task or an
 *  interrupt finished what a handler waits for (a result it polls for). Call it from the
 *  serving thread, like rep_tick. Returns REP_OK, REP_ERR_LAYOUT or REP_ERR_BUSY. */
rep_err rep_executor_wake(rep_executor *ex);

/** Line noise on a serial link: drops the partial line received so far and every byte up to
 *  and including the next '\n' (counted by rep_executor_dropped_bytes). A port on a UART calls
 *  it at start-up — bytes that arrive before the first newline after a reset are noise, and
 *  the host side (rep-bridge) sends a newline when it connects — and after a framing, parity
 *  or overrun error. Returns REP_OK, REP_ERR_LAYOUT or REP_ERR_BUSY.
 *
 *  Independently of this, before the first request line the executor answers no line that
 *  does not begin like a JSON object (`{` then `"` or `}`, blanks allowed): such lines are
 *  line noise, dropped and counted, never answered with an `id: null` error. */
rep_err rep_executor_resync(rep_executor *ex);

/** Bytes dropped as line noise so far (see rep_executor_resync); 0 for an executor that is
 *  not initialized. */
uint64_t rep_executor_dropped_bytes(const rep_executor *ex);

#ifdef __cplusplus
}
#endif

/* The storage layout: complete types, so that a `rep_executor` can be declared. Private. */
#include "rep_layout.h"

#endif /* REP_EXECUTOR_H */

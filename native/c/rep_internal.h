/*
 * rep_internal.h — declarations shared by the library's sources; not part of the API.
 */
#ifndef REP_INTERNAL_H
#define REP_INTERNAL_H

#include "rep_executor.h"

/* REP v0.1 §5 error codes and the JSON-RPC 2.0 ones. */
#define REP_PARSE_ERROR (-32700)
#define REP_INVALID_REQUEST (-32600)
#define REP_METHOD_NOT_FOUND (-32601)
#define REP_INVALID_PARAMS (-32602)
#define REP_UNKNOWN_RUN 1000
#define REP_UNSUPPORTED_IR_VERSION 1001
#define REP_UNSUPPORTED_STEP_KIND 1002
#define REP_INVALID_IR 1003
#define REP_INVALID_INPUTS 1004
#define REP_STEP_FAILED_CODE 2001
#define REP_TRANSPORT 3001
#define REP_INTERNAL 3002
/* RuntimeInternal, this library's own: a compile-time limit was reached (out of resources);
 * data.details.limit names it. */
#define REP_RESOURCES 3003

/* Built-in kinds in rep_node_info.kind. */
#define REP_KIND_SWITCH 0xFFFEu
#define REP_KIND_FINISH 0xFFFDu

/* rep_node_info.flags: what the node's type string is. */
#define REP_NODE_SWITCH 1u
#define REP_NODE_FINISH 2u
#define REP_NODE_EMIT 4u

/* rep_error_info.cause */
#define REP_CAUSE_NONE 0
#define REP_CAUSE_TIMEOUT 1
#define REP_CAUSE_CANCELLED 2
#define REP_CAUSE_PANIC 3

/* rep_error_info.details */
#define REP_DETAILS_NONE 0
#define REP_DETAILS_TIMEOUT_MS 1
#define REP_DETAILS_FLOW_TIMEOUT_MS 2
#define REP_DETAILS_LIMIT 3

/* rep_run.status (REP v0.1 §3). */
#define REP_STATUS_PENDING 0
#define REP_STATUS_RUNNING 1
#define REP_STATUS_COMPLETED 2
#define REP_STATUS_FAILED 3

/* ---- rep_ir.c ---- */

/** Why StartRun refused an IR: the code, a message and, for 1003, the JSON pointer. */
typedef struct rep_ir_problem {
    int32_t code;
    char pointer[96];
    size_t pointer_len;
    char message[REP_MAX_MESSAGE_BYTES];
    size_t message_len;
    /* 1002: the missing kinds (indexes of nodes naming them) */
    uint16_t missing[REP_MAX_KINDS + 8];
    uint16_t missing_count;
} rep_ir_problem;

/** Checks `ir` in REP order — version (1001), schema and semantic rules (1003), step kinds
 *  (1002) — and builds its graph into `g` (offsets relative to ir.p). Returns 0, or -1 with
 *  `problem` filled. */
int rep_ir_check(rep_executor *ex, rep_json ir, rep_graph *g, rep_ir_problem *problem);

/** Checks the run `inputs` against the IR's `inputs_schema` (REP v0.1 §3 [clarified]: 1004):
 *  every declared input present and of its declared type, nested values walked on `stack`
 *  (REP_INPUT_TYPE_DEPTH levels). Returns the number of problems and writes the first one
 *  ("input nodes (list<string>): /nodes/1: expected a string, got number 7") into `first` (at
 *  most `first_cap` bytes, `*first_len` set). */
int rep_inputs_check(rep_inputs_frame *stack, rep_json inputs_schema, rep_json inputs,
                     char *first, size_t first_cap, size_t *first_len);

/** Writes every problem rep_inputs_check counts as a JSON array of
 *  `{pointer, input, declared, message}` objects. */
void rep_inputs_details(rep_inputs_frame *stack, rep_json inputs_schema, rep_json inputs,
                        rep_writer *w);


/* ---- rep_resolve.c ---- */

/** What references see: the inputs and the outputs of the steps that succeeded so far. */
typedef struct rep_scope {
    rep_json inputs;
    const rep_run *run; /* NULL: no step outputs */
} rep_scope;

/** Writes `with` with every reference resolved (REP dialect "References"). */
void rep_resolve(rep_json with, const rep_scope *scope, rep_writer *out);


/* ---- rep_run.c ---- */

/** Prepares `run` for a new run of `ir` (already copied into run->doc). */
void rep_run_start(rep_executor *ex, rep_run *run);
/** Advances `run`. */
void rep_run_tick(rep_executor *ex, rep_run *run);
/** When `run` next needs a tick (ms from now, 0: now), at most `max_ms`. */
uint32_t rep_run_idle_ms(rep_executor *ex, rep_run *run, uint32_t max_ms);
/** rep_executor_wake for one run: its pending steps are due now. */
void rep_run_wake(rep_run *run);
/** Runtime.Cancel. */
void rep_run_cancel(rep_executor *ex, rep_run *run);
/** Writes the Poll result of `run` and drains its events. */
void rep_run_poll(rep_executor *ex, rep_run *run, rep_writer *w);
/** Whether `run` is completed or failed. */
int rep_run_final(const rep_run *run);
/** Monotonic now. */
uint64_t rep_now(rep_executor *ex);
/** Writes an RFC 3339 UTC timestamp of `unix_ms` (with milliseconds) into `out` (24 bytes). */
size_t rep_format_rfc3339(uint64_t unix_ms, char *out);
/** Sets `e` to `code` and the message `a` + `b` (b may be NULL), cut to size. */
void rep_error_set(rep_error_info *e, int32_t code, const char *a, size_t an, const char *b,
                   size_t bn);

#endif /* REP_INTERNAL_H */

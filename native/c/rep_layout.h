/*
 * rep_layout.h — the storage layout of a `rep_executor`: private fields, sized by the limits of
 * rep_config.h. Included by rep_executor.h so that an executor can be declared (static
 * storage); never read or write these fields: use the functions of rep_executor.h.
 *
 * The layout depends on every limit: a library and an application compiled with different
 * limits disagree on it, which rep_executor_init detects (REP_LAYOUT_TAG and sizeof) and
 * refuses. Bump REP_LAYOUT_VERSION (rep_config.h) when this file changes.
 *
 * sizeof(rep_executor) is about REP_MAX_FRAME_BYTES + REP_MAX_RUNS × (REP_RUN_DOC_BYTES +
 * REP_RUN_OUTPUT_BYTES + REP_RUN_EVENT_BYTES + REP_CONCURRENCY × REP_WITH_BYTES +
 * 28 × REP_MAX_OUTPUT_KEYS + 60 × REP_MAX_NODES + 24 × REP_MAX_EDGES).
 */
#ifndef REP_LAYOUT_H
#define REP_LAYOUT_H

#ifndef REP_EXECUTOR_H
#error "include rep_executor.h, not rep_layout.h"
#endif

#ifdef __cplusplus
extern "C" {
#endif

/** Deepest `list<…>` / `map<…>` nesting of a run-input type that is checked (deeper types
 *  accept anything); the bound of the input check's explicit stack. */
#define REP_INPUT_TYPE_DEPTH 24

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
    uint8_t details;   /* 0 none, 1 {timeout_ms}, 2 {flow_timeout_ms}, 3 {limit} */
    uint32_t attempt;
    uint32_t details_ms;
    const char *limit; /* details 3: the name of the limit reached (a string literal) */
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
    uint32_t serial;   /* rep_step_serial of the attempt */
    uint64_t started_ms, wake_ms, cancel_deadline_ms;
    size_t with_len;
    char with[REP_WITH_BYTES];
} rep_slot;

/** One member of a run's merged outputs: its key and its current value, both inside the
 *  run's `output` text (the `dsl.emit` outputs that gave them). */
typedef struct rep_output_member {
    uint32_t key_off, key_len;
    uint32_t value_off, value_len;
    uint32_t slot; /* its slot in the hash index */
} rep_output_member;

/** Slots of the hash index over the merged output keys (load factor at most 1/2). */
#define REP_OUTPUT_INDEX_SLOTS (2 * (REP_MAX_OUTPUT_KEYS))

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
    uint16_t done_order[REP_MAX_NODES]; /* succeeded nodes, in completion order */
    uint16_t done_count;
    rep_slot slots[REP_CONCURRENCY];
    size_t output_len;
    char output[REP_RUN_OUTPUT_BYTES];
    /* summary.outputs: the dsl.emit outputs merged as each one completes — each key at its
     * first place with its last value — and a hash index of its keys (member number + 1, 0
     * for an empty slot). */
    uint8_t merged_index_clean; /* 0: the index holds whatever the memory held */
    uint32_t merged_count;
    rep_output_member merged[REP_MAX_OUTPUT_KEYS];
    uint32_t merged_index[REP_OUTPUT_INDEX_SLOTS];
    size_t events_len;
    char events[REP_RUN_EVENT_BYTES];
} rep_run;

/** A registered step kind. */
typedef struct rep_kind {
    const char *name;
    rep_step_fn fn;
    void *user;
} rep_kind;

/** One level of the run-input check's explicit stack: a `list<T>` or `map<K, T>` being
 *  walked (T at `inner`, inside the declared type's text). */
typedef struct rep_inputs_frame {
    rep_json_iter items;
    const char *inner;
    uint16_t inner_len;
    uint16_t pointer_len; /* the JSON pointer's length before this level's segment */
    uint8_t kind;
    size_t index;
} rep_inputs_frame;

/** The executor. */
struct rep_executor {
    uint32_t layout_tag; /* REP_LAYOUT_TAG once initialized; first, so that any layout finds it */
    uint8_t in_handler;  /* a step handler is running */
    uint8_t synced;      /* a request line was seen: every line is answered from now on */
    uint8_t resyncing;   /* dropping bytes up to the next '\n' */
    rep_io io;
    const char *version;
    rep_kind kinds[REP_MAX_KINDS];
    uint16_t kind_count;
    uint32_t run_seq;
    uint32_t attempt_serial; /* the last attempt's rep_step_serial */
    uint64_t epoch_unix_ms, epoch_mono_ms;
    uint64_t dropped_bytes;
    /* input framing */
    size_t line_len;
    size_t discarding; /* > 0: bytes of an over-long line seen so far */
    uint8_t discarding_noise; /* that line is noise: dropped without an answer */
    int write_failed;
    char line[REP_MAX_FRAME_BYTES + 1];
    char out_buf[512];
    rep_graph staging; /* StartRun validates into this before a run takes it */
    rep_error_info step_error; /* the failure of the handler call in progress */
    uint16_t tmp_a[REP_MAX_NODES], tmp_b[REP_MAX_NODES];
    uint16_t tmp_edges[REP_MAX_EDGES];
    rep_inputs_frame inputs_stack[REP_INPUT_TYPE_DEPTH];
    rep_run runs[REP_MAX_RUNS];
};

#ifdef __cplusplus
}
#endif

#endif /* REP_LAYOUT_H */

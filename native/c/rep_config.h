/*
 * rep_config.h — the compile-time limits of the REP executor library, and the layout tag that
 * makes a library and an application built with different limits refuse each other.
 *
 * Every limit is a size fixed at compile time (no heap). To choose them, either
 *   - write a configuration file and name it for the whole build:
 *       cc -DREP_CONFIG_FILE='"my_rep_config.h"' …
 *     (lwIP's lwipopts.h and Mbed TLS's MBEDTLS_CONFIG_FILE work the same way; see
 *     native/linux/rep_config_linux.h and native/firmware/rep_config_firmware.h), or
 *   - define them with -D for the whole build (-DREP_MAX_NODES=64 …).
 * Whatever the file or -D leaves undefined gets the default below. The library and every file
 * that includes its headers must see the same values: rep_executor_init checks it (see
 * REP_LAYOUT_TAG) and refuses a mismatch with REP_ERR_LAYOUT instead of corrupting memory.
 *
 * docs/native-executors.md ("Limits") tabulates them with what happens at each.
 */
#ifndef REP_CONFIG_H
#define REP_CONFIG_H

#ifdef REP_CONFIG_FILE
#include REP_CONFIG_FILE
#endif

/** Longest request line in bytes (without its '\n'). A longer line is answered -32600. */
#ifndef REP_MAX_FRAME_BYTES
#define REP_MAX_FRAME_BYTES 65536
#endif
/** Deepest JSON nesting (objects and arrays) accepted by rep_json_parse; deeper is a parse
 *  error (-32700 for a request, 3002 for a step output). Costs no memory: keep it at least 8
 *  above the deepest output a step writes. */
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
/** Most step kinds registered with rep_executor_add_step (REP_ERR_FULL beyond). */
#ifndef REP_MAX_KINDS
#define REP_MAX_KINDS 16
#endif
/** Runs kept at once (running, or finished and still pollable). */
#ifndef REP_MAX_RUNS
#define REP_MAX_RUNS 2
#endif
/** Steps of one run in progress at once (`limits.concurrency` of Runtime.Capabilities). */
#ifndef REP_CONCURRENCY
#define REP_CONCURRENCY 4
#endif
/** Bytes kept per run for the IR and the inputs (their JSON text as received); a larger
 *  StartRun is refused with 3003. */
#ifndef REP_RUN_DOC_BYTES
#define REP_RUN_DOC_BYTES REP_MAX_FRAME_BYTES
#endif
/** Bytes per run for the outputs of its steps (JSON text). A step whose output does not fit
 *  fails (3003). */
#ifndef REP_RUN_OUTPUT_BYTES
#define REP_RUN_OUTPUT_BYTES 16384
#endif
/** Distinct keys of a run's merged `dsl.emit` outputs (`summary.outputs`); a `dsl.emit` step
 *  that would add more fails (3003). Costs 28 bytes per key and run. */
#ifndef REP_MAX_OUTPUT_KEYS
#define REP_MAX_OUTPUT_KEYS ((REP_RUN_OUTPUT_BYTES) / 32 < 16 ? 16 : (REP_RUN_OUTPUT_BYTES) / 32)
#endif
/** Bytes per run for events not yet delivered by a Poll. When it is nearly full the run
 *  pauses until the next Poll drains it: no event is ever dropped. */
#ifndef REP_RUN_EVENT_BYTES
#define REP_RUN_EVENT_BYTES 16384
#endif
/** Bytes for one step's resolved `with` (one buffer per concurrent step). A `with` that does
 *  not fit fails the step (3003). */
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
/** Bytes rep_serve reads at once (a buffer on the stack of rep_serve). */
#ifndef REP_READ_CHUNK
#define REP_READ_CHUNK 1024
#endif
/** Longest string value that can be a reference (`$input.…`, `$step.…`), in decoded bytes;
 *  longer strings are text (a buffer on the stack while `with` is resolved). */
#ifndef REP_MAX_REF_BYTES
#define REP_MAX_REF_BYTES 256
#endif

#if REP_MAX_DEPTH < 4 || REP_MAX_DEPTH > 63
#error "REP_MAX_DEPTH must be within 4..63"
#endif
#if REP_MAX_NODES < 1 || REP_MAX_NODES > 65535 || REP_MAX_EDGES < 1 || REP_MAX_EDGES > 65535
#error "REP_MAX_NODES and REP_MAX_EDGES must be within 1..65535"
#endif
#if REP_CONCURRENCY < 1 || REP_MAX_RUNS < 1 || REP_MAX_KINDS < 1
#error "REP_CONCURRENCY, REP_MAX_RUNS and REP_MAX_KINDS must be at least 1"
#endif
#if REP_MAX_OUTPUT_KEYS < 1 || REP_MAX_OUTPUT_KEYS > 16777215
#error "REP_MAX_OUTPUT_KEYS must be within 1..16777215"
#endif
#if REP_MAX_MESSAGE_BYTES < 64 || REP_MAX_MESSAGE_BYTES > 65535 || REP_MAX_ID_BYTES < 1 ||      \
    REP_MAX_RUN_ID_BYTES < 16 || REP_MAX_RUN_ID_BYTES > 65535
#error "REP_MAX_MESSAGE_BYTES must be within 64..65535, REP_MAX_RUN_ID_BYTES within 16..65535"
#endif
#if REP_READ_CHUNK < 1 || REP_MAX_REF_BYTES < 16
#error "REP_READ_CHUNK must be at least 1, REP_MAX_REF_BYTES at least 16"
#endif

/** Upper bound of one event's JSON text (ids and messages are capped, see above). */
#define REP_MAX_EVENT_BYTES (192 + REP_MAX_ID_BYTES + REP_MAX_MESSAGE_BYTES)

#if REP_RUN_EVENT_BYTES < (2 * REP_CONCURRENCY + 8) * REP_MAX_EVENT_BYTES
#error "REP_RUN_EVENT_BYTES is below (2 * REP_CONCURRENCY + 8) * REP_MAX_EVENT_BYTES"
#endif

/* The layout tag: a 32-bit FNV-style mix of every limit and of the layout's version, as an
 * integer constant expression (the same value on 32- and 64-bit targets). rep_executor_init
 * passes the tag and sizeof(rep_executor) as the caller's translation unit sees them; the
 * library compares both with its own. Bump REP_LAYOUT_VERSION when rep_layout.h changes. */
#define REP_LAYOUT_VERSION 3u
#define REP_LAYOUT_MIX(h, v)                                                                    \
    ((((unsigned long)(h) ^ ((unsigned long)(v) & 0xFFFFFFFFul)) * 16777619ul) & 0xFFFFFFFFul)
#define REP_LAYOUT_MIX3(h, a, b, c) REP_LAYOUT_MIX(REP_LAYOUT_MIX(REP_LAYOUT_MIX(h, a), b), c)
#define REP_LAYOUT_TAG_1                                                                        \
    REP_LAYOUT_MIX3(2166136261ul, REP_LAYOUT_VERSION, REP_MAX_FRAME_BYTES, REP_MAX_DEPTH)
#define REP_LAYOUT_TAG_2                                                                        \
    REP_LAYOUT_MIX3(REP_LAYOUT_TAG_1, REP_MAX_NODES, REP_MAX_EDGES, REP_MAX_ID_BYTES)
#define REP_LAYOUT_TAG_3                                                                        \
    REP_LAYOUT_MIX3(REP_LAYOUT_TAG_2, REP_MAX_RUN_ID_BYTES, REP_MAX_KINDS, REP_MAX_RUNS)
#define REP_LAYOUT_TAG_4                                                                        \
    REP_LAYOUT_MIX3(REP_LAYOUT_TAG_3, REP_CONCURRENCY, REP_RUN_DOC_BYTES, REP_RUN_OUTPUT_BYTES)
#define REP_LAYOUT_TAG_5                                                                        \
    REP_LAYOUT_MIX3(REP_LAYOUT_TAG_4, REP_MAX_OUTPUT_KEYS, REP_RUN_EVENT_BYTES, REP_WITH_BYTES)
/** The layout of `rep_executor` under this build's limits (see rep_executor_init). */
#define REP_LAYOUT_TAG                                                                          \
    ((uint32_t)REP_LAYOUT_MIX3(REP_LAYOUT_TAG_5, REP_MAX_MESSAGE_BYTES, REP_CANCEL_GRACE_MS,    \
                               REP_MAX_REF_BYTES))

#endif /* REP_CONFIG_H */

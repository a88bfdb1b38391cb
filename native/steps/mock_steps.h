/*
 * mock_steps.h — the mock executor's step kinds for the C library, shared by `c-executor`
 * (Linux) and the Cortex-M firmware, so that both run the reference compiler's output with the
 * same results as the Rust `mock-executor`:
 *
 * - `opcua.read`: with {endpoint, node_ids: [string]} → {endpoint, values: {node_id: 80.0}},
 *   each value taken from the run inputs' `mock_values` object when it holds a number there;
 * - `opcua.write`: echoes {endpoint, node_id, value, status: "ok"};
 * - `policy.apply`: the `pdl/v0` threshold rule baked in `constants.policy.policy`;
 * - `dsl.emit`: its resolved `with`, which becomes the flow's outputs;
 *
 * each honouring the fault injection `with._mock: {delay_ms, fail_times, fail, retriable,
 * output, panic}` as the mock executor does (a delay waits without blocking the executor).
 *
 * The handlers share static scratch buffers (no heap, no recursion: emit expressions are
 * evaluated on a static explicit stack): register them on one executor per program, served
 * by one thread.
 */
#ifndef MOCK_STEPS_H
#define MOCK_STEPS_H

#include "rep_executor.h"

#ifdef __cplusplus
extern "C" {
#endif

/** What `opcua.read` returns for a node without a `mock_values` entry (JSON text). */
#define MOCK_DEFAULT_READING "80.0"

/** Registers the four mock step kinds on `ex`: REP_OK, or the first error of
 *  rep_executor_add_step (REP_ERR_FULL when REP_MAX_KINDS is below 4 + the caller's kinds). */
rep_err mock_steps_register(rep_executor *ex);

#ifdef __cplusplus
}
#endif

#endif /* MOCK_STEPS_H */

/*
 * rep_probe.c — `rep.probe`, the probe step kind of rep-conformance's semantic tests: a
 * conformance extension, not part of REP v0.1 (docs/protocol.md, "Conformance extension").
 *
 * An attempt lasts `with.delay_ms` without blocking the executor (it waits with
 * rep_step_wait and ends at once, failed with cause `cancelled`, when rep_step_cancelled says
 * so: Cancel, the run stopping, the node's timeout_ms); then attempts 1 … `with.fail_times`
 * fail with a retriable step failure (2001), every attempt fails, not retriable, when
 * `with.fail` is true, and a succeeding attempt outputs `with.output` (default `{}`).
 * Absent and null keys take their defaults; a value of the wrong type fails the attempt, not
 * retriable, naming the key. Integers above 2^32 - 1 count as 2^32 - 1 (a delay of 49 days,
 * more failures than a node can have attempts).
 *
 * It uses only the step API of rep_executor.h, as an application's step kinds do.
 */
#include "rep_executor.h"

/* Longest wait asked of the scheduler at once, in ms: Cancel and timeouts wake the step
 * earlier anyway. */
#define PROBE_WAIT_MS 60000u

/* Fails the attempt, not retriable: "rep.probe: <message><value>". */
static rep_step_result probe_refuse(rep_step *step, const char *message, rep_json value)
{
    (void)rep_step_fail_with(step, 2001, message, value);
    rep_step_set_retriable(step, false);
    return REP_STEP_FAILED;
}

/* A count of `with`: 0 when absent or null; -1 when not an integer ≥ 0 written with digits. */
static int probe_count(rep_json v, uint32_t *out)
{
    rep_json_type t = rep_json_typeof(v);
    rep_err err;
    *out = 0;
    if ((t == REP_JSON_MISSING) || (t == REP_JSON_NULL)) {
        return 0;
    }
    err = rep_json_to_u32(v, UINT32_MAX, out);
    if (err == REP_ERR_RANGE) {
        *out = UINT32_MAX;
        err = REP_OK;
    }
    return (err == REP_OK) ? 0 : -1;
}

/* A flag of `with`: false when absent or null; -1 when not a boolean. */
static int probe_flag(rep_json v, bool *out)
{
    rep_json_type t = rep_json_typeof(v);
    *out = (t == REP_JSON_BOOL) && (v.p[0] == 't');
    return ((t == REP_JSON_BOOL) || (t == REP_JSON_MISSING) || (t == REP_JSON_NULL)) ? 0 : -1;
}

static rep_step_result probe_step(rep_step *step, rep_json with, rep_writer *out, void *user)
{
    rep_json delay_v = rep_json_get(with, "delay_ms");
    rep_json fail_times_v = rep_json_get(with, "fail_times");
    rep_json fail_v = rep_json_get(with, "fail");
    rep_json output = rep_json_get(with, "output");
    rep_json_type output_t = rep_json_typeof(output);
    uint32_t delay_ms;
    uint32_t fail_times;
    bool fail;
    (void)user;
    if (probe_count(delay_v, &delay_ms) != 0) {
        return probe_refuse(step, "rep.probe: with.delay_ms must be an integer >= 0, got ",
                            delay_v);
    }
    if (probe_count(fail_times_v, &fail_times) != 0) {
        return probe_refuse(step, "rep.probe: with.fail_times must be an integer >= 0, got ",
                            fail_times_v);
    }
    if (probe_flag(fail_v, &fail) != 0) {
        return probe_refuse(step, "rep.probe: with.fail must be a boolean, got ", fail_v);
    }
    if (delay_ms > 0u) {
        uint64_t elapsed = rep_step_elapsed_ms(step);
        if (rep_step_cancelled(step)) {
            (void)rep_step_fail(step, 2001, "rep.probe: attempt cancelled during its delay_ms");
            rep_step_set_cause(step, "cancelled");
            rep_step_set_retriable(step, false);
            return REP_STEP_FAILED;
        }
        if (elapsed < (uint64_t)delay_ms) {
            uint64_t left = (uint64_t)delay_ms - elapsed;
            return rep_step_wait(step, (left > PROBE_WAIT_MS) ? PROBE_WAIT_MS : (uint32_t)left);
        }
    }
    if (fail) {
        return probe_refuse(step, "rep.probe: with.fail is ", fail_v);
    }
    if (rep_step_attempt(step) <= fail_times) {
        return rep_step_fail_with(step, 2001,
                                  "rep.probe: one of the first attempts that fail, fail_times ",
                                  fail_times_v);
    }
    if ((output_t == REP_JSON_MISSING) || (output_t == REP_JSON_NULL)) {
        rep_w_begin_object(out);
        rep_w_end_object(out);
    } else {
        rep_w_value(out, output);
    }
    return REP_STEP_DONE;
}

rep_err rep_executor_add_probe(rep_executor *ex)
{
    return rep_executor_add_step(ex, REP_PROBE_STEP_KIND, probe_step, NULL);
}

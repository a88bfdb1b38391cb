/*
 * diag_steps.c — `diag.fault` (see diag_steps.h).
 */
#include "diag_steps.h"

#include <stddef.h>

static rep_step_result diag_fault(rep_step *step, rep_json with, rep_writer *out, void *user)
{
    void (*smash_canary)(void) = *(void (*const *)(void))user;
    rep_json fault = rep_json_get(with, "fault");
    if (rep_json_string_equals(fault, "hang", 4)) {
        for (;;) {
            __asm__ volatile("" ::: "memory");
        }
    }
    if (rep_json_string_equals(fault, "trap", 4)) {
        __builtin_trap();
    }
    if (rep_json_string_equals(fault, "stack", 5)) {
        smash_canary();
        rep_w_begin_object(out);
        rep_w_key(out, "smashed");
        rep_w_bool(out, true);
        rep_w_end_object(out);
        return REP_STEP_DONE;
    }
    (void)rep_step_fail_with(step, 2001, "diag.fault: with.fault must be \"hang\", \"trap\" or "
                                         "\"stack\", got ", fault);
    rep_step_set_retriable(step, false);
    return REP_STEP_FAILED;
}

rep_err diag_steps_register(rep_executor *ex, void (*smash_canary)(void))
{
    static void (*smash)(void);
    smash = smash_canary;
    return rep_executor_add_step(ex, "diag.fault", diag_fault, (void *)&smash);
}

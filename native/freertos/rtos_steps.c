/*
 * rtos_steps.c — rtos.sleep and rtos.ticks (see rtos_steps.h).
 */
#include "rtos_steps.h"

#include "rep_rtos.h"
#include "task.h"

static rep_step_result rtos_sleep(rep_rtos_job *job, rep_json with, rep_writer *out,
                                  void *user)
{
    uint32_t ms = 0;
    (void)user;
    if (rep_json_to_u32(rep_json_get(with, "ms"), 3600000u, &ms) != REP_OK) {
        rep_rtos_job_set_retriable(job, false);
        return rep_rtos_job_fail(job, 2001, "rtos.sleep: with.ms must be an integer of "
                                            "milliseconds up to 3600000");
    }
    if (!rep_rtos_job_sleep(job, ms)) {
        rep_rtos_job_set_cause(job, "cancelled");
        rep_rtos_job_set_retriable(job, false);
        return rep_rtos_job_fail(job, 2001, "rtos.sleep: cancelled while sleeping");
    }
    rep_w_begin_object(out);
    rep_w_key(out, "slept_ms");
    rep_w_int(out, ms);
    rep_w_end_object(out);
    return REP_STEP_DONE;
}

static rep_step_result rtos_ticks(rep_step *step, rep_json with, rep_writer *out, void *user)
{
    char tick[20];
    size_t n = rep_format_u64((uint64_t)xTaskGetTickCount(), tick);
    (void)step;
    (void)with;
    (void)user;
    rep_w_begin_object(out);
    rep_w_key(out, "tick");
    rep_w_number_text(out, tick, n);
    rep_w_key(out, "now_ms");
    rep_w_int(out, (int64_t)rep_rtos_now_ms());
    rep_w_end_object(out);
    return REP_STEP_DONE;
}

rep_err rtos_steps_register(void)
{
    rep_err err = rep_rtos_add_blocking_step("rtos.sleep", rtos_sleep, NULL);
    if (err == REP_OK) {
        err = rep_executor_add_step(rep_rtos_executor(), "rtos.ticks", rtos_ticks, NULL);
    }
    return err;
}


/* `{{ step.kind }}`: with = { name: string, delay_ms?: integer } -> { "greeting": "hello, <name>" }. */
static rep_step_result {{ step.fn }}(rep_step *step, rep_json with, rep_writer *out, void *user)
{
    char greeting[80] = "hello, ";
    uint32_t delay_ms = 0;
    long n = rep_json_string_decode(rep_json_get(with, "name"), greeting + 7,
                                    sizeof greeting - 7);
    (void)user;
    if (n < 0) {
        rep_step_fail_with(step, 2001, "{{ step.kind }}: with.name must be a short string, got ",
                           rep_json_get(with, "name"));
        rep_step_set_retriable(step, 0); /* a bad `with` does not get better by retrying */
        return REP_STEP_FAILED;
    }
    /* Never block: to wait, return rep_step_wait() and be called again; stop when cancelled. */
    if (rep_json_to_u32(rep_json_get(with, "delay_ms"), 3600000u, &delay_ms) == 0 &&
        rep_step_elapsed_ms(step) < delay_ms) {
        if (rep_step_cancelled(step)) {
            rep_step_fail(step, 3001, "{{ step.kind }}: cancelled");
            rep_step_set_cause(step, "cancelled");
            return REP_STEP_FAILED;
        }
        return rep_step_wait(step, (uint32_t)(delay_ms - rep_step_elapsed_ms(step)));
    }
    rep_step_log(step, "info", "greeting");
    rep_w_begin_object(out);
    rep_w_key(out, "greeting");
    rep_w_string_n(out, greeting, 7 + (size_t)n);
    rep_w_end_object(out);
    return REP_STEP_DONE;
}

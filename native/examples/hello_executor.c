/*
 * hello_executor.c — a complete REP v0.1 executor in C: one step kind, `greet`, whose output
 * is {"greeting": "hello, <with.name>"}; `switch` and `finish` are built in.
 *
 *   cc -std=c99 -Inative/c -Inative/linux native/examples/hello_executor.c \
 *      native/c/rep_*.c native/linux/rep_stdio.c -o hello-executor
 *
 * (with the default limits of rep_config.h; add -DREP_CONFIG_FILE='"my_limits.h"' to choose
 * others, for every file alike).
 */
#include <stdio.h>
#include <string.h>

#include "rep_executor.h"
#include "rep_stdio.h"

static rep_executor executor; /* every byte the library uses, sized at compile time */

static rep_step_result greet(rep_step *step, rep_json with, rep_writer *out, void *user)
{
    char greeting[80] = "hello, ";
    long n = rep_json_string_decode(rep_json_get(with, "name"), greeting + 7,
                                    sizeof greeting - 7);
    (void)user;
    if (n < 0) {
        return rep_step_fail_with(step, 2001, "greet: with.name must be a short string, got ",
                                  rep_json_get(with, "name"));
    }
    rep_w_begin_object(out);
    rep_w_key(out, "greeting");
    rep_w_string_n(out, greeting, 7 + (size_t)n);
    rep_w_end_object(out);
    return REP_STEP_DONE;
}

int main(void)
{
    rep_io io;
    rep_err err;
    rep_stdio_io(&io);
    err = rep_executor_init(&executor, &io, "1.0.0");
    if (err == REP_OK) {
        err = rep_executor_add_step(&executor, "greet", greet, NULL);
    }
    if (err == REP_OK) {
        err = rep_serve(&executor); /* until stdin closes */
    }
    if (err != REP_OK) {
        fprintf(stderr, "hello-executor: %s\n", rep_err_str(err));
    }
    return err == REP_OK ? 0 : 1;
}

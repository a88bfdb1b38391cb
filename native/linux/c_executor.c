/*
 * c_executor.c — `c-executor`: the C library on stdio with the mock executor's step kinds
 * (opcua.read, opcua.write, policy.apply, dsl.emit) and rep.probe (for rep-conformance's
 * semantic tests). Speaks REP v0.1 on stdin/stdout until stdin closes; nothing else is ever
 * written to stdout.
 */
#include <stdio.h>
#include <string.h>

#include "mock_steps.h"
#include "rep_stdio.h"

static rep_executor executor;

static const char usage[] =
    "c-executor: a REP v0.1 executor written in C (the mock executor's step kinds)\n"
    "\n"
    "Usage: c-executor [--help | --version]\n"
    "\n"
    "Speaks REP v0.1 (JSON-RPC 2.0, one JSON object per line) on stdin/stdout until stdin\n"
    "closes. Step kinds: dsl.emit, finish, opcua.read, opcua.write, policy.apply, rep.probe,\n"
    "switch.\n"
    "Run it through a host, for example:\n"
    "  tm --executor-path target/native/c-executor runtime run \\\n"
    "     --manifest examples/plant-monitor/out/dsl/manifest.json --flow plant-monitor \\\n"
    "     --inputs @examples/plant-monitor/input.json\n"
    "  rep-conformance run --executor target/native/c-executor --fixtures "
    "conformance/fixtures/native\n";

int main(int argc, char **argv)
{
    rep_io io;
    rep_err err;
    if (argc > 1) {
        if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
            fputs(usage, stdout);
            return 0;
        }
        if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0) {
            printf("c-executor %s\n", REP_EXECUTOR_VERSION);
            return 0;
        }
        fprintf(stderr, "c-executor: unexpected argument '%s'\n\n%s", argv[1], usage);
        return 2;
    }
    rep_stdio_io(&io);
    err = rep_executor_init(&executor, &io, NULL);
    if (err == REP_OK) {
        err = mock_steps_register(&executor);
    }
    if (err == REP_OK) {
        err = rep_executor_add_probe(&executor); /* rep-conformance's semantic tests */
    }
    if (err != REP_OK) {
        fprintf(stderr, "c-executor: cannot start the executor: %s\n", rep_err_str(err));
        return 1;
    }
    err = rep_serve(&executor);
    if (err != REP_OK) {
        fprintf(stderr, "c-executor: %s; exiting\n", rep_err_str(err));
        return 1;
    }
    return 0;
}

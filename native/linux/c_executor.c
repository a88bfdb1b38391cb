/*
 * c_executor.c — `c-executor`: the C library on stdio with the mock executor's step kinds
 * (opcua.read, opcua.write, policy.apply, dsl.emit). Speaks REP v0.1 on stdin/stdout until
 * stdin closes; nothing else is ever written to stdout.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mock_steps.h"
#include "rep_executor.h"

static rep_executor executor;

static long stdin_read(void *ctx, char *buf, size_t cap, uint32_t timeout_ms)
{
    struct pollfd p;
    ssize_t n;
    (void)ctx;
    p.fd = STDIN_FILENO;
    p.events = POLLIN;
    p.revents = 0;
    if (poll(&p, 1, (int)timeout_ms) < 0) {
        return errno == EINTR ? 0 : -1;
    }
    if (p.revents == 0) {
        return 0;
    }
    n = read(STDIN_FILENO, buf, cap);
    if (n < 0) {
        return (errno == EINTR || errno == EAGAIN) ? 0 : -1;
    }
    return n == 0 ? -1 : (long)n;
}

static int stdout_write(void *ctx, const char *bytes, size_t n)
{
    (void)ctx;
    while (n > 0) {
        ssize_t k = write(STDOUT_FILENO, bytes, n);
        if (k < 0) {
            if (errno == EINTR) {
                continue;
            }
            return -1;
        }
        bytes += k;
        n -= (size_t)k;
    }
    return 0;
}

static uint64_t clock_ms(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static uint64_t monotonic_ms(void *ctx)
{
    (void)ctx;
    return clock_ms(CLOCK_MONOTONIC);
}

static uint64_t unix_ms(void *ctx)
{
    (void)ctx;
    return clock_ms(CLOCK_REALTIME);
}

static const char usage[] =
    "c-executor: a REP v0.1 executor written in C (the mock executor's step kinds)\n"
    "\n"
    "Usage: c-executor [--help | --version]\n"
    "\n"
    "Speaks REP v0.1 (JSON-RPC 2.0, one JSON object per line) on stdin/stdout until stdin\n"
    "closes. Step kinds: dsl.emit, finish, opcua.read, opcua.write, policy.apply, switch.\n"
    "Run it through a host, for example:\n"
    "  tm --executor-path target/native/c-executor runtime run \\\n"
    "     --manifest examples/plant-monitor/out/dsl/manifest.json --flow plant-monitor \\\n"
    "     --inputs @examples/plant-monitor/input.json\n"
    "  rep-conformance run --executor target/native/c-executor --fixtures "
    "conformance/fixtures/native\n";

int main(int argc, char **argv)
{
    rep_io io;
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
    /* A closed stdout must be an error to handle, not a signal that kills us. */
    signal(SIGPIPE, SIG_IGN);
    io.read = stdin_read;
    io.write = stdout_write;
    io.now_ms = monotonic_ms;
    io.unix_ms = unix_ms;
    io.ctx = NULL;
    rep_executor_init(&executor, &io, NULL);
    if (mock_steps_register(&executor) != 0) {
        fputs("c-executor: cannot register the step kinds (REP_MAX_KINDS)\n", stderr);
        return 1;
    }
    if (rep_serve(&executor) != 0) {
        fputs("c-executor: writing to stdout failed; exiting\n", stderr);
        return 1;
    }
    return 0;
}

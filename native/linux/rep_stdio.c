/*
 * rep_stdio.c — the rep_io callbacks of a POSIX process (see rep_stdio.h).
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include "rep_stdio.h"

/* Waits for stdin up to timeout_ms, then reads what is there. EOF and errors are -1. */
static long stdin_read(void *ctx, char *buf, size_t cap, uint32_t timeout_ms)
{
    struct pollfd p;
    ssize_t n;
    (void)ctx;
    p.fd = STDIN_FILENO;
    p.events = POLLIN;
    p.revents = 0;
    if (poll(&p, 1, timeout_ms > 60000u ? 60000 : (int)timeout_ms) < 0) {
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

void rep_stdio_io(rep_io *io)
{
    signal(SIGPIPE, SIG_IGN);
    io->read = stdin_read;
    io->write = stdout_write;
    io->now_ms = monotonic_ms;
    io->unix_ms = unix_ms;
    io->ctx = NULL;
}

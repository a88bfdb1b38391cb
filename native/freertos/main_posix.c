/*
 * main_posix.c — the FreeRTOS executor on Linux, FreeRTOS's POSIX port: the same application
 * as the Cortex-M3 firmware (rep_rtos.c, the mock step kinds, rtos.sleep and rtos.ticks) with
 * stdin and stdout for the UART. A reader task stands in for the UART's interrupt: it polls
 * stdin every tick and queues what it reads (the POSIX port has no interrupts another thread
 * could raise); the REP task writes responses to stdout. Stdin's end ends the process, as it
 * does c-executor. Built with AddressSanitizer and UBSan for the tests
 * (target/native/freertos-posix-executor).
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "FreeRTOS.h"
#include "mock_steps.h"
#include "rep_rtos.h"
#include "rtos_steps.h"
#include "task.h"

static StaticTask_t reader_tcb;
static StackType_t reader_stack[configMINIMAL_STACK_SIZE];

void rep_rtos_assert_failed(const char *file, int line)
{
    fprintf(stderr, "freertos-posix-executor: FreeRTOS assertion failed at %s:%d\n", file, line);
    abort();
}

static int write_stdout(void *ctx, const char *bytes, size_t n)
{
    (void)ctx;
    while (n > 0u) {
        ssize_t w = write(STDOUT_FILENO, bytes, n);
        if (w < 0 && errno == EINTR) {
            continue; /* the port's tick signal */
        }
        if (w <= 0) {
            return -1;
        }
        bytes += w;
        n -= (size_t)w;
    }
    return 0;
}

static void exit_at_eof(void *ctx)
{
    (void)ctx;
    /* Nothing is buffered (responses are written whole). _exit: the POSIX port's threads are
     * not torn down one by one. */
    _exit(0);
}

static void reader_main(void *arg)
{
    char buf[256];
    (void)arg;
    for (;;) {
        struct pollfd in = {STDIN_FILENO, POLLIN, 0};
        ssize_t n, i;
        if (poll(&in, 1, 0) <= 0) {
            vTaskDelay(1);
            continue;
        }
        n = read(STDIN_FILENO, buf, sizeof buf);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            rep_rtos_rx_from_task(REP_RTOS_EOF);
            vTaskSuspend(NULL);
        }
        for (i = 0; i < n; i++) {
            rep_rtos_rx_from_task((serial_item)(unsigned char)buf[i]);
        }
    }
}

int main(int argc, char **argv)
{
    static const rep_rtos_port port = {write_stdout, NULL, NULL, exit_at_eof, NULL};
    if (argc > 1) {
        int help = strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0;
        fprintf(help ? stdout : stderr,
                "Usage: freertos-posix-executor\n\n"
                "The FreeRTOS executor (native/freertos/) on Linux: REP v0.1 on stdin/stdout,\n"
                "the mock executor's step kinds, rtos.sleep and rtos.ticks.\n");
        return help ? 0 : 2;
    }
    (void)signal(SIGPIPE, SIG_IGN); /* a host gone away is a write error, not a signal */
    if (rep_rtos_init(&port, NULL) != REP_OK || mock_steps_register(rep_rtos_executor()) != REP_OK ||
        rtos_steps_register() != REP_OK) {
        fprintf(stderr, "freertos-posix-executor: the executor cannot start (limits?)\n");
        return 1;
    }
    (void)xTaskCreateStatic(reader_main, "reader", configMINIMAL_STACK_SIZE, NULL,
                            tskIDLE_PRIORITY + 3u, reader_stack, &reader_tcb);
    vTaskStartScheduler();
    return 1;
}

/*
 * main_cm3.c — the FreeRTOS executor firmware for a Cortex-M3 board (lm3s6965evb): the board's
 * UART interrupt queues received bytes for the REP task (rep_rtos.c), responses go out through
 * the interrupt-driven transmit ring (serial.c), the REP task kicks the watchdog and checks the
 * stack canaries on every loop, and faults, a failed kernel assertion or a stack overflow are
 * reported on the UART and reset the board (cortex_m3.c). Step kinds: the mock executor's,
 * rtos.sleep, rtos.ticks, and diag.fault (FIRMWARE_DIAG).
 */
#include <string.h>

#include "FreeRTOS.h"
#include "board.h"
#include "cortex_m3.h"
#include "mock_steps.h"
#include "rep_rtos.h"
#include "rtos_steps.h"
#include "serial.h"
#include "task.h"
#ifdef FIRMWARE_DIAG
#include "diag_steps.h"
#endif

/* The lowest words of a task's stack keep FreeRTOS's fill pattern until an overflow reaches
 * them (configCHECK_FOR_STACK_OVERFLOW 2 checks 16 bytes at each context switch). */
#define STACK_FILL 0xA5A5A5A5u
#define STACK_GUARD_WORDS 4u

bool serial_rx_put(serial_item item)
{
    BaseType_t woken = pdFALSE;
    bool room = rep_rtos_rx_from_isr(item, &woken);
    portYIELD_FROM_ISR(woken);
    return room;
}

static uint64_t tx_now_ms(void *ctx)
{
    (void)ctx;
    return rep_rtos_now_ms();
}

static void tx_pause(void *ctx)
{
    (void)ctx;
    vTaskDelay(1);
}

static const serial_tx_port tx_port = {board_uart_tx_kick, tx_now_ms, tx_pause, NULL};

static int uart_write(void *ctx, const char *bytes, size_t n)
{
    (void)ctx;
    return serial_write(rep_rtos_serial_stats(), &tx_port, bytes, n);
}

static void rx_resume(void *ctx)
{
    (void)ctx;
    board_uart_rx_resume();
}

static bool task_stack_intact(void)
{
    const StackType_t *bottom = rep_rtos_task_stack();
    uint32_t i;
    for (i = 0; i < STACK_GUARD_WORDS; i++) {
        if (bottom[i] != STACK_FILL) {
            return false;
        }
    }
    return true;
}

/* Every loop of the REP task: the watchdog, then both stacks' canaries. */
static void each_loop(void *ctx)
{
    (void)ctx;
    board_watchdog_kick();
    if (!task_stack_intact()) {
        cm3_fatal(CM3_RESET_STACK, "stack canary overwritten: the REP task's stack overflowed");
    }
    if (!cm3_canary_intact(cm3_main_stack_bottom())) {
        cm3_fatal(CM3_RESET_STACK, "stack canary overwritten: the interrupt stack overflowed");
    }
}

static void smash_canary(void)
{
    rep_rtos_task_stack()[0] = 0;
}

void rep_rtos_assert_failed(const char *file, int line)
{
    char message[96];
    size_t len = 0;
    const char *base = strrchr(file, '/');
    serial_append(message, sizeof message, &len, "FreeRTOS assertion failed at ");
    serial_append(message, sizeof message, &len, base != NULL ? base + 1 : file);
    serial_append(message, sizeof message, &len, ":");
    serial_append_u32(message, sizeof message, &len, (uint32_t)line);
    message[len < sizeof message ? len : sizeof message - 1u] = '\0';
    cm3_fatal(CM3_RESET_FAULT, message);
}

void vApplicationStackOverflowHook(TaskHandle_t task, char *name);

void vApplicationStackOverflowHook(TaskHandle_t task, char *name)
{
    char message[64];
    size_t len = 0;
    (void)task;
    serial_append(message, sizeof message, &len, "stack overflow in task ");
    serial_append(message, sizeof message, &len, name);
    message[len < sizeof message ? len : sizeof message - 1u] = '\0';
    cm3_fatal(CM3_RESET_STACK, message);
}

/* Reports why the firmware cannot serve and stops: the watchdog resets the board. */
static void halt(const char *why)
{
    static const char prefix[] = "firmware: ";
    board_panic_write(prefix, sizeof prefix - 1u);
    board_panic_write(why, strlen(why));
    board_panic_write(", halted\n", 9);
    for (;;) {
        cm3_wait_for_interrupt();
    }
}

int main(void)
{
    static const rep_rtos_port port = {uart_write, each_loop, rx_resume, NULL, NULL};
    cm3_reset_cause cause = cm3_last_reset();
    /* Interrupts stay masked until the scheduler starts them (the UART's queue does not exist
     * before rep_rtos_init; bytes wait in the UART meanwhile). */
    cm3_interrupts_off();
    board_init();
    if (rep_rtos_init(&port, NULL) != REP_OK ||
        mock_steps_register(rep_rtos_executor()) != REP_OK || rtos_steps_register() != REP_OK) {
        halt("the executor cannot start (limits?)");
    }
    /* Whatever arrives before the first newline after reset is line noise; the host side sends
     * a newline when it connects (rep-bridge). */
    (void)rep_executor_resync(rep_rtos_executor());
#ifdef FIRMWARE_DIAG
    if (diag_steps_register(rep_rtos_executor(), smash_canary) != REP_OK) {
        halt("the executor cannot start (REP_MAX_KINDS?)");
    }
#else
    (void)smash_canary;
#endif
    if (cause != CM3_RESET_POWER_ON) {
        /* Only a reset with a reason is announced (see ../firmware/main.c). */
        char banner[128];
        size_t len = 0;
        serial_append(banner, sizeof banner, &len, "firmware: REP v0.1 executor on ");
        serial_append(banner, sizeof banner, &len, board_name);
        serial_append(banner, sizeof banner, &len, " (FreeRTOS) ready");
        serial_append(banner, sizeof banner, &len, cm3_reset_words(cause));
        serial_append(banner, sizeof banner, &len, "\n");
        (void)serial_tx_put(banner, len);
        board_uart_tx_kick();
    }
    vTaskStartScheduler();
    halt("the scheduler did not start");
    return 0;
}

/*
 * rep_rtos.h — the REP executor as a FreeRTOS application, for any FreeRTOS port (the Cortex-M3
 * firmware, main_cm3.c; the POSIX build on Linux, main_posix.c):
 *
 * - one task serves REP (the single-task rule of rep_executor.h): it waits on one queue for
 *   received bytes, which the UART's interrupt sends (rep_rtos_rx_from_isr), and for the news
 *   that a blocking step finished, then feeds, ticks and answers;
 * - blocking steps: a handler registered with rep_rtos_add_blocking_step runs in a worker
 *   task of its own and may block (vTaskDelay, a semaphore, a driver's wait) while the REP
 *   task goes on answering Poll, Cancel and Health and running other steps; there is a worker
 *   for every step that can be in progress (REP_MAX_RUNS × REP_CONCURRENCY), so
 *   `limits.concurrency` steps block at once;
 * - the time: FreeRTOS's tick count, 32 bits, widened to the 64-bit milliseconds the library
 *   needs (rep_rtos_now_ms): a wrapping tick never stalls a step.
 *
 * Everything is statically allocated (configSUPPORT_STATIC_ALLOCATION).
 */
#ifndef REP_RTOS_H
#define REP_RTOS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "FreeRTOS.h"
#include "rep_executor.h"
#include "serial.h"

/* ---- blocking steps ---- */

/** A blocking step's attempt, as its worker task sees it. */
typedef struct rep_rtos_job rep_rtos_job;

/** A handler that may block, run by a worker task: `with` (the node's resolved `with`, copied)
 *  and `out` (the output's writer) are valid during the call. It returns REP_STEP_DONE or
 *  REP_STEP_FAILED (rep_rtos_job_fail); REP_STEP_PENDING is not for it (it blocks instead).
 *  It must not call the executor's functions (rep_step_*, rep_feed…): the REP task owns
 *  them. */
typedef rep_step_result (*rep_rtos_blocking_fn)(rep_rtos_job *job, rep_json with,
                                                rep_writer *out, void *user);

/** The attempt number, from 1. */
uint32_t rep_rtos_job_attempt(const rep_rtos_job *job);
/** Whether the attempt must stop (its run was cancelled, is stopping, or its node's timeout_ms
 *  expired): return promptly, within REP_CANCEL_GRACE_MS, or the step fails anyway. */
bool rep_rtos_job_cancelled(const rep_rtos_job *job);
/** Blocks `ms` milliseconds, or less when the attempt is cancelled meanwhile: false then. A
 *  handler that blocks on something else (vTaskDelay, a queue) has that wait aborted on a
 *  cancellation (xTaskAbortDelay) and checks rep_rtos_job_cancelled after it. */
bool rep_rtos_job_sleep(rep_rtos_job *job, uint32_t ms);
/** Fails the attempt with `code` (2001: a step failure, retried within retry.max; 3002: an
 *  internal error) and `message` (NUL-terminated, copied and cut to REP_MAX_MESSAGE_BYTES);
 *  returns REP_STEP_FAILED. */
rep_step_result rep_rtos_job_fail(rep_rtos_job *job, int32_t code, const char *message);
/** After rep_rtos_job_fail: whether it may be retried (default: only 2000-2999). */
void rep_rtos_job_set_retriable(rep_rtos_job *job, bool retriable);
/** After rep_rtos_job_fail: "timeout", "cancelled" or "panic" (see rep_step_set_cause). */
void rep_rtos_job_set_cause(rep_rtos_job *job, const char *cause);

/** Bytes of a blocking step's copied `with`; a larger one fails the step with 3003. */
#ifndef REP_RTOS_WITH_BYTES
#define REP_RTOS_WITH_BYTES 512
#endif
/** Bytes of a blocking step's output; a larger one fails the step with 3003. */
#ifndef REP_RTOS_OUTPUT_BYTES
#define REP_RTOS_OUTPUT_BYTES 512
#endif
/** Stack of each worker task, in words (StackType_t): what the blocking handlers need. */
#ifndef REP_RTOS_WORKER_STACK_WORDS
#define REP_RTOS_WORKER_STACK_WORDS 256
#endif
/** Stack of the REP task, in words: the library's worst path and the cooperative handlers'. */
#ifndef REP_RTOS_TASK_STACK_WORDS
#define REP_RTOS_TASK_STACK_WORDS 1152
#endif
/** Received items the queue holds (2 bytes each). */
#ifndef REP_RTOS_QUEUE_ITEMS
#define REP_RTOS_QUEUE_ITEMS 256
#endif
/** Longest wait of the REP task: it calls rep_rtos_port.loop at least this often. */
#define REP_RTOS_LOOP_MS 250u

/* ---- the application ---- */

/** What rep_rtos needs from its port. */
typedef struct rep_rtos_port {
    /** Writes responses and logs (rep_io.write; serial_write on a UART). */
    int (*write)(void *ctx, const char *bytes, size_t n);
    /** Called once per loop of the REP task, at least every REP_RTOS_LOOP_MS: kick the
     *  watchdog, check the stack canary. May be NULL. */
    void (*loop)(void *ctx);
    /** The queue has room again after rep_rtos_rx_from_isr refused an item: resume reception
     *  (board_uart_rx_resume). May be NULL. */
    void (*rx_resume)(void *ctx);
    /** End of input (REP_RTOS_EOF was received): what the application does then (the POSIX
     *  build exits). May be NULL. */
    void (*eof)(void *ctx);
    void *ctx;
} rep_rtos_port;

/** The queue item that ends the input (a POSIX port's stdin at EOF; never from a UART). */
#define REP_RTOS_EOF 0x8000u

/** Prepares the executor, the queue and the workers (the REP task and the workers start with
 *  the scheduler). `version` as for rep_executor_init. Call it once, before
 *  vTaskStartScheduler and before registering step kinds. Returns rep_executor_init's
 *  result. */
rep_err rep_rtos_init(const rep_rtos_port *port, const char *version);
/** The executor, to register cooperative step kinds on (rep_executor_add_step,
 *  mock_steps_register) before the scheduler starts. */
rep_executor *rep_rtos_executor(void);
/** Registers a blocking step kind (see rep_rtos_blocking_fn); before the scheduler starts.
 *  Returns what rep_executor_add_step returns. */
rep_err rep_rtos_add_blocking_step(const char *kind, rep_rtos_blocking_fn fn, void *user);

/** For the UART's receive interrupt: queues `item` (serial.h); false when the queue is now
 *  full — the interrupt then pauses reception until rx_resume. `woken` is set as the FromISR
 *  functions do (portYIELD_FROM_ISR at the interrupt's end). */
bool rep_rtos_rx_from_isr(serial_item item, BaseType_t *woken);
/** For a task (the POSIX port's reader): queues `item`, waiting while the queue is full. */
void rep_rtos_rx_from_task(serial_item item);

/** Milliseconds since boot as 64 bits: FreeRTOS's tick count (32 bits on the Cortex-M3),
 *  widened by adding up what passed between calls modulo its width. Call it from tasks (not
 *  interrupts) at least once per wrap of the tick count (497 days at 100 Hz), which the REP
 *  task does every REP_RTOS_LOOP_MS. */
uint64_t rep_rtos_now_ms(void);

/** The REP task's stack, lowest word first (its canary: FreeRTOS's fill pattern). */
StackType_t *rep_rtos_task_stack(void);
/** What the serial line has seen (errors, resyncs, stalled writes). */
serial_stats *rep_rtos_serial_stats(void);

#endif /* REP_RTOS_H */

/*
 * rtos_steps.h — the FreeRTOS executor's own step kinds, beside the mock executor's:
 *
 * - `rtos.sleep` (blocking, run by a worker task): with {"ms": N} blocks N milliseconds in the
 *   kernel (rep_rtos_job_sleep) and outputs {"slept_ms": N}; a cancellation (Cancel, the run
 *   stopping, the node's timeout_ms) wakes it at once and fails it with cause `cancelled`.
 *   Two of them in parallel branches sleep at the same time (limits.concurrency 2) while
 *   Poll, Cancel and Health are answered.
 * - `rtos.ticks` (cooperative): outputs {"tick": T, "now_ms": M}, FreeRTOS's tick count (32
 *   bits on the Cortex-M3, an unsigned long in the POSIX port) and the executor's 64-bit
 *   milliseconds since boot, for tests that cross the tick's wrap.
 */
#ifndef RTOS_STEPS_H
#define RTOS_STEPS_H

#include "rep_executor.h"

/** Registers rtos.sleep and rtos.ticks (after rep_rtos_init). Returns the first error. */
rep_err rtos_steps_register(void);

#endif /* RTOS_STEPS_H */

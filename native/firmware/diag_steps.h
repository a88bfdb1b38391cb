/*
 * diag_steps.h — `diag.fault`, the firmware's self-test step kind: it makes the board fail the
 * way the safety hooks exist for, so that a test sees each hook work.
 *
 * with {"fault": "hang"}:  the handler never returns: the serve loop stops kicking the
 *                          watchdog, which warns on the UART and then resets the board;
 *      {"fault": "trap"}:  an undefined instruction: the fault handler reports it on the UART
 *                          and resets the board;
 *      {"fault": "stack"}: overwrites the serving stack's canary as an overflow would: the
 *                          serve loop's next check reports it and resets the board.
 *
 * A product leaves it out (it is registered only when the firmware is built with
 * FIRMWARE_DIAG=1, as this repository's are).
 */
#ifndef DIAG_STEPS_H
#define DIAG_STEPS_H

#include "rep_executor.h"

/** Registers `diag.fault` on `ex`; `smash_canary` overwrites the canary of the stack the
 *  serve loop checks. Returns what rep_executor_add_step returns. */
rep_err diag_steps_register(rep_executor *ex, void (*smash_canary)(void));

#endif /* DIAG_STEPS_H */

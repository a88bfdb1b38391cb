/*
 * rep_stdio.h — the rep_io callbacks of a POSIX process: requests on stdin, responses on
 * stdout, CLOCK_MONOTONIC, and CLOCK_REALTIME for event timestamps.
 */
#ifndef REP_STDIO_H
#define REP_STDIO_H

#include "rep_executor.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Fills `io` with the stdio callbacks and ignores SIGPIPE, so that a host gone away is a
 *  write error (rep_serve returns -1) rather than a signal that kills the process. */
void rep_stdio_io(rep_io *io);

#ifdef __cplusplus
}
#endif

#endif /* REP_STDIO_H */

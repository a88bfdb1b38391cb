/*
 * rep_config_linux.h — the limits of the Linux executors (c-executor, cpp-executor,
 * hello-executor): large requests and outputs; memory is mapped only where it is used.
 * Built with -DREP_CONFIG_FILE='"rep_config_linux.h"' (see rep_config.h).
 */
#ifndef REP_CONFIG_LINUX_H
#define REP_CONFIG_LINUX_H

#define REP_MAX_FRAME_BYTES 1048576
#define REP_MAX_DEPTH 63
#define REP_MAX_NODES 2048
#define REP_MAX_EDGES 4096
#define REP_MAX_RUNS 2
#define REP_CONCURRENCY 4
#define REP_RUN_OUTPUT_BYTES 1048576
#define REP_MAX_OUTPUT_KEYS 32768
#define REP_RUN_EVENT_BYTES 262144
#define REP_WITH_BYTES 65536
#define REP_READ_CHUNK 65536

#endif /* REP_CONFIG_LINUX_H */

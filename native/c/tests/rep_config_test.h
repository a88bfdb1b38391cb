/*
 * rep_config_test.h — the limits of the unit tests and of the fuzz target's small build:
 * small enough that the tests reach every limit.
 * Built with -DREP_CONFIG_FILE='"rep_config_test.h"' (see rep_config.h).
 */
#ifndef REP_CONFIG_TEST_H
#define REP_CONFIG_TEST_H

#define REP_MAX_FRAME_BYTES 65536
#define REP_MAX_DEPTH 32
#define REP_MAX_NODES 64
#define REP_MAX_EDGES 128
#define REP_MAX_RUNS 2
#define REP_CONCURRENCY 2
#define REP_RUN_OUTPUT_BYTES 8192
#define REP_RUN_EVENT_BYTES 8192
#define REP_WITH_BYTES 4096

#endif /* REP_CONFIG_TEST_H */

/*
 * rep_config_freertos.h — the limits of the FreeRTOS executor (the Cortex-M3 firmware's 64 KiB
 * of RAM, shared with the kernel, the tasks' stacks and the workers' buffers): those of the
 * bare-metal firmware, with two steps in progress at once (two workers for blocking steps).
 * Built with -DREP_CONFIG_FILE='"rep_config_freertos.h"' (see rep_config.h).
 */
#ifndef REP_CONFIG_FREERTOS_H
#define REP_CONFIG_FREERTOS_H

#define REP_MAX_FRAME_BYTES 8192
#define REP_MAX_DEPTH 32
#define REP_MAX_NODES 32
#define REP_MAX_EDGES 64
#define REP_MAX_KINDS 8
#define REP_MAX_RUNS 1
#define REP_CONCURRENCY 2
#define REP_RUN_OUTPUT_BYTES 2048
#define REP_MAX_OUTPUT_KEYS 32
/* Unpolled events: the library keeps (2 × REP_CONCURRENCY + 4) events of 416 bytes in reserve
 * and needs room for 4 more to start or call a step; 6 KiB lets both steps start and finish
 * between two Polls. */
#define REP_RUN_EVENT_BYTES 6144
#define REP_WITH_BYTES 2048
#define REP_MAX_MESSAGE_BYTES 160
#define REP_READ_CHUNK 128

#endif /* REP_CONFIG_FREERTOS_H */

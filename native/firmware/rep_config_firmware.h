/*
 * rep_config_firmware.h — the limits of the Cortex-M3 firmware (64 KiB of RAM): requests of
 * 8 KiB, one run of 32 nodes at a time, one step at a time.
 * Built with -DREP_CONFIG_FILE='"rep_config_firmware.h"' (see rep_config.h).
 */
#ifndef REP_CONFIG_FIRMWARE_H
#define REP_CONFIG_FIRMWARE_H

#define REP_MAX_FRAME_BYTES 8192
#define REP_MAX_DEPTH 32
#define REP_MAX_NODES 32
#define REP_MAX_EDGES 64
#define REP_MAX_KINDS 8
#define REP_MAX_RUNS 1
#define REP_CONCURRENCY 1
#define REP_RUN_OUTPUT_BYTES 2048
#define REP_MAX_OUTPUT_KEYS 32
#define REP_RUN_EVENT_BYTES 4608
#define REP_WITH_BYTES 2048
#define REP_MAX_MESSAGE_BYTES 160
#define REP_READ_CHUNK 128

#endif /* REP_CONFIG_FIRMWARE_H */

/*
 * FreeRTOSConfig.h — the kernel's configuration for the REP executor: the Cortex-M3 firmware
 * (lm3s6965evb) and the POSIX build (Linux, REP_RTOS_POSIX). Static allocation only, a 100 Hz
 * tick, preemptive; see https://www.freertos.org/a00110.html for each setting.
 */
#ifndef FREERTOS_CONFIG_H
#define FREERTOS_CONFIG_H

#define configUSE_PREEMPTION 1
#define configUSE_PORT_OPTIMISED_TASK_SELECTION 0
/* 100 Hz: REP's times need no finer grain, and an emulated tick interrupt that comes late is
 * time lost — at 1 kHz QEMU lost about 10 % of it, at 100 Hz (as the bare-metal firmware's
 * SysTick) well under 1 %. */
#define configTICK_RATE_HZ 100
#define configMAX_PRIORITIES 5
#define configMAX_TASK_NAME_LEN 12
#define configTICK_TYPE_WIDTH_IN_BITS TICK_TYPE_WIDTH_32_BITS
/* The tick count starts 3 s before it wraps (as Linux starts jiffies 5 minutes before theirs):
 * every run of the firmware crosses the wrap early, where a comparison of times in the tick's
 * width would show — rep_rtos_now_ms widens the count to 64 bits. (The POSIX port's tick is an
 * unsigned long: it wraps at 2^64 there.) */
#define configINITIAL_TICK_COUNT ((TickType_t)0 - (TickType_t)(3u * configTICK_RATE_HZ))
#define configIDLE_SHOULD_YIELD 1
#define configUSE_TASK_NOTIFICATIONS 1
/* 0: the application's own; 1: a job for a worker; 2: its cancellation (rep_rtos.c). */
#define configTASK_NOTIFICATION_ARRAY_ENTRIES 3
#define configQUEUE_REGISTRY_SIZE 0
#define configUSE_MUTEXES 0
#define configUSE_RECURSIVE_MUTEXES 0
#define configUSE_COUNTING_SEMAPHORES 0
#define configUSE_TIMERS 0
#define configUSE_CO_ROUTINES 0
#define configUSE_IDLE_HOOK 0
#define configUSE_PASSIVE_IDLE_HOOK 0
#define configUSE_TICK_HOOK 0
#define configUSE_MALLOC_FAILED_HOOK 0
#define configUSE_TRACE_FACILITY 0
#define configGENERATE_RUN_TIME_STATS 0
#define configUSE_NEWLIB_REENTRANT 0
#define configENABLE_BACKWARD_COMPATIBILITY 0

/* No heap: every task, stack and queue is static. */
#define configSUPPORT_STATIC_ALLOCATION 1
#define configSUPPORT_DYNAMIC_ALLOCATION 0
#define configKERNEL_PROVIDED_STATIC_MEMORY 1

#define INCLUDE_vTaskDelay 1
#define INCLUDE_xTaskAbortDelay 1
#define INCLUDE_xTaskGetCurrentTaskHandle 1
#define INCLUDE_vTaskSuspend 1
#define INCLUDE_vTaskDelete 0
#define INCLUDE_uxTaskGetStackHighWaterMark 0

/* What a failed kernel assertion does: reported, then the board resets (the POSIX build
 * aborts). */
void rep_rtos_assert_failed(const char *file, int line);
#define configASSERT(x)                                                                         \
    do {                                                                                        \
        if ((x) == 0) {                                                                         \
            rep_rtos_assert_failed(__FILE__, __LINE__);                                         \
        }                                                                                       \
    } while (0)

#ifdef REP_RTOS_POSIX
/* The POSIX port runs each task on a pthread with the thread's own stack: the sizes below only
 * hold the port's bookkeeping, and a stack overflow check has nothing to check. */
#define configMINIMAL_STACK_SIZE 256
#define configCHECK_FOR_STACK_OVERFLOW 0
#else
#define configCPU_CLOCK_HZ 12500000u /* lm3s6965evb after reset (see lm3s6965/board.c) */
#define configMINIMAL_STACK_SIZE 128 /* words: the idle task */
/* At every context switch the kernel checks that the lowest 16 bytes of the task leaving the
 * CPU still hold its fill pattern; the REP task checks its own each loop too. */
#define configCHECK_FOR_STACK_OVERFLOW 2
/* The LM3S6965 implements 3 priority bits (the top 3 of each byte). The kernel's own interrupts
 * (PendSV, SysTick) run at the lowest priority; interrupts that call FromISR functions (the
 * UART's) must not be more urgent than configMAX_SYSCALL_INTERRUPT_PRIORITY; the watchdog's,
 * which calls none, is. */
#define configKERNEL_INTERRUPT_PRIORITY (7u << 5)
#define configMAX_SYSCALL_INTERRUPT_PRIORITY (5u << 5)
/* The port's handlers under the names the vector tables use (cortex_m3.h). */
#define vPortSVCHandler svc_handler
#define xPortPendSVHandler pendsv_handler
#define xPortSysTickHandler systick_handler
#endif

#endif /* FREERTOS_CONFIG_H */

/*
 * rep_rtos.c — the REP task, the workers of blocking steps and the 64-bit tick (rep_rtos.h).
 *
 * A blocking step's attempt lives in a job, one per place (rep_step_place: at most one attempt
 * per place at a time), each with its worker task:
 *
 *   IDLE --(the handler's first call: `with` copied, the worker notified)--> RUNNING
 *   RUNNING --(the worker's handler returned; it queues REP_RTOS_WAKE)--> DONE
 *   DONE --(the REP task's next call collects the result)--> IDLE
 *
 * The REP task, on REP_RTOS_WAKE, makes every pending step due (rep_executor_wake), so a
 * result is collected at once rather than when the handler's wait expires. A job whose
 * attempt the library gave up on (cancelled and past REP_CANCEL_GRACE_MS) is never collected:
 * the next attempt in its place finds another serial, waits for the worker if it still runs,
 * and takes the job over.
 */
#include "rep_rtos.h"

#include <string.h>

#include "queue.h"
#include "task.h"

#define PLACES (REP_MAX_RUNS * REP_CONCURRENCY)
#define NOTIFY_JOB 1u
#define NOTIFY_CANCEL 2u
/* A worker finished: the REP task makes pending steps due. */
#define REP_RTOS_WAKE 0x4000u

enum { JOB_IDLE, JOB_RUNNING, JOB_DONE };

typedef struct blocking_kind {
    rep_rtos_blocking_fn fn;
    void *user;
} blocking_kind;

struct rep_rtos_job {
    volatile uint8_t state;     /* JOB_*: IDLE→RUNNING by the REP task, RUNNING→DONE by the
                                 * worker, DONE→IDLE by the REP task */
    volatile uint8_t cancelled; /* set by the REP task */
    uint32_t serial, attempt;
    const blocking_kind *kind;
    TaskHandle_t worker;
    /* The result, written by the worker before DONE. */
    rep_step_result result;
    int32_t code;
    int8_t retriable; /* -1: the default */
    const char *cause;
    char message[REP_MAX_MESSAGE_BYTES];
    size_t with_len, out_len;
    bool out_overflow;
    char with[REP_RTOS_WITH_BYTES];
    char out[REP_RTOS_OUTPUT_BYTES];
};

static rep_executor executor;
static rep_rtos_port port;
static serial_stats stats;

static StaticQueue_t queue_storage;
static uint8_t queue_items[REP_RTOS_QUEUE_ITEMS * sizeof(serial_item)];
static QueueHandle_t queue;
static volatile bool rx_paused;

static StaticTask_t rep_tcb;
static StackType_t rep_stack[REP_RTOS_TASK_STACK_WORDS];

static rep_rtos_job jobs[PLACES];
static StaticTask_t worker_tcb[PLACES];
static StackType_t worker_stack[PLACES][REP_RTOS_WORKER_STACK_WORDS];

static blocking_kind kinds[REP_MAX_KINDS];
static size_t kind_count;

/* ---- time ---- */

static TickType_t tick_last = configINITIAL_TICK_COUNT; /* the count rep_rtos_now_ms saw last */
static uint64_t ticks_since_boot;

uint64_t rep_rtos_now_ms(void)
{
    uint64_t ticks;
    taskENTER_CRITICAL();
    {
        /* What passed since the last call, modulo the tick type's width: right across a wrap
         * (whatever that width: 32 bits on the Cortex-M3, an unsigned long on POSIX). */
        TickType_t now = xTaskGetTickCount();
        ticks_since_boot += (uint64_t)(TickType_t)(now - tick_last);
        tick_last = now;
        ticks = ticks_since_boot;
    }
    taskEXIT_CRITICAL();
    return ticks * 1000u / (uint64_t)configTICK_RATE_HZ;
}

/* Ticks for a wait of `ms`, rounded up: a wait never ends early. */
static TickType_t ticks_for(uint32_t ms)
{
    return (TickType_t)(((uint64_t)ms * configTICK_RATE_HZ + 999u) / 1000u);
}

static uint64_t now_ms(void *ctx)
{
    (void)ctx;
    return rep_rtos_now_ms();
}

/* ---- blocking steps: the worker's side ---- */

uint32_t rep_rtos_job_attempt(const rep_rtos_job *job)
{
    return job->attempt;
}

bool rep_rtos_job_cancelled(const rep_rtos_job *job)
{
    return job->cancelled != 0u;
}

bool rep_rtos_job_sleep(rep_rtos_job *job, uint32_t ms)
{
    TickType_t start = xTaskGetTickCount(), total = ticks_for(ms);
    for (;;) {
        TickType_t elapsed = xTaskGetTickCount() - start; /* modulo 2^32: wraps are fine */
        if (job->cancelled != 0u) {
            return false;
        }
        if (elapsed >= total) {
            return true;
        }
        /* A cancellation notifies NOTIFY_CANCEL: the wait ends at once. */
        (void)ulTaskNotifyTakeIndexed(NOTIFY_CANCEL, pdTRUE, total - elapsed);
    }
}

rep_step_result rep_rtos_job_fail(rep_rtos_job *job, int32_t code, const char *message)
{
    size_t n = strlen(message);
    if (n >= sizeof job->message) {
        n = sizeof job->message - 1u;
    }
    (void)memcpy(job->message, message, n);
    job->message[n] = '\0';
    job->code = code;
    return REP_STEP_FAILED;
}

void rep_rtos_job_set_retriable(rep_rtos_job *job, bool retriable)
{
    job->retriable = retriable ? 1 : 0;
}

void rep_rtos_job_set_cause(rep_rtos_job *job, const char *cause)
{
    job->cause = cause;
}

static void worker_main(void *arg)
{
    rep_rtos_job *job = (rep_rtos_job *)arg;
    for (;;) {
        rep_writer out;
        rep_json with;
        rep_step_result r;
        (void)ulTaskNotifyTakeIndexed(NOTIFY_JOB, pdTRUE, portMAX_DELAY);
        if (job->state != JOB_RUNNING) {
            continue;
        }
        /* A cancellation notified before this attempt began is not this attempt's. */
        (void)xTaskNotifyStateClearIndexed(NULL, NOTIFY_CANCEL);
        job->code = 2001;
        job->retriable = -1;
        job->cause = NULL;
        job->message[0] = '\0';
        rep_writer_init(&out, job->out, sizeof job->out);
        with.p = job->with;
        with.n = job->with_len;
        r = job->kind->fn(job, with, &out, job->kind->user);
        if (r == REP_STEP_PENDING) {
            (void)rep_rtos_job_fail(job, 3002, "a blocking step handler returned PENDING");
            r = REP_STEP_FAILED;
        } else if (r == REP_STEP_FAILED && job->message[0] == '\0') {
            (void)rep_rtos_job_fail(job, job->code, "step failed");
        }
        job->result = r;
        job->out_len = out.len;
        job->out_overflow = out.overflow != 0;
        taskENTER_CRITICAL();
        job->state = JOB_DONE;
        taskEXIT_CRITICAL();
        {
            serial_item wake = REP_RTOS_WAKE;
            (void)xQueueSendToFront(queue, &wake, portMAX_DELAY);
        }
    }
}

/* ---- blocking steps: the REP task's side ---- */

/* The collected result of a finished job. */
static rep_step_result collect(rep_step *step, rep_rtos_job *job, rep_writer *out)
{
    job->state = JOB_IDLE;
    if (job->result == REP_STEP_DONE) {
        if (job->out_overflow) {
            (void)rep_step_fail(step, 3003,
                                "out of resources: the blocking step's output exceeds "
                                "REP_RTOS_OUTPUT_BYTES");
            rep_step_set_retriable(step, false);
            return REP_STEP_FAILED;
        }
        rep_w_raw(out, job->out, job->out_len);
        return REP_STEP_DONE;
    }
    (void)rep_step_fail(step, job->code, job->message);
    if (job->retriable >= 0) {
        rep_step_set_retriable(step, job->retriable != 0);
    }
    rep_step_set_cause(step, job->cause);
    return REP_STEP_FAILED;
}

/* Hands a new attempt to its place's worker. */
static rep_step_result submit(rep_step *step, rep_rtos_job *job, const blocking_kind *kind,
                              rep_json with)
{
    if (with.n > sizeof job->with) {
        (void)rep_step_fail(step, 3003,
                            "out of resources: the blocking step's `with` exceeds "
                            "REP_RTOS_WITH_BYTES");
        rep_step_set_retriable(step, false);
        return REP_STEP_FAILED;
    }
    (void)memcpy(job->with, with.p, with.n);
    job->with_len = with.n;
    job->serial = rep_step_serial(step);
    job->attempt = rep_step_attempt(step);
    job->kind = kind;
    job->cancelled = 0;
    taskENTER_CRITICAL();
    job->state = JOB_RUNNING;
    taskEXIT_CRITICAL();
    (void)xTaskNotifyGiveIndexed(job->worker, NOTIFY_JOB);
    return rep_step_wait(step, REP_RTOS_LOOP_MS);
}

static rep_step_result blocking_handler(rep_step *step, rep_json with, rep_writer *out,
                                        void *user)
{
    rep_rtos_job *job = &jobs[rep_step_place(step)];
    if (job->serial != rep_step_serial(step)) {
        /* A new attempt in this place. */
        if (job->state == JOB_RUNNING) {
            /* The worker still runs an attempt the library gave up on: wait for it. */
            if (rep_step_cancelled(step)) {
                (void)rep_step_fail(step, 2001, "cancelled before it could start: the "
                                                "previous step in its place still runs");
                rep_step_set_cause(step, "cancelled");
                rep_step_set_retriable(step, false);
                return REP_STEP_FAILED;
            }
            return rep_step_wait(step, REP_RTOS_LOOP_MS);
        }
        return submit(step, job, (const blocking_kind *)user, with);
    }
    if (job->state == JOB_DONE) {
        return collect(step, job, out);
    }
    if (rep_step_cancelled(step) && job->cancelled == 0u) {
        job->cancelled = 1;
        (void)xTaskNotifyGiveIndexed(job->worker, NOTIFY_CANCEL);
        (void)xTaskAbortDelay(job->worker);
    }
    return rep_step_wait(step, REP_RTOS_LOOP_MS);
}

rep_err rep_rtos_add_blocking_step(const char *kind, rep_rtos_blocking_fn fn, void *user)
{
    if (fn == NULL) {
        return REP_ERR_ARG;
    }
    if (kind_count == REP_MAX_KINDS) {
        return REP_ERR_FULL;
    }
    kinds[kind_count].fn = fn;
    kinds[kind_count].user = user;
    kind_count++;
    return rep_executor_add_step(&executor, kind, blocking_handler, &kinds[kind_count - 1u]);
}

/* ---- receiving ---- */

bool rep_rtos_rx_from_isr(serial_item item, BaseType_t *woken)
{
    UBaseType_t waiting = uxQueueMessagesWaitingFromISR(queue);
    if (waiting >= (UBaseType_t)REP_RTOS_QUEUE_ITEMS - 1u) {
        /* Full: the byte is lost. The last place, kept for this, records the loss in order
         * (once), as an overrun; the line it hits is dropped. */
        if (waiting == (UBaseType_t)REP_RTOS_QUEUE_ITEMS - 1u) {
            serial_item lost = SERIAL_ERR_OVERRUN;
            (void)xQueueSendFromISR(queue, &lost, woken);
        }
        rx_paused = true;
        return false;
    }
    (void)xQueueSendFromISR(queue, &item, woken);
    if (waiting + 1u >= (UBaseType_t)REP_RTOS_QUEUE_ITEMS - 1u) {
        rx_paused = true;
        return false;
    }
    return true;
}

void rep_rtos_rx_from_task(serial_item item)
{
    (void)xQueueSendToBack(queue, &item, portMAX_DELAY);
}

/* ---- the REP task ---- */

static void handle_error(rep_err err)
{
    if (err == REP_ERR_IO && port.eof != NULL) {
        port.eof(port.ctx); /* the host is gone */
    }
}

static void rep_task(void *arg)
{
    (void)arg;
    for (;;) {
        serial_item items[64], item;
        size_t n = 0;
        uint32_t idle;
        bool eof = false;
        if (port.loop != NULL) {
            port.loop(port.ctx);
        }
        rep_tick(&executor);
        idle = rep_idle_ms(&executor, REP_RTOS_LOOP_MS);
        if (xQueueReceive(queue, &item, ticks_for(idle)) != pdTRUE) {
            continue;
        }
        do {
            if (item == REP_RTOS_WAKE) {
                (void)rep_executor_wake(&executor);
            } else if (item == REP_RTOS_EOF) {
                eof = true;
            } else {
                items[n] = item;
                n++;
            }
        } while (!eof && n < 64u && xQueueReceive(queue, &item, 0) == pdTRUE);
        handle_error(serial_feed(&executor, &stats, items, n, port.write, port.ctx));
        if (rx_paused && uxQueueSpacesAvailable(queue) >= (UBaseType_t)REP_RTOS_QUEUE_ITEMS / 2u) {
            rx_paused = false;
            if (port.rx_resume != NULL) {
                port.rx_resume(port.ctx);
            }
        }
        if (eof) {
            handle_error(rep_feed_eof(&executor));
            if (port.eof != NULL) {
                port.eof(port.ctx);
            }
        }
    }
}

/* ---- set-up ---- */

rep_err rep_rtos_init(const rep_rtos_port *p, const char *version)
{
    rep_io io;
    size_t i;
    rep_err err;
    port = *p;
    io.read = NULL; /* the REP task feeds what the queue brings */
    io.write = port.write;
    io.now_ms = now_ms;
    io.unix_ms = NULL;
    io.ctx = port.ctx;
    err = rep_executor_init(&executor, &io, version);
    if (err != REP_OK) {
        return err;
    }
    queue = xQueueCreateStatic(REP_RTOS_QUEUE_ITEMS, sizeof(serial_item), queue_items,
                               &queue_storage);
    (void)xTaskCreateStatic(rep_task, "rep", REP_RTOS_TASK_STACK_WORDS, NULL,
                            tskIDLE_PRIORITY + 2u, rep_stack, &rep_tcb);
    for (i = 0; i < PLACES; i++) {
        jobs[i].state = JOB_IDLE;
        jobs[i].serial = 0;
        jobs[i].worker = xTaskCreateStatic(worker_main, "worker", REP_RTOS_WORKER_STACK_WORDS,
                                           &jobs[i], tskIDLE_PRIORITY + 1u, worker_stack[i],
                                           &worker_tcb[i]);
    }
    return REP_OK;
}

rep_executor *rep_rtos_executor(void)
{
    return &executor;
}

StackType_t *rep_rtos_task_stack(void)
{
    return rep_stack;
}

serial_stats *rep_rtos_serial_stats(void)
{
    return &stats;
}

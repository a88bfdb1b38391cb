/*
 * rep_run.c — the graph scheduler of one run, its events and its Poll result.
 *
 * The same semantics as the Rust kit's scheduler (docs/native-executors.md):
 * entry nodes are those without incoming edges. When a node ends, each outgoing edge is taken
 * or not: `success` edges after a success (for `switch`, only the edges of the chosen case, or
 * without `case` the edge to the chosen target), `failure` edges after a failure. A node runs
 * once all its incoming edges are decided and one was taken; a node none of whose incoming
 * edges was taken is skipped and its own edges are not taken. Ready nodes run at most
 * REP_CONCURRENCY at a time. A failure without a `failure` edge fails the run; `finish` ends it
 * successfully. Cancel (3001, cause cancelled), the flow's timeout_ms (2001, cause timeout) and
 * a failed step stop the run: no new step starts, steps in progress see rep_step_cancelled()
 * and get REP_CANCEL_GRACE_MS to return. Each attempt is reported by a `started` and a
 * `succeeded`/`failed` step event; a failed attempt is retried retry.max times after
 * retry.backoff_ms when its error is retriable.
 *
 * Events wait in the run's buffer until a Poll drains them. The run only moves on while the
 * buffer has room for the worst case of what stopping it would add, so no event is dropped: a
 * run whose host does not poll pauses.
 *
 * `summary.outputs` is merged once, when a `dsl.emit` step succeeds, into a list of members
 * indexed by a hash of their keys: a Poll writes the list as it is, so its cost depends on the
 * size of the outputs, never on how many were emitted before.
 */
#include <string.h>

#include "rep_internal.h"

enum { NS_WAITING, NS_READY, NS_RUNNING, NS_SUCCEEDED, NS_FAILED, NS_DEAD };
enum { PHASE_FREE, PHASE_RUNNING, PHASE_BACKOFF };

#define EVT ((size_t)REP_MAX_EVENT_BYTES)
/* Log events one handler call may add; more are not recorded. */
#define LOGS_PER_CALL 2
/* Kept free for stopping a run: per step a failed event and a log, Cancel's log, the last
 * log. */
#define RESERVE ((2 * (size_t)REP_CONCURRENCY + 4) * EVT)
/* Steps started or ended per tick at most, so that requests are read in between. */
#define MAX_ACTIONS (4 * REP_MAX_NODES + 16)

struct rep_step {
    rep_executor *ex;
    rep_run *run;
    rep_slot *slot;
    uint16_t node;
    uint32_t wait_ms;
    int logs;
};

/* ---- time ---- */

uint64_t rep_now(rep_executor *ex)
{
    return ex->io.now_ms(ex->io.ctx);
}

static uint64_t unix_now(rep_executor *ex)
{
    if (ex->io.unix_ms) {
        return ex->io.unix_ms(ex->io.ctx);
    }
    return ex->epoch_unix_ms + (rep_now(ex) - ex->epoch_mono_ms);
}

static void two(char *out, unsigned v)
{
    out[0] = (char)('0' + v / 10 % 10);
    out[1] = (char)('0' + v % 10);
}

size_t rep_format_rfc3339(uint64_t unix_ms, char *out)
{
    /* Civil date from days since 1970-01-01 (Howard Hinnant's algorithm). */
    uint64_t secs = unix_ms / 1000, days = secs / 86400;
    unsigned sod = (unsigned)(secs % 86400), ms = (unsigned)(unix_ms % 1000);
    uint64_t z = days + 719468, era = z / 146097, doe = z - era * 146097;
    uint64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    uint64_t y = yoe + era * 400, doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    uint64_t mp = (5 * doy + 2) / 153;
    unsigned d = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
    unsigned m = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
    if (m <= 2) {
        y++;
    }
    if (y > 9999) {
        y = 9999;
    }
    two(out, (unsigned)(y / 100));
    two(out + 2, (unsigned)(y % 100));
    out[4] = '-';
    two(out + 5, m);
    out[7] = '-';
    two(out + 8, d);
    out[10] = 'T';
    two(out + 11, sod / 3600);
    out[13] = ':';
    two(out + 14, sod / 60 % 60);
    out[16] = ':';
    two(out + 17, sod % 60);
    out[19] = '.';
    out[20] = (char)('0' + ms / 100);
    two(out + 21, ms % 100);
    out[23] = 'Z';
    return 24;
}

/* ---- errors ---- */

void rep_error_set(rep_error_info *e, int32_t code, const char *a, size_t an, const char *b,
                   size_t bn)
{
    size_t left = sizeof e->message;
    (void)memset(e, 0, sizeof *e - sizeof e->message);
    e->code = code;
    e->node = -1;
    e->retriable = -1;
    if (an > left) {
        an = left;
    }
    (void)memcpy(e->message, a, an);
    left -= an;
    if (b) {
        if (bn > left) {
            bn = left;
        }
        (void)memcpy(e->message + an, b, bn);
        an += bn;
    }
    /* Never end inside a UTF-8 sequence. */
    if (an == sizeof e->message) {
        while (an > 0 && ((unsigned char)e->message[an - 1] & 0xC0) == 0x80) {
            an--;
        }
        if (an > 0 && ((unsigned char)e->message[an - 1] & 0xC0) == 0xC0) {
            an--;
        }
    }
    e->message_len = (uint16_t)an;
}

static rep_json node_id(const rep_run *run, uint16_t node)
{
    rep_json v;
    v.p = run->ir.p + run->graph.nodes[node].id_off;
    v.n = run->graph.nodes[node].id_len;
    return v;
}

static const char *cause_name(uint8_t cause)
{
    switch (cause) {
    case REP_CAUSE_TIMEOUT:
        return "timeout";
    case REP_CAUSE_CANCELLED:
        return "cancelled";
    case REP_CAUSE_PANIC:
        return "panic";
    default:
        return NULL;
    }
}

/* A message string value, cut to REP_MAX_MESSAGE_BYTES of JSON text. */
static void w_message(rep_writer *w, const char *msg, size_t n)
{
    rep_w_item(w);
    rep_w_raw(w, "\"", 1);
    rep_w_escaped(w, msg, n, REP_MAX_MESSAGE_BYTES);
    rep_w_raw(w, "\"", 1);
}

/* Writes an error object `{code, message, data?}` for a run or step error. */
static void write_error_info(const rep_run *run, const rep_error_info *e, rep_writer *w)
{
    const char *cause = cause_name(e->cause);
    rep_w_begin_object(w);
    rep_w_key(w, "code");
    rep_w_int(w, e->code);
    rep_w_key(w, "message");
    w_message(w, e->message, e->message_len);
    if (e->node >= 0 || e->retriable >= 0 || e->details || cause) {
        rep_w_key(w, "data");
        rep_w_begin_object(w);
        if (e->node >= 0) {
            rep_w_key(w, "step_id");
            rep_w_value(w, node_id(run, (uint16_t)e->node));
            rep_w_key(w, "attempt");
            rep_w_int(w, e->attempt);
        }
        if (e->retriable >= 0) {
            rep_w_key(w, "retriable");
            rep_w_bool(w, e->retriable);
        }
        if (e->details == REP_DETAILS_LIMIT) {
            rep_w_key(w, "details");
            rep_w_begin_object(w);
            rep_w_key(w, "limit");
            rep_w_string(w, e->limit);
            rep_w_end_object(w);
        } else if (e->details) {
            rep_w_key(w, "details");
            rep_w_begin_object(w);
            rep_w_key(w, e->details == REP_DETAILS_TIMEOUT_MS ? "timeout_ms" : "flow_timeout_ms");
            rep_w_int(w, e->details_ms);
            rep_w_end_object(w);
        }
        if (cause) {
            rep_w_key(w, "cause");
            rep_w_string(w, cause);
        }
        rep_w_end_object(w);
    }
    rep_w_end_object(w);
}

/* ---- events ---- */

static size_t room(const rep_run *run)
{
    return REP_RUN_EVENT_BYTES - run->events_len;
}

/* Whether the run may take a step that adds `events` events in normal progress. */
static int can_progress(const rep_run *run, size_t events)
{
    return room(run) >= RESERVE + events * EVT;
}

static void event_begin(rep_executor *ex, rep_run *run, rep_writer *w, const char *type)
{
    char ts[24];
    rep_writer_init(w, run->events + run->events_len, room(run));
    if (run->events_len > 0) {
        rep_w_raw(w, ",", 1);
    }
    rep_w_begin_object(w);
    rep_w_key(w, "type");
    rep_w_string(w, type);
    rep_w_key(w, "timestamp");
    rep_w_string_n(w, ts, rep_format_rfc3339(unix_now(ex), ts));
}

static void event_end(rep_run *run, rep_writer *w)
{
    rep_w_end_object(w);
    /* The reserve makes an overflow impossible; if it happened, the partial event goes. */
    if (!w->overflow) {
        run->events_len += w->len;
    }
}

static void log_event(rep_executor *ex, rep_run *run, const char *level, const char *msg,
                      size_t n, int node)
{
    rep_writer w;
    event_begin(ex, run, &w, "log");
    rep_w_key(&w, "level");
    rep_w_string(&w, level);
    rep_w_key(&w, "message");
    w_message(&w, msg, n);
    if (node >= 0) {
        rep_w_key(&w, "step_id");
        rep_w_value(&w, node_id(run, (uint16_t)node));
    }
    event_end(run, &w);
}

static void step_event(rep_executor *ex, rep_run *run, uint16_t node, const char *state,
                       uint32_t attempt, int with_duration, uint64_t duration_ms,
                       const rep_error_info *error)
{
    rep_writer w;
    event_begin(ex, run, &w, "step");
    rep_w_key(&w, "step_id");
    rep_w_value(&w, node_id(run, node));
    rep_w_key(&w, "state");
    rep_w_string(&w, state);
    rep_w_key(&w, "attempt");
    rep_w_int(&w, attempt);
    if (with_duration) {
        rep_w_key(&w, "duration_ms");
        rep_w_int(&w, (int64_t)duration_ms);
    }
    if (error) {
        const char *cause = cause_name(error->cause);
        rep_w_key(&w, "error");
        rep_w_begin_object(&w);
        rep_w_key(&w, "code");
        rep_w_int(&w, error->code);
        rep_w_key(&w, "message");
        w_message(&w, error->message, error->message_len);
        if (cause) {
            rep_w_key(&w, "cause");
            rep_w_string(&w, cause);
        }
        rep_w_end_object(&w);
    }
    event_end(run, &w);
}

/* ---- the step API ---- */

uint32_t rep_step_attempt(const rep_step *step)
{
    return step->slot->attempt;
}

rep_json rep_step_id(const rep_step *step)
{
    return node_id(step->run, step->node);
}

rep_json rep_step_inputs(const rep_step *step)
{
    return step->run->inputs;
}

rep_json rep_step_ir(const rep_step *step)
{
    return step->run->ir;
}

uint64_t rep_step_elapsed_ms(const rep_step *step)
{
    return rep_now(step->ex) - step->slot->started_ms;
}

uint32_t rep_step_place(const rep_step *step)
{
    /* The slot's index, after REP_CONCURRENCY places per run before this one. */
    uint32_t place = (uint32_t)(step->slot - step->run->slots);
    const rep_run *run;
    for (run = step->ex->runs; run != step->run; run++) {
        place += REP_CONCURRENCY;
    }
    return place;
}

uint32_t rep_step_serial(const rep_step *step)
{
    return step->slot->serial;
}

bool rep_step_cancelled(const rep_step *step)
{
    return step->slot->cancelled != 0;
}

rep_step_result rep_step_wait(rep_step *step, uint32_t ms)
{
    step->wait_ms = ms;
    return REP_STEP_PENDING;
}

rep_step_result rep_step_fail(rep_step *step, int32_t code, const char *message)
{
    if (message == NULL) {
        message = "step failed";
    }
    rep_error_set(&step->ex->step_error, code, message, strlen(message), NULL, 0);
    return REP_STEP_FAILED;
}

rep_step_result rep_step_fail_with(rep_step *step, int32_t code, const char *message,
                                   rep_json value)
{
    if (rep_json_typeof(value) == REP_JSON_MISSING) {
        value.p = "null";
        value.n = 4;
    }
    if (message == NULL) {
        message = "";
    }
    rep_error_set(&step->ex->step_error, code, message, strlen(message), value.p, value.n);
    return REP_STEP_FAILED;
}

void rep_step_set_retriable(rep_step *step, bool retriable)
{
    step->ex->step_error.retriable = (int8_t)(retriable ? 1 : 0);
}

void rep_step_set_cause(rep_step *step, const char *cause)
{
    uint8_t c = REP_CAUSE_NONE;
    if (cause && strcmp(cause, "timeout") == 0) {
        c = REP_CAUSE_TIMEOUT;
    } else if (cause && strcmp(cause, "cancelled") == 0) {
        c = REP_CAUSE_CANCELLED;
    } else if (cause && strcmp(cause, "panic") == 0) {
        c = REP_CAUSE_PANIC;
    }
    step->ex->step_error.cause = c;
}

void rep_step_log(rep_step *step, const char *level, const char *message)
{
    if (step->logs >= LOGS_PER_CALL || level == NULL || message == NULL) {
        return;
    }
    step->logs++;
    log_event(step->ex, step->run, level, message, strlen(message), step->node);
}

/* ---- built-in kinds ---- */

/* `switch`: with = {key_from (resolved), cases: {value: node id}, default}; output {value,
 * case, target}. */
static rep_step_result builtin_switch(rep_step *step, rep_json with, rep_writer *out)
{
    rep_json value = rep_json_get(with, "key_from");
    rep_json cases = rep_json_get(with, "cases");
    rep_json def = rep_json_get(with, "default");
    rep_json_iter it;
    rep_json k, chosen = {NULL, 0};
    rep_json_type t = rep_json_typeof(value);
    if (rep_json_typeof(cases) != REP_JSON_OBJECT) {
        (void)rep_step_fail(step, REP_STEP_FAILED_CODE,
                            "switch: with.cases is missing or not an object");
        rep_step_set_retriable(step, false);
        return REP_STEP_FAILED;
    }
    rep_json_iter_init(&it, cases);
    while (rep_json_iter_next(&it, &k, NULL)) {
        int match = 0;
        if (t == REP_JSON_STRING) {
            match = rep_json_strings_equal(k, value);
        } else if (t == REP_JSON_NUMBER || t == REP_JSON_BOOL) {
            match = rep_json_string_equals(k, value.p, value.n);
        }
        if (match) {
            chosen = k;
        }
    }
    if (!chosen.p && rep_json_typeof(def) == REP_JSON_STRING) {
        rep_json_iter_init(&it, cases);
        while (rep_json_iter_next(&it, &k, NULL)) {
            if (rep_json_strings_equal(k, def)) {
                chosen = k;
            }
        }
    }
    if (!chosen.p) {
        char msg[REP_MAX_MESSAGE_BYTES];
        size_t n = 0, vn;
        static const char a[] = "switch: no case matches ";
        static const char b[] = " and there is no usable default";
        const char *vp = value.p ? value.p : "null";
        vn = value.p ? value.n : 4;
        if (vn > sizeof msg - sizeof a - sizeof b) {
            vn = sizeof msg - sizeof a - sizeof b;
        }
        memcpy(msg, a, sizeof a - 1);
        n = sizeof a - 1;
        (void)memcpy(msg + n, vp, vn);
        n += vn;
        memcpy(msg + n, b, sizeof b - 1);
        n += sizeof b - 1;
        rep_error_set(&step->ex->step_error, REP_STEP_FAILED_CODE, msg, n, NULL, 0);
        rep_step_set_retriable(step, false);
        return REP_STEP_FAILED;
    }
    rep_w_begin_object(out);
    rep_w_key(out, "value");
    rep_w_value(out, value);
    rep_w_key(out, "case");
    rep_w_value(out, chosen);
    rep_w_key(out, "target");
    {
        rep_json target = {NULL, 0};
        rep_json v;
        rep_json_iter_init(&it, cases);
        while (rep_json_iter_next(&it, &k, &v)) {
            if (rep_json_strings_equal(k, chosen)) {
                target = v;
            }
        }
        rep_w_value(out, target);
    }
    rep_w_end_object(out);
    return REP_STEP_DONE;
}

/* ---- scheduling ---- */

static int is_final_status(uint8_t status)
{
    return status == REP_STATUS_COMPLETED || status == REP_STATUS_FAILED;
}

int rep_run_final(const rep_run *run)
{
    return is_final_status(run->status);
}

static void push_ready(rep_run *run, uint16_t node)
{
    run->node_state[node] = NS_READY;
    run->ready[run->ready_head + run->ready_len] = node;
    run->ready_len++;
}

/* Edge `e` is taken or not; its target becomes ready or dead once all its incoming edges are
 * decided, and a dead node's edges are not taken. Every edge is decided once per run, so the
 * stack never holds more than REP_MAX_EDGES entries. */
static void decide(rep_executor *ex, rep_run *run, uint16_t e, int taken)
{
    uint16_t *stack = ex->tmp_edges;
    size_t sp = 0;
    for (;;) {
        uint16_t to = run->graph.edges[e].to;
        if (run->remaining[to] > 0) {
            run->remaining[to]--;
        }
        run->activated[to] |= (uint8_t)(taken ? 1 : 0);
        if (run->remaining[to] == 0 && run->node_state[to] == NS_WAITING) {
            if (run->activated[to]) {
                push_ready(run, to);
            } else {
                const rep_node_info *n = &run->graph.nodes[to];
                uint16_t k;
                run->node_state[to] = NS_DEAD;
                for (k = 0; k < n->out_count && sp < REP_MAX_EDGES; k++) {
                    stack[sp++] = run->graph.out_list[n->out_start + k];
                }
            }
        }
        if (sp == 0) {
            return;
        }
        e = stack[--sp];
        taken = 0;
    }
}

static void cancelled_error(rep_error_info *e)
{
    static const char msg[] = "run cancelled";
    rep_error_set(e, REP_TRANSPORT, msg, sizeof msg - 1, NULL, 0);
    e->retriable = 0;
    e->cause = REP_CAUSE_CANCELLED;
}

static void flow_timeout_error(rep_error_info *e, uint32_t timeout_ms)
{
    char msg[64];
    rep_writer w;
    rep_writer_init(&w, msg, sizeof msg);
    rep_w_raw(&w, "flow timed out after ", 21);
    rep_w_u64_raw(&w, timeout_ms);
    rep_w_raw(&w, " ms", 3);
    rep_error_set(e, REP_STEP_FAILED_CODE, msg, w.len, NULL, 0);
    e->retriable = 0;
    e->cause = REP_CAUSE_TIMEOUT;
    e->details = REP_DETAILS_FLOW_TIMEOUT_MS;
    e->details_ms = timeout_ms;
}

/* Stops the run: no new step; steps in progress are told to stop. */
static void stop(rep_executor *ex, rep_run *run)
{
    uint64_t now = rep_now(ex);
    int i;
    run->stopping = 1;
    for (i = 0; i < REP_CONCURRENCY; i++) {
        rep_slot *s = &run->slots[i];
        if (s->phase == PHASE_RUNNING && !s->cancelled) {
            s->cancelled = 1;
            s->cancel_deadline_ms = now + REP_CANCEL_GRACE_MS;
        }
    }
}

static void fail_run(rep_executor *ex, rep_run *run, const rep_error_info *e)
{
    if (!run->has_failure) {
        run->failure = *e;
        run->has_failure = 1;
        stop(ex, run);
    }
}

/* A step ended with `error` after its last attempt. */
static void step_failed(rep_executor *ex, rep_run *run, rep_slot *slot, const rep_error_info *e)
{
    uint16_t node = (uint16_t)slot->node;
    const rep_node_info *n = &run->graph.nodes[node];
    uint16_t k;
    int has_failure_edge = 0;
    slot->phase = PHASE_FREE;
    slot->node = -1;
    run->node_state[node] = NS_FAILED;
    for (k = 0; k < n->out_count; k++) {
        has_failure_edge |= run->graph.edges[run->graph.out_list[n->out_start + k]].failure;
    }
    if (!has_failure_edge || run->stopping) {
        fail_run(ex, run, e);
        return;
    }
    for (k = 0; k < n->out_count; k++) {
        uint16_t e2 = run->graph.out_list[n->out_start + k];
        decide(ex, run, e2, run->graph.edges[e2].failure);
    }
}

/* ---- summary.outputs ---- */

/* FNV-1a of the decoded key: keys equal by content hash alike whatever their escapes. */
static uint32_t key_hash(rep_json key)
{
    rep_strdec d;
    int c;
    uint32_t h = 2166136261u;
    rep_strdec_init(&d, key);
    while ((c = rep_strdec_next(&d)) >= 0) {
        h = (h ^ (uint32_t)c) * 16777619u;
    }
    return h;
}

static rep_json member_key(const rep_run *run, uint32_t member)
{
    rep_json k;
    k.p = run->output + run->merged[member].key_off;
    k.n = run->merged[member].key_len;
    return k;
}

/* The index slot holding `key`, or the empty slot where it goes. The index is at most half
 * full, so linear probing meets an empty slot within REP_OUTPUT_INDEX_SLOTS probes. */
static uint32_t index_slot(const rep_run *run, rep_json key)
{
    uint32_t slot = key_hash(key) % (uint32_t)REP_OUTPUT_INDEX_SLOTS;
    uint32_t probes;
    for (probes = 0; probes < (uint32_t)REP_OUTPUT_INDEX_SLOTS; probes++) {
        uint32_t at = run->merged_index[slot];
        if (at == 0 || rep_json_strings_equal(member_key(run, at - 1), key)) {
            break;
        }
        slot = slot + 1 == (uint32_t)REP_OUTPUT_INDEX_SLOTS ? 0 : slot + 1;
    }
    return slot;
}

static void set_value(rep_run *run, uint32_t member, rep_json v)
{
    run->merged[member].value_off = (uint32_t)(v.p - run->output);
    run->merged[member].value_len = (uint32_t)v.n;
}

/* Empties the index and the members (each member knows its slot). */
static void clear_outputs(rep_run *run)
{
    if (!run->merged_index_clean) {
        (void)memset(run->merged_index, 0, sizeof run->merged_index);
        run->merged_index_clean = 1;
    } else {
        uint32_t i;
        for (i = 0; i < run->merged_count; i++) {
            run->merged_index[run->merged[i].slot] = 0;
        }
    }
    run->merged_count = 0;
}

/* Merges the output `out` of a `dsl.emit` step (an object inside run->output) into
 * summary.outputs: a new key goes at the end, a known key keeps its place and takes the new
 * value. Returns 0, or -1 without changing anything when more than REP_MAX_OUTPUT_KEYS keys
 * would result. */
static int merge_outputs(rep_run *run, rep_json out)
{
    uint32_t before = run->merged_count;
    rep_json_iter it;
    rep_json k, v;
    /* First pass: new keys are appended (a key repeated within `out` takes its last value);
     * keys merged before wait for the second pass, so that a failure changes nothing. */
    rep_json_iter_init(&it, out);
    while (rep_json_iter_next(&it, &k, &v)) {
        uint32_t slot = index_slot(run, k), at = run->merged_index[slot];
        if (at == 0) {
            rep_output_member *m;
            if (run->merged_count >= (uint32_t)REP_MAX_OUTPUT_KEYS) {
                /* Undo in reverse order: with linear probing that restores the index exactly. */
                while (run->merged_count > before) {
                    run->merged_count--;
                    run->merged_index[run->merged[run->merged_count].slot] = 0;
                }
                return -1;
            }
            m = &run->merged[run->merged_count];
            m->key_off = (uint32_t)(k.p - run->output);
            m->key_len = (uint32_t)k.n;
            m->slot = slot;
            set_value(run, run->merged_count, v);
            run->merged_count++;
            run->merged_index[slot] = run->merged_count;
        } else if (at > before) {
            set_value(run, at - 1, v);
        }
    }
    if (before > 0) {
        rep_json_iter_init(&it, out);
        while (rep_json_iter_next(&it, &k, &v)) {
            uint32_t at = run->merged_index[index_slot(run, k)];
            if (at > 0 && at <= before) {
                set_value(run, at - 1, v);
            }
        }
    }
    return 0;
}

/* A step succeeded with the output `out` (inside run->output). */
static void step_succeeded(rep_executor *ex, rep_run *run, rep_slot *slot, rep_json out)
{
    uint16_t node = (uint16_t)slot->node;
    const rep_node_info *n = &run->graph.nodes[node];
    rep_json chosen_case = {NULL, 0}, chosen_target = {NULL, 0};
    uint16_t k;
    slot->phase = PHASE_FREE;
    slot->node = -1;
    run->node_state[node] = NS_SUCCEEDED;
    run->out_off[node] = (uint32_t)(out.p - run->output);
    run->out_len[node] = (uint32_t)out.n;
    run->done_order[run->done_count++] = node;
    if (n->flags & REP_NODE_FINISH) {
        run->finished_flow = 1;
    }
    if (n->flags & REP_NODE_SWITCH) {
        chosen_case = rep_json_get(out, "case");
        chosen_target = rep_json_get(out, "target");
    }
    for (k = 0; k < n->out_count; k++) {
        uint16_t e = run->graph.out_list[n->out_start + k];
        const rep_edge_info *edge = &run->graph.edges[e];
        int taken = !edge->failure;
        if (taken && (n->flags & REP_NODE_SWITCH)) {
            if (edge->case_len > 0) {
                rep_json c;
                c.p = run->ir.p + edge->case_off;
                c.n = edge->case_len;
                taken = rep_json_strings_equal(c, chosen_case);
            } else {
                taken = rep_json_strings_equal(node_id(run, edge->to), chosen_target);
            }
        }
        decide(ex, run, e, taken);
    }
}

static int is_retriable(const rep_error_info *e)
{
    if (e->retriable >= 0) {
        return e->retriable;
    }
    return e->code >= 2000 && e->code <= 2999;
}

/* An attempt failed with `e` (its node and attempt set here). */
static void attempt_failed(rep_executor *ex, rep_run *run, rep_slot *slot, rep_error_info *e,
                           uint64_t now)
{
    const rep_node_info *n = &run->graph.nodes[slot->node];
    int last;
    e->node = slot->node;
    e->attempt = slot->attempt;
    last = slot->attempt >= (uint64_t)n->retry_max + 1 || !is_retriable(e) || run->stopping;
    step_event(ex, run, (uint16_t)slot->node, "failed", slot->attempt, 1, now - slot->started_ms,
               e);
    if (last) {
        run->failed_steps++;
        step_failed(ex, run, slot, e);
        return;
    }
    slot->phase = PHASE_BACKOFF;
    slot->wake_ms = now + n->backoff_ms;
}

static void begin_attempt(rep_executor *ex, rep_run *run, rep_slot *slot, uint64_t now)
{
    step_event(ex, run, (uint16_t)slot->node, "started", slot->attempt, 0, 0, NULL);
    slot->phase = PHASE_RUNNING;
    slot->started_ms = slot->wake_ms = now;
    slot->cancelled = slot->timed_out = 0;
    slot->cancel_deadline_ms = 0;
    ex->attempt_serial++;
    if (ex->attempt_serial == 0) {
        ex->attempt_serial = 1;
    }
    slot->serial = ex->attempt_serial;
}

/* 3003: the compile-time limit `limit` (a literal) was reached; not retriable. */
static void limit_error(rep_error_info *e, const char *limit, const char *message)
{
    rep_error_set(e, REP_RESOURCES, message, strlen(message), NULL, 0);
    e->retriable = 0;
    e->details = REP_DETAILS_LIMIT;
    e->limit = limit;
}

static void timeout_error(rep_error_info *e, const rep_run *run, const rep_slot *slot)
{
    const rep_node_info *n = &run->graph.nodes[slot->node];
    char msg[REP_MAX_ID_BYTES + 64];
    rep_writer w;
    rep_writer_init(&w, msg, sizeof msg);
    rep_w_raw(&w, "step ", 5);
    rep_w_value(&w, node_id(run, (uint16_t)slot->node));
    rep_w_raw(&w, " timed out after ", 17);
    rep_w_u64_raw(&w, n->timeout_ms);
    rep_w_raw(&w, " ms", 3);
    rep_error_set(e, REP_STEP_FAILED_CODE, msg, w.len, NULL, 0);
    e->cause = REP_CAUSE_TIMEOUT;
    e->details = REP_DETAILS_TIMEOUT_MS;
    e->details_ms = n->timeout_ms;
}

/* Calls the handler of the attempt in `slot` once and acts on its result. */
static void call_handler(rep_executor *ex, rep_run *run, rep_slot *slot)
{
    const rep_node_info *n = &run->graph.nodes[slot->node];
    rep_step step;
    rep_writer out;
    rep_json with;
    rep_step_result r;
    rep_error_info *e = &ex->step_error;
    uint64_t now;
    step.ex = ex;
    step.run = run;
    step.slot = slot;
    step.node = (uint16_t)slot->node;
    step.wait_ms = 1;
    step.logs = 0;
    with.p = slot->with;
    with.n = slot->with_len;
    rep_error_set(e, REP_STEP_FAILED_CODE, "step failed", 11, NULL, 0);
    rep_writer_init(&out, run->output + run->output_len, REP_RUN_OUTPUT_BYTES - run->output_len);
    if (n->kind == REP_KIND_SWITCH) {
        r = builtin_switch(&step, with, &out);
    } else if (n->kind == REP_KIND_FINISH) {
        rep_w_begin_object(&out);
        rep_w_end_object(&out);
        r = REP_STEP_DONE;
    } else {
        const rep_kind *k = &ex->kinds[n->kind];
        ex->in_handler = 1;
        r = k->fn(&step, with, &out, k->user);
        ex->in_handler = 0;
    }
    now = rep_now(ex);
    if (r == REP_STEP_PENDING) {
        if (!(slot->cancelled && now >= slot->cancel_deadline_ms)) {
            slot->wake_ms = now + step.wait_ms;
            return;
        }
        if (slot->timed_out) {
            timeout_error(e, run, slot);
        } else {
            char msg[REP_MAX_ID_BYTES + 96];
            rep_writer w;
            rep_writer_init(&w, msg, sizeof msg);
            rep_w_raw(&w, "step ", 5);
            rep_w_value(&w, node_id(run, step.node));
            rep_w_raw(&w, " cancelled: the handler did not stop within ", 44);
            rep_w_u64_raw(&w, REP_CANCEL_GRACE_MS);
            rep_w_raw(&w, " ms of its cancellation", 23);
            rep_error_set(e, REP_STEP_FAILED_CODE, msg, w.len, NULL, 0);
            e->cause = REP_CAUSE_CANCELLED;
            e->retriable = 0;
        }
        attempt_failed(ex, run, slot, e, now);
        return;
    }
    if (r == REP_STEP_DONE) {
        rep_json v;
        size_t at;
        const char *why = "";
        if (slot->timed_out) {
            timeout_error(e, run, slot);
        } else if (out.overflow) {
            limit_error(e, "REP_RUN_OUTPUT_BYTES",
                        "out of resources: the run's step outputs exceed REP_RUN_OUTPUT_BYTES");
        } else if (rep_json_parse(out.buf, out.len, &v, &at, &why) != REP_OK) {
            rep_error_set(e, REP_INTERNAL, "the handler wrote an output that is not JSON: ", 46,
                          why, strlen(why));
            e->retriable = 0;
        } else if ((n->flags & REP_NODE_EMIT) && merge_outputs(run, v) != 0) {
            limit_error(e, "REP_MAX_OUTPUT_KEYS",
                        "out of resources: the flow's outputs would have more keys than "
                        "REP_MAX_OUTPUT_KEYS");
        } else {
            step_event(ex, run, step.node, "succeeded", slot->attempt, 1, now - slot->started_ms,
                       NULL);
            run->completed_steps++;
            run->output_len += out.len;
            step_succeeded(ex, run, slot, v);
            return;
        }
    } else if (slot->timed_out) {
        timeout_error(e, run, slot);
    } else if (slot->cancelled && e->cause == REP_CAUSE_NONE) {
        e->cause = REP_CAUSE_CANCELLED;
    }
    attempt_failed(ex, run, slot, e, now);
}

/* Starts the next ready node in a free slot. */
static void start_step(rep_executor *ex, rep_run *run, rep_slot *slot, uint64_t now)
{
    uint16_t node = run->ready[run->ready_head];
    const rep_node_info *n = &run->graph.nodes[node];
    rep_writer w;
    rep_scope scope;
    rep_json with;
    run->ready_head++;
    run->ready_len--;
    run->node_state[node] = NS_RUNNING;
    slot->node = (int16_t)node;
    slot->attempt = 1;
    with.p = run->ir.p + n->with_off;
    with.n = n->with_len;
    scope.inputs = run->inputs;
    scope.run = run;
    rep_writer_init(&w, slot->with, sizeof slot->with);
    rep_resolve(with, &scope, &w);
    slot->with_len = w.len;
    begin_attempt(ex, run, slot, now);
    if (w.overflow) {
        rep_error_info *e = &ex->step_error;
        limit_error(e, "REP_WITH_BYTES",
                    "out of resources: the step's resolved `with` exceeds REP_WITH_BYTES");
        slot->with_len = 0;
        attempt_failed(ex, run, slot, e, now);
    }
    /* The handler runs when the slot is served: every ready step starts before any runs, as
     * concurrent steps do. */
}

/* Serves one busy slot if it is due; returns 1 when something happened. */
static int serve_slot(rep_executor *ex, rep_run *run, rep_slot *slot, uint64_t now)
{
    const rep_node_info *n = &run->graph.nodes[slot->node];
    if (slot->phase == PHASE_BACKOFF) {
        if (run->stopping) {
            rep_error_info *e = &ex->step_error;
            char msg[REP_MAX_ID_BYTES + 64];
            rep_writer w;
            static const char prefix[] = "no more attempts: ";
            rep_writer_init(&w, msg, sizeof msg);
            rep_w_raw(&w, prefix, sizeof prefix - 1);
            rep_w_raw(&w, "run stopped before attempt ", 27);
            rep_w_u64_raw(&w, (uint64_t)slot->attempt + 1);
            rep_w_raw(&w, " of step ", 9);
            rep_w_value(&w, node_id(run, (uint16_t)slot->node));
            log_event(ex, run, "warn", msg, w.len, slot->node);
            rep_error_set(e, REP_STEP_FAILED_CODE, msg + sizeof prefix - 1,
                          w.len - (sizeof prefix - 1), NULL, 0);
            e->cause = REP_CAUSE_CANCELLED;
            e->retriable = 0;
            e->node = slot->node;
            e->attempt = slot->attempt;
            run->failed_steps++;
            step_failed(ex, run, slot, e);
            return 1;
        }
        if (now < slot->wake_ms || !can_progress(run, 2 + LOGS_PER_CALL)) {
            return 0;
        }
        slot->attempt++;
        begin_attempt(ex, run, slot, now);
        call_handler(ex, run, slot);
        return 1;
    }
    /* Running. */
    if (!slot->cancelled) {
        if (run->stopping) {
            slot->cancelled = 1;
            slot->cancel_deadline_ms = now + REP_CANCEL_GRACE_MS;
        } else if (n->timeout_ms > 0 && now - slot->started_ms >= n->timeout_ms) {
            slot->cancelled = slot->timed_out = 1;
            slot->cancel_deadline_ms = now + REP_CANCEL_GRACE_MS;
        }
    }
    if (!slot->cancelled && now < slot->wake_ms) {
        return 0;
    }
    if (!run->stopping && !can_progress(run, 1 + LOGS_PER_CALL)) {
        return 0;
    }
    {
        uint32_t attempt = slot->attempt;
        int16_t node = slot->node;
        call_handler(ex, run, slot);
        /* Still the same attempt in progress: the handler is pending, nothing happened. */
        return !(slot->phase == PHASE_RUNNING && slot->node == node && slot->attempt == attempt);
    }
}

static rep_slot *free_slot(rep_run *run)
{
    int i;
    for (i = 0; i < REP_CONCURRENCY; i++) {
        if (run->slots[i].phase == PHASE_FREE) {
            return &run->slots[i];
        }
    }
    return NULL;
}

static int busy_slots(const rep_run *run)
{
    int i, n = 0;
    for (i = 0; i < REP_CONCURRENCY; i++) {
        n += run->slots[i].phase != PHASE_FREE;
    }
    return n;
}

static void finish(rep_executor *ex, rep_run *run)
{
    if (!run->has_failure && run->cancel_requested) {
        rep_error_info e;
        cancelled_error(&e);
        run->failure = e;
        run->has_failure = 1;
    }
    if (run->has_failure) {
        char msg[REP_MAX_MESSAGE_BYTES + 12];
        (void)memcpy(msg, "run failed: ", 12);
        (void)memcpy(msg + 12, run->failure.message, run->failure.message_len);
        log_event(ex, run, "error", msg, 12u + run->failure.message_len, -1);
        run->status = REP_STATUS_FAILED;
    } else {
        log_event(ex, run, "info", "run completed", 13, -1);
        run->status = REP_STATUS_COMPLETED;
    }
}

void rep_run_start(rep_executor *ex, rep_run *run)
{
    uint16_t i;
    uint64_t now = rep_now(ex);
    run->status = REP_STATUS_RUNNING;
    run->stopping = run->finished_flow = run->cancel_requested = run->has_failure = 0;
    run->more_now = 1;
    run->completed_steps = run->failed_steps = 0;
    run->ready_head = run->ready_len = 0;
    run->done_count = 0;
    clear_outputs(run);
    run->output_len = 0;
    run->events_len = 0;
    run->deadline_ms = run->graph.flow_timeout_ms ? now + run->graph.flow_timeout_ms : 0;
    for (i = 0; i < REP_CONCURRENCY; i++) {
        run->slots[i].phase = PHASE_FREE;
        run->slots[i].node = -1;
    }
    for (i = 0; i < run->graph.node_count; i++) {
        run->remaining[i] = run->graph.nodes[i].in_count;
        run->activated[i] = 0;
        run->node_state[i] = NS_WAITING;
    }
    for (i = 0; i < run->graph.node_count; i++) {
        if (run->graph.nodes[i].in_count == 0) {
            push_ready(run, i);
        }
    }
    log_event(ex, run, "info", "run started", 11, -1);
}

void rep_run_tick(rep_executor *ex, rep_run *run)
{
    int actions = 0;
    run->more_now = 0;
    if (!run->used || rep_run_final(run)) {
        return;
    }
    if (run->cancel_requested && !run->has_failure) {
        rep_error_info e;
        cancelled_error(&e);
        fail_run(ex, run, &e);
    }
    if (!run->has_failure && run->deadline_ms && rep_now(ex) >= run->deadline_ms) {
        rep_error_info e;
        flow_timeout_error(&e, run->graph.flow_timeout_ms);
        fail_run(ex, run, &e);
    }
    while (actions < MAX_ACTIONS) {
        uint64_t now = rep_now(ex);
        int i, progressed = 0;
        rep_slot *slot;
        /* Every ready step starts (up to REP_CONCURRENCY) before any handler runs. */
        while (!run->has_failure && !run->finished_flow && !run->stopping && run->ready_len > 0 &&
               can_progress(run, 2 + LOGS_PER_CALL) && (slot = free_slot(run)) != NULL &&
               actions < MAX_ACTIONS) {
            start_step(ex, run, slot, now);
            progressed = 1;
            actions++;
        }
        for (i = 0; i < REP_CONCURRENCY; i++) {
            if (run->slots[i].phase != PHASE_FREE) {
                progressed |= serve_slot(ex, run, &run->slots[i], now);
            }
        }
        if (busy_slots(run) == 0 &&
            (run->ready_len == 0 || run->has_failure || run->finished_flow || run->stopping)) {
            finish(ex, run);
            return;
        }
        if (!progressed) {
            return;
        }
        actions++;
    }
    run->more_now = 1;
}

uint32_t rep_run_idle_ms(rep_executor *ex, rep_run *run, uint32_t max_ms)
{
    uint64_t now, wait = max_ms;
    int i;
    if (!run->used || rep_run_final(run)) {
        return max_ms;
    }
    if (run->more_now || (run->cancel_requested && !run->has_failure)) {
        return 0;
    }
    now = rep_now(ex);
    if (run->deadline_ms && !run->has_failure) {
        wait = run->deadline_ms > now ? run->deadline_ms - now : 0;
    }
    for (i = 0; i < REP_CONCURRENCY; i++) {
        const rep_slot *s = &run->slots[i];
        uint64_t t;
        if (s->phase == PHASE_FREE) {
            continue;
        }
        t = s->wake_ms;
        if (s->phase == PHASE_RUNNING) {
            uint32_t timeout = run->graph.nodes[s->node].timeout_ms;
            if (s->cancelled && s->cancel_deadline_ms < t) {
                t = s->cancel_deadline_ms;
            }
            if (!s->cancelled && timeout > 0 && s->started_ms + timeout < t) {
                t = s->started_ms + timeout;
            }
        }
        t = t > now ? t - now : 0;
        if (t < wait) {
            wait = t;
        }
    }
    return (uint32_t)(wait < max_ms ? wait : max_ms);
}

void rep_run_wake(rep_run *run)
{
    int i;
    for (i = 0; i < REP_CONCURRENCY; i++) {
        if (run->slots[i].phase == PHASE_RUNNING) {
            run->slots[i].wake_ms = 0;
        }
    }
}

void rep_run_cancel(rep_executor *ex, rep_run *run)
{
    if (rep_run_final(run) || run->cancel_requested) {
        return;
    }
    log_event(ex, run, "warn", "cancel requested", 16, -1);
    run->cancel_requested = 1;
}

/* ---- Poll ---- */

/* summary.outputs: the merged members as they are. */
static void write_outputs(const rep_run *run, rep_writer *w)
{
    uint32_t i;
    rep_w_begin_object(w);
    for (i = 0; i < run->merged_count; i++) {
        const rep_output_member *m = &run->merged[i];
        rep_json k, v;
        k.p = run->output + m->key_off;
        k.n = m->key_len;
        v.p = run->output + m->value_off;
        v.n = m->value_len;
        rep_w_key_json(w, k);
        rep_w_value(w, v);
    }
    rep_w_end_object(w);
}

void rep_run_poll(rep_executor *ex, rep_run *run, rep_writer *w)
{
    static const char *const names[] = {"pending", "running", "completed", "failed"};
    (void)ex;
    rep_w_begin_object(w);
    rep_w_key(w, "status");
    rep_w_string(w, names[run->status & 3]);
    rep_w_key(w, "events");
    rep_w_item(w);
    rep_w_raw(w, "[", 1);
    rep_w_raw(w, run->events, run->events_len);
    rep_w_raw(w, "]", 1);
    run->events_len = 0;
    rep_w_key(w, "summary");
    rep_w_begin_object(w);
    rep_w_key(w, "completed_steps");
    rep_w_int(w, run->completed_steps);
    rep_w_key(w, "failed_steps");
    rep_w_int(w, run->failed_steps);
    rep_w_key(w, "outputs");
    write_outputs(run, w);
    if (run->has_failure && rep_run_final(run)) {
        rep_w_key(w, "error");
        write_error_info(run, &run->failure, w);
    }
    rep_w_end_object(w);
    rep_w_end_object(w);
}

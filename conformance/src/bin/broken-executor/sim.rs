//! The broken executor's scheduler: a discrete-event simulation of a run, planned at
//! StartRun in simulated milliseconds, written from the Flow IR text and the `rep.probe`
//! contract alone (docs/flow-ir.md, docs/protocol.md) — not from the kit or the conformance
//! model, so the self-test compares independent readings of the same text.
//!
//! Entry nodes start first; a node runs once all its incoming edges are decided and one was
//! taken (dead paths propagate); at most `limit` nodes run at once, each for its whole retry
//! sequence; `success`/`failure` edges follow the outcome, a `switch` takes the edges of its
//! chosen case; a failure without a `failure` edge stops the run (running nodes fail at that
//! moment), `finish` stops it completed. Every attempt is planned as a `started` and a
//! `succeeded`/`failed` event at its simulated time.
//!
//! Planted semantic bugs (the `REP-SEM-*` faults): see [`Bugs`].

use std::collections::VecDeque;

use serde_json::{Map, Value, json};

/// Safety bound on the attempts of one node (`retry.max` may be 2³¹ − 1).
const MAX_ATTEMPTS: u64 = 1000;
/// The time of a planned event that was cut away.
const DROPPED: u64 = u64::MAX;

/// The planted semantic bugs, each switched on by its fault name or its test id.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Bugs {
    /// `retry-short` (REP-SEM-001): one attempt fewer than `retry.max` allows.
    pub retry_short: bool,
    /// `backoff-ignored` (REP-SEM-002): the next attempt starts at once.
    pub backoff_ignored: bool,
    /// `timeout-ignored` (REP-SEM-003): attempts run their whole delay.
    pub timeout_ignored: bool,
    /// `failure-edge-on-success` (REP-SEM-004): a success also takes the failure edges.
    pub failure_edge_on_success: bool,
    /// `switch-default-only` (REP-SEM-005): a switch always takes its default case.
    pub switch_default_only: bool,
    /// `finish-ignored` (REP-SEM-006): the run goes on after `finish`.
    pub finish_ignored: bool,
    /// `first-edge-only` (REP-SEM-007): only the first taken success edge is followed.
    pub first_edge_only: bool,
    /// `join-per-edge` (REP-SEM-008): a join runs once per taken incoming edge, at once.
    pub join_per_edge: bool,
    /// `emit-unresolved` (REP-SEM-009): `dsl.emit` outputs its `with` unresolved.
    pub emit_unresolved: bool,
    /// `concurrency-exceeded` (REP-SEM-010): `limits.concurrency` is not applied.
    pub concurrency_exceeded: bool,
    /// `cancel-ignored` (REP-SEM-011): a running step runs on after Cancel.
    pub cancel_ignored: bool,
    /// `attempt-always-1` (REP-SEM-012): every event says attempt 1.
    pub attempt_always_1: bool,
    /// REP-LIF-002: a `switch` fails.
    pub switch_fails: bool,
}

impl Bugs {
    /// The bugs a `--fault` value switches on: a fault name or the id of the test it breaks.
    pub fn from_fault(fault: &str) -> Bugs {
        let mut bugs = Bugs::default();
        match fault {
            "retry-short" | "REP-SEM-001" => bugs.retry_short = true,
            "backoff-ignored" | "REP-SEM-002" => bugs.backoff_ignored = true,
            "timeout-ignored" | "REP-SEM-003" => bugs.timeout_ignored = true,
            "failure-edge-on-success" | "REP-SEM-004" => bugs.failure_edge_on_success = true,
            "switch-default-only" | "REP-SEM-005" => bugs.switch_default_only = true,
            "finish-ignored" | "REP-SEM-006" => bugs.finish_ignored = true,
            "first-edge-only" | "REP-SEM-007" => bugs.first_edge_only = true,
            "join-per-edge" | "REP-SEM-008" => bugs.join_per_edge = true,
            "emit-unresolved" | "REP-SEM-009" => bugs.emit_unresolved = true,
            "concurrency-exceeded" | "REP-SEM-010" => bugs.concurrency_exceeded = true,
            "cancel-ignored" | "REP-SEM-011" => bugs.cancel_ignored = true,
            "attempt-always-1" | "REP-SEM-012" => bugs.attempt_always_1 = true,
            "REP-LIF-002" => bugs.switch_fails = true,
            _ => {}
        }
        bugs
    }
}

/// One planned event: its simulated time (ms from the run's start) and the event without its
/// timestamp.
#[derive(Debug, Clone, PartialEq)]
pub struct Planned {
    /// When, in ms from StartRun.
    pub at: u64,
    /// The event (`type`, …), stamped when planned.
    pub event: Value,
}

/// A planned run.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// Step events in time order (ties in planning order).
    pub events: Vec<Planned>,
    /// When the run ends, in ms.
    pub end: u64,
    /// `completed` or `failed`.
    pub status: &'static str,
    /// Steps that succeeded.
    pub completed_steps: u64,
    /// Steps whose last attempt failed.
    pub failed_steps: u64,
    /// What each `dsl.emit` wrote to `summary.outputs`, and when.
    pub outputs: Vec<(u64, Map<String, Value>)>,
}

struct Node {
    id: String,
    kind: String,
    with: Map<String, Value>,
    timeout_ms: u64,
    retry_max: u64,
    backoff_ms: u64,
}

struct Edge {
    from: usize,
    to: usize,
    failure: bool,
    case: Option<String>,
}

/// How a started node ends.
struct Started {
    node: usize,
    end: u64,
    ok: bool,
    output: Value,
    /// The switch's chosen case.
    chosen: Option<String>,
    /// Index in `events` of each attempt's end event, with the attempt's start time.
    attempt_ends: Vec<(u64, usize)>,
}

/// Plans the run of `ir` with `inputs`: at most `limit` nodes at once.
pub fn plan(ir: &Map<String, Value>, inputs: &Value, limit: usize, bugs: Bugs) -> Plan {
    let empty = Vec::new();
    let graph = ir.get("graph");
    let raw_nodes = graph
        .and_then(|g| g.get("nodes"))
        .and_then(Value::as_array)
        .unwrap_or(&empty);
    let nodes: Vec<Node> = raw_nodes.iter().map(parse_node).collect();
    let find = |id: &str| nodes.iter().position(|n| n.id == id);
    let edges: Vec<Edge> = graph
        .and_then(|g| g.get("edges"))
        .and_then(Value::as_array)
        .unwrap_or(&empty)
        .iter()
        .filter_map(|e| {
            Some(Edge {
                from: find(e.get("from")?.as_str()?)?,
                to: find(e.get("to")?.as_str()?)?,
                failure: e.get("on").and_then(Value::as_str) == Some("failure"),
                case: e.get("case").and_then(Value::as_str).map(str::to_owned),
            })
        })
        .collect();
    let mut sim = Sim {
        nodes: &nodes,
        edges: &edges,
        inputs,
        bugs,
        events: Vec::new(),
        outputs: Vec::new(),
        step_outputs: vec![None; nodes.len()],
        remaining: vec![0; nodes.len()],
        activated: vec![false; nodes.len()],
        ready: VecDeque::new(),
        completed: 0,
        failed: 0,
    };
    for edge in &edges {
        sim.remaining[edge.to] += 1;
    }
    sim.ready = (0..nodes.len())
        .filter(|&i| sim.remaining[i] == 0)
        .collect();
    let mut running: Vec<Started> = Vec::new();
    let (mut t, mut stopped, mut status) = (0, false, "completed");
    loop {
        while !stopped && (bugs.concurrency_exceeded || running.len() < limit.max(1)) {
            let Some(i) = sim.ready.pop_front() else {
                break;
            };
            running.push(sim.start(i, t));
        }
        // The next node to end: the earliest end, then the earliest started.
        let Some(next) = (0..running.len()).min_by_key(|&k| running[k].end) else {
            break;
        };
        let done = running.remove(next);
        t = done.end;
        let node = &nodes[done.node];
        if done.ok {
            sim.completed += 1;
            sim.step_outputs[done.node] = Some(done.output.clone());
            if node.kind == "dsl.emit"
                && let Value::Object(map) = &done.output
            {
                sim.outputs.push((t, map.clone()));
            }
            if node.kind == "finish" && !bugs.finish_ignored {
                stopped = true;
            }
        } else {
            sim.failed += 1;
        }
        let has_failure_edge = edges.iter().any(|e| e.from == done.node && e.failure);
        if !done.ok && !has_failure_edge {
            stopped = true;
            status = "failed";
            for other in running.drain(..) {
                sim.cut(&other, t);
            }
            continue;
        }
        let mut first_taken = true;
        for (e, edge) in edges.iter().enumerate() {
            if edge.from != done.node {
                continue;
            }
            let mut taken = if edge.failure {
                !done.ok || bugs.failure_edge_on_success
            } else {
                done.ok
                    && match (&done.chosen, &edge.case) {
                        (Some(chosen), Some(case)) => chosen == case,
                        (Some(_), None) => false,
                        (None, _) => true,
                    }
            };
            if taken && !edge.failure && bugs.first_edge_only {
                taken = first_taken;
                first_taken = false;
            }
            sim.decide(e, taken);
        }
    }
    sim.events.retain(|p| p.at != DROPPED);
    let end = sim.events.iter().map(|p| p.at).max().unwrap_or(0).max(t);
    sim.events.sort_by_key(|p| p.at);
    Plan {
        events: sim.events,
        end,
        status,
        completed_steps: sim.completed,
        failed_steps: sim.failed,
        outputs: sim.outputs,
    }
}

struct Sim<'a> {
    nodes: &'a [Node],
    edges: &'a [Edge],
    inputs: &'a Value,
    bugs: Bugs,
    events: Vec<Planned>,
    outputs: Vec<(u64, Map<String, Value>)>,
    step_outputs: Vec<Option<Value>>,
    remaining: Vec<usize>,
    activated: Vec<bool>,
    ready: VecDeque<usize>,
    completed: u64,
    failed: u64,
}

impl Sim<'_> {
    fn event(&mut self, at: u64, id: &str, state: &str, attempt: u64) -> usize {
        let attempt = if self.bugs.attempt_always_1 {
            1
        } else {
            attempt
        };
        self.events.push(Planned {
            at,
            event: json!({"type": "step", "step_id": id, "state": state, "attempt": attempt}),
        });
        self.events.len() - 1
    }

    /// Starts node `i` at `t`: plans its attempts.
    fn start(&mut self, i: usize, t: u64) -> Started {
        let node = &self.nodes[i];
        let mock = node.with.get("_mock");
        let mock_fail = mock.and_then(|m| m.get("fail")) == Some(&json!(true));
        let mock_delay = mock
            .and_then(|m| m.get("delay_ms"))
            .and_then(Value::as_u64)
            .unwrap_or(0);
        let mut started = Started {
            node: i,
            end: t,
            ok: true,
            output: json!({}),
            chosen: None,
            attempt_ends: Vec::new(),
        };
        match node.kind.as_str() {
            "rep.probe" => return self.probe(i, t),
            "switch" => {
                let key = self.resolve(node.with.get("key_from").unwrap_or(&Value::Null));
                let cases = node.with.get("cases").and_then(Value::as_object);
                let default = node.with.get("default").and_then(Value::as_str);
                let chosen = match (key, cases) {
                    (Value::String(k), Some(c))
                        if c.contains_key(&k) && !self.bugs.switch_default_only =>
                    {
                        Some(k)
                    }
                    (_, Some(c)) => default.filter(|d| c.contains_key(*d)).map(str::to_owned),
                    _ => None,
                };
                started.ok = chosen.is_some() && !self.bugs.switch_fails;
                started.chosen = chosen;
            }
            "dsl.emit" => {
                started.output = if self.bugs.emit_unresolved {
                    Value::Object(node.with.clone())
                } else {
                    self.resolve(&Value::Object(node.with.clone()))
                };
                if let Value::Object(map) = &mut started.output {
                    map.remove("_mock");
                }
            }
            _ => {}
        }
        if mock_fail {
            started.ok = false;
        }
        started.end = t + mock_delay;
        let id = node.id.clone();
        self.event(t, &id, "started", 1);
        let state = if started.ok { "succeeded" } else { "failed" };
        let end = self.event(started.end, &id, state, 1);
        started.attempt_ends.push((t, end));
        started
    }

    /// Plans the attempts of the `rep.probe` node `i` from `t` (docs/protocol.md).
    fn probe(&mut self, i: usize, t: u64) -> Started {
        let node = &self.nodes[i];
        let with = match self.resolve(&Value::Object(node.with.clone())) {
            Value::Object(map) => map,
            _ => Map::new(),
        };
        let count = |key: &str| match with.get(key) {
            None | Some(Value::Null) => Some(0),
            Some(v) => v.as_u64(),
        };
        let fail = match with.get("fail") {
            None | Some(Value::Null) => Some(false),
            Some(v) => v.as_bool(),
        };
        let (Some(delay), Some(fail_times), Some(fail)) =
            (count("delay_ms"), count("fail_times"), fail)
        else {
            // A mistyped with: the attempt fails, not retried.
            let id = node.id.clone();
            self.event(t, &id, "started", 1);
            let end = self.event(t, &id, "failed", 1);
            return Started {
                node: i,
                end: t,
                ok: false,
                output: Value::Null,
                chosen: None,
                attempt_ends: vec![(t, end)],
            };
        };
        let times_out =
            node.timeout_ms > 0 && delay >= node.timeout_ms && !self.bugs.timeout_ignored;
        let duration = if times_out { node.timeout_ms } else { delay };
        let mut allowed = node.retry_max.saturating_add(1).min(MAX_ATTEMPTS);
        if self.bugs.retry_short && allowed > 1 {
            allowed -= 1;
        }
        let backoff = if self.bugs.backoff_ignored {
            0
        } else {
            node.backoff_ms
        };
        let id = node.id.clone();
        let mut at = t;
        let mut attempt_ends = Vec::new();
        for attempt in 1..=allowed {
            self.event(at, &id, "started", attempt);
            let end = at + duration;
            let (ok, retriable) = if times_out {
                (false, true)
            } else if fail {
                (false, false)
            } else {
                (attempt > fail_times, true)
            };
            let state = if ok { "succeeded" } else { "failed" };
            let index = self.event(end, &id, state, attempt);
            attempt_ends.push((at, index));
            if ok || !retriable || attempt == allowed {
                let output = with
                    .get("output")
                    .filter(|v| !v.is_null())
                    .cloned()
                    .unwrap_or(json!({}));
                return Started {
                    node: i,
                    end,
                    ok,
                    output,
                    chosen: None,
                    attempt_ends,
                };
            }
            at = end + backoff;
        }
        Started {
            node: i,
            end: at,
            ok: false,
            output: Value::Null,
            chosen: None,
            attempt_ends,
        }
    }

    /// Cuts the node `started` short at `t` (the run stopped): its attempt running at `t`
    /// fails then, later attempts never happen.
    fn cut(&mut self, started: &Started, t: u64) {
        for &(start, end_index) in &started.attempt_ends {
            if start > t {
                // Never started: both events go (removed once the plan is complete).
                self.events[end_index - 1].at = DROPPED;
                self.events[end_index].at = DROPPED;
            } else if self.events[end_index].at > t {
                self.events[end_index].at = t;
                self.events[end_index].event["state"] = json!("failed");
            }
        }
        self.failed += 1;
    }

    /// Edge `e` is decided: its target becomes ready or dead once all its edges are.
    fn decide(&mut self, e: usize, taken: bool) {
        let mut pending = vec![(e, taken)];
        while let Some((e, taken)) = pending.pop() {
            let to = self.edges[e].to;
            self.remaining[to] = self.remaining[to].saturating_sub(1);
            self.activated[to] |= taken;
            if taken && self.bugs.join_per_edge {
                self.ready.push_back(to);
                continue;
            }
            if self.remaining[to] == 0 {
                if self.activated[to] {
                    if !self.bugs.join_per_edge {
                        self.ready.push_back(to);
                    }
                } else {
                    pending.extend(
                        (0..self.edges.len())
                            .filter(|&o| self.edges[o].from == to)
                            .map(|o| (o, false)),
                    );
                }
            }
        }
    }

    /// Resolves the references of the Flow IR dialect in `value`.
    fn resolve(&self, value: &Value) -> Value {
        match value {
            Value::String(s) => self.reference(s).unwrap_or_else(|| value.clone()),
            Value::Array(items) => Value::Array(items.iter().map(|v| self.resolve(v)).collect()),
            Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(k, v)| (k.clone(), self.resolve(v)))
                    .collect(),
            ),
            other => other.clone(),
        }
    }

    fn reference(&self, s: &str) -> Option<Value> {
        if let Some(path) = s.strip_prefix("$input.") {
            return Some(walk(self.inputs, path));
        }
        let rest = s
            .strip_prefix("$step.")
            .or_else(|| s.strip_prefix("$.vars."))?;
        let (id, path) = rest.split_once('.').unwrap_or((rest, ""));
        let output = self
            .nodes
            .iter()
            .position(|n| n.id == id)
            .and_then(|i| self.step_outputs[i].as_ref());
        Some(match output {
            None => Value::Null,
            Some(output) if path.is_empty() => output.clone(),
            Some(output) => walk(output, path),
        })
    }
}

fn walk(value: &Value, path: &str) -> Value {
    path.split('.')
        .try_fold(value, |v, key| v.get(key))
        .cloned()
        .unwrap_or(Value::Null)
}

fn parse_node(value: &Value) -> Node {
    let int = |v: Option<&Value>| v.and_then(Value::as_u64).unwrap_or(0);
    Node {
        id: value
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned(),
        kind: value
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned(),
        with: value
            .get("with")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default(),
        timeout_ms: int(value.get("timeout_ms")),
        retry_max: int(value.pointer("/retry/max")),
        backoff_ms: int(value.pointer("/retry/backoff_ms")),
    }
}

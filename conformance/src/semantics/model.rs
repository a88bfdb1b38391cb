//! The reference model: what a run of a [`Case`] must end with, by the semantics of Flow IR
//! v1.0.0 as docs/flow-ir.md states them and the `rep.probe` contract (docs/protocol.md).
//! The one model of the semantics in this crate; the `REP-SEM-*` tests and `fuzz` compare
//! executors with it.
//!
//! The rules it implements:
//!
//! - **entry**: nodes without incoming edges run first;
//! - **edges**: when a node ends, its `success` edges are taken after a success, its `failure`
//!   edges after a failure; of a `switch`, only the edges of the chosen case;
//! - **joins** (docs/flow-ir.md \[clarified\]): a node runs once all its incoming edges are
//!   decided and at least one was taken; a node none of whose incoming edges was taken does not
//!   run, and its own edges are not taken;
//! - **retries**: `retry.max` extra attempts of a failed step while its failure is retriable;
//! - **timeouts**: an attempt lasting `timeout_ms` or more fails (retriable);
//! - **stops**: a step failing without a `failure` edge fails the run, `finish` completes it,
//!   `Runtime.Cancel` fails it; no step starts after a stop;
//! - **references** in `with` (`$input.<path>`, `$step.<id>[.<path>]`, `$.vars.<id>.<path>`),
//!   an unresolvable one is `null`; **outputs**: the union of the resolved `with` of the
//!   `dsl.emit` steps that ran.
//!
//! **Timing.** The model answers only what no schedule can change; anything else is
//! [`Indeterminate`] and is never generated, kept by the shrinker or asserted:
//!
//! - a stop (an unhandled failure, `finish`, the cancelled step) must be *sequential*: every
//!   other step that runs is an ancestor of it (ended before it started) or a descendant (never
//!   starts). Otherwise which steps of a parallel branch ran before the stop is a race;
//! - a probe with a `timeout_ms` must miss or exceed it by [`TIMING_MARGIN_MS`] (1 s): a
//!   timeout that fires is ≥ 1 s shorter than the delay, one that must not fire ≥ 1 s longer,
//!   so a loaded machine cannot turn one into the other;
//! - the cancelled step lasts at least [`CANCEL_DELAY_MS`] (2 s), without a timeout: the host
//!   sees it start and cancels long before it could end on its own;
//! - references name ancestors only (whose outputs exist, or not, before the step starts), and
//!   only `rep.probe` outputs (the output of `switch`, `finish` and `dsl.emit` is the
//!   executor's choice); no path walks into an array, no `switch` key is anything but a string
//!   or `null`, no two emits write the same output key.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use flow_ir::{EdgeOn, Node};
use serde_json::{Map, Value};

use crate::semantics::case::{Case, EMIT, FINISH, PROBE, SWITCH};

/// How far a probe's delay must be from its `timeout_ms` for the outcome not to depend on
/// timing, in ms.
pub const TIMING_MARGIN_MS: u64 = 1000;

/// The shortest delay of a cancelled probe, in ms.
pub const CANCEL_DELAY_MS: u64 = 2000;

/// How a run ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    /// `completed`.
    Completed,
    /// `failed`.
    Failed,
}

impl Status {
    /// `completed` or `failed`.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Completed => "completed",
            Status::Failed => "failed",
        }
    }
}

/// What became of one node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// No attempt started.
    NotRun,
    /// The last of `attempts` attempts succeeded.
    Succeeded {
        /// Attempts started, ≥ 1.
        attempts: u32,
    },
    /// The last of `attempts` attempts failed (or was cancelled).
    Failed {
        /// Attempts started, ≥ 1.
        attempts: u32,
    },
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let plural = |n: u32| if n == 1 { "" } else { "s" };
        match self {
            Outcome::NotRun => f.write_str("not run"),
            Outcome::Succeeded { attempts } => {
                write!(f, "succeeded after {attempts} attempt{}", plural(*attempts))
            }
            Outcome::Failed { attempts } => {
                write!(f, "failed after {attempts} attempt{}", plural(*attempts))
            }
        }
    }
}

/// What ended the run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EndedBy {
    /// No step was left.
    Completion,
    /// This `finish` node.
    Finish(String),
    /// This step failed without a `failure` edge.
    Failure(String),
    /// `Runtime.Cancel` while this step ran.
    Cancel(String),
}

impl std::fmt::Display for EndedBy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EndedBy::Completion => f.write_str("no step left"),
            EndedBy::Finish(id) => write!(f, "{id} (finish)"),
            EndedBy::Failure(id) => write!(f, "{id} failing without a failure edge"),
            EndedBy::Cancel(id) => write!(f, "Runtime.Cancel while {id} runs"),
        }
    }
}

/// What a run of a case must end with.
#[derive(Debug, Clone, PartialEq)]
pub struct Expected {
    /// The final status.
    pub status: Status,
    /// Every node's outcome, by node id.
    pub steps: BTreeMap<String, Outcome>,
    /// `summary.outputs`: the union of the resolved `with` of the emits that ran.
    pub outputs: Map<String, Value>,
    /// What ended the run.
    pub ended_by: EndedBy,
}

/// Why the outcome of a case depends on timing or on a choice the specification leaves to
/// executors.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Indeterminate(pub String);

fn indeterminate<T>(message: impl Into<String>) -> Result<T, Indeterminate> {
    Err(Indeterminate(message.into()))
}

/// The graph, by node index.
pub struct Graph<'a> {
    /// Node index by id.
    pub index: HashMap<&'a str, usize>,
    /// Edge indexes entering each node.
    pub incoming: Vec<Vec<usize>>,
    /// Edge indexes leaving each node.
    pub outgoing: Vec<Vec<usize>>,
    /// Node indexes in a topological order (ties broken by document order).
    pub order: Vec<usize>,
    /// Every ancestor of each node (nodes with a path to it).
    pub ancestors: Vec<BTreeSet<usize>>,
}

impl<'a> Graph<'a> {
    /// The graph of `case`.
    ///
    /// # Errors
    /// Duplicate node ids, an edge naming no node, or a cycle.
    pub fn new(case: &'a Case) -> Result<Graph<'a>, Indeterminate> {
        let n = case.nodes.len();
        let mut index = HashMap::new();
        for (i, node) in case.nodes.iter().enumerate() {
            if index.insert(node.id.as_str(), i).is_some() {
                return indeterminate(format!("node id {:?} is not unique", node.id));
            }
        }
        let (mut incoming, mut outgoing) = (vec![Vec::new(); n], vec![Vec::new(); n]);
        for (e, edge) in case.edges.iter().enumerate() {
            let (Some(&from), Some(&to)) =
                (index.get(edge.from.as_str()), index.get(edge.to.as_str()))
            else {
                return indeterminate(format!("edge {} → {} names no node", edge.from, edge.to));
            };
            outgoing[from].push(e);
            incoming[to].push(e);
        }
        let mut pending: Vec<usize> = incoming.iter().map(Vec::len).collect();
        let mut ready: BTreeSet<usize> = (0..n).filter(|&i| pending[i] == 0).collect();
        let mut order = Vec::with_capacity(n);
        let mut ancestors = vec![BTreeSet::new(); n];
        while let Some(i) = ready.pop_first() {
            order.push(i);
            for &e in &outgoing[i] {
                let to = index[case.edges[e].to.as_str()];
                let mut inherited = ancestors[i].clone();
                inherited.insert(i);
                ancestors[to].extend(inherited);
                pending[to] -= 1;
                if pending[to] == 0 {
                    ready.insert(to);
                }
            }
        }
        if order.len() < n {
            return indeterminate("the graph has a cycle");
        }
        Ok(Graph {
            index,
            incoming,
            outgoing,
            order,
            ancestors,
        })
    }

    /// Whether node `a` is an ancestor of node `b`.
    pub fn is_ancestor(&self, a: usize, b: usize) -> bool {
        self.ancestors[b].contains(&a)
    }
}

/// How one node ended in the run without stops.
#[derive(Debug, Clone)]
struct Ran {
    outcome: Outcome,
    /// The output, for a success.
    output: Option<Value>,
    /// Whether this node stops the run, and how.
    stop: Option<EndedBy>,
}

/// What a run of `case` must end with.
///
/// # Errors
/// [`Indeterminate`]: the outcome would depend on timing or on a choice left to executors.
pub fn expect(case: &Case) -> Result<Expected, Indeterminate> {
    let graph = Graph::new(case)?;
    let n = case.nodes.len();
    if let Some(id) = &case.cancel_at {
        let Some(&i) = graph.index.get(id.as_str()) else {
            return indeterminate(format!("cancel_at {id:?} names no node"));
        };
        check_cancel_target(&case.nodes[i])?;
    }
    // The run as if nothing stopped it: with DPE every step's fate is schedule-independent.
    let mut taken: Vec<Option<bool>> = vec![None; case.edges.len()];
    let mut ran: Vec<Option<Ran>> = vec![None; n];
    for &i in &graph.order {
        let node = &case.nodes[i];
        let incoming = &graph.incoming[i];
        let runs = incoming.is_empty() || incoming.iter().any(|&e| taken[e] == Some(true));
        if !runs {
            for &e in &graph.outgoing[i] {
                taken[e] = Some(false);
            }
            continue;
        }
        let outputs: HashMap<usize, &Value> = ran
            .iter()
            .enumerate()
            .filter_map(|(j, r)| r.as_ref().and_then(|r| r.output.as_ref()).map(|o| (j, o)))
            .collect();
        let scope = Scope {
            case,
            graph: &graph,
            node: i,
            outputs: &outputs,
        };
        let cancelled = case.cancel_at.as_deref() == Some(node.id.as_str());
        let (mut result, chosen) = run_node(node, &scope)?;
        let failure_edges = graph.outgoing[i]
            .iter()
            .any(|&e| case.edges[e].on == EdgeOn::Failure);
        if cancelled {
            result = Ran {
                outcome: Outcome::Failed { attempts: 1 },
                output: None,
                stop: Some(EndedBy::Cancel(node.id.clone())),
            };
        } else if matches!(result.outcome, Outcome::Failed { .. }) && !failure_edges {
            result.stop = Some(EndedBy::Failure(node.id.clone()));
        }
        let succeeded = matches!(result.outcome, Outcome::Succeeded { .. });
        for &e in &graph.outgoing[i] {
            let edge = &case.edges[e];
            taken[e] = Some(match edge.on {
                EdgeOn::Success => {
                    succeeded
                        && chosen
                            .as_ref()
                            .is_none_or(|c| edge.case.as_ref() == Some(c))
                }
                EdgeOn::Failure => !succeeded,
            });
        }
        ran[i] = Some(result);
    }
    settle(case, &graph, ran)
}

/// Applies the first stop to the run without stops, after checking it is sequential.
fn settle(
    case: &Case,
    graph: &Graph<'_>,
    ran: Vec<Option<Ran>>,
) -> Result<Expected, Indeterminate> {
    let id = |i: usize| case.nodes[i].id.as_str();
    let executed: Vec<usize> = (0..ran.len()).filter(|&i| ran[i].is_some()).collect();
    let stops: Vec<usize> = executed
        .iter()
        .copied()
        .filter(|&i| ran[i].as_ref().is_some_and(|r| r.stop.is_some()))
        .collect();
    let first: Vec<usize> = stops
        .iter()
        .copied()
        .filter(|&s| !stops.iter().any(|&t| graph.is_ancestor(t, s)))
        .collect();
    let stop = match first.as_slice() {
        [] => None,
        [s] => Some(*s),
        [a, b, ..] => {
            return indeterminate(format!(
                "{} and {} may each end the run first",
                id(*a),
                id(*b)
            ));
        }
    };
    if let Some(s) = stop {
        for &r in &executed {
            if r != s && !graph.is_ancestor(r, s) && !graph.is_ancestor(s, r) {
                return indeterminate(format!(
                    "{} may run while {} ends the run (neither comes before the other)",
                    id(r),
                    id(s)
                ));
            }
        }
    }
    let keeps = |i: usize| stop.is_none_or(|s| i == s || graph.is_ancestor(i, s));
    let mut steps = BTreeMap::new();
    let mut outputs = Map::new();
    let mut writer: HashMap<String, usize> = HashMap::new();
    for (i, r) in ran.iter().enumerate() {
        let outcome = match r {
            Some(r) if keeps(i) => {
                if case.nodes[i].kind == EMIT
                    && let Some(Value::Object(map)) = &r.output
                {
                    for (key, value) in map {
                        if let Some(other) = writer.insert(key.clone(), i) {
                            return indeterminate(format!(
                                "emits {} and {} both write output {key:?}",
                                id(other),
                                id(i)
                            ));
                        }
                        outputs.insert(key.clone(), value.clone());
                    }
                }
                r.outcome
            }
            _ => Outcome::NotRun,
        };
        steps.insert(case.nodes[i].id.clone(), outcome);
    }
    let ended_by = stop
        .and_then(|s| ran[s].as_ref().and_then(|r| r.stop.clone()))
        .unwrap_or(EndedBy::Completion);
    let status = match ended_by {
        EndedBy::Completion | EndedBy::Finish(_) => Status::Completed,
        EndedBy::Failure(_) | EndedBy::Cancel(_) => Status::Failed,
    };
    Ok(Expected {
        status,
        steps,
        outputs,
        ended_by,
    })
}

fn check_cancel_target(node: &Node) -> Result<(), Indeterminate> {
    let delay = node
        .with
        .get("delay_ms")
        .and_then(Value::as_u64)
        .unwrap_or(0);
    if node.kind != PROBE || delay < CANCEL_DELAY_MS || node.timeout_ms != 0 {
        return indeterminate(format!(
            "the cancelled node {} must be a rep.probe with delay_ms ≥ {CANCEL_DELAY_MS} and no timeout_ms",
            node.id
        ));
    }
    Ok(())
}

/// Runs one node: its outcome and output, and for a `switch` the chosen case.
fn run_node(node: &Node, scope: &Scope<'_>) -> Result<(Ran, Option<String>), Indeterminate> {
    let with = scope.resolve_map(&node.with)?;
    let ok = |output: Value| Ran {
        outcome: Outcome::Succeeded { attempts: 1 },
        output: Some(output),
        stop: None,
    };
    match node.kind.as_str() {
        PROBE => Ok((probe(node, with)?, None)),
        SWITCH => {
            if node.timeout_ms != 0 && node.timeout_ms < TIMING_MARGIN_MS {
                return indeterminate(format!("switch {} has a timeout_ms under 1 s", node.id));
            }
            let chosen = choose_case(node, &with, scope)?;
            Ok((ok(Value::Null), Some(chosen)))
        }
        EMIT | FINISH => {
            if node.timeout_ms != 0 && node.timeout_ms < TIMING_MARGIN_MS {
                return indeterminate(format!("{} has a timeout_ms under 1 s", node.id));
            }
            let mut ran = ok(Value::Object(with));
            if node.kind == FINISH {
                ran.stop = Some(EndedBy::Finish(node.id.clone()));
            }
            Ok((ran, None))
        }
        other => indeterminate(format!("the model does not know step kind {other:?}")),
    }
}

/// The attempts of a `rep.probe` node (the contract of docs/protocol.md).
fn probe(node: &Node, with: Map<String, Value>) -> Result<Ran, Indeterminate> {
    let failed_once = Ran {
        outcome: Outcome::Failed { attempts: 1 },
        output: None,
        stop: None,
    };
    let count = |key: &str| match with.get(key) {
        None | Some(Value::Null) => Some(0),
        Some(v) => v.as_u64(),
    };
    let (Some(delay), Some(fail_times)) = (count("delay_ms"), count("fail_times")) else {
        return Ok(failed_once); // a mistyped with: the attempt fails, not retriable
    };
    let fail = match with.get("fail") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Ok(failed_once),
    };
    let timeout = node.timeout_ms;
    let times_out = timeout > 0 && delay >= timeout;
    if timeout > 0 && delay.abs_diff(timeout) < TIMING_MARGIN_MS {
        return indeterminate(format!(
            "probe {}: delay_ms {delay} is within {TIMING_MARGIN_MS} ms of timeout_ms {timeout}",
            node.id
        ));
    }
    let attempts = node.retry.max.saturating_add(1);
    for attempt in 1..=attempts {
        let (succeeded, retriable) = if times_out {
            (false, true)
        } else if fail {
            (false, false)
        } else if u64::from(attempt) <= fail_times {
            (false, true)
        } else {
            (true, true)
        };
        if succeeded {
            let output = with
                .get("output")
                .filter(|v| !v.is_null())
                .cloned()
                .unwrap_or_else(|| Value::Object(Map::new()));
            return Ok(Ran {
                outcome: Outcome::Succeeded { attempts: attempt },
                output: Some(output),
                stop: None,
            });
        }
        if !retriable {
            return Ok(Ran {
                outcome: Outcome::Failed { attempts: attempt },
                ..failed_once
            });
        }
    }
    Ok(Ran {
        outcome: Outcome::Failed { attempts },
        ..failed_once
    })
}

/// The case label a `switch` chooses: `cases[key]`, else `default`; checks that its edges
/// agree with `cases`.
fn choose_case(
    node: &Node,
    with: &Map<String, Value>,
    scope: &Scope<'_>,
) -> Result<String, Indeterminate> {
    let Some(Value::Object(cases)) = with.get("cases") else {
        return indeterminate(format!("switch {}: with.cases is not an object", node.id));
    };
    let key = match with.get("key_from") {
        Some(Value::String(s)) => Some(s.clone()),
        None | Some(Value::Null) => None,
        Some(other) => {
            return indeterminate(format!(
                "switch {}: the key {other} is not a string (its spelling as a case is the executor's choice)",
                node.id
            ));
        }
    };
    let chosen = match key {
        Some(key) if cases.contains_key(&key) => key,
        _ => match with.get("default") {
            Some(Value::String(d)) if cases.contains_key(d) => d.clone(),
            _ => {
                return indeterminate(format!(
                    "switch {}: no case matches and there is no usable default",
                    node.id
                ));
            }
        },
    };
    let i = scope.node;
    let edges = &scope.case.edges;
    let mut chosen_has_edge = false;
    for &e in &scope.graph.outgoing[i] {
        let edge = &edges[e];
        if edge.on == EdgeOn::Failure {
            continue;
        }
        let Some(label) = &edge.case else {
            return indeterminate(format!("switch {}: an edge without case", node.id));
        };
        if cases.get(label).and_then(Value::as_str) != Some(edge.to.as_str()) {
            return indeterminate(format!(
                "switch {}: the edge of case {label:?} goes to {}, not to cases[{label:?}]",
                node.id, edge.to
            ));
        }
        chosen_has_edge |= *label == chosen;
    }
    if !chosen_has_edge {
        return indeterminate(format!(
            "switch {}: the chosen case {chosen:?} has no edge",
            node.id
        ));
    }
    Ok(chosen)
}

/// What references in one node's `with` can see.
struct Scope<'a> {
    case: &'a Case,
    graph: &'a Graph<'a>,
    node: usize,
    /// Outputs of the steps that succeeded, by node index.
    outputs: &'a HashMap<usize, &'a Value>,
}

impl Scope<'_> {
    fn resolve_map(&self, with: &Map<String, Value>) -> Result<Map<String, Value>, Indeterminate> {
        with.iter()
            .map(|(k, v)| Ok((k.clone(), self.resolve(v)?)))
            .collect()
    }

    fn resolve(&self, value: &Value) -> Result<Value, Indeterminate> {
        match value {
            Value::String(s) if s.starts_with('$') => self.reference(s),
            Value::Array(items) => items.iter().map(|v| self.resolve(v)).collect(),
            Value::Object(map) => Ok(Value::Object(self.resolve_map(map)?)),
            other => Ok(other.clone()),
        }
    }

    fn reference(&self, s: &str) -> Result<Value, Indeterminate> {
        if let Some(path) = s.strip_prefix("$input.") {
            return walk(&Value::Object(self.case.inputs.clone()), path, s);
        }
        let (rest, path_required) = match (s.strip_prefix("$step."), s.strip_prefix("$.vars.")) {
            (Some(rest), _) => (rest, false),
            (_, Some(rest)) => (rest, true),
            _ => return indeterminate(format!("{s:?} starts with $ but is no reference")),
        };
        let (id, path) = rest.split_once('.').unwrap_or((rest, ""));
        if path_required && path.is_empty() {
            return indeterminate(format!("{s:?}: $.vars.<id> needs a path"));
        }
        let Some(&j) = self.graph.index.get(id) else {
            return Ok(Value::Null);
        };
        if !self.graph.is_ancestor(j, self.node) {
            return indeterminate(format!(
                "{s:?} in {}: {id} is not an ancestor, so its output may or may not exist yet",
                self.case.nodes[self.node].id
            ));
        }
        if self.case.nodes[j].kind != PROBE {
            return indeterminate(format!(
                "{s:?}: the output of a {} step is the executor's choice",
                self.case.nodes[j].kind
            ));
        }
        match self.outputs.get(&j) {
            None => Ok(Value::Null),
            Some(output) if path.is_empty() => Ok((*output).clone()),
            Some(output) => walk(output, path, s),
        }
    }
}

/// Walks `path` (object keys separated by dots) from `value`; `null` where a key is missing.
fn walk(value: &Value, path: &str, reference: &str) -> Result<Value, Indeterminate> {
    let mut here = value;
    for key in path.split('.') {
        if key.is_empty() {
            return indeterminate(format!("{reference:?} has an empty path segment"));
        }
        match here {
            Value::Object(map) => match map.get(key) {
                Some(next) => here = next,
                None => return Ok(Value::Null),
            },
            Value::Array(_) => {
                return indeterminate(format!("{reference:?} walks into an array"));
            }
            _ => return Ok(Value::Null),
        }
    }
    Ok(here.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::semantics::case::{
        case, failure, node, probe as p, retried, success, switch, timed,
    };
    use serde_json::json;

    fn steps(expected: &Expected) -> Vec<(String, Outcome)> {
        expected
            .steps
            .iter()
            .map(|(k, v)| (k.clone(), *v))
            .collect()
    }

    fn ok(attempts: u32) -> Outcome {
        Outcome::Succeeded { attempts }
    }

    fn failed(attempts: u32) -> Outcome {
        Outcome::Failed { attempts }
    }

    #[test]
    fn retries_are_extra_attempts_while_the_failure_is_retriable() {
        let run = |with: Value, max| {
            expect(&Case::new("t", vec![retried(p("a", with), max, 5)], vec![])).unwrap()
        };
        let enough = run(json!({"fail_times": 2}), 2);
        assert_eq!(
            (enough.status, enough.steps["a"]),
            (Status::Completed, ok(3))
        );
        let short = run(json!({"fail_times": 3}), 2);
        assert_eq!(
            (short.status, short.steps["a"]),
            (Status::Failed, failed(3))
        );
        assert_eq!(short.ended_by, EndedBy::Failure("a".into()));
        let not_retriable = run(json!({"fail": true, "fail_times": 0}), 4);
        assert_eq!(not_retriable.steps["a"], failed(1));
        // A mistyped with fails once, as the probe contract says.
        assert_eq!(run(json!({"delay_ms": "1"}), 3).steps["a"], failed(1));
    }

    #[test]
    fn a_timeout_fails_every_attempt_and_a_near_one_is_indeterminate() {
        let case = |delay: u64, timeout: u64| {
            Case::new(
                "t",
                vec![
                    retried(timed(p("a", json!({"delay_ms": delay})), timeout), 1, 0),
                    p("b", json!({})),
                ],
                vec![failure("a", "b")],
            )
        };
        let fired = expect(&case(3000, 100)).unwrap();
        assert_eq!(fired.steps["a"], failed(2));
        assert_eq!(fired.steps["b"], ok(1));
        assert_eq!(fired.status, Status::Completed);
        assert_eq!(expect(&case(10, 30_000)).unwrap().steps["a"], ok(1));
        assert!(
            expect(&case(0, 100))
                .unwrap_err()
                .0
                .contains("within 1000 ms")
        );
        assert!(expect(&case(900, 100)).is_err());
    }

    #[test]
    fn edges_follow_the_outcome_and_an_unhandled_failure_fails_the_run() {
        let case = |fail: bool| {
            Case::new(
                "t",
                vec![
                    p("a", json!({"fail": fail})),
                    p("ok", json!({})),
                    p("ko", json!({})),
                ],
                vec![success("a", "ok"), failure("a", "ko")],
            )
        };
        let good = expect(&case(false)).unwrap();
        assert_eq!(
            steps(&good),
            [
                ("a".into(), ok(1)),
                ("ko".into(), Outcome::NotRun),
                ("ok".into(), ok(1))
            ]
        );
        let bad = expect(&case(true)).unwrap();
        assert_eq!(
            (bad.steps["ok"], bad.steps["ko"], bad.status),
            (Outcome::NotRun, ok(1), Status::Completed)
        );
        let unhandled = Case::new(
            "t",
            vec![p("a", json!({"fail": true})), p("b", json!({}))],
            vec![success("a", "b")],
        );
        let expected = expect(&unhandled).unwrap();
        assert_eq!(
            (expected.status, expected.steps["b"]),
            (Status::Failed, Outcome::NotRun)
        );
    }

    #[test]
    fn a_switch_takes_the_matching_case_else_the_default_and_references_resolve() {
        let case = |route: Value| {
            Case::new(
                "t",
                vec![
                    p("pick", json!({"output": {"route": "$input.route"}})),
                    switch("s", "$.vars.pick.route", &[("a", "x"), ("_D", "y")], "_D"),
                    p("x", json!({})),
                    p("y", json!({})),
                ],
                vec![
                    success("pick", "s"),
                    case("s", "x", "a"),
                    case("s", "y", "_D"),
                ],
            )
            .with_inputs(json!({"route": route}))
        };
        let a = expect(&case(json!("a"))).unwrap();
        assert_eq!((a.steps["x"], a.steps["y"]), (ok(1), Outcome::NotRun));
        for other in [json!("b"), Value::Null] {
            let d = expect(&case(other)).unwrap();
            assert_eq!((d.steps["x"], d.steps["y"]), (Outcome::NotRun, ok(1)));
        }
        assert!(
            expect(&case(json!(1)))
                .unwrap_err()
                .0
                .contains("not a string")
        );
    }

    #[test]
    fn finish_completes_the_run_and_its_successors_never_start() {
        let case = Case::new(
            "t",
            vec![
                p("a", json!({})),
                node("done", FINISH, json!({})),
                p("after", json!({"fail": true})),
            ],
            vec![success("a", "done"), success("done", "after")],
        );
        let expected = expect(&case).unwrap();
        assert_eq!(expected.status, Status::Completed);
        assert_eq!(expected.steps["after"], Outcome::NotRun);
        assert_eq!(expected.ended_by, EndedBy::Finish("done".into()));
    }

    #[test]
    fn a_join_runs_once_after_the_taken_paths_and_dead_paths_propagate() {
        // a → b, a → c (failure), b → j, c → j: c is dead, j still runs (once, after b).
        let case = Case::new(
            "t",
            vec![
                p("a", json!({})),
                p("b", json!({})),
                p("c", json!({})),
                p("j", json!({})),
                p("k", json!({})),
            ],
            vec![
                success("a", "b"),
                failure("a", "c"),
                success("b", "j"),
                success("c", "j"),
                success("c", "k"),
            ],
        );
        let expected = expect(&case).unwrap();
        assert_eq!(expected.steps["j"], ok(1));
        assert_eq!(expected.steps["c"], Outcome::NotRun);
        assert_eq!(expected.steps["k"], Outcome::NotRun, "dead paths propagate");
    }

    #[test]
    fn emits_write_resolved_outputs_and_unresolvable_references_are_null() {
        let case = Case::new(
            "t",
            vec![
                p("a", json!({"output": {"v": [1, {"w": "$input.k"}], "s": "x"}})),
                p("dead", json!({})),
                node(
                    "e",
                    EMIT,
                    json!({"e_whole": "$step.a", "e_v": "$step.a.s", "e_missing": "$step.a.nope", "e_dead": "$step.dead.x", "e_none": "$step.nosuch", "e_nested": {"n": ["$input.k"]}}),
                ),
            ],
            vec![success("a", "e"), failure("a", "dead"), success("dead", "e")],
        )
        .with_inputs(json!({"k": "K"}));
        let expected = expect(&case).unwrap();
        assert_eq!(
            Value::Object(expected.outputs),
            json!({"e_whole": {"v": [1, {"w": "K"}], "s": "x"}, "e_v": "x", "e_missing": null, "e_dead": null, "e_none": null, "e_nested": {"n": ["K"]}})
        );
    }

    #[test]
    fn a_cancel_fails_the_running_step_once_and_stops_the_run() {
        let case = Case::new(
            "t",
            vec![
                p("a", json!({})),
                retried(p("h", json!({"delay_ms": 5000, "fail_times": 3})), 3, 0),
                p("b", json!({})),
            ],
            vec![success("a", "h"), success("h", "b"), failure("h", "b")],
        )
        .cancelled_at("h");
        let expected = expect(&case).unwrap();
        assert_eq!(expected.status, Status::Failed);
        assert_eq!(
            steps(&expected),
            [
                ("a".into(), ok(1)),
                ("b".into(), Outcome::NotRun),
                ("h".into(), failed(1))
            ]
        );
        let short =
            Case::new("t", vec![p("h", json!({"delay_ms": 500}))], vec![]).cancelled_at("h");
        assert!(expect(&short).is_err());
    }

    #[test]
    fn races_are_indeterminate() {
        // A failure in one branch while the other runs.
        let parallel = Case::new(
            "t",
            vec![
                p("a", json!({})),
                p("x", json!({"fail": true})),
                p("y", json!({})),
            ],
            vec![success("a", "x"), success("a", "y")],
        );
        assert!(
            expect(&parallel)
                .unwrap_err()
                .0
                .contains("may run while x ends the run")
        );
        // Two finishes in parallel.
        let two = Case::new(
            "t",
            vec![node("f", FINISH, json!({})), node("g", FINISH, json!({}))],
            vec![],
        );
        assert!(
            expect(&two)
                .unwrap_err()
                .0
                .contains("may each end the run first")
        );
        // A reference to a node of another branch.
        let sideways = Case::new(
            "t",
            vec![
                p("a", json!({})),
                p("b", json!({"output": {"v": "$step.a.v"}})),
            ],
            vec![],
        );
        assert!(expect(&sideways).unwrap_err().0.contains("not an ancestor"));
        // Parallel branches without stops are fine.
        let fine = Case::new(
            "t",
            vec![
                p("a", json!({})),
                p("x", json!({"fail": true})),
                p("y", json!({})),
                p("h", json!({})),
            ],
            vec![success("a", "x"), success("a", "y"), failure("x", "h")],
        );
        assert_eq!(expect(&fine).unwrap().status, Status::Completed);
    }

    #[test]
    fn outputs_written_twice_and_switches_that_disagree_with_their_edges_are_indeterminate() {
        let twice = Case::new(
            "t",
            vec![
                node("e", EMIT, json!({"k": 1})),
                node("f", EMIT, json!({"k": 2})),
            ],
            vec![success("e", "f")],
        );
        assert!(expect(&twice).unwrap_err().0.contains("both write output"));
        let disagree = Case::new(
            "t",
            vec![
                switch("s", "$input.r", &[("a", "x")], "a"),
                p("x", json!({})),
                p("y", json!({})),
            ],
            vec![case("s", "y", "a")],
        );
        assert!(expect(&disagree).unwrap_err().0.contains("not to cases"));
    }
}

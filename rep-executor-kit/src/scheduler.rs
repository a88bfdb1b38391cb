//! The graph scheduler: runs a Flow IR graph in the reference compiler's dialect.
//!
//! Entry nodes are those without incoming edges. When a node ends, each of its outgoing edges
//! is *taken* or *not taken*: `success` edges after a success (for `switch`, only the edges of
//! the chosen case), `failure` edges after a failure. A node runs once all its incoming edges
//! are decided and at least one was taken; a node none of whose incoming edges was taken is
//! skipped and its own edges are not taken (dead-path elimination). So a join runs once, after
//! every predecessor on a taken path. Ready nodes run concurrently, at most `concurrency` at a
//! time. A failure without a `failure` edge fails the run; `finish` ends it successfully.
//!
//! The run stops early when `Runtime.Cancel` arrives (error 3001, cause `cancelled`), when
//! `flow.timeout_ms` (0 = none) expires (error 2001, cause `timeout`), or when a step fails
//! without a `failure` edge (that step's error). Stopping starts no new step and cancels the
//! token of every running step; each gets the cancellation grace to return (see `step.rs`),
//! and a step still running at twice the grace is aborted. The final status is set once every
//! step has ended, so the Poll that reports it also carries every event.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use flow_ir::{EdgeOn, FlowIr};
use rep_spec::{ErrorData, ErrorObject, codes};
use serde_json::{Map, Value, json};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::handler::{FailureCause, StepContext, StepError};
use crate::resolve::{Scope, resolve_map};
use crate::run::RunHandle;
use crate::step::{Step, panicked};
use crate::{BUILTIN_FINISH, BUILTIN_SWITCH, HandlerTable, OUTPUT_STEP_KIND};

/// Everything one run needs.
pub(crate) struct RunJob {
    pub run: Arc<RunHandle>,
    pub flow: Arc<FlowIr>,
    pub inputs: Arc<Map<String, Value>>,
    pub handlers: Arc<HandlerTable>,
    pub concurrency: usize,
    /// How long a handler may run on after its token fired.
    pub grace: Duration,
}

struct Graph {
    out_edges: Vec<Vec<usize>>,
    in_count: Vec<usize>,
    target: Vec<usize>,
}

impl Graph {
    fn new(flow: &FlowIr) -> Graph {
        let index: HashMap<&str, usize> = flow
            .graph
            .nodes
            .iter()
            .enumerate()
            .map(|(i, n)| (n.id.as_str(), i))
            .collect();
        let n = flow.graph.nodes.len();
        let mut out_edges = vec![Vec::new(); n];
        let mut in_count = vec![0; n];
        let mut target = Vec::with_capacity(flow.graph.edges.len());
        for (e, edge) in flow.graph.edges.iter().enumerate() {
            // Validation guarantees both ends exist.
            let (from, to) = (index[edge.from.as_str()], index[edge.to.as_str()]);
            out_edges[from].push(e);
            in_count[to] += 1;
            target.push(to);
        }
        Graph {
            out_edges,
            in_count,
            target,
        }
    }
}

/// Runs the flow to its end, recording events and the final status in `job.run`.
pub(crate) async fn execute(job: RunJob) {
    let RunJob {
        run,
        flow,
        inputs,
        handlers,
        concurrency,
        grace,
    } = job;
    run.set_running();
    let graph = Graph::new(&flow);
    let nodes = &flow.graph.nodes;
    let mut remaining = graph.in_count.clone();
    let mut activated = vec![false; nodes.len()];
    let mut ready: VecDeque<usize> = (0..nodes.len())
        .filter(|&i| graph.in_count[i] == 0)
        .collect();
    let mut outputs: HashMap<String, Value> = HashMap::new();
    let mut tasks: JoinSet<(usize, Result<Value, ErrorObject>)> = JoinSet::new();
    let mut running: HashMap<tokio::task::Id, usize> = HashMap::new();
    // Cancelled by Runtime.Cancel (it is a child of the run's token) and whenever the run
    // stops for another reason; every step's token is a child of it.
    let stop = run.cancellation().child_token();
    let flow_deadline = (flow.flow.timeout_ms > 0)
        .then(|| Instant::now() + Duration::from_millis(flow.flow.timeout_ms));
    // Once stopping: when to abort the steps that outlived their grace (a safety net; steps
    // end themselves within the grace).
    let mut abort_at: Option<Instant> = None;
    let mut failure: Option<ErrorObject> = None;
    let mut finished = false;

    loop {
        while failure.is_none()
            && !finished
            && !stop.is_cancelled()
            && tasks.len() < concurrency.max(1)
        {
            let Some(i) = ready.pop_front() else { break };
            let node = &nodes[i];
            let with = resolve_map(
                &node.with,
                &Scope {
                    inputs: &inputs,
                    steps: &outputs,
                },
            );
            let ctx = StepContext {
                run: run.clone(),
                flow: flow.clone(),
                inputs: inputs.clone(),
                step_id: Arc::from(node.id.as_str()),
                attempt: 1,
                cancel: stop.child_token(),
            };
            let step = Step {
                flow: flow.clone(),
                index: i,
                handlers: handlers.clone(),
                grace,
            };
            let handle = tasks.spawn(async move { (i, step.run(ctx, with).await) });
            running.insert(handle.id(), i);
        }
        if tasks.is_empty() {
            if failure.is_none() && run.cancellation().is_cancelled() {
                failure = Some(cancelled_error());
            }
            break;
        }
        let joined = tokio::select! {
            // Biased: a cancel or a deadline wins over a step that ended at the same moment,
            // so the run's error names the real reason.
            biased;
            () = run.cancellation().cancelled(), if failure.is_none() => {
                failure = Some(cancelled_error());
                abort_at = Some(stop_steps(&stop, grace));
                continue;
            }
            () = sleep_until_some(flow_deadline), if failure.is_none() && flow_deadline.is_some() => {
                failure = Some(flow_timeout_error(flow.flow.timeout_ms));
                abort_at = Some(stop_steps(&stop, grace));
                continue;
            }
            () = sleep_until_some(abort_at), if abort_at.is_some() => {
                abort_at = None;
                tasks.abort_all();
                continue;
            }
            joined = tasks.join_next_with_id() => joined,
        };
        let (i, result) = match joined {
            Some(Ok((id, (i, result)))) => {
                running.remove(&id);
                (i, result)
            }
            Some(Err(join_error)) => {
                let Some(i) = running.remove(&join_error.id()) else {
                    continue;
                };
                if join_error.is_cancelled() {
                    let error = StepError::cancelled(format!(
                        "step {:?} aborted: it outlived the cancellation grace",
                        nodes[i].id
                    ))
                    .to_error_object(&nodes[i].id, 0);
                    run.attempt_failed(&nodes[i].id, 0, 0, &error, true);
                    continue;
                }
                // Step::run catches handler panics; this is a panic of the kit itself.
                let payload = join_error.into_panic();
                let error = panicked(&*payload).to_error_object(&nodes[i].id, 0);
                run.attempt_failed(&nodes[i].id, 0, 0, &error, true);
                (i, Err(error))
            }
            None => break,
        };
        let node = &nodes[i];
        match result {
            Ok(output) => {
                if node.kind == OUTPUT_STEP_KIND {
                    run.add_outputs(&output);
                }
                let chosen_case = (node.kind == BUILTIN_SWITCH)
                    .then(|| {
                        output
                            .get("case")
                            .and_then(Value::as_str)
                            .map(str::to_owned)
                    })
                    .flatten();
                let chosen_target = output
                    .get("target")
                    .and_then(Value::as_str)
                    .map(str::to_owned);
                if node.kind == BUILTIN_FINISH {
                    finished = true;
                }
                for &e in &graph.out_edges[i] {
                    let edge = &flow.graph.edges[e];
                    let taken = edge.on == EdgeOn::Success
                        && (node.kind != BUILTIN_SWITCH
                            || match &edge.case {
                                Some(case) => Some(case) == chosen_case.as_ref(),
                                None => Some(&edge.to) == chosen_target.as_ref(),
                            });
                    decide(e, taken, &graph, &mut remaining, &mut activated, &mut ready);
                }
                outputs.insert(node.id.clone(), output);
            }
            Err(error) => {
                let has_failure_edge = graph.out_edges[i]
                    .iter()
                    .any(|&e| flow.graph.edges[e].on == EdgeOn::Failure);
                if !has_failure_edge || stop.is_cancelled() {
                    if failure.is_none() {
                        failure = Some(error);
                        abort_at = Some(stop_steps(&stop, grace));
                    }
                    continue;
                }
                for &e in &graph.out_edges[i] {
                    let taken = flow.graph.edges[e].on == EdgeOn::Failure;
                    decide(e, taken, &graph, &mut remaining, &mut activated, &mut ready);
                }
            }
        }
    }
    run.finish(failure);
}

/// Cancels every running step's token; returns when to abort those still running (twice the
/// grace, so that a step ending at its grace is not cut short).
fn stop_steps(stop: &CancellationToken, grace: Duration) -> Instant {
    stop.cancel();
    Instant::now() + grace * 2 + Duration::from_millis(50)
}

/// Sleeps until `deadline`, forever when `None`.
async fn sleep_until_some(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline.into()).await,
        None => std::future::pending().await,
    }
}

/// Records that edge `e` is taken or not, and makes its target ready or dead once all its
/// incoming edges are decided. Dead nodes propagate "not taken" to their own edges.
fn decide(
    e: usize,
    taken: bool,
    graph: &Graph,
    remaining: &mut [usize],
    activated: &mut [bool],
    ready: &mut VecDeque<usize>,
) {
    let mut pending = vec![(e, taken)];
    while let Some((e, taken)) = pending.pop() {
        let to = graph.target[e];
        remaining[to] -= 1;
        activated[to] |= taken;
        if remaining[to] == 0 {
            if activated[to] {
                ready.push_back(to);
            } else {
                pending.extend(graph.out_edges[to].iter().map(|&e| (e, false)));
            }
        }
    }
}

/// The run's error after `Runtime.Cancel`: 3001, `data.cause` = `cancelled`.
fn cancelled_error() -> ErrorObject {
    let mut data = ErrorData {
        retriable: Some(false),
        ..ErrorData::default()
    };
    data.extra
        .insert("cause".into(), json!(FailureCause::Cancelled.as_str()));
    ErrorObject::new(codes::TRANSPORT, "run cancelled").with_data(data)
}

/// The run's error when `flow.timeout_ms` expires: a step failure (2001) of the flow as a
/// whole, `data.cause` = `timeout`, `data.details.flow_timeout_ms`.
fn flow_timeout_error(timeout_ms: u64) -> ErrorObject {
    let mut data = ErrorData {
        retriable: Some(false),
        details: Some(json!({"flow_timeout_ms": timeout_ms})),
        ..ErrorData::default()
    };
    data.extra
        .insert("cause".into(), json!(FailureCause::Timeout.as_str()));
    ErrorObject::new(
        codes::STEP_FAILED,
        format!("flow timed out after {timeout_ms} ms"),
    )
    .with_data(data)
}

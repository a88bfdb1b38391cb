//! The graph scheduler: runs a Flow IR graph in the reference compiler's dialect.
//!
//! Entry nodes are those without incoming edges. When a node ends, each of its outgoing edges
//! is *taken* or *not taken*: `success` edges after a success (for `switch`, only the edges of
//! the chosen case), `failure` edges after a failure. A node runs once all its incoming edges
//! are decided and at least one was taken; a node none of whose incoming edges was taken is
//! skipped and its own edges are not taken (dead-path elimination). So a join runs once, after
//! every predecessor on a taken path. Ready nodes run concurrently, at most `concurrency` at a
//! time. A failure without a `failure` edge fails the run; `finish` ends it successfully.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use flow_ir::{EdgeOn, FlowIr, Node};
use rep_spec::{ErrorData, ErrorObject, codes};
use serde_json::{Map, Value, json};
use tokio::task::JoinSet;

use crate::handler::{StepContext, StepError};
use crate::resolve::{Scope, resolve_map};
use crate::run::RunHandle;
use crate::{BUILTIN_FINISH, BUILTIN_SWITCH, HandlerTable, OUTPUT_STEP_KIND};

/// Everything one run needs.
pub(crate) struct RunJob {
    pub run: Arc<RunHandle>,
    pub flow: Arc<FlowIr>,
    pub inputs: Arc<Map<String, Value>>,
    pub handlers: Arc<HandlerTable>,
    pub concurrency: usize,
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
    let mut failure: Option<ErrorObject> = None;
    let mut finished = false;

    loop {
        while failure.is_none() && !finished && tasks.len() < concurrency.max(1) {
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
                cancel: run.cancellation().child_token(),
            };
            let step = Step {
                node: node.clone(),
                handlers: handlers.clone(),
            };
            let handle = tasks.spawn(async move { (i, step.run(ctx, with).await) });
            running.insert(handle.id(), i);
        }
        if tasks.is_empty() {
            break;
        }
        let joined = tokio::select! {
            joined = tasks.join_next_with_id() => joined,
            () = run.cancellation().cancelled(), if failure.is_none() => {
                failure = Some(cancelled_error());
                tasks.abort_all();
                continue;
            }
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
                    continue;
                }
                let error = ErrorObject::new(
                    codes::INTERNAL,
                    format!("step handler panicked: {}", panic_message(join_error)),
                );
                run.attempt_failed(&nodes[i].id, 1, 0, &error, true);
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
                if !has_failure_edge {
                    failure.get_or_insert(error);
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

fn cancelled_error() -> ErrorObject {
    let mut data = ErrorData::default();
    data.extra.insert("cause".into(), json!("cancelled"));
    ErrorObject::new(codes::TRANSPORT, "run cancelled").with_data(data)
}

fn panic_message(error: tokio::task::JoinError) -> String {
    match error.try_into_panic() {
        Ok(payload) => payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "non-string panic payload".to_owned()),
        Err(e) => e.to_string(),
    }
}

/// One node's execution: attempts, timeouts and backoff around the handler.
struct Step {
    node: Node,
    handlers: Arc<HandlerTable>,
}

impl Step {
    async fn run(self, ctx: StepContext, with: Map<String, Value>) -> Result<Value, ErrorObject> {
        let attempts = self.node.retry.max.saturating_add(1);
        let mut attempt = 1;
        loop {
            let ctx = StepContext {
                attempt,
                ..ctx.clone()
            };
            ctx.run.step_started(&self.node.id, attempt);
            let started = Instant::now();
            let result = self.attempt(ctx.clone(), with.clone()).await;
            let duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
            match result {
                Ok(output) => {
                    ctx.run.step_succeeded(&self.node.id, attempt, duration_ms);
                    return Ok(output);
                }
                Err(error) => {
                    let last = attempt >= attempts
                        || error.retriable == Some(false)
                        || ctx.cancel.is_cancelled();
                    let object = error.to_error_object(&self.node.id, attempt);
                    ctx.run
                        .attempt_failed(&self.node.id, attempt, duration_ms, &object, last);
                    if last {
                        return Err(object);
                    }
                }
            }
            let backoff = Duration::from_millis(self.node.retry.backoff_ms);
            tokio::select! {
                () = tokio::time::sleep(backoff) => {}
                () = ctx.cancel.cancelled() => return Err(cancelled_error()),
            }
            attempt += 1;
        }
    }

    async fn attempt(
        &self,
        ctx: StepContext,
        with: Map<String, Value>,
    ) -> Result<Value, StepError> {
        let work = async {
            match self.node.kind.as_str() {
                BUILTIN_SWITCH => switch(&with),
                BUILTIN_FINISH => Ok(json!({})),
                kind => match self.handlers.get(kind) {
                    Some(handler) => handler.call(ctx.clone(), with).await,
                    None => Err(StepError::new(format!("no handler for step kind {kind:?}"))
                        .with_code(codes::UNSUPPORTED_STEP_KIND)
                        .not_retriable()),
                },
            }
        };
        if self.node.timeout_ms == 0 {
            return work.await;
        }
        match tokio::time::timeout(Duration::from_millis(self.node.timeout_ms), work).await {
            Ok(result) => result,
            Err(_) => {
                ctx.cancel.cancel();
                Err(
                    StepError::new(format!("step timed out after {} ms", self.node.timeout_ms))
                        .with_details(json!({"cause": "timeout"})),
                )
            }
        }
    }
}

/// The built-in `switch`: `with = { key_from, cases: { value: node id }, default }`, with
/// `key_from` already resolved. Output: `{ value, case, target }`.
fn switch(with: &Map<String, Value>) -> Result<Value, StepError> {
    let value = with.get("key_from").cloned().unwrap_or(Value::Null);
    let cases = with
        .get("cases")
        .and_then(Value::as_object)
        .ok_or_else(|| {
            StepError::new("switch: with.cases is missing or not an object").not_retriable()
        })?;
    let key = match &value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    };
    let case = match key {
        Some(key) if cases.contains_key(&key) => key,
        _ => match with.get("default").and_then(Value::as_str) {
            Some(default) if cases.contains_key(default) => default.to_owned(),
            _ => {
                return Err(StepError::new(format!(
                    "switch: no case matches {value} and there is no usable default"
                ))
                .not_retriable());
            }
        },
    };
    let target = cases.get(&case).cloned().unwrap_or(Value::Null);
    Ok(json!({"value": value, "case": case, "target": target}))
}

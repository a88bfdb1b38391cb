//! The graph scheduler: runs a Flow IR graph in the reference compiler's dialect
//! (docs/flow-ir.md, "The dialect the compiler emits") as a small state machine.
//!
//! Each node goes through these states; every transition is one method below.
//!
//! | state | when | next state |
//! | --- | --- | --- |
//! | waiting | its last incoming edge is decided, one was taken | ready ([`Frontier::decide`]) |
//! | waiting | its last incoming edge is decided, none was taken | skipped: its edges are decided not taken (dead-path elimination) |
//! | ready | a slot is free (`limits.concurrency`) and the run is going | running, attempt 1 ([`Scheduler::start_ready`]) |
//! | running | the attempt succeeded | done: its `success` edges are taken (a `switch`'s: its case's only), a `finish` ends the flow ([`Scheduler::succeeded`]) |
//! | running | the attempt failed, retriable, attempts left, the run going on | backing off for `retry.backoff_ms`, then running the next attempt ([`Scheduler::attempt_ended`]) |
//! | running | the attempt failed, no retry | done: its `failure` edges are taken; without one the run stops with its error ([`Scheduler::failed`]) |
//! | backing off | the run stops | done, failed: the retry is abandoned ([`Scheduler::stop`]) |
//!
//! A node in its backoff keeps its slot. The run itself is going, finishing (a `finish`
//! succeeded: no step starts any more) or stopping: on `Runtime.Cancel` (error 3001, cause
//! `cancelled`), when `flow.timeout_ms` (0 = none) expires (error 2001, cause `timeout`), or
//! when a step fails without a `failure` edge (that step's error). Stopping starts no step and
//! cancels every running attempt's token; each gets the cancellation grace to return (see
//! `step.rs`), and one still running at twice the grace is aborted. The final status is set
//! once every attempt has ended, so the Poll that reports it also carries every event.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use flow_ir::{FlowIr, Node};
use rep_spec::{ErrorData, ErrorObject, codes};
use serde_json::{Map, Value, json};
use tokio::task::{Id, JoinError, JoinSet};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::HandlerTable;
use crate::clock::elapsed_ms;
use crate::control::Route;
use crate::graph::{Frontier, Graph};
use crate::handler::{FailureCause, StepContext, StepError, StepResult};
use crate::resolve::{Scope, resolve_map};
use crate::run::RunHandle;
use crate::step::{Attempt, panicked};

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

/// Runs the flow to its end, recording events and the final status in `job.run`.
pub(crate) async fn execute(job: RunJob) {
    job.run.set_running();
    let mut scheduler = Scheduler::new(job);
    loop {
        scheduler.start_ready();
        let Some(event) = scheduler.next_event().await else {
            break;
        };
        scheduler.handle(event);
    }
    scheduler.end();
}

/// Where the run is.
enum Phase {
    /// Ready nodes start as slots free up.
    Going,
    /// A `finish` succeeded: no step starts; the run completes when the running ones end.
    Finishing,
    /// No step starts, running attempts are cancelled; the run fails with `error` once they
    /// ended. `abort_at`: when to abort those still running.
    Stopping {
        error: ErrorObject,
        abort_at: Option<Instant>,
    },
}

/// What the scheduler waits for.
enum Event {
    /// `Runtime.Cancel`.
    Cancelled,
    /// `flow.timeout_ms` expired.
    FlowTimedOut,
    /// Twice the grace since the run began stopping: abort what still runs.
    GraceOver,
    /// The earliest backoff is over.
    BackoffOver,
    /// An attempt's task returned.
    AttemptEnded {
        attempt: Running,
        result: StepResult,
        duration_ms: u64,
    },
    /// An attempt's task was aborted, or the kit panicked in it.
    AttemptLost { attempt: Running, error: JoinError },
}

/// An attempt in flight.
struct Running {
    node: usize,
    attempt: u32,
    started: Instant,
    /// The resolved `with`, kept while more attempts are allowed.
    retry_with: Option<Map<String, Value>>,
}

/// A node waiting out its backoff before attempt `attempt`.
struct Backoff {
    until: Instant,
    node: usize,
    attempt: u32,
    with: Map<String, Value>,
}

struct Scheduler {
    run: Arc<RunHandle>,
    flow: Arc<FlowIr>,
    inputs: Arc<Map<String, Value>>,
    handlers: Arc<HandlerTable>,
    concurrency: usize,
    grace: Duration,
    graph: Graph,
    frontier: Frontier,
    /// Outputs of the finished steps some `with` references, by node id.
    outputs: HashMap<String, Value>,
    tasks: JoinSet<(StepResult, u64)>,
    running: HashMap<Id, Running>,
    /// At most `concurrency` entries: a node backing off keeps its slot.
    backoffs: Vec<Backoff>,
    /// Cancelled when the run stops (a child of the run's token, which `Runtime.Cancel`
    /// cancels); every attempt's token is a child of it.
    stop: CancellationToken,
    flow_deadline: Option<Instant>,
    phase: Phase,
}

impl Scheduler {
    fn new(job: RunJob) -> Scheduler {
        let graph = Graph::new(&job.flow);
        let timeout_ms = job.flow.flow.timeout_ms;
        Scheduler {
            frontier: Frontier::new(&graph),
            graph,
            stop: job.run.cancellation().child_token(),
            flow_deadline: (timeout_ms > 0)
                .then(|| Instant::now() + Duration::from_millis(timeout_ms)),
            run: job.run,
            flow: job.flow,
            inputs: job.inputs,
            handlers: job.handlers,
            concurrency: job.concurrency.max(1),
            grace: job.grace,
            outputs: HashMap::new(),
            tasks: JoinSet::new(),
            running: HashMap::new(),
            backoffs: Vec::new(),
            phase: Phase::Going,
        }
    }

    fn node(&self, node: usize) -> &Node {
        &self.flow.graph.nodes[node]
    }

    fn stopping(&self) -> bool {
        matches!(self.phase, Phase::Stopping { .. })
    }

    /// Ready → running: starts ready nodes while the run is going and slots are free.
    fn start_ready(&mut self) {
        while matches!(self.phase, Phase::Going)
            && !self.stop.is_cancelled()
            && self.tasks.len() + self.backoffs.len() < self.concurrency
        {
            let Some(node) = self.frontier.next_ready() else {
                return;
            };
            let scope = Scope {
                inputs: &self.inputs,
                steps: &self.outputs,
            };
            let with = resolve_map(&self.node(node).with, &scope);
            self.start_attempt(node, 1, with);
        }
    }

    /// Starts attempt `attempt` of `node` with its resolved `with`.
    fn start_attempt(&mut self, node: usize, attempt: u32, with: Map<String, Value>) {
        let flow = self.flow.clone();
        let spec = &flow.graph.nodes[node];
        // The last allowed attempt takes `with`; earlier ones get a copy.
        let (with, retry_with) = if attempt <= spec.retry.max {
            (with.clone(), Some(with))
        } else {
            (with, None)
        };
        self.run.step_started(&spec.id, attempt);
        let ctx = StepContext {
            run: self.run.clone(),
            flow: self.flow.clone(),
            inputs: self.inputs.clone(),
            step_id: Arc::from(spec.id.as_str()),
            attempt,
            cancel: self.stop.child_token(),
        };
        let step = Attempt {
            flow: self.flow.clone(),
            index: node,
            control: self.graph.control(node),
            handlers: self.handlers.clone(),
            grace: self.grace,
        };
        let task = self.tasks.spawn(step.run(ctx, with));
        let started = Instant::now();
        let running = Running {
            node,
            attempt,
            started,
            retry_with,
        };
        self.running.insert(task.id(), running);
    }

    /// Waits for the next event; `None` once no attempt runs or backs off.
    async fn next_event(&mut self) -> Option<Event> {
        if self.tasks.is_empty() && self.backoffs.is_empty() {
            return None;
        }
        let going = !self.stopping();
        let abort_at = match self.phase {
            Phase::Stopping { abort_at, .. } => abort_at,
            _ => None,
        };
        let backoff_over = self.backoffs.iter().map(|b| b.until).min();
        let joined = tokio::select! {
            // Biased: a cancel or a deadline wins over an attempt that ended at the same
            // moment, so the run's error names the real reason.
            biased;
            () = self.run.cancellation().cancelled(), if going => return Some(Event::Cancelled),
            () = sleep_until(self.flow_deadline), if going && self.flow_deadline.is_some() => {
                return Some(Event::FlowTimedOut);
            }
            () = sleep_until(abort_at), if abort_at.is_some() => return Some(Event::GraceOver),
            () = sleep_until(backoff_over), if backoff_over.is_some() => {
                return Some(Event::BackoffOver);
            }
            Some(joined) = self.tasks.join_next_with_id(), if !self.tasks.is_empty() => joined,
            else => return None,
        };
        let id = match &joined {
            Ok((id, _)) => *id,
            Err(error) => error.id(),
        };
        // Every task has its entry, inserted when it was spawned.
        let attempt = self.running.remove(&id)?;
        Some(match joined {
            Ok((_, (result, duration_ms))) => Event::AttemptEnded {
                attempt,
                result,
                duration_ms,
            },
            Err(error) => Event::AttemptLost { attempt, error },
        })
    }

    fn handle(&mut self, event: Event) {
        match event {
            Event::Cancelled => self.stop(cancelled_error()),
            Event::FlowTimedOut => self.stop(flow_timeout_error(self.flow.flow.timeout_ms)),
            Event::GraceOver => {
                if let Phase::Stopping { abort_at, .. } = &mut self.phase {
                    *abort_at = None;
                }
                self.tasks.abort_all();
            }
            Event::BackoffOver => self.backoff_over(),
            Event::AttemptEnded {
                attempt,
                result,
                duration_ms,
            } => self.attempt_ended(attempt, result, duration_ms),
            Event::AttemptLost { attempt, error } => self.attempt_lost(attempt, error),
        }
    }

    /// Running → done, or → backing off when the attempt failed and may be retried.
    fn attempt_ended(&mut self, running: Running, result: StepResult, duration_ms: u64) {
        let flow = self.flow.clone();
        let id = &flow.graph.nodes[running.node].id;
        let (node, attempt) = (running.node, running.attempt);
        let error = match result {
            Ok(output) => {
                self.run.step_succeeded(id, attempt, duration_ms);
                return self.succeeded(node, output);
            }
            Err(error) => error,
        };
        let retry_with = running
            .retry_with
            .filter(|_| error.is_retriable() && !self.stop.is_cancelled());
        let object = error.to_error_object(id, attempt);
        self.run
            .attempt_failed(id, attempt, duration_ms, &object, retry_with.is_none());
        match retry_with {
            Some(with) => self.back_off(node, attempt + 1, with),
            None => self.failed(node, object),
        }
    }

    /// An attempt whose task did not return: aborted after the grace (the run is stopping,
    /// nothing to route), or a panic of the kit itself (`Attempt` catches the handler's).
    fn attempt_lost(&mut self, running: Running, error: JoinError) {
        let flow = self.flow.clone();
        let id = &flow.graph.nodes[running.node].id;
        let duration_ms = elapsed_ms(running.started);
        let object = match error.try_into_panic() {
            Ok(payload) => panicked(&*payload).to_error_object(id, running.attempt),
            Err(_) => StepError::cancelled(format!(
                "step {id:?} aborted: it outlived the cancellation grace"
            ))
            .to_error_object(id, running.attempt),
        };
        self.run
            .attempt_failed(id, running.attempt, duration_ms, &object, true);
        self.failed(running.node, object);
    }

    /// Backing off until `retry.backoff_ms` from now, keeping the node's slot.
    fn back_off(&mut self, node: usize, attempt: u32, with: Map<String, Value>) {
        let backoff = Duration::from_millis(self.node(node).retry.backoff_ms);
        self.backoffs.push(Backoff {
            until: Instant::now() + backoff,
            node,
            attempt,
            with,
        });
    }

    /// Backing off → running: the earliest backoff's next attempt starts.
    fn backoff_over(&mut self) {
        let earliest = (0..self.backoffs.len()).min_by_key(|&i| self.backoffs[i].until);
        if let Some(i) = earliest {
            let Backoff {
                node,
                attempt,
                with,
                ..
            } = self.backoffs.swap_remove(i);
            self.start_attempt(node, attempt, with);
        }
    }

    /// Done after a success: the output's route decides the edges (`switch`: its case),
    /// `finish` ends the flow, `dsl.emit` adds the run's outputs.
    fn succeeded(&mut self, node: usize, output: Value) {
        let control = self.graph.control(node);
        if control.emits_outputs() {
            self.run.add_outputs(&output);
        }
        if control.ends_flow() && matches!(self.phase, Phase::Going) {
            self.phase = Phase::Finishing;
        }
        self.decide_edges(node, control.route(&output));
        if self.graph.keeps_output(node) {
            self.outputs.insert(self.node(node).id.clone(), output);
        }
    }

    /// Done after a failure: the `failure` edges lead on; without one (or when the run is
    /// stopping anyway) the run stops with `error`.
    fn failed(&mut self, node: usize, error: ErrorObject) {
        let route = Route::Failure;
        let flow = self.flow.clone();
        let edges = self.graph.out_edges(node);
        let leads_on = edges.iter().any(|&e| route.takes(&flow.graph.edges[e]));
        if !leads_on || self.stop.is_cancelled() {
            return self.stop(error);
        }
        self.decide_edges(node, route);
    }

    fn decide_edges(&mut self, node: usize, route: Route<'_>) {
        for &edge in self.graph.out_edges(node) {
            let taken = route.takes(&self.flow.graph.edges[edge]);
            self.frontier.decide(&self.graph, edge, taken);
        }
    }

    /// Going or finishing → stopping with `error` (the first reason wins): running attempts'
    /// tokens are cancelled, pending retries abandoned.
    fn stop(&mut self, error: ErrorObject) {
        if self.stopping() {
            return;
        }
        let abort_at = Instant::now() + self.grace * 2 + Duration::from_millis(50);
        self.phase = Phase::Stopping {
            error,
            abort_at: Some(abort_at),
        };
        self.stop.cancel();
        for backoff in std::mem::take(&mut self.backoffs) {
            let id = &self.flow.graph.nodes[backoff.node].id;
            let message = format!(
                "run stopped before attempt {} of step {id:?}",
                backoff.attempt
            );
            let error = StepError::cancelled(message).to_error_object(id, backoff.attempt - 1);
            self.run.retry_abandoned(id, &error);
        }
    }

    /// Sets the final status once nothing runs any more.
    fn end(self) {
        let error = match self.phase {
            Phase::Stopping { error, .. } => Some(error),
            // Cancelled while nothing ran.
            _ if self.run.cancellation().is_cancelled() => Some(cancelled_error()),
            _ => None,
        };
        self.run.finish(error);
    }
}

/// Sleeps until `deadline`, forever when `None`.
async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
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

//! One call runs a flow on an executor and returns its [`Outcome`] (architecture invariant 2):
//! spawn → Capabilities → step-kind check → StartRun → Poll until final → shutdown, with the
//! engine timeout over all of it and Cancel → close stdin → ≤ 5 s → kill on the way out.

use std::collections::BTreeSet;
use std::time::Duration;

use rep_spec::{
    Capabilities, ErrorObject, ExitCode, RunOptions, RunStatus, StartRunParamsRef, codes,
};
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use tokio::time::Instant;

use crate::client::Client;
use crate::error::{Cause, RunError};
use crate::launcher::{ExecutorCommand, ExecutorProcess, RunEnv};
use crate::session::{Session, missing_step_kinds};

/// Default engine timeout (REP v0.1 §2): 120 s.
pub const DEFAULT_ENGINE_TIMEOUT: Duration = Duration::from_secs(120);
/// How long the executor may take to exit after stdin is closed before it is killed.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);
/// How long the host waits for the answer to its one `Runtime.Cancel`.
pub const CANCEL_TIMEOUT: Duration = Duration::from_secs(2);
/// The adaptive poll interval: the first Poll goes out at once, then waits grow from
/// `POLL_MIN` by doubling up to `POLL_MAX`, and fall back to `POLL_MIN` whenever events arrive.
pub const POLL_MIN: Duration = Duration::from_micros(500);
/// Upper bound of the adaptive poll interval: a run's end is seen within about 8 ms, for
/// about 1.3 % of one core while a step waits (measured in BENCHMARKS.md).
pub const POLL_MAX: Duration = Duration::from_millis(8);

/// Everything needed to run one flow. Building it does no I/O.
#[derive(Debug, Clone)]
pub struct RunRequest {
    /// The Flow IR document, sent unchanged.
    pub ir: Value,
    /// The step kinds the flow needs (`graph.nodes[].type`).
    pub required_step_kinds: BTreeSet<String>,
    /// The run inputs.
    pub inputs: Map<String, Value>,
    /// The executor to start.
    pub executor: ExecutorCommand,
    /// The engine timeout over the whole run, handshake included.
    pub engine_timeout: Duration,
    /// The bound on one frame from the executor, in bytes.
    pub max_frame_bytes: usize,
    /// `options.allow_shell` and `TRACE_MIND_ALLOW_SHELL`.
    pub allow_shell: bool,
    /// `TRACE_MIND_LOG_JSON`.
    pub log_json: bool,
}

/// How a run ended: what `tm` prints and the exit code it returns.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The run id (chosen by the host, sent as `options.run_id`; the executor's answer wins).
    pub run_id: String,
    /// The trace id sent as `options.trace_id`.
    pub trace_id: String,
    /// The final status: `completed` only when the executor said so and nothing failed.
    pub status: RunStatus,
    /// The last summary the executor returned (empty if none).
    pub summary: Map<String, Value>,
    /// Every event of every Poll, in order, as the JSON text the executor sent.
    pub events: Vec<Box<RawValue>>,
    /// Why the run did not complete.
    pub error: Option<RunError>,
    /// The executor's capabilities, when the handshake got that far.
    pub capabilities: Option<Capabilities>,
}

impl Outcome {
    /// The exit code (REP v0.1 §5): 0 completed, else the error's class.
    pub fn exit_code(&self) -> ExitCode {
        match (&self.error, self.status) {
            (Some(error), _) => error.exit_code(),
            (None, RunStatus::Completed) => ExitCode::Completed,
            (None, _) => ExitCode::RunFailed,
        }
    }
}

/// A request from outside to stop the run (the CLI maps signals to these).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interrupt {
    /// SIGINT (Ctrl-C): exit code 130.
    Sigint,
    /// SIGTERM: exit code 143.
    Sigterm,
}

/// Sees the run's progress; read-only (architecture invariant 2). All methods default to
/// doing nothing.
pub trait Observer {
    /// The events of one Poll, in order, as soon as they arrive (JSON text as received).
    fn on_events(&mut self, _events: &[Box<RawValue>]) {}
    /// The run ended (called once, before the process is shut down).
    fn on_finish(&mut self, _outcome: &Outcome) {}
}

/// Runs the flow of `request` to its end with no observer and no interrupt; see
/// [`run_with`].
pub async fn run(request: RunRequest) -> Outcome {
    run_with(request, &mut [], std::future::pending()).await
}

/// Runs the flow of `request` to its end, telling `observers` about events as they arrive.
/// When `interrupt` resolves first, the run is cancelled (Runtime.Cancel once, close stdin,
/// ≤ 5 s, kill) and the outcome carries [`Cause::Interrupted`] or [`Cause::Terminated`] with
/// every event received so far.
///
/// Never panics on executor behaviour; every failure is in [`Outcome::error`], and the
/// executor's process group is gone when this returns.
pub async fn run_with(
    request: RunRequest,
    observers: &mut [&mut dyn Observer],
    interrupt: impl Future<Output = Interrupt>,
) -> Outcome {
    let run_id = uuid::Uuid::new_v4().to_string();
    let trace_id = uuid::Uuid::new_v4().to_string();
    let mut outcome = Outcome {
        run_id: run_id.clone(),
        trace_id: trace_id.clone(),
        status: RunStatus::Failed,
        summary: Map::new(),
        events: Vec::new(),
        error: None,
        capabilities: None,
    };
    let deadline = Instant::now() + request.engine_timeout;
    let env = RunEnv {
        run_id,
        trace_id,
        engine_timeout: request.engine_timeout,
        allow_shell: request.allow_shell,
        log_json: request.log_json,
    };
    let process = match ExecutorProcess::spawn(&request.executor, &env) {
        Ok(process) => process,
        Err(error) => {
            outcome.error = Some(error);
            for observer in observers.iter_mut() {
                observer.on_finish(&outcome);
            }
            return outcome;
        }
    };
    let mut session = Session::new(Client::new(process, request.max_frame_bytes));
    let result = {
        let driving = drive(&mut session, &request, deadline, &mut outcome, observers);
        tokio::select! {
            result = driving => result,
            signal = interrupt => Err(interrupted(signal)),
        }
    };
    if let Err(mut error) = result {
        let cancels = matches!(
            error.cause,
            Some(Cause::Timeout | Cause::Interrupted | Cause::Terminated)
        );
        if error.cause == Some(Cause::Timeout) {
            error.message = format!(
                "engine timeout of {} expired: {}",
                human(request.engine_timeout),
                error.message
            );
        }
        if cancels && outcome.status == RunStatus::Running {
            // Best effort, once: the executor may stop its run before we close stdin.
            let _ = session
                .cancel(&outcome.run_id, Instant::now() + CANCEL_TIMEOUT)
                .await;
        }
        outcome.status = RunStatus::Failed;
        outcome.error = Some(error);
    }
    for observer in observers.iter_mut() {
        observer.on_finish(&outcome);
    }
    session.client().process().shutdown(SHUTDOWN_GRACE).await;
    outcome
}

fn interrupted(signal: Interrupt) -> RunError {
    match signal {
        Interrupt::Sigint => RunError::transport(
            Cause::Interrupted,
            "interrupted (SIGINT): the run was cancelled",
        ),
        Interrupt::Sigterm => RunError::transport(
            Cause::Terminated,
            "terminated (SIGTERM): the run was cancelled",
        ),
    }
}

/// The lifecycle; `outcome.status` is `Running` from StartRun's answer on.
async fn drive(
    session: &mut Session,
    request: &RunRequest,
    deadline: Instant,
    outcome: &mut Outcome,
    observers: &mut [&mut dyn Observer],
) -> Result<(), RunError> {
    let capabilities = session.capabilities(deadline).await?;
    tracing::debug!(version = %capabilities.version, kinds = capabilities.step_kinds.len(), "capabilities received");
    let missing = missing_step_kinds(&request.required_step_kinds, &capabilities);
    outcome.capabilities = Some(capabilities.clone());
    if !missing.is_empty() {
        let path = session
            .client()
            .process()
            .command()
            .path
            .display()
            .to_string();
        let message = format!(
            "CapabilitiesMismatch: executor {path} does not support step kind(s) {} needed by the flow (it advertises: {})",
            missing.join(", "),
            capabilities.step_kinds.join(", ")
        );
        let mut error = RunError::new(
            codes::UNSUPPORTED_STEP_KIND,
            Cause::CapabilitiesMismatch,
            message,
        );
        error.missing_step_kinds = Some(missing);
        return Err(error);
    }
    let options = RunOptions {
        run_id: Some(outcome.run_id.clone()),
        trace_id: Some(outcome.trace_id.clone()),
        allow_shell: request.allow_shell,
        extra: Map::new(),
    };
    let params = StartRunParamsRef {
        ir: &request.ir,
        inputs: &request.inputs,
        options: &options,
    };
    outcome.run_id = session.start_run(params, deadline).await?;
    tracing::debug!(run_id = %outcome.run_id, "run started");
    outcome.status = RunStatus::Running;
    let mut interval = Duration::ZERO;
    loop {
        if !interval.is_zero() {
            let wake = Instant::now() + interval;
            if wake >= deadline {
                tokio::time::sleep_until(deadline).await;
                return Err(RunError::transport(
                    Cause::Timeout,
                    format!("run {} still running", outcome.run_id),
                ));
            }
            tokio::time::sleep_until(wake).await;
        }
        let poll = session.poll(&outcome.run_id, deadline).await?;
        let got_events = !poll.events.is_empty();
        if got_events {
            for observer in observers.iter_mut() {
                observer.on_events(&poll.events);
            }
        }
        outcome.events.extend(poll.events);
        if let Some(summary) = poll.summary {
            outcome.summary = summary;
        }
        if poll.status.is_final() {
            tracing::debug!(
                status = poll.status.as_str(),
                events = outcome.events.len(),
                "run ended"
            );
            outcome.status = poll.status;
            if poll.status == RunStatus::Failed {
                outcome.error = Some(run_failed_error(&outcome.summary));
            }
            return Ok(());
        }
        interval = if got_events || interval.is_zero() {
            POLL_MIN
        } else {
            (interval * 2).min(POLL_MAX)
        };
    }
}

/// The error of a run the executor reported as `failed`: its `summary.error` when it is an
/// error object, else a generic step failure (2001).
fn run_failed_error(summary: &Map<String, Value>) -> RunError {
    let reported = summary
        .get("error")
        .cloned()
        .and_then(|e| serde_json::from_value::<ErrorObject>(e).ok());
    match reported {
        Some(error) => {
            let step = error.data.as_ref().and_then(|d| d.step_id.clone());
            let message = match step {
                Some(step) => format!("run failed at step {step:?}: {}", error.message),
                None => format!("run failed: {}", error.message),
            };
            RunError {
                code: error.code,
                class: error.class(),
                message,
                cause: Some(Cause::RunFailed),
                executor_error: Some(error),
                missing_step_kinds: None,
            }
        }
        None => {
            let detail = summary
                .get("error")
                .map(|e| format!(": {e}"))
                .unwrap_or_default();
            RunError::new(
                codes::STEP_FAILED,
                Cause::RunFailed,
                format!("the executor reported the run as failed{detail}"),
            )
        }
    }
}

fn human(duration: Duration) -> String {
    if duration.subsec_millis() == 0 {
        format!("{} s", duration.as_secs())
    } else {
        format!("{} ms", duration.as_millis())
    }
}

/// Starts the executor, asks `Runtime.Capabilities`, and shuts it down (for
/// `tm runtime capabilities`). `timeout` bounds the whole exchange.
///
/// # Errors
/// As [`Session::capabilities`], plus spawn errors.
pub async fn fetch_capabilities(
    executor: &ExecutorCommand,
    timeout: Duration,
    max_frame_bytes: usize,
) -> Result<Capabilities, RunError> {
    let env = RunEnv {
        run_id: uuid::Uuid::new_v4().to_string(),
        trace_id: uuid::Uuid::new_v4().to_string(),
        engine_timeout: timeout,
        allow_shell: false,
        log_json: false,
    };
    let process = ExecutorProcess::spawn(executor, &env)?;
    let mut session = Session::new(Client::new(process, max_frame_bytes));
    let result = session.capabilities(Instant::now() + timeout).await;
    session.client().process().shutdown(SHUTDOWN_GRACE).await;
    result
}

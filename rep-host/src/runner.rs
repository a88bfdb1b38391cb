//! One call runs a flow on an executor and returns its [`Outcome`] (architecture invariant 2):
//! spawn → Capabilities → step-kind check → StartRun → Poll until final (at rep-spec's
//! [`PollCadence::HOST`]) → shutdown, with the engine timeout over all of it, the executor's
//! exit noticed at once, and the one shutdown sequence of [`crate::shutdown`] on every way
//! out. The runner alone owns the executor.

use std::collections::BTreeSet;
use std::process::ExitStatus;
use std::time::Duration;

use rep_process::{Interrupt, Interrupts};
use rep_spec::{
    Capabilities, PollCadence, RawErrorObject, RunOptions, RunStatus, StartRunParamsRef, codes,
};
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::time::{Instant, sleep_until};

use crate::error::{Cause, RunError};
use crate::launcher::{ExecutorCommand, RunEnv, STDERR_DRAIN_WAIT};
use crate::session::{Session, missing_step_kinds};
use crate::shutdown::{Ending, ExecutorHandle, shut_down};
use crate::tap::Tap;

/// Default engine timeout (REP v0.1 §2): 120 s.
pub const DEFAULT_ENGINE_TIMEOUT: Duration = Duration::from_secs(120);
/// How long, once the executor has exited (or closed its stdout), the host still waits for
/// the answer it was reading, the exit status and the last stderr lines before reporting.
pub const EXIT_REPORT_WAIT: Duration = Duration::from_millis(200);

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
    /// Who else sees the session's traffic: [`Tap::none`], or a transcript
    /// ([`Recorder`](crate::Recorder)).
    pub tap: Tap,
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
    /// The last summary the executor returned (a JSON object, exactly as the executor wrote
    /// it: every number kept as sent), `None` if none.
    pub summary: Option<Box<RawValue>>,
    /// Every event of every Poll, in order, as the JSON text the executor sent.
    pub events: Vec<Box<RawValue>>,
    /// Why the run did not complete.
    pub error: Option<RunError>,
    /// The executor's capabilities, when the handshake got that far.
    pub capabilities: Option<Capabilities>,
}

impl Outcome {
    /// A run not started yet: `failed`, no events.
    pub fn new(ids: RunIds) -> Outcome {
        Outcome {
            run_id: ids.run_id,
            trace_id: ids.trace_id,
            status: RunStatus::Failed,
            summary: None,
            events: Vec::new(),
            error: None,
            capabilities: None,
        }
    }
}

/// Sees the run's progress; read-only (architecture invariant 2). All methods default to
/// doing nothing.
pub trait Observer {
    /// The executor accepted the run: `run_id` is the id StartRun answered (the one printed
    /// in the outcome). Called once, before any event.
    fn on_run_started(&mut self, _run_id: &str) {}
    /// The events of one Poll, in order, as soon as they arrive (JSON text as received).
    fn on_events(&mut self, _events: &[Box<RawValue>]) {}
    /// An interrupt arrived: the run is being cancelled (no more events follow; the shutdown
    /// sequence may still take seconds before [`Observer::on_finish`]).
    fn on_interrupt(&mut self, _interrupt: Interrupt) {}
    /// The run ended (called once, after the executor was shut down, with the final
    /// outcome).
    fn on_finish(&mut self, _outcome: &Outcome) {}
}

/// The run and trace ids of one run (sent as `options.run_id`/`options.trace_id` and in the
/// executor's environment).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunIds {
    /// The host's run id.
    pub run_id: String,
    /// The trace id.
    pub trace_id: String,
}

impl RunIds {
    /// Fresh random (UUID v4) ids.
    pub fn random() -> RunIds {
        RunIds {
            run_id: uuid::Uuid::new_v4().to_string(),
            trace_id: uuid::Uuid::new_v4().to_string(),
        }
    }
}

/// Starts the executor of `request` and runs the flow to its end, telling `observers` about
/// events as they arrive; `request.tap` sees the session's traffic (a transcript when
/// recording, docs/transcripts.md), which never changes the outcome. The first interrupt
/// cancels the run (the shutdown sequence of [`crate::shutdown`]); a second one kills the
/// executor at once. An interrupted outcome carries [`Cause::Interrupted`],
/// [`Cause::Terminated`] or [`Cause::HungUp`] and every event received. `interrupts` stay
/// the caller's: an interrupt after the run (while its outputs are written) is the
/// caller's to act on.
///
/// Never panics on executor behaviour; every failure is in [`Outcome::error`], and the
/// executor's process group is gone when this returns.
pub async fn run(
    request: RunRequest,
    observers: &mut [&mut dyn Observer],
    interrupts: &mut Interrupts,
) -> Outcome {
    let mut ids = RunIds::random();
    if let Some(trace) = request.tap.trace() {
        ids.trace_id = trace.rep_trace_id();
    }
    let env = RunEnv {
        run_id: ids.run_id.clone(),
        trace_id: ids.trace_id.clone(),
        engine_timeout: request.engine_timeout,
        allow_shell: request.allow_shell,
        log_json: request.log_json,
    };
    let opened = Session::open(
        &request.executor,
        &env,
        request.max_frame_bytes,
        &request.tap,
    );
    match opened {
        Ok((session, mut process)) => {
            run_session(session, &mut process, &request, ids, observers, interrupts).await
        }
        Err(error) => {
            let mut outcome = Outcome::new(ids);
            outcome.error = Some(error);
            for observer in observers.iter_mut() {
                observer.on_finish(&outcome);
            }
            outcome
        }
    }
}

/// Runs the REP lifecycle of `request` over `session` with a started `executor` (the
/// executor's process, or an in-memory one in tests): the handshake, StartRun and Polls under
/// the engine timeout, raced against the executor's exit and `interrupts`, then the shutdown
/// sequence. `request.executor` is not used here (the executor is already running).
pub async fn run_session<E, R, W>(
    mut session: Session<R, W>,
    executor: &mut E,
    request: &RunRequest,
    ids: RunIds,
    observers: &mut [&mut dyn Observer],
    interrupts: &mut Interrupts,
) -> Outcome
where
    E: ExecutorHandle,
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut outcome = Outcome::new(ids);
    let deadline = Instant::now() + request.engine_timeout;
    let name = executor.name();
    let phase = {
        let drive = drive(
            &mut session,
            request,
            &name,
            deadline,
            &mut outcome,
            observers,
        );
        tokio::pin!(drive);
        let mut exit: Option<(Option<ExitStatus>, Instant)> = None;
        loop {
            let report_at = exit.map_or(deadline, |(_, at)| at);
            tokio::select! {
                biased;
                result = &mut drive => break Phase::Driven(result, exit.map(|(status, _)| status)),
                interrupt = interrupts.next() => break Phase::Interrupted(interrupt),
                status = executor.exited(), if exit.is_none() => {
                    // Its last answer may still be in the pipe: read on a little.
                    exit = Some((status, Instant::now() + EXIT_REPORT_WAIT));
                }
                _ = sleep_until(report_at), if exit.is_some() => {
                    break Phase::Exited(exit.and_then(|(status, _)| status));
                }
            }
        }
    };
    if let Phase::Interrupted(interrupt) = phase {
        for observer in observers.iter_mut() {
            observer.on_interrupt(interrupt);
        }
    }
    let (error, ending) = match phase {
        Phase::Driven(Ok(()), _) => (None, Ending::RunEnded),
        Phase::Interrupted(interrupt) => (Some(interrupted(interrupt)), cancel(&outcome)),
        Phase::Exited(status) => {
            let error = exit_error(executor, session.client().in_flight(), status).await;
            (Some(error), Ending::Exited)
        }
        Phase::Driven(Err(mut error), exited) => match error.cause {
            Some(Cause::Timeout) => {
                error.message = format!(
                    "engine timeout of {} s expired: {}",
                    request.engine_timeout.as_secs_f64(),
                    error.message
                );
                (Some(error), cancel(&outcome))
            }
            Some(cause) if is_transport(cause) => {
                let exited = match exited {
                    Some(status) => Some(status),
                    None if cause == Cause::Eof => {
                        tokio::time::timeout(EXIT_REPORT_WAIT, executor.exited())
                            .await
                            .ok()
                    }
                    None => None,
                };
                match (exited, cause) {
                    (Some(status), Cause::Eof) => {
                        let error = exit_error(executor, session.client().in_flight(), status);
                        (Some(error.await), Ending::Exited)
                    }
                    (Some(_), _) => (Some(error), Ending::Exited),
                    (None, _) => (Some(error), Ending::Broken),
                }
            }
            _ => (Some(error), Ending::RunEnded),
        },
    };
    if let Some(error) = error {
        outcome.status = RunStatus::Failed;
        outcome.error = Some(error);
    }
    let late = shut_down(&mut session, executor, ending, interrupts).await;
    if let Some(late) = late
        && outcome.error.is_none()
    {
        outcome.status = RunStatus::Failed;
        outcome.error = Some(late);
    }
    if outcome.status != RunStatus::Completed && outcome.error.is_none() {
        // Cannot happen (every way a run fails sets its error), but never reported as a
        // success.
        outcome.error = Some(RunError::new(
            codes::STEP_FAILED,
            Cause::RunFailed,
            format!("the run ended {}", outcome.status.as_str()),
        ));
    }
    // Forward the executor's last stderr lines before the host reports.
    executor.last_stderr(STDERR_DRAIN_WAIT).await;
    for observer in observers.iter_mut() {
        observer.on_finish(&outcome);
    }
    outcome
}

/// How the run phase ended.
enum Phase {
    /// The lifecycle returned (with the executor's exit status if it exited meanwhile).
    Driven(Result<(), RunError>, Option<Option<ExitStatus>>),
    /// An interrupt arrived.
    Interrupted(Interrupt),
    /// The executor exited and did not answer within [`EXIT_REPORT_WAIT`].
    Exited(Option<ExitStatus>),
}

/// The cancel path, with the run to cancel if StartRun was answered.
fn cancel(outcome: &Outcome) -> Ending {
    Ending::Cancel {
        run_id: (outcome.status == RunStatus::Running).then(|| outcome.run_id.clone()),
    }
}

/// Causes that mean the transport (or the executor speaking on it) is broken.
fn is_transport(cause: Cause) -> bool {
    matches!(
        cause,
        Cause::Eof
            | Cause::InvalidJson
            | Cause::InvalidUtf8
            | Cause::FrameTooLong
            | Cause::InvalidResponse
            | Cause::WrongId
            | Cause::DuplicateResponse
    )
}

/// 3001 for an executor that exited during the run: its status and last stderr lines.
async fn exit_error<E: ExecutorHandle>(
    executor: &mut E,
    in_flight: Option<&str>,
    status: Option<ExitStatus>,
) -> RunError {
    let explained = status.and_then(|s| executor.explain_exit(s));
    let status = status.map_or("status unknown".to_owned(), |s| s.to_string());
    let mut message = match in_flight {
        Some(method) => format!("executor exited ({status}) before answering {method}"),
        None => format!("executor exited ({status}) during the run"),
    };
    if let Some(explained) = explained {
        message.push_str(&format!(": {explained}"));
    }
    let tail = executor.last_stderr(EXIT_REPORT_WAIT).await;
    if !tail.is_empty() {
        message.push_str("; last stderr lines:\n  ");
        message.push_str(&tail.join("\n  "));
    }
    RunError::transport(Cause::Eof, message)
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
        Interrupt::Sighup => {
            RunError::transport(Cause::HungUp, "hung up (SIGHUP): the run was cancelled")
        }
    }
}

/// The lifecycle; `outcome.status` is `Running` from StartRun's answer on.
async fn drive<R, W>(
    session: &mut Session<R, W>,
    request: &RunRequest,
    executor_name: &str,
    deadline: Instant,
    outcome: &mut Outcome,
    observers: &mut [&mut dyn Observer],
) -> Result<(), RunError>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let capabilities = session.capabilities(deadline).await?;
    tracing::debug!(version = %capabilities.version, kinds = capabilities.step_kinds.len(), "capabilities received");
    let missing = missing_step_kinds(&request.required_step_kinds, &capabilities);
    outcome.capabilities = Some(capabilities.clone());
    if !missing.is_empty() {
        let message = format!(
            "CapabilitiesMismatch: executor {executor_name} does not support step kind(s) {} needed by the flow (it advertises: {})",
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
    for observer in observers.iter_mut() {
        observer.on_run_started(&outcome.run_id);
    }
    let mut backoff = PollCadence::HOST.start();
    let mut interval = Duration::ZERO;
    loop {
        if !interval.is_zero() {
            let wake = Instant::now() + interval;
            if wake >= deadline {
                sleep_until(deadline).await;
                return Err(RunError::transport(
                    Cause::Timeout,
                    format!("run {} still running", outcome.run_id),
                ));
            }
            sleep_until(wake).await;
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
            outcome.summary = Some(summary);
        }
        if poll.status.is_final() {
            tracing::debug!(
                status = poll.status.as_str(),
                events = outcome.events.len(),
                "run ended"
            );
            outcome.status = poll.status;
            if poll.status == RunStatus::Failed {
                outcome.error = Some(run_failed_error(outcome.summary.as_deref()));
            }
            return Ok(());
        }
        // Events flowing: poll again at once. Nothing new: back off.
        interval = backoff.after(got_events);
    }
}

/// The error of a run the executor reported as `failed`: its `summary.error` when it is an
/// error object (kept as sent), else a generic step failure (2001).
fn run_failed_error(summary: Option<&RawValue>) -> RunError {
    #[derive(serde::Deserialize)]
    struct WithError<'a> {
        #[serde(default, borrow)]
        error: Option<&'a RawValue>,
    }
    let reported = summary
        .and_then(|s| serde_json::from_str::<WithError<'_>>(s.get()).ok())
        .and_then(|s| s.error);
    match reported.map(|raw| (raw, RawErrorObject::parse(raw))) {
        Some((_, Ok(error))) => {
            let message = match &error.step_id {
                Some(step) => format!("run failed at step {step:?}: {}", error.message),
                None => format!("run failed: {}", error.message),
            };
            RunError {
                code: error.code,
                class: error.class(),
                message,
                cause: Some(Cause::RunFailed),
                executor_error: Some(Box::new(error)),
                missing_step_kinds: None,
            }
        }
        other => {
            let detail = other
                .map(|(raw, _)| format!(": {}", raw.get()))
                .unwrap_or_default();
            RunError::new(
                codes::STEP_FAILED,
                Cause::RunFailed,
                format!("the executor reported the run as failed{detail}"),
            )
        }
    }
}

/// Starts the executor, asks `Runtime.Capabilities`, and shuts it down (for
/// `tm runtime capabilities`). `timeout` bounds the exchange; the shutdown sequence follows.
///
/// # Errors
/// As [`Session::capabilities`], plus spawn errors.
pub async fn fetch_capabilities(
    executor: &ExecutorCommand,
    timeout: Duration,
    max_frame_bytes: usize,
    interrupts: &mut Interrupts,
) -> Result<Capabilities, RunError> {
    let ids = RunIds::random();
    let env = RunEnv {
        run_id: ids.run_id,
        trace_id: ids.trace_id,
        engine_timeout: timeout,
        allow_shell: false,
        log_json: false,
    };
    let (mut session, mut process) = Session::open(executor, &env, max_frame_bytes, &Tap::none())?;
    let result = tokio::select! {
        result = session.capabilities(Instant::now() + timeout) => result,
        status = process.exited() => {
            Err(exit_error(&mut process, Some(rep_spec::METHOD_CAPABILITIES), status).await)
        }
        interrupt = interrupts.next() => Err(interrupted(interrupt)),
    };
    let ending = match &result {
        Ok(_) => Ending::RunEnded,
        Err(error) if error.cause.is_some_and(is_transport) => Ending::Broken,
        Err(error) if error.cause == Some(Cause::Timeout) => Ending::Cancel { run_id: None },
        Err(error) if error.cause.is_some_and(Cause::is_interrupt) => {
            Ending::Cancel { run_id: None }
        }
        Err(_) => Ending::RunEnded,
    };
    shut_down(&mut session, &mut process, ending, interrupts).await;
    process.last_stderr(STDERR_DRAIN_WAIT).await;
    result
}

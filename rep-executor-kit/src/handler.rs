//! The step-handler API: what an executor author writes.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use flow_ir::FlowIr;
use rep_spec::{ErrorClass, ErrorData, ErrorObject, codes};
use serde_json::{Map, Value};
use tokio_util::sync::CancellationToken;

use crate::run::RunHandle;

/// What a step handler returns: the step's output object (referenced later as
/// `$step.<id>`) or a [`StepError`].
pub type StepResult = Result<Value, StepError>;

/// A boxed, sendable future of a [`StepResult`].
pub type StepFuture = Pin<Box<dyn Future<Output = StepResult> + Send + 'static>>;

/// Executes one step kind (a Flow IR `node.type`).
///
/// Implemented for every `Fn(StepContext, Map<String, Value>) -> impl Future<Output =
/// StepResult>`, so an async closure or `async fn` is a handler. The map is the node's `with`
/// with every reference (`$input.…`, `$step.…`, `$.vars.…`) already resolved.
pub trait StepHandler: Send + Sync + 'static {
    /// Runs one attempt of the step.
    fn call(&self, ctx: StepContext, with: Map<String, Value>) -> StepFuture;
}

impl<F, Fut> StepHandler for F
where
    F: Fn(StepContext, Map<String, Value>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = StepResult> + Send + 'static,
{
    fn call(&self, ctx: StepContext, with: Map<String, Value>) -> StepFuture {
        Box::pin(self(ctx, with))
    }
}

/// What a handler knows about the step it runs.
#[derive(Clone)]
pub struct StepContext {
    pub(crate) run: Arc<RunHandle>,
    pub(crate) flow: Arc<FlowIr>,
    pub(crate) inputs: Arc<Map<String, Value>>,
    pub(crate) step_id: Arc<str>,
    pub(crate) attempt: u32,
    pub(crate) cancel: CancellationToken,
}

impl StepContext {
    /// The run's id.
    pub fn run_id(&self) -> &str {
        self.run.id()
    }

    /// The node id of the step.
    pub fn step_id(&self) -> &str {
        &self.step_id
    }

    /// The attempt number, starting at 1.
    pub fn attempt(&self) -> u32 {
        self.attempt
    }

    /// The run inputs (`StartRun.inputs`).
    pub fn inputs(&self) -> &Map<String, Value> {
        &self.inputs
    }

    /// The whole Flow IR of the run (e.g. `constants.policy` for `policy.apply`).
    pub fn flow(&self) -> &FlowIr {
        &self.flow
    }

    /// Cancelled when this attempt must stop: the run was cancelled (`Runtime.Cancel`), the
    /// run is stopping (another step failed, the flow timed out) or the node's `timeout_ms`
    /// expired. A handler that waits should `select!` on it and return
    /// [`StepError::cancelled`]; the kit gives it a short grace
    /// ([`ExecutorBuilder::cancel_grace`](crate::ExecutorBuilder::cancel_grace)) and then
    /// drops its future.
    pub fn cancellation(&self) -> &CancellationToken {
        &self.cancel
    }

    /// Completes when [`StepContext::cancellation`] is cancelled (shorthand for `select!`).
    pub async fn cancelled(&self) {
        self.cancel.cancelled().await;
    }

    /// Whether [`StepContext::cancellation`] is cancelled.
    pub fn is_cancelled(&self) -> bool {
        self.cancel.is_cancelled()
    }

    /// Emits a `log` event carrying this step's id (REP v0.1 §4). `level` is e.g. `info`.
    pub fn log(&self, level: &str, message: impl Into<String>) {
        self.run.log(level, &message.into(), Some(&self.step_id));
    }
}

/// Why the kit ended an attempt itself, written as `error.data.cause` in the summary and as
/// `error.cause` in the `step` event of the attempt (REP v0.1 §4–§5 **[clarified]**).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FailureCause {
    /// The node's `timeout_ms` or the flow's `timeout_ms` expired: `timeout`.
    Timeout,
    /// `Runtime.Cancel`, or the run stopping for another reason, ended the attempt:
    /// `cancelled`.
    Cancelled,
    /// The handler panicked: `panic`.
    Panic,
}

impl FailureCause {
    /// The wire spelling: `timeout`, `cancelled` or `panic`.
    pub fn as_str(self) -> &'static str {
        match self {
            FailureCause::Timeout => "timeout",
            FailureCause::Cancelled => "cancelled",
            FailureCause::Panic => "panic",
        }
    }
}

impl std::fmt::Display for FailureCause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A failed step attempt.
///
/// Whether the kit retries it (within the node's `retry.max`): `retriable` when set, else
/// only errors of the StepFailure class (2000–2999) are retried (REP v0.1 §5 defaults).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct StepError {
    /// The REP error code; 2001 (step execution failed) unless set otherwise.
    pub code: i64,
    /// What went wrong, for a person.
    pub message: String,
    /// `Some(false)` stops retries even when the node's `retry.max` allows more; `None`
    /// follows the class default (see the type's documentation).
    pub retriable: Option<bool>,
    /// A machine-readable cause (`timeout`, `cancelled`, `panic`); `None` for an ordinary
    /// failure.
    pub cause: Option<FailureCause>,
    /// Structured details.
    pub details: Option<Value>,
}

impl StepError {
    /// A step failure (code 2001) with `message`.
    pub fn new(message: impl Into<String>) -> Self {
        StepError {
            code: codes::STEP_FAILED,
            message: message.into(),
            retriable: None,
            cause: None,
            details: None,
        }
    }

    /// What a handler returns when it stops because its context's cancellation token fired
    /// (code 2001, cause `cancelled`, not retriable).
    pub fn cancelled(message: impl Into<String>) -> Self {
        StepError::new(message)
            .with_cause(FailureCause::Cancelled)
            .not_retriable()
    }

    /// The same error marked not retriable.
    pub fn not_retriable(mut self) -> Self {
        self.retriable = Some(false);
        self
    }

    /// The same error with a different code (e.g. 3002 for an internal failure).
    pub fn with_code(mut self, code: i64) -> Self {
        self.code = code;
        self
    }

    /// The same error with a machine-readable `cause`.
    pub fn with_cause(mut self, cause: FailureCause) -> Self {
        self.cause = Some(cause);
        self
    }

    /// The same error with `details`.
    pub fn with_details(mut self, details: Value) -> Self {
        self.details = Some(details);
        self
    }

    /// Whether the kit may retry this error: `retriable`, else true only for the
    /// StepFailure class (REP v0.1 §5).
    pub fn is_retriable(&self) -> bool {
        self.retriable
            .unwrap_or(ErrorClass::of(self.code) == ErrorClass::StepFailure)
    }

    /// The error as a REP error object for `step_id`, attempt `attempt`: `{ code, message,
    /// data: { step_id, attempt, retriable?, details?, cause? } }`.
    pub fn to_error_object(&self, step_id: &str, attempt: u32) -> ErrorObject {
        let mut extra = Map::new();
        if let Some(cause) = self.cause {
            extra.insert("cause".into(), Value::from(cause.as_str()));
        }
        ErrorObject::new(self.code, self.message.clone()).with_data(ErrorData {
            step_id: Some(step_id.to_owned()),
            attempt: Some(attempt),
            retriable: self.retriable,
            details: self.details.clone(),
            extra,
        })
    }
}

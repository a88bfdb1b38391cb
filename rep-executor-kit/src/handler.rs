//! The step-handler API: what an executor author writes.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use flow_ir::FlowIr;
use rep_spec::{ErrorData, ErrorObject, codes};
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

    /// Cancelled when the run is cancelled or the step times out: long handlers should
    /// `select!` on [`CancellationToken::cancelled`].
    pub fn cancellation(&self) -> &CancellationToken {
        &self.cancel
    }

    /// Emits a `log` event carrying this step's id (REP v0.1 §4). `level` is e.g. `info`.
    pub fn log(&self, level: &str, message: impl Into<String>) {
        self.run.log(level, message, Some(&self.step_id));
    }
}

/// A failed step attempt.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct StepError {
    /// The REP error code; 2001 (step execution failed) unless set otherwise.
    pub code: i64,
    /// What went wrong, for a person.
    pub message: String,
    /// `Some(false)` stops retries even when the node's `retry.max` allows more.
    pub retriable: Option<bool>,
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
            details: None,
        }
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

    /// The same error with `details`.
    pub fn with_details(mut self, details: Value) -> Self {
        self.details = Some(details);
        self
    }

    /// The error as a REP error object for `step_id`, attempt `attempt`.
    pub fn to_error_object(&self, step_id: &str, attempt: u32) -> ErrorObject {
        ErrorObject::new(self.code, self.message.clone()).with_data(ErrorData {
            step_id: Some(step_id.to_owned()),
            attempt: Some(attempt),
            retriable: self.retriable,
            details: self.details.clone(),
            extra: Map::new(),
        })
    }
}

//! One attempt of one node: the handler (or a built-in) bounded by the node timeout and by
//! cooperative cancellation with a grace, panics caught. Whether to retry, and what the end
//! means for the graph, is the scheduler's (`scheduler.rs`).
//!
//! An attempt ends in one of four ways:
//!
//! - the handler returns: its result;
//! - the handler panics: a failure, code 3002, cause `panic`, not retriable;
//! - the node's `timeout_ms` (0 = none) expires: the attempt's token is cancelled, the handler
//!   gets the grace to return, then its future is dropped; a failure, code 2001, cause
//!   `timeout`, retriable like any step failure;
//! - the attempt's token fires (the run is cancelled or stopping): the same grace; the
//!   handler's own result when it returns in time, else a failure with cause `cancelled`.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use flow_ir::{FlowIr, Node};
use futures_util::FutureExt;
use rep_spec::codes;
use serde_json::{Map, Value, json};
use tokio::time::Instant;

use crate::HandlerTable;
use crate::clock::elapsed_ms;
use crate::control::Control;
use crate::handler::{FailureCause, StepContext, StepError, StepResult};

/// One attempt of one node, ready to run as a task.
pub(crate) struct Attempt {
    /// The flow, shared: an attempt reads its node from it instead of holding a copy.
    pub flow: Arc<FlowIr>,
    /// The node's index in `flow.graph.nodes`.
    pub index: usize,
    /// The node's part in routing, which names its built-in attempt, if any.
    pub control: Control,
    pub handlers: Arc<HandlerTable>,
    /// How long a handler may run on after its token fired.
    pub grace: Duration,
}

impl Attempt {
    fn node(&self) -> &Node {
        &self.flow.graph.nodes[self.index]
    }

    /// Runs the attempt with `ctx` (whose token is this attempt's) and the resolved `with`.
    /// Returns its result and how long it took in ms.
    pub(crate) async fn run(self, ctx: StepContext, with: Map<String, Value>) -> (StepResult, u64) {
        let started = Instant::now();
        let result = self.bounded(&ctx, with).await;
        (result, elapsed_ms(started))
    }

    /// The work, bounded by the node timeout and the token in `ctx`.
    async fn bounded(&self, ctx: &StepContext, with: Map<String, Value>) -> StepResult {
        let work = self.work(ctx.clone(), with);
        tokio::pin!(work);
        let timeout_ms = self.node().timeout_ms;
        let timeout = async {
            if timeout_ms == 0 {
                std::future::pending::<()>().await;
            }
            tokio::time::sleep(Duration::from_millis(timeout_ms)).await;
        };
        let cause = tokio::select! {
            biased;
            result = &mut work => return result,
            () = ctx.cancel.cancelled() => FailureCause::Cancelled,
            () = timeout => FailureCause::Timeout,
        };
        ctx.cancel.cancel();
        let late = tokio::time::timeout(self.grace, &mut work).await;
        match (cause, late) {
            (FailureCause::Timeout, _) => Err(StepError::new(format!(
                "step {:?} timed out after {timeout_ms} ms",
                self.node().id
            ))
            .with_cause(FailureCause::Timeout)
            .with_details(json!({"timeout_ms": timeout_ms}))),
            (_, Ok(Ok(output))) => Ok(output),
            (_, Ok(Err(error))) => Err(StepError {
                cause: error.cause.or(Some(FailureCause::Cancelled)),
                ..error
            }),
            (_, Err(_)) => Err(StepError::cancelled(format!(
                "step {:?} cancelled: the handler did not stop within {} ms of its cancellation",
                self.node().id,
                self.grace.as_millis()
            ))),
        }
    }

    /// The handler's future, else the built-in's result, with panics turned into a failure.
    async fn work(&self, ctx: StepContext, with: Map<String, Value>) -> StepResult {
        let kind = self.node().kind.as_str();
        let Some(handler) = self.handlers.get(kind) else {
            return self.control.builtin(&with).unwrap_or_else(|| {
                Err(StepError::new(format!("no handler for step kind {kind:?}"))
                    .with_code(codes::UNSUPPORTED_STEP_KIND)
                    .not_retriable())
            });
        };
        // Building the future runs author code too: both parts are guarded.
        let future = std::panic::catch_unwind(AssertUnwindSafe(|| handler.call(ctx, with)))
            .map_err(|payload| panicked(&*payload))?;
        AssertUnwindSafe(future)
            .catch_unwind()
            .await
            .unwrap_or_else(|payload| Err(panicked(&*payload)))
    }
}

/// A panic payload as a failed attempt: code 3002, cause `panic`, not retriable.
pub(crate) fn panicked(payload: &(dyn std::any::Any + Send)) -> StepError {
    let message = payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "non-string panic payload".to_owned());
    StepError::new(format!("step handler panicked: {message}"))
        .with_code(codes::INTERNAL)
        .with_cause(FailureCause::Panic)
        .not_retriable()
}

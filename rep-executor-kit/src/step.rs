//! One node's execution: attempts, retries with backoff, the node timeout, cooperative
//! cancellation with a grace, panics caught, and the built-in `switch` and `finish`.
//!
//! Every attempt is reported: a `started` event, then `succeeded` or `failed`, each with its
//! `attempt` (1-based). An attempt ends in one of four ways:
//!
//! - the handler returns: its result;
//! - the handler panics: a failed attempt, code 3002, cause `panic`, not retried;
//! - the node's `timeout_ms` (0 = none) expires: the attempt's token is cancelled, the handler
//!   gets the grace to return, then its future is dropped; a failed attempt, code 2001, cause
//!   `timeout`, retried like any step failure;
//! - the step's token fires (the run is cancelled or stopping): the same grace; the handler's
//!   own result when it returns in time, else a failed attempt with cause `cancelled`. Never
//!   retried.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::{Duration, Instant};

use flow_ir::{FlowIr, Node};
use futures_util::FutureExt;
use rep_spec::{ErrorObject, codes};
use serde_json::{Map, Value, json};

use crate::handler::{FailureCause, StepContext, StepError, StepResult};
use crate::{BUILTIN_FINISH, BUILTIN_SWITCH, HandlerTable};

/// One node, ready to run.
pub(crate) struct Step {
    /// The flow, shared: a step reads its node from it instead of holding a copy.
    pub flow: Arc<FlowIr>,
    /// The node's index in `flow.graph.nodes`.
    pub index: usize,
    pub handlers: Arc<HandlerTable>,
    /// How long a handler may run on after its token fired.
    pub grace: Duration,
}

impl Step {
    fn node(&self) -> &Node {
        &self.flow.graph.nodes[self.index]
    }

    /// Runs attempts until one succeeds, the retry budget (`retry.max` extra attempts, with
    /// `retry.backoff_ms` between them) is spent, the error is not retriable, or the step's
    /// token (`ctx.cancel`) fires. Returns the output or the last attempt's error object.
    pub async fn run(
        self,
        ctx: StepContext,
        mut with: Map<String, Value>,
    ) -> Result<Value, ErrorObject> {
        let id = self.node().id.as_str();
        let step_token = ctx.cancel.clone();
        let attempts = self.node().retry.max.saturating_add(1);
        let mut attempt = 1;
        loop {
            let ctx = StepContext {
                attempt,
                cancel: step_token.child_token(),
                ..ctx.clone()
            };
            ctx.run.step_started(id, attempt);
            let started = Instant::now();
            // The last possible attempt takes `with`; earlier ones get a copy.
            let with_now = if attempt >= attempts {
                std::mem::take(&mut with)
            } else {
                with.clone()
            };
            let result = self.attempt(&ctx, with_now).await;
            let duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
            let error = match result {
                Ok(output) => {
                    ctx.run.step_succeeded(id, attempt, duration_ms);
                    return Ok(output);
                }
                Err(error) => error,
            };
            let last = attempt >= attempts || !error.is_retriable() || step_token.is_cancelled();
            let object = error.to_error_object(id, attempt);
            ctx.run
                .attempt_failed(id, attempt, duration_ms, &object, last);
            if last {
                return Err(object);
            }
            let backoff = Duration::from_millis(self.node().retry.backoff_ms);
            tokio::select! {
                biased;
                () = step_token.cancelled() => {
                    let error = StepError::cancelled(format!(
                        "run stopped before attempt {} of step {id:?}", attempt + 1
                    ))
                    .to_error_object(id, attempt);
                    ctx.run.retry_abandoned(id, &error);
                    return Err(error);
                }
                () = tokio::time::sleep(backoff) => {}
            }
            attempt += 1;
        }
    }

    /// One attempt, bounded by the node timeout and the token in `ctx`.
    async fn attempt(&self, ctx: &StepContext, with: Map<String, Value>) -> StepResult {
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

    /// The handler's future (or a built-in's), with panics turned into a failed attempt.
    async fn work(&self, ctx: StepContext, with: Map<String, Value>) -> StepResult {
        let kind = self.node().kind.as_str();
        let handler = match (self.handlers.get(kind), kind) {
            (Some(handler), _) => handler,
            (None, BUILTIN_SWITCH) => return switch(&with),
            (None, BUILTIN_FINISH) => return Ok(json!({})),
            (None, kind) => {
                return Err(StepError::new(format!("no handler for step kind {kind:?}"))
                    .with_code(codes::UNSUPPORTED_STEP_KIND)
                    .not_retriable());
            }
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

/// The built-in `switch`: `with = { key_from, cases: { value: node id }, default }`, with
/// `key_from` already resolved. Output: `{ value, case, target }`.
fn switch(with: &Map<String, Value>) -> StepResult {
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

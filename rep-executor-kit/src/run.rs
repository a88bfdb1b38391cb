//! The shared state of one run: status, the event buffer, counters and outputs.

use std::sync::{Mutex, MutexGuard};

use rep_spec::{ErrorObject, PollResult, RunStatus, StepState};
use serde_json::{Map, Value, json};
use tokio_util::sync::CancellationToken;

use crate::wire::{self, WireEvent};

/// One run's state, shared by the scheduler (writer) and Poll/Cancel (readers).
///
/// Events are appended in order and drained by [`RunHandle::poll`]: each event is delivered by
/// exactly one Poll (REP v0.1 §3 [clarified]). The final status is set under the same lock as
/// the last events, so a Poll that sees `completed`/`failed` also carries every event.
pub struct RunHandle {
    id: String,
    state: Mutex<RunState>,
    cancel: CancellationToken,
}

struct RunState {
    status: RunStatus,
    events: Vec<WireEvent>,
    completed_steps: u64,
    failed_steps: u64,
    outputs: Map<String, Value>,
    error: Option<ErrorObject>,
}

impl RunHandle {
    pub(crate) fn new(id: String) -> RunHandle {
        RunHandle {
            id,
            state: Mutex::new(RunState {
                status: RunStatus::Pending,
                events: Vec::new(),
                completed_steps: 0,
                failed_steps: 0,
                outputs: Map::new(),
                error: None,
            }),
            cancel: CancellationToken::new(),
        }
    }

    /// The run id.
    pub fn id(&self) -> &str {
        &self.id
    }

    fn lock(&self) -> MutexGuard<'_, RunState> {
        // A panic while holding the lock cannot leave RunState inconsistent (every update is
        // a single push or assignment), so a poisoned lock is still usable.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(crate) fn cancellation(&self) -> &CancellationToken {
        &self.cancel
    }

    pub(crate) fn set_running(&self) {
        let mut state = self.lock();
        if state.status == RunStatus::Pending {
            state.status = RunStatus::Running;
        }
        state.events.push(wire::log("info", "run started", None));
    }

    pub(crate) fn log(&self, level: &str, message: &str, step_id: Option<&str>) {
        let event = wire::log(level, message, step_id);
        self.lock().events.push(event);
    }

    pub(crate) fn step_started(&self, step_id: &str, attempt: u32) {
        let event = wire::step(step_id, StepState::Started, attempt, None, None);
        self.lock().events.push(event);
    }

    pub(crate) fn step_succeeded(&self, step_id: &str, attempt: u32, duration_ms: u64) {
        let event = wire::step(
            step_id,
            StepState::Succeeded,
            attempt,
            Some(duration_ms),
            None,
        );
        let mut state = self.lock();
        state.completed_steps += 1;
        state.events.push(event);
    }

    /// A `step` event `failed` for one attempt, with `error: { code, message, cause? }`
    /// (`cause` from `error.data.cause`). `last` counts the step in `failed_steps`.
    pub(crate) fn attempt_failed(
        &self,
        step_id: &str,
        attempt: u32,
        duration_ms: u64,
        error: &ErrorObject,
        last: bool,
    ) {
        let mut summary = json!({"code": error.code, "message": error.message});
        if let Some(cause) = error.data.as_ref().and_then(|d| d.extra.get("cause")) {
            summary["cause"] = cause.clone();
        }
        let event = wire::step(
            step_id,
            StepState::Failed,
            attempt,
            Some(duration_ms),
            Some(&summary),
        );
        let mut state = self.lock();
        if last {
            state.failed_steps += 1;
        }
        state.events.push(event);
    }

    /// A step whose last attempt failed as retriable, but whose retry will not happen (the run
    /// stopped during the backoff): a `log` event for the step, and the step counts as failed.
    pub(crate) fn retry_abandoned(&self, step_id: &str, error: &ErrorObject) {
        let event = wire::log(
            "warn",
            &format!("no more attempts: {}", error.message),
            Some(step_id),
        );
        let mut state = self.lock();
        state.failed_steps += 1;
        state.events.push(event);
    }

    pub(crate) fn add_outputs(&self, outputs: &Value) {
        if let Value::Object(map) = outputs {
            let mut state = self.lock();
            for (k, v) in map {
                state.outputs.insert(k.clone(), v.clone());
            }
        }
    }

    /// Sets the final status: `completed` when `error` is `None`, else `failed` with the error
    /// kept in the summary. Ignored when the run is already final.
    pub(crate) fn finish(&self, error: Option<ErrorObject>) {
        let mut state = self.lock();
        if state.status.is_final() {
            return;
        }
        let event = match &error {
            None => wire::log("info", "run completed", None),
            Some(e) => wire::log("error", &format!("run failed: {}", e.message), None),
        };
        state.events.push(event);
        state.status = if error.is_some() {
            RunStatus::Failed
        } else {
            RunStatus::Completed
        };
        state.error = error;
    }

    /// Status, the events since the previous poll (drained), and the summary
    /// `{ completed_steps, failed_steps, outputs, error? }`.
    pub fn poll(&self) -> PollResult<WireEvent> {
        let mut state = self.lock();
        let events = std::mem::take(&mut state.events);
        let mut summary = Map::new();
        summary.insert("completed_steps".into(), state.completed_steps.into());
        summary.insert("failed_steps".into(), state.failed_steps.into());
        summary.insert("outputs".into(), Value::Object(state.outputs.clone()));
        if let Some(error) = &state.error {
            summary.insert(
                "error".into(),
                serde_json::to_value(error).unwrap_or(Value::Null),
            );
        }
        PollResult {
            status: state.status,
            events,
            summary: Some(summary),
        }
    }

    /// Whether the run reached `completed` or `failed`.
    pub fn is_final(&self) -> bool {
        self.lock().status.is_final()
    }

    /// Requests cancellation (`Runtime.Cancel`): running handlers see their token cancelled
    /// and the scheduler stops the run, which ends `failed` with cause `cancelled` within the
    /// cancellation grace. Returns immediately; nothing changes for a finished run.
    pub(crate) fn cancel(&self) {
        {
            let mut state = self.lock();
            if state.status.is_final() || self.cancel.is_cancelled() {
                return;
            }
            state
                .events
                .push(wire::log("warn", "cancel requested", None));
        }
        self.cancel.cancel();
    }
}

//! Running a [`Case`] on an executor as a host does (REP v0.1 §2–§3): StartRun, Poll until a
//! final status, and — when the case says so — `Runtime.Cancel` as soon as the cancelled
//! step's first `started` event arrives, after which the run must be final within 5 s.

use std::time::Duration;

use rep_spec::{METHOD_CANCEL, RunStatus};
use serde_json::{Value, json};
use tokio::time::Instant;

use crate::checks::runs::{self, PollRecord};
use crate::conn::Connection;
use crate::semantics::case::Case;
use crate::semantics::compare::{Difference, Ending, compare};
use crate::semantics::model::{Expected, Status};
use crate::semantics::observe::{Aspect, Observed, observe};

/// First pause between polls; it doubles up to [`MAX_POLL_INTERVAL`].
const FIRST_POLL_INTERVAL: Duration = Duration::from_millis(2);
/// Longest pause between polls.
const MAX_POLL_INTERVAL: Duration = Duration::from_millis(50);
/// How long a cancelled run may take to become final (REP v0.1 §2 step 5: the host waits 5 s).
pub const CANCEL_GRACE: Duration = Duration::from_secs(5);

/// A run of a case, as far as it went.
#[derive(Debug, Clone, PartialEq)]
pub struct Execution {
    /// Every Poll, in order.
    pub polls: Vec<PollRecord>,
    /// When Cancel was sent, if it was.
    pub cancelled: bool,
    /// Why the run could not be followed to a final status, if it could not.
    pub broken: Option<Difference>,
}

impl Execution {
    /// Every event of every Poll, in order.
    pub fn events(&self) -> Vec<Value> {
        self.polls.iter().flat_map(|p| p.events.clone()).collect()
    }

    /// The final status and outputs, when the run reached a final status.
    pub fn ending(&self) -> Option<Ending> {
        let last = self.polls.last().filter(|p| p.is_final())?;
        Some(Ending {
            status: match last.status {
                RunStatus::Completed => Status::Completed,
                _ => Status::Failed,
            },
            outputs: last
                .summary
                .as_ref()
                .and_then(|s| s.get("outputs"))
                .cloned(),
        })
    }
}

/// Starts `case` as run `run_id` on `conn` and polls it to a final status, cancelling it as
/// the case says. Every wait ends at the connection's deadline.
pub async fn execute(conn: &mut Connection, case: &Case, run_id: &str) -> Execution {
    let mut execution = Execution {
        polls: Vec::new(),
        cancelled: false,
        broken: None,
    };
    let flow = crate::flows::Flow {
        name: case.name.clone(),
        ir: case.ir(),
        inputs: case.inputs.clone(),
        expect: crate::flows::Expect::Completed,
        outputs: None,
        long_running: false,
    };
    let broken = |reason: String| Some(Difference::new(Aspect::Transport, reason));
    let run_id = match runs::start(conn, &flow, run_id).await {
        Ok(id) => id,
        Err(failure) => {
            execution.broken = broken(format!("StartRun: {}", failure.reason));
            return execution;
        }
    };
    let mut pause = FIRST_POLL_INTERVAL;
    let mut cancel_by: Option<Instant> = None;
    loop {
        let record = match runs::poll(conn, &run_id).await {
            Ok(record) => record,
            Err(failure) => {
                execution.broken = broken(format!("Poll: {}", failure.reason));
                return execution;
            }
        };
        let done = record.is_final();
        let start_seen = case.cancel_at.as_deref().is_some_and(|id| {
            record.events.iter().any(|e| {
                e.get("type") == Some(&json!("step"))
                    && e.get("step_id") == Some(&json!(id))
                    && e.get("state") == Some(&json!("started"))
            })
        });
        execution.polls.push(record);
        if done {
            return execution;
        }
        if start_seen && !execution.cancelled {
            execution.cancelled = true;
            cancel_by = Some(Instant::now() + CANCEL_GRACE);
            match conn.call(METHOD_CANCEL, json!({"run_id": run_id})).await {
                Ok(result) if result.get("ok") == Some(&Value::Bool(true)) => {}
                Ok(result) => {
                    execution.broken = Some(Difference::new(
                        Aspect::Cancel,
                        format!(
                            "Cancel of the running run answered {}",
                            Value::Object(result)
                        ),
                    ));
                    return execution;
                }
                Err(failure) => {
                    execution.broken = broken(format!("Cancel: {}", failure.reason));
                    return execution;
                }
            }
            pause = FIRST_POLL_INTERVAL;
        }
        if cancel_by.is_some_and(|by| Instant::now() >= by) {
            execution.broken = Some(Difference::new(
                Aspect::Cancel,
                format!(
                    "the run was still {} {} s after Cancel",
                    execution
                        .polls
                        .last()
                        .map_or("running", |p| p.status.as_str()),
                    CANCEL_GRACE.as_secs()
                ),
            ));
            return execution;
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(MAX_POLL_INTERVAL);
    }
}

/// Every difference between the run and the model: a broken run, or the comparison of
/// [`compare`] (with `concurrency` the executor's `limits.concurrency`).
pub fn judge(
    case: &Case,
    expected: &Expected,
    execution: &Execution,
    concurrency: Option<u64>,
) -> (Observed, Vec<Difference>) {
    let observed = observe(case, &execution.events(), concurrency);
    let mut differences = Vec::new();
    if let Some(broken) = &execution.broken {
        differences.push(broken.clone());
    }
    match execution.ending() {
        Some(ending) => differences.extend(compare(case, expected, &observed, &ending)),
        None if execution.broken.is_none() => differences.push(Difference::new(
            Aspect::Transport,
            "the run did not reach a final status",
        )),
        None => {}
    }
    (observed, differences)
}

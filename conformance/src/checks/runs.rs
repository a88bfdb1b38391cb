//! Starting runs and polling them as a host does (REP v0.1 §2–§3), keeping every poll.

use rep_spec::{METHOD_POLL, METHOD_START_RUN, PollCadence, RunStatus};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::checks::Ctx;
use crate::conn::{Connection, Reply};
use crate::flows::Flow;
use crate::verdict::Failure;

/// One `Runtime.Poll` answer.
#[derive(Debug, Clone, PartialEq)]
pub struct PollRecord {
    /// `status`.
    pub status: RunStatus,
    /// `events` (empty when absent).
    pub events: Vec<Value>,
    /// `summary`, when present.
    pub summary: Option<Value>,
    /// The answering frame.
    pub reply: Reply,
}

impl PollRecord {
    /// Whether the status is `completed` or `failed`.
    pub fn is_final(&self) -> bool {
        self.status.is_final()
    }
}

/// A run polled to its final status.
#[derive(Debug, Clone, PartialEq)]
pub struct RunRecord {
    /// The flow's name.
    pub flow: String,
    /// The run id StartRun answered.
    pub run_id: String,
    /// Every poll, the last one final.
    pub polls: Vec<PollRecord>,
}

impl RunRecord {
    /// The last poll (final).
    pub fn last(&self) -> Option<&PollRecord> {
        self.polls.last()
    }

    /// The final status (`failed` when no poll was recorded, which cannot happen).
    pub fn status(&self) -> RunStatus {
        self.last().map_or(RunStatus::Failed, |p| p.status)
    }

    /// Why the run failed, as the executor said: the last `step` event whose state is
    /// `failed` (`step S failed: CODE MESSAGE`, REP v0.1 §4), else the final summary's
    /// `error`; `None` when it said neither.
    pub fn failure(&self) -> Option<String> {
        let is =
            |e: &Value, key: &str, value: &str| e.get(key).and_then(Value::as_str) == Some(value);
        let failed_step = self
            .events()
            .map(|(e, _)| e)
            .filter(|e| is(e, "type", "step") && is(e, "state", "failed"))
            .last();
        if let Some(event) = failed_step {
            let step = event.get("step_id").and_then(Value::as_str).unwrap_or("?");
            let error = event
                .get("error")
                .map_or_else(|| "(no error in its event)".to_owned(), error_text);
            return Some(format!("step {step} failed: {error}"));
        }
        let error = self.last()?.summary.as_ref()?.get("error")?;
        Some(format!("summary.error: {}", error_text(error)))
    }

    /// Every event of every poll, with the poll that delivered it.
    pub fn events(&self) -> impl Iterator<Item = (&Value, &PollRecord)> {
        self.polls
            .iter()
            .flat_map(|p| p.events.iter().map(move |e| (e, p)))
    }
}

/// An error as an executor gives it: `{code, message}` as `CODE MESSAGE`, a string as it is,
/// anything else as JSON.
fn error_text(error: &Value) -> String {
    match (
        error.get("code"),
        error.get("message").and_then(Value::as_str),
    ) {
        (Some(code), Some(message)) => format!("{code} {message}"),
        (None, Some(message)) => message.to_owned(),
        _ => error
            .as_str()
            .map_or_else(|| error.to_string(), str::to_owned),
    }
}

/// A run id for the `n`-th run of test `tag`.
pub fn run_id(tag: &str, n: usize) -> String {
    format!("conformance-{tag}-{n}")
}

/// `Runtime.StartRun` of `flow` with `options.run_id = run_id`; returns the reply.
///
/// # Errors
/// Anything but a success response whose result is an object.
pub async fn start_raw(
    conn: &mut Connection,
    flow: &Flow,
    run_id: &str,
) -> Result<(Map<String, Value>, Reply), Failure> {
    let params = json!({
        "ir": flow.ir,
        "inputs": flow.inputs,
        "options": {"run_id": run_id, "trace_id": "conformance-trace", "allow_shell": false}
    });
    let result = conn
        .call(METHOD_START_RUN, params)
        .await
        .map_err(|f| f.context(format!("flow {}", flow.name)))?;
    let reply = conn
        .last_reply()
        .ok_or_else(|| Failure::new("no StartRun reply recorded"))?;
    Ok((result, reply))
}

/// Starts `flow`; returns the executor's run id.
///
/// # Errors
/// As [`start_raw`], and a result without a non-empty string `run_id`.
pub async fn start(conn: &mut Connection, flow: &Flow, run_id: &str) -> Result<String, Failure> {
    let (result, reply) = start_raw(conn, flow, run_id).await?;
    match result.get("run_id") {
        Some(Value::String(id)) if !id.is_empty() => Ok(id.clone()),
        _ => Err(reply.fail("the StartRun result has no non-empty string run_id")),
    }
}

/// One `Runtime.Poll`.
///
/// # Errors
/// A non-success answer, a status that is not pending, running, completed or failed,
/// `events` not an array, `summary` not an object (REP v0.1 §3).
pub async fn poll(conn: &mut Connection, run_id: &str) -> Result<PollRecord, Failure> {
    let result = conn.call(METHOD_POLL, json!({"run_id": run_id})).await?;
    let reply = conn
        .last_reply()
        .ok_or_else(|| Failure::new("no Poll reply recorded"))?;
    let status = match result.get("status") {
        Some(s) if s.is_string() => match RunStatus::deserialize(s) {
            Ok(status) => status,
            Err(_) => {
                return Err(reply.fail(format!(
                    "Poll status {s} is not one of pending, running, completed, failed"
                )));
            }
        },
        Some(other) => {
            return Err(reply.fail(format!(
                "Poll status {other} is not one of pending, running, completed, failed"
            )));
        }
        None => return Err(reply.fail("the Poll result has no status")),
    };
    let events = match result.get("events") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(events)) => events.clone(),
        Some(_) => return Err(reply.fail("Poll events is not an array")),
    };
    let summary = match result.get("summary") {
        None => None,
        Some(s @ Value::Object(_)) => Some(s.clone()),
        Some(_) => return Err(reply.fail("Poll summary is not an object")),
    };
    Ok(PollRecord {
        status,
        events,
        summary,
        reply,
    })
}

/// Polls `run_id` until its status is final, at the cadence of every host
/// ([`PollCadence::HOST`]).
///
/// # Errors
/// As [`poll`]; the test's deadline passing first.
pub async fn poll_until_final(
    conn: &mut Connection,
    run_id: &str,
) -> Result<Vec<PollRecord>, Failure> {
    let mut polls = Vec::new();
    let mut backoff = PollCadence::HOST.start();
    loop {
        let record = poll(conn, run_id).await?;
        let (done, had_events) = (record.is_final(), !record.events.is_empty());
        polls.push(record);
        if done {
            return Ok(polls);
        }
        tokio::time::sleep(backoff.after(had_events)).await;
    }
}

/// Starts `flow` on `conn` and polls it to its final status.
///
/// # Errors
/// As [`start`] and [`poll_until_final`], each naming the flow once.
pub async fn run_on(
    conn: &mut Connection,
    flow: &Flow,
    run_id: &str,
) -> Result<RunRecord, Failure> {
    // start names the flow in its failures; the polls get it here, once.
    let run_id = start(conn, flow, run_id).await?;
    let polls = poll_until_final(conn, &run_id)
        .await
        .map_err(|f| f.context(format!("flow {}", flow.name)))?;
    Ok(RunRecord {
        flow: flow.name.clone(),
        run_id,
        polls,
    })
}

/// Runs each of `flows` to its end, each on a fresh executor process.
///
/// # Errors
/// The first failure, naming the flow.
pub async fn run_each(
    ctx: &Ctx<'_>,
    flows: &[&Flow],
    tag: &str,
) -> Result<Vec<RunRecord>, Failure> {
    let mut runs = Vec::new();
    for (n, flow) in flows.iter().enumerate() {
        let mut conn = ctx.connect()?;
        let record = run_on(&mut conn, flow, &run_id(tag, n + 1)).await;
        conn.close().await;
        runs.push(record?);
    }
    Ok(runs)
}

/// Whether `expected` is a recursive subset of `actual`: every key of an expected object is
/// in the actual object with a matching value; arrays and scalars match exactly, numbers by
/// value (`1` matches `1.0`). On mismatch, the JSON pointer of the first difference.
pub fn subset(expected: &Value, actual: &Value, path: &str) -> Result<(), String> {
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) => {
            for (key, value) in e {
                let here = format!("{path}/{key}");
                match a.get(key) {
                    Some(found) => subset(value, found, &here)?,
                    None => return Err(format!("{here} is missing")),
                }
            }
            Ok(())
        }
        (Value::Array(e), Value::Array(a)) if e.len() == a.len() => {
            for (i, (ev, av)) in e.iter().zip(a).enumerate() {
                subset(ev, av, &format!("{path}/{i}"))?;
            }
            Ok(())
        }
        (Value::Number(e), Value::Number(a)) if e.as_f64() == a.as_f64() => Ok(()),
        (e, a) if e == a => Ok(()),
        (e, a) => Err(format!("{path} is {a}, expected {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subset_matches_recursively_and_names_the_difference() {
        let actual = json!({"decision": {"action": "WRITE_BACK", "value": 1.0}, "x": [1, 2]});
        assert!(subset(&json!({"decision": {"value": 1}}), &actual, "").is_ok());
        assert!(subset(&json!({"x": [1, 2]}), &actual, "").is_ok());
        assert_eq!(
            subset(&json!({"decision": {"action": "NONE"}}), &actual, ""),
            Err("/decision/action is \"WRITE_BACK\", expected \"NONE\"".into())
        );
        assert_eq!(
            subset(&json!({"y": 1}), &actual, ""),
            Err("/y is missing".into())
        );
        assert!(subset(&json!({"x": [1]}), &actual, "").is_err());
    }
}

//! REP-LIF-*, REP-EVT-* and REP-SUM-001: the Poll lifecycle, events and the summary
//! (REP v0.1 §2–§4).

use rep_spec::{
    ErrorClass, METHOD_CANCEL, METHOD_CAPABILITIES, METHOD_POLL, RunStatus, StepState, event_type,
};
use serde::Deserialize;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::checks::framing::UNKNOWN_RUN_ID;
use crate::checks::{Ctx, count, runs};
use crate::conn::short_error;
use crate::flows::Expect;
use crate::verdict::{Check, Failure, Skip};

/// The order of statuses: pending → running → final.
fn rank(status: RunStatus) -> u8 {
    match status {
        RunStatus::Pending => 0,
        RunStatus::Running => 1,
        RunStatus::Completed | RunStatus::Failed => 2,
    }
}

/// REP-LIF-001: every Poll of every runnable flow answers `{status, events?, summary?}` with
/// a status of §3 (checked as each Poll is read), until the run is final.
pub async fn poll_shape(ctx: &Ctx<'_>) -> Check {
    let flows = ctx.plan.all_runnable()?;
    let records = runs::run_each(ctx, &flows, "lif-001").await?;
    let polls: usize = records.iter().map(|r| r.polls.len()).sum();
    Ok(format!(
        "{}, {polls} polls, each {{status, events?, summary?}} with a valid status",
        count(flows.len(), "flow", "flows")
    ))
}

/// REP-LIF-006 (SHOULD): statuses never go back (pending → running → final), and a final
/// status stays final on two more polls.
pub async fn status_order(ctx: &Ctx<'_>) -> Check {
    let flows = ctx.plan.all_runnable()?;
    let mut polls = 0;
    for (n, flow) in flows.iter().enumerate() {
        let mut conn = ctx.connect()?;
        let record = runs::run_on(&mut conn, flow, &runs::run_id("lif-006", n + 1)).await?;
        for pair in record.polls.windows(2) {
            if rank(pair[1].status) < rank(pair[0].status) {
                return Err(pair[1]
                    .reply
                    .fail(format!(
                        "flow {}: status went from {} back to {}",
                        flow.name,
                        pair[0].status.as_str(),
                        pair[1].status.as_str()
                    ))
                    .into());
            }
        }
        for _ in 0..2 {
            let again = runs::poll(&mut conn, &record.run_id).await?;
            if again.status != record.status() {
                return Err(again
                    .reply
                    .fail(format!(
                        "flow {}: final status {} became {} on a later Poll",
                        flow.name,
                        record.status().as_str(),
                        again.status.as_str()
                    ))
                    .into());
            }
        }
        polls += record.polls.len() + 2;
        conn.close().await;
    }
    Ok(format!(
        "{}, {polls} polls, statuses in order and final statuses stable",
        count(flows.len(), "flow", "flows")
    ))
}

/// REP-LIF-002: every flow expected to complete completes, with its expected outputs.
pub async fn completes(ctx: &Ctx<'_>) -> Check {
    let flows = ctx.plan.expecting(Expect::Completed);
    if flows.is_empty() {
        return Err(ctx.plan.no_flow("a flow that completes").into());
    }
    let records = runs::run_each(ctx, &flows, "lif-002").await?;
    for (flow, record) in flows.iter().zip(&records) {
        let last = record
            .last()
            .ok_or_else(|| Failure::new("no poll recorded"))?;
        if record.status() != RunStatus::Completed {
            return Err(last
                .reply
                .fail(format!(
                    "flow {} ended {}, expected completed{}",
                    flow.name,
                    record.status().as_str(),
                    record
                        .failure()
                        .map_or_else(String::new, |why| format!(": {why}"))
                ))
                .into());
        }
        if let Some(expected) = &flow.outputs {
            let outputs = last
                .summary
                .as_ref()
                .and_then(|s| s.get("outputs"))
                .unwrap_or(&Value::Null);
            runs::subset(expected, outputs, "summary.outputs")
                .map_err(|why| last.reply.fail(format!("flow {}: {why}", flow.name)))?;
        }
    }
    let names: Vec<&str> = flows.iter().map(|f| f.name.as_str()).collect();
    Ok(format!("completed: {}", names.join(", ")))
}

/// REP-LIF-003: every flow expected to fail ends `failed`.
pub async fn fails(ctx: &Ctx<'_>) -> Check {
    let flows = ctx.plan.expecting(Expect::Failed);
    if flows.is_empty() {
        return Err(Skip::new(
            "no flow expected to fail",
            "give --fixtures DIR with a fixture whose expect.status is \"failed\"",
        )
        .into());
    }
    let records = runs::run_each(ctx, &flows, "lif-003").await?;
    for (flow, record) in flows.iter().zip(&records) {
        if record.status() != RunStatus::Failed {
            let last = record
                .last()
                .ok_or_else(|| Failure::new("no poll recorded"))?;
            return Err(last
                .reply
                .fail(format!(
                    "flow {} ended {}, expected failed",
                    flow.name,
                    record.status().as_str()
                ))
                .into());
        }
    }
    let names: Vec<&str> = flows.iter().map(|f| f.name.as_str()).collect();
    Ok(format!("failed as expected: {}", names.join(", ")))
}

/// REP-LIF-004 (SHOULD): no event comes back in a later poll, and a Poll after the final
/// one has none.
pub async fn events_once(ctx: &Ctx<'_>) -> Check {
    let flows = ctx.plan.all_runnable()?;
    let mut total = 0;
    for (n, flow) in flows.iter().enumerate() {
        let mut conn = ctx.connect()?;
        let record = runs::run_on(&mut conn, flow, &runs::run_id("lif-004", n + 1)).await?;
        for (i, poll) in record.polls.iter().enumerate() {
            for event in &poll.events {
                if record.polls[..i].iter().any(|p| p.events.contains(event)) {
                    return Err(poll
                        .reply
                        .fail(format!(
                            "flow {}: an event of an earlier Poll came again: {event}",
                            flow.name
                        ))
                        .into());
                }
            }
            total += poll.events.len();
        }
        let after = runs::poll(&mut conn, &record.run_id).await?;
        if let Some(event) = after.events.first() {
            return Err(after
                .reply
                .fail(format!(
                    "flow {}: a Poll after the final one returned an event again: {event}",
                    flow.name
                ))
                .into());
        }
        conn.close().await;
    }
    Ok(format!(
        "{} over {}, each delivered once",
        count(total, "event", "events"),
        count(flows.len(), "flow", "flows")
    ))
}

/// REP-LIF-005 (SHOULD): Poll and Cancel of an unknown run id are answered (a Validation
/// error, or Poll `failed` with `summary.error`, or Cancel `{ok}`), and Capabilities still
/// works.
pub async fn unknown_run(ctx: &Ctx<'_>) -> Check {
    let mut conn = ctx.connect()?;
    let params = json!({"run_id": UNKNOWN_RUN_ID});
    let validation = |code| ErrorClass::of(code) == ErrorClass::Validation;
    let reply = conn.request(METHOD_POLL, params.clone()).await?;
    match (reply.error(), reply.result()) {
        (Some(e), _) if validation(e.code) => {}
        (Some(e), _) => {
            return Err(reply
                .fail(format!(
                    "Poll of an unknown run answered {}, not a 1000–1999 error",
                    short_error(e)
                ))
                .into());
        }
        (None, Some(r)) if r["status"] == "failed" && r.pointer("/summary/error").is_some() => {}
        _ => {
            return Err(reply
                .fail("Poll of an unknown run answered neither a 1000–1999 error nor status failed with summary.error")
                .into());
        }
    }
    let reply = conn.request(METHOD_CANCEL, params).await?;
    match (reply.error(), reply.result()) {
        (Some(e), _) if validation(e.code) => {}
        (None, Some(r)) if r.get("ok").is_some_and(Value::is_boolean) => {}
        _ => {
            return Err(reply
                .fail("Cancel of an unknown run answered neither a 1000–1999 error nor {ok: bool}")
                .into());
        }
    }
    conn.call(METHOD_CAPABILITIES, json!({}))
        .await
        .map_err(|f| f.context("after an unknown run id"))?;
    conn.close().await;
    Ok("answered without a crash".into())
}

/// Every runnable flow run to its end (for the event and summary tests).
async fn all_runs(
    ctx: &Ctx<'_>,
    tag: &str,
) -> Result<Vec<runs::RunRecord>, crate::verdict::Outcome> {
    let flows = ctx.plan.all_runnable()?;
    Ok(runs::run_each(ctx, &flows, tag).await?)
}

/// Runs every runnable flow and checks each event of type `kind` (every event when `None`)
/// with `check`, which says what is wrong; `noun` names such events (singular, plural). The
/// test is skipped when the runs produced none.
async fn check_events(
    ctx: &Ctx<'_>,
    tag: &str,
    kind: Option<&str>,
    noun: (&str, &str),
    check: fn(&Value) -> Result<(), String>,
) -> Check {
    let records = all_runs(ctx, tag).await?;
    let mut seen = 0;
    for record in &records {
        let events = record
            .events()
            .filter(|(e, _)| kind.is_none_or(|k| e["type"] == k));
        for (event, poll) in events {
            check(event).map_err(|why| {
                poll.reply
                    .fail(format!("flow {}: {why}: {event}", record.flow))
            })?;
            seen += 1;
        }
    }
    if seen == 0 {
        return Err(Skip::new(
            format!("the runs produced no {}", noun.1),
            "give --fixtures DIR with a flow whose run produces them (events are optional in REP v0.1)",
        )
        .into());
    }
    Ok(format!("{} well formed", count(seen, noun.0, noun.1)))
}

/// REP-EVT-001: every event is an object with a string `type` and an RFC 3339 `timestamp`.
pub async fn event_shape(ctx: &Ctx<'_>) -> Check {
    check_events(ctx, "evt-001", None, ("event", "events"), |event| {
        if !event.get("type").is_some_and(Value::is_string) {
            return Err("event without a string type".into());
        }
        let stamp = event.get("timestamp").and_then(Value::as_str);
        if stamp.is_none_or(|s| OffsetDateTime::parse(s, &Rfc3339).is_err()) {
            return Err("event timestamp is not RFC 3339".into());
        }
        Ok(())
    })
    .await
}

/// REP-EVT-002: `step` events have a string `step_id` and `state` started|succeeded|failed.
pub async fn step_event_shape(ctx: &Ctx<'_>) -> Check {
    let noun = ("step event", "step events");
    check_events(ctx, "evt-002", Some(event_type::STEP), noun, |event| {
        if !event.get("step_id").is_some_and(Value::is_string) {
            return Err("step event without a string step_id".into());
        }
        let state = event.get("state").filter(|s| s.is_string());
        if state.is_none_or(|s| StepState::deserialize(s).is_err()) {
            return Err("step event state is not started|succeeded|failed".into());
        }
        Ok(())
    })
    .await
}

/// REP-EVT-003: `log` events have a string `level` and `message`, and a string `step_id`
/// when they have one.
pub async fn log_event_shape(ctx: &Ctx<'_>) -> Check {
    let noun = ("log event", "log events");
    check_events(ctx, "evt-003", Some(event_type::LOG), noun, |event| {
        for field in ["level", "message"] {
            if !event.get(field).is_some_and(Value::is_string) {
                return Err(format!("log event without a string {field}"));
            }
        }
        if event.get("step_id").is_some_and(|s| !s.is_string()) {
            return Err("log event step_id is not a string".into());
        }
        Ok(())
    })
    .await
}

/// REP-SUM-001 (SHOULD): the final Poll's summary has integer `completed_steps` and
/// `failed_steps`.
pub async fn summary_counts(ctx: &Ctx<'_>) -> Check {
    let records = all_runs(ctx, "sum-001").await?;
    for record in &records {
        let last = record
            .last()
            .ok_or_else(|| Failure::new("no poll recorded"))?;
        for field in ["completed_steps", "failed_steps"] {
            let value = last.summary.as_ref().and_then(|s| s.get(field));
            if !value.is_some_and(Value::is_u64) {
                return Err(last
                    .reply
                    .fail(format!(
                        "flow {}: the final summary has no integer {field}",
                        record.flow
                    ))
                    .into());
            }
        }
    }
    Ok(format!(
        "{} count steps",
        count(records.len(), "final summary", "final summaries")
    ))
}

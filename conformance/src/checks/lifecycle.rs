//! REP-LIF-*, REP-EVT-* and REP-SUM-001: the Poll lifecycle, events and the summary
//! (REP v0.1 §2–§4).

use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::checks::{Ctx, count, runs};
use crate::conn::short_error;
use crate::flows::Expect;
use crate::verdict::{Check, Failure, Success};

fn rank(status: &str) -> u8 {
    match status {
        "pending" => 0,
        "running" => 1,
        _ => 2,
    }
}

/// REP-LIF-001: statuses are valid (checked by every poll), never go back
/// (pending → running → final), and a final status stays final on two more polls.
pub async fn status_values(ctx: &Ctx<'_>) -> Check {
    let flows = ctx.plan.all_runnable()?;
    let mut polls = 0;
    for (n, flow) in flows.iter().enumerate() {
        let mut conn = ctx.connect()?;
        let record = runs::run_on(&mut conn, flow, &runs::run_id("lif-001", n + 1)).await?;
        for pair in record.polls.windows(2) {
            if rank(&pair[1].status) < rank(&pair[0].status) {
                return Err(pair[1].reply.fail(format!(
                    "flow {}: status went from {} back to {}",
                    flow.name, pair[0].status, pair[1].status
                )));
            }
        }
        for _ in 0..2 {
            let again = runs::poll(&mut conn, &record.run_id).await?;
            if again.status != record.status() {
                return Err(again.reply.fail(format!(
                    "flow {}: final status {} became {} on a later Poll",
                    flow.name,
                    record.status(),
                    again.status
                )));
            }
        }
        polls += record.polls.len() + 2;
        conn.close().await;
    }
    Ok(Success::Pass(format!(
        "{}, {polls} polls, statuses valid and final statuses stable",
        count(flows.len(), "flow", "flows")
    )))
}

/// REP-LIF-002: every flow expected to complete completes, with its expected outputs.
pub async fn completes(ctx: &Ctx<'_>) -> Check {
    let flows = ctx.plan.expecting(Expect::Completed);
    if flows.is_empty() {
        return Err(ctx
            .plan
            .completing()
            .err()
            .unwrap_or_else(|| Failure::not_testable("no flow")));
    }
    let records = runs::run_each(ctx, &flows, "lif-002").await?;
    for (flow, record) in flows.iter().zip(&records) {
        let last = record
            .last()
            .ok_or_else(|| Failure::new("no poll recorded"))?;
        if record.status() != "completed" {
            return Err(last.reply.fail(format!(
                "flow {} ended {}, expected completed",
                flow.name,
                record.status()
            )));
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
    Ok(Success::Pass(format!("completed: {}", names.join(", "))))
}

/// REP-LIF-003: every flow expected to fail ends `failed`.
pub async fn fails(ctx: &Ctx<'_>) -> Check {
    let flows = ctx.plan.expecting(Expect::Failed);
    if flows.is_empty() {
        return Err(Failure::not_testable(
            "needs a flow that fails: give --fixtures with a fixture expecting \"failed\"",
        ));
    }
    let records = runs::run_each(ctx, &flows, "lif-003").await?;
    for (flow, record) in flows.iter().zip(&records) {
        if record.status() != "failed" {
            let last = record
                .last()
                .ok_or_else(|| Failure::new("no poll recorded"))?;
            return Err(last.reply.fail(format!(
                "flow {} ended {}, expected failed",
                flow.name,
                record.status()
            )));
        }
    }
    let names: Vec<&str> = flows.iter().map(|f| f.name.as_str()).collect();
    Ok(Success::Pass(format!(
        "failed as expected: {}",
        names.join(", ")
    )))
}

/// REP-LIF-004: no event comes back in a later poll, and a Poll after the final one has none.
pub async fn events_once(ctx: &Ctx<'_>) -> Check {
    let flows = ctx.plan.all_runnable()?;
    let mut total = 0;
    for (n, flow) in flows.iter().enumerate() {
        let mut conn = ctx.connect()?;
        let record = runs::run_on(&mut conn, flow, &runs::run_id("lif-004", n + 1)).await?;
        for (i, poll) in record.polls.iter().enumerate() {
            for event in &poll.events {
                if record.polls[..i].iter().any(|p| p.events.contains(event)) {
                    return Err(poll.reply.fail(format!(
                        "flow {}: an event of an earlier Poll came again: {event}",
                        flow.name
                    )));
                }
            }
            total += poll.events.len();
        }
        let after = runs::poll(&mut conn, &record.run_id).await?;
        if let Some(event) = after.events.first() {
            return Err(after.reply.fail(format!(
                "flow {}: a Poll after the final one returned an event again: {event}",
                flow.name
            )));
        }
        conn.close().await;
    }
    Ok(Success::Pass(format!(
        "{} over {}, each delivered once",
        count(total, "event", "events"),
        count(flows.len(), "flow", "flows")
    )))
}

/// REP-LIF-005: Poll and Cancel of an unknown run id are answered (1000–1999, or Poll
/// `failed` with `summary.error`, or Cancel `{ok}`), and Capabilities still works.
pub async fn unknown_run(ctx: &Ctx<'_>) -> Check {
    let mut conn = ctx.connect()?;
    let params = json!({"run_id": "conformance-unknown-run"});
    let reply = conn.request("Runtime.Poll", params.clone()).await?;
    let validation = |e: &Value| {
        e.get("code")
            .and_then(Value::as_i64)
            .is_some_and(|c| (1000..=1999).contains(&c))
    };
    match (reply.error(), reply.result()) {
        (Some(e), _) if validation(e) => {}
        (Some(e), _) => {
            return Err(reply.fail(format!(
                "Poll of an unknown run answered {}, not a 1000–1999 error",
                short_error(e)
            )));
        }
        (None, Some(r)) if r["status"] == "failed" && r.pointer("/summary/error").is_some() => {}
        _ => {
            return Err(reply.fail(
                "Poll of an unknown run must answer a 1000–1999 error or status failed with summary.error",
            ));
        }
    }
    let reply = conn.request("Runtime.Cancel", params).await?;
    match (reply.error(), reply.result()) {
        (Some(e), _) if validation(e) => {}
        (None, Some(r)) if r.get("ok").is_some_and(Value::is_boolean) => {}
        _ => {
            return Err(
                reply.fail("Cancel of an unknown run must answer a 1000–1999 error or {ok: bool}")
            );
        }
    }
    conn.call("Runtime.Capabilities", json!({}))
        .await
        .map_err(|f| Failure {
            reason: format!("after an unknown run id: {}", f.reason),
            frame: f.frame,
        })?;
    conn.close().await;
    Ok(Success::Pass("answered without a crash".into()))
}

/// Every runnable flow run to its end (for the event and summary tests).
async fn all_runs(ctx: &Ctx<'_>, tag: &str) -> Result<Vec<runs::RunRecord>, Failure> {
    let flows = ctx.plan.all_runnable()?;
    runs::run_each(ctx, &flows, tag).await
}

/// REP-EVT-001: every event is an object with a string `type` and an RFC 3339 `timestamp`.
pub async fn event_shape(ctx: &Ctx<'_>) -> Check {
    let records = all_runs(ctx, "evt-001").await?;
    let mut seen = 0;
    for record in &records {
        for (event, poll) in record.events() {
            let fail = |why: String| poll.reply.fail(format!("flow {}: {why}", record.flow));
            if !event.get("type").is_some_and(Value::is_string) {
                return Err(fail(format!("event without a string type: {event}")));
            }
            let stamp = event.get("timestamp").and_then(Value::as_str);
            if stamp.is_none_or(|s| OffsetDateTime::parse(s, &Rfc3339).is_err()) {
                return Err(fail(format!("event timestamp is not RFC 3339: {event}")));
            }
            seen += 1;
        }
    }
    if seen == 0 {
        return Err(Failure::not_testable("the runs produced no events"));
    }
    Ok(Success::Pass(format!(
        "{} well formed",
        count(seen, "event", "events")
    )))
}

/// REP-EVT-002: `step` events have a string `step_id` and `state` started|succeeded|failed.
pub async fn step_event_shape(ctx: &Ctx<'_>) -> Check {
    let records = all_runs(ctx, "evt-002").await?;
    let mut seen = 0;
    for record in &records {
        for (event, poll) in record.events().filter(|(e, _)| e["type"] == "step") {
            let fail = |why: String| poll.reply.fail(format!("flow {}: {why}", record.flow));
            if !event.get("step_id").is_some_and(Value::is_string) {
                return Err(fail(format!(
                    "step event without a string step_id: {event}"
                )));
            }
            let state = event.get("state").and_then(Value::as_str);
            if !state.is_some_and(|s| ["started", "succeeded", "failed"].contains(&s)) {
                return Err(fail(format!(
                    "step event state is not started|succeeded|failed: {event}"
                )));
            }
            seen += 1;
        }
    }
    if seen == 0 {
        return Err(Failure::not_testable("the runs produced no step events"));
    }
    Ok(Success::Pass(format!(
        "{} well formed",
        count(seen, "step event", "step events")
    )))
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
                return Err(last.reply.fail(format!(
                    "flow {}: the final summary has no integer {field}",
                    record.flow
                )));
            }
        }
    }
    Ok(Success::Pass(format!(
        "{} count steps",
        count(records.len(), "final summary", "final summaries")
    )))
}

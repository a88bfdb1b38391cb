//! REP-CAN-* and REP-HLT-001: Cancel and Health (REP v0.1 §2, §3).

use std::time::Duration;

use rep_spec::{METHOD_CANCEL, METHOD_HEALTH, RunStatus, codes};
use serde_json::{Value, json};
use tokio::time::Instant;

use crate::checks::{Ctx, runs};
use crate::conn::Connection;
use crate::verdict::{Check, Failure, Skip};

/// How long a cancelled running run may take to become `failed` (REP v0.1 §2 step 5).
const CANCEL_GRACE: Duration = Duration::from_secs(5);

/// `Runtime.Cancel` of `run_id`; requires `{ok: true}`.
async fn cancel_ok(conn: &mut Connection, run_id: &str, what: &str) -> Result<(), Failure> {
    let result = conn.call(METHOD_CANCEL, json!({"run_id": run_id})).await?;
    if result.get("ok") != Some(&Value::Bool(true)) {
        let reply = conn
            .last_reply()
            .ok_or_else(|| Failure::new("no reply recorded"))?;
        return Err(reply.fail(format!("{what} did not answer {{\"ok\": true}}")));
    }
    Ok(())
}

/// REP-CAN-001: Cancel of a run that already completed answers `{ok: true}`.
pub async fn finished(ctx: &Ctx<'_>) -> Check {
    let flow = ctx.plan.completing()?;
    let mut conn = ctx.connect()?;
    let record = runs::run_on(&mut conn, flow, &runs::run_id("can-001", 1)).await?;
    cancel_ok(&mut conn, &record.run_id, "Cancel of a finished run").await?;
    conn.close().await;
    Ok(format!("ok: true for a {} run", record.status().as_str()))
}

/// REP-CAN-002 (SHOULD): two Cancels of a finished run both answer `{ok: true}`, and the run's
/// status is unchanged afterwards.
pub async fn idempotent(ctx: &Ctx<'_>) -> Check {
    let flow = ctx.plan.completing()?;
    let mut conn = ctx.connect()?;
    let record = runs::run_on(&mut conn, flow, &runs::run_id("can-002", 1)).await?;
    cancel_ok(&mut conn, &record.run_id, "the first Cancel").await?;
    cancel_ok(&mut conn, &record.run_id, "the second Cancel").await?;
    let after = runs::poll(&mut conn, &record.run_id).await?;
    conn.close().await;
    if after.status != record.status() {
        return Err(after
            .reply
            .fail(format!(
                "Cancel turned the {} run into {}",
                record.status().as_str(),
                after.status.as_str()
            ))
            .into());
    }
    Ok(format!("ok twice, status stays {}", after.status.as_str()))
}

/// REP-CAN-003 (SHOULD): Cancel of a running run (a `long_running` fixture) ends it
/// `failed` within 5 s.
pub async fn running(ctx: &Ctx<'_>) -> Check {
    let Some(flow) = ctx.plan.flows.iter().find(|f| f.long_running) else {
        return Err(Skip::new(
            "no long-running flow",
            "give --fixtures DIR with a fixture marked \"long_running\": true",
        )
        .into());
    };
    let mut conn = ctx.connect()?;
    let run_id = runs::start(&mut conn, flow, &runs::run_id("can-003", 1)).await?;
    let first = runs::poll(&mut conn, &run_id).await?;
    if first.is_final() {
        return Err(first
            .reply
            .fail(format!(
                "the long-running flow {} was already {} before Cancel",
                flow.name,
                first.status.as_str()
            ))
            .into());
    }
    let cancelled_at = Instant::now();
    cancel_ok(&mut conn, &run_id, "Cancel of a running run").await?;
    let polls =
        tokio::time::timeout(CANCEL_GRACE, runs::poll_until_final(&mut conn, &run_id)).await;
    let Ok(polls) = polls else {
        return Err(Failure::new(format!(
            "the cancelled run was not final {} s after Cancel",
            CANCEL_GRACE.as_secs()
        ))
        .into());
    };
    let polls = polls?;
    conn.close().await;
    let last = polls
        .last()
        .ok_or_else(|| Failure::new("no poll recorded"))?;
    if last.status != RunStatus::Failed {
        return Err(last
            .reply
            .fail(format!(
                "the cancelled run ended {}, expected failed",
                last.status.as_str()
            ))
            .into());
    }
    Ok(format!(
        "failed {} ms after Cancel",
        cancelled_at.elapsed().as_millis()
    ))
}

/// REP-HLT-001: Health answers `{ok: bool, details: object}`; -32601 means not
/// implemented (skipped).
pub async fn health(ctx: &Ctx<'_>) -> Check {
    let mut conn = ctx.connect()?;
    let reply = conn.request(METHOD_HEALTH, json!({})).await?;
    conn.close().await;
    if let Some(error) = reply.error() {
        if error.code == codes::METHOD_NOT_FOUND {
            return Err(Skip::without_hint(
                "Runtime.Health is not implemented (-32601; the method is optional)",
            )
            .into());
        }
        return Err(reply
            .fail("Health answered an error other than -32601")
            .into());
    }
    let result = reply.result().unwrap_or(&Value::Null);
    if !result.get("ok").is_some_and(Value::is_boolean) {
        return Err(reply.fail("the Health result has no boolean ok").into());
    }
    if !result.get("details").is_some_and(Value::is_object) {
        return Err(reply.fail("the Health result has no details object").into());
    }
    Ok("{ok, details} answered".into())
}

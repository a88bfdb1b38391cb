//! REP-FRM-*: transport and framing (REP v0.1 §1).

use std::time::Duration;

use rep_spec::{FrameError, parse_response};
use serde_json::{Value, json};

use crate::checks::{Ctx, runs};
use crate::conn::Reply;
use crate::verdict::{Check, Failure, Success};

/// REP-FRM-001: a success and an error response, each one JSON object on one `\n`-terminated
/// line.
pub async fn one_object_per_line(ctx: &Ctx<'_>) -> Check {
    let mut conn = ctx.connect()?;
    let mut checked = 0;
    for method in ["Runtime.Capabilities", "Runtime.NoSuchMethod"] {
        let reply = conn.request(method, json!({})).await?;
        if !reply.value.is_object() {
            return Err(reply.fail(format!("the answer to {method} is not a JSON object")));
        }
        if !reply.line.terminated {
            return Err(reply.fail(format!("the answer to {method} is not terminated by \\n")));
        }
        checked += 1;
    }
    conn.close().await;
    Ok(Success::Pass(format!(
        "{checked} responses, each one JSON object on one line"
    )))
}

/// REP-FRM-002: during Capabilities, a whole run, Cancel, Health and stdin EOF, every line on
/// stdout is a JSON-RPC 2.0 response, one per request.
pub async fn only_frames_on_stdout(ctx: &Ctx<'_>) -> Check {
    let mut conn = ctx.connect()?;
    let mut requests = 0;
    conn.request("Runtime.Capabilities", json!({})).await?;
    requests += 1;
    let flow = ctx.plan.completing().ok();
    if let Some(flow) = flow {
        let run_id = runs::start(&mut conn, flow, &runs::run_id("frm-002", 1)).await?;
        requests += 1;
        requests += runs::poll_until_final(&mut conn, &run_id).await?.len();
        conn.request("Runtime.Cancel", json!({"run_id": run_id}))
            .await?;
        requests += 1;
    }
    conn.request("Runtime.Health", json!({})).await?;
    conn.request("Runtime.NoSuchMethod", json!({})).await?;
    requests += 2;
    conn.process().close_stdin();
    let (_, _) = conn.drain(Duration::from_secs(2)).await;
    let lines = conn.received().to_vec();
    conn.close().await;
    for line in &lines {
        let value: Value = serde_json::from_slice(&line.bytes).map_err(|_| {
            Failure::with_frame("a line on stdout is not a JSON-RPC frame", &line.bytes)
        })?;
        match parse_response(value) {
            Ok(_) | Err(FrameError::Notification { .. }) => {}
            Err(e) => {
                return Err(Failure::with_frame(
                    format!("a line on stdout is not a JSON-RPC response: {e}"),
                    &line.bytes,
                ));
            }
        }
    }
    if lines.len() > requests {
        let extra = lines.get(requests).map_or(&[][..], |l| &l.bytes);
        return Err(Failure::with_frame(
            format!("{} lines on stdout for {requests} requests", lines.len()),
            extra,
        ));
    }
    let what = if flow.is_some() {
        "a whole run"
    } else {
        "Capabilities and Health (no runnable flow)"
    };
    Ok(Success::Pass(format!(
        "{} lines for {requests} requests during {what}, all responses",
        lines.len()
    )))
}

/// REP-FRM-003: success and error responses carry `"jsonrpc": "2.0"`.
pub async fn jsonrpc_version(ctx: &Ctx<'_>) -> Check {
    let mut conn = ctx.connect()?;
    let calls = [
        ("Runtime.Capabilities", json!({})),
        ("Runtime.NoSuchMethod", json!({})),
        ("Runtime.Poll", json!({"run_id": "conformance-unknown-run"})),
    ];
    for (method, params) in calls {
        let reply = conn.request(method, params).await?;
        if reply.value.get("jsonrpc") != Some(&json!("2.0")) {
            return Err(reply.fail(format!("the answer to {method} lacks \"jsonrpc\": \"2.0\"")));
        }
    }
    conn.close().await;
    Ok(Success::Pass(
        "3 responses (results and errors) carry \"jsonrpc\": \"2.0\"".into(),
    ))
}

/// REP-FRM-004: five requests, ids 1..5, each answered with its own id.
pub async fn ids_echoed(ctx: &Ctx<'_>) -> Check {
    let mut conn = ctx.connect()?;
    let calls = [
        ("Runtime.Capabilities", json!({})),
        ("Runtime.Health", json!({})),
        ("Runtime.NoSuchMethod", json!({})),
        ("Runtime.Poll", json!({"run_id": "conformance-unknown-run"})),
        ("Runtime.Capabilities", json!({})),
    ];
    for (method, params) in calls {
        let reply: Reply = conn.request(method, params).await?;
        if reply.value.get("id") != Some(&json!(reply.id)) {
            return Err(reply.fail(format!(
                "request id {} ({method}) was answered with id {}",
                reply.id,
                reply
                    .value
                    .get("id")
                    .map_or("(none)".to_owned(), Value::to_string)
            )));
        }
    }
    conn.close().await;
    Ok(Success::Pass("ids 1..5 echoed".into()))
}

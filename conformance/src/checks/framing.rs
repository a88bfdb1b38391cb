//! REP-FRM-*: transport and framing (REP v0.1 §1).
//!
//! Every request goes through [`Connection::request`], which accepts only a JSON-RPC 2.0
//! response carrying the request's own id (rep-spec's rules): an echoed request, a
//! notification or a response to another id never counts as an answer.

use std::time::Duration;

use rep_spec::{
    FrameError, METHOD_CANCEL, METHOD_CAPABILITIES, METHOD_HEALTH, METHOD_POLL, parse_response,
};
use serde_json::{Value, json};

use crate::checks::{Ctx, runs};
use crate::verdict::{Check, Failure};

/// A method no executor implements, for error responses.
pub const NO_SUCH_METHOD: &str = "Runtime.NoSuchMethod";

/// A run id no executor knows.
pub const UNKNOWN_RUN_ID: &str = "conformance-unknown-run";

/// REP-FRM-001: a success and an error response, each one JSON object on one `\n`-terminated
/// line.
pub async fn one_object_per_line(ctx: &Ctx<'_>) -> Check {
    let mut conn = ctx.connect()?;
    for method in [METHOD_CAPABILITIES, NO_SUCH_METHOD] {
        let reply = conn.request(method, json!({})).await?;
        if !reply.line.terminated {
            return Err(reply
                .fail(format!("the answer to {method} is not terminated by \\n"))
                .into());
        }
    }
    conn.close().await;
    Ok("a result and an error response, each one JSON object on one line".into())
}

/// REP-FRM-002: during Capabilities, a whole run, Cancel, Health and stdin EOF, every line on
/// stdout is a JSON-RPC 2.0 response (no log line, no notification: REP v0.1 uses none), one
/// per request.
pub async fn only_responses_on_stdout(ctx: &Ctx<'_>) -> Check {
    let mut conn = ctx.connect()?;
    conn.request(METHOD_CAPABILITIES, json!({})).await?;
    let flow = ctx.plan.completing().ok();
    if let Some(flow) = flow {
        let run_id = runs::start(&mut conn, flow, &runs::run_id("frm-002", 1)).await?;
        runs::poll_until_final(&mut conn, &run_id).await?;
        conn.request(METHOD_CANCEL, json!({"run_id": run_id}))
            .await?;
    }
    conn.request(METHOD_HEALTH, json!({})).await?;
    conn.request(NO_SUCH_METHOD, json!({})).await?;
    let requests = usize::try_from(conn.requests_sent()).unwrap_or(usize::MAX);
    conn.close_stdin();
    conn.drain(Duration::from_secs(2)).await;
    let lines = conn.received().to_vec();
    conn.close().await;
    for line in lines.iter().filter(|l| !l.is_blank()) {
        let value: Value = serde_json::from_slice(&line.bytes).map_err(|_| {
            Failure::with_frame("a line on stdout is not a JSON-RPC frame", &line.bytes)
        })?;
        if let Err(e) = parse_response(value) {
            let why = match e {
                FrameError::Notification { .. } => {
                    format!("REP v0.1 uses no notifications, yet the executor sent one ({e})")
                }
                e => format!("a line on stdout is not a JSON-RPC 2.0 response: {e}"),
            };
            return Err(Failure::with_frame(why, &line.bytes).into());
        }
    }
    if lines.len() > requests {
        let extra = lines.get(requests).map_or(&[][..], |l| &l.bytes);
        return Err(Failure::with_frame(
            format!("{} lines on stdout for {requests} requests", lines.len()),
            extra,
        )
        .into());
    }
    let what = if flow.is_some() {
        "a whole run"
    } else {
        "Capabilities and Health (no runnable flow)"
    };
    Ok(format!(
        "{} lines for {requests} requests during {what} and stdin EOF, all responses",
        lines.len()
    ))
}

/// REP-FRM-003: success and error responses carry `"jsonrpc": "2.0"` (rep-spec rejects a
/// response without it).
pub async fn jsonrpc_version(ctx: &Ctx<'_>) -> Check {
    let mut conn = ctx.connect()?;
    let calls = [
        (METHOD_CAPABILITIES, json!({})),
        (NO_SUCH_METHOD, json!({})),
        (METHOD_POLL, json!({"run_id": UNKNOWN_RUN_ID})),
    ];
    for (method, params) in calls {
        conn.request(method, params).await?;
    }
    conn.close().await;
    Ok("3 responses (results and errors) carry \"jsonrpc\": \"2.0\"".into())
}

/// REP-FRM-004: five requests, ids 1..5, each answered with its own id.
pub async fn ids_echoed(ctx: &Ctx<'_>) -> Check {
    let mut conn = ctx.connect()?;
    let calls = [
        (METHOD_CAPABILITIES, json!({})),
        (METHOD_HEALTH, json!({})),
        (NO_SUCH_METHOD, json!({})),
        (METHOD_POLL, json!({"run_id": UNKNOWN_RUN_ID})),
        (METHOD_CAPABILITIES, json!({})),
    ];
    for (method, params) in calls {
        conn.request(method, params).await?;
    }
    conn.close().await;
    Ok("ids 1..5 echoed".into())
}

//! REP-RPC-* and REP-ERR-001: malformed requests and error objects (REP v0.1 §5).

use serde_json::{Value, json};

use crate::checks::{Ctx, count, error_object, flows_for_errors};
use crate::conn::{Connection, Line, short_error};
use crate::verdict::{Check, Failure, Success};

/// Sends `bytes` (a malformed frame) and reads the answer as JSON.
async fn send_malformed(
    conn: &mut Connection,
    bytes: &[u8],
    what: &str,
) -> Result<(Line, Value), Failure> {
    conn.send_raw(bytes).await?;
    let line = conn.next_line(what).await?;
    let value = serde_json::from_slice(&line.bytes).map_err(|e| {
        Failure::with_frame(
            format!("the answer to {what} is not JSON ({e})"),
            &line.bytes,
        )
    })?;
    Ok((line, value))
}

/// Requires `value` to be an error response with `code` and an id in `ids`.
fn expect_error(
    line: &Line,
    value: &Value,
    code: i64,
    ids: &[Value],
    what: &str,
) -> Result<(), Failure> {
    let fail = |reason: String| Failure::with_frame(reason, &line.bytes);
    let Some(error) = value.get("error") else {
        return Err(fail(format!("{what} was not answered with an error")));
    };
    let found = error.get("code").and_then(Value::as_i64);
    if found != Some(code) {
        return Err(fail(format!(
            "{what} was answered {} instead of {code}",
            short_error(error)
        )));
    }
    let id = value.get("id").unwrap_or(&Value::Null);
    if !value.as_object().is_some_and(|o| o.contains_key("id")) || !ids.contains(id) {
        let allowed: Vec<String> = ids.iter().map(Value::to_string).collect();
        return Err(fail(format!(
            "the {code} error for {what} has id {id}, expected {}",
            allowed.join(" or ")
        )));
    }
    Ok(())
}

/// Requires the executor to still answer Capabilities.
async fn still_alive(conn: &mut Connection, after: &str) -> Result<(), Failure> {
    conn.call("Runtime.Capabilities", json!({}))
        .await
        .map(|_| ())
        .map_err(|f| Failure {
            reason: format!("after {after}, Capabilities failed: {}", f.reason),
            frame: f.frame,
        })
}

/// REP-RPC-001: a truncated JSON line → -32700 with id null, and the executor lives on.
pub async fn parse_error(ctx: &Ctx<'_>) -> Check {
    let mut conn = ctx.connect()?;
    let what = "a line of invalid JSON";
    let bad =
        b"{\"jsonrpc\": \"2.0\", \"id\": 1, \"method\": \"Runtime.Capabilities\", \"params\": {\n";
    let (line, value) = send_malformed(&mut conn, bad, what).await?;
    expect_error(&line, &value, -32700, &[Value::Null], what)?;
    still_alive(&mut conn, what).await?;
    conn.close().await;
    Ok(Success::Pass(
        "-32700 with id null, then Capabilities answered".into(),
    ))
}

/// REP-RPC-002: a request without `method` → -32600 with its id (or null); a non-object →
/// -32600 with id null.
pub async fn invalid_request(ctx: &Ctx<'_>) -> Check {
    let mut conn = ctx.connect()?;
    let cases: [(&[u8], &str, Vec<Value>); 2] = [
        (
            b"{\"jsonrpc\": \"2.0\", \"id\": 7}\n",
            "a request without method",
            vec![json!(7), Value::Null],
        ),
        (
            b"42\n",
            "a request that is not an object",
            vec![Value::Null],
        ),
    ];
    for (bytes, what, ids) in cases {
        let (line, value) = send_malformed(&mut conn, bytes, what).await?;
        expect_error(&line, &value, -32600, &ids, what)?;
    }
    still_alive(&mut conn, "invalid requests").await?;
    conn.close().await;
    Ok(Success::Pass(
        "-32600 for a request without method and for a non-object".into(),
    ))
}

/// REP-RPC-003: an unknown method → -32601 with the request's id.
pub async fn method_not_found(ctx: &Ctx<'_>) -> Check {
    let mut conn = ctx.connect()?;
    let reply = conn.request("Runtime.NoSuchMethod", json!({})).await?;
    expect_error(
        &reply.line,
        &reply.value,
        -32601,
        &[json!(reply.id)],
        "Runtime.NoSuchMethod",
    )?;
    still_alive(&mut conn, "an unknown method").await?;
    conn.close().await;
    Ok(Success::Pass("-32601 with the request's id".into()))
}

/// REP-RPC-004: Poll with a numeric run_id, and Poll without run_id → -32602.
pub async fn invalid_params(ctx: &Ctx<'_>) -> Check {
    let mut conn = ctx.connect()?;
    let cases = [
        (json!({"run_id": 5}), "Runtime.Poll with a numeric run_id"),
        (json!({}), "Runtime.Poll without run_id"),
    ];
    for (params, what) in cases {
        let reply = conn.request("Runtime.Poll", params).await?;
        expect_error(&reply.line, &reply.value, -32602, &[json!(reply.id)], what)?;
    }
    still_alive(&mut conn, "invalid params").await?;
    conn.close().await;
    Ok(Success::Pass(
        "-32602 for a mistyped and a missing run_id".into(),
    ))
}

/// REP-ERR-001: every error response seen (unknown method, invalid params, StartRun of an
/// unsupported version, Poll of an unknown run) has a well-formed error object.
pub async fn error_objects(ctx: &Ctx<'_>) -> Check {
    let mut conn = ctx.connect()?;
    let unsupported = crate::flows::with_version(&flows_for_errors(ctx.plan), "2.0.0");
    let calls = [
        ("Runtime.NoSuchMethod", json!({})),
        ("Runtime.Poll", json!({"run_id": 5})),
        (
            "Runtime.StartRun",
            json!({"ir": unsupported, "inputs": {}, "options": {"run_id": "conformance-err-001"}}),
        ),
        ("Runtime.Poll", json!({"run_id": "conformance-unknown-run"})),
    ];
    let mut errors = 0;
    for (method, params) in calls {
        let reply = conn.request(method, params).await?;
        if let Some(error) = reply.error() {
            error_object(error).map_err(|why| reply.fail(format!("{method}: {why}")))?;
            errors += 1;
        }
    }
    conn.close().await;
    if errors == 0 {
        return Err(Failure::not_testable(
            "the executor answered no request with an error (not even an unknown method)",
        ));
    }
    Ok(Success::Pass(format!(
        "{} well formed",
        count(errors, "error object", "error objects")
    )))
}

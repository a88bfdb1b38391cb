//! REP-RPC-* and REP-ERR-001: malformed requests and error objects (REP v0.1 §5). The code
//! and id each malformed frame must get come from rep-spec's request rules
//! ([`rep_spec::parse_request`]), the ones the executor kit answers with.

use rep_spec::{
    Id, METHOD_CAPABILITIES, METHOD_POLL, METHOD_START_RUN, RequestError, codes, parse_request,
};
use serde_json::json;

use crate::checks::framing::{NO_SUCH_METHOD, UNKNOWN_RUN_ID};
use crate::checks::{Ctx, count, flows_for_errors};
use crate::conn::{Connection, Reply, short_error};
use crate::verdict::{Check, Failure, Skip};

/// Sends the malformed frame `bytes` (with its `\n`) and requires the error JSON-RPC 2.0
/// prescribes for it: its code, and its id or `null`.
async fn expect_request_error(
    conn: &mut Connection,
    bytes: &[u8],
    what: &str,
) -> Result<(), Failure> {
    let expected = match parse_request(bytes.strip_suffix(b"\n").unwrap_or(bytes)) {
        Err(error) => error,
        Ok(_) => {
            return Err(Failure::new(format!(
                "{what} is a valid request (a bug of rep-conformance)"
            )));
        }
    };
    conn.send_raw(bytes).await?;
    let until = conn.answer_deadline();
    let (line, response) = conn.read_response(what, until).await?;
    let fail = |reason: String| Failure::with_frame(reason, &line.bytes);
    let code = expected.code();
    match &response.payload {
        Ok(_) => {
            return Err(fail(format!(
                "{what} was answered with a result, not error {code}"
            )));
        }
        Err(error) if error.code != code => {
            return Err(fail(format!(
                "{what} was answered {} instead of {code}",
                short_error(error)
            )));
        }
        Err(_) => {}
    }
    let allowed = allowed_ids(&expected);
    if !allowed.contains(&response.id) {
        let allowed: Vec<String> = allowed.iter().map(ToString::to_string).collect();
        return Err(fail(format!(
            "the {code} error for {what} has id {}, expected {}",
            response.id,
            allowed.join(" or ")
        )));
    }
    Ok(())
}

/// The ids an error response to a malformed frame may carry: the request's id when it could
/// be read, and `null` (JSON-RPC 2.0 §5: `null` when the id could not be detected).
fn allowed_ids(error: &RequestError) -> Vec<Id> {
    match error.id() {
        Id::Null => vec![Id::Null],
        id => vec![id, Id::Null],
    }
}

/// Requires the executor to still answer Capabilities.
async fn still_alive(conn: &mut Connection, after: &str) -> Result<(), Failure> {
    conn.call(METHOD_CAPABILITIES, json!({}))
        .await
        .map(|_| ())
        .map_err(|f| f.context(format!("after {after}, Capabilities failed")))
}

/// REP-RPC-001: a truncated JSON line → -32700 with id null, and the executor lives on.
pub async fn parse_error(ctx: &Ctx<'_>) -> Check {
    let mut conn = ctx.connect()?;
    let what = "a line of invalid JSON";
    let bad =
        b"{\"jsonrpc\": \"2.0\", \"id\": 1, \"method\": \"Runtime.Capabilities\", \"params\": {\n";
    expect_request_error(&mut conn, bad, what).await?;
    still_alive(&mut conn, what).await?;
    conn.close().await;
    Ok("-32700 with id null, then Capabilities answered".into())
}

/// REP-RPC-002: a request without `method` → -32600 with its id (or null); a non-object →
/// -32600 with id null.
pub async fn invalid_request(ctx: &Ctx<'_>) -> Check {
    let mut conn = ctx.connect()?;
    let cases: [(&[u8], &str); 2] = [
        (
            b"{\"jsonrpc\": \"2.0\", \"id\": 7}\n",
            "a request without method",
        ),
        (b"42\n", "a request that is not an object"),
    ];
    for (bytes, what) in cases {
        expect_request_error(&mut conn, bytes, what).await?;
    }
    still_alive(&mut conn, "invalid requests").await?;
    conn.close().await;
    Ok("-32600 for a request without method and for a non-object".into())
}

/// Requires `reply` to be the error `code` (the id was checked by the request).
fn expect_code(reply: &Reply, code: i64, what: &str) -> Result<(), Failure> {
    match reply.error() {
        None => Err(reply.fail(format!("{what} was not answered with an error"))),
        Some(error) if error.code != code => Err(reply.fail(format!(
            "{what} was answered {} instead of {code}",
            short_error(error)
        ))),
        Some(_) => Ok(()),
    }
}

/// REP-RPC-003: an unknown method → -32601 with the request's id.
pub async fn method_not_found(ctx: &Ctx<'_>) -> Check {
    let mut conn = ctx.connect()?;
    let reply = conn.request(NO_SUCH_METHOD, json!({})).await?;
    expect_code(&reply, codes::METHOD_NOT_FOUND, NO_SUCH_METHOD)?;
    still_alive(&mut conn, "an unknown method").await?;
    conn.close().await;
    Ok("-32601 with the request's id".into())
}

/// REP-RPC-004 (SHOULD): Poll with a numeric run_id, and Poll without run_id → -32602.
pub async fn invalid_params(ctx: &Ctx<'_>) -> Check {
    let mut conn = ctx.connect()?;
    let cases = [
        (json!({"run_id": 5}), "Runtime.Poll with a numeric run_id"),
        (json!({}), "Runtime.Poll without run_id"),
    ];
    for (params, what) in cases {
        let reply = conn.request(METHOD_POLL, params).await?;
        expect_code(&reply, codes::INVALID_PARAMS, what)?;
    }
    still_alive(&mut conn, "invalid params").await?;
    conn.close().await;
    Ok("-32602 for a mistyped and a missing run_id".into())
}

/// REP-ERR-001: every error response seen (unknown method, invalid params, StartRun of an
/// unsupported version, Poll of an unknown run) has a well-formed error object — rep-spec
/// checks `code`, `message` and the types in `data` as it reads each response.
pub async fn error_objects(ctx: &Ctx<'_>) -> Check {
    let mut conn = ctx.connect()?;
    let unsupported = crate::flows::with_version(&flows_for_errors(ctx.plan), "2.0.0");
    let calls = [
        (NO_SUCH_METHOD, json!({})),
        (METHOD_POLL, json!({"run_id": 5})),
        (
            METHOD_START_RUN,
            json!({"ir": unsupported, "inputs": {}, "options": {"run_id": "conformance-err-001"}}),
        ),
        (METHOD_POLL, json!({"run_id": UNKNOWN_RUN_ID})),
    ];
    let mut errors = 0;
    for (method, params) in calls {
        if conn.request(method, params).await?.error().is_some() {
            errors += 1;
        }
    }
    conn.close().await;
    if errors == 0 {
        return Err(Skip::without_hint(
            "the executor answered no request with an error (not even an unknown method)",
        )
        .into());
    }
    Ok(format!(
        "{} well formed",
        count(errors, "error object", "error objects")
    ))
}

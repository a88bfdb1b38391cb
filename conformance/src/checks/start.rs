//! REP-CAP-001 and REP-RUN-*: Capabilities and StartRun (REP v0.1 §3, §5).

use serde_json::{Value, json};

use crate::checks::{Ctx, error_object, flows_for_errors, runs};
use crate::conn::short_error;
use crate::flows::{UNKNOWN_KIND, schema_invalid, single, with_version};
use crate::verdict::{Check, Failure, Success};

/// Whether `text` is a semantic version `MAJOR.MINOR.PATCH[-pre][+build]` (semver.org 2.0).
pub fn is_semver(text: &str) -> bool {
    let (rest, build) = match text.split_once('+') {
        Some((rest, build)) => (rest, Some(build)),
        None => (text, None),
    };
    let (core, pre) = match rest.split_once('-') {
        Some((core, pre)) => (core, Some(pre)),
        None => (rest, None),
    };
    let numeric = |p: &str| {
        !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) && (p == "0" || !p.starts_with('0'))
    };
    let ident =
        |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    let parts: Vec<&str> = core.split('.').collect();
    parts.len() == 3
        && parts.iter().all(|p| numeric(p))
        && pre.is_none_or(|p| p.split('.').all(ident))
        && build.is_none_or(|b| b.split('.').all(ident))
}

/// REP-CAP-001: `{version: semver, step_kinds: [string], limits: {concurrency: int ≥ 1}}`.
pub async fn capabilities_shape(ctx: &Ctx<'_>) -> Check {
    let mut conn = ctx.connect()?;
    let caps = conn.call("Runtime.Capabilities", json!({})).await?;
    let reply = conn
        .last_reply()
        .ok_or_else(|| Failure::new("no reply recorded"))?;
    conn.close().await;
    let version = match caps.get("version") {
        Some(Value::String(v)) if is_semver(v) => v.clone(),
        Some(v) => return Err(reply.fail(format!("version {v} is not a semantic version"))),
        None => return Err(reply.fail("Capabilities has no version")),
    };
    let kinds = match caps.get("step_kinds") {
        Some(Value::Array(kinds)) => kinds,
        _ => return Err(reply.fail("step_kinds is missing or not an array")),
    };
    if let Some(bad) = kinds.iter().find(|k| k.as_str().is_none_or(str::is_empty)) {
        return Err(reply.fail(format!("step_kinds holds {bad}, not a non-empty string")));
    }
    match caps.get("limits").and_then(|l| l.get("concurrency")) {
        Some(c) if c.as_u64().is_some_and(|c| c >= 1) => {}
        Some(c) => return Err(reply.fail(format!("limits.concurrency is {c}, not an integer ≥ 1"))),
        None => return Err(reply.fail("limits.concurrency is missing")),
    }
    Ok(Success::Pass(format!(
        "version {version}, {} step kinds",
        kinds.len()
    )))
}

/// StartRun of `ir` must be answered with error `code` and a well-formed error object.
async fn expect_start_error(
    ctx: &Ctx<'_>,
    ir: Value,
    code: i64,
    what: &str,
) -> Result<(), Failure> {
    let mut conn = ctx.connect()?;
    let params = json!({"ir": ir, "inputs": {}, "options": {"run_id": "conformance-start", "trace_id": "conformance-trace", "allow_shell": false}});
    let reply = conn.request("Runtime.StartRun", params).await?;
    conn.close().await;
    let Some(error) = reply.error() else {
        return Err(reply.fail(format!(
            "StartRun of {what} succeeded; expected error {code}"
        )));
    };
    let found = error_object(error).map_err(|why| reply.fail(why))?;
    if found != code {
        return Err(reply.fail(format!(
            "StartRun of {what} answered {}; expected {code}",
            short_error(error)
        )));
    }
    Ok(())
}

/// REP-RUN-001: IR version 2.0.0 (otherwise runnable) → 1001.
pub async fn unsupported_version(ctx: &Ctx<'_>) -> Check {
    let ir = with_version(&flows_for_errors(ctx.plan), "2.0.0");
    expect_start_error(ctx, ir, 1001, "an IR of version 2.0.0").await?;
    Ok(Success::Pass("1001 for version 2.0.0".into()))
}

/// REP-RUN-002: version 2.0.0 with an unknown step kind → 1001 (version checked first).
pub async fn version_checked_first(ctx: &Ctx<'_>) -> Check {
    let ir = with_version(&single(UNKNOWN_KIND), "2.0.0");
    expect_start_error(ctx, ir, 1001, "an IR of version 2.0.0 with an unknown kind").await?;
    Ok(Success::Pass(
        "1001 before the unknown kind is looked at".into(),
    ))
}

/// REP-RUN-003: a valid IR with an unknown step kind → 1002.
pub async fn unknown_kind(ctx: &Ctx<'_>) -> Check {
    expect_start_error(
        ctx,
        single(UNKNOWN_KIND),
        1002,
        "an IR with an unknown step kind",
    )
    .await?;
    Ok(Success::Pass(format!("1002 for kind {UNKNOWN_KIND}")))
}

/// REP-RUN-004: schema-invalid IRs (no nodes; a node without id) → 1003.
pub async fn schema_invalid_ir(ctx: &Ctx<'_>) -> Check {
    let variants = schema_invalid(ctx.plan.advertised_kind());
    let count = variants.len();
    for (what, ir) in variants {
        expect_start_error(ctx, ir, 1003, &format!("an IR where {what}")).await?;
    }
    Ok(Success::Pass(format!(
        "1003 for {count} schema-invalid IRs"
    )))
}

/// REP-RUN-005: StartRun of a runnable flow answers `{run_id: non-empty string}`.
pub async fn start_result(ctx: &Ctx<'_>) -> Check {
    let flow = ctx.plan.completing()?;
    let mut conn = ctx.connect()?;
    let run_id = runs::start(&mut conn, flow, &runs::run_id("run-005", 1)).await?;
    conn.close().await;
    Ok(Success::Pass(format!(
        "run_id {run_id:?} for flow {}",
        flow.name
    )))
}

/// REP-RUN-006 (SHOULD): the run id is `options.run_id`.
pub async fn run_id_from_options(ctx: &Ctx<'_>) -> Check {
    let flow = ctx.plan.completing()?;
    let mut conn = ctx.connect()?;
    let wanted = runs::run_id("run-006", 1);
    let (result, reply) = runs::start_raw(&mut conn, flow, &wanted).await?;
    conn.close().await;
    if result.get("run_id") != Some(&json!(wanted)) {
        return Err(reply.fail(format!("options.run_id was {wanted:?}")));
    }
    Ok(Success::Pass("options.run_id is used".into()))
}

#[cfg(test)]
mod tests {
    use super::is_semver;

    #[test]
    fn semver_follows_semver_org() {
        for ok in [
            "0.1.0",
            "1.2.3",
            "1.0.0-alpha.1",
            "1.0.0+build.5",
            "10.20.30-rc-1+x",
        ] {
            assert!(is_semver(ok), "{ok}");
        }
        for bad in ["0.1", "v0.1.0", "01.0.0", "1.0.0-", "1.0.0.0", "", "1.a.0"] {
            assert!(!is_semver(bad), "{bad}");
        }
    }
}

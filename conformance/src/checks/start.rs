//! REP-CAP-001 and REP-RUN-*: Capabilities and StartRun (REP v0.1 §3, §5).

use rep_spec::{ErrorClass, METHOD_CAPABILITIES, METHOD_START_RUN, codes};
use serde_json::{Value, json};

use crate::checks::{Ctx, flows_for_errors, runs};
use crate::conn::short_error;
use crate::flows::{UNKNOWN_KIND, schema_invalid, single, with_version};
use crate::verdict::{Check, Failure, Skip};

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

/// REP-CAP-001: `{version: semver, step_kinds: [string], limits: {concurrency: int}}`, all
/// three required.
pub async fn capabilities_shape(ctx: &Ctx<'_>) -> Check {
    let mut conn = ctx.connect()?;
    let caps = conn.call(METHOD_CAPABILITIES, json!({})).await?;
    let reply = conn
        .last_reply()
        .ok_or_else(|| Failure::new("no reply recorded"))?;
    conn.close().await;
    let version = match caps.get("version") {
        Some(Value::String(v)) if is_semver(v) => v.clone(),
        Some(v) => {
            return Err(reply
                .fail(format!("version {v} is not a semantic version"))
                .into());
        }
        None => return Err(reply.fail("Capabilities has no version").into()),
    };
    let kinds = match caps.get("step_kinds") {
        Some(Value::Array(kinds)) => kinds,
        _ => return Err(reply.fail("step_kinds is missing or not an array").into()),
    };
    if let Some(bad) = kinds.iter().find(|k| !k.is_string()) {
        return Err(reply
            .fail(format!("step_kinds holds {bad}, not a string"))
            .into());
    }
    match caps.get("limits").and_then(|l| l.get("concurrency")) {
        Some(c) if c.is_i64() || c.is_u64() => {}
        Some(c) => {
            return Err(reply
                .fail(format!("limits.concurrency is {c}, not an integer"))
                .into());
        }
        None => return Err(reply.fail("limits.concurrency is missing").into()),
    }
    Ok(format!("version {version}, {} step kinds", kinds.len()))
}

/// The error a StartRun must be answered with.
#[derive(Debug, Clone, Copy)]
enum Wanted {
    /// Exactly this code.
    Code(i64),
    /// Any code of this class.
    Class(ErrorClass),
}

impl Wanted {
    fn accepts(self, code: i64) -> bool {
        match self {
            Wanted::Code(wanted) => code == wanted,
            Wanted::Class(class) => ErrorClass::of(code) == class,
        }
    }
}

impl std::fmt::Display for Wanted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Wanted::Code(code) => write!(f, "{code}"),
            Wanted::Class(ErrorClass::Validation) => f.write_str("1000–1999 (Validation)"),
            Wanted::Class(class) => write!(f, "a {class} error"),
        }
    }
}

/// StartRun of `ir` with `inputs` must be answered with the error `expected`; `what`
/// describes the IR for messages.
async fn expect_start_error(
    ctx: &Ctx<'_>,
    ir: Value,
    inputs: Value,
    expected: Wanted,
    what: &str,
) -> Result<(), Failure> {
    let mut conn = ctx.connect()?;
    let params = json!({"ir": ir, "inputs": inputs, "options": {"run_id": "conformance-start", "trace_id": "conformance-trace", "allow_shell": false}});
    let reply = conn.request(METHOD_START_RUN, params).await?;
    conn.close().await;
    let Some(error) = reply.error() else {
        return Err(reply.fail(format!(
            "StartRun of {what} succeeded; expected error {expected}"
        )));
    };
    if !expected.accepts(error.code) {
        return Err(reply.fail(format!(
            "StartRun of {what} answered {}; expected {expected}",
            short_error(error)
        )));
    }
    Ok(())
}

/// REP-RUN-001: IR version 2.0.0 (otherwise runnable) → 1001.
pub async fn unsupported_version(ctx: &Ctx<'_>) -> Check {
    let ir = with_version(&flows_for_errors(ctx.plan), "2.0.0");
    let wanted = Wanted::Code(codes::UNSUPPORTED_IR_VERSION);
    expect_start_error(ctx, ir, json!({}), wanted, "an IR of version 2.0.0").await?;
    Ok(format!("{wanted} for version 2.0.0"))
}

/// REP-RUN-002: version 2.0.0 with an unknown step kind → 1001 (version checked first).
pub async fn version_checked_first(ctx: &Ctx<'_>) -> Check {
    let ir = with_version(&single(UNKNOWN_KIND), "2.0.0");
    let wanted = Wanted::Code(codes::UNSUPPORTED_IR_VERSION);
    let what = "an IR of version 2.0.0 with an unknown kind";
    expect_start_error(ctx, ir, json!({}), wanted, what).await?;
    Ok(format!("{wanted} before the unknown kind is looked at"))
}

/// REP-RUN-003 (SHOULD): a valid IR with an unknown step kind → 1002.
pub async fn unknown_kind(ctx: &Ctx<'_>) -> Check {
    let wanted = Wanted::Code(codes::UNSUPPORTED_STEP_KIND);
    let what = "an IR with an unknown step kind";
    expect_start_error(ctx, single(UNKNOWN_KIND), json!({}), wanted, what).await?;
    Ok(format!("{wanted} for kind {UNKNOWN_KIND}"))
}

/// REP-RUN-004 (SHOULD): schema-invalid IRs (no nodes; a node without id) → 1003.
pub async fn schema_invalid_ir(ctx: &Ctx<'_>) -> Check {
    let variants = schema_invalid(ctx.plan.advertised_kind());
    let count = variants.len();
    let wanted = Wanted::Code(codes::INVALID_IR);
    for (what, ir) in variants {
        let what = format!("an IR where {what}");
        expect_start_error(ctx, ir, json!({}), wanted, &what).await?;
    }
    Ok(format!("{wanted} for {count} schema-invalid IRs"))
}

/// REP-RUN-005: StartRun of a runnable flow answers `{run_id: non-empty string}`.
pub async fn start_result(ctx: &Ctx<'_>) -> Check {
    let flow = ctx.plan.completing()?;
    let mut conn = ctx.connect()?;
    let run_id = runs::start(&mut conn, flow, &runs::run_id("run-005", 1)).await?;
    conn.close().await;
    Ok(format!("run_id {run_id:?} for flow {}", flow.name))
}

/// REP-RUN-006 (SHOULD): the run id is `options.run_id`.
pub async fn run_id_from_options(ctx: &Ctx<'_>) -> Check {
    let flow = ctx.plan.completing()?;
    let mut conn = ctx.connect()?;
    let wanted = runs::run_id("run-006", 1);
    let (result, reply) = runs::start_raw(&mut conn, flow, &wanted).await?;
    conn.close().await;
    if result.get("run_id") != Some(&json!(wanted)) {
        return Err(reply.fail(format!("options.run_id was {wanted:?}")).into());
    }
    Ok("options.run_id is used".into())
}

/// REP-RUN-007 (SHOULD): a runnable one-node flow whose `inputs_schema` says `count` is an
/// `int`, started with `count: "many"` → a Validation error (1000–1999).
pub async fn bad_inputs(ctx: &Ctx<'_>) -> Check {
    if !ctx.plan.advertises("finish") {
        return Err(Skip::new(
            "the executor does not advertise `finish` (the flow of this test is one finish node)",
            "advertise the control kind `finish`",
        )
        .into());
    }
    let ir = crate::flows::with_inputs_schema(&single("finish"), json!({"count": {"type": "int"}}));
    let what = "inputs {\"count\": \"many\"} for an inputs_schema where count is an int";
    let wanted = Wanted::Class(ErrorClass::Validation);
    expect_start_error(ctx, ir, json!({"count": "many"}), wanted, what).await?;
    Ok("a Validation error for inputs violating inputs_schema".into())
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

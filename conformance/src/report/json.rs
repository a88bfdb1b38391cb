//! The JSON report (`--json FILE`), schema `docs/conformance-report.schema.json`, stable for
//! tools (`tm executor check`, `rep-conformance verify`, dashboards):
//!
//! ```text
//! { schema: "rep-conformance-report/3", tool: {name, version, catalogue_sha256},
//!   spec: "REP v0.1",
//!   requirements: {requirement_set, sha256, levels: {core, cancel, health, semantics}},
//!   executor: {path, args, command, sha256, env: {inherit, passed, set, protocol},
//!              capabilities: object|null},
//!   fixtures: {dir, flows, sha256}|null,
//!   options: {strict, baseline, filter, skip, timeout_s, repeat},
//!   started_at: RFC 3339, duration_ms, exit_code: 0|1,
//!   summary: {total, passed, failed, warned, skipped, expected_failures, stale_baseline,
//!             not_selected, not_run, flaky},
//!   certification: {core, cancel, health, semantics, untested: [{id, why}], flaky: [id],
//!                   line},
//!   tests: [{id, level, section, area, title, verdict, reason, hint, frame, baseline,
//!            duration_ms, fails_run, flaky, reruns: [{verdict, reason, frame, duration_ms}]}],
//!   not_selected: [id], aborted: {reason, not_run: [id]}|null }
//! ```

use serde_json::{Value, json};

use crate::requirements::{REQUIREMENTS_SHA256, requirements};
use crate::suite::SuiteReport;
use crate::verdict::{BaselineStatus, Verdict};

/// The `schema` member identifying this report format and its version (the format is
/// rep-host's [`conformance_report`](rep_host::conformance_report), which tools read it with).
pub use rep_host::conformance_report::SCHEMA_ID;

/// The report as JSON.
pub fn render(report: &SuiteReport) -> Value {
    let c = report.certification();
    let untested: Vec<Value> = c
        .untested
        .iter()
        .map(|(id, why)| json!({"id": id, "why": why}))
        .collect();
    let tests: Vec<Value> = report
        .results
        .iter()
        .map(|r| {
            let mut test = serde_json::to_value(r).unwrap_or(Value::Null);
            test["fails_run"] = json!(r.fails_run());
            test
        })
        .collect();
    let levels = &requirements().levels;
    json!({
        "schema": SCHEMA_ID,
        "tool": {
            "name": "rep-conformance",
            "version": env!("CARGO_PKG_VERSION"),
            "catalogue_sha256": crate::identity::catalogue_sha256(),
        },
        "spec": "REP v0.1",
        "requirements": {
            "requirement_set": requirements().requirement_set,
            "sha256": REQUIREMENTS_SHA256,
            "levels": {
                "core": levels.core.tests,
                "cancel": levels.cancel.tests,
                "health": levels.health.tests,
                "semantics": levels.semantics.tests,
            },
        },
        "executor": {
            "path": report.target.path.display().to_string(),
            "args": report.target.args,
            "command": report.identity.command,
            "sha256": report.identity.sha256,
            "env": report.identity.env,
            "capabilities": report.capabilities,
        },
        "fixtures": report.fixtures.as_ref().map(|f| json!({
            "dir": f.dir.display().to_string(),
            "flows": f.count,
            "sha256": f.sha256,
        })),
        "options": {
            "strict": report.strict,
            "baseline": report.baseline.as_ref().map(|p| p.display().to_string()),
            "filter": report.selection.filter,
            "skip": report.selection.skip,
            "timeout_s": report.selection.timeout.map(|t| t.as_secs_f64()),
            "repeat": report.selection.repeat,
        },
        "started_at": report.started_at,
        "duration_ms": u64::try_from(report.duration.as_millis()).unwrap_or(u64::MAX),
        "exit_code": report.exit_code(),
        "summary": {
            "total": report.results.len(),
            "passed": report.count(Verdict::Pass),
            "failed": report.count(Verdict::Fail),
            "warned": report.count(Verdict::Warn),
            "skipped": report.count(Verdict::Skip),
            "expected_failures": report.baselined(BaselineStatus::ExpectedFailure),
            "stale_baseline": report.baselined(BaselineStatus::Stale),
            "not_selected": report.not_selected.len(),
            "not_run": report.aborted.as_ref().map_or(0, |a| a.not_run.len()),
            "flaky": c.flaky.len(),
        },
        "certification": {
            "core": c.core,
            "cancel": c.cancel,
            "health": c.health,
            "semantics": c.semantics,
            "untested": untested,
            "flaky": c.flaky,
            "line": report.certification_line(),
        },
        "tests": tests,
        "not_selected": report.not_selected,
        "aborted": report.aborted.as_ref().map(|a| json!({"reason": a.reason, "not_run": a.not_run})),
    })
}

//! The JSON report (`--json FILE`), schema `docs/conformance-report.schema.json`:
//!
//! ```text
//! { schema: "rep-conformance-report/2", tool: {name, version}, spec: "REP v0.1",
//!   executor: {path, args, sha256: string|null, capabilities: object|null},
//!   options: {strict, baseline},
//!   started_at: RFC 3339, duration_ms,
//!   summary: {total, passed, failed, warned, skipped, expected_failures, stale_baseline,
//!             not_selected, not_run},
//!   certification: {core, cancel, health, untested: [{id, why}], line},
//!   tests: [{id, level, section, area, title, verdict, reason, hint, frame, baseline,
//!            duration_ms}],
//!   not_selected: [id], aborted: {reason, not_run: [id]}|null }
//! ```

use serde_json::{Value, json};

use crate::suite::SuiteReport;
use crate::verdict::{BaselineStatus, Verdict};

/// The `schema` member identifying this report format and its version.
pub const SCHEMA_ID: &str = "rep-conformance-report/2";

/// The report as JSON.
pub fn render(report: &SuiteReport) -> Value {
    let c = report.certification();
    let untested: Vec<Value> = c
        .untested
        .iter()
        .map(|(id, why)| json!({"id": id, "why": why}))
        .collect();
    json!({
        "schema": SCHEMA_ID,
        "tool": {"name": "rep-conformance", "version": env!("CARGO_PKG_VERSION")},
        "spec": "REP v0.1",
        "executor": {
            "path": report.target.path.display().to_string(),
            "args": report.target.args,
            "sha256": report.target.sha256,
            "capabilities": report.capabilities,
        },
        "options": {
            "strict": report.strict,
            "baseline": report.baseline.as_ref().map(|p| p.display().to_string()),
        },
        "started_at": report.started_at,
        "duration_ms": u64::try_from(report.duration.as_millis()).unwrap_or(u64::MAX),
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
        },
        "certification": {
            "core": c.core,
            "cancel": c.cancel,
            "health": c.health,
            "untested": untested,
            "line": report.certification_line(),
        },
        "tests": report.results,
        "not_selected": report.not_selected,
        "aborted": report.aborted.as_ref().map(|a| json!({"reason": a.reason, "not_run": a.not_run})),
    })
}

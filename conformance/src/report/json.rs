//! The JSON report (`--json FILE`), schema `docs/conformance-report.schema.json`:
//!
//! ```text
//! { schema: "rep-conformance-report/1", tool: {name, version}, spec: "REP v0.1",
//!   executor: {path, args, capabilities: object|null}, started_at: RFC 3339, duration_ms,
//!   summary: {total, passed, failed, skipped, must_failed, should_failed, not_run},
//!   certification: {core, cancel, health, line},
//!   tests: [{id, level, section, area, title, verdict, reason, frame: string|null, duration_ms}],
//!   not_run: [id] }
//! ```

use serde_json::{Value, json};

use crate::catalogue::Level;
use crate::suite::SuiteReport;
use crate::verdict::Verdict;

/// The `schema` member identifying this report format and its version.
pub const SCHEMA_ID: &str = "rep-conformance-report/1";

/// The report as JSON.
pub fn render(report: &SuiteReport) -> Value {
    let count = |v| report.results.iter().filter(|r| r.verdict == v).count();
    let c = report.certification();
    json!({
        "schema": SCHEMA_ID,
        "tool": {"name": "rep-conformance", "version": env!("CARGO_PKG_VERSION")},
        "spec": "REP v0.1",
        "executor": {
            "path": report.target.path.display().to_string(),
            "args": report.target.args,
            "capabilities": report.capabilities,
        },
        "started_at": report.started_at,
        "duration_ms": u64::try_from(report.duration.as_millis()).unwrap_or(u64::MAX),
        "summary": {
            "total": report.results.len(),
            "passed": count(Verdict::Pass),
            "failed": count(Verdict::Fail),
            "skipped": count(Verdict::Skip),
            "must_failed": report.count(Level::Must, Verdict::Fail),
            "should_failed": report.count(Level::Should, Verdict::Fail),
            "not_run": report.not_run.len(),
        },
        "certification": {
            "core": c.core,
            "cancel": c.cancel,
            "health": c.health,
            "line": report.certification_line(),
        },
        "tests": report.results,
        "not_run": report.not_run,
    })
}

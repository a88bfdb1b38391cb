//! The JSON report of `rep-conformance run --json FILE` (`rep-conformance-report/3`,
//! docs/conformance-report.schema.json): the one place that knows its format and checks a
//! report against its schema. `rep-conformance` writes it and verifies certificates with it
//! (`rep-conformance verify`); `tm executor check` reads it ([`Report::load`]) rather than
//! the human output. A new optional member keeps the schema id; a breaking change gets a new
//! one.

use std::path::{Path, PathBuf};

use rep_files::caps;
use serde::Deserialize;
use serde_json::Value;

/// The report schema (docs/conformance-report.schema.json), embedded.
pub const SCHEMA_JSON: &str = include_str!("../../docs/conformance-report.schema.json");

/// The `schema` member of the report format: `rep-conformance-report/3`.
pub const SCHEMA_ID: &str = "rep-conformance-report/3";

/// The area of the semantic tests (`REP-SEM-*`), opt-in through the `rep.probe` step kind.
pub const SEMANTICS_AREA: &str = "semantics";

/// Checks that `report` is a `rep-conformance-report/3` matching the schema.
///
/// # Errors
/// What is wrong, in one line: another format (its `schema`), or the first three places that
/// break the schema, each with its JSON pointer.
pub fn check(report: &Value) -> Result<(), String> {
    if report.get("schema") != Some(&Value::String(SCHEMA_ID.into())) {
        return Err(format!(
            "not a {SCHEMA_ID} report (\"schema\" is {}): read it with the rep-conformance and \
             tm of the rep revision that wrote it",
            report.get("schema").unwrap_or(&Value::Null)
        ));
    }
    let schema: Value = serde_json::from_str(SCHEMA_JSON)
        .map_err(|e| format!("the embedded report schema: {e}"))?;
    let validator = jsonschema::validator_for(&schema)
        .map_err(|e| format!("the embedded report schema: {e}"))?;
    let problems: Vec<String> = validator
        .iter_errors(report)
        .take(3)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect();
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "does not match docs/conformance-report.schema.json: {}",
            problems.join("; ")
        ))
    }
}

/// What tools read of a report: the verdicts, the certification and the capabilities.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Report {
    /// rep-conformance's exit code: 0 nothing failed, 1 a MUST test failed.
    pub exit_code: i32,
    /// The counts of verdicts.
    pub summary: Summary,
    /// The levels certified and the certification line.
    pub certification: Certification,
    /// The executor as it was run.
    pub executor: ExecutorPart,
    /// Every test that ran, in catalogue order.
    pub tests: Vec<TestPart>,
    /// Why the run stopped early (the executor never answered), if it did.
    pub aborted: Option<Aborted>,
}

/// `summary` of the report.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Summary {
    /// Tests that ran.
    pub total: u64,
    /// Tests that passed.
    pub passed: u64,
    /// MUST tests that failed.
    pub failed: u64,
    /// SHOULD tests that warned.
    pub warned: u64,
    /// Tests skipped.
    pub skipped: u64,
}

/// `certification` of the report.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Certification {
    /// REP v0.1 core certified.
    pub core: bool,
    /// Every `REP-SEM-*` test passed.
    pub semantics: bool,
    /// The certification line, e.g. `REP v0.1 core: certified + cancel + health`.
    pub line: String,
}

/// `executor` of the report.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ExecutorPart {
    /// The `Runtime.Capabilities` result, when there was one.
    pub capabilities: Option<Value>,
}

/// One test of `tests`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct TestPart {
    /// Its id, e.g. `REP-SEM-003`.
    pub id: String,
    /// `MUST` or `SHOULD`.
    pub level: String,
    /// Its area, e.g. `semantics`.
    pub area: String,
    /// `pass`, `fail`, `warn` or `skip`.
    pub verdict: String,
    /// Why (one line).
    pub reason: String,
    /// Whether this test makes the run fail (exit code 1).
    pub fails_run: bool,
}

/// `aborted` of the report.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Aborted {
    /// Why the suite stopped.
    pub reason: String,
}

/// Why a report file cannot be used; names the file.
#[derive(Debug, thiserror::Error)]
#[error("{}: {why}", path.display())]
pub struct ReportError {
    /// The report.
    pub path: PathBuf,
    /// What is wrong: unreadable (not a regular file, over [`caps::CONFORMANCE_REPORT`]), not
    /// JSON, or not a `rep-conformance-report/3` ([`check`]).
    pub why: String,
}

impl Report {
    /// Reads the report file at `path` (a regular file of at most
    /// [`caps::CONFORMANCE_REPORT`]) and checks it ([`check`]).
    ///
    /// # Errors
    /// [`ReportError`], naming the file and what is wrong.
    pub fn load(path: &Path) -> Result<Report, ReportError> {
        let error = |why: String| ReportError {
            path: path.to_path_buf(),
            why,
        };
        let text = rep_files::read(path, caps::CONFORMANCE_REPORT)
            .map_err(|e| error(format!("cannot read it: {e}")))?;
        let report: Value =
            serde_json::from_slice(&text).map_err(|e| error(format!("not JSON: {e}")))?;
        Report::from_value(&report).map_err(error)
    }

    /// Checks `report` ([`check`]) and reads it.
    ///
    /// # Errors
    /// What is wrong, in one line.
    pub fn from_value(report: &Value) -> Result<Report, String> {
        check(report)?;
        Report::deserialize(report).map_err(|e| format!("unexpected report: {e}"))
    }

    /// Whether the executor advertised `kind` in its `step_kinds`.
    pub fn advertises(&self, kind: &str) -> bool {
        self.executor
            .capabilities
            .as_ref()
            .and_then(|c| c.get("step_kinds"))
            .and_then(Value::as_array)
            .is_some_and(|kinds| kinds.iter().any(|k| k == kind))
    }

    /// The tests of `area`, in catalogue order.
    pub fn area<'a>(&'a self, area: &'a str) -> impl Iterator<Item = &'a TestPart> + 'a {
        self.tests.iter().filter(move |t| t.area == area)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use serde_json::json;

    /// A minimal valid report: one passing semantic test of an executor with rep.probe.
    pub(crate) fn report() -> Value {
        json!({
            "schema": SCHEMA_ID,
            "tool": {"name": "rep-conformance", "version": "0.1.0", "catalogue_sha256": "0".repeat(64)},
            "spec": "REP v0.1",
            "requirements": {"requirement_set": "rep-v0.1/1", "sha256": "0".repeat(64),
                             "levels": {"core": [], "cancel": [], "health": [], "semantics": ["REP-SEM-001"]}},
            "executor": {"path": "x", "args": [], "command": ["x"], "sha256": "0".repeat(64),
                         "env": {"inherit": false, "passed": [], "set": [], "protocol": []},
                         "capabilities": {"version": "1.0.0", "step_kinds": ["rep.probe"],
                                          "limits": {"concurrency": 1}}},
            "fixtures": null,
            "options": {"strict": false, "baseline": null, "filter": [], "skip": [],
                        "timeout_s": null, "repeat": 0},
            "started_at": "2026-01-01T00:00:00Z", "duration_ms": 1, "exit_code": 0,
            "summary": {"total": 1, "passed": 1, "failed": 0, "warned": 0, "skipped": 0,
                        "expected_failures": 0, "stale_baseline": 0, "not_selected": 0,
                        "not_run": 0, "flaky": 0},
            "certification": {"core": true, "cancel": false, "health": false, "semantics": true,
                              "untested": [], "flaky": [], "line": "REP v0.1 core: certified + semantics"},
            "tests": [{"id": "REP-SEM-001", "level": "MUST", "section": "IR retry", "area": "semantics",
                       "title": "t", "verdict": "pass", "reason": "ok", "hint": null, "frame": null,
                       "baseline": null, "duration_ms": 1, "fails_run": false, "flaky": false,
                       "reruns": []}],
            "not_selected": [],
            "aborted": null
        })
    }

    #[test]
    fn a_valid_report_is_read() {
        let report = Report::from_value(&report()).unwrap();
        assert!(report.advertises("rep.probe"));
        assert!(!report.advertises("switch"));
        assert_eq!(report.area(SEMANTICS_AREA).count(), 1);
        assert_eq!(
            report.certification.line,
            "REP v0.1 core: certified + semantics"
        );
    }

    #[test]
    fn another_format_and_a_report_breaking_the_schema_are_refused_with_the_reason() {
        let mut old = report();
        old["schema"] = json!("rep-conformance-report/2");
        let why = Report::from_value(&old).unwrap_err();
        assert!(why.contains("not a rep-conformance-report/3"), "{why}");
        let mut broken = report();
        broken["certification"]["core"] = json!("yes");
        let why = Report::from_value(&broken).unwrap_err();
        assert!(why.contains("/certification/core"), "{why}");
    }

    #[test]
    fn a_file_that_is_not_a_report_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("report.json");
        std::fs::write(&path, "REP v0.1 core: certified").unwrap();
        let error = Report::load(&path).unwrap_err().to_string();
        assert!(
            error.contains("report.json") && error.contains("not JSON"),
            "{error}"
        );
        let error = Report::load(dir.path()).unwrap_err().to_string();
        assert!(error.contains("not a regular file"), "{error}");
    }
}

//! The JSON report of `rep-conformance run --json FILE`, as `tm executor check` reads it:
//! checked against its JSON Schema (docs/conformance-report.schema.json,
//! `rep-conformance-report/3`, embedded in `tm`), then read into the few members the check
//! shows. The report is rep-conformance's stable interface for tools; its human output is not.

use std::io::Read;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::Value;

/// The report schema, the one rep-conformance writes by (docs/conformance.md, "Reports").
const SCHEMA_JSON: &str = include_str!("../../../../docs/conformance-report.schema.json");

/// The `schema` member of the report format this `tm` reads.
pub const SCHEMA_ID: &str = "rep-conformance-report/3";

/// A report larger than this is refused (one of the 46 tests' reasons and frames are at most
/// a few KiB each).
const REPORT_BYTES: u64 = 16 << 20;

/// The area of the semantic tests (`REP-SEM-*`), opt-in through the `rep.probe` step kind.
pub const SEMANTICS_AREA: &str = "semantics";

/// The probe step kind that opts an executor into the semantic tests (docs/protocol.md,
/// "Conformance extension").
pub const PROBE_STEP_KIND: &str = "rep.probe";

/// What the check reads of a report.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Report {
    /// rep-conformance's exit code: 0 nothing failed, 1 a MUST test failed.
    pub exit_code: i32,
    /// The counts of verdicts.
    pub summary: Summary,
    /// The levels certified and the certification line.
    pub certification: Certification,
    /// What the executor answered to `Runtime.Capabilities` (`null` when it did not).
    pub executor: Executor,
    /// Every test that ran, in catalogue order.
    pub tests: Vec<Test>,
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
pub struct Executor {
    /// The `Runtime.Capabilities` result, when there was one.
    pub capabilities: Option<Value>,
}

/// One test of `tests`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Test {
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

/// Why a report cannot be read; each names the file.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The file cannot be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The report.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not a `rep-conformance-report/3`: not JSON, another format or version, or
    /// a document breaking the schema (the first problems, each with its JSON pointer).
    #[error("{}: {why}", path.display())]
    Invalid {
        /// The report.
        path: PathBuf,
        /// What is wrong.
        why: String,
    },
}

impl Report {
    /// Reads and checks the report at `path` (at most 16 MiB).
    ///
    /// # Errors
    /// [`ReportError`]: unreadable, too large, not JSON, not a `rep-conformance-report/3`, or
    /// not matching the schema.
    pub fn load(path: &Path) -> Result<Report, ReportError> {
        let invalid = |why: String| ReportError::Invalid {
            path: path.to_path_buf(),
            why,
        };
        let mut text = Vec::new();
        std::fs::File::open(path)
            .and_then(|file| file.take(REPORT_BYTES + 1).read_to_end(&mut text))
            .map_err(|source| ReportError::Read {
                path: path.to_path_buf(),
                source,
            })?;
        if text.len() as u64 > REPORT_BYTES {
            return Err(invalid(format!(
                "larger than {} MiB: not a report of rep-conformance",
                REPORT_BYTES >> 20
            )));
        }
        let report: Value =
            serde_json::from_slice(&text).map_err(|e| invalid(format!("not JSON: {e}")))?;
        Report::from_value(&report).map_err(invalid)
    }

    /// Checks `report` against the schema and reads it; the error says what is wrong.
    fn from_value(report: &Value) -> Result<Report, String> {
        if report.get("schema") != Some(&Value::String(SCHEMA_ID.into())) {
            return Err(format!(
                "not a {SCHEMA_ID} report (\"schema\" is {}): use a rep-conformance of the \
                 same rep revision as this tm",
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
        if !problems.is_empty() {
            return Err(format!(
                "does not match docs/conformance-report.schema.json: {}",
                problems.join("; ")
            ));
        }
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
    pub fn area<'a>(&'a self, area: &'a str) -> impl Iterator<Item = &'a Test> + 'a {
        self.tests.iter().filter(move |t| t.area == area)
    }

    /// The `conformance` check: whether it passed (rep-conformance exited `exit_code`, 0, as
    /// its report says) and one line: the certification line and the counts, and on a failure
    /// the tests that failed outside the semantic tests (those have a line of their own).
    pub fn conformance(&self, exit_code: Option<i32>, project: &Path) -> (bool, String) {
        let s = &self.summary;
        let mut detail = format!(
            "{} ({}: {} passed, {} failed, {} warned, {} skipped)",
            self.certification.line,
            n_tests(s.total),
            s.passed,
            s.failed,
            s.warned,
            s.skipped
        );
        if exit_code != Some(self.exit_code) {
            detail.push_str(&format!(
                "; rep-conformance exited {} but its report says {}",
                exit_code.map_or("without a code".into(), |c| c.to_string()),
                self.exit_code
            ));
            return (false, detail);
        }
        if self.exit_code == 0 {
            return (true, detail);
        }
        if let Some(aborted) = &self.aborted {
            detail.push_str(&format!("; stopped: {}", aborted.reason));
        }
        let failed: Vec<&Test> = self
            .tests
            .iter()
            .filter(|t| t.fails_run && t.area != SEMANTICS_AREA)
            .collect();
        if !failed.is_empty() {
            detail.push_str(&format!("; failed: {}", listed(&failed)));
        }
        detail.push_str(&format!(
            "; run `rep-conformance run` in {} for the whole report",
            project.display()
        ));
        (false, detail)
    }

    /// The `semantics` check: the `REP-SEM-*` tests, which rep-conformance runs when the
    /// executor advertises `rep.probe`. Passes when none of them fails the run (a warning of a
    /// SHOULD test is named, not a failure); without `rep.probe`, passes and says how to opt in.
    pub fn semantics(&self) -> (bool, String) {
        if !self.advertises(PROBE_STEP_KIND) {
            return (
                true,
                format!(
                    "not tested: the executor does not advertise {PROBE_STEP_KIND}, with which \
                     rep-conformance checks how it runs flows (register it: docs/protocol.md, \
                     \"Conformance extension\")"
                ),
            );
        }
        let tests: Vec<&Test> = self.area(SEMANTICS_AREA).collect();
        let count = |verdict: &str| tests.iter().filter(|t| t.verdict == verdict).count();
        let mut detail = format!(
            "REP-SEM {}: {} passed, {} failed, {} warned, {} skipped",
            n_tests(tests.len() as u64),
            count("pass"),
            count("fail"),
            count("warn"),
            count("skip")
        );
        let failed: Vec<&Test> = tests.iter().copied().filter(|t| t.fails_run).collect();
        let noted: Vec<&Test> = tests
            .iter()
            .copied()
            .filter(|t| !t.fails_run && matches!(t.verdict.as_str(), "warn" | "skip" | "fail"))
            .collect();
        if !failed.is_empty() {
            detail.push_str(&format!("; failed: {}", listed(&failed)));
        }
        if !noted.is_empty() {
            detail.push_str(&format!("; {}", listed(&noted)));
        }
        (failed.is_empty() && !tests.is_empty(), detail)
    }
}

/// `1 test`, `2 tests`.
fn n_tests(n: u64) -> String {
    format!("{n} test{}", if n == 1 { "" } else { "s" })
}

/// The first test as `ID (verdict: reason)`, the others by id: one line stays readable.
fn listed(tests: &[&Test]) -> String {
    let mut shown: Vec<String> = tests.iter().map(|t| t.id.clone()).collect();
    if let Some(first) = tests.first() {
        shown[0] = format!("{} ({}: {})", first.id, first.verdict, first.reason);
    }
    shown.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A minimal valid report: one passing semantic test of an executor with rep.probe.
    fn report() -> Value {
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
        let report = Report::from_value(&report()).unwrap_or_else(|e| panic!("{e}"));
        assert!(report.advertises(PROBE_STEP_KIND));
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

    fn test(id: &str, area: &str, level: &str, verdict: &str, fails_run: bool) -> Test {
        Test {
            id: id.into(),
            level: level.into(),
            area: area.into(),
            verdict: verdict.into(),
            reason: format!("why {id}"),
            fails_run,
        }
    }

    #[test]
    fn the_lines_name_failures_warnings_and_a_missing_probe() {
        let project = Path::new("/p");
        let mut report = Report::from_value(&report()).unwrap_or_else(|e| panic!("{e}"));
        let (ok, line) = report.conformance(Some(0), project);
        assert!(ok, "{line}");
        assert!(line.starts_with("REP v0.1 core: certified + semantics (1 test: 1 passed"));
        assert_eq!(
            report.semantics(),
            (
                true,
                "REP-SEM 1 test: 1 passed, 0 failed, 0 warned, 0 skipped".into()
            )
        );
        // The process and its report disagree: not trusted.
        assert!(!report.conformance(Some(1), project).0);
        // A failed MUST semantic test fails the semantics line, not the conformance list;
        // a warning is named without failing.
        report.exit_code = 1;
        report.tests = vec![
            test("REP-RUN-001", "run", "MUST", "fail", true),
            test("REP-SEM-003", SEMANTICS_AREA, "MUST", "fail", true),
            test("REP-SEM-008", SEMANTICS_AREA, "SHOULD", "warn", false),
        ];
        let (ok, line) = report.conformance(Some(1), project);
        assert!(!ok);
        assert!(
            line.contains(
                "failed: REP-RUN-001 (fail: why REP-RUN-001); run `rep-conformance run` in /p"
            ),
            "{line}"
        );
        assert!(!line.contains("REP-SEM-003"), "{line}");
        let (ok, line) = report.semantics();
        assert!(!ok);
        assert_eq!(
            line,
            "REP-SEM 2 tests: 0 passed, 1 failed, 1 warned, 0 skipped; failed: REP-SEM-003 \
             (fail: why REP-SEM-003); REP-SEM-008 (warn: why REP-SEM-008)"
        );
        // Without rep.probe the semantic tests are skipped, and the line says how to opt in.
        report.executor.capabilities = Some(json!({"step_kinds": ["finish"]}));
        let (ok, line) = report.semantics();
        assert!(ok);
        assert!(line.starts_with("not tested: the executor does not advertise rep.probe"));
    }

    #[test]
    fn a_file_that_is_not_a_report_is_named() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("report.json");
        std::fs::write(&path, "REP v0.1 core: certified").unwrap_or_else(|e| panic!("{e}"));
        let error = Report::load(&path).unwrap_err().to_string();
        assert!(
            error.contains("report.json") && error.contains("not JSON"),
            "{error}"
        );
        let error = Report::load(&dir.path().join("none.json"))
            .unwrap_err()
            .to_string();
        assert!(error.contains("cannot read"), "{error}");
    }
}

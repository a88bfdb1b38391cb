//! The two lines `tm executor check` shows from rep-conformance's JSON report
//! ([`rep_host::conformance_report`]): `conformance` (the certification and what failed) and
//! `semantics` (the `REP-SEM-*` tests of executors that advertise `rep.probe`).

use rep_host::conformance_report::{Report, SEMANTICS_AREA, TestPart};

/// The probe step kind that opts an executor into the semantic tests (docs/protocol.md,
/// "Conformance extension").
const PROBE_STEP_KIND: &str = "rep.probe";

/// The `conformance` check: whether it passed (rep-conformance exited `exit_code`, 0, as its
/// report says) and one line: the certification line and the counts, and on a failure the
/// tests that failed outside the semantic tests (those have a line of their own), and
/// `rerun`, the shell command that gives the whole report.
pub fn conformance(report: &Report, exit_code: Option<i32>, rerun: &str) -> (bool, String) {
    let s = &report.summary;
    let mut detail = format!(
        "{} ({}: {} passed, {} failed, {} warned, {} skipped)",
        report.certification.line,
        n_tests(s.total),
        s.passed,
        s.failed,
        s.warned,
        s.skipped
    );
    if exit_code != Some(report.exit_code) {
        detail.push_str(&format!(
            "; rep-conformance exited {} but its report says {}",
            exit_code.map_or("without a code".into(), |c| c.to_string()),
            report.exit_code
        ));
        return (false, detail);
    }
    if report.exit_code == 0 {
        return (true, detail);
    }
    if let Some(aborted) = &report.aborted {
        detail.push_str(&format!("; stopped: {}", aborted.reason));
    }
    let failed: Vec<&TestPart> = report
        .tests
        .iter()
        .filter(|t| t.fails_run && t.area != SEMANTICS_AREA)
        .collect();
    if !failed.is_empty() {
        detail.push_str(&format!("; failed: {}", listed(&failed)));
    }
    detail.push_str(&format!("; the whole report: `{rerun}`"));
    (false, detail)
}

/// The `semantics` check: the `REP-SEM-*` tests, which rep-conformance runs when the executor
/// advertises `rep.probe`. Passes when none of them fails the run (a warning of a SHOULD test
/// is named, not a failure); without `rep.probe`, passes and says how to opt in.
pub fn semantics(report: &Report) -> (bool, String) {
    if !report.advertises(PROBE_STEP_KIND) {
        return (
            true,
            format!(
                "not tested: the executor does not advertise {PROBE_STEP_KIND}, with which \
                 rep-conformance checks how it runs flows (register it: docs/protocol.md, \
                 \"Conformance extension\")"
            ),
        );
    }
    let tests: Vec<&TestPart> = report.area(SEMANTICS_AREA).collect();
    let count = |verdict: &str| tests.iter().filter(|t| t.verdict == verdict).count();
    let mut detail = format!(
        "REP-SEM {}: {} passed, {} failed, {} warned, {} skipped",
        n_tests(tests.len() as u64),
        count("pass"),
        count("fail"),
        count("warn"),
        count("skip")
    );
    let failed: Vec<&TestPart> = tests.iter().copied().filter(|t| t.fails_run).collect();
    let noted: Vec<&TestPart> = tests
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

/// `1 test`, `2 tests`.
fn n_tests(n: u64) -> String {
    format!("{n} test{}", if n == 1 { "" } else { "s" })
}

/// The first test as `ID (verdict: reason)`, the others by id: one line stays readable.
fn listed(tests: &[&TestPart]) -> String {
    let mut shown: Vec<String> = tests.iter().map(|t| t.id.clone()).collect();
    if let Some(first) = tests.first() {
        shown[0] = format!("{} ({}: {})", first.id, first.verdict, first.reason);
    }
    shown.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use rep_host::conformance_report::{Aborted, Certification, ExecutorPart, Summary, TestPart};
    use serde_json::json;

    fn test(id: &str, area: &str, level: &str, verdict: &str, fails_run: bool) -> TestPart {
        TestPart {
            id: id.into(),
            level: level.into(),
            area: area.into(),
            verdict: verdict.into(),
            reason: format!("why {id}"),
            fails_run,
        }
    }

    fn report() -> Report {
        Report {
            exit_code: 0,
            summary: Summary {
                total: 1,
                passed: 1,
                failed: 0,
                warned: 0,
                skipped: 0,
            },
            certification: Certification {
                core: true,
                semantics: true,
                line: "REP v0.1 core: certified + semantics".into(),
            },
            executor: ExecutorPart {
                capabilities: Some(json!({"step_kinds": ["rep.probe"]})),
            },
            tests: vec![test("REP-SEM-001", SEMANTICS_AREA, "MUST", "pass", false)],
            aborted: None,
        }
    }

    #[test]
    fn the_lines_name_failures_warnings_and_a_missing_probe() {
        let project = "cd /p && rep-conformance run --config runtime.yaml";
        let mut report = report();
        let (ok, line) = conformance(&report, Some(0), project);
        assert!(ok, "{line}");
        assert!(line.starts_with("REP v0.1 core: certified + semantics (1 test: 1 passed"));
        assert_eq!(
            semantics(&report),
            (
                true,
                "REP-SEM 1 test: 1 passed, 0 failed, 0 warned, 0 skipped".into()
            )
        );
        // The process and its report disagree: not trusted.
        assert!(!conformance(&report, Some(1), project).0);
        // A failed MUST semantic test fails the semantics line, not the conformance list; a
        // warning is named without failing.
        report.exit_code = 1;
        report.aborted = Some(Aborted {
            reason: "gone".into(),
        });
        report.tests = vec![
            test("REP-RUN-001", "run", "MUST", "fail", true),
            test("REP-SEM-003", SEMANTICS_AREA, "MUST", "fail", true),
            test("REP-SEM-008", SEMANTICS_AREA, "SHOULD", "warn", false),
        ];
        let (ok, line) = conformance(&report, Some(1), project);
        assert!(!ok);
        assert!(
            line.contains(
                "; stopped: gone; failed: REP-RUN-001 (fail: why REP-RUN-001); the whole \
                 report: `cd /p && rep-conformance run --config runtime.yaml`"
            ),
            "{line}"
        );
        assert!(!line.contains("REP-SEM-003"), "{line}");
        let (ok, line) = semantics(&report);
        assert!(!ok);
        assert_eq!(
            line,
            "REP-SEM 2 tests: 0 passed, 1 failed, 1 warned, 0 skipped; failed: REP-SEM-003 \
             (fail: why REP-SEM-003); REP-SEM-008 (warn: why REP-SEM-008)"
        );
        // Without rep.probe the semantic tests are skipped, and the line says how to opt in.
        report.executor.capabilities = Some(json!({"step_kinds": ["finish"]}));
        let (ok, line) = semantics(&report);
        assert!(ok);
        assert!(line.starts_with("not tested: the executor does not advertise rep.probe"));
    }
}

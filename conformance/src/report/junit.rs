//! The JUnit XML report (`--junit FILE`): one `<testsuite>` per area, one `<testcase>` per
//! test named `<id> <title>` with classname `rep.<area>` and properties `level`, `section` and
//! `verdict`.
//!
//! The `<failure>` elements are exactly the tests that make the run fail (exit code 1; the
//! JSON report's `fails_run`), so a dashboard is red exactly when CI is:
//!
//! - a MUST failure is a `<failure type="MUST">`: message the reason, text the offending frame;
//! - a SHOULD warning is a **passing** test case with property `verdict=warn` and the warning
//!   in `<system-out>` (it never fails the run);
//! - a skip, and a failure the baseline expects, are `<skipped>` with the reason;
//! - with `--repeat`, a test that failed and then passed is passing with a `<flakyFailure>`
//!   per failed run; one that kept failing has a `<rerunFailure>` per earlier run.

use quick_junit::{
    NonSuccessKind, Property, Report, TestCase, TestCaseStatus, TestRerun, TestSuite,
};

use crate::catalogue::Area;
use crate::suite::SuiteReport;
use crate::verdict::{BaselineStatus, Rerun, TestResult, Verdict};

fn rerun(run: &Rerun) -> TestRerun {
    let mut rerun = TestRerun::new(NonSuccessKind::Failure);
    rerun
        .set_type(run.verdict.as_str())
        .set_message(run.reason.as_str())
        .set_time(std::time::Duration::from_millis(run.duration_ms));
    if let Some(frame) = &run.frame {
        rerun.set_description(format!("offending frame: {frame}"));
    }
    rerun
}

fn case(result: &TestResult) -> TestCase {
    let expected = result
        .baseline
        .as_ref()
        .filter(|b| b.status == BaselineStatus::ExpectedFailure);
    let mut system_out = None;
    let mut status = match (result.verdict, expected) {
        (Verdict::Pass, _) => {
            let mut s = TestCaseStatus::success();
            s.set_message(result.reason.as_str());
            s
        }
        (_, Some(baseline)) => {
            let mut s = TestCaseStatus::skipped();
            s.set_message(format!(
                "expected failure (baseline: {}): {}",
                baseline.reason, result.reason
            ));
            s
        }
        (Verdict::Skip, None) => {
            let mut s = TestCaseStatus::skipped();
            let hint = result
                .hint
                .as_ref()
                .map(|h| format!(" — to test it: {h}"))
                .unwrap_or_default();
            s.set_message(format!("{}{hint}", result.reason));
            s
        }
        (Verdict::Warn, None) => {
            let frame = result
                .frame
                .as_ref()
                .map(|f| format!("\noffending frame: {f}"))
                .unwrap_or_default();
            system_out = Some(format!(
                "warning (SHOULD, does not fail the run): {}{frame}",
                result.reason
            ));
            TestCaseStatus::success()
        }
        (Verdict::Fail, None) => {
            let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
            s.set_type(result.level.as_str());
            s.set_message(result.reason.as_str());
            if let Some(frame) = &result.frame {
                s.set_description(format!("offending frame: {frame}"));
            }
            s
        }
    };
    status.add_reruns(result.reruns.iter().map(rerun));
    let mut case = TestCase::new(format!("{} {}", result.id, result.title), status);
    case.set_classname(format!("rep.{}", result.area.name()))
        .set_time(std::time::Duration::from_millis(result.duration_ms))
        .add_property(Property::new("level", result.level.as_str()))
        .add_property(Property::new("section", result.section))
        .add_property(Property::new("verdict", result.verdict.as_str()));
    if result.flaky {
        case.add_property(Property::new("flaky", "true"));
    }
    if let Some(text) = system_out {
        case.set_system_out(text);
    }
    case
}

/// The report as JUnit XML.
///
/// # Errors
/// The serializer's error (it does not fail on valid strings).
pub fn render(report: &SuiteReport) -> Result<String, quick_junit::SerializeError> {
    let mut junit = Report::new("rep-conformance");
    junit.set_time(report.duration);
    let certification = report.certification_line();
    let suite_for = |area: Area| {
        let mut suite = TestSuite::new(format!("REP v0.1 {}", area.title()));
        suite
            .add_property(Property::new(
                "executor",
                report.target.path.display().to_string(),
            ))
            .add_property(Property::new(
                "executor_sha256",
                report.identity.sha256.as_deref().unwrap_or("unknown"),
            ))
            .add_property(Property::new("certification", certification.as_str()))
            .add_property(Property::new("exit_code", report.exit_code().to_string()));
        suite
    };
    let mut area: Option<(Area, TestSuite)> = None;
    for result in &report.results {
        match &mut area {
            Some((current, suite)) if *current == result.area => {
                suite.add_test_case(case(result));
            }
            _ => {
                if let Some((_, suite)) = area.take() {
                    junit.add_test_suite(suite);
                }
                let mut suite = suite_for(result.area);
                suite.add_test_case(case(result));
                area = Some((result.area, suite));
            }
        }
    }
    if let Some((_, suite)) = area {
        junit.add_test_suite(suite);
    }
    junit.to_string()
}

//! The JUnit XML report (`--junit FILE`): one `<testsuite>` per area, one `<testcase>` per
//! test named `<id> <title>` with classname `rep.<area>`. A MUST failure is a `<failure
//! type="MUST">`, a SHOULD warning a `<failure type="SHOULD">` (the exit code, not the XML,
//! says whether CI passes), a skip or a failure the baseline expects a `<skipped>` with the
//! reason. Reason and frame are the failure's message and text.

use quick_junit::{NonSuccessKind, Property, Report, TestCase, TestCaseStatus, TestSuite};

use crate::catalogue::Area;
use crate::suite::SuiteReport;
use crate::verdict::{BaselineStatus, TestResult, Verdict};

fn case(result: &TestResult) -> TestCase {
    let expected = result
        .baseline
        .as_ref()
        .filter(|b| b.status == BaselineStatus::ExpectedFailure);
    let mut status = match (result.verdict, expected) {
        (Verdict::Pass, _) => TestCaseStatus::success(),
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
        (Verdict::Fail | Verdict::Warn, None) => {
            let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
            s.set_type(result.level.as_str());
            s.set_message(result.reason.as_str());
            if let Some(frame) = &result.frame {
                s.set_description(format!("offending frame: {frame}"));
            }
            s
        }
    };
    if result.verdict == Verdict::Pass {
        status.set_message(result.reason.as_str());
    }
    let mut case = TestCase::new(format!("{} {}", result.id, result.title), status);
    case.set_classname(format!("rep.{}", result.area.name()))
        .set_time(std::time::Duration::from_millis(result.duration_ms))
        .add_property(Property::new("level", result.level.as_str()))
        .add_property(Property::new("section", result.section))
        .add_property(Property::new("verdict", result.verdict.as_str()));
    case
}

/// The report as JUnit XML.
///
/// # Errors
/// The serializer's error (it does not fail on valid strings).
pub fn render(report: &SuiteReport) -> Result<String, quick_junit::SerializeError> {
    let mut junit = Report::new("rep-conformance");
    junit.set_time(report.duration);
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
                let mut suite = TestSuite::new(format!("REP v0.1 {}", result.area.title()));
                suite.add_property(Property::new(
                    "executor",
                    report.target.path.display().to_string(),
                ));
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

//! The report files of `tm verify online --cases`: `--junit FILE` (JUnit XML through
//! quick-junit: a testsuite per flow, a testcase per case) and `--json FILE`
//! (docs/contract-report.schema.json), each written whole with rep-files' `write_atomic`.

use std::path::Path;
use std::time::Duration;

use quick_junit::{NonSuccessKind, Property, Report, TestCase, TestCaseStatus, TestSuite};
use serde::Serialize;
use serde_json::Value;

use super::cases::{Case, outputs_of};
use super::contract::{CaseRun, Tally, Verdict, detail};
use super::error::Failure;

/// The `format` of the JSON report.
pub const JSON_FORMAT: &str = "tm-contract-report/1";

/// Where the reports go.
pub struct Reports<'a> {
    /// `--junit FILE`.
    pub junit: Option<&'a Path>,
    /// `--json FILE`.
    pub json: Option<&'a Path>,
}

impl Reports<'_> {
    /// Writes the reports asked for.
    pub fn write(
        &self,
        cases: &[Case],
        runs: &[CaseRun],
        tally: Tally,
        manifest: &Path,
        exit_code: u8,
    ) -> Result<(), Failure> {
        let write = |path: &Path, bytes: Vec<u8>| {
            rep_files::write_atomic(path, &bytes).map_err(|source| Failure::Report {
                path: path.to_path_buf(),
                source,
            })
        };
        if let Some(path) = self.junit {
            write(path, junit(cases, runs).into_bytes())?;
        }
        if let Some(path) = self.json {
            let document = json(cases, runs, tally, manifest, exit_code);
            let mut bytes = serde_json::to_vec_pretty(&document).unwrap_or_default();
            bytes.push(b'\n');
            write(path, bytes)?;
        }
        Ok(())
    }
}

/// The steps whose last step event says `failed`, with the event's `error` when it has one:
/// `probe (error: {...})`.
fn failed_steps(run: &CaseRun) -> Vec<String> {
    let Some(outcome) = &run.outcome else {
        return Vec::new();
    };
    let mut last: Vec<(String, Option<Value>, bool)> = Vec::new();
    for raw in &outcome.events {
        let Ok(event) = serde_json::from_str::<Value>(raw.get()) else {
            continue;
        };
        if event["type"] != "step" {
            continue;
        }
        let (Some(step), Some(state)) = (event["step_id"].as_str(), event["state"].as_str()) else {
            continue;
        };
        let failed = state == "failed";
        let error = event.get("error").cloned();
        match last.iter_mut().find(|(id, _, _)| id == step) {
            Some(entry) if state != "started" => *entry = (step.to_owned(), error, failed),
            Some(_) => {}
            None => last.push((step.to_owned(), error, failed)),
        }
    }
    last.into_iter()
        .filter(|(_, _, failed)| *failed)
        .map(|(step, error, _)| match error {
            Some(error) => format!("{step} (error: {error})"),
            None => step,
        })
        .collect()
}

/// The JUnit XML document: a testsuite per flow (in case order), a testcase per case named
/// by its path under DIR. A failed case is a `<failure>` (message: its differences;
/// text: every difference, the failed steps and the outputs), a broken one an `<error>` of
/// the REP error code, a case not finished `<skipped>`.
pub fn junit(cases: &[Case], runs: &[CaseRun]) -> String {
    let mut report = Report::new("tm verify online");
    let mut suites: Vec<TestSuite> = Vec::new();
    for (case, run) in cases.iter().zip(runs) {
        let status = match &run.verdict {
            Verdict::Passed => TestCaseStatus::success(),
            Verdict::Failed(found) => {
                let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
                status
                    .set_type("expectation")
                    .set_message(detail(&run.verdict))
                    .set_description(description(run, found));
                status
            }
            Verdict::Broken(error) => {
                let mut status = TestCaseStatus::non_success(NonSuccessKind::Error);
                status
                    .set_type(format!("{} {}", error.code, error.class.as_str()))
                    .set_message(detail(&run.verdict))
                    .set_description(description(run, &[]));
                status
            }
            Verdict::Interrupted | Verdict::NotRun => {
                let mut status = TestCaseStatus::skipped();
                status.set_message(detail(&run.verdict));
                status
            }
        };
        let mut testcase = TestCase::new(case.name.as_str(), status);
        testcase
            .set_classname(case.flow.as_str())
            .set_time(run.duration);
        if let Some(outcome) = &run.outcome {
            testcase.add_property(Property::new("run_id", outcome.run_id.as_str()));
            testcase.add_property(Property::new("trace_id", outcome.trace_id.as_str()));
            testcase.add_property(Property::new("status", outcome.status.as_str()));
        }
        match suites.iter_mut().find(|s| s.name.as_str() == case.flow) {
            Some(suite) => {
                suite.add_test_case(testcase);
            }
            None => {
                let mut suite = TestSuite::new(case.flow.as_str());
                suite.add_test_case(testcase);
                suites.push(suite);
            }
        }
    }
    for suite in &mut suites {
        let time: Duration = suite.test_cases.iter().filter_map(|c| c.time).sum();
        suite.set_time(time);
    }
    report.add_test_suites(suites);
    // Serializing to a String cannot fail on an I/O error; a failure of the XML writer is
    // reported in the document rather than dropped.
    report
        .to_string()
        .unwrap_or_else(|e| format!("<!-- cannot render the JUnit report: {e} -->\n"))
}

/// The text of a failed or broken case: every difference, the failed steps, the outputs.
fn description(run: &CaseRun, found: &[String]) -> String {
    let mut lines: Vec<String> = found.to_vec();
    let failed = failed_steps(run);
    if !failed.is_empty() {
        lines.push(format!("failed steps: {}", failed.join(", ")));
    }
    if let Some(outcome) = &run.outcome {
        if let Some(error) = &outcome.error {
            lines.push(format!(
                "error {} ({}): {}",
                error.code,
                error.class.as_str(),
                error.message
            ));
        }
        lines.push(format!("outputs: {}", outputs_of(outcome)));
    }
    lines.join("\n")
}

/// The JSON report (docs/contract-report.schema.json).
#[derive(Serialize)]
struct JsonReport<'a> {
    format: &'static str,
    manifest: String,
    exit_code: u8,
    summary: JsonSummary,
    cases: Vec<JsonCase<'a>>,
}

#[derive(Serialize)]
struct JsonSummary {
    total: usize,
    passed: usize,
    failed: usize,
    broken: usize,
    not_finished: usize,
}

#[derive(Serialize)]
struct JsonCase<'a> {
    name: &'a str,
    path: String,
    flow: &'a str,
    verdict: &'static str,
    duration_ms: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    run_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    trace_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<&'static str>,
    differences: &'a [String],
    failed_steps: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    outputs: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<JsonError<'a>>,
}

#[derive(Serialize)]
struct JsonError<'a> {
    code: i64,
    class: &'static str,
    message: &'a str,
    exit_code: u8,
}

fn json<'a>(
    cases: &'a [Case],
    runs: &'a [CaseRun],
    tally: Tally,
    manifest: &Path,
    exit_code: u8,
) -> JsonReport<'a> {
    let cases = cases
        .iter()
        .zip(runs)
        .map(|(case, run)| JsonCase {
            name: &case.name,
            path: case.path.display().to_string(),
            flow: &case.flow,
            verdict: match run.verdict {
                Verdict::Passed => "passed",
                Verdict::Failed(_) => "failed",
                Verdict::Broken(_) => "broken",
                Verdict::Interrupted => "cancelled",
                Verdict::NotRun => "not_run",
            },
            duration_ms: u64::try_from(run.duration.as_millis()).unwrap_or(u64::MAX),
            run_id: run.outcome.as_ref().map(|o| o.run_id.as_str()),
            trace_id: run.outcome.as_ref().map(|o| o.trace_id.as_str()),
            status: run.outcome.as_ref().map(|o| o.status.as_str()),
            differences: match &run.verdict {
                Verdict::Failed(found) => found,
                _ => &[],
            },
            failed_steps: failed_steps(run),
            outputs: run.outcome.as_ref().map(outputs_of),
            error: run
                .outcome
                .as_ref()
                .and_then(|o| o.error.as_ref())
                .map(|e| JsonError {
                    code: e.code,
                    class: e.class.as_str(),
                    message: &e.message,
                    exit_code: e.exit_code().code(),
                }),
        })
        .collect();
    JsonReport {
        format: JSON_FORMAT,
        manifest: manifest.display().to_string(),
        exit_code,
        summary: JsonSummary {
            total: tally.total,
            passed: tally.passed,
            failed: tally.failed,
            broken: tally.broken,
            not_finished: tally.not_finished,
        },
        cases,
    }
}

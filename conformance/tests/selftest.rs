//! The suite's self-test: the unbroken `broken-executor` and the mock executor pass every
//! MUST test; each MUST test fails on the fault made for it, flagged by its own id; the
//! JUnit report parses and the JSON report matches docs/conformance-report.schema.json.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

use conformance::{CATALOGUE, Level};
use serde_json::Value;

fn suite() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_rep-conformance"))
}

fn broken_executor() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_broken-executor"))
}

/// The mock executor, built beside this package's binaries by `cargo build --workspace`.
fn mock_executor() -> PathBuf {
    let path = suite().parent().unwrap().join("mock-executor");
    assert!(
        path.is_file(),
        "{} is not built: run `cargo build --workspace` (or `cargo nextest run --workspace`)",
        path.display()
    );
    path
}

fn fixtures(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name)
}

fn repo_file(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(path)
}

struct Outcome {
    code: i32,
    stdout: String,
    stderr: String,
    json: Value,
    junit: String,
}

/// Runs `rep-conformance run --executor X [extra…] --json --junit`.
fn run(executor: &Path, extra: &[&str]) -> Outcome {
    let dir = tempfile::tempdir().unwrap();
    let (json, junit) = (dir.path().join("r.json"), dir.path().join("r.xml"));
    let output = Command::new(suite())
        .arg("run")
        .arg("--executor")
        .arg(executor)
        .arg("--json")
        .arg(&json)
        .arg("--junit")
        .arg(&junit)
        .args(extra)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let json = std::fs::read_to_string(&json)
        .unwrap_or_else(|e| panic!("no JSON report ({e}):\n{stdout}\n{stderr}"));
    Outcome {
        code: output.status.code().unwrap_or(-1),
        json: serde_json::from_str(&json).unwrap(),
        junit: std::fs::read_to_string(&junit).unwrap(),
        stdout,
        stderr,
    }
}

fn verdicts(outcome: &Outcome) -> Vec<(String, String, String, String)> {
    outcome.json["tests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            let s = |k: &str| t[k].as_str().unwrap_or("").to_owned();
            (s("id"), s("level"), s("verdict"), s("reason"))
        })
        .collect()
}

fn failed_musts(outcome: &Outcome) -> Vec<String> {
    verdicts(outcome)
        .into_iter()
        .filter(|(_, level, verdict, _)| level == "MUST" && verdict != "pass")
        .map(|(id, _, verdict, reason)| format!("{id} {verdict}: {reason}"))
        .collect()
}

#[test]
fn the_unbroken_executor_passes_every_test_and_is_certified() {
    let fixtures = fixtures("selftest");
    let outcome = run(
        &broken_executor(),
        &["--fixtures", fixtures.to_str().unwrap()],
    );
    let not_passed: Vec<_> = verdicts(&outcome)
        .into_iter()
        .filter(|(_, _, verdict, _)| verdict != "pass")
        .collect();
    assert!(not_passed.is_empty(), "{not_passed:#?}\n{}", outcome.stdout);
    assert_eq!(outcome.code, 0, "{}", outcome.stderr);
    assert_eq!(verdicts(&outcome).len(), CATALOGUE.len());
    assert!(
        outcome
            .stdout
            .contains("REP v0.1 core: certified + cancel + health"),
        "{}",
        outcome.stdout
    );
    assert_eq!(outcome.json["certification"]["core"], true);
}

#[test]
fn every_must_test_fails_on_its_own_fault() {
    let fixtures = fixtures("selftest");
    let mut not_caught = Vec::new();
    for test in CATALOGUE.iter().filter(|t| t.level == Level::Must) {
        let outcome = run(
            &broken_executor(),
            &[
                "--fixtures",
                fixtures.to_str().unwrap(),
                "--filter",
                test.id,
                "--",
                "--fault",
                test.id,
            ],
        );
        let results = verdicts(&outcome);
        let caught = outcome.code == 1
            && results.len() == 1
            && results[0].0 == test.id
            && results[0].2 == "fail"
            && !results[0].3.starts_with("not testable");
        if !caught {
            not_caught.push(format!("{}: exit {} {results:?}", test.id, outcome.code));
        }
        assert_eq!(outcome.json["certification"]["core"], false);
    }
    assert!(
        not_caught.is_empty(),
        "MUST tests that do not fail on their fault:\n{}",
        not_caught.join("\n")
    );
}

#[test]
fn the_mock_executor_passes_every_must_test() {
    let fixtures = fixtures("mock");
    let outcome = run(
        &mock_executor(),
        &["--fixtures", fixtures.to_str().unwrap()],
    );
    let failed = failed_musts(&outcome);
    assert!(failed.is_empty(), "{failed:#?}\n{}", outcome.stdout);
    assert_eq!(outcome.code, 0);
    // The fixtures make every lifecycle test run for real, including the failing flow and
    // Cancel of a running run.
    let reasons = verdicts(&outcome);
    let reason = |id: &str| reasons.iter().find(|r| r.0 == id).unwrap().3.clone();
    assert!(reason("REP-LIF-002").contains("plant-monitor"));
    assert!(reason("REP-LIF-003").contains("plant-monitor-bad-nodes"));
    assert_eq!(
        reasons.iter().find(|r| r.0 == "REP-CAN-003").unwrap().2,
        "pass"
    );
}

#[test]
fn reports_parse_and_match_the_documented_schema() {
    // A run with a MUST failure, so the reports carry a failure with its frame.
    let fixtures = fixtures("selftest");
    let outcome = run(
        &broken_executor(),
        &[
            "--fixtures",
            fixtures.to_str().unwrap(),
            "--",
            "--fault",
            "REP-HLT-001",
        ],
    );
    assert_eq!(outcome.code, 1);
    assert!(outcome.stdout.contains("REP v0.1 core: not certified"));

    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(repo_file("docs/conformance-report.schema.json")).unwrap(),
    )
    .unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&outcome.json)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    let health = outcome.json["tests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == "REP-HLT-001")
        .unwrap();
    assert_eq!(health["verdict"], "fail");
    assert!(health["frame"].as_str().unwrap().contains("\"ok\":true"));

    let junit = quick_junit::Report::deserialize_from_str(&outcome.junit).unwrap();
    let cases: Vec<_> = junit
        .test_suites
        .iter()
        .flat_map(|s| &s.test_cases)
        .collect();
    assert_eq!(cases.len(), CATALOGUE.len());
    let failures: Vec<_> = cases
        .iter()
        .filter(|c| !matches!(c.status, quick_junit::TestCaseStatus::Success { .. }))
        .map(|c| c.name.as_str().to_owned())
        .collect();
    assert_eq!(failures.len(), 1, "{failures:?}");
    assert!(failures[0].starts_with("REP-HLT-001"));
}

#[test]
fn filtered_runs_are_not_certified_and_name_what_was_left_out() {
    let outcome = run(&broken_executor(), &["--filter", "REP-CAP-*"]);
    assert_eq!(outcome.code, 0);
    assert_eq!(verdicts(&outcome).len(), 1);
    assert_eq!(
        outcome.json["not_run"].as_array().unwrap().len(),
        CATALOGUE.len() - 1
    );
    assert!(outcome.stdout.contains("not certified (partial run"));
}

#[test]
fn list_prints_the_whole_catalogue() {
    let output = Command::new(suite()).arg("list").output().unwrap();
    assert!(output.status.success());
    let text = String::from_utf8(output.stdout).unwrap();
    for test in CATALOGUE {
        let line = text.lines().find(|l| l.starts_with(test.id)).unwrap();
        assert!(line.contains(test.level.as_str()) && line.contains(test.title));
    }
}

#[test]
fn usage_errors_exit_2_and_name_the_problem() {
    let cases: [(&[&str], &str); 3] = [
        (&["--filter", "REP-["], "invalid glob"),
        (
            &["--executor", "/nonexistent/executor"],
            "/nonexistent/executor",
        ),
        (
            &["--fixtures", "/nonexistent/fixtures"],
            "/nonexistent/fixtures",
        ),
    ];
    for (args, expected) in cases {
        let mut cmd = Command::new(suite());
        cmd.arg("run");
        if !args.contains(&"--executor") {
            cmd.arg("--executor").arg(broken_executor());
        }
        let output = cmd.args(args).output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
    }
}

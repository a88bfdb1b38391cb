//! The suite's self-test: the unbroken `broken-executor`, the mock executor and an
//! independent Python executor are certified; each test fails (MUST) or warns (SHOULD) on the
//! fault made for it, flagged by its own id; echoing and silent executors pass nothing; the
//! usage rules (zero selected, `--strict`, baselines, executor environment) hold; the reports
//! match docs/conformance-report.schema.json.

#![allow(clippy::unwrap_used)]

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use rep_conformance::{CATALOGUE, Level};
use serde_json::Value;
use support::{broken_executor, mock_executor, python_executor, suite};

fn fixtures(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name)
        .display()
        .to_string()
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
    elapsed: Duration,
}

impl Outcome {
    /// `(id, level, verdict, reason)` of every test run.
    fn verdicts(&self) -> Vec<(String, String, String, String)> {
        self.json["tests"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| {
                let s = |k: &str| t[k].as_str().unwrap_or("").to_owned();
                (s("id"), s("level"), s("verdict"), s("reason"))
            })
            .collect()
    }

    fn verdict(&self, id: &str) -> (String, String) {
        let all = self.verdicts();
        let (_, _, verdict, reason) = all
            .into_iter()
            .find(|v| v.0 == id)
            .unwrap_or_else(|| panic!("{id} did not run:\n{}", self.stdout));
        (verdict, reason)
    }

    fn with_verdict(&self, wanted: &str) -> Vec<String> {
        self.verdicts()
            .into_iter()
            .filter(|v| v.2 == wanted)
            .map(|(id, _, _, reason)| format!("{id}: {reason}"))
            .collect()
    }

    /// The JSON report's entry for test `id`.
    fn test(&self, id: &str) -> &Value {
        self.json["tests"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["id"] == id)
            .unwrap_or_else(|| panic!("{id} did not run:\n{}", self.stdout))
    }

    /// The progress lines on stderr (`[n/total] VERDICT id (ms)…`).
    fn progress(&self) -> Vec<&str> {
        self.stderr.lines().filter(|l| l.starts_with('[')).collect()
    }

    fn line(&self) -> String {
        self.json["certification"]["line"]
            .as_str()
            .unwrap()
            .to_owned()
    }
}

/// Runs `rep-conformance run [args…] --json --junit` in `cmd`'s environment.
fn run_cmd(mut cmd: Command, args: &[&str]) -> Outcome {
    let dir = tempfile::tempdir().unwrap();
    let (json, junit) = (dir.path().join("r.json"), dir.path().join("r.xml"));
    let started = Instant::now();
    let output = cmd
        .arg("run")
        .arg("--json")
        .arg(&json)
        .arg("--junit")
        .arg(&junit)
        .args(args)
        .output()
        .unwrap();
    let elapsed = started.elapsed();
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
        elapsed,
    }
}

/// `rep-conformance run --executor X [args…]`.
fn run(executor: &Path, args: &[&str]) -> Outcome {
    let mut all = vec!["--executor", executor.to_str().unwrap()];
    all.extend_from_slice(args);
    run_cmd(Command::new(suite()), &all)
}

/// `rep-conformance run [args…]` expected to be refused: its exit code and stderr.
fn usage(args: &[&str]) -> (i32, String) {
    let output = Command::new(suite())
        .arg("run")
        .args(args)
        .output()
        .unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn the_unbroken_executor_passes_every_test_and_is_certified() {
    let outcome = run(&broken_executor(), &["--fixtures", &fixtures("selftest")]);
    let not_passed: Vec<_> = outcome
        .verdicts()
        .into_iter()
        .filter(|v| v.2 != "pass")
        .collect();
    assert!(not_passed.is_empty(), "{not_passed:#?}\n{}", outcome.stdout);
    assert_eq!(outcome.code, 0, "{}", outcome.stderr);
    assert_eq!(outcome.verdicts().len(), CATALOGUE.len());
    assert_eq!(
        outcome.line(),
        "REP v0.1 core: certified + cancel + health + semantics",
        "{}",
        outcome.stdout
    );
    assert!(outcome.stdout.contains(&outcome.line()));
}

/// Every test of the catalogue — iterated, so a new test without a fault fails here — fails
/// (MUST) or warns (SHOULD) on `--fault <its id>`, with its own reason (not a skip); only a
/// MUST failure makes the run exit 1.
#[test]
fn every_test_fails_on_its_own_fault() {
    let fixtures = fixtures("selftest");
    let check = |test: &rep_conformance::TestInfo| -> Option<String> {
        let outcome = run(
            &broken_executor(),
            &[
                "--fixtures",
                &fixtures,
                "--filter",
                test.id,
                "--",
                "--fault",
                test.id,
            ],
        );
        let results = outcome.verdicts();
        let (expected_verdict, expected_code) = match test.level {
            Level::Must => ("fail", 1),
            Level::Should => ("warn", 0),
        };
        let caught = outcome.code == expected_code
            && results.len() == 1
            && results[0].0 == test.id
            && results[0].2 == expected_verdict;
        (!caught).then(|| format!("{}: exit {} {results:?}", test.id, outcome.code))
    };
    // The faults mostly wait on timeouts: four at a time.
    let not_caught: Vec<String> = std::thread::scope(|scope| {
        let workers: Vec<_> = CATALOGUE
            .chunks(CATALOGUE.len().div_ceil(4))
            .map(|chunk| scope.spawn(move || chunk.iter().filter_map(check).collect::<Vec<_>>()))
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap())
            .collect()
    });
    assert!(
        not_caught.is_empty(),
        "tests that do not fail on their fault:\n{}",
        not_caught.join("\n")
    );
}

/// Done when: an independent, correct executor in another language is certified with no
/// flag but `--executor`, its untested MUST tests listed.
#[test]
fn an_independent_python_executor_is_certified_with_no_other_flag() {
    let outcome = run(&python_executor(), &[]);
    assert_eq!(outcome.code, 0, "{}\n{}", outcome.stdout, outcome.stderr);
    assert!(
        outcome.with_verdict("fail").is_empty(),
        "{}",
        outcome.stdout
    );
    assert!(
        outcome.with_verdict("warn").is_empty(),
        "{}",
        outcome.stdout
    );
    assert_eq!(
        outcome.line(),
        "REP v0.1 core: certified + health (untested: REP-LIF-003 — no flow expected to fail)"
    );
    assert_eq!(
        outcome.json["certification"]["untested"],
        serde_json::json!([{"id": "REP-LIF-003", "why": "no flow expected to fail"}])
    );
    let (verdict, _) = outcome.verdict("REP-LIF-003");
    assert_eq!(verdict, "skip");
    // Without rep.probe the semantic tests are skipped with the reason, and are not core.
    for test in CATALOGUE.iter().filter(|t| t.id.starts_with("REP-SEM-")) {
        let entry = outcome.test(test.id);
        assert_eq!(entry["verdict"], "skip", "{}", test.id);
        assert_eq!(entry["reason"], "the executor does not advertise rep.probe");
        assert!(
            entry["hint"].as_str().unwrap().contains("PROBE_STEP_KIND"),
            "{entry}"
        );
    }
    assert_eq!(outcome.json["certification"]["semantics"], false);
    assert!(
        outcome.stdout.contains("to test it: give --fixtures DIR"),
        "{}",
        outcome.stdout
    );
}

#[test]
fn the_mock_executor_is_certified_with_and_without_fixtures() {
    let with = run(&mock_executor(), &["--fixtures", &fixtures("mock")]);
    assert!(with.with_verdict("fail").is_empty(), "{}", with.stdout);
    assert_eq!(with.code, 0);
    assert_eq!(
        with.line(),
        "REP v0.1 core: certified + cancel + health + semantics"
    );
    assert_eq!(
        with.json["certification"]["untested"],
        serde_json::json!([])
    );
    // The fixtures make every lifecycle test run for real, including the failing flow and
    // Cancel of a running run.
    assert!(with.verdict("REP-LIF-002").1.contains("plant-monitor"));
    assert!(
        with.verdict("REP-LIF-003")
            .1
            .contains("plant-monitor-write-fails")
    );
    assert_eq!(with.verdict("REP-CAN-003").0, "pass");

    let without = run(&mock_executor(), &[]);
    assert_eq!(without.code, 0, "{}", without.stdout);
    assert!(
        without.with_verdict("fail").is_empty(),
        "{}",
        without.stdout
    );
    assert_eq!(
        without.line(),
        "REP v0.1 core: certified + health + semantics (untested: REP-LIF-003 — no flow expected to fail)"
    );
}

/// Done when: `/bin/cat` passes no framing test. An echoed request is never a response.
#[test]
fn an_echoing_executor_passes_nothing() {
    let cat = run(Path::new("/bin/cat"), &[]);
    let echo = run(
        &broken_executor(),
        &["--fixtures", &fixtures("selftest"), "--", "--fault", "echo"],
    );
    for outcome in [&cat, &echo] {
        assert_eq!(outcome.code, 1);
        assert!(
            outcome.with_verdict("pass").is_empty(),
            "passed: {:#?}",
            outcome.with_verdict("pass")
        );
        for id in ["REP-FRM-001", "REP-FRM-002", "REP-FRM-003", "REP-FRM-004"] {
            let (verdict, reason) = outcome.verdict(id);
            assert_eq!(verdict, "fail", "{id}: {reason}");
            assert!(reason.contains("never a response"), "{id}: {reason}");
        }
    }
}

/// Done when: a silent executor gets its verdict in under 15 s; the one verdict carries its
/// stderr, the other tests are not run, and the run fails.
#[test]
fn a_silent_executor_gets_one_verdict_within_the_probe_timeout() {
    let outcome = run(&broken_executor(), &["--", "--fault", "silent"]);
    assert!(
        outcome.elapsed < Duration::from_secs(15),
        "{:?}",
        outcome.elapsed
    );
    assert_eq!(outcome.code, 1);
    let verdicts = outcome.verdicts();
    assert_eq!(verdicts.len(), 1, "{verdicts:?}");
    assert_eq!(verdicts[0].2, "fail");
    let reason = &verdicts[0].3;
    assert!(
        reason.contains("did not answer the first Runtime.Capabilities"),
        "{reason}"
    );
    assert!(
        reason.contains("no answer to Runtime.Capabilities within 5 s"),
        "{reason}"
    );
    assert!(reason.contains("broken-executor: silent"), "{reason}");
    assert_eq!(
        outcome.json["aborted"]["not_run"].as_array().unwrap().len(),
        CATALOGUE.len() - 1
    );
    assert!(
        outcome
            .line()
            .contains("did not answer Runtime.Capabilities")
    );
    // One progress line, also when stderr is not a terminal (it is a pipe here).
    let progress = outcome.progress();
    assert_eq!(progress.len(), 1, "{}", outcome.stderr);
    let first = format!("[ 1/{}] FAIL REP-FRM-001", CATALOGUE.len());
    assert!(progress[0].starts_with(&first), "{}", progress[0]);
}

#[test]
fn progress_lines_reach_stderr_and_the_summary_stdout_once() {
    let outcome = run(&broken_executor(), &["--filter", "REP-FRM-*"]);
    let progress = outcome.progress();
    assert_eq!(progress.len(), 4, "{}", outcome.stderr);
    assert!(
        progress[3].starts_with("[4/4] PASS REP-FRM-004 ("),
        "{progress:?}"
    );
    assert_eq!(outcome.stdout.matches("REP v0.1 core:").count(), 1);
    assert!(!outcome.stdout.contains("[1/4]"));
}

#[test]
fn strict_fails_the_untested_must_tests() {
    let lenient = run(&mock_executor(), &[]);
    assert_eq!(lenient.code, 0);
    let strict = run(&mock_executor(), &["--strict"]);
    assert_eq!(strict.code, 1, "{}", strict.stdout);
    let (verdict, reason) = strict.verdict("REP-LIF-003");
    assert_eq!(verdict, "fail");
    assert!(reason.contains("--strict"), "{reason}");
    // A skipped SHOULD test stays a skip.
    assert_eq!(strict.verdict("REP-CAN-003").0, "skip");
    assert_eq!(
        strict.line(),
        "REP v0.1 core: not certified (1 MUST test failed)"
    );
    // With every MUST test testable, --strict certifies.
    let full = run(
        &mock_executor(),
        &["--fixtures", &fixtures("mock"), "--strict"],
    );
    assert_eq!(full.code, 0, "{}", full.stdout);
}

#[test]
fn baselined_failures_pass_the_run_and_stale_entries_fail_it() {
    let dir = tempfile::tempdir().unwrap();
    let baseline = dir.path().join("baseline.yaml");
    std::fs::write(
        &baseline,
        "# known failures\nREP-HLT-001: \"Health lacks details (issue 1)\"\n",
    )
    .unwrap();
    let baseline = baseline.to_str().unwrap();
    let filter = ["--filter", "REP-HLT-*", "--filter", "REP-CAP-*"];

    let broken = {
        let mut args = vec!["--baseline", baseline];
        args.extend(filter);
        args.extend(["--", "--fault", "REP-HLT-001"]);
        run(&broken_executor(), &args)
    };
    assert_eq!(broken.code, 0, "{}", broken.stdout);
    assert_eq!(broken.verdict("REP-HLT-001").0, "fail");
    let test = broken.test("REP-HLT-001");
    assert_eq!(test["baseline"]["status"], "expected-failure");
    assert_eq!(test["baseline"]["reason"], "Health lacks details (issue 1)");
    assert!(
        broken.stdout.contains("XFAIL REP-HLT-001"),
        "{}",
        broken.stdout
    );

    let fixed = {
        let mut args = vec!["--baseline", baseline];
        args.extend(filter);
        run(&broken_executor(), &args)
    };
    assert_eq!(fixed.code, 1, "{}", fixed.stdout);
    let (verdict, reason) = fixed.verdict("REP-HLT-001");
    assert_eq!(verdict, "fail");
    assert!(
        reason.starts_with("stale baseline entry: remove it"),
        "{reason}"
    );
    assert_eq!(fixed.json["summary"]["stale_baseline"], 1);
}

/// The executor as the user runs it: `--env`, `--pass-env`, and `--config runtime.yaml` with
/// the keys `tm` reads.
#[test]
fn the_executor_gets_the_environment_and_arguments_it_is_given() {
    let needs = [
        "--filter",
        "REP-CAP-*",
        "--",
        "--require-env",
        "BOARD_PORT=/dev/ttyX",
    ];
    // Without the variable the executor exits at once: the probe says so, with its stderr.
    let missing = run(&broken_executor(), &needs);
    assert_eq!(missing.code, 1);
    assert!(
        missing
            .verdict("REP-CAP-001")
            .1
            .contains("BOARD_PORT must be"),
        "{}",
        missing.stdout
    );
    let mut with_env = vec!["--env", "BOARD_PORT=/dev/ttyX"];
    with_env.extend(needs);
    assert_eq!(run(&broken_executor(), &with_env).code, 0);

    // --pass-env passes a variable of our environment that the allowlist would drop.
    let executor = broken_executor();
    let executor = executor.to_str().unwrap();
    let passed = {
        let mut cmd = Command::new(suite());
        cmd.env("BOARD_PORT", "/dev/ttyX");
        let mut args = vec!["--executor", executor];
        args.extend(["--pass-env", "BOARD_PORT"]);
        args.extend(needs);
        run_cmd(cmd, &args)
    };
    assert_eq!(passed.code, 0, "{}", passed.stdout);
    let dropped = {
        let mut cmd = Command::new(suite());
        cmd.env("BOARD_PORT", "/dev/ttyX");
        let mut args = vec!["--executor", executor];
        args.extend(needs);
        run_cmd(cmd, &args)
    };
    assert_eq!(dropped.code, 1, "the allowlist must drop BOARD_PORT");

    // --config: executor_path, executor_args and executor_env from the file tm reads.
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("runtime.yaml");
    std::fs::write(
        &config,
        format!(
            "runtime:\n  engine: proc\n  executor_path: {}\n  executor_args: [--require-env, BOARD_PORT=/dev/ttyX]\n  executor_env: {{BOARD_PORT: /dev/ttyX}}\n",
            broken_executor().display()
        ),
    )
    .unwrap();
    let from_config = run_cmd(
        Command::new(suite()),
        &[
            "--config",
            config.to_str().unwrap(),
            "--filter",
            "REP-CAP-*",
        ],
    );
    assert_eq!(from_config.code, 0, "{}", from_config.stdout);
    assert_eq!(
        from_config.json["executor"]["args"],
        serde_json::json!(["--require-env", "BOARD_PORT=/dev/ttyX"])
    );
}

#[test]
fn reports_parse_and_match_the_documented_schema() {
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(repo_file("docs/conformance-report.schema.json")).unwrap(),
    )
    .unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    // A run with a MUST failure (so the reports carry a frame), a warning and skips.
    let outcome = run(&broken_executor(), &["--", "--fault", "REP-HLT-001"]);
    let silent = run(&broken_executor(), &["--", "--fault", "silent"]);
    for report in [&outcome, &silent] {
        let errors: Vec<String> = validator
            .iter_errors(&report.json)
            .map(|e| format!("{}: {e}", e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{errors:#?}");
    }
    assert_eq!(outcome.code, 1);
    assert!(outcome.stdout.contains("REP v0.1 core: not certified"));
    let health = outcome.test("REP-HLT-001");
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
        .filter(|c| matches!(c.status, quick_junit::TestCaseStatus::NonSuccess { .. }))
        .map(|c| c.name.as_str().to_owned())
        .collect();
    // The Health result breaks the message schema too: REP-WIRE-001 checks every frame.
    assert_eq!(
        failures,
        [
            "REP-HLT-001 Health answers {ok: bool, details: object} (or -32601: skipped)",
            "REP-WIRE-001 every frame the executor wrote matches the JSON Schema of REP v0.1 messages"
        ]
    );
    let skipped = cases
        .iter()
        .filter(|c| matches!(c.status, quick_junit::TestCaseStatus::Skipped { .. }))
        .count();
    assert_eq!(skipped, 2, "REP-LIF-003 and REP-CAN-003 without fixtures");
}

#[test]
fn filtered_runs_are_not_certified_and_name_what_was_left_out() {
    let outcome = run(&broken_executor(), &["--filter", "REP-CAP-*"]);
    assert_eq!(outcome.code, 0);
    assert_eq!(outcome.verdicts().len(), 1);
    assert_eq!(
        outcome.json["not_selected"].as_array().unwrap().len(),
        CATALOGUE.len() - 1
    );
    assert!(outcome.line().contains("not certified (partial run"));
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

/// Done when: a filter matching nothing exits 2. So do the other usage errors, each naming
/// the problem.
#[test]
fn usage_errors_exit_2_and_name_the_problem() {
    let executor = broken_executor();
    let executor = executor.to_str().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let bad_baseline = dir.path().join("b.yaml");
    std::fs::write(&bad_baseline, "REP-NOPE-001: typo\n").unwrap();
    let bad_baseline = bad_baseline.to_str().unwrap();
    let cases: [(&[&str], &str); 9] = [
        (
            &["--executor", executor, "--filter", "REP-NOPE-*"],
            "--filter \"REP-NOPE-*\" matches no test id",
        ),
        (
            &["--executor", executor, "--skip", "REP-CAN-00x"],
            "--skip \"REP-CAN-00x\" matches no test id",
        ),
        (
            &[
                "--executor",
                executor,
                "--filter",
                "REP-CAN-*",
                "--skip",
                "REP-CAN-*",
            ],
            "leave no test to run",
        ),
        (
            &["--executor", executor, "--filter", "REP-["],
            "invalid glob",
        ),
        (
            &["--executor", "/nonexistent/executor"],
            "/nonexistent/executor",
        ),
        (
            &[
                "--executor",
                executor,
                "--fixtures",
                "/nonexistent/fixtures",
            ],
            "/nonexistent/fixtures",
        ),
        (
            &["--executor", executor, "--baseline", bad_baseline],
            "REP-NOPE-001 is not a test id",
        ),
        (
            &["--executor", executor, "--env", "NOEQUALS"],
            "expected KEY=VALUE",
        ),
        (
            &["--filter", "REP-CAP-*"],
            "no executor: give --executor PATH",
        ),
    ];
    for (args, expected) in cases {
        let (code, stderr) = usage(args);
        assert_eq!(code, 2, "{args:?}: {stderr}");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
    }
}

/// Regression (issue 20): rep-conformance printed only the top of an error, so "cannot read
/// runtime config X" never said why. Every binary prints the chain, each cause once.
#[test]
fn a_usage_error_says_why_once() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().display().to_string();
    let (code, stderr) = usage(&["--config", &config]);
    assert_eq!(code, 2, "{stderr}");
    assert_eq!(
        stderr.lines().collect::<Vec<_>>(),
        [
            format!("rep-conformance: error: cannot read runtime config {config}"),
            "rep-conformance: caused by: a directory, not a regular file".to_owned(),
        ],
        "{stderr}"
    );
}

/// The CI script of docs/conformance.md is the file `.ci/conformance` runs, verbatim, so the
/// snippet cannot rot.
#[test]
fn the_documented_ci_script_is_the_one_ci_runs() {
    let script = std::fs::read_to_string(repo_file("conformance/ci.sh")).unwrap();
    let docs = std::fs::read_to_string(repo_file("docs/conformance.md")).unwrap();
    assert!(
        docs.contains(&format!("```sh\n{script}```")),
        "docs/conformance.md must quote conformance/ci.sh verbatim in a ```sh block"
    );
    let ci = std::fs::read_to_string(repo_file(".ci/run")).unwrap();
    assert!(
        ci.contains("conformance/ci.sh"),
        ".ci/run must run conformance/ci.sh"
    );
}

/// The test cases of a JUnit file that are `<failure>` or `<error>`, by id.
fn junit_failures(junit: &str) -> Vec<String> {
    let report = quick_junit::Report::deserialize_from_str(junit).unwrap();
    report
        .test_suites
        .iter()
        .flat_map(|s| &s.test_cases)
        .filter(|c| matches!(c.status, quick_junit::TestCaseStatus::NonSuccess { .. }))
        .map(|c| c.name.as_str().split(' ').next().unwrap().to_owned())
        .collect()
}

/// The JUnit test case of test `id`.
fn junit_case(junit: &str, id: &str) -> quick_junit::TestCase {
    let report = quick_junit::Report::deserialize_from_str(junit).unwrap();
    report
        .test_suites
        .into_iter()
        .flat_map(|s| s.test_cases)
        .find(|c| c.name.as_str().starts_with(id))
        .unwrap_or_else(|| panic!("no test case {id}"))
}

/// Done when: a passing run with warnings shows no `<failure>` in JUnit. The JUnit file, the
/// JSON report and the exit code agree in every kind of outcome: pass, SHOULD warning, MUST
/// failure, expected and stale baseline entries, a silent executor, a flaky and a failing
/// test under `--repeat`.
#[test]
fn junit_json_and_exit_code_always_agree() {
    let dir = tempfile::tempdir().unwrap();
    let baseline = dir.path().join("baseline.yaml");
    std::fs::write(&baseline, "REP-HLT-001: \"known (issue 1)\"\n").unwrap();
    let baseline = baseline.to_str().unwrap().to_owned();
    let marker = dir.path().join("flaky-once");
    let marker = marker.to_str().unwrap().to_owned();
    let scenarios: Vec<(&str, Vec<&str>, i32)> = vec![
        ("pass", vec!["--filter", "REP-FRM-*"], 0),
        (
            "warning",
            vec!["--filter", "REP-RUN-006", "--", "--fault", "REP-RUN-006"],
            0,
        ),
        (
            "must failure",
            vec!["--filter", "REP-HLT-001", "--", "--fault", "REP-HLT-001"],
            1,
        ),
        (
            "expected failure",
            vec![
                "--filter",
                "REP-HLT-001",
                "--baseline",
                &baseline,
                "--",
                "--fault",
                "REP-HLT-001",
            ],
            0,
        ),
        (
            "stale baseline",
            vec!["--filter", "REP-HLT-001", "--baseline", &baseline],
            1,
        ),
        ("silent", vec!["--", "--fault", "silent"], 1),
        (
            "flaky",
            vec![
                "--filter",
                "REP-HLT-001",
                "--repeat",
                "2",
                "--",
                "--fault",
                "REP-HLT-001",
                "--once",
                &marker,
            ],
            0,
        ),
        (
            "failing on every run",
            vec![
                "--filter",
                "REP-CAP-001",
                "--repeat",
                "2",
                "--",
                "--fault",
                "REP-CAP-001",
            ],
            1,
        ),
    ];
    for (name, args, code) in scenarios {
        let outcome = run(&broken_executor(), &args);
        assert_eq!(outcome.code, code, "{name}: {}", outcome.stdout);
        assert_eq!(outcome.json["exit_code"], code, "{name}");
        let failing: Vec<String> = outcome.json["tests"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|t| t["fails_run"] == true)
            .map(|t| t["id"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(junit_failures(&outcome.junit), failing, "{name}");
        let aborted = !outcome.json["aborted"].is_null();
        assert_eq!(code == 1, !failing.is_empty() || aborted, "{name}");
        match name {
            "warning" => {
                let case = junit_case(&outcome.junit, "REP-RUN-006");
                assert!(matches!(
                    case.status,
                    quick_junit::TestCaseStatus::Success { .. }
                ));
                let verdict = case
                    .properties
                    .iter()
                    .find(|p| p.name.as_str() == "verdict");
                assert_eq!(verdict.unwrap().value.as_str(), "warn");
                let out = case.system_out.unwrap();
                assert!(
                    out.as_str().starts_with("warning (SHOULD"),
                    "{}",
                    out.as_str()
                );
                assert_eq!(outcome.verdict("REP-RUN-006").0, "warn");
            }
            "flaky" => {
                let test = outcome.test("REP-HLT-001");
                assert_eq!(
                    (test["verdict"].as_str(), test["flaky"].as_bool()),
                    (Some("pass"), Some(true))
                );
                assert_eq!(test["reruns"].as_array().unwrap().len(), 1);
                assert_eq!(
                    outcome.json["certification"]["flaky"],
                    serde_json::json!(["REP-HLT-001"])
                );
                assert!(
                    outcome.line().contains("(flaky: REP-HLT-001)"),
                    "{}",
                    outcome.line()
                );
                let case = junit_case(&outcome.junit, "REP-HLT-001");
                let quick_junit::TestCaseStatus::Success { flaky_runs } = case.status else {
                    panic!("a flaky test passes");
                };
                assert_eq!(flaky_runs.len(), 1);
                assert!(outcome.junit.contains("<flakyFailure"), "{}", outcome.junit);
            }
            "failing on every run" => {
                assert_eq!(
                    outcome.test("REP-CAP-001")["reruns"]
                        .as_array()
                        .unwrap()
                        .len(),
                    2
                );
                assert_eq!(outcome.junit.matches("<rerunFailure").count(), 2);
            }
            _ => {}
        }
    }
}

/// Done when: `verify` refuses a report against a different binary. It accepts the binary it
/// certifies, and refuses other arguments and an edited report; a file that is no report is a
/// usage error.
#[test]
fn verify_accepts_the_certified_binary_and_refuses_others() {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("certificate.json");
    let full = run(&mock_executor(), &["--fixtures", &fixtures("mock")]);
    std::fs::write(&report, serde_json::to_string(&full.json).unwrap()).unwrap();
    let verify = |executor: &Path, extra: &[&str]| {
        let output = Command::new(suite())
            .arg("verify")
            .arg(&report)
            .arg("--executor")
            .arg(executor)
            .args(extra)
            .output()
            .unwrap();
        (
            output.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    };
    let (code, stdout, _) = verify(&mock_executor(), &[]);
    assert_eq!(code, 0, "{stdout}");
    assert!(stdout.contains("the certificate applies to"), "{stdout}");
    assert!(stdout.contains("is the certified one"), "{stdout}");

    let (code, stdout, _) = verify(&broken_executor(), &[]);
    assert_eq!(code, 1, "{stdout}");
    assert!(stdout.contains("is not the certified"), "{stdout}");
    assert!(
        stdout.contains("the certificate does not apply"),
        "{stdout}"
    );

    let (code, stdout, _) = verify(&mock_executor(), &["--", "--listen", "tcp:127.0.0.1:0"]);
    assert_eq!(code, 1, "{stdout}");
    assert!(stdout.contains("are not the certified"), "{stdout}");

    // A MUST failure made to look like a certificate.
    let mut edited = full.json.clone();
    edited["tests"][0]["verdict"] = serde_json::json!("fail");
    std::fs::write(&report, serde_json::to_string(&edited).unwrap()).unwrap();
    let (code, stdout, _) = verify(&mock_executor(), &[]);
    assert_eq!(code, 1, "{stdout}");
    assert!(stdout.contains("contradicts itself"), "{stdout}");

    std::fs::write(&report, "{\"schema\": \"something-else/1\"}").unwrap();
    let (code, _, stderr) = verify(&mock_executor(), &[]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("not a rep-conformance-report/3 report"),
        "{stderr}"
    );
}

/// Each planted semantic bug of the broken executor, by its own name, is refused by the
/// catalogue: not certified, with the REP-SEM test made for it failing.
#[test]
fn the_catalogue_refuses_each_planted_semantic_bug() {
    let fixtures = fixtures("selftest");
    let bugs = [
        ("retry-short", "REP-SEM-001"),
        ("timeout-ignored", "REP-SEM-003"),
        ("failure-edge-on-success", "REP-SEM-004"),
        ("concurrency-exceeded", "REP-SEM-010"),
        ("cancel-ignored", "REP-SEM-011"),
    ];
    // The runs mostly wait (a cancel that is ignored, a timeout that is not): all at once.
    std::thread::scope(|scope| {
        let workers: Vec<_> = bugs
            .iter()
            .map(|&(bug, test)| {
                let fixtures = &fixtures;
                scope.spawn(move || {
                    let outcome = run(
                        &broken_executor(),
                        &["--fixtures", fixtures, "--", "--fault", bug],
                    );
                    assert_eq!(outcome.code, 1, "{bug}: {}", outcome.stdout);
                    assert!(
                        outcome.line().contains("not certified"),
                        "{bug}: {}",
                        outcome.line()
                    );
                    assert_eq!(
                        outcome.verdict(test).0,
                        "fail",
                        "{bug}: {:?}",
                        outcome.verdict(test)
                    );
                })
            })
            .collect();
        for worker in workers {
            worker.join().unwrap();
        }
    });
}

/// Issue 21: a bare executor name (`--executor mock-executor`, or runtime.yaml's
/// executor_path) is looked up on PATH, as `tm` does; the report names the file found, and a
/// name found nowhere says how to name the file of the working directory.
#[test]
fn a_bare_executor_name_is_looked_up_on_path() {
    let mock = mock_executor();
    let bin = mock.parent().unwrap();
    let path = format!("{}:/usr/bin:/bin", bin.display());
    let mut cmd = Command::new(suite());
    cmd.env("PATH", &path);
    let by_flag = run_cmd(
        cmd,
        &["--executor", "mock-executor", "--filter", "REP-CAP-*"],
    );
    assert_eq!(by_flag.code, 0, "{}", by_flag.stderr);
    assert_eq!(
        by_flag.json["executor"]["path"],
        Value::from(mock.display().to_string())
    );

    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("runtime.yaml");
    std::fs::write(&config, "runtime:\n  executor_path: mock-executor\n").unwrap();
    let mut cmd = Command::new(suite());
    cmd.env("PATH", &path);
    let by_config = run_cmd(
        cmd,
        &[
            "--config",
            config.to_str().unwrap(),
            "--filter",
            "REP-CAP-*",
        ],
    );
    assert_eq!(by_config.code, 0, "{}", by_config.stderr);

    std::fs::copy(&mock, dir.path().join("my-executor")).unwrap();
    for subcommand in [
        &["run"][..],
        &["fuzz"],
        &["replay", "t.jsonl"],
        &["verify", "r.json"],
    ] {
        let output = Command::new(suite())
            .current_dir(dir.path())
            .env("PATH", "/usr/bin:/bin")
            .args(subcommand)
            .args(["--executor", "my-executor"])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{subcommand:?}: {stderr}");
        assert!(
            stderr.contains(
                "executor my-executor not found on PATH; to run the my-executor of the working \
                 directory, write ./my-executor"
            ),
            "{subcommand:?}: {stderr}"
        );
    }
}

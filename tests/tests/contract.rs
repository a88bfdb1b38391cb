//! `tm verify online --cases DIR`: the contract check of a whole project (tests/data/
//! contract-project: 3 flows × 4 cases — passing, failing on status, failing on outputs,
//! timing out) on the real tm and mock-executor.

#![allow(clippy::unwrap_used)] // tests unwrap: a failure is the report

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::{LiveTm, Run, tm};

fn project() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data/contract-project")
}

fn manifest() -> String {
    project().join("manifest.json").display().to_string()
}

/// `tm verify online --manifest … --cases DIR` followed by `extra`.
fn check(cases: &Path, extra: &[&str]) -> Run {
    let manifest = manifest();
    let cases = cases.display().to_string();
    let mut args = vec![
        "verify",
        "online",
        "--manifest",
        &manifest,
        "--cases",
        &cases,
    ];
    args.extend_from_slice(extra);
    tm(&args, &[])
}

/// The report with each broken case's message cut after its exit code (a timeout's message
/// names the run id and where the host was waiting).
fn normalized(stdout: &str) -> Vec<String> {
    stdout
        .lines()
        .map(|line| match line.find(": exit ") {
            Some(at) if line.starts_with("ERROR") => line[..at + ": exit 4".len()].to_owned(),
            _ => line.to_owned(),
        })
        .collect()
}

const FULL_REPORT: [&str; 13] = [
    "PASS   check/passing.json [check]",
    "ERROR  check/timing-out.yaml [check]: exit 4",
    "FAIL   check/wrong-outputs.yaml [check]: /outputs/status: expected \"down\", got \"ok\"",
    "FAIL   check/wrong-status.yaml [check]: status: expected completed, got failed",
    "PASS   greet/passing.yaml [greet]",
    "ERROR  greet/timing-out.yaml [greet]: exit 4",
    "FAIL   greet/wrong-outputs.json [greet]: /outputs/greeting: expected \"Bob\", got \"Ada\"",
    "FAIL   greet/wrong-status.yaml [greet]: status: expected failed, got completed",
    "PASS   relay/passing.yaml [relay]",
    "ERROR  relay/timing-out.yaml [relay]: exit 4",
    "FAIL   relay/wrong-outputs.yaml [relay]: /outputs/value: expected 7.5, got 7",
    "FAIL   relay/wrong-status.json [relay]: status: expected completed, got failed; \
     /outputs/value: expected 1, missing",
    "12 cases: 3 passed, 6 failed, 3 broken",
];

#[test]
fn the_fixture_project_passes_and_fails_exactly_as_its_cases_say() {
    let run = check(&project().join("cases"), &["--jobs", "1"]);
    assert_eq!(normalized(&run.stdout), FULL_REPORT, "{}", run.stderr);
    // A broken case (engine timeout: RuntimeInternal) wins over failed ones: exit 4.
    assert_eq!(run.code, 4, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("error: 9 of 12 cases did not pass (6 failed, 3 broken)"),
        "{}",
        run.stderr
    );
    for line in run.stdout.lines().filter(|l| l.starts_with("ERROR")) {
        assert!(line.contains("engine timeout of 1 s"), "{line}");
    }
}

/// A copy of some of the fixture's cases, in a folder of their own.
fn cases_of(names: &[&str]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for name in names {
        let to = dir.path().join(name);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(project().join("cases").join(name), to).unwrap();
    }
    dir
}

#[test]
fn exit_0_when_every_case_passes_and_1_when_one_fails_its_expectation() {
    let passing = cases_of(&[
        "greet/passing.yaml",
        "check/passing.json",
        "relay/passing.yaml",
    ]);
    let run = check(passing.path(), &[]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stdout
            .ends_with("3 cases: 3 passed, 0 failed, 0 broken\n")
    );
    let failing = cases_of(&["greet/passing.yaml", "relay/wrong-outputs.yaml"]);
    let run = check(failing.path(), &[]);
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(
        normalized(&run.stdout),
        [
            FULL_REPORT[4],
            FULL_REPORT[10],
            "2 cases: 1 passed, 1 failed, 0 broken"
        ]
    );
}

#[test]
fn flow_selects_the_cases_of_the_flows_named() {
    let run = check(
        &project().join("cases"),
        &["--flow", "greet", "--flow", "check"],
    );
    let expected: Vec<&str> = FULL_REPORT[..8]
        .iter()
        .copied()
        .chain(["8 cases: 2 passed, 4 failed, 2 broken"])
        .collect();
    assert_eq!(normalized(&run.stdout), expected, "{}", run.stderr);
    let run = check(&project().join("cases"), &["--flow", "nope"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("no case runs flow nope"),
        "{}",
        run.stderr
    );
    assert!(run.stdout.is_empty());
}

#[test]
fn an_invalid_case_file_is_exit_2_naming_the_file_and_json_pointer() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path.display().to_string()
    };
    let status = write("status.yaml", "flow: greet\nexpect: {status: done}\n");
    let flow = write(
        "flow.json",
        r#"{"flow": "nope", "expect": {"status": "failed"}}"#,
    );
    let inputs = write(
        "inputs.yaml",
        "flow: greet\ninputs: {name: 5, delay_ms: 0}\nexpect: {status: failed}\n",
    );
    let run = check(dir.path(), &[]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stdout.is_empty(), "{}", run.stdout);
    // Form errors come first (no flow is looked up while a file is invalid).
    assert!(
        run.stderr.contains("error: 1 invalid case file:")
            && run
                .stderr
                .contains(&format!("  - {status} at /expect/status: ")),
        "{}",
        run.stderr
    );
    std::fs::remove_file(&status).unwrap();
    let run = check(dir.path(), &[]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains(&format!(
            "  - {flow} at /flow: the manifest has no flow \"nope\""
        )),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains(&format!(
            "  - {inputs} at /inputs/name: input name (string): "
        )),
        "{}",
        run.stderr
    );
}

#[test]
fn cases_and_inputs_or_a_second_flow_without_cases_are_usage_errors() {
    let cases = project().join("cases").display().to_string();
    let manifest = manifest();
    let run = tm(
        &[
            "verify",
            "online",
            "--manifest",
            &manifest,
            "--cases",
            &cases,
            "--inputs",
            "{}",
        ],
        &[],
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    let run = tm(
        &[
            "verify",
            "online",
            "--manifest",
            &manifest,
            "--flow",
            "a",
            "--flow",
            "b",
        ],
        &[],
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("--flow names one flow"),
        "{}",
        run.stderr
    );
}

#[test]
fn jobs_4_reports_exactly_what_jobs_1_reports() {
    let one = check(&project().join("cases"), &["--jobs", "1"]);
    let four = check(&project().join("cases"), &["--jobs", "4"]);
    assert_eq!(normalized(&four.stdout), normalized(&one.stdout));
    assert_eq!((one.code, four.code), (4, 4));
    // The three 1 s timeouts overlap with 4 jobs (generous bound: real processes).
    assert!(
        four.elapsed < one.elapsed,
        "{:?} vs {:?}",
        four.elapsed,
        one.elapsed
    );
}

#[test]
fn ctrl_c_cancels_every_run_reports_what_finished_and_leaves_no_executor() {
    let dir = tempfile::tempdir().unwrap();
    let marker = common::marker();
    let executor = dir.path().join(format!("mock-{marker}"));
    std::fs::copy(common::mock_executor(), &executor).unwrap();
    let cases = dir.path().join("cases");
    std::fs::create_dir(&cases).unwrap();
    std::fs::copy(
        project().join("cases/greet/passing.yaml"),
        cases.join("a-fast.yaml"),
    )
    .unwrap();
    for name in ["b", "c", "d", "e"] {
        std::fs::write(
            cases.join(format!("{name}-slow.yaml")),
            "flow: greet\ninputs: {name: x, delay_ms: 60000}\nexpect: {status: completed}\n",
        )
        .unwrap();
    }
    let args: Vec<String> = [
        "-vv",
        "--executor-path",
        executor.to_str().unwrap(),
        "verify",
        "online",
        "--manifest",
        &manifest(),
        "--cases",
        cases.to_str().unwrap(),
        "--jobs",
        "2",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    let live = LiveTm::start(&args, &[]);
    // a-fast finishes; b-slow then runs with c-slow.
    live.wait_for("run started run_id", Duration::from_secs(20));
    live.wait_for("run started run_id", Duration::from_secs(20));
    let deadline = Instant::now() + Duration::from_secs(20);
    while live.stderr_so_far().matches("run started run_id").count() < 3
        && Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(20));
    }
    let sent = Instant::now();
    live.signal("-INT");
    let run = live.finish(Duration::from_secs(30), sent);
    assert_eq!(run.code, 130, "{}\n{}", run.stdout, run.stderr);
    assert!(run.elapsed < Duration::from_secs(10), "{:?}", run.elapsed);
    assert_eq!(
        run.stdout.lines().collect::<Vec<_>>(),
        [
            "PASS   a-fast.yaml [greet]",
            "CANCEL b-slow.yaml [greet]: cancelled by an interrupt",
            "CANCEL c-slow.yaml [greet]: cancelled by an interrupt",
            "SKIP   d-slow.yaml [greet]: not run: interrupted",
            "SKIP   e-slow.yaml [greet]: not run: interrupted",
            "5 cases: 1 passed, 0 failed, 0 broken, 4 not finished",
        ],
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("SIGINT: the contract check was cancelled (4 of 5 cases not finished)"),
        "{}",
        run.stderr
    );
    common::assert_none_with(&marker);
}

#[test]
fn junit_and_json_reports_say_what_stdout_says() {
    let dir = tempfile::tempdir().unwrap();
    let junit = dir.path().join("report.xml");
    let json = dir.path().join("report.json");
    let run = check(
        &project().join("cases"),
        &[
            "--junit",
            junit.to_str().unwrap(),
            "--json",
            json.to_str().unwrap(),
        ],
    );
    assert_eq!(run.code, 4, "{}", run.stderr);

    // JUnit, read back by a JUnit parser: a testsuite per flow, a testcase per case.
    let xml = std::fs::read_to_string(&junit).unwrap();
    let report = quick_junit::Report::deserialize_from_str(&xml).unwrap();
    let suites: Vec<&str> = report.test_suites.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(suites, ["check", "greet", "relay"]);
    assert_eq!(
        (report.tests, report.failures, report.errors),
        (12, 6, 3),
        "{xml}"
    );
    let case = |suite: usize, name: &str| {
        report.test_suites[suite]
            .test_cases
            .iter()
            .find(|c| c.name.as_str() == name)
            .unwrap_or_else(|| panic!("{name} not in {xml}"))
    };
    use quick_junit::{NonSuccessKind, TestCaseStatus};
    // (kind, type, message, description) of a case that did not pass.
    let non_success = |suite: usize, name: &str| match &case(suite, name).status {
        TestCaseStatus::NonSuccess {
            kind,
            ty,
            message,
            description,
            ..
        } => {
            let text = |s: &Option<quick_junit::XmlString>| {
                s.as_ref()
                    .map(|s| s.as_str().to_owned())
                    .unwrap_or_default()
            };
            (*kind, text(ty), text(message), text(description))
        }
        other => panic!("{name}: {other:?}"),
    };
    let (kind, _, message, text) = non_success(1, "greet/wrong-outputs.json");
    assert_eq!(kind, NonSuccessKind::Failure);
    assert_eq!(message, "/outputs/greeting: expected \"Bob\", got \"Ada\"");
    assert!(text.contains("outputs: {\"greeting\":\"Ada\"}"), "{text}");
    let (kind, _, _, text) = non_success(0, "check/wrong-status.yaml");
    assert_eq!(kind, NonSuccessKind::Failure);
    assert!(text.contains("failed steps: probe (error: "), "{text}");
    assert!(text.contains("error 2001"), "{text}");
    let (kind, ty, _, _) = non_success(2, "relay/timing-out.yaml");
    assert_eq!(
        (kind, ty.as_str()),
        (NonSuccessKind::Error, "3001 RuntimeInternal")
    );
    assert!(matches!(
        case(2, "relay/passing.yaml").status,
        TestCaseStatus::Success { .. }
    ));

    // JSON, valid against its schema, with the same verdicts in the same order.
    let document: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/contract-report.schema.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let problems: Vec<String> = validator
        .iter_errors(&document)
        .map(|e| e.to_string())
        .collect();
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(document["exit_code"], 4);
    assert_eq!(
        document["summary"],
        serde_json::json!({"total": 12, "passed": 3, "failed": 6, "broken": 3, "not_finished": 0})
    );
    let verdicts: Vec<String> = document["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            format!(
                "{} {}",
                c["verdict"].as_str().unwrap(),
                c["name"].as_str().unwrap()
            )
        })
        .collect();
    let from_stdout: Vec<String> = run
        .stdout
        .lines()
        .filter_map(|line| {
            let (label, rest) = line.split_once(' ')?;
            let name = rest.trim_start().split(' ').next()?;
            let verdict = match label {
                "PASS" => "passed",
                "FAIL" => "failed",
                "ERROR" => "broken",
                _ => return None,
            };
            Some(format!("{verdict} {name}"))
        })
        .collect();
    assert_eq!(verdicts, from_stdout);
}

#[test]
fn a_report_that_cannot_be_written_is_exit_4_when_every_case_passed() {
    let passing = cases_of(&["greet/passing.yaml"]);
    let run = check(passing.path(), &["--junit", "/nonexistent-dir/report.xml"]);
    assert_eq!(run.code, 4, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("error: cannot write the report /nonexistent-dir/report.xml"),
        "{}",
        run.stderr
    );
    // The check's result is still printed.
    assert!(
        run.stdout
            .ends_with("1 case: 1 passed, 0 failed, 0 broken\n")
    );
}

/// The case names of a report's lines (summary excepted).
fn names(stdout: &str) -> Vec<String> {
    stdout
        .lines()
        .filter_map(|line| {
            let (_, rest) = line.split_once(' ')?;
            let rest = rest.trim_start();
            rest.contains(" [")
                .then(|| rest.split(' ').next().unwrap_or_default().to_owned())
        })
        .collect()
}

#[test]
fn three_shares_are_disjoint_and_together_run_every_case_once() {
    let full = check(&project().join("cases"), &["--jobs", "4"]);
    let mut all = names(&full.stdout);
    all.sort();
    assert_eq!(all.len(), 12);
    for kind in ["count", "hash"] {
        let mut union: Vec<String> = Vec::new();
        let mut lines: Vec<String> = Vec::new();
        for shard in 1..=3 {
            let partition = format!("{kind}:{shard}/3");
            let run = check(
                &project().join("cases"),
                &["--jobs", "4", "--partition", &partition],
            );
            let share = names(&run.stdout);
            if kind == "count" {
                // By position: 12 cases, 4 a share.
                assert_eq!(share.len(), 4, "{partition}: {}", run.stdout);
            }
            for name in &share {
                assert!(!union.contains(name), "{name} in two shares ({partition})");
            }
            union.extend(share);
            lines.extend(
                normalized(&run.stdout)
                    .into_iter()
                    .filter(|l| !l.contains(" cases: ") && !l.contains(" case: ")),
            );
        }
        union.sort();
        assert_eq!(union, all, "{kind}");
        // Each case's line is the one the unsharded run printed.
        lines.sort();
        let mut expected: Vec<String> = FULL_REPORT[..12].iter().map(|l| (*l).to_owned()).collect();
        expected.sort();
        assert_eq!(lines, expected, "{kind}");
    }
}

#[test]
fn a_bad_partition_is_a_usage_error() {
    for bad in ["count:0/3", "count:4/3", "slice:1/2", "hash:1"] {
        let run = check(&project().join("cases"), &["--partition", bad]);
        assert_eq!(run.code, 2, "{bad}: {}", run.stderr);
        assert!(
            run.stderr.contains("count:K/N or hash:K/N"),
            "{}",
            run.stderr
        );
    }
}

/// junitparser from PyPI, the JUnit parser of CI tooling (independent of the quick-junit that
/// writes the report), in the TraceMind virtualenv of the tests: CI installs it there
/// (.ci/run); elsewhere it is added on first use. `None` (the test skipped, with why) only
/// off CI when it cannot be installed.
fn junitparser_python() -> Option<PathBuf> {
    const JUNITPARSER: &str = "junitparser==4.0.2";
    let venv = common::tracemind_venv()?;
    let python = venv.join("bin/python");
    let has = |python: &Path| {
        std::process::Command::new(python)
            .args(["-c", "import junitparser"])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if !has(&python) {
        let installed = std::process::Command::new(&python)
            .args(["-m", "pip", "install", "-q", "--disable-pip-version-check"])
            .arg(JUNITPARSER)
            .output();
        let ok = installed.as_ref().is_ok_and(|o| o.status.success()) && has(&python);
        if !ok {
            let why = format!("{installed:?}");
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "CI must parse JUnit with {JUNITPARSER}, which could not be installed: {why}"
            );
            eprintln!("SKIPPED: {JUNITPARSER} could not be installed: {why}");
            return None;
        }
    }
    Some(python)
}

/// Every testcase of the JUnit files `paths` (merged with `junitparser merge` when more than
/// one), as junitparser reads them: `[suite, classname, name, [[result, type, message]]]`.
fn junitparser_cases(python: &Path, paths: &[&Path], dir: &Path) -> Vec<serde_json::Value> {
    let file = if let [one] = paths {
        one.to_path_buf()
    } else {
        let merged = dir.join("merged.xml");
        let output = std::process::Command::new(python)
            .args(["-m", "junitparser", "merge"])
            .args(paths)
            .arg(&merged)
            .output()
            .unwrap();
        assert!(output.status.success(), "{output:?}");
        merged
    };
    let script = r#"
import json, sys
from junitparser import JUnitXml
cases = []
for suite in JUnitXml.fromfile(sys.argv[1]):
    for case in suite:
        cases.append([suite.name, case.classname, case.name,
                      [[type(r).__name__, r.type, r.message] for r in case.result]])
print(json.dumps(cases))
"#;
    let output = std::process::Command::new(python)
        .args(["-c", script])
        .arg(&file)
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    serde_json::from_slice::<Vec<serde_json::Value>>(&output.stdout).unwrap()
}

#[test]
fn junit_is_read_by_junitparser_and_shards_merge_into_the_whole_check() {
    let Some(python) = junitparser_python() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let whole = dir.path().join("whole.xml");
    let run = check(
        &project().join("cases"),
        &["--jobs", "4", "--junit", whole.to_str().unwrap()],
    );
    assert_eq!(run.code, 4, "{}", run.stderr);
    let cases = junitparser_cases(&python, &[&whole], dir.path());
    // One testcase per report line, in its suite (the flow), with what the line says.
    assert_eq!(cases.len(), 12, "{cases:?}");
    for (case, line) in cases.iter().zip(FULL_REPORT) {
        let flow = line.split('[').nth(1).unwrap().split(']').next().unwrap();
        let name = line.split_whitespace().nth(1).unwrap();
        assert_eq!(
            (&case[0], &case[1], &case[2]),
            (&flow.into(), &flow.into(), &name.into())
        );
        let results = case[3].as_array().unwrap();
        match line.split_whitespace().next().unwrap() {
            "PASS" => assert!(results.is_empty(), "{case}"),
            "FAIL" => {
                let message = line.split_once("]: ").unwrap().1;
                assert_eq!(
                    case[3],
                    serde_json::json!([["Failure", "expectation", message]])
                );
            }
            _ => {
                assert_eq!(results[0][0], "Error", "{case}");
                assert_eq!(results[0][1], "3001 RuntimeInternal", "{case}");
                assert!(
                    results[0][2]
                        .as_str()
                        .unwrap()
                        .starts_with("exit 4: engine timeout")
                );
            }
        }
    }
    // Three shards' files, merged by junitparser, hold the whole check once.
    let mut shards = Vec::new();
    for shard in 1..=3 {
        let path = dir.path().join(format!("shard-{shard}.xml"));
        let partition = format!("hash:{shard}/3");
        check(
            &project().join("cases"),
            &["--partition", &partition, "--junit", path.to_str().unwrap()],
        );
        shards.push(path);
    }
    let shards: Vec<&Path> = shards.iter().map(PathBuf::as_path).collect();
    let merged = junitparser_cases(&python, &shards, dir.path());
    let mut names: Vec<&str> = merged.iter().map(|c| c[2].as_str().unwrap()).collect();
    names.sort_unstable();
    let mut all: Vec<&str> = cases.iter().map(|c| c[2].as_str().unwrap()).collect();
    all.sort_unstable();
    assert_eq!(names, all);
}

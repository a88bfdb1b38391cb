//! Recording and replaying sessions (issue 15, docs/transcripts.md), with the real binaries:
//! `tm --record` writes a transcript that validates against docs/transcript.schema.json;
//! `rep-conformance replay` finds it identical on the mock executor and names the first
//! difference when an executor drops an event or changes an output; `tm` against
//! `rep-replay` of a recorded failure reproduces the exit code and the output.
//! (The replay against the C executor is in native.rs, beside its build.)

#![allow(clippy::unwrap_used)] // tests unwrap: a failure is the report

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;
use serde_json::Value;

/// Every line of the transcript at `path`, checked against docs/transcript.schema.json.
fn schema_valid_lines(path: &Path) -> Vec<Value> {
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/transcript.schema.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let text = std::fs::read_to_string(path).unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    for (n, line) in lines.iter().enumerate() {
        let errors: Vec<String> = validator.iter_errors(line).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "line {}: {errors:?}\n{line}", n + 1);
    }
    lines
}

/// Records plant-monitor (of `manifest`) on the mock executor into `dir/name`.
fn record(dir: &Path, manifest: &Path, name: &str) -> (Run, PathBuf) {
    let transcript = dir.join(name);
    let run = tm_run(
        manifest,
        "plant-monitor",
        &["--record", transcript.to_str().unwrap()],
        &[],
    );
    assert!(transcript.is_file(), "{}", run.stderr);
    (run, transcript)
}

/// `dir/replay.yaml`: a runtime.yaml whose executor is `rep-replay [--timing] TRANSCRIPT`.
fn replay_config(dir: &Path, transcript: &Path, timing: bool) -> PathBuf {
    let config = dir.join("replay.yaml");
    let timing = if timing { "--timing, " } else { "" };
    std::fs::write(
        &config,
        format!(
            "runtime:\n  executor_path: {}\n  executor_args: [{timing}{}]\n",
            rep_replay().display(),
            transcript.display()
        ),
    )
    .unwrap();
    config
}

/// `rep-replay --print-inputs TRANSCRIPT`.
fn print_inputs(transcript: &Path) -> std::process::Output {
    Command::new(rep_replay())
        .arg("--print-inputs")
        .arg(transcript)
        .output()
        .unwrap()
}

fn replay(transcript: &Path, executor: &Path, args: &[&str]) -> Run {
    let mut command = Command::new(rep_conformance());
    command
        .arg("replay")
        .arg(transcript)
        .arg("--executor")
        .arg(executor);
    if !args.is_empty() {
        command.arg("--").args(args);
    }
    let output = command.output().unwrap();
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        elapsed: std::time::Duration::ZERO,
    }
}

/// A copy of `transcript` in `to` with `change` applied to the result of the last
/// `Runtime.Poll` answer (the one that carries the run's end).
fn doctored(transcript: &Path, to: &Path, change: impl Fn(&mut Value)) -> PathBuf {
    let mut lines: Vec<Value> = std::fs::read_to_string(transcript)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let last_poll = lines
        .iter()
        .rposition(|l| l["frame"]["result"]["status"].is_string())
        .expect("a Poll answer");
    change(&mut lines[last_poll]["frame"]["result"]);
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    std::fs::write(to, text).unwrap();
    to.to_path_buf()
}

#[test]
fn a_recorded_plant_monitor_is_schema_valid_and_replays_identically_on_the_mock() {
    let dir = tempfile::tempdir().unwrap();
    let (run, transcript) = record(dir.path(), &plant_monitor_manifest(), "golden.jsonl");
    assert_eq!(run.code, 0, "{}", run.stderr);
    let lines = schema_valid_lines(&transcript);
    assert_eq!(lines[0]["type"], "header");
    assert_eq!(lines[0]["tool"], "tm");
    assert_eq!(lines[0]["flow"], "plant-monitor");
    let methods: Vec<&str> = lines
        .iter()
        .filter(|l| l["dir"] == "host→executor")
        .map(|l| l["frame"]["method"].as_str().unwrap())
        .collect();
    assert_eq!(methods[..2], ["Runtime.Capabilities", "Runtime.StartRun"]);
    assert!(methods[2..].iter().all(|m| *m == "Runtime.Poll"));
    assert_eq!(lines.last().unwrap()["type"], "exit");
    assert_eq!(lines.last().unwrap()["code"], 0);
    // The frames are kept whole: the StartRun request carries the whole IR.
    let start = lines
        .iter()
        .find(|l| l["frame"]["method"] == "Runtime.StartRun")
        .unwrap();
    assert_eq!(start["frame"]["params"]["ir"], plant_monitor_ir());

    let replayed = replay(&transcript, &mock_executor(), &[]);
    assert_eq!(replayed.code, 0, "{}{}", replayed.stdout, replayed.stderr);
    assert!(
        replayed.stdout.contains("replay matches") && replayed.stdout.contains("14 events"),
        "{}",
        replayed.stdout
    );
}

#[test]
fn a_replay_against_an_executor_that_drops_an_event_names_the_event() {
    let dir = tempfile::tempdir().unwrap();
    let (_, transcript) = record(dir.path(), &plant_monitor_manifest(), "golden.jsonl");
    // rep-replay of a doctored transcript is an executor that leaves out `write` started.
    let dropped = doctored(&transcript, &dir.path().join("dropped.jsonl"), |result| {
        let events = result["events"].as_array_mut().unwrap();
        let write = events
            .iter()
            .position(|e| e["step_id"] == "write" && e["state"] == "started")
            .unwrap();
        events.remove(write);
    });
    let run = replay(&transcript, &rep_replay(), &[dropped.to_str().unwrap()]);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout
            .contains("the replay lacks step \"write\" started (attempt 1)"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("14 events recorded, 13 replayed"),
        "{}",
        run.stdout
    );
}

#[test]
fn a_replay_against_an_executor_that_changes_an_output_names_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let (_, transcript) = record(dir.path(), &plant_monitor_manifest(), "golden.jsonl");
    let changed = doctored(&transcript, &dir.path().join("changed.jsonl"), |result| {
        result["summary"]["outputs"]["decision"]["action"] = "SHUTDOWN".into();
    });
    let run = replay(&transcript, &rep_replay(), &[changed.to_str().unwrap()]);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains(
            "summary.outputs.decision.action: recorded \"WRITE_BACK\", replayed \"SHUTDOWN\""
        ),
        "{}",
        run.stdout
    );
    // The same transcript against itself: identical, however often it was polled.
    let same = replay(&transcript, &rep_replay(), &[transcript.to_str().unwrap()]);
    assert_eq!(same.code, 0, "{}{}", same.stdout, same.stderr);
}

#[test]
fn tm_against_rep_replay_of_a_recorded_failure_reproduces_exit_code_and_output() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = failing_flow(dir.path());
    let (original, transcript) = record(dir.path(), &manifest, "failure.jsonl");
    assert_eq!(original.code, 1, "{}", original.stderr);
    let config = replay_config(dir.path(), &transcript, false);
    let replayed = tm_run(
        &manifest,
        "plant-monitor",
        &["--runtime-config", config.to_str().unwrap()],
        &[],
    );
    assert_eq!(replayed.code, original.code, "{}", replayed.stderr);
    assert_eq!(
        replayed.stdout, original.stdout,
        "the same output, byte for byte"
    );
}

#[test]
fn a_bad_transcript_exits_2_and_a_broken_executor_4() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.jsonl");
    std::fs::write(&bad, "{\"type\":\"frame\"}\n").unwrap();
    let run = replay(&bad, &mock_executor(), &[]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("bad.jsonl is not a replayable transcript\n")
            && run.stderr.contains("caused by: line 1: "),
        "{}",
        run.stderr
    );

    let (_, transcript) = record(dir.path(), &plant_monitor_manifest(), "golden.jsonl");
    let run = replay(&transcript, &fake_executor(), &["exit-early"]);
    assert_eq!(run.code, 4, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stderr
            .contains("did not answer Runtime.Capabilities as the recorded one did"),
        "{}",
        run.stderr
    );
}

#[test]
fn rep_conformance_run_records_one_transcript_per_test() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("transcripts");
    let output = Command::new(rep_conformance())
        .args(["run", "--filter", "REP-RUN-001", "--filter", "REP-FRM-001"])
        .arg("--executor")
        .arg(mock_executor())
        .arg("--record")
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let mut names: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert!(names.contains(&"REP-RUN-001.jsonl".to_owned()), "{names:?}");
    assert!(
        names
            .iter()
            .all(|n| n.starts_with("REP-") && n.ends_with(".jsonl")),
        "{names:?}"
    );
    for name in &names {
        let lines = schema_valid_lines(&out.join(name));
        assert_eq!(lines[0]["tool"], "rep-conformance");
        assert!(name.starts_with(lines[0]["test"].as_str().unwrap()));
    }
    // A conformance session of well-formed requests replays against the mock.
    let run = replay(&out.join("REP-RUN-001.jsonl"), &mock_executor(), &[]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
}

#[test]
fn rep_replay_with_timing_answers_at_the_recorded_delays() {
    let dir = tempfile::tempdir().unwrap();
    let (original, transcript) = record(dir.path(), &plant_monitor_manifest(), "golden.jsonl");
    // The recorded executor took 600 ms more to answer StartRun.
    let mut lines: Vec<Value> = std::fs::read_to_string(&transcript)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let start = lines
        .iter()
        .position(|l| l["frame"]["method"] == "Runtime.StartRun")
        .unwrap();
    let answer = start + 1;
    let slow = lines[start]["ms"].as_f64().unwrap() + 600.0;
    lines[answer]["ms"] = slow.into();
    let slow_path = dir.path().join("slow.jsonl");
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    std::fs::write(&slow_path, text).unwrap();
    let config = replay_config(dir.path(), &slow_path, true);
    let replayed = tm_run(
        &plant_monitor_manifest(),
        "plant-monitor",
        &["--runtime-config", config.to_str().unwrap()],
        &[],
    );
    assert_eq!(replayed.code, 0, "{}", replayed.stderr);
    assert_eq!(replayed.stdout, original.stdout);
    assert!(
        replayed.elapsed >= std::time::Duration::from_millis(600),
        "answered after {:?}",
        replayed.elapsed
    );
}

#[test]
fn a_transcript_that_cannot_be_written_changes_nothing_but_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    // A FIFO nobody opens for reading: the transcript can never be written.
    let fifo = dir.path().join("fifo");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    let plain = tm_run(&plant_monitor_manifest(), "plant-monitor", &[], &[]);
    let run = tm_run(
        &plant_monitor_manifest(),
        "plant-monitor",
        &["--record", fifo.to_str().unwrap()],
        &[],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.json()["summary"], plain.json()["summary"]);
    assert!(
        run.stderr
            .contains("records not written (nobody opened the FIFO for reading)"),
        "{}",
        run.stderr
    );
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(left.len(), 1, "no temporary file left behind");

    // A folder that does not exist, and a folder as the destination, are refused before any
    // executor starts (exit 2).
    let occupied = dir.path().join("occupied");
    std::fs::create_dir(&occupied).unwrap();
    let missing = dir.path().join("no/such/dir/t.jsonl");
    for (path, why) in [
        (missing.to_str().unwrap(), "No such file or directory"),
        (occupied.to_str().unwrap(), "a directory"),
    ] {
        let run = tm_run(
            &plant_monitor_manifest(),
            "plant-monitor",
            &["--record", path],
            &[],
        );
        assert_eq!(run.code, 2, "{}", run.stderr);
        assert!(run.stderr.contains(path), "{}", run.stderr);
        assert!(run.stderr.contains(why), "{}", run.stderr);
        assert!(run.stdout.is_empty());
    }
}

/// Issue 21: the replay recipe takes the recorded inputs from the transcript
/// (`rep-replay --print-inputs`), and a live run on other inputs is told which field
/// differs instead of silently getting the recorded answers.
#[test]
fn rep_replay_prints_the_recorded_inputs_and_names_a_differing_input() {
    let dir = tempfile::tempdir().unwrap();
    let (original, transcript) = record(dir.path(), &plant_monitor_manifest(), "bug.jsonl");
    assert_eq!(original.code, 0, "{}", original.stderr);

    let printed = print_inputs(&transcript);
    assert!(printed.status.success(), "{printed:?}");
    let recorded: Value = serde_json::from_slice(&printed.stdout).unwrap();
    let given: Value = serde_json::from_str(
        &std::fs::read_to_string(examples().join("plant-monitor/input.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(recorded, given);

    let config = replay_config(dir.path(), &transcript, false);
    let config = config.to_str().unwrap();
    let same = tm_run(
        &plant_monitor_manifest(),
        "plant-monitor",
        &["--runtime-config", config],
        &[],
    );
    assert_eq!(same.code, 0, "{}", same.stderr);
    assert!(!same.stderr.contains("warning"), "{}", same.stderr);

    let mut other = given.clone();
    other["endpoint"] = serde_json::json!("opc.tcp://elsewhere:4840");
    let other_inputs = dir.path().join("other.json");
    std::fs::write(&other_inputs, other.to_string()).unwrap();
    let inputs = format!("@{}", other_inputs.display());
    let differs = tm_run(
        &plant_monitor_manifest(),
        "plant-monitor",
        &["--runtime-config", config, "--inputs", &inputs],
        &[],
    );
    assert!(
        differs.stderr.contains(
            "the live run's inputs differ at inputs.endpoint: recorded \
             \"opc.tcp://localhost:4840\", live \"opc.tcp://elsewhere:4840\""
        ),
        "{}",
        differs.stderr
    );
    assert!(
        differs.stderr.contains("--print-inputs"),
        "{}",
        differs.stderr
    );
}

#[test]
fn rep_replay_print_inputs_of_a_session_without_a_run_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let transcript = dir.path().join("caps.jsonl");
    std::fs::write(
        &transcript,
        concat!(
            r#"{"type":"header","format":"rep-transcript/1","tool":"tm","version":"0","rep_version":"0.1","executor":["x"],"started_at":"2026-01-01T00:00:00Z"}"#,
            "\n",
            r#"{"type":"frame","dir":"host→executor","ms":1,"frame":{"jsonrpc":"2.0","id":1,"method":"Runtime.Capabilities","params":{}}}"#,
            "\n",
        ),
    )
    .unwrap();
    let printed = print_inputs(&transcript);
    assert_eq!(printed.status.code(), Some(2), "{printed:?}");
    let stderr = String::from_utf8_lossy(&printed.stderr);
    assert!(stderr.contains("started no run"), "{stderr}");
    assert!(printed.stdout.is_empty());
}

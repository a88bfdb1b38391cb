//! Hostile and broken executors (issue: host hardening). Every test asserts the exit code,
//! a bound on elapsed time, the message, and — through `run_fake` — that no process of the
//! executor survives `tm`.

#![allow(clippy::unwrap_used)] // tests unwrap: a failure is the report

mod common;

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use serde_json::Value;

fn error_of(run: &Run) -> Value {
    run.json()["error"].clone()
}

#[test]
fn handshake_that_never_answers_times_out_with_exit_4() {
    let run = run_fake("hang-handshake", &["--timeout", "0.5"], &[]);
    assert_eq!(run.code, 4, "{}", run.stderr);
    assert!(run.elapsed < Duration::from_secs(8), "{:?}", run.elapsed);
    let error = error_of(&run);
    assert_eq!(error["cause"], "Timeout");
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("Runtime.Capabilities"),
        "{error}"
    );
    assert!(
        !run.stderr.contains("fake: got Runtime.Cancel"),
        "no Cancel before a run exists"
    );
}

#[test]
fn engine_timeout_is_passed_to_the_executor_in_whole_seconds() {
    let run = run_fake("complete", &["--timeout", "2.5"], &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("fake: TRACE_MIND_ENGINE_TIMEOUT=Some(\"3\")"),
        "{}",
        run.stderr
    );
}

#[test]
fn an_executor_ignoring_cancel_and_eof_is_killed_with_its_grandchild() {
    let run = run_fake("stubborn", &["--timeout", "0.5"], &[]);
    assert_eq!(run.code, 4, "{}", run.stderr);
    // 0.5 s timeout + ≤ 2 s for Cancel's answer + 5 s grace, with slack for a loaded machine.
    assert!(run.elapsed < Duration::from_secs(12), "{:?}", run.elapsed);
    assert!(
        run.stderr.contains("fake: grandchild pid"),
        "{}",
        run.stderr
    );
    assert_eq!(
        run.json()["events"].as_array().unwrap().len(),
        1,
        "the event received before the timeout is kept"
    );
}

/// Regression: tm exited as soon as its executor did, sometimes before the executor's last
/// stderr lines were forwarded.
#[test]
fn the_executors_last_stderr_line_is_forwarded_before_tm_exits() {
    for _ in 0..5 {
        let run = run_fake("complete", &[], &[]);
        assert_eq!(run.code, 0, "{}", run.stderr);
        assert!(
            run.stderr.contains("fake: stdin closed, goodbye"),
            "{}",
            run.stderr
        );
    }
}

#[test]
fn a_chatty_stderr_never_blocks_the_run() {
    let run = run_fake("chatty", &["--timeout", "20"], &[]);
    assert_eq!(
        run.code,
        0,
        "{}",
        &run.stderr[run.stderr.len().saturating_sub(2000)..]
    );
    // Every line is forwarded or counted as dropped (when the reader of tm's stderr could
    // not keep up): none vanishes silently.
    let forwarded = run
        .stderr
        .lines()
        .filter(|l| l.len() == 1023 && l.bytes().all(|b| b == b'x'))
        .count();
    let dropped: usize = run
        .stderr
        .lines()
        .filter_map(|l| l.strip_prefix("tm: "))
        .filter_map(|l| l.split_once(" executor log line"))
        .map(|(n, _)| n.parse::<usize>().unwrap())
        .sum();
    assert_eq!(forwarded + dropped, 8 * 1024, "{dropped} dropped");
}

#[test]
fn an_over_long_frame_is_a_transport_error() {
    let run = run_fake("huge-frame", &["--max-frame-bytes", "1048576"], &[]);
    assert_eq!(run.code, 4, "{}", run.stderr);
    let error = error_of(&run);
    assert_eq!(error["cause"], "FrameTooLong");
    assert!(
        error["message"].as_str().unwrap().contains("1048576"),
        "{error}"
    );
}

#[test]
fn malformed_replies_map_to_3001_with_their_cause() {
    for (mode, cause, shown) in [
        ("garbage", "InvalidJson", "this is not json"),
        ("bad-utf8", "InvalidUtf8", "UTF-8"),
        ("scalar-result", "InvalidResponse", "not a JSON object"),
        (
            "empty-response",
            "InvalidResponse",
            "neither result nor error",
        ),
        ("wrong-id", "WrongId", "expected 1"),
    ] {
        let run = run_fake(mode, &[], &[]);
        assert_eq!(run.code, 4, "{mode}: {}", run.stderr);
        assert!(
            run.elapsed < Duration::from_secs(8),
            "{mode}: {:?}",
            run.elapsed
        );
        let error = error_of(&run);
        assert_eq!(error["code"], 3001, "{mode}");
        assert_eq!(error["cause"], cause, "{mode}: {error}");
        assert!(
            error["message"].as_str().unwrap().contains(shown),
            "{mode}: {error}"
        );
    }
}

#[test]
fn an_executor_dying_mid_run_is_eof_with_its_exit_status_and_stderr() {
    let run = run_fake("die-after-start", &[], &[]);
    assert_eq!(run.code, 4, "{}", run.stderr);
    let error = error_of(&run);
    assert_eq!(error["cause"], "Eof");
    let message = error["message"].as_str().unwrap();
    assert!(
        message.contains("70") && message.contains("fake: crashed"),
        "{message}"
    );
}

#[test]
fn executor_errors_map_to_exit_codes_by_class() {
    for (mode, exit, code) in [
        ("reject", 3, 1003),
        ("start-2001", 1, 2001),
        ("start-3002", 4, 3002),
    ] {
        let run = run_fake(mode, &[], &[]);
        assert_eq!(run.code, exit, "{mode}: {}", run.stderr);
        assert_eq!(error_of(&run)["code"], code, "{mode}");
        assert_eq!(error_of(&run)["executor_error"]["code"], code, "{mode}");
    }
}

#[test]
fn a_non_executable_executor_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("not-executable");
    std::fs::write(&path, "#!/bin/sh\n").unwrap();
    let manifest = plant_monitor_manifest();
    let run = tm_run(
        &manifest,
        "plant-monitor",
        &["--executor-path", path.to_str().unwrap()],
        &[],
    );
    assert_eq!(run.code, 4, "{}", run.stderr);
    let message = error_of(&run)["message"].as_str().unwrap().to_owned();
    assert!(
        message.contains("not executable") && message.contains("not-executable"),
        "{message}"
    );
}

#[test]
fn the_hosts_secrets_are_not_passed_to_the_executor_unless_configured() {
    let run = run_fake("complete", &[], &[("TM_TEST_SECRET", "hunter2")]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains("fake: TM_TEST_SECRET=None"),
        "{}",
        run.stderr
    );

    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("runtime.yaml");
    let yaml = format!(
        "runtime:\n  executor_path: {}\n  inherit_env: true\n",
        fake_executor().display()
    );
    std::fs::write(&config, yaml).unwrap();
    let run = tm_plant_with_config(&config, &[], &[("TM_TEST_SECRET", "hunter2")]);
    assert!(
        run.stderr
            .contains("fake: TM_TEST_SECRET=Some(\"hunter2\")"),
        "{}",
        run.stderr
    );
}

#[test]
fn sigint_cancels_the_run_prints_events_and_exits_130() {
    for (signal, exit, cause) in [("-INT", 130, "Interrupted"), ("-TERM", 143, "Terminated")] {
        let dir = tempfile::tempdir().unwrap();
        let config = fake_config(dir.path(), "hang");
        let manifest = plant_monitor_manifest();
        let mut child = Command::new(tm_path())
            .args([
                "--runtime-config",
                config.to_str().unwrap(),
                "runtime",
                "run",
                "--manifest",
                manifest.to_str().unwrap(),
                "--flow",
                "plant-monitor",
                "--inputs",
                &plant_monitor_inputs(),
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Read stderr on a thread until the run is being polled.
        let mut stderr = child.stderr.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let reader = std::thread::spawn(move || {
            let mut seen = String::new();
            let mut buf = [0u8; 4096];
            let mut told = false;
            while let Ok(n) = stderr.read(&mut buf) {
                if n == 0 {
                    break;
                }
                seen.push_str(&String::from_utf8_lossy(&buf[..n]));
                if !told && seen.matches("fake: got Runtime.Poll").count() >= 2 {
                    told = true;
                    let _ = tx.send(());
                }
            }
            seen
        });
        rx.recv_timeout(Duration::from_secs(10))
            .expect("the run starts polling");
        let sent = Instant::now();
        let killed = Command::new("kill")
            .args([signal, &child.id().to_string()])
            .status()
            .unwrap();
        assert!(killed.success());
        let mut stdout = String::new();
        child
            .stdout
            .take()
            .unwrap()
            .read_to_string(&mut stdout)
            .unwrap();
        let status = child.wait().unwrap();
        let stderr = reader.join().unwrap();
        assert_eq!(status.code(), Some(exit), "{signal}: {stderr}");
        assert!(
            sent.elapsed() < Duration::from_secs(8),
            "{:?}",
            sent.elapsed()
        );
        let out: Value = serde_json::from_str(&stdout).unwrap();
        assert_eq!(out["error"]["cause"], cause);
        assert_eq!(
            out["events"][0]["message"], "poll 1",
            "events received before the signal are printed"
        );
        assert_eq!(
            stderr.matches("fake: got Runtime.Cancel").count(),
            1,
            "{stderr}"
        );
        assert_no_survivors(&stderr);
    }
}

#[test]
fn events_jsonl_receives_every_event_as_it_arrives() {
    let dir = tempfile::tempdir().unwrap();
    let jsonl = dir.path().join("events.jsonl");
    let manifest = plant_monitor_manifest();
    let run = tm_run(
        &manifest,
        "plant-monitor",
        &[
            "--inputs",
            &plant_monitor_inputs(),
            "--events-jsonl",
            jsonl.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let lines: Vec<Value> = std::fs::read_to_string(&jsonl)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    // Each line: the run id beside the event, the event exactly as the executor sent it.
    let run_id = &run.json()["run_id"];
    assert!(
        lines.iter().all(|line| &line["run_id"] == run_id),
        "{lines:?}"
    );
    let events: Vec<Value> = lines.iter().map(|line| line["event"].clone()).collect();
    assert_eq!(Value::Array(events), run.json()["events"]);
    assert!(
        !run.stderr.contains('\r'),
        "no progress line when stderr is not a terminal"
    );
}

#[test]
fn a_capabilities_mismatch_is_cached_and_the_cache_can_be_cleared() {
    let home = tempfile::tempdir().unwrap();
    let home_str = home.path().to_str().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut ir = plant_monitor_ir();
    ir["graph"]["nodes"][0]["type"] = serde_json::json!("http.get");
    let manifest = write_flow(dir.path(), "needs-http", &ir);
    let run = tm_run(&manifest, "needs-http", &[], &[("HOME", home_str)]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert_eq!(
        run.json()["error"]["missing_step_kinds"],
        serde_json::json!(["http.get"])
    );
    let cached = home
        .path()
        .join(".trace_mind/runtime_capabilities/proc.json");
    let record: Value = serde_json::from_str(&std::fs::read_to_string(&cached).unwrap()).unwrap();
    assert!(
        record["capabilities"]["step_kinds"]
            .as_array()
            .unwrap()
            .iter()
            .any(|k| k == "opcua.read")
    );
    let clear = tm(
        &["runtime", "cache", "clear", "--engine", "proc"],
        &[("HOME", home_str)],
    );
    assert_eq!(clear.code, 0, "{}", clear.stderr);
    assert!(!cached.exists());
    let usage = tm(&["runtime", "cache", "clear"], &[("HOME", home_str)]);
    assert_eq!(usage.code, 2);
}

#[test]
fn runtime_capabilities_prints_the_executors_answer() {
    let run = tm(&["runtime", "capabilities"], &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let caps = run.json();
    assert!(caps["limits"]["concurrency"].as_u64().unwrap() >= 4);
    assert!(
        caps["step_kinds"]
            .as_array()
            .unwrap()
            .iter()
            .any(|k| k == "switch")
    );
}

#[test]
fn every_json_test_suite_file_as_the_reply_exits_4_without_a_panic() {
    let suite =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("data/JSONTestSuite/test_parsing");
    let mut files: Vec<_> = std::fs::read_dir(&suite)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(
        files.len() > 300,
        "the suite is vendored at {}",
        suite.display()
    );
    let dir = tempfile::tempdir().unwrap();
    let config = fake_config(dir.path(), "reply-file");
    for file in &files {
        let run = tm_plant_with_config(
            &config,
            &["--timeout", "10"],
            &[("FAKE_REPLY_FILE", file.to_str().unwrap())],
        );
        let name = file.file_name().unwrap().to_string_lossy();
        assert_eq!(run.code, 4, "{name}: {}", run.stderr);
        assert!(!run.stderr.contains("panicked"), "{name}: {}", run.stderr);
        assert_eq!(run.json()["error"]["code"], 3001, "{name}");
    }
}

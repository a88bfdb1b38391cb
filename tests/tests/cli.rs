//! `tm` end to end: the real binary, real executors, every exit code of REP v0.1 §5.

#![allow(clippy::unwrap_used)] // tests unwrap: a failure is the report

mod common;

use std::time::Duration;

use common::*;
use serde_json::json;

#[test]
fn plant_monitor_completes_on_the_default_executor() {
    let manifest = plant_monitor_manifest();
    let run = tm_run(
        &manifest,
        "plant-monitor",
        &["--inputs", &plant_monitor_inputs()],
        &[],
    );
    assert_eq!(run.code, 0, "stderr: {}", run.stderr);
    let out = run.json();
    assert_eq!(out["status"], "completed");
    assert_eq!(
        run.steps("succeeded"),
        ["read", "decide", "when_0", "write", "emit_1", "finish_2"]
    );
    assert!(out.get("error").is_none());
    redactions().bind(|| {
        insta::assert_json_snapshot!("plant_monitor", out, { ".manifest" => "[manifest]" });
    });
}

#[test]
fn smoke_sample_verifies_online_with_its_manifest_path() {
    let manifest = examples().join("smoke-sample/out/dsl/manifest.json");
    let run = tm(
        &[
            "verify",
            "online",
            "--flow",
            "sample",
            "--manifest",
            manifest.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(run.code, 0, "stderr: {}", run.stderr);
    let out = run.json();
    assert_eq!(out["manifest"], manifest.to_str().unwrap());
    assert_eq!(
        out["summary"]["outputs"],
        json!({"decision": {"action": "PASS"}, "result": {"action": "PASS"}})
    );
    redactions().bind(|| {
        insta::assert_json_snapshot!("smoke_sample", out, { ".manifest" => "[manifest]" });
    });
}

#[test]
fn a_reading_below_the_threshold_takes_the_default_branch() {
    let manifest = plant_monitor_manifest();
    let inputs =
        r#"{"endpoint": "opc.tcp://x", "nodes": ["ns=2;i=2"], "mock_values": {"ns=2;i=2": 60.5}}"#;
    let run = tm_run(&manifest, "plant-monitor", &["--inputs", inputs], &[]);
    assert_eq!(run.code, 0, "stderr: {}", run.stderr);
    assert_eq!(
        run.steps("succeeded"),
        ["read", "decide", "when_0", "emit_1", "finish_2"]
    );
    assert_eq!(
        run.json()["summary"]["outputs"]["decision"]["action"],
        "NONE"
    );
}

#[test]
fn exit_1_when_a_step_fails() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = failing_flow(dir.path());
    let run = tm_run(&manifest, "plant-monitor", &[], &[]);
    assert_eq!(run.code, 1, "stderr: {}", run.stderr);
    let out = run.json();
    assert_eq!(out["status"], "failed");
    assert_eq!(out["error"]["code"], 2001);
    assert_eq!(out["error"]["class"], "StepFailure");
    assert!(
        out["error"]["message"]
            .as_str()
            .unwrap()
            .contains("\"read\""),
        "{}",
        out["error"]
    );
    assert_eq!(run.steps("failed"), ["read"]);
}

#[test]
fn exit_2_for_invalid_ir_before_any_executor_starts() {
    let dir = tempfile::tempdir().unwrap();
    let mut ir = plant_monitor_ir();
    ir["graph"]["edges"][0]["to"] = json!("nowhere");
    ir["graph"]["nodes"][1]["timeout_ms"] = json!(-5);
    let manifest = write_flow(dir.path(), "broken", &ir);
    let marker = dir.path().join("executor-started");
    let executor = dir.path().join("executor.sh");
    std::fs::write(
        &executor,
        format!("#!/bin/sh\ntouch {}\n", marker.display()),
    )
    .unwrap();
    std::os::unix::fs::PermissionsExt::set_mode(
        &mut std::fs::metadata(&executor).unwrap().permissions(),
        0o755,
    );
    let run = tm_run(
        &manifest,
        "broken",
        &["--executor-path", executor.to_str().unwrap()],
        &[],
    );
    assert_eq!(run.code, 2, "stderr: {}", run.stderr);
    assert!(run.stdout.is_empty(), "nothing on stdout: {}", run.stdout);
    assert!(run.stderr.contains("/graph/edges/0/to"), "{}", run.stderr);
    assert!(
        run.stderr.contains("/graph/nodes/1/timeout_ms"),
        "{}",
        run.stderr
    );
    assert!(!marker.exists(), "the executor must not be started");
}

#[test]
fn exit_2_for_an_unknown_flow_listing_the_known_ones() {
    let manifest = plant_monitor_manifest();
    let run = tm_run(&manifest, "nope", &[], &[]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("plant-monitor"), "{}", run.stderr);
}

#[test]
fn exit_3_on_capabilities_mismatch_naming_the_missing_kinds() {
    let dir = tempfile::tempdir().unwrap();
    let mut ir = plant_monitor_ir();
    ir["graph"]["nodes"][0]["type"] = json!("http.get");
    let manifest = write_flow(dir.path(), "needs-http", &ir);
    let run = tm_run(&manifest, "needs-http", &[], &[]);
    assert_eq!(run.code, 3, "stderr: {}", run.stderr);
    let out = run.json();
    assert_eq!(out["error"]["cause"], "CapabilitiesMismatch");
    assert_eq!(out["error"]["class"], "Validation");
    assert!(
        out["error"]["message"]
            .as_str()
            .unwrap()
            .contains("http.get"),
        "{}",
        out["error"]
    );
    assert_eq!(out["events"], json!([]));
}

#[test]
fn exit_3_when_the_executor_rejects_the_ir() {
    let run = run_with_fake("reject", &[]);
    assert_eq!(run.code, 3, "stderr: {}", run.stderr);
    assert_eq!(run.json()["error"]["code"], 1003);
}

#[test]
fn exit_3_when_capabilities_lack_a_required_field() {
    let run = run_with_fake("no-limits", &[]);
    assert_eq!(run.code, 3, "stderr: {}", run.stderr);
    let error = &run.json()["error"];
    assert_eq!(error["cause"], "InvalidCapabilities");
    assert!(
        error["message"].as_str().unwrap().contains("limits"),
        "{error}"
    );
}

#[test]
fn exit_3_when_plugins_language_differs_from_language() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("runtime.yaml");
    std::fs::write(
        &config,
        "runtime:\n  engine: proc\n  language: rust\n  plugins_language: python\n",
    )
    .unwrap();
    let run = tm_plant_with_config(&config, &[], &[]);
    assert_eq!(run.code, 3, "stderr: {}", run.stderr);
    assert!(
        run.stderr
            .contains("set runtime.language and runtime.plugins_language to the same value"),
        "{}",
        run.stderr
    );
}

#[test]
fn exit_4_on_engine_timeout_after_cancelling_the_run() {
    let run = run_with_fake("hang", &["--timeout", "0.5"]);
    assert_eq!(run.code, 4, "stderr: {}", run.stderr);
    assert!(
        run.elapsed < Duration::from_secs(10),
        "took {:?}",
        run.elapsed
    );
    let error = &run.json()["error"];
    assert_eq!(error["code"], 3001);
    assert_eq!(error["cause"], "Timeout");
    assert!(
        run.stderr.contains("fake: got Runtime.Cancel"),
        "Cancel is sent once: {}",
        run.stderr
    );
    assert_eq!(run.stderr.matches("fake: got Runtime.Cancel").count(), 1);
}

#[test]
fn exit_4_when_the_executor_is_missing() {
    let manifest = plant_monitor_manifest();
    let run = tm_run(
        &manifest,
        "plant-monitor",
        &["--executor-path", "/nonexistent/executor"],
        &[],
    );
    assert_eq!(run.code, 4, "stderr: {}", run.stderr);
    let error = &run.json()["error"];
    assert_eq!(error["cause"], "Spawn");
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("/nonexistent/executor"),
        "{error}"
    );
}

#[test]
fn exit_4_when_the_executor_prints_garbage_showing_the_frame() {
    let run = run_with_fake("garbage", &[]);
    assert_eq!(run.code, 4, "stderr: {}", run.stderr);
    let error = &run.json()["error"];
    assert_eq!(error["cause"], "InvalidJson");
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("this is not json"),
        "{error}"
    );
}

#[test]
fn exit_4_when_the_executor_exits_early_with_its_stderr() {
    let run = run_with_fake("exit-early", &[]);
    assert_eq!(run.code, 4, "stderr: {}", run.stderr);
    let message = run.json()["error"]["message"].as_str().unwrap().to_owned();
    assert!(message.contains("cannot open the device"), "{message}");
    assert!(message.contains("exit status: 3"), "{message}");
}

#[test]
fn exit_4_when_a_response_has_the_wrong_id() {
    let run = run_with_fake("wrong-id", &[]);
    assert_eq!(run.code, 4, "stderr: {}", run.stderr);
    assert_eq!(run.json()["error"]["cause"], "WrongId");
}

#[test]
fn ids_start_at_1_notifications_are_ignored_and_every_poll_is_kept() {
    let run = run_with_fake("complete", &[]);
    assert_eq!(run.code, 0, "stderr: {}", run.stderr);
    let out = run.json();
    assert_eq!(out["run_id"], "fake-run");
    let messages: Vec<&str> = out["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["message"].as_str().unwrap())
        .collect();
    assert_eq!(messages, ["poll 1", "poll 2"]);
}

#[test]
fn global_flags_work_before_and_after_the_subcommand() {
    let manifest = plant_monitor_manifest();
    let mock = mock_executor();
    let before = tm(
        &[
            "--engine",
            "proc",
            "--executor-path",
            mock.to_str().unwrap(),
            "runtime",
            "run",
            "--manifest",
            manifest.to_str().unwrap(),
            "--flow",
            "plant-monitor",
            "--inputs",
            &plant_monitor_inputs(),
        ],
        &[],
    );
    let after = tm_run(
        &manifest,
        "plant-monitor",
        &[
            "--engine",
            "proc",
            "--executor-path",
            mock.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(
        (before.code, after.code),
        (0, 0),
        "{}\n{}",
        before.stderr,
        after.stderr
    );
}

#[test]
fn engine_python_is_refused_with_an_explanation() {
    let manifest = plant_monitor_manifest();
    let run = tm(
        &[
            "--engine",
            "python",
            "runtime",
            "run",
            "--manifest",
            manifest.to_str().unwrap(),
            "--flow",
            "plant-monitor",
            "--inputs",
            &plant_monitor_inputs(),
        ],
        &[],
    );
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("trace-mind"), "{}", run.stderr);
}

#[test]
fn help_shows_examples_and_exit_codes() {
    let run = tm(&["--help"], &[]);
    assert_eq!(run.code, 0);
    assert!(
        run.stdout.contains("Examples:") && run.stdout.contains("Exit codes:"),
        "{}",
        run.stdout
    );
}

fn run_with_fake(mode: &str, extra: &[&str]) -> Run {
    run_fake(mode, extra, &[])
}

/// Issue 21: `tm`'s own `error:` is painted as clap paints its usage errors under `--color
/// always`, and never with `--color never` or through a pipe without it.
#[test]
fn tm_s_own_errors_are_coloured_like_clap_s() {
    let painted = "\x1b[1m\x1b[31merror:\x1b[0m ";
    let missing_manifest = |color: &[&'static str]| {
        let mut args = color.to_vec();
        args.extend([
            "runtime",
            "run",
            "--manifest",
            "/nonexistent/m.json",
            "--flow",
            "x",
        ]);
        tm(&args, &[])
    };
    let own = missing_manifest(&["--color", "always"]);
    assert_eq!(own.code, 2, "{}", own.stderr);
    assert!(own.stderr.starts_with(painted), "{:?}", own.stderr);
    let clap = tm(&["--color", "always", "runtime", "run"], &[]);
    assert_eq!(clap.code, 2);
    assert!(clap.stderr.starts_with(painted), "{:?}", clap.stderr);
    for color in [&["--color", "never"][..], &[]] {
        let plain = missing_manifest(color);
        assert!(
            plain.stderr.starts_with("error: manifest not found"),
            "{:?}",
            plain.stderr
        );
    }
}

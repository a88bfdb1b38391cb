//! The native executors of `native/` (issue 12) as a host and a certifier see them:
//! `c-executor`, `cpp-executor` and `qemu-executor` (the Cortex-M3 firmware in QEMU behind
//! `rep-bridge`) give the same `status` and `summary.outputs` as `mock-executor`, and
//! `rep-conformance` certifies them — c-executor and cpp-executor with the semantic tests of
//! `rep.probe`, and 500 fuzz cases of a fixed seed matching the reference model (issue 22); the
//! C unit tests pass under ASan and UBSan. Issue 23's
//! regression tests: line noise before the first request, limits that differ between the
//! library and the application, a 16-deep emit on the firmware, 4 × 4,000 emitted keys.
//!
//! The artifacts come from `bash native/build.sh` (incremental, so each test process calls it).
//! Where a toolchain is missing (arm-none-eabi-gcc, nlohmann-json3-dev, qemu-system-arm) a test
//! prints that it is skipped and passes — unless `REP_NATIVE_REQUIRED=1` (CI sets it), which
//! makes a missing toolchain, artifact or `rep-bridge` a failure.

#![allow(clippy::unwrap_used)] // tests unwrap: a failure is the report

mod common;
#[path = "native/firmware.rs"]
mod firmware;
#[path = "native/oracle.rs"]
mod oracle;
#[path = "native/sandbox.rs"]
mod sandbox;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use common::*;
use serde_json::Value;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Where native/build.sh puts the artifacts for this build: `native/` beside the profile
/// folder holding `tm`, so that qemu-executor finds `../debug/rep-bridge` (or release).
fn native_dir() -> PathBuf {
    bin_dir().parent().expect("target dir").join("native")
}

fn required() -> bool {
    std::env::var("REP_NATIVE_REQUIRED").as_deref() == Ok("1")
}

/// Reports that `what` cannot be tested here: a failure under `REP_NATIVE_REQUIRED=1`, else a
/// note on stderr (the test then returns early and passes).
fn unavailable(what: &str) {
    assert!(!required(), "REP_NATIVE_REQUIRED=1, but {what}");
    eprintln!("skipped: {what}");
}

/// `bash native/build.sh [args]`, once per argument list and test process; its stderr on failure.
fn build(args: &'static [&'static str]) -> Result<String, String> {
    let output = Command::new("bash")
        .arg(repo().join("native/build.sh"))
        .args(args)
        .env("REP_NATIVE_OUT", native_dir())
        // No cargo from inside a test: the FreeRTOS kernel is what an earlier build.sh fetched.
        .env("REP_NATIVE_FETCH", "0")
        .current_dir(repo())
        .output()
        .expect("bash runs");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    if output.status.success() {
        Ok(stdout)
    } else {
        Err(format!(
            "native/build.sh {args:?} failed ({}):\n{stdout}\n{stderr}",
            output.status
        ))
    }
}

/// The built artifact `name` of target/native/, or `None` (skipped) when it cannot be built.
fn artifact(name: &str) -> Option<PathBuf> {
    static BUILT: OnceLock<Result<String, String>> = OnceLock::new();
    if let Err(e) = BUILT.get_or_init(|| build(&[])) {
        panic!("{e}");
    }
    let path = native_dir().join(name);
    if path.is_file() {
        Some(path)
    } else {
        unavailable(&format!(
            "{name} was not built: a toolchain is missing (native/build.sh's note above says which)"
        ));
        None
    }
}

/// `qemu-executor` with what it needs at run time: qemu-system-arm and a built rep-bridge.
fn qemu_executor() -> Option<PathBuf> {
    qemu_launcher("qemu-executor", "firmware.elf")
}

/// The QEMU launcher `name` (native/firmware/qemu-executor under one of its names) with its
/// `firmware`, qemu-system-arm and a built rep-bridge.
fn qemu_launcher(name: &str, firmware: &str) -> Option<PathBuf> {
    let executor = artifact(name)?;
    artifact(firmware)?;
    if Command::new("qemu-system-arm")
        .arg("--version")
        .output()
        .is_err()
    {
        unavailable("qemu-system-arm is not installed (apt-get install qemu-system-arm)");
        return None;
    }
    if !bin_dir().join("rep-bridge").is_file() {
        unavailable(&format!(
            "rep-bridge is not built in {} (cargo build -p rep-bridge)",
            bin_dir().display()
        ));
        return None;
    }
    Some(executor)
}

fn smoke_sample_manifest() -> PathBuf {
    examples().join("smoke-sample/out/dsl/manifest.json")
}

/// `{status, outputs}` of a run of `flow` (with `inputs`) on `executor`.
fn outcome(executor: &Path, manifest: &Path, flow: &str, inputs: Option<&str>) -> Value {
    let executor = executor.to_str().unwrap();
    let mut extra = vec!["--executor-path", executor];
    if let Some(inputs) = inputs {
        extra.extend(["--inputs", inputs]);
    }
    let run = tm_run(manifest, flow, &extra, &[]);
    let out = run.json();
    assert!(
        out["status"].is_string(),
        "no status from {executor}:\n{}",
        run.stderr
    );
    serde_json::json!({"status": out["status"], "outputs": out["summary"]["outputs"], "exit": run.code})
}

/// `(actual, expected)`: the outcomes of the plant-monitor variant `ir`, with the example's
/// inputs, on `executor` and on mock-executor.
fn outcomes_of_variant(executor: &Path, ir: &Value) -> (Value, Value) {
    let dir = tempfile::tempdir().unwrap();
    let manifest = write_flow(dir.path(), "plant-monitor", ir);
    let inputs = plant_monitor_inputs();
    let expected = outcome(&mock_executor(), &manifest, "plant-monitor", Some(&inputs));
    let actual = outcome(executor, &manifest, "plant-monitor", Some(&inputs));
    (actual, expected)
}

/// The executor gives the mock executor's status and outputs on plant-monitor (both branches
/// of its switch) and smoke-sample.
fn assert_matches_mock(executor: &Path) {
    let plant = plant_monitor_inputs();
    let low = r#"{"endpoint": "opc.tcp://localhost:4840", "nodes": ["ns=2;i=2"], "mock_values": {"ns=2;i=2": 70.5}}"#;
    let cases: [(PathBuf, &str, Option<&str>); 3] = [
        (
            plant_monitor_manifest(),
            "plant-monitor",
            Some(plant.as_str()),
        ),
        (plant_monitor_manifest(), "plant-monitor", Some(low)),
        (smoke_sample_manifest(), "sample", None),
    ];
    for (manifest, flow, inputs) in cases {
        let expected = outcome(&mock_executor(), &manifest, flow, inputs);
        let actual = outcome(executor, &manifest, flow, inputs);
        assert_eq!(
            actual,
            expected,
            "{} differs from mock-executor on {flow} with {inputs:?}",
            executor.display()
        );
        assert_eq!(expected["status"], "completed", "{expected}");
    }
}

/// `rep-conformance --strict` with conformance/fixtures/native certifies the executor: every
/// MUST test ran and passed, no SHOULD test warned, and core, cancel and health are certified
/// (read from its JSON report) — and semantics (the `REP-SEM-*` tests) when `probe` says the
/// executor registers `rep.probe`.
fn assert_certified(executor: &Path, probe: bool) {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report.json");
    let output = Command::new(bin_dir().join("rep-conformance"))
        .arg("run")
        .arg("--strict")
        .arg("--executor")
        .arg(executor)
        .arg("--fixtures")
        .arg(repo().join("conformance/fixtures/native"))
        .arg("--json")
        .arg(&report)
        .output()
        .expect("rep-conformance runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "rep-conformance failed on {}:\n{stdout}\n{}",
        executor.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    let report: Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    let certification = &report["certification"];
    assert_eq!(
        (
            &certification["core"],
            &certification["cancel"],
            &certification["health"]
        ),
        (&Value::Bool(true), &Value::Bool(true), &Value::Bool(true)),
        "{certification}\n{stdout}"
    );
    assert_eq!(
        certification["semantics"],
        Value::Bool(probe),
        "{certification}\n{stdout}"
    );
    assert_eq!(report["summary"]["failed"], 0, "{stdout}");
    // No SHOULD test warns either: REP-RUN-007 passes since the library checks run inputs.
    assert_eq!(report["summary"]["warned"], 0, "{stdout}");
}

/// The seed of the fuzz runs of CI (conformance/tests/fuzz.rs fuzzes mock-executor with it).
const FUZZ_SEED: &str = "20261";

/// Issue 22: `rep-conformance fuzz` runs 500 generated flows over `rep.probe`, `switch`,
/// `finish` and `dsl.emit` of a fixed seed on the executor, and each ends as the reference
/// model says (status, every step's outcome and attempts, outputs, event order, concurrency,
/// backoff).
fn assert_fuzz_matches_the_model(executor: &Path) {
    let out = tempfile::tempdir().unwrap();
    let output = Command::new(rep_conformance())
        .args(["fuzz", "--seed", FUZZ_SEED, "--cases", "500", "--out"])
        .arg(out.path())
        .arg("--executor")
        .arg(executor)
        .output()
        .expect("rep-conformance runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "rep-conformance fuzz found a difference on {}:\n{stdout}\n{}",
        executor.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains(&format!("500 cases of seed {FUZZ_SEED} match the model")),
        "{stdout}"
    );
}

#[test]
fn c_unit_tests_pass_under_address_and_undefined_behaviour_sanitizers() {
    let stdout = build(&["test"]).unwrap_or_else(|e| panic!("{e}"));
    if !stdout.contains("C unit tests:") {
        unavailable("the C unit tests were not built (no C compiler)");
        return;
    }
    assert!(stdout.contains(" 0 failed"), "{stdout}");
}

#[test]
fn c_executor_gives_the_mock_executors_outputs() {
    if let Some(executor) = artifact("c-executor") {
        assert_matches_mock(&executor);
    }
}

#[test]
fn cpp_executor_gives_the_mock_executors_outputs() {
    if let Some(executor) = artifact("cpp-executor") {
        assert_matches_mock(&executor);
    }
}

#[test]
fn qemu_executor_gives_the_mock_executors_outputs() {
    if let Some(executor) = qemu_executor() {
        assert_matches_mock(&executor);
    }
}

#[test]
fn rep_conformance_certifies_c_executor() {
    if let Some(executor) = artifact("c-executor") {
        assert_certified(&executor, true);
    }
}

#[test]
fn rep_conformance_certifies_cpp_executor() {
    if let Some(executor) = artifact("cpp-executor") {
        assert_certified(&executor, true);
    }
}

#[test]
fn rep_conformance_certifies_qemu_executor() {
    if let Some(executor) = qemu_executor() {
        assert_certified(&executor, false);
    }
}

#[test]
fn c_executor_matches_the_semantic_model_on_500_fuzz_cases() {
    if let Some(executor) = artifact("c-executor") {
        assert_fuzz_matches_the_model(&executor);
    }
}

#[test]
fn cpp_executor_matches_the_semantic_model_on_500_fuzz_cases() {
    if let Some(executor) = artifact("cpp-executor") {
        assert_fuzz_matches_the_model(&executor);
    }
}

#[test]
fn c_executor_fails_a_step_and_exits_1_like_the_mock() {
    let Some(executor) = artifact("c-executor") else {
        return;
    };
    let mut ir = plant_monitor_ir();
    ir["graph"]["nodes"][1]["with"]["_mock"] = serde_json::json!({"fail": true});
    let (actual, expected) = outcomes_of_variant(&executor, &ir);
    assert_eq!(actual, expected);
    assert_eq!(actual["status"], "failed", "{actual}");
    assert_eq!(actual["exit"], 1, "{actual}");
}

#[test]
fn the_guides_hello_executor_runs_a_flow() {
    let Some(executor) = artifact("hello-executor") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut ir = plant_monitor_ir();
    ir["graph"] = serde_json::json!({
        "nodes": [
            {"id": "hi", "type": "greet", "with": {"name": "$input.who"}, "timeout_ms": 0,
             "retry": {"max": 0, "backoff_ms": 0}},
            {"id": "done", "type": "finish", "with": {}, "timeout_ms": 0,
             "retry": {"max": 0, "backoff_ms": 0}}
        ],
        "edges": [{"from": "hi", "to": "done", "on": "success"}]
    });
    ir["inputs_schema"] = serde_json::json!({});
    let manifest = write_flow(dir.path(), "hello", &ir);
    let executor = executor.to_str().unwrap();
    let run = tm_run(
        &manifest,
        "hello",
        &[
            "--executor-path",
            executor,
            "--inputs",
            r#"{"who": "wörld"}"#,
        ],
        &[],
    );
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(run.steps("succeeded"), ["hi", "done"]);
}

#[test]
fn c_executor_help_and_usage_errors() {
    let Some(executor) = artifact("c-executor") else {
        return;
    };
    let help = Command::new(&executor).arg("--help").output().unwrap();
    assert!(help.status.success());
    assert!(String::from_utf8_lossy(&help.stdout).contains("Usage: c-executor"));
    let bad = Command::new(&executor).arg("--nope").output().unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(bad.stdout.is_empty(), "nothing on stdout for a usage error");
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--nope"));
}

/// Issue 15: a session recorded on the mock executor replays identically against the C
/// executor (`rep-conformance replay`: same events, status and summary).
#[test]
fn a_plant_monitor_transcript_recorded_on_the_mock_replays_identically_on_c_executor() {
    let Some(executor) = artifact("c-executor") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let transcript = dir.path().join("golden.jsonl");
    let run = tm_run(
        &plant_monitor_manifest(),
        "plant-monitor",
        &["--record", transcript.to_str().unwrap()],
        &[],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let output = Command::new(rep_conformance())
        .arg("replay")
        .arg(&transcript)
        .arg("--executor")
        .arg(&executor)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("replay matches"), "{stdout}");
}

/// Issue 23 (finding 4): an application compiled with other limits than the library it links
/// (here hello-executor's main with the firmware's limits, the library with Linux's) refuses
/// to start with a clear message instead of corrupting memory.
#[test]
fn a_library_and_an_application_built_with_different_limits_refuse_each_other() {
    let Some(mismatch) = artifact("tests/layout-mismatch") else {
        return;
    };
    let output = Command::new(&mismatch)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(output.stdout.is_empty());
    assert!(
        stderr.contains("REP_ERR_LAYOUT: the rep_executor was compiled with other limits"),
        "{stderr}"
    );
}

/// `count` bytes of line noise, the same for a given seed: any byte but `{` (a line that
/// begins like a JSON object is a request, answered even before the first one), with a
/// line ending, a boot banner and a control byte among them; a newline ends it.
fn noise(count: usize, seed: u64) -> Vec<u8> {
    let mut state = seed | 1;
    let mut bytes: Vec<u8> = (0..count.saturating_sub(1))
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            match (state >> 24) as u8 {
                b'{' => b'}',
                byte => byte,
            }
        })
        .collect();
    let banner = b"\r\nboot: v1\r\n\x07";
    if bytes.len() > banner.len() + 4 {
        let at = bytes.len() / 2;
        bytes[at..at + banner.len()].copy_from_slice(banner);
    }
    bytes.push(b'\n');
    bytes
}

/// An executor whose stdin starts with `noise` before what the host sends (a script running
/// `cat NOISE - | EXECUTOR`).
fn behind_noise(dir: &Path, executor: &Path, noise: &[u8]) -> PathBuf {
    let file = dir.join("noise.bin");
    std::fs::write(&file, noise).unwrap();
    write_script(
        dir,
        "noisy-executor",
        &format!(
            "#!/bin/sh\ncat '{}' - | '{}'\n",
            file.display(),
            executor.display()
        ),
    )
}

/// Issue 23 (finding 2): garbage before Runtime.Capabilities is never answered with an
/// `id: null` error that would end the host's session: c-executor is still certified behind
/// 5 and 500 bytes of it.
#[test]
fn c_executor_is_certified_behind_line_noise() {
    let Some(executor) = artifact("c-executor") else {
        return;
    };
    for (count, seed) in [(5, 7), (500, 11)] {
        let dir = tempfile::tempdir().unwrap();
        assert_certified(
            &behind_noise(dir.path(), &executor, &noise(count, seed)),
            true,
        );
    }
}

/// The same on the firmware in QEMU through rep-bridge (which prints its boot banner): 500
/// bytes of garbage before the first request still certify it, and 5 bytes before a plant-monitor
/// run still give the mock executor's outputs.
#[test]
fn qemu_executor_is_certified_behind_line_noise() {
    let Some(executor) = qemu_executor() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    assert_certified(&behind_noise(dir.path(), &executor, &noise(500, 13)), false);
    let dir = tempfile::tempdir().unwrap();
    let noisy = behind_noise(dir.path(), &executor, &noise(5, 17));
    let plant = plant_monitor_inputs();
    let manifest = plant_monitor_manifest();
    assert_eq!(
        outcome(&noisy, &manifest, "plant-monitor", Some(&plant)),
        outcome(&mock_executor(), &manifest, "plant-monitor", Some(&plant))
    );
}

/// Issue 23 (finding 5): an emit expression nested 16 deep (the mock steps' bound) runs on
/// the firmware and gives the mock executor's outputs (it failed with 3002 when the firmware's
/// REP_MAX_DEPTH was 16, and needed 5.6 KiB of stack when it was evaluated recursively).
#[test]
fn qemu_executor_evaluates_a_sixteen_deep_emit_like_the_mock() {
    let Some(executor) = qemu_executor() else {
        return;
    };
    let mut ir = plant_monitor_ir();
    let deep = format!("{}temp{}", "{ a: ".repeat(16), " }".repeat(16));
    ir["constants"]["policy"]["policy"]["params"]["emit"]["reason"] = Value::String(deep);
    let (actual, expected) = outcomes_of_variant(&executor, &ir);
    assert_eq!(actual, expected);
    assert_eq!(expected["status"], "completed", "{expected}");
    let mut reason = &expected["outputs"]["decision"]["reason"];
    for _ in 0..15 {
        reason = &reason["a"];
    }
    assert_eq!(reason["a"], 80.0, "{expected}");
}

/// Issue 23 (finding 1): four `dsl.emit` steps of 4,000 keys each, overlapping, merge into
/// the same `summary.outputs` as the mock executor's — the same keys in the same order with the
/// same values — now that each emit is merged once instead of on every Poll.
#[test]
fn c_executor_merges_four_emits_of_4000_keys_like_the_mock() {
    let Some(executor) = artifact("c-executor") else {
        return;
    };
    let mut ir = plant_monitor_ir();
    let nodes: Vec<Value> = (0..4)
        .map(|i| {
            // Emit i holds keys k(2000 i) … k(2000 i + 3999): each overlaps the previous one
            // by half, with values of its own.
            let with: serde_json::Map<String, Value> = (0..4000)
                .map(|j| (format!("k{}", 2000 * i + j), Value::from(i * 10_000 + j)))
                .collect();
            serde_json::json!({"id": format!("e{i}"), "type": "dsl.emit", "with": with,
                               "timeout_ms": 0, "retry": {"max": 0, "backoff_ms": 0}})
        })
        .collect();
    let edges: Vec<Value> = (1..4)
        .map(|i| serde_json::json!({"from": format!("e{}", i - 1), "to": format!("e{i}"), "on": "success"}))
        .collect();
    ir["graph"] = serde_json::json!({"nodes": nodes, "edges": edges});
    let (actual, expected) = outcomes_of_variant(&executor, &ir);
    assert_eq!(expected["status"], "completed", "{expected}");
    let keys = |v: &Value| -> Vec<String> {
        v["outputs"]
            .as_object()
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default()
    };
    assert_eq!(keys(&actual).len(), 10_000);
    assert_eq!(
        keys(&actual),
        keys(&expected),
        "the same keys in the same order"
    );
    assert_eq!(actual, expected);
    assert_eq!(
        actual["outputs"]["k2000"], 10_000,
        "the last value of a repeated key"
    );
}

/// Issue 21: a successful build.sh ends with one line naming what it built and what it
/// skipped — here with no compiler at all on PATH, so that everything is skipped.
#[test]
fn build_sh_ends_with_what_it_built_and_what_it_skipped() {
    let tools = tempfile::tempdir().unwrap();
    for tool in ["make", "flock", "dirname", "mkdir", "sed", "cat"] {
        let Some(found) =
            rep_host::find_on_path(tool.as_ref(), std::env::var_os("PATH").as_deref())
        else {
            return unavailable(&format!("{tool} is not on PATH"));
        };
        std::os::unix::fs::symlink(found, tools.path().join(tool)).unwrap();
    }
    let out = tools.path().join("out");
    let output = Command::new("/bin/bash")
        .arg(repo().join("native/build.sh"))
        .env_clear()
        .env("PATH", tools.path())
        .env("REP_NATIVE_OUT", &out)
        .env("REP_NATIVE_FETCH", "0")
        .env("REP_NATIVE_REQUIRED", "0")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert_eq!(String::from_utf8_lossy(&output.stdout), "");
    assert_eq!(
        stderr.lines().last().unwrap(),
        format!(
            "native/build.sh: built in {}: nothing; skipped: c-executor, cpp-executor, the \
             bare-metal firmware and its executors, the FreeRTOS executors",
            out.display()
        )
    );
}

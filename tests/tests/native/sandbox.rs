//! Issue 24 with the native c-executor: pinned, it runs and a changed byte is refused; in
//! the locked-down sandbox of docs/security.md it runs plant-monitor and passes the
//! conformance suite (`--strict`, the native fixtures) — pinned, as it would run in
//! production.

#[path = "../common/sandbox.rs"]
mod sandbox_common;

use std::path::Path;

use super::artifact;
use crate::common::*;
use sandbox_common::*;

#[test]
fn a_pinned_c_executor_runs_and_a_changed_byte_is_refused() {
    let Some(built) = artifact("c-executor") else {
        return;
    };
    let dir = scratch();
    let executor = dir.path().join("c-executor");
    std::fs::copy(built, &executor).unwrap();
    let config = sandbox_config(dir.path(), &executor, &[], "");
    let hash = pin(&config);
    let ok = tm_plant_with_config(&config, &[], &[]);
    assert_eq!(ok.code, 0, "{}", ok.stderr);
    assert_eq!(ok.json()["status"], "completed");

    let mut bytes = std::fs::read(&executor).unwrap();
    bytes[0x200] ^= 0x01;
    std::fs::write(&executor, &bytes).unwrap();
    let refused = tm_plant_with_config(&config, &[], &[]);
    assert_eq!(refused.code, 4, "{}", refused.stderr);
    let error = &refused.json()["error"];
    assert_eq!(error["cause"], "ExecutorMismatch", "{error}");
    let message = error["message"].as_str().unwrap();
    assert!(
        message.contains(&hash) && message.contains(executor.to_str().unwrap()),
        "{message}"
    );
}

#[test]
fn the_locked_down_runtime_yaml_of_docs_security_runs_plant_monitor_on_c_executor() {
    let Some(executor) = artifact("c-executor") else {
        return;
    };
    let dir = scratch();
    let config = locked_down_config(dir.path(), &executor);
    pin(&config);
    let run = tm_plant_with_config(&config, &[], &[]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(run.json()["status"], "completed", "{}", run.stdout);
    assert_eq!(run.steps("succeeded").len(), 6, "{}", run.stdout);
}

#[test]
fn c_executor_passes_the_conformance_suite_pinned_and_in_the_sandbox() {
    let Some(executor) = artifact("c-executor") else {
        return;
    };
    let dir = scratch();
    let config = locked_down_config(dir.path(), &executor);
    let hash = pin(&config);
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../conformance/fixtures/native");
    let (run, report) = conformance_with_config(&config, &fixtures, true);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(report["executor"]["sha256"], hash.as_str(), "{report}");
    assert_eq!(report["certification"]["core"], true, "{}", run.stdout);
    assert_eq!(report["summary"]["failed"], 0, "{}", run.stdout);
}

//! The `tm` binary's own surface (the cross-crate runs live in the workspace's tests/).

#![allow(clippy::unwrap_used)] // tests unwrap: a failure is the report

use std::process::Command;

#[test]
fn version_and_subcommand_help_are_available() {
    let out = Command::new(env!("CARGO_BIN_EXE_tm"))
        .arg("--version")
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("tm "));
    let out = Command::new(env!("CARGO_BIN_EXE_tm"))
        .args(["runtime", "run", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    for flag in [
        "--manifest",
        "--flow",
        "--inputs",
        "--timeout",
        "--executor-path",
    ] {
        assert!(help.contains(flag), "{flag} in {help}");
    }
}

#[test]
fn a_missing_required_flag_is_a_usage_error() {
    let out = Command::new(env!("CARGO_BIN_EXE_tm"))
        .args(["runtime", "run", "--flow", "x"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--manifest"));
}

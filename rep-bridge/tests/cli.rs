//! The bridge's command line, run as a real process. Living in this package, this test also
//! makes `cargo test`/`cargo nextest run` build the `rep-bridge` binary that the end-to-end
//! tests of `tests/` drive.

#![allow(clippy::unwrap_used)]

use std::process::Command;

const REP_BRIDGE: &str = env!("CARGO_BIN_EXE_rep-bridge");

#[test]
fn help_shows_examples_transports_and_exit_codes() {
    let output = Command::new(REP_BRIDGE).arg("--help").output().unwrap();
    let help = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0));
    for needle in [
        "Examples:",
        "Exit codes:",
        "tcp",
        "unix",
        "serial",
        "--connect-timeout",
        "--settle-ms",
        "--max-frame-bytes",
    ] {
        assert!(help.contains(needle), "{needle:?} missing from:\n{help}");
    }
}

#[test]
fn an_unknown_transport_is_a_usage_error() {
    let usage = Command::new(REP_BRIDGE)
        .args(["udp", "x:1"])
        .output()
        .unwrap();
    assert_eq!(usage.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&usage.stderr).contains("udp"),
        "{}",
        String::from_utf8_lossy(&usage.stderr)
    );
}

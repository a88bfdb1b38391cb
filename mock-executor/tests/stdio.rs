//! The mock executor as a process: protocol on stdout only, exit on stdin EOF.

#![allow(clippy::unwrap_used)] // tests unwrap: a failure is the report

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[test]
fn answers_capabilities_and_exits_promptly_on_stdin_eof() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_mock-executor"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    writeln!(
        stdin,
        r#"{{"jsonrpc":"2.0","id":1,"method":"Runtime.Capabilities","params":{{}}}}"#
    )
    .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    let reply: serde_json::Value = serde_json::from_str(&line).unwrap();
    let kinds = reply["result"]["step_kinds"].as_array().unwrap();
    for kind in [
        "opcua.read",
        "opcua.write",
        "policy.apply",
        "dsl.emit",
        "switch",
        "finish",
        "rep.probe",
    ] {
        assert!(kinds.iter().any(|k| k == kind), "{kind} advertised");
    }
    assert!(reply["result"]["limits"]["concurrency"].as_u64().unwrap() >= 4);
    drop(stdin);
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "mock-executor must exit within 2 s of EOF"
        );
        std::thread::sleep(Duration::from_millis(5));
    };
    assert!(status.success());
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut rest).unwrap();
    assert!(rest.is_empty(), "nothing but frames on stdout: {rest:?}");
}

/// Regression: with stdout redirected to a file, the first answer was written and the second
/// failed with EAGAIN ("Resource temporarily unavailable"): stdin had been switched to
/// non-blocking mode before stdout turned out not to be a pipe, and blocking stdio then read
/// the non-blocking stdin.
#[test]
fn serves_with_stdout_redirected_to_a_file() {
    let out_path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("mock-executor-stdout-{}.txt", std::process::id()));
    let out = std::fs::File::create(&out_path).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_mock-executor"))
        .stdin(Stdio::piped())
        .stdout(out)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let request = |id: u32| {
        format!(r#"{{"jsonrpc":"2.0","id":{id},"method":"Runtime.Capabilities","params":{{}}}}"#)
    };
    writeln!(stdin, "{}", request(1)).unwrap();
    // The executor must wait on an empty stdin between the two requests.
    std::thread::sleep(Duration::from_millis(300));
    writeln!(stdin, "{}", request(2)).unwrap();
    drop(stdin);
    let output = child.wait_with_output().unwrap();
    let written = std::fs::read_to_string(&out_path).unwrap();
    let _ = std::fs::remove_file(&out_path);
    assert!(
        output.status.success(),
        "{}: {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    let ids: Vec<u64> = written
        .lines()
        .map(|line| {
            serde_json::from_str::<serde_json::Value>(line).unwrap()["id"]
                .as_u64()
                .unwrap()
        })
        .collect();
    assert_eq!(ids, [1, 2], "{written}");
}

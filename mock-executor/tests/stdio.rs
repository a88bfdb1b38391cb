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

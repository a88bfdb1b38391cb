//! The authoring guide's example (`examples/hello_executor.rs`) as a real process: it answers
//! the handshake, runs a flow to completion and exits on stdin EOF.
//!
//! `cargo test` and `cargo nextest run` build a package's examples with its tests, into
//! `target/<profile>/examples/`, next to the `deps/` folder holding this test binary.

#![allow(clippy::unwrap_used)] // tests unwrap: a failure is the report

use std::io::{BufRead, BufReader, Read, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

fn example_binary() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().and_then(|deps| deps.parent()).unwrap();
    let path = profile_dir
        .join("examples")
        .join(format!("hello_executor{}", std::env::consts::EXE_SUFFIX));
    assert!(
        path.is_file(),
        "{} is not built: run the tests of rep-executor-kit with `cargo nextest run` or \
         `cargo test` (both build the package's examples)",
        path.display()
    );
    path
}

#[test]
fn the_example_executor_runs_a_flow_and_exits_on_eof() {
    let mut child = Command::new(example_binary())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut call = |id: u64, method: &str, params: Value| -> Value {
        let request = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
        writeln!(stdin, "{request}").unwrap();
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        let reply: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(reply["id"], id);
        reply
    };

    let caps = call(1, "Runtime.Capabilities", json!({}))["result"].clone();
    assert_eq!(
        caps["step_kinds"],
        json!(["dsl.emit", "finish", "greet", "switch"])
    );
    assert!(caps["limits"]["concurrency"].as_u64().unwrap() >= 1);

    let node = |id: &str, kind: &str, with: Value| json!({"id": id, "type": kind, "with": with, "timeout_ms": 1000, "retry": {"max": 0, "backoff_ms": 0}});
    let ir = json!({
        "version": "1.0.0",
        "flow": {"name": "hello", "timeout_ms": 0},
        "constants": {"policyRef": "none", "policy": {}},
        "inputs_schema": {},
        "graph": {
            "nodes": [
                node("g", "greet", json!({"name": "$input.who"})),
                node("out", "dsl.emit", json!({"message": "$step.g.greeting"})),
                node("end", "finish", json!({})),
            ],
            "edges": [
                {"from": "g", "to": "out", "on": "success"},
                {"from": "out", "to": "end", "on": "success"},
            ],
        },
        "metadata": {"generated_at": "2026-01-01T00:00:00Z", "source_file": "hello.wdl"},
    });
    let started = call(
        2,
        "Runtime.StartRun",
        json!({"ir": ir, "inputs": {"who": "world"}, "options": {"run_id": "hello-1"}}),
    );
    assert_eq!(started["result"]["run_id"], "hello-1", "{started}");
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut events = Vec::new();
    let last = loop {
        let result = call(3, "Runtime.Poll", json!({"run_id": "hello-1"}))["result"].clone();
        events.extend(result["events"].as_array().unwrap().iter().cloned());
        if result["status"] == "completed" || result["status"] == "failed" {
            break result;
        }
        assert!(Instant::now() < deadline, "the run did not end: {events:?}");
        std::thread::sleep(Duration::from_millis(5));
    };
    assert_eq!(last["status"], "completed", "{last}");
    assert_eq!(
        last["summary"]["outputs"],
        json!({"message": "hello, world"})
    );
    assert!(
        events
            .iter()
            .any(|e| e["type"] == "log" && e["step_id"] == "g"),
        "the handler's log event: {events:?}"
    );

    drop(stdin);
    let eof_at = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            eof_at.elapsed() < Duration::from_secs(2),
            "exits within 2 s of EOF"
        );
        std::thread::sleep(Duration::from_millis(5));
    };
    assert!(status.success());
    let mut rest = String::new();
    stdout.read_to_string(&mut rest).unwrap();
    assert!(rest.is_empty(), "nothing but frames on stdout: {rest:?}");
}

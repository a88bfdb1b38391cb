//! The authoring guide's example (`examples/hello_executor.rs`) as a real process: it answers
//! the handshake, runs a flow to completion and exits on stdin EOF.
//!
//! `cargo test` and `cargo nextest run` build a package's examples with its tests, into
//! `target/<profile>/examples/`, next to the `deps/` folder holding this test binary.
//!
//! A real process is bounded in wall-clock time, generously (a loaded 2-core machine must never
//! fail it): every read of its stdout, the run and its exit after EOF each get [`BOUND`]. A
//! failed assertion kills the process.

#![allow(clippy::unwrap_used)] // tests unwrap: a failure is the report

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// The bound on each wait for the process: an answer, the run's end, the exit after EOF.
const BOUND: Duration = Duration::from_secs(60);

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

/// The example executor as a host drives it: requests on stdin, stdout read line by line on
/// a thread (so no read can hang the test). Killed when dropped.
struct Example {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
}

impl Example {
    fn start() -> Example {
        let mut child = Command::new(example_binary())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        let (sender, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in stdout.lines().map_while(Result::ok) {
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        let stdin = child.stdin.take();
        Example {
            child,
            stdin,
            lines,
        }
    }

    fn call(&mut self, id: u64, method: &str, params: Value) -> Value {
        let request = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
        writeln!(self.stdin.as_mut().unwrap(), "{request}").unwrap();
        let line = self
            .lines
            .recv_timeout(BOUND)
            .unwrap_or_else(|e| panic!("no answer to {method} within {BOUND:?}: {e}"));
        let reply: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(reply["id"], id);
        reply
    }

    /// Polls until the run ends; returns the last result and every event.
    fn poll_until_final(&mut self, run_id: &str) -> (Value, Vec<Value>) {
        let deadline = Instant::now() + BOUND;
        let mut events = Vec::new();
        loop {
            let result = self.call(3, "Runtime.Poll", json!({"run_id": run_id}))["result"].clone();
            events.extend(result["events"].as_array().unwrap().iter().cloned());
            if result["status"] == "completed" || result["status"] == "failed" {
                return (result, events);
            }
            assert!(Instant::now() < deadline, "the run did not end: {events:?}");
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Closes stdin; returns the exit status and whatever stdout still carried.
    fn close_and_wait(&mut self) -> (ExitStatus, Vec<String>) {
        drop(self.stdin.take());
        let deadline = Instant::now() + BOUND;
        let mut rest = Vec::new();
        loop {
            match self.lines.recv_timeout(Duration::from_millis(5)) {
                Ok(line) => rest.push(line),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => {
                    if let Some(status) = self.child.try_wait().unwrap() {
                        return (status, rest);
                    }
                    std::thread::sleep(Duration::from_millis(5));
                }
            }
            assert!(
                Instant::now() < deadline,
                "still running {BOUND:?} after EOF"
            );
        }
    }
}

impl Drop for Example {
    fn drop(&mut self) {
        // The `kill` tool: in the workspace's code only rep-process signals processes.
        let _ = std::process::Command::new("kill")
            .args(["-KILL", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

fn hello_flow() -> Value {
    use flow_ir::build::{document, edge, node};
    let node = |id: &str, kind: &str, with: Value| {
        let mut node = node(id, kind, with);
        node["timeout_ms"] = json!(1000);
        node
    };
    document(
        "hello",
        vec![
            node("g", "greet", json!({"name": "$input.who"})),
            node("out", "dsl.emit", json!({"message": "$step.g.greeting"})),
            node("end", "finish", json!({})),
        ],
        vec![edge("g", "out"), edge("out", "end")],
    )
}

#[test]
fn the_example_executor_runs_a_flow_and_exits_on_eof() {
    let mut example = Example::start();
    let caps = example.call(1, "Runtime.Capabilities", json!({}))["result"].clone();
    assert_eq!(
        caps["step_kinds"],
        json!(["dsl.emit", "finish", "greet", "switch"])
    );
    assert!(caps["limits"]["concurrency"].as_u64().unwrap() >= 1);

    let started = example.call(
        2,
        "Runtime.StartRun",
        json!({"ir": hello_flow(), "inputs": {"who": "world"}, "options": {"run_id": "hello-1"}}),
    );
    assert_eq!(started["result"]["run_id"], "hello-1", "{started}");
    let (last, events) = example.poll_until_final("hello-1");
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

    let (status, rest) = example.close_and_wait();
    assert!(status.success());
    assert!(rest.is_empty(), "nothing but frames on stdout: {rest:?}");
}

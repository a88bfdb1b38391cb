//! The mock executor as a process: protocol on stdout only, exit on stdin EOF.
//!
//! A real process is bounded in wall-clock time, generously (a loaded 2-core machine must never
//! fail it): each wait for it gets [`BOUND`], and a failed assertion kills it.

#![allow(clippy::unwrap_used)] // tests unwrap: a failure is the report

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

/// The bound on each wait for the process: an answer, its exit after EOF.
const BOUND: Duration = Duration::from_secs(60);

/// A started mock-executor, killed when dropped.
struct Mock(Child);

impl Mock {
    fn start(stdout: Stdio) -> Mock {
        let child = Command::new(env!("CARGO_BIN_EXE_mock-executor"))
            .stdin(Stdio::piped())
            .stdout(stdout)
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        Mock(child)
    }

    /// Its stdout, line by line, read on a thread so that no read can hang the test.
    fn lines(&mut self) -> Receiver<String> {
        let stdout = BufReader::new(self.0.stdout.take().unwrap());
        let (sender, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in stdout.lines().map_while(Result::ok) {
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        lines
    }

    /// Closes stdin and waits for the exit, at most [`BOUND`].
    fn close_and_wait(&mut self) -> ExitStatus {
        drop(self.0.stdin.take());
        let deadline = Instant::now() + BOUND;
        loop {
            if let Some(status) = self.0.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "mock-executor still running {BOUND:?} after EOF"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    fn stderr(&mut self) -> String {
        let mut text = String::new();
        let _ = self.0.stderr.take().unwrap().read_to_string(&mut text);
        text
    }
}

impl Drop for Mock {
    fn drop(&mut self) {
        // The `kill` tool: in the workspace's code only rep-process signals processes.
        let _ = std::process::Command::new("kill")
            .args(["-KILL", &self.0.id().to_string()])
            .status();
        let _ = self.0.wait();
    }
}

fn capabilities_request(id: u32) -> String {
    format!(r#"{{"jsonrpc":"2.0","id":{id},"method":"Runtime.Capabilities","params":{{}}}}"#)
}

#[test]
fn answers_capabilities_and_exits_promptly_on_stdin_eof() {
    let mut mock = Mock::start(Stdio::piped());
    let lines = mock.lines();
    writeln!(
        mock.0.stdin.as_mut().unwrap(),
        "{}",
        capabilities_request(1)
    )
    .unwrap();
    let line = lines.recv_timeout(BOUND).unwrap();
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
    let status = mock.close_and_wait();
    assert!(status.success());
    // The reader thread ends at EOF: whatever it still holds was written after the answer.
    let rest: Vec<String> = lines.iter().collect();
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
    let mut mock = Mock::start(Stdio::from(out));
    let stdin = mock.0.stdin.as_mut().unwrap();
    writeln!(stdin, "{}", capabilities_request(1)).unwrap();
    // The executor must wait on an empty stdin between the two requests.
    std::thread::sleep(Duration::from_millis(300));
    writeln!(stdin, "{}", capabilities_request(2)).unwrap();
    let status = mock.close_and_wait();
    let written = std::fs::read_to_string(&out_path).unwrap();
    let _ = std::fs::remove_file(&out_path);
    assert!(status.success(), "{status}: {}", mock.stderr());
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

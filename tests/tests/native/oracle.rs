//! The oracle (issue 23): c-executor's answers against mock-executor's on the same requests.
//!
//! Each request goes to both executors, one session each, and the answers must be equal once
//! the fields that may legitimately differ are set aside. They are, and only they:
//!
//! - `result.version` of Runtime.Capabilities: each executor advertises its own;
//! - `error.message` of -32700 (the JSON parser's words for where the text broke) and of
//!   -32602 (a field of the wrong type is described in the C library's words, serde's in the
//!   mock's); the codes and ids are compared;
//! - the messages of a 1003 (an invalid document): each executor words them its own way, and
//!   the C library reports the first problem only; the code, `data.retriable` and the first
//!   problem's JSON pointer (`data.details[0].pointer`) are compared;
//! - `timestamp` and `duration_ms` of events, and how the events of a run are split between
//!   Polls (both come from the clock): a run's events are compared concatenated, with its final
//!   status and summary.
//!
//! Documented differences that these requests stay clear of (docs/native-executors.md): numbers
//! re-formatted by Rust (`1E2` against `100.0`), strings over the C limits, more runs than
//! REP_MAX_RUNS, and lines before the first request that do not begin like a JSON object (the
//! C library drops them as line noise; see `c_executor_is_certified_behind_line_noise`).

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::Duration;

use serde_json::{Value, json};

use super::*;

/// The longest wait for one answer.
const ANSWER: Duration = Duration::from_secs(10);

/// One executor process, answering one line at a time.
struct Session {
    child: Child,
    stdin: ChildStdin,
    lines: Receiver<String>,
    sentinel: u64,
}

impl Session {
    fn start(executor: &Path) -> Session {
        let mut child = Command::new(executor)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Session {
            child,
            stdin,
            lines,
            sentinel: 0,
        }
    }

    /// Sends `line` and returns every answer it got (none for a notification or a blank
    /// line, else one): a Runtime.Health with an id of its own follows it, and whatever comes
    /// before Health's answer answers `line`. Health's answer is returned last.
    fn send(&mut self, line: &[u8]) -> Vec<Value> {
        self.sentinel += 1;
        let id = format!("oracle-{}", self.sentinel);
        let health = json!({"jsonrpc": "2.0", "id": id, "method": "Runtime.Health"});
        self.stdin.write_all(line).unwrap();
        self.stdin.write_all(b"\n").unwrap();
        self.stdin
            .write_all(format!("{health}\n").as_bytes())
            .unwrap();
        self.stdin.flush().unwrap();
        let mut answers = Vec::new();
        loop {
            let line = self
                .lines
                .recv_timeout(ANSWER)
                .unwrap_or_else(|_| panic!("no answer to {}", String::from_utf8_lossy(line)));
            let value: Value = serde_json::from_str(&line)
                .unwrap_or_else(|e| panic!("an answer is not JSON ({e}): {line}"));
            let done = value["id"] == id.as_str();
            answers.push(value);
            if done {
                return answers;
            }
        }
    }

    /// Sends a request and returns its one answer.
    fn call(&mut self, method: &str, params: &Value) -> Value {
        let request = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
        let mut answers = self.send(request.to_string().as_bytes());
        answers.pop();
        assert_eq!(answers.len(), 1, "{method}: {answers:?}");
        answers.remove(0)
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        send_signal(self.child.id(), "-KILL");
        let _ = self.child.wait();
    }
}

/// The answer without the fields that may differ (see the module's documentation).
fn normalize(mut answer: Value) -> Value {
    if answer["result"]["step_kinds"].is_array() {
        answer["result"].as_object_mut().unwrap().remove("version");
    }
    let code = answer["error"]["code"].as_i64();
    if matches!(code, Some(-32700 | -32602)) {
        answer["error"].as_object_mut().unwrap().remove("message");
    }
    if code == Some(1003) {
        let pointer = answer["error"]["data"]["details"][0]["pointer"].clone();
        answer["error"]["data"]["details"] = json!([{"pointer": pointer}]);
        answer["error"].as_object_mut().unwrap().remove("message");
    }
    answer
}

/// A run started with `params` (its `options.run_id` "o"), polled until final, and cancelled
/// once `cancel` events have arrived: its StartRun answer, then its events (without timestamp
/// and duration_ms) with its final status and summary.
fn run(executor: &Path, params: &Value, cancel: Option<usize>) -> Value {
    let mut session = Session::start(executor);
    let started = normalize(session.call("Runtime.StartRun", params));
    if started.get("error").is_some() {
        return started;
    }
    let mut events = Vec::new();
    let mut cancelled = false;
    for _ in 0..2000 {
        let poll = session.call("Runtime.Poll", &json!({"run_id": "o"}));
        let result = &poll["result"];
        for event in result["events"].as_array().cloned().unwrap_or_default() {
            let mut event = event;
            let object = event.as_object_mut().unwrap();
            object.remove("timestamp");
            object.remove("duration_ms");
            events.push(event);
        }
        if !cancelled && cancel.is_some_and(|after| events.len() >= after) {
            session.call("Runtime.Cancel", &json!({"run_id": "o"}));
            cancelled = true;
        }
        if result["status"] == "completed" || result["status"] == "failed" {
            return json!({"started": started, "events": events, "status": result["status"],
                          "summary": result["summary"]});
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    panic!("{} did not finish the run", executor.display());
}

/// Requests answered alike, one session per executor (after a Capabilities, which ends any
/// line-noise handling).
fn requests() -> Vec<Vec<u8>> {
    let ir = plant_monitor_ir();
    let mut v2 = ir.clone();
    v2["version"] = json!("2.0.0");
    let mut unknown_kind = ir.clone();
    unknown_kind["graph"]["nodes"][0]["type"] = json!("opcua.subscribe");
    let mut two_problems = ir.clone();
    two_problems.as_object_mut().unwrap().remove("metadata");
    two_problems["flow"].as_object_mut().unwrap().remove("name");
    let mut cycle = ir.clone();
    cycle["graph"]["edges"]
        .as_array_mut()
        .unwrap()
        .push(json!({"from": "finish_2", "to": "read", "on": "success"}));
    let start = |params: Value| json!({"jsonrpc": "2.0", "id": 5, "method": "Runtime.StartRun", "params": params});
    let mut lines: Vec<Vec<u8>> = [
        r#"{"jsonrpc":"2.0","id":1,"method":"Runtime.Capabilities"}"#,
        r#"{"jsonrpc":"2.0","id":2,"method":"Runtime.Health","params":{}}"#,
        r#"{"jsonrpc":"2.0","id":3,"method":"Runtime.Capabilities","params":{"#,
        "42",
        "[]",
        "",
        "  \t",
        r#"{"jsonrpc":"2.0","id":7}"#,
        r#"{"jsonrpc":"1.0","id":8,"method":"Runtime.Health"}"#,
        r#"{"jsonrpc":"2.0","id":{},"method":"Runtime.Health"}"#,
        r#"{"jsonrpc":"2.0","id":[1],"method":"Runtime.Health"}"#,
        r#"{"jsonrpc":"2.0","id":9,"method":"Runtime.Health","params":1}"#,
        r#"{"jsonrpc":"2.0","id":"x\"y","method":"Runtime.Nope"}"#,
        r#"{"jsonrpc":"2.0","method":"Runtime.Health"}"#,
        r#"{"jsonrpc":"2.0","id":null,"method":"Runtime.Health"}"#,
        r#"{"jsonrpc":"2.0","id":11,"method":"Runtime.Poll","params":{"run_id":5}}"#,
        r#"{"jsonrpc":"2.0","id":12,"method":"Runtime.Poll","params":{}}"#,
        r#"{"jsonrpc":"2.0","id":13,"method":"Runtime.Poll","params":["nope"]}"#,
        r#"{"jsonrpc":"2.0","id":14,"method":"Runtime.Cancel","params":{"run_id":"nope"}}"#,
        r#"{"jsonrpc":"2.0","id":15,"method":"Runtime.StartRun","params":[]}"#,
        r#"{"jsonrpc":"2.0","id":16,"method":"Runtime.StartRun","params":{}}"#,
    ]
    .iter()
    .map(|l| l.as_bytes().to_vec())
    .collect();
    for params in [
        json!({"ir": v2}),
        json!({"ir": unknown_kind}),
        json!({"ir": two_problems}),
        json!({"ir": cycle}),
        json!({"ir": ir, "inputs": {"nodes": [1]}}),
        json!({"ir": ir, "inputs": []}),
        json!({"ir": ir, "options": {"run_id": 3}}),
        json!({"ir": ir, "options": 7}),
        json!({"ir": "not an IR"}),
    ] {
        lines.push(start(params).to_string().into_bytes());
    }
    lines
}

/// The same answers, set aside what may differ, to every request of `requests()`.
#[test]
fn c_executor_answers_requests_like_the_mock() {
    let Some(executor) = artifact("c-executor") else {
        return;
    };
    let mut c = Session::start(&executor);
    let mut mock = Session::start(&mock_executor());
    for line in requests() {
        let ours: Vec<Value> = c.send(&line).into_iter().map(normalize).collect();
        let theirs: Vec<Value> = mock.send(&line).into_iter().map(normalize).collect();
        assert_eq!(
            ours,
            theirs,
            "c-executor and mock-executor differ on {}",
            String::from_utf8_lossy(&line)
        );
    }
}

/// The same runs: events, status and summary of plant-monitor on both branches, a failed
/// step, retries, a step timeout, a flow timeout, a Cancel, a panic, and runs without a run id.
#[test]
fn c_executor_runs_flows_like_the_mock() {
    let Some(executor) = artifact("c-executor") else {
        return;
    };
    let ir = plant_monitor_ir();
    let inputs: Value = serde_json::from_slice(
        &std::fs::read(examples().join("plant-monitor/input.json")).unwrap(),
    )
    .unwrap();
    let mut low = inputs.clone();
    low["mock_values"] = json!({"ns=2;i=2": 70.5});
    let with = |node: usize, mock: Value, edit: &dyn Fn(&mut Value)| {
        let mut ir = ir.clone();
        ir["graph"]["nodes"][node]["with"]["_mock"] = mock;
        edit(&mut ir["graph"]["nodes"][node]);
        ir
    };
    let same = |_: &mut Value| {};
    let cases: Vec<(&str, Value, Value, Option<usize>)> = vec![
        ("plant-monitor", ir.clone(), inputs.clone(), None),
        ("the default branch", ir.clone(), low, None),
        (
            "a failed step",
            with(1, json!({"fail": true}), &same),
            inputs.clone(),
            None,
        ),
        (
            "a retried step",
            with(0, json!({"fail_times": 2}), &|n| {
                n["retry"] = json!({"max": 2, "backoff_ms": 5});
            }),
            inputs.clone(),
            None,
        ),
        (
            "a step timeout",
            with(0, json!({"delay_ms": 2000}), &|n| {
                n["timeout_ms"] = json!(30)
            }),
            inputs.clone(),
            None,
        ),
        (
            "a flow timeout",
            {
                let mut ir = with(0, json!({"delay_ms": 2000}), &same);
                ir["flow"]["timeout_ms"] = json!(40);
                ir
            },
            inputs.clone(),
            None,
        ),
        (
            "a Cancel",
            with(0, json!({"delay_ms": 2000}), &same),
            inputs.clone(),
            Some(2),
        ),
        (
            "a panic",
            with(0, json!({"panic": true}), &same),
            inputs.clone(),
            None,
        ),
        (
            "an injected output",
            with(
                1,
                json!({"output": {"action": "SHUTDOWN", "target_node": "t"}}),
                &same,
            ),
            inputs.clone(),
            None,
        ),
    ];
    for (what, ir, inputs, cancel) in cases {
        let params = json!({"ir": ir, "inputs": inputs, "options": {"run_id": "o"}});
        let ours = run(&executor, &params, cancel);
        let theirs = run(&mock_executor(), &params, cancel);
        assert_eq!(
            ours, theirs,
            "c-executor and mock-executor differ on {what}"
        );
    }
}

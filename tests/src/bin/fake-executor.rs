//! A fault-injecting REP executor for end-to-end tests (in the manner of go-plugin's helper
//! process). `FAKE_EXECUTOR_MODE` picks the behaviour:
//!
//! - `complete` (default): a correct executor whose run reports `running` once, then
//!   `completed`; it sends a notification before each Poll response (hosts must ignore it)
//!   and checks that request ids are 1, 2, 3, … (answering 3002 otherwise).
//! - `garbage`: answers every request with a line that is not JSON.
//! - `exit-early`: writes to stderr and exits with status 3 before reading anything.
//! - `hang`: a run that stays `running` forever; logs `fake: got Runtime.Cancel` on stderr.
//! - `reject`: answers StartRun with error 1003.
//! - `no-limits`: Capabilities without the required `limits`.
//! - `wrong-id`: answers with an id off by 100.

use std::io::{BufRead, Write};

use serde_json::{Value, json};

const KINDS: [&str; 6] = [
    "dsl.emit",
    "finish",
    "opcua.read",
    "opcua.write",
    "policy.apply",
    "switch",
];

fn main() {
    let mode = std::env::var("FAKE_EXECUTOR_MODE").unwrap_or_else(|_| "complete".into());
    if mode == "exit-early" {
        eprintln!("fake: cannot open the device");
        std::process::exit(3);
    }
    let stdin = std::io::stdin();
    let mut stdout = std::io::stdout();
    let mut polls = 0;
    for (expected_id, line) in (1u64..).zip(stdin.lock().lines()) {
        let Ok(line) = line else { return };
        let request: Value = serde_json::from_str(&line).unwrap_or(Value::Null);
        let id = request["id"].clone();
        let method = request["method"].as_str().unwrap_or_default().to_owned();
        eprintln!("fake: got {method}");
        let result = if id != json!(expected_id) {
            Err(json!({"code": 3002, "message": format!("expected id {expected_id}, got {id}")}))
        } else {
            answer(&mode, &method, &mut polls)
        };
        let reply_id = if mode == "wrong-id" {
            json!(id.as_u64().unwrap_or(0) + 100)
        } else {
            id
        };
        let frame = match (mode.as_str(), result) {
            ("garbage", _) => "this is not json {".to_owned(),
            (_, Ok(result)) => {
                json!({"jsonrpc": "2.0", "id": reply_id, "result": result}).to_string()
            }
            (_, Err(error)) => {
                json!({"jsonrpc": "2.0", "id": reply_id, "error": error}).to_string()
            }
        };
        if mode == "complete" && method == "Runtime.Poll" {
            let _ = writeln!(
                stdout,
                "{}",
                json!({"jsonrpc": "2.0", "method": "Runtime.Progress", "params": {}})
            );
        }
        if writeln!(stdout, "{frame}")
            .and_then(|()| stdout.flush())
            .is_err()
        {
            return;
        }
    }
}

fn answer(mode: &str, method: &str, polls: &mut u32) -> Result<Value, Value> {
    match method {
        "Runtime.Capabilities" if mode == "no-limits" => {
            Ok(json!({"version": "0.0.1", "step_kinds": KINDS}))
        }
        "Runtime.Capabilities" => {
            Ok(json!({"version": "0.0.1", "step_kinds": KINDS, "limits": {"concurrency": 1}}))
        }
        "Runtime.StartRun" if mode == "reject" => Err(
            json!({"code": 1003, "message": "IR rejected by fake", "data": {"retriable": false}}),
        ),
        "Runtime.StartRun" => Ok(json!({"run_id": "fake-run"})),
        "Runtime.Poll" if mode == "hang" => Ok(json!({"status": "running", "events": []})),
        "Runtime.Poll" => {
            *polls += 1;
            let event = json!({"type": "log", "timestamp": "2026-01-01T00:00:00Z", "level": "info", "message": format!("poll {polls}")});
            let status = if *polls == 1 { "running" } else { "completed" };
            Ok(
                json!({"status": status, "events": [event], "summary": {"completed_steps": 0, "failed_steps": 0}}),
            )
        }
        "Runtime.Cancel" => Ok(json!({"ok": true})),
        other => Err(json!({"code": -32601, "message": format!("Method not found: {other}")})),
    }
}

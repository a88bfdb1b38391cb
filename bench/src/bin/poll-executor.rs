//! A minimal REP executor for the poll benchmark: every `Runtime.Poll` returns exactly one
//! `log` event, `running` until the `POLL_EXECUTOR_POLLS`-th Poll (default 5000), which says
//! `completed`. Plain blocking stdio and serde_json: the executor's own cost stays small and
//! the same under the host and under the raw ping-pong it is compared with.

use std::io::{BufRead, Write};

use serde_json::{Value, json};

fn main() {
    let polls: u64 = std::env::var("POLL_EXECUTOR_POLLS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(5000);
    let stdin = std::io::stdin().lock();
    let mut stdout = std::io::BufWriter::new(std::io::stdout().lock());
    let mut polled = 0u64;
    for line in stdin.lines() {
        let Ok(line) = line else { return };
        let request: Value = serde_json::from_str(&line).unwrap_or(Value::Null);
        let id = request["id"].clone();
        let result = match request["method"].as_str() {
            Some("Runtime.Capabilities") => {
                json!({"version": "0.0.1", "step_kinds": ["bench.step"], "limits": {"concurrency": 1}})
            }
            Some("Runtime.StartRun") => json!({"run_id": "bench"}),
            Some("Runtime.Poll") => {
                polled += 1;
                let status = if polled >= polls {
                    "completed"
                } else {
                    "running"
                };
                json!({"status": status, "events": [{"type": "log", "timestamp": "2026-01-01T00:00:00Z", "level": "info", "message": format!("poll {polled}")}]})
            }
            _ => json!({"ok": true}),
        };
        let frame = json!({"jsonrpc": "2.0", "id": id, "result": result});
        if writeln!(stdout, "{frame}")
            .and_then(|()| stdout.flush())
            .is_err()
        {
            return;
        }
    }
}

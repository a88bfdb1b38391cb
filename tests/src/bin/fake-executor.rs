//! A fault-injecting REP executor for end-to-end tests (in the manner of go-plugin's helper
//! process). The mode is the first argument (else `FAKE_EXECUTOR_MODE`, else `complete`).
//! On start it writes `fake: pid N` to stderr so tests can check that no process survives.
//!
//! - `complete`: a correct executor whose run reports `running` once, then `completed`; it
//!   sends a notification before each Poll response (hosts must ignore it) and checks that
//!   request ids are 1, 2, 3, … (answering 3002 otherwise). Reports `TM_TEST_SECRET` and
//!   `TRACE_MIND_*` on stderr.
//! - `garbage`: answers every request with a line that is not JSON.
//! - `bad-utf8`: answers with bytes that are not UTF-8.
//! - `scalar-result`: answers with `"result": 42`.
//! - `empty-response`: answers with neither result nor error.
//! - `exit-early`: writes to stderr and exits with status 3 before reading anything.
//! - `die-after-start`: exits with status 70 at the first Poll.
//! - `hang`: a run that stays `running` forever (one log event at the first Poll).
//! - `hang-handshake`: never answers anything.
//! - `stubborn`: like `hang`, but starts a grandchild, ignores Cancel and stdin EOF, and
//!   sleeps until killed.
//! - `reject`: answers StartRun with error 1003. `start-2001`, `start-3002`: with those codes.
//! - `no-limits`: Capabilities without the required `limits`.
//! - `wrong-id`: answers with an id off by 100.
//! - `chatty`: writes 8 MiB to stderr before answering, then behaves as `complete`.
//! - `huge-frame`: answers Capabilities with a 20 MiB line.
//! - `reply-file`: answers the first request with the bytes of the file named by
//!   `FAKE_REPLY_FILE` (plus a newline), then exits.
//!
//! Hostile modes (issue 9; each says `fake: <mode>` on stderr when its fault starts):
//! - `deaf`: answers Capabilities, then never reads stdin again and sleeps until killed.
//! - `poll-flood`: answers StartRun, then writes Poll answers (ids 3, 4, …) without reading.
//! - `exit-leaving-child`: answers StartRun, starts `sleep 1000` holding its stdout, exits 5.
//! - `double-poll`: answers the first Poll twice, the second copy with one more event.
//! - `endless-line`: answers Capabilities with bytes and never a newline.
//! - `garbage-then-deaf`: answers Capabilities with a line that is not JSON, then stops
//!   reading and sleeps until killed (it honours SIGTERM).
//! - `events`: like `complete`, but `FAKE_POLLS` Polls (default 2000) return one event each.
//! - `notify-flood`: like `complete`, with 20,000 notifications before every answer.
//! - `setsid-child`: like `complete`, with a grandchild that called setsid
//!   (`fake: grandchild pid N`).
//! - `trickle`: answers the first Poll one byte per 100 ms, reading nothing meanwhile.
//!
//! Issue 19:
//! - `events-hang`: `FAKE_POLLS` Polls (default 2000) return one event each, then the run
//!   stays `running` forever.
//! - `big-numbers`: like `complete`; the final summary (and its `outputs`) holds the
//!   integer 123456789012345678901234567890 and the number 1e400, as JSON text.
//! - `big-numbers-failed`: the run fails; `summary.error.data` holds them.
//! - `big-numbers-start`: StartRun is answered error 1003 whose `data` holds them.
//!
//! Issue 24:
//! - `allocate`: before reading anything, allocates and fills `FAKE_ALLOC_MB` MiB (default
//!   1024; `fake: allocating N MiB` on stderr), then behaves as `complete`. Under a smaller
//!   `sandbox.memory_mb` the allocation fails and the process aborts (SIGABRT).

use std::io::{BufRead, Write};
use std::time::Duration;

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
    let mode = std::env::args()
        .nth(1)
        .or_else(|| std::env::var("FAKE_EXECUTOR_MODE").ok())
        .unwrap_or_else(|| "complete".into());
    eprintln!("fake: pid {}", std::process::id());
    eprintln!(
        "fake: TM_TEST_SECRET={:?}",
        std::env::var("TM_TEST_SECRET").ok()
    );
    eprintln!(
        "fake: TRACE_MIND_ENGINE_TIMEOUT={:?}",
        std::env::var("TRACE_MIND_ENGINE_TIMEOUT").ok()
    );
    let mut stdout = std::io::stdout();
    match mode.as_str() {
        "allocate" => {
            let mib: usize = std::env::var("FAKE_ALLOC_MB")
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(1024);
            eprintln!("fake: allocating {mib} MiB");
            let block = vec![1u8; mib << 20];
            let filled = block.iter().map(|&b| usize::from(b)).sum::<usize>();
            eprintln!("fake: allocated {filled} bytes");
        }
        "exit-early" => {
            eprintln!("fake: cannot open the device");
            std::process::exit(3);
        }
        "chatty" => {
            let line = "x".repeat(1023);
            for _ in 0..8 * 1024 {
                eprintln!("{line}");
            }
        }
        "setsid-child" => {
            // Deliberately never waited for: tm must kill it although it left our group.
            #[allow(clippy::zombie_processes)]
            let child = std::process::Command::new("setsid")
                .args(["sleep", "300"])
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .expect("spawn setsid sleep");
            eprintln!("fake: grandchild pid {}", child.id());
        }
        "stubborn" => {
            // Deliberately never waited for: the host must kill it with the process group.
            #[allow(clippy::zombie_processes)]
            let child = std::process::Command::new("sleep")
                .arg("300")
                .spawn()
                .expect("spawn sleep");
            eprintln!("fake: grandchild pid {}", child.id());
        }
        _ => {}
    }
    let stdin = std::io::stdin();
    let mut polls = 0;
    for (expected_id, line) in (1u64..).zip(stdin.lock().lines()) {
        let Ok(line) = line else { break };
        let request: Value = serde_json::from_str(&line).unwrap_or(Value::Null);
        let id = request["id"].clone();
        let method = request["method"].as_str().unwrap_or_default().to_owned();
        eprintln!("fake: got {method}");
        let frame: Vec<u8> = match mode.as_str() {
            "hang-handshake" => continue,
            "endless-line" => {
                eprintln!("fake: endless-line");
                let chunk = vec![b'x'; 64 * 1024];
                while stdout.write_all(&chunk).is_ok() {}
                return;
            }
            "garbage-then-deaf" => {
                let _ = stdout
                    .write_all(b"this is not json {\n")
                    .and_then(|()| stdout.flush());
                eprintln!("fake: garbage-then-deaf");
                sleep_forever();
            }
            "trickle" if method == "Runtime.Poll" => {
                eprintln!("fake: trickling");
                let answer = json!({"jsonrpc": "2.0", "id": id, "result": {"status": "running", "events": []}});
                for byte in format!("{answer}\n").bytes() {
                    if stdout
                        .write_all(&[byte])
                        .and_then(|()| stdout.flush())
                        .is_err()
                    {
                        return;
                    }
                    std::thread::sleep(Duration::from_millis(100));
                }
                continue;
            }
            "stubborn" if method == "Runtime.Cancel" => continue,
            "garbage" => b"this is not json {".to_vec(),
            "bad-utf8" => {
                b"{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"v\":\"\xff\xfe\"}}".to_vec()
            }
            "scalar-result" => json!({"jsonrpc": "2.0", "id": id, "result": 42})
                .to_string()
                .into_bytes(),
            "empty-response" => json!({"jsonrpc": "2.0", "id": id}).to_string().into_bytes(),
            "huge-frame" => vec![b' '; 20 * 1024 * 1024],
            "reply-file" => {
                let path = std::env::var("FAKE_REPLY_FILE").expect("FAKE_REPLY_FILE");
                let bytes = std::fs::read(path).expect("reply file");
                let _ = stdout
                    .write_all(&bytes)
                    .and_then(|()| stdout.write_all(b"\n"))
                    .and_then(|()| stdout.flush());
                return;
            }
            "die-after-start" if method == "Runtime.Poll" => {
                eprintln!("fake: crashed");
                std::process::exit(70);
            }
            _ => {
                let result = if id != json!(expected_id) {
                    Err(
                        json!({"code": 3002, "message": format!("expected id {expected_id}, got {id}")}),
                    )
                } else {
                    answer(&mode, &method, &mut polls)
                };
                let reply_id = if mode == "wrong-id" {
                    json!(id.as_u64().unwrap_or(0) + 100)
                } else {
                    id
                };
                let frame = match result {
                    Ok(result) => json!({"jsonrpc": "2.0", "id": reply_id, "result": result}),
                    Err(error) => json!({"jsonrpc": "2.0", "id": reply_id, "error": error}),
                };
                // Numbers a JSON tree cannot hold, written as text.
                frame
                    .to_string()
                    .replace("\"@BIG@\"", BIG)
                    .replace("\"@HUGE@\"", HUGE)
                    .into_bytes()
            }
        };
        if mode == "notify-flood" {
            let note = json!({"jsonrpc": "2.0", "method": "Runtime.Progress", "params": {}});
            let mut notes = String::new();
            for _ in 0..20_000 {
                notes.push_str(&format!("{note}\n"));
            }
            if stdout.write_all(notes.as_bytes()).is_err() {
                return;
            }
        }
        if matches!(mode.as_str(), "complete" | "chatty") && method == "Runtime.Poll" {
            let _ = writeln!(
                stdout,
                "{}",
                json!({"jsonrpc": "2.0", "method": "Runtime.Progress", "params": {}})
            );
        }
        if stdout
            .write_all(&frame)
            .and_then(|()| stdout.write_all(b"\n"))
            .and_then(|()| stdout.flush())
            .is_err()
        {
            return;
        }
        after_answer(&mode, &method, polls, &frame, &mut stdout);
    }
    if mode != "stubborn" {
        eprintln!("fake: stdin closed, goodbye");
    }
    if mode == "stubborn" {
        eprintln!("fake: stdin closed, staying alive");
        sleep_forever();
    }
}

/// Faults that come after an answer was written.
fn after_answer(mode: &str, method: &str, polls: u32, frame: &[u8], stdout: &mut std::io::Stdout) {
    match (mode, method) {
        ("deaf", "Runtime.Capabilities") => {
            eprintln!("fake: deaf");
            sleep_forever();
        }
        ("poll-flood", "Runtime.StartRun") => {
            eprintln!("fake: poll-flood");
            for id in 3u64.. {
                let answer = json!({"jsonrpc": "2.0", "id": id, "result": {"status": "running", "events": [log_event(id)]}});
                if writeln!(stdout, "{answer}").is_err() {
                    std::process::exit(0);
                }
            }
        }
        ("exit-leaving-child", "Runtime.StartRun") => {
            // Deliberately never waited for: it inherits our stdout and outlives us.
            #[allow(clippy::zombie_processes)]
            let child = std::process::Command::new("sleep")
                .arg("1000")
                .stdin(std::process::Stdio::null())
                .spawn()
                .expect("spawn sleep");
            eprintln!("fake: grandchild pid {}", child.id());
            eprintln!("fake: exit-leaving-child");
            std::process::exit(5);
        }
        ("double-poll", "Runtime.Poll") if polls == 1 => {
            let mut copy: Value = serde_json::from_slice(frame).expect("own frame");
            if let Some(events) = copy["result"]["events"].as_array_mut() {
                events.push(json!({"type": "log", "timestamp": "2026-01-01T00:00:00Z", "level": "info", "message": "only in the second copy"}));
            }
            eprintln!("fake: double-poll");
            let _ = writeln!(stdout, "{copy}").and_then(|()| stdout.flush());
        }
        _ => {}
    }
}

/// An integer beyond 64 bits.
const BIG: &str = "123456789012345678901234567890";
/// A number beyond f64.
const HUGE: &str = "1e400";

/// The summary of the `big-numbers` modes.
fn big_summary(failed: bool) -> Value {
    let numbers = json!({"big": "@BIG@", "huge": "@HUGE@"});
    if failed {
        json!({"completed_steps": 0, "failed_steps": 1, "error": {"code": 2001, "message": "big numbers", "data": {"step_id": "read", "details": numbers}}})
    } else {
        json!({"completed_steps": 6, "failed_steps": 0, "big": "@BIG@", "huge": "@HUGE@", "outputs": numbers})
    }
}

fn log_event(n: u64) -> Value {
    json!({"type": "log", "timestamp": "2026-01-01T00:00:00Z", "level": "info", "message": format!("poll {n}")})
}

fn sleep_forever() -> ! {
    loop {
        std::thread::sleep(Duration::from_secs(60));
    }
}

fn answer(mode: &str, method: &str, polls: &mut u32) -> Result<Value, Value> {
    let hangs = matches!(mode, "hang" | "stubborn" | "events-hang");
    match method {
        "Runtime.Capabilities" if mode == "no-limits" => {
            Ok(json!({"version": "0.0.1", "step_kinds": KINDS}))
        }
        "Runtime.Capabilities" => {
            Ok(json!({"version": "0.0.1", "step_kinds": KINDS, "limits": {"concurrency": 1}}))
        }
        "Runtime.StartRun" => match mode {
            "reject" => Err(
                json!({"code": 1003, "message": "IR rejected by fake", "data": {"retriable": false}}),
            ),
            "start-2001" => Err(
                json!({"code": 2001, "message": "downstream refused", "data": {"step_id": "read"}}),
            ),
            "start-3002" => Err(json!({"code": 3002, "message": "fake panicked"})),
            "big-numbers-start" => Err(
                json!({"code": 1003, "message": "big numbers", "data": {"details": {"big": "@BIG@", "huge": "@HUGE@"}}}),
            ),
            _ => Ok(json!({"run_id": "fake-run"})),
        },
        "Runtime.Poll" => {
            *polls += 1;
            let event = log_event(u64::from(*polls));
            let last_poll = match mode {
                "events" | "events-hang" => std::env::var("FAKE_POLLS")
                    .ok()
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(2000),
                _ => 2,
            };
            let quiet_after = if mode == "events-hang" { last_poll } else { 1 };
            let events = if hangs && *polls > quiet_after {
                vec![]
            } else {
                vec![event]
            };
            let status = match (hangs || *polls < last_poll, mode) {
                (true, _) => "running",
                (false, "big-numbers-failed") => "failed",
                (false, _) => "completed",
            };
            let summary = match (status, mode) {
                ("completed", "big-numbers") => big_summary(false),
                ("failed", "big-numbers-failed") => big_summary(true),
                _ => json!({"completed_steps": 0, "failed_steps": 0}),
            };
            Ok(json!({"status": status, "events": events, "summary": summary}))
        }
        "Runtime.Cancel" => Ok(json!({"ok": true})),
        other => Err(json!({"code": -32601, "message": format!("Method not found: {other}")})),
    }
}

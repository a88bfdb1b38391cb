//! Issue 23, the firmware half: the second bare-metal board (`mps2-an385-executor`, the CMSDK
//! UART), the FreeRTOS executor (`freertos-executor` on lm3s6965evb in QEMU, and
//! `freertos-posix-executor`, the same application on Linux under ASan and UBSan) as a host
//! and a certifier see them, and what each firmware does when things go wrong:
//!
//! - the mock executor's outputs on plant-monitor and `rep-conformance --strict`, also behind
//!   500 bytes of line noise;
//! - blocking step handlers (`rtos.sleep`, in worker tasks) that do not stall Poll, Health or
//!   Cancel, two at a time (`limits.concurrency` 2);
//! - FreeRTOS's 32-bit tick, which starts 3 s before it wraps: a step across the wrap ends on
//!   time (finding 7);
//! - the watchdog, the fault handlers and the stack canary: a board whose serve loop stops, that
//!   faults or whose stack overflows reports it and resets (finding 6);
//! - a break on the PL011's line (DR[10]) drops the line it hits, counted and logged
//!   (finding 3; every error bit is covered by the C unit tests, `serial:`).

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::process::{Child, ChildStdin, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::*;

/// The longest wait for one answer or one line of a board's report (QEMU on a loaded machine).
const WAIT: Duration = Duration::from_secs(30);

fn mps2_an385_executor() -> Option<PathBuf> {
    qemu_launcher("mps2-an385-executor", "firmware-mps2-an385.elf")
}

fn freertos_executor() -> Option<PathBuf> {
    qemu_launcher("freertos-executor", "freertos.elf")
}

fn freertos_posix_executor() -> Option<PathBuf> {
    artifact("freertos-posix-executor")
}

/// A running executor, spoken to line by line: its answers and its stderr (where rep-bridge
/// logs what a board prints) each read on a thread.
struct Session {
    child: Child,
    stdin: Option<ChildStdin>,
    answers: Receiver<Value>,
    logs: Receiver<String>,
    seen: Vec<String>,
}

impl Session {
    fn start(executor: &Path) -> Session {
        let mut child = Command::new(executor)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().unwrap();
        let stderr = child.stderr.take().unwrap();
        let (answer_tx, answers) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let value: Value = serde_json::from_str(&line)
                    .unwrap_or_else(|e| panic!("an answer is not JSON ({e}): {line}"));
                if answer_tx.send(value).is_err() {
                    break;
                }
            }
        });
        let (log_tx, logs) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if log_tx.send(line).is_err() {
                    break;
                }
            }
        });
        Session {
            child,
            stdin,
            answers,
            logs,
            seen: Vec::new(),
        }
    }

    fn send_raw(&mut self, bytes: &[u8]) {
        let stdin = self.stdin.as_mut().unwrap();
        stdin.write_all(bytes).unwrap();
        stdin.flush().unwrap();
    }

    /// Sends a request and returns its answer's `result` (an error answer fails the test).
    fn call(&mut self, id: u64, method: &str, params: Value) -> Value {
        let request = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
        self.send_raw(format!("{request}\n").as_bytes());
        let answer = self
            .answers
            .recv_timeout(WAIT)
            .unwrap_or_else(|_| panic!("no answer to {method} (stderr so far: {:?})", self.seen));
        assert_eq!(answer["id"], id, "{answer}");
        assert!(answer["result"].is_object(), "{method}: {answer}");
        answer["result"].clone()
    }

    /// Waits for a line of stderr containing `needle`; returns it.
    fn wait_log(&mut self, needle: &str) -> String {
        let until = Instant::now() + WAIT;
        loop {
            let left = until.saturating_duration_since(Instant::now());
            match self.logs.recv_timeout(left) {
                Ok(line) => {
                    let found = line.contains(needle);
                    self.seen.push(line.clone());
                    if found {
                        return line;
                    }
                }
                Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => {
                    panic!("no line with {needle:?} on stderr: {:#?}", self.seen)
                }
            }
        }
    }
}

impl Drop for Session {
    /// Closes stdin, as a host does (rep-bridge then stops QEMU), and reaps the process; kills it
    /// if it is still there after 10 s.
    fn drop(&mut self) {
        drop(self.stdin.take());
        let until = Instant::now() + Duration::from_secs(10);
        while Instant::now() < until {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A node of kind `kind` with `with`, no timeout, no retry.
fn node(id: &str, kind: &str, with: Value) -> Value {
    json!({"id": id, "type": kind, "with": with, "timeout_ms": 0,
           "retry": {"max": 0, "backoff_ms": 0}})
}

/// A Flow IR document (plant-monitor's header) with `nodes` and `edges` and no inputs.
fn flow(nodes: Vec<Value>, edges: Vec<Value>) -> Value {
    let mut ir = plant_monitor_ir();
    ir["graph"] = json!({"nodes": nodes, "edges": edges});
    ir["inputs_schema"] = json!({});
    ir
}

fn success(from: &str, to: &str) -> Value {
    json!({"from": from, "to": to, "on": "success"})
}

/// Starts `ir` as run `run_id` (request id 10).
fn start_run(session: &mut Session, ir: &Value, run_id: &str) {
    let result = session.call(
        10,
        "Runtime.StartRun",
        json!({"ir": ir, "inputs": {}, "options": {"run_id": run_id}}),
    );
    assert_eq!(result["run_id"], run_id, "{result}");
}

/// Polls `run_id` (ids from 100) until `done` says so of the events so far and the last
/// result; returns them.
fn poll_until(
    session: &mut Session,
    run_id: &str,
    done: impl Fn(&[Value], &Value) -> bool,
) -> (Vec<Value>, Value) {
    let until = Instant::now() + WAIT;
    let mut events = Vec::new();
    for id in 100.. {
        let result = session.call(id, "Runtime.Poll", json!({"run_id": run_id}));
        events.extend(result["events"].as_array().cloned().unwrap_or_default());
        if done(&events, &result) {
            return (events, result);
        }
        assert!(
            Instant::now() < until,
            "run {run_id} never got there: {events:#?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    unreachable!()
}

/// `step_id:state` of each step event, in order.
fn trace(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .filter(|e| e["type"] == "step")
        .map(|e| {
            format!(
                "{}:{}",
                e["step_id"].as_str().unwrap(),
                e["state"].as_str().unwrap()
            )
        })
        .collect()
}

fn is_final(result: &Value) -> bool {
    result["status"] == "completed" || result["status"] == "failed"
}

// ---- the mock executor's outputs, certification ----

#[test]
fn mps2_an385_executor_gives_the_mock_executors_outputs() {
    if let Some(executor) = mps2_an385_executor() {
        assert_matches_mock(&executor);
    }
}

#[test]
fn rep_conformance_certifies_mps2_an385_executor() {
    if let Some(executor) = mps2_an385_executor() {
        assert_certified(&executor, false);
    }
}

#[test]
fn freertos_executor_gives_the_mock_executors_outputs() {
    if let Some(executor) = freertos_executor() {
        assert_matches_mock(&executor);
    }
}

#[test]
fn rep_conformance_certifies_freertos_executor() {
    if let Some(executor) = freertos_executor() {
        assert_certified(&executor, false);
    }
}

#[test]
fn freertos_posix_executor_gives_the_mock_executors_outputs() {
    if let Some(executor) = freertos_posix_executor() {
        assert_matches_mock(&executor);
    }
}

#[test]
fn rep_conformance_certifies_freertos_posix_executor() {
    if let Some(executor) = freertos_posix_executor() {
        assert_certified(&executor, false);
    }
}

/// Garbage before the first request never costs a request on the new firmwares either:
/// 500 bytes of it (a boot banner among them) before plant-monitor's first request, on both
/// QEMU boards, and before a whole certification of the POSIX build.
#[test]
fn the_new_executors_serve_behind_line_noise() {
    let plant = plant_monitor_inputs();
    let manifest = plant_monitor_manifest();
    let boards = [mps2_an385_executor(), freertos_executor()];
    for (seed, executor) in boards.into_iter().flatten().enumerate() {
        let dir = tempfile::tempdir().unwrap();
        let noisy = behind_noise(dir.path(), &executor, &noise(500, 31 + seed as u64));
        assert_eq!(
            outcome(&noisy, &manifest, "plant-monitor", Some(&plant)),
            outcome(&mock_executor(), &manifest, "plant-monitor", Some(&plant)),
            "{} behind noise",
            executor.display()
        );
    }
    if let Some(executor) = freertos_posix_executor() {
        let dir = tempfile::tempdir().unwrap();
        assert_certified(&behind_noise(dir.path(), &executor, &noise(500, 37)), false);
    }
}

// ---- blocking steps, concurrency, the tick's wrap ----

/// Two `rtos.sleep` steps block in their worker tasks at the same time (limits.concurrency is
/// 2; the third waits for a slot) while Poll and Health are answered; Cancel wakes both at once:
/// they fail with cause `cancelled` long before their 10 s, and the third never starts.
fn blocking_steps_block_side_by_side_and_cancel_wakes_them(executor: &Path) {
    let mut session = Session::start(executor);
    let caps = session.call(1, "Runtime.Capabilities", json!({}));
    assert_eq!(caps["limits"]["concurrency"], 2, "{caps}");
    let sleep = |id| node(id, "rtos.sleep", json!({"ms": 10_000}));
    start_run(
        &mut session,
        &flow(vec![sleep("a"), sleep("b"), sleep("c")], vec![]),
        "r",
    );
    let (events, _) = poll_until(&mut session, "r", |events, _| trace(events).len() >= 2);
    assert_eq!(trace(&events), ["a:started", "b:started"], "{events:#?}");
    let health = session.call(2, "Runtime.Health", json!({}));
    assert_eq!(health["ok"], true, "{health}");
    session.call(3, "Runtime.Cancel", json!({"run_id": "r"}));
    let (more, last) = poll_until(&mut session, "r", |_, result| is_final(result));
    assert_eq!(last["status"], "failed", "{last}");
    let failed: Vec<&Value> = more.iter().filter(|e| e["state"] == "failed").collect();
    assert_eq!(failed.len(), 2, "{more:#?}");
    for event in failed {
        assert_eq!(event["error"]["cause"], "cancelled", "{event}");
        let ms = event["duration_ms"].as_u64().unwrap();
        assert!(
            ms < 5_000,
            "woken by the Cancel, not at the end of its sleep: {event}"
        );
    }
    assert!(
        !trace(&more).iter().any(|t| t.starts_with("c:")),
        "{more:#?}"
    );
}

#[test]
fn freertos_posix_blocking_steps_block_side_by_side_and_cancel_wakes_them() {
    if let Some(executor) = freertos_posix_executor() {
        blocking_steps_block_side_by_side_and_cancel_wakes_them(&executor);
    }
}

#[test]
fn freertos_blocking_steps_block_side_by_side_and_cancel_wakes_them() {
    if let Some(executor) = freertos_executor() {
        blocking_steps_block_side_by_side_and_cancel_wakes_them(&executor);
    }
}

/// Three 300 ms sleeps, two at a time: the third starts when the first of the others ends, and
/// all three succeed.
#[test]
fn freertos_posix_a_third_blocking_step_waits_for_a_free_slot() {
    let Some(executor) = freertos_posix_executor() else {
        return;
    };
    let mut session = Session::start(&executor);
    let sleep = |id| node(id, "rtos.sleep", json!({"ms": 300}));
    start_run(
        &mut session,
        &flow(vec![sleep("a"), sleep("b"), sleep("c")], vec![]),
        "r",
    );
    let (events, last) = poll_until(&mut session, "r", |_, result| is_final(result));
    assert_eq!(last["status"], "completed", "{last}");
    assert_eq!(last["summary"]["completed_steps"], 3, "{last}");
    let steps = trace(&events);
    let first_done = steps
        .iter()
        .position(|t| t.ends_with(":succeeded"))
        .unwrap();
    let c_started = steps.iter().position(|t| t == "c:started").unwrap();
    assert_eq!(&steps[..2], ["a:started", "b:started"], "{steps:?}");
    assert!(c_started > first_done, "c waited for a slot: {steps:?}");
}

/// Finding 7: FreeRTOS's tick count is 32 bits and starts 3 s before it wraps. A run begun at
/// boot reads it, sleeps 3.5 s across the wrap and reads it again: the step ends on time (a
/// deadline compared in 32 bits would stall it for 49 days), the tick went round, and the
/// executor's 64-bit milliseconds kept counting.
fn a_step_across_the_tick_wrap_ends_on_time(executor: &Path) {
    let mut session = Session::start(executor);
    let ir = flow(
        vec![
            node("t0", "rtos.ticks", json!({})),
            node("s", "rtos.sleep", json!({"ms": 3_500})),
            node("t1", "rtos.ticks", json!({})),
            node("e", "dsl.emit", json!({"t0": "$step.t0", "t1": "$step.t1"})),
        ],
        vec![success("t0", "s"), success("s", "t1"), success("t1", "e")],
    );
    start_run(&mut session, &ir, "wrap");
    let (events, last) = poll_until(&mut session, "wrap", |_, result| is_final(result));
    assert_eq!(last["status"], "completed", "{last}\n{events:#?}");
    let (t0, t1) = (
        &last["summary"]["outputs"]["t0"],
        &last["summary"]["outputs"]["t1"],
    );
    let tick = |t: &Value| t["tick"].as_u64().unwrap();
    let ms = |t: &Value| t["now_ms"].as_u64().unwrap();
    assert!(tick(t0) >= 0x8000_0000, "read before the wrap: {t0}");
    assert!(
        tick(t1) < tick(t0),
        "the tick count wrapped: {t0} then {t1}"
    );
    let elapsed = ms(t1) - ms(t0);
    assert!(
        (3_500..8_500).contains(&elapsed),
        "3.5 s passed in 64-bit ms: {elapsed}"
    );
    let slept = events
        .iter()
        .find(|e| e["step_id"] == "s" && e["state"] == "succeeded")
        .unwrap();
    assert!(slept["duration_ms"].as_u64().unwrap() >= 3_500, "{slept}");
}

#[test]
fn freertos_posix_a_step_across_the_tick_wrap_ends_on_time() {
    if let Some(executor) = freertos_posix_executor() {
        a_step_across_the_tick_wrap_ends_on_time(&executor);
    }
}

#[test]
fn freertos_a_step_across_the_tick_wrap_ends_on_time() {
    if let Some(executor) = freertos_executor() {
        a_step_across_the_tick_wrap_ends_on_time(&executor);
    }
}

// ---- safety hooks ----

/// Finding 6, on one board: `diag.fault` stops the serve loop (the watchdog warns, then
/// resets the board), traps (the fault handler reports, then resets) and overwrites the
/// stack's canary (the loop's check reports, then resets). After each reset the board says why
/// on the UART (rep-bridge logs it) and serves again — its runs forgotten.
fn every_failure_is_reported_and_resets_the_board(executor: &Path) {
    let mut session = Session::start(executor);
    session.call(1, "Runtime.Capabilities", json!({}));
    let cases = [
        (
            "hang",
            "watchdog: the serve loop stopped kicking it",
            "by the watchdog",
        ),
        ("trap", "HardFault (CFSR", "by a fault"),
        ("stack", "stack", "by a stack overflow"),
    ];
    for (n, (fault, report, cause)) in cases.into_iter().enumerate() {
        let ir = flow(
            vec![node("f", "diag.fault", json!({"fault": fault}))],
            vec![],
        );
        start_run(&mut session, &ir, fault);
        session.wait_log(report);
        let banner = session.wait_log("ready (after a reset");
        assert!(banner.contains(cause), "{fault}: {banner}");
        // After a reset the board drops everything up to the first newline.
        session.send_raw(b"\n");
        let health = session.call(20 + n as u64, "Runtime.Health", json!({}));
        assert_eq!(
            health["details"]["runs"], 0,
            "{fault}: the reset forgot the run: {health}"
        );
    }
}

#[test]
fn qemu_executor_reports_and_resets_on_watchdog_fault_and_stack_overflow() {
    if let Some(executor) = qemu_executor() {
        every_failure_is_reported_and_resets_the_board(&executor);
    }
}

#[test]
fn mps2_an385_executor_reports_and_resets_on_watchdog_fault_and_stack_overflow() {
    if let Some(executor) = mps2_an385_executor() {
        every_failure_is_reported_and_resets_the_board(&executor);
    }
}

#[test]
fn freertos_executor_reports_and_resets_on_watchdog_fault_and_stack_overflow() {
    if let Some(executor) = freertos_executor() {
        every_failure_is_reported_and_resets_the_board(&executor);
    }
}

/// QEMU running `firmware` on lm3s6965evb with its UART on a telnet-mode Unix socket, whose
/// IAC BREAK QEMU turns into a break on the PL011's line. Killed (quietly) on drop.
struct TelnetBoard {
    qemu: Child,
    socket: UnixStream,
    _dir: tempfile::TempDir,
}

impl TelnetBoard {
    fn start(firmware: &Path) -> TelnetBoard {
        let dir = tempfile::Builder::new()
            .prefix("brk")
            .tempdir_in("/tmp")
            .unwrap();
        let path = dir.path().join("uart.sock");
        let qemu = Command::new("qemu-system-arm")
            .args([
                "-M",
                "lm3s6965evb",
                "-nographic",
                "-monitor",
                "none",
                "-kernel",
            ])
            .arg(firmware)
            .arg("-serial")
            .arg(format!(
                "unix:{},server=on,wait=off,telnet=on",
                path.display()
            ))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let until = Instant::now() + WAIT;
        let socket = loop {
            match UnixStream::connect(&path) {
                Ok(socket) => break socket,
                Err(e) if Instant::now() < until => {
                    let _ = e;
                    std::thread::sleep(Duration::from_millis(10));
                }
                Err(e) => panic!("QEMU's UART socket {}: {e}", path.display()),
            }
        };
        socket.set_read_timeout(Some(WAIT)).unwrap();
        TelnetBoard {
            qemu,
            socket,
            _dir: dir,
        }
    }

    /// Reads lines until one contains `needle`; every line read, without telnet's commands.
    fn read_until(&mut self, needle: &str) -> Vec<String> {
        let (mut text, mut buf) = (Vec::new(), [0u8; 4096]);
        loop {
            let n = self.socket.read(&mut buf).unwrap_or(0);
            assert!(n > 0, "the board said: {}", String::from_utf8_lossy(&text));
            let mut bytes = buf[..n].iter().copied();
            while let Some(b) = bytes.next() {
                if b == 0xFF {
                    // IAC and its command and option (QEMU's telnet negotiation).
                    bytes.next();
                    bytes.next();
                } else {
                    text.push(b);
                }
            }
            let lines: Vec<String> = String::from_utf8_lossy(&text)
                .lines()
                .map(str::to_owned)
                .collect();
            if lines.iter().any(|l| l.contains(needle)) {
                return lines;
            }
        }
    }
}

impl Drop for TelnetBoard {
    fn drop(&mut self) {
        let _ = self.qemu.kill(); // SIGKILL: QEMU prints nothing
        let _ = self.qemu.wait();
    }
}

/// Finding 3: a break arriving in the middle of a request (the PL011's DR[10] with that byte)
/// is counted and logged, and the request it hit is dropped — not answered from corrupt bytes;
/// the next request is answered.
fn a_break_drops_the_line_it_hits(firmware: &Path) {
    let mut board = TelnetBoard::start(firmware);
    // As rep-bridge does: a newline on connecting, another once the firmware is up.
    board.socket.write_all(b"\n").unwrap();
    std::thread::sleep(Duration::from_millis(300));
    board.socket.write_all(b"\n").unwrap();
    let mut bytes = br#"{"jsonrpc":"2.0","id":1,"#.to_vec();
    bytes.extend([0xFF, 0xF3]); // IAC BREAK
    bytes.extend(br#""method":"Runtime.Health"}"#);
    bytes.extend(b"\n{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"Runtime.Health\"}\n");
    board.socket.write_all(&bytes).unwrap();
    let lines = board.read_until("\"id\":2");
    assert!(
        lines
            .iter()
            .any(|l| l == "firmware: uart: break (1 so far): dropping the line"),
        "{lines:#?}"
    );
    assert!(!lines.iter().any(|l| l.contains("\"id\":1")), "{lines:#?}");
}

#[test]
fn a_break_on_the_pl011s_line_drops_the_line_it_hits() {
    if qemu_executor().is_some() {
        a_break_drops_the_line_it_hits(&native_dir().join("firmware.elf"));
    }
    if freertos_executor().is_some() {
        a_break_drops_the_line_it_hits(&native_dir().join("freertos.elf"));
    }
}

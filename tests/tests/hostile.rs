//! Issue 9: no executor can hang `tm`, make it lose an event, or outlive it. One regression
//! test per finding, each against the real `tm` and the fault-injecting fake executor: exit
//! code, stdout still one JSON document, a bound on wall time that a hang (or the old
//! waits) cannot meet, and no process left behind. `tm` is killed when a bound is passed, so
//! a hang fails the test instead of stalling it.

#![allow(clippy::unwrap_used)] // tests unwrap: a failure is the report

mod common;

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use serde_json::Value;

/// What a hang is: no test here needs more than this.
const HANG: Duration = Duration::from_secs(30);

/// Runs plant-monitor on the fake executor in `mode`, killing `tm` after [`HANG`].
fn run_mode(mode: &str, extra: &[&str], env: &[(&str, &str)]) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let config = fake_config(dir.path(), mode);
    let run = tm_bounded(&plant_args(&config, extra), env, HANG);
    assert_ne!(run.code, -2, "{mode}: tm hung; stderr:\n{}", run.stderr);
    assert_no_survivors(&run.stderr);
    run
}

fn error_of(run: &Run) -> Value {
    run.json()["error"].clone()
}

/// `@FILE` of 200 KB of run inputs in `dir`: more than a pipe holds, so writing StartRun
/// blocks on an executor that stopped reading.
fn big_inputs(dir: &std::path::Path) -> String {
    let blob = "x".repeat(200 * 1024);
    let path = dir.join("inputs.json");
    let text = format!(r#"{{"endpoint": "opc.tcp://x", "nodes": ["ns=2;i=2"], "blob": "{blob}"}}"#);
    std::fs::write(&path, text).unwrap();
    format!("@{}", path.display())
}

/// Finding 1: writes had no deadline. An executor that stops reading its stdin while the
/// host writes a large StartRun no longer outlasts the engine timeout (+ 5 s).
#[test]
fn an_executor_that_stops_reading_cannot_outlast_the_engine_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let inputs = big_inputs(dir.path());
    let run = run_mode("deaf", &["--timeout", "3", "--inputs", &inputs], &[]);
    assert_eq!(run.code, 4, "{}", run.stderr);
    assert!(
        run.elapsed < Duration::from_secs(3 + 5 + 3),
        "{:?}",
        run.elapsed
    );
    let error = error_of(&run);
    assert_eq!(error["cause"], "Timeout", "{error}");
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("Runtime.StartRun"),
        "{error}"
    );
}

/// Finding 1, its second half: SIGINT could not end a blocked write. A request cut off
/// mid-frame is a broken transport: no Cancel, SIGTERM 2 s after stdin closes.
#[test]
fn sigint_ends_tm_while_the_executor_stops_reading() {
    let dir = tempfile::tempdir().unwrap();
    let config = fake_config(dir.path(), "deaf");
    let inputs = big_inputs(dir.path());
    let live = LiveTm::start(&plant_args(&config, &["--inputs", &inputs]), &[]);
    live.wait_for("fake: deaf", Duration::from_secs(10));
    std::thread::sleep(Duration::from_millis(300));
    let sent = Instant::now();
    live.signal("-INT");
    let run = live.finish(HANG, sent);
    assert_eq!(run.code, 130, "{}", run.stderr);
    assert!(run.elapsed < Duration::from_secs(4), "{:?}", run.elapsed);
    assert_eq!(error_of(&run)["cause"], "Interrupted");
    assert_no_survivors(&run.stderr);
}

/// Finding 1: an executor writing Poll answers without reading the requests filled both
/// pipes.
#[test]
fn an_executor_answering_polls_it_never_read_is_a_transport_error() {
    let run = run_mode("poll-flood", &["--timeout", "60"], &[]);
    assert_eq!(run.code, 4, "{}", run.stderr);
    assert!(run.elapsed < Duration::from_secs(15), "{:?}", run.elapsed);
    assert_eq!(error_of(&run)["code"], 3001);
}

/// Finding 2: the executor's stderr was forwarded with a blocking write; a stderr nobody
/// reads froze `tm`. Now lines are dropped (and counted) instead.
#[test]
fn a_stderr_nobody_reads_cannot_freeze_tm() {
    let dir = tempfile::tempdir().unwrap();
    let config = fake_config(dir.path(), "chatty");
    let (mut stderr_reader, stderr_writer) = std::io::pipe().unwrap();
    let mut child = Command::new(tm_path())
        .args(plant_args(&config, &["--timeout", "20"]))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(stderr_writer)
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut text = String::new();
        stdout.read_to_string(&mut text).unwrap();
        text
    });
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if started.elapsed() > HANG {
            send_signal(child.id(), "-KILL");
            child.wait().unwrap();
            break None;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    // Only now is tm's stderr read (and the pipe drained).
    let mut stderr = Vec::new();
    stderr_reader.read_to_end(&mut stderr).unwrap();
    let stderr = String::from_utf8_lossy(&stderr);
    let status = status.unwrap_or_else(|| panic!("tm froze on its full stderr"));
    assert_eq!(status.code(), Some(0), "{stderr}");
    let printed: Value = serde_json::from_str(&out.join().unwrap()).unwrap();
    assert_eq!(printed["status"], "completed");
    assert_no_survivors(&stderr);
}

/// Finding 3: a closed stderr turned every failure into a panic (exit 101) with an empty
/// stdout.
#[test]
fn a_closed_stderr_changes_neither_the_exit_code_nor_stdout() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = plant_monitor_manifest();
    let manifest = manifest.to_str().unwrap();
    let garbage = fake_config(dir.path(), "garbage");
    let failing = failing_flow(dir.path());
    let inputs = plant_monitor_inputs();
    let cases: Vec<(Vec<String>, i32, bool)> = vec![
        (plant_args(&garbage, &[]), 4, true),
        (
            [
                "runtime",
                "run",
                "--manifest",
                failing.to_str().unwrap(),
                "--flow",
                "plant-monitor",
                "--inputs",
                &inputs,
            ]
            .map(String::from)
            .to_vec(),
            1,
            true,
        ),
        (
            ["runtime", "run", "--manifest", manifest, "--flow", "nope"]
                .map(String::from)
                .to_vec(),
            2,
            false,
        ),
    ];
    for (args, code, prints) in cases {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let output = Command::new(tm_path())
            .args(&args)
            .stdin(Stdio::null())
            .stderr(writer)
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(code), "{args:?}");
        if prints {
            let printed: Value = serde_json::from_slice(&output.stdout).unwrap();
            assert_eq!(printed["status"], "failed", "{args:?}");
        }
    }
}

/// Deliver 3: a closed stdout ends `tm` quietly with the command's exit code.
#[test]
fn a_closed_stdout_ends_tm_quietly_with_its_exit_code() {
    for (args, code) in [
        (vec!["runtime", "capabilities"], 0),
        (
            vec![
                "runtime",
                "run",
                "--manifest",
                plant_monitor_manifest().to_str().unwrap(),
                "--flow",
                "plant-monitor",
                "--inputs",
                &plant_monitor_inputs(),
            ],
            0,
        ),
    ] {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let output = Command::new(tm_path())
            .args(&args)
            .stdin(Stdio::null())
            .stdout(writer)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(code), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}

/// Finding 4: exit was only noticed through stdout EOF, which a descendant holding stdout
/// delays to the engine timeout.
#[test]
fn an_executor_exiting_while_a_descendant_holds_its_stdout_is_reported_at_once() {
    let run = run_mode("exit-leaving-child", &["--timeout", "60"], &[]);
    assert_eq!(run.code, 4, "{}", run.stderr);
    assert!(run.elapsed < Duration::from_secs(10), "{:?}", run.elapsed);
    let error = error_of(&run);
    assert_eq!(error["cause"], "Eof", "{error}");
    let message = error["message"].as_str().unwrap();
    assert!(message.contains("exit status: 5"), "{message}");
    assert!(message.contains("fake: exit-leaving-child"), "{message}");
}

/// Finding 5: a second response to one request was skipped, and its events lost.
#[test]
fn a_second_response_to_a_poll_is_a_transport_error_quoting_it() {
    let run = run_mode("double-poll", &[], &[]);
    assert_eq!(run.code, 4, "{}", run.stderr);
    let error = error_of(&run);
    assert_eq!(error["cause"], "DuplicateResponse", "{error}");
    let message = error["message"].as_str().unwrap();
    assert!(
        message.contains("second response to request 3"),
        "{message}"
    );
    assert!(message.contains("only in the second copy"), "{message}");
}

/// Finding 6: an over-long frame was only noticed at its newline (here: never).
#[test]
fn a_frame_without_end_is_reported_when_the_bound_is_passed() {
    let run = run_mode(
        "endless-line",
        &["--timeout", "60", "--max-frame-bytes", "1048576"],
        &[],
    );
    assert_eq!(run.code, 4, "{}", run.stderr);
    assert!(run.elapsed < Duration::from_secs(10), "{:?}", run.elapsed);
    let error = error_of(&run);
    assert_eq!(error["cause"], "FrameTooLong", "{error}");
    assert!(
        error["message"].as_str().unwrap().contains("1048576"),
        "{error}"
    );
}

/// Finding 7: after a broken transport `tm` waited the whole 5 s grace; now an executor
/// that honours SIGTERM is gone 2 s after stdin closes.
#[test]
fn a_broken_transport_ends_within_two_and_a_half_seconds() {
    let run = run_mode("garbage-then-deaf", &["--timeout", "60"], &[]);
    assert_eq!(run.code, 4, "{}", run.stderr);
    assert_eq!(error_of(&run)["cause"], "InvalidJson");
    // 2 s grace, SIGTERM; the old 5 s grace cannot meet this bound.
    assert!(
        run.elapsed < Duration::from_millis(4500),
        "{:?}",
        run.elapsed
    );
    assert!(!run.stderr.contains("fake: got Runtime.Cancel"));
}

/// Finding 8: the runner slept between Polls even while they returned events. Now it polls
/// again at once; 4,000 Polls of one event each finish well before 4,000 of the old
/// minimal 0.5 ms waits would.
#[test]
fn polls_follow_each_other_at_once_while_events_flow() {
    let run = run_mode("events", &[], &[("FAKE_POLLS", "4000")]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.json()["events"].as_array().unwrap().len(), 4000);
    assert!(run.elapsed < Duration::from_secs(2), "{:?}", run.elapsed);
}

/// Finding 9: a flood of notifications became hundreds of MB of log lines.
#[test]
fn a_notification_flood_is_logged_at_most_once_a_second() {
    let run = run_mode("notify-flood", &[], &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let logged = run
        .stderr
        .lines()
        .filter(|l| l.contains("notification"))
        .count();
    let allowed = run.elapsed.as_secs() as usize + 2;
    assert!(logged <= allowed, "{logged} lines in {:?}", run.elapsed);
    assert!(logged >= 1, "the flood is still reported");
}

/// Finding 9: a second SIGINT did nothing; now it stops the waiting.
#[test]
fn a_second_sigint_kills_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let config = fake_config(dir.path(), "stubborn");
    let live = LiveTm::start(&plant_args(&config, &[]), &[]);
    // The second Poll request proves tm has read the first one's answer ("poll 1"): the
    // stubborn executor answers nothing after the signal, so a signal sent between the first
    // request and its answer left no event to print (a race seen under load).
    live.wait_for("fake: got Runtime.Poll", Duration::from_secs(10));
    live.wait_for("fake: got Runtime.Poll", Duration::from_secs(10));
    live.signal("-INT");
    live.wait_for("fake: got Runtime.Cancel", Duration::from_secs(10));
    let second = Instant::now();
    live.signal("-INT");
    let run = live.finish(HANG, second);
    assert_eq!(run.code, 130, "{}", run.stderr);
    assert!(run.elapsed < Duration::from_secs(2), "{:?}", run.elapsed);
    assert_eq!(run.json()["events"][0]["message"], "poll 1");
    assert_no_survivors(&run.stderr);
}

/// Finding 9: when `tm` was SIGKILLed, an executor that does not read stdin lived on.
#[test]
fn a_killed_tm_takes_its_executor_with_it() {
    let dir = tempfile::tempdir().unwrap();
    let config = fake_config(dir.path(), "deaf");
    let live = LiveTm::start(&plant_args(&config, &[]), &[]);
    live.wait_for("fake: deaf", Duration::from_secs(10));
    let pid = live.pid();
    let killed = Instant::now();
    live.signal("-KILL");
    let run = live.finish(HANG, killed);
    assert_eq!(run.code, -1, "tm was killed");
    let fake: u32 = run
        .stderr
        .lines()
        .find_map(|l| l.strip_prefix("fake: pid "))
        .unwrap()
        .parse()
        .unwrap();
    assert_ne!(fake, pid);
    assert_no_survivors(&format!("fake: pid {fake}"));
}

/// Finding 9: a descendant that called setsid escaped the process-group kill.
#[test]
fn a_descendant_that_left_the_process_group_is_killed() {
    let run = run_mode("setsid-child", &[], &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains("fake: grandchild pid"),
        "{}",
        run.stderr
    );
    // run_mode checked that the grandchild is gone.
}

/// Finding 9: an answer trickling in one byte per 100 ms delayed the shutdown by the 2 s
/// Cancel wait on top of the 5 s grace; the whole sequence now fits in 5 s.
#[test]
fn an_answer_trickling_in_cannot_stretch_the_shutdown() {
    let dir = tempfile::tempdir().unwrap();
    let config = fake_config(dir.path(), "trickle");
    let live = LiveTm::start(&plant_args(&config, &["--timeout", "60"]), &[]);
    live.wait_for("fake: trickling", Duration::from_secs(10));
    std::thread::sleep(Duration::from_millis(300));
    let sent = Instant::now();
    live.signal("-INT");
    let run = live.finish(HANG, sent);
    assert_eq!(run.code, 130, "{}", run.stderr);
    assert!(run.elapsed < Duration::from_secs(6), "{:?}", run.elapsed);
    assert_no_survivors(&run.stderr);
}

/// Done when: against an executor that ignores SIGTERM too, `tm` exits within the engine
/// timeout + 5 s.
#[test]
fn an_executor_ignoring_sigterm_is_killed_within_the_engine_timeout_plus_five_seconds() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("ignores-term.sh");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\ntrap '' TERM\nexec {} deaf\n",
            fake_executor().display()
        ),
    )
    .unwrap();
    let chmod = Command::new("chmod")
        .arg("+x")
        .arg(&script)
        .status()
        .unwrap();
    assert!(chmod.success());
    let config = dir.path().join("runtime.yaml");
    std::fs::write(
        &config,
        format!("runtime:\n  executor_path: {}\n", script.display()),
    )
    .unwrap();
    let inputs = big_inputs(dir.path());
    let run = tm_bounded(
        &plant_args(&config, &["--timeout", "2", "--inputs", &inputs]),
        &[],
        HANG,
    );
    assert_eq!(run.code, 4, "{}", run.stderr);
    assert!(
        run.elapsed < Duration::from_secs(2 + 5 + 3),
        "{:?}",
        run.elapsed
    );
    assert_no_survivors(&run.stderr);
}

//! Issue 19: no file, FIFO, signal or second binary can hang `tm`, lose data or leave a
//! process behind. One regression test per finding, against the real binaries, as a hostile
//! user would try them: exit code, stdout one JSON document, a bound on wall time that the
//! old hang cannot meet (each process is killed past it, so a hang fails the test instead of
//! stalling it), device nodes untouched, and no process left, found by a marker in its
//! command line. Devices are replicas made with `mknod` in a scratch folder, never the real
//! `/dev`; a test whose replica the kernel refuses says so and skips that part.
//!
//! The signal table: `tm`, `rep-conformance`, `rep-replay` and `rep-bridge` each end within
//! their documented bound after SIGINT, SIGTERM and SIGHUP, with 128 + N, nothing left.

#![allow(clippy::unwrap_used)] // tests unwrap: a failure is the report

mod common;

use std::os::unix::fs::{FileTypeExt, MetadataExt, symlink};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use serde_json::value::RawValue;

/// What a hang is: no test here needs more than this.
const HANG: Duration = Duration::from_secs(20);

/// The signals every binary handles, with the exit code each ends it with.
const SIGNALS: [(&str, i32); 3] = [("-INT", 130), ("-TERM", 143), ("-HUP", 129)];

fn mkfifo(path: &Path) {
    let made = Command::new("mkfifo").arg(path).status().unwrap();
    assert!(made.success(), "mkfifo {}", path.display());
}

/// A replica of the character device `major:minor` at `dir/name` (`1:3` is /dev/null, `1:5`
/// /dev/zero, `1:7` /dev/full); `None`, said on stderr, when the kernel refuses `mknod`.
fn device(dir: &Path, name: &str, major: u32, minor: u32) -> Option<PathBuf> {
    let path = dir.join(name);
    let made = Command::new("mknod")
        .arg(&path)
        .args(["c", &major.to_string(), &minor.to_string()])
        .stderr(Stdio::null())
        .status();
    if made.is_ok_and(|s| s.success()) {
        Some(path)
    } else {
        eprintln!("SKIPPED: mknod {name} c {major} {minor} is refused here (not root?)");
        None
    }
}

/// Whether `path` is still the character device `major:minor` it was made as.
fn is_device(path: &Path, major: u64, minor: u64) -> bool {
    let meta = std::fs::symlink_metadata(path).unwrap();
    meta.file_type().is_char_device() && meta.rdev() == nix::sys::stat::makedev(major, minor)
}

/// Asserts that `stdout` is exactly one JSON document (any numbers: `1e400` too) and
/// returns it as text.
fn one_document(stdout: &str) -> &RawValue {
    serde_json::from_str::<&RawValue>(stdout)
        .unwrap_or_else(|e| panic!("stdout is not one JSON document ({e}):\n{stdout}"))
}

/// The largest resident set of any child this test waited for, in KiB.
fn peak_child_rss_kib() -> i64 {
    use nix::sys::resource::{UsageWho, getrusage};
    getrusage(UsageWho::RUSAGE_CHILDREN).unwrap().max_rss()
}

fn plant(config: &Path, extra: &[&str]) -> Vec<String> {
    plant_args(config, extra)
}

/// Sends `signal` to `live` and waits for it to end: it must exit with `code` within `bound`
/// of the signal.
fn signal_and_finish(live: LiveTm, signal: &str, code: i32, bound: Duration) -> Run {
    let sent = Instant::now();
    live.signal(signal);
    let run = live.finish(HANG, sent);
    assert_eq!(run.code, code, "{signal}: {}", run.stderr);
    assert!(run.elapsed < bound, "{signal}: {:?}", run.elapsed);
    run
}

/// `tm runtime run --manifest MANIFEST --flow FLOW EXTRA…`, killed past [`HANG`].
fn run_flow(manifest: &Path, flow: &str, extra: &[&str]) -> Run {
    let mut args = strings(&["runtime", "run", "--manifest"]);
    args.push(manifest.display().to_string());
    args.extend(strings(&["--flow", flow]));
    args.extend(strings(extra));
    tm_bounded(&args, &[], HANG)
}

/// plant-monitor on the mock executor, with its inputs, then `extra`, killed past [`HANG`].
fn run_plant(extra: &[&str]) -> Run {
    let inputs = plant_monitor_inputs();
    let mut args = vec!["--inputs", inputs.as_str()];
    args.extend_from_slice(extra);
    run_flow(&plant_monitor_manifest(), "plant-monitor", &args)
}

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|a| (*a).to_owned()).collect()
}

/// Finding 1: `--events-jsonl` to a reader that stalls (`… --events-jsonl /dev/stdout |
/// sleep`) blocked the single-threaded runtime: the engine timeout, the signals and all
/// executor I/O stopped with it. Now the events are written off the runtime: the timeout
/// fires on time, what could not be written is counted, and a signal still ends `tm`.
#[test]
fn events_to_a_stalled_reader_delay_neither_the_engine_timeout_nor_a_signal() {
    let dir = tempfile::tempdir().unwrap();
    let marker = marker();
    let config = fake_config_marked(dir.path(), "events-hang", &marker);
    // /dev/stdout, as a replica: tm's own stdout, a pipe nobody reads.
    let stdout_link = dir.path().join("stdout");
    symlink("/proc/self/fd/1", &stdout_link).unwrap();
    let (_unread, stdout) = std::io::pipe().unwrap();
    let args = plant(
        &config,
        &[
            "--timeout",
            "3",
            "--events-jsonl",
            stdout_link.to_str().unwrap(),
        ],
    );
    let live = LiveTm::start_with_stdout(
        &tm_path(),
        &args,
        &[("FAKE_POLLS", "3000")],
        false,
        Some(stdout.into()),
    );
    // 3000 events fill the pipe long before the 3 s engine timeout.
    live.wait_for("fake: got Runtime.Cancel", Duration::from_secs(3 + 4));
    let cancelled = live.started().elapsed();
    assert!(cancelled < Duration::from_secs(3 + 3), "{cancelled:?}");
    live.wait_for("events not written", Duration::from_secs(10));
    let run = signal_and_finish(live, "-INT", 130, Duration::from_secs(3));
    assert!(
        run.stderr.contains("engine timeout of 3 s expired"),
        "{}",
        run.stderr
    );
    assert_none_with(&marker);
}

/// Finding 2: an executor path naming a FIFO hung in the open that looks for `#!`, deaf to
/// SIGINT. Now it is refused at once, as a directory is (Minor: a directory was "not
/// executable").
#[test]
fn a_fifo_or_a_folder_as_the_executor_is_refused_at_once_naming_what_it_is() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("executor");
    mkfifo(&fifo);
    let chmod = Command::new("chmod").arg("+x").arg(&fifo).status().unwrap();
    assert!(chmod.success());
    let folder = dir.path().join("folder");
    std::fs::create_dir(&folder).unwrap();
    for (executor, what) in [(&fifo, "a FIFO"), (&folder, "a directory")] {
        let config = dir.path().join("runtime.yaml");
        std::fs::write(
            &config,
            format!("runtime:\n  executor_path: {}\n", executor.display()),
        )
        .unwrap();
        let run = tm_bounded(&plant(&config, &["--timeout", "2"]), &[], HANG);
        assert_eq!(run.code, 4, "{what}: {}", run.stderr);
        assert!(run.elapsed < Duration::from_secs(5), "{:?}", run.elapsed);
        one_document(&run.stdout);
        let error = &run.json()["error"];
        assert_eq!(error["cause"], "Spawn", "{error}");
        let message = error["message"].as_str().unwrap();
        let expected = format!("executor {} is {what}, not a program", executor.display());
        assert!(message.starts_with(&expected), "{message}");
    }
}

/// Finding 3: `--events-jsonl` naming a FIFO nobody reads blocked in `open` before the
/// runtime ran, so SIGINT and SIGTERM were ignored. Now the writer waits for a reader, the
/// run does not: it completes (the events not written are counted), and a signal ends it.
#[test]
fn events_to_a_fifo_nobody_reads_hold_up_neither_the_run_nor_a_signal() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("events");
    mkfifo(&fifo);
    let jsonl = fifo.to_str().unwrap();
    let run = run_plant(&["--events-jsonl", jsonl]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.elapsed < Duration::from_secs(8), "{:?}", run.elapsed);
    assert_eq!(run.json()["status"], "completed");
    assert!(
        run.stderr
            .contains("--events-jsonl: 14 events not written (nobody opened the FIFO for reading)"),
        "{}",
        run.stderr
    );

    let marker = marker();
    let config = fake_config_marked(dir.path(), "hang", &marker);
    let live = LiveTm::start(&plant(&config, &["--events-jsonl", jsonl]), &[]);
    live.wait_for("fake: got Runtime.Poll", Duration::from_secs(10));
    let run = signal_and_finish(live, "-TERM", 143, Duration::from_secs(8));
    assert_eq!(run.json()["error"]["cause"], "Terminated");
    assert_none_with(&marker);
}

/// Finding 4: `--manifest` naming a FIFO hung the same way; so did every other file a user
/// names. Each is refused at once (exit 2), naming the path and what it is.
#[test]
fn a_fifo_where_a_file_is_expected_is_an_error_never_a_hang() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo");
    mkfifo(&fifo);
    let fifo = fifo.to_str().unwrap();
    // A manifest whose entry names the FIFO as its IR.
    let manifest = dir.path().join("manifest.json");
    std::fs::write(
        &manifest,
        format!(r#"[{{"name": "plant-monitor", "ir_path": "{fifo}"}}]"#),
    )
    .unwrap();
    let plant_manifest = plant_monitor_manifest();
    let inputs = plant_monitor_inputs();
    let run_args = |manifest: &str, extra: &[&str]| {
        let mut args = strings(&["runtime", "run", "--manifest", manifest]);
        args.extend(strings(&["--flow", "plant-monitor"]));
        args.extend(strings(extra));
        args
    };
    let cases: Vec<(Vec<String>, String)> = vec![
        (
            run_args(fifo, &["--inputs", &inputs]),
            format!("cannot read manifest {fifo}"),
        ),
        (
            run_args(manifest.to_str().unwrap(), &["--inputs", &inputs]),
            format!("cannot read IR file {fifo}"),
        ),
        (
            run_args(
                plant_manifest.to_str().unwrap(),
                &["--inputs", &format!("@{fifo}")],
            ),
            format!("cannot read inputs from {fifo}: a FIFO, not a regular file"),
        ),
        (
            {
                let mut args = strings(&["--runtime-config", fifo]);
                args.extend(run_args(
                    plant_manifest.to_str().unwrap(),
                    &["--inputs", &inputs],
                ));
                args
            },
            format!("cannot read runtime config {fifo}"),
        ),
        (
            strings(&["ir", "manifest", fifo]),
            format!("cannot read IR file {fifo}"),
        ),
    ];
    for (args, message) in cases {
        let run = tm_bounded(&args, &[], HANG);
        assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
        assert!(run.elapsed < Duration::from_secs(5), "{:?}", run.elapsed);
        assert!(run.stdout.is_empty(), "{}", run.stdout);
        assert!(run.stderr.contains(&message), "{args:?}:\n{}", run.stderr);
        assert!(
            run.stderr.contains("a FIFO, not a regular file"),
            "{args:?}:\n{}",
            run.stderr
        );
    }
}

/// Finding 5: `--record /dev/null` replaced the device with a regular file, `--record
/// /dev/stdout` the symlink, and so did `rep-conformance --json`/`--junit` and `tm ir
/// manifest --out`. Now a character device, a FIFO, or a link to one is written in place, as
/// a shell redirection would, and never replaced.
#[test]
fn devices_fifos_and_links_to_them_are_written_in_place_never_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let Some(null) = device(dir.path(), "null", 1, 3) else {
        return;
    };
    let link = dir.path().join("link-to-null");
    symlink(&null, &link).unwrap();
    let stdout_link = dir.path().join("stdout");
    symlink("/proc/self/fd/1", &stdout_link).unwrap();
    let fifo = dir.path().join("fifo");
    mkfifo(&fifo);
    let (sent, read) = std::sync::mpsc::channel();
    {
        let fifo = fifo.clone();
        std::thread::spawn(move || sent.send(std::fs::read_to_string(fifo).unwrap()));
    }
    let record = |target: &Path| run_plant(&["--record", target.to_str().unwrap()]);
    for target in [&null, &link] {
        let run = record(target);
        assert_eq!(run.code, 0, "{}", run.stderr);
        assert_eq!(run.json()["status"], "completed");
    }
    let run = record(&fifo);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let text = read
        .recv_timeout(Duration::from_secs(10))
        .expect("the transcript was written into the FIFO");
    let transcript = rep_spec::parse_transcript(&text).unwrap();
    assert_eq!(transcript.header.tool, "tm");
    // Through /dev/stdout: the transcript goes to tm's stdout, as `> /dev/stdout` would.
    let run = record(&stdout_link);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.contains(r#""format":"rep-transcript/1""#),
        "{}",
        run.stdout
    );

    // rep-conformance's reports and tm ir manifest --out, to the device and the link.
    let conformance = Command::new(rep_conformance())
        .args(["run", "--executor"])
        .arg(mock_executor())
        .args(["--filter", "REP-FRM-001", "--json"])
        .arg(&null)
        .arg("--junit")
        .arg(&link)
        .output()
        .unwrap();
    assert_eq!(
        conformance.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&conformance.stderr)
    );
    let ir = examples().join("plant-monitor/out/dsl/flows/plant-monitor.ir.json");
    let run = tm(
        &[
            "ir",
            "manifest",
            ir.to_str().unwrap(),
            "--out",
            link.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);

    assert!(is_device(&null, 1, 3), "the device node was replaced");
    assert!(std::fs::symlink_metadata(&link).unwrap().is_symlink());
    assert!(
        std::fs::symlink_metadata(&stdout_link)
            .unwrap()
            .is_symlink()
    );
    assert!(
        std::fs::symlink_metadata(&fifo)
            .unwrap()
            .file_type()
            .is_fifo()
    );
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 4, "no temporary file left: {names:?}");
}

/// Finding 6: `tm runtime run M >/dev/full` printed nothing on stderr and exited 0: every
/// stdout error was discarded, not just EPIPE. Now the result not delivered is exit 4.
#[test]
fn a_stdout_that_fails_is_an_error_and_exit_4() {
    let dir = tempfile::tempdir().unwrap();
    let Some(full) = device(dir.path(), "full", 1, 7) else {
        return;
    };
    let ir = examples().join("plant-monitor/out/dsl/flows/plant-monitor.ir.json");
    let inputs = plant_monitor_inputs();
    let manifest = plant_monitor_manifest();
    let commands: [&[&str]; 3] = [
        &[
            "runtime",
            "run",
            "--manifest",
            manifest.to_str().unwrap(),
            "--flow",
            "plant-monitor",
            "--inputs",
            &inputs,
        ],
        &["runtime", "capabilities"],
        &["ir", "validate", "--json", ir.to_str().unwrap()],
    ];
    for args in commands {
        let output = Command::new(tm_path())
            .args(args)
            .stdin(Stdio::null())
            .stdout(std::fs::OpenOptions::new().write(true).open(&full).unwrap())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(4), "{args:?}: {stderr}");
        assert!(
            stderr.contains("error: cannot write the result to stdout"),
            "{stderr}"
        );
        assert!(stderr.contains("No space left on device"), "{stderr}");
    }
    assert!(is_device(&full, 1, 7));
}

/// Finding 7: a 30-digit integer in a summary was rounded and `1e400` made a completed run
/// exit 4: summaries were parsed into `serde_json::Value`. Now the summary, its outputs and
/// the executor's error data pass through exactly as the executor wrote them.
#[test]
fn numbers_in_summaries_outputs_and_error_data_pass_through_exactly() {
    for (mode, code, count) in [
        ("big-numbers", 0, 2),
        ("big-numbers-failed", 1, 2),
        ("big-numbers-start", 3, 1),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let config = fake_config(dir.path(), mode);
        let run = tm_bounded(&plant(&config, &[]), &[], HANG);
        assert_eq!(run.code, code, "{mode}: {}", run.stderr);
        one_document(&run.stdout);
        // In the summary and its outputs, or in the summary and the error object, or in
        // the error object.
        for number in ["123456789012345678901234567890", "1e400"] {
            assert_eq!(
                run.stdout.matches(&format!(": {number}")).count(),
                count,
                "{mode}: {}",
                run.stdout
            );
        }
        assert_no_survivors(&run.stderr);
    }
}

/// Finding 8: SIGHUP (a closed terminal, an ssh drop) killed `tm` with no output, left the
/// executor's child under init, and lost the `--record` transcript (its temporary file left
/// behind). Now SIGHUP cancels the run like SIGINT: the events so far are printed, the
/// transcript is written, exit 129, nothing left.
#[test]
fn sighup_cancels_the_run_keeps_the_transcript_and_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let marker = marker();
    let config = fake_config_marked(dir.path(), "stubborn", &marker);
    let transcript = dir.path().join("session.jsonl");
    let live = LiveTm::start(
        &plant(&config, &["--record", transcript.to_str().unwrap()]),
        &[],
    );
    // The second Poll request proves tm has read the first one's answer ("poll 1"): the
    // stubborn executor answers nothing after the signal, so a signal sent between the first
    // request and its answer left no event to print (a race seen under load).
    live.wait_for("fake: got Runtime.Poll", Duration::from_secs(10));
    live.wait_for("fake: got Runtime.Poll", Duration::from_secs(10));
    // The stubborn executor ignores Cancel and stdin EOF: SIGTERM at 4 s, SIGKILL at 5 s.
    let run = signal_and_finish(live, "-HUP", 129, Duration::from_secs(5 + 3));
    let printed = run.json();
    assert_eq!(printed["error"]["cause"], "HungUp", "{printed}");
    assert_eq!(printed["events"][0]["message"], "poll 1");
    let text = std::fs::read_to_string(&transcript).unwrap();
    let recorded = rep_spec::parse_transcript(&text).unwrap();
    assert!(
        recorded
            .records
            .iter()
            .any(|r| matches!(r, rep_spec::Record::Exit { .. })),
        "the executor's exit is recorded"
    );
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 2, "no temporary file left: {names:?}");
    assert_no_survivors(&run.stderr);
    assert_none_with(&marker);
}

/// Finding 9: rep-conformance was no subreaper: a `setsid` grandchild of the executor under
/// test survived the run. Now it is swept when the run ends.
#[test]
fn rep_conformance_sweeps_descendants_that_left_the_executors_group() {
    let marker = marker();
    let output = Command::new(rep_conformance())
        .args(["run", "--executor"])
        .arg(fake_executor())
        .args(["--filter", "REP-FRM-001", "--", "setsid-child", &marker])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("fake: grandchild pid"), "{stderr}");
    assert_no_survivors(&stderr);
    assert_none_with(&marker);
}

/// Finding 10: a manifest entry whose `ir_path` is /dev/zero grew until allocation failed, a
/// 1 GB manifest was read whole, rep-replay read a 1 GB line whole. Now each file a user
/// names is a regular file under its cap, refused at once otherwise, naming the cap.
#[test]
fn user_named_files_are_refused_past_their_cap_without_being_read() {
    let dir = tempfile::tempdir().unwrap();
    if let Some(zero) = device(dir.path(), "zero", 1, 5) {
        let manifest = dir.path().join("zero-manifest.json");
        std::fs::write(
            &manifest,
            format!(
                r#"[{{"name": "plant-monitor", "ir_path": "{}"}}]"#,
                zero.display()
            ),
        )
        .unwrap();
        let run = run_flow(&manifest, "plant-monitor", &[]);
        assert_eq!(run.code, 2, "{}", run.stderr);
        assert!(
            run.stderr
                .contains("caused by: a character device, not a regular file"),
            "{}",
            run.stderr
        );
    }
    // 1 GiB, sparse: refused by its size, never read.
    let huge = dir.path().join("huge.json");
    std::fs::File::create(&huge)
        .unwrap()
        .set_len(1 << 30)
        .unwrap();
    let run = run_flow(&huge, "x", &[]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("caused by: 1 GiB, over the 16 MiB cap for manifests"),
        "{}",
        run.stderr
    );
    let replay = |transcript: &Path| {
        Command::new(rep_replay())
            .arg(transcript)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    };
    let output = replay(&huge);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("1 GiB, over the 256 MiB cap for transcripts"),
        "{stderr}"
    );
    // A header, then a 200 MiB line without end: under the file's cap, over the line's.
    let header = r#"{"type":"header","format":"rep-transcript/1","tool":"tm","version":"0","rep_version":"0.1","executor":["x"],"started_at":"2026-01-01T00:00:00Z"}"#;
    let long = dir.path().join("long-line.jsonl");
    std::fs::write(&long, format!("{header}\n")).unwrap();
    std::fs::OpenOptions::new()
        .append(true)
        .open(&long)
        .unwrap()
        .set_len(200 << 20)
        .unwrap();
    let output = replay(&long);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("line 2 is longer than the 67108864-byte cap on a transcript line"),
        "{stderr}"
    );
    // Every file above was refused before it was read whole.
    let peak_mib = peak_child_rss_kib() / 1024;
    assert!(peak_mib < 150, "a child peaked at {peak_mib} MiB");
}

/// Minor: `-q` hid the warning about `--events-jsonl` but not the transcript's; both are
/// warnings, hidden alike.
#[test]
fn quiet_hides_the_transcript_warning_as_it_hides_the_events_one() {
    let dir = tempfile::tempdir().unwrap();
    let events = dir.path().join("events");
    let transcript = dir.path().join("transcript");
    mkfifo(&events);
    mkfifo(&transcript);
    let outputs = [
        "--events-jsonl",
        events.to_str().unwrap(),
        "--record",
        transcript.to_str().unwrap(),
    ];
    let loud = run_plant(&outputs);
    assert_eq!(loud.code, 0, "{}", loud.stderr);
    assert!(loud.stderr.contains("--events-jsonl: "), "{}", loud.stderr);
    assert!(
        loud.stderr.contains("the transcript ") && loud.stderr.contains(" is incomplete"),
        "{}",
        loud.stderr
    );
    let quiet = run_plant(&[&outputs[..], &["-q"]].concat());
    assert_eq!(quiet.code, 0, "{}", quiet.stderr);
    assert_eq!(quiet.stderr, "", "-q prints errors only");
    assert_eq!(quiet.json()["status"], "completed");
}

/// Minor: `--timeout 1e-9` reported "engine timeout of 0 s".
#[test]
fn a_tiny_engine_timeout_is_reported_as_given() {
    let run = tm_run(
        &plant_monitor_manifest(),
        "plant-monitor",
        &["--timeout", "1e-9"],
        &[],
    );
    assert_eq!(run.code, 4, "{}", run.stderr);
    let message = run.json()["error"]["message"].as_str().unwrap().to_owned();
    assert!(
        message.starts_with("engine timeout of 0.000000001 s expired"),
        "{message}"
    );
}

/// Done when: `tm` ends after SIGINT, SIGTERM and SIGHUP, each with its code, the events so
/// far printed, nothing left.
#[test]
fn tm_ends_after_each_signal_with_its_code_and_leaves_nothing() {
    for (signal, code) in SIGNALS {
        let dir = tempfile::tempdir().unwrap();
        let marker = marker();
        let config = fake_config_marked(dir.path(), "hang", &marker);
        let live = LiveTm::start(&plant(&config, &[]), &[]);
        live.wait_for("fake: got Runtime.Poll", Duration::from_secs(10));
        // The executor honours Cancel: well within the 5 s of the shutdown sequence.
        let run = signal_and_finish(live, signal, code, Duration::from_secs(5));
        one_document(&run.stdout);
        assert_eq!(run.json()["events"][0]["message"], "poll 1");
        assert_none_with(&marker);
    }
}

/// Done when (and finding 9): rep-conformance ends at once after each signal, the executor
/// under test and its child killed.
#[test]
fn rep_conformance_ends_after_each_signal_and_leaves_nothing() {
    for (signal, code) in SIGNALS {
        let marker = marker();
        let args = vec![
            "run".to_owned(),
            "--executor".into(),
            fake_executor().display().to_string(),
            "--filter".into(),
            "REP-LIF-001".into(),
            "--".into(),
            "stubborn".into(),
            marker.clone(),
        ];
        let live = LiveTm::start_program(&rep_conformance(), &args, &[], false);
        live.wait_for("fake: got Runtime.Poll", Duration::from_secs(15));
        let run = signal_and_finish(live, signal, code, Duration::from_secs(3));
        assert_no_survivors(&run.stderr);
        assert_none_with(&marker);
    }
}

/// Issue 22: `rep-conformance fuzz` ends at once after each signal, the executor of the case
/// it runs (a `rep.probe` step of 60 s) killed.
#[test]
fn rep_conformance_fuzz_ends_after_each_signal_and_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut ir = plant_monitor_ir();
    ir["graph"] = serde_json::json!({
        "nodes": [{"id": "long", "type": "rep.probe", "with": {"delay_ms": 60_000},
                   "timeout_ms": 0, "retry": {"max": 0, "backoff_ms": 0}}],
        "edges": []
    });
    ir["inputs_schema"] = serde_json::json!({});
    let case = dir.path().join("case.json");
    std::fs::write(&case, ir.to_string()).unwrap();
    for (signal, code) in SIGNALS {
        // The executor, found by the marker in its path.
        let marker = marker();
        let executor = dir.path().join(&marker);
        symlink(mock_executor(), &executor).unwrap();
        let args = vec![
            "fuzz".to_owned(),
            "--executor".into(),
            executor.display().to_string(),
            "--case".into(),
            case.display().to_string(),
        ];
        let live = LiveTm::start_program(&rep_conformance(), &args, &[], false);
        // rep-conformance and the executor of the case both hold the marker.
        let deadline = Instant::now() + Duration::from_secs(15);
        while processes_with(&marker).len() < 2 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        std::thread::sleep(Duration::from_millis(300));
        signal_and_finish(live, signal, code, Duration::from_secs(3));
        assert_none_with(&marker);
    }
}

/// Done when: rep-replay (an executor waiting on its host) ends at once after each signal.
#[test]
fn rep_replay_ends_after_each_signal() {
    let dir = tempfile::tempdir().unwrap();
    let marker = marker();
    let transcript = dir.path().join(format!("{marker}.jsonl"));
    let run = tm_run(
        &plant_monitor_manifest(),
        "plant-monitor",
        &["--record", transcript.to_str().unwrap()],
        &[],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    for (signal, code) in SIGNALS {
        let args = vec![transcript.display().to_string(), "--timing".into()];
        let live = LiveTm::start_program(&rep_replay(), &args, &[], true);
        std::thread::sleep(Duration::from_millis(300));
        signal_and_finish(live, signal, code, Duration::from_secs(2));
        assert_none_with(&marker);
    }
}

/// Done when: rep-bridge ends after each signal within its stop grace (1 s), the command
/// of its spawn mode and that command's children killed.
#[test]
fn rep_bridge_ends_after_each_signal_and_stops_its_command() {
    for (signal, code) in SIGNALS {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        // A unique duration: the marker of this command line (and of its `sleep`).
        let marker = format!("1000.{}{}", std::process::id(), port);
        let script = format!("sleep {marker} & echo \"sim: up\"; exec sleep {marker}");
        let args = strings(&[
            "--connect-timeout",
            "60",
            &format!("tcp:127.0.0.1:{port}"),
            "--",
            "sh",
            "-c",
            &script,
        ]);
        let live = LiveTm::start_program(&rep_bridge(), &args, &[], true);
        live.wait_for("sim: up", Duration::from_secs(10));
        let run = signal_and_finish(live, signal, code, Duration::from_secs(3));
        assert!(run.stdout.is_empty(), "{}", run.stdout);
        assert_none_with(&marker);
    }
}

//! Issue 24: pinned and sandboxed executors, with real executors — scripts (bash, python3)
//! that probe what they may do and then `exec` mock-executor, the fake executor, and
//! mock-executor itself. (c-executor's: native/sandbox.rs.)
//!
//! Each probe script writes `probe: …` lines to stderr (forwarded by `tm`) and, unless it
//! dies, hands over to mock-executor, so that the run completes and the probe's lines are
//! the evidence. Every restriction is checked against a control run without it, so that a
//! probe that could never succeed cannot pass for a sandbox.
//!
//! Needs: Landlock (ABI 3+), network namespaces (root or unprivileged user namespaces),
//! fanotify permission events and `setpriv` (root). CI sets `REP_SANDBOX_REQUIRED=1`, which
//! makes each of them mandatory; elsewhere a missing one skips its test with a note.

#![allow(clippy::unwrap_used)] // tests unwrap: a failure is the report

mod common;
#[path = "common/sandbox.rs"]
mod sandbox_common;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::*;
use sandbox_common::*;

/// A bash executor running `body`, then `exec`ing `$REAL_EXECUTOR` (mock-executor).
fn probe(dir: &Path, body: &str) -> PathBuf {
    write_script(
        dir,
        "probe.sh",
        &format!("#!/bin/bash\n{body}\nexec \"$REAL_EXECUTOR\"\n"),
    )
}

/// `(REAL_EXECUTOR, mock-executor)` and `extra` as the executor's environment.
fn with_mock<'a>(mock: &'a str, extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut env = vec![("REAL_EXECUTOR", mock)];
    env.extend_from_slice(extra);
    env
}

/// Runs plant-monitor with `config`; `tm`'s environment gets `env`.
fn run(config: &Path, env: &[(&str, &str)]) -> Run {
    tm_plant_with_config(config, &[], env)
}

fn assert_completed(run: &Run) {
    assert_eq!(
        run.code, 0,
        "stdout:\n{}\nstderr:\n{}",
        run.stdout, run.stderr
    );
    assert_eq!(run.json()["status"], "completed", "{}", run.stdout);
}

/// The `error` member of a failed run's output, which exited 4 (RuntimeInternal, 3001).
fn runtime_error(run: &Run) -> serde_json::Value {
    assert_eq!(
        run.code, 4,
        "stdout:\n{}\nstderr:\n{}",
        run.stdout, run.stderr
    );
    let error = run.json()["error"].clone();
    assert_eq!(error["code"], 3001, "{error}");
    error
}

// ---------------------------------------------------------------------------------------
// Item 1: integrity.

#[test]
fn a_pinned_script_runs_and_a_changed_byte_is_refused_before_it_runs() {
    let dir = scratch();
    let marker = dir.path().join("ran");
    let mock = mock_executor();
    let mock = mock.to_str().unwrap();
    let script = probe(dir.path(), "touch \"$MARKER\"");
    let config = sandbox_config(
        dir.path(),
        &script,
        &with_mock(mock, &[("MARKER", marker.to_str().unwrap())]),
        "",
    );
    let hash = pin(&config);
    assert_completed(&run(&config, &[]));
    assert!(marker.exists(), "the pinned script ran");
    std::fs::remove_file(&marker).unwrap();

    // One byte changed (a comment): refused before anything of it runs.
    let text = std::fs::read_to_string(&script).unwrap();
    std::fs::write(
        &script,
        text.replacen("#!/bin/bash\n", "#!/bin/bash\n#\n", 1),
    )
    .unwrap();
    let refused = run(&config, &[]);
    let error = runtime_error(&refused);
    let message = error["message"].as_str().unwrap();
    assert_eq!(error["cause"], "ExecutorMismatch", "{error}");
    assert!(message.contains(&hash), "the expected hash: {message}");
    assert!(
        message.contains(script.to_str().unwrap()),
        "the path: {message}"
    );
    let found = message.split("found ").nth(1).unwrap_or_default();
    assert_eq!(
        found.get(..64).map(str::len),
        Some(64),
        "the actual hash: {message}"
    );
    assert!(!marker.exists(), "no byte of the changed script ran");

    // --executor-sha256 wins over the file's pin.
    let flag = tm_plant_with_config(&config, &["--executor-sha256", &hash.to_uppercase()], &[]);
    assert_eq!(flag.code, 4, "{}", flag.stderr);
    let bad = tm_plant_with_config(&config, &["--executor-sha256", "abc"], &[]);
    assert_eq!(
        bad.code, 2,
        "a malformed hash is a usage error: {}",
        bad.stderr
    );
}

#[test]
fn a_pinned_binary_runs_from_its_sealed_copy_and_a_changed_byte_is_refused() {
    let dir = scratch();
    let executor = dir.path().join("fake-executor");
    std::fs::copy(fake_executor(), &executor).unwrap();
    let config = sandbox_config(dir.path(), &executor, &[], "");
    let hash = pin(&config);
    let ok = run(&config, &[]);
    assert_completed(&ok);
    // The pinned executor runs from its sealed copy, named by its path (argv[0]).
    assert!(ok.stderr.contains("fake: pid"), "{}", ok.stderr);

    let mut bytes = std::fs::read(&executor).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&executor, &bytes).unwrap();
    let refused = run(&config, &[]);
    let error = runtime_error(&refused);
    assert!(
        error["message"].as_str().unwrap().contains(&hash),
        "{error}"
    );
    assert!(
        !refused.stderr.contains("fake: pid"),
        "it never started: {}",
        refused.stderr
    );
}

#[test]
fn tm_executor_pin_prints_the_hash_and_keeps_the_configs_comments_and_order() {
    let dir = scratch();
    let executor = fake_executor();
    let config = sandbox_config(dir.path(), &executor, &[("A", "b")], "network: false");
    let before = std::fs::read_to_string(&config).unwrap();
    let hash = pin(&config);
    let expected_hash = sha256_of(&executor);
    assert_eq!(hash, expected_hash);
    let after = std::fs::read_to_string(&config).unwrap();
    assert_eq!(
        after,
        before.replacen(
            "  # the executor\n",
            &format!("  # the executor\n  executor_sha256: \"{hash}\"\n"),
            1
        )
    );
    // Pinning again changes nothing; without --runtime-config it only prints.
    pin(&config);
    assert_eq!(std::fs::read_to_string(&config).unwrap(), after);
    let printed = tm(
        &[
            "executor",
            "pin",
            "--executor-path",
            executor.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(printed.code, 0, "{}", printed.stderr);
    assert_eq!(printed.stdout, format!("{hash}  {}\n", executor.display()));
}

/// sha256 of a file, by coreutils (an independent implementation).
fn sha256_of(path: &Path) -> String {
    let out = Command::new("sha256sum")
        .arg(path)
        .output()
        .expect("sha256sum");
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_owned()
}

/// The swap race, made deterministic with a fanotify permission event: the test marks the
/// executor file's inode with FAN_OPEN_PERM, so `tm`'s first open of it blocks until the test
/// answers; before answering, the test renames another script over the path. `tm` has the
/// old file open; whatever it runs next by *path* is the new one.
///
/// Without a pin, `tm` opens the file to check it, then executes the path: the swapped-in
/// script runs (the control — it shows the swap lands between check and exec). With a pin,
/// `tm` hashes and runs the bytes it opened: the swapped-in script never runs.
#[test]
fn a_swap_after_tm_opens_the_executor_cannot_win() {
    if !is_root() {
        sandbox_unavailable("fanotify permission events need root (CAP_SYS_ADMIN)");
        return;
    }
    let mock = mock_executor();
    let mock = mock.to_str().unwrap();
    for pinned in [false, true] {
        let dir = scratch();
        let evil_marker = dir.path().join("evil-ran");
        let good = probe(dir.path(), "echo 'probe: the good script runs' >&2");
        let executor = dir.path().join("executor.sh");
        std::fs::rename(&good, &executor).unwrap();
        let evil = write_script(
            dir.path(),
            "evil.sh",
            &format!(
                "#!/bin/bash\ntouch {}\necho 'probe: the swapped-in script runs' >&2\nexec \"$REAL_EXECUTOR\"\n",
                evil_marker.display()
            ),
        );
        let config = sandbox_config(dir.path(), &executor, &with_mock(mock, &[]), "");
        if pinned {
            pin(&config);
        }
        let swapped = swap_on_first_open(&executor, &evil, &config);
        assert!(swapped.1, "the swap happened while tm had the file open");
        let run = swapped.0;
        assert_completed(&run);
        if pinned {
            assert!(
                !evil_marker.exists(),
                "the swapped-in script ran: {}",
                run.stderr
            );
            assert!(
                run.stderr.contains("probe: the good script runs"),
                "{}",
                run.stderr
            );
        } else {
            assert!(
                evil_marker.exists(),
                "control: the swap won without a pin: {}",
                run.stderr
            );
        }
    }
}

/// Runs plant-monitor with `config`; on `tm`'s first open of `executor`, renames
/// `replacement` over it, then lets the open proceed. Returns the run and whether the swap
/// happened.
fn swap_on_first_open(executor: &Path, replacement: &Path, config: &Path) -> (Run, bool) {
    use nix::sys::fanotify::{
        EventFFlags, Fanotify, FanotifyResponse, InitFlags, MarkFlags, MaskFlags, Response,
    };
    let fan = Fanotify::init(
        InitFlags::FAN_CLASS_CONTENT | InitFlags::FAN_CLOEXEC | InitFlags::FAN_NONBLOCK,
        EventFFlags::O_RDONLY | EventFFlags::O_CLOEXEC,
    )
    .expect("fanotify_init (root, CONFIG_FANOTIFY_ACCESS_PERMISSIONS)");
    fan.mark(
        MarkFlags::FAN_MARK_ADD,
        MaskFlags::FAN_OPEN_PERM,
        nix::fcntl::AT_FDCWD,
        Some(executor),
    )
    .expect("fanotify_mark");
    let args = plant_args(config, &[]);
    let child = Command::new(tm_path())
        .args(&args)
        .env_remove("RUST_LOG")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("tm starts");
    let started = Instant::now();
    let mut swapped = false;
    while !swapped && started.elapsed() < Duration::from_secs(60) {
        match fan.read_events() {
            Ok(events) => {
                for event in events {
                    if !swapped {
                        std::fs::rename(replacement, executor).expect("swap");
                        swapped = true;
                    }
                    if let Some(fd) = event.fd() {
                        fan.write_response(FanotifyResponse::new(fd, Response::FAN_ALLOW))
                            .expect("allow");
                    }
                }
            }
            Err(nix::errno::Errno::EAGAIN) => std::thread::sleep(Duration::from_millis(1)),
            Err(e) => panic!("fanotify read: {e}"),
        }
    }
    // Closing the group allows whatever else waits.
    drop(fan);
    (
        Run::of(child.wait_with_output().expect("tm ends"), started),
        swapped,
    )
}

// ---------------------------------------------------------------------------------------
// Item 2 and 5: what the sandbox forbids.

#[test]
fn a_sandboxed_executor_cannot_read_outside_read() {
    let dir = scratch();
    let home = dir.path().join("home");
    let models = dir.path().join("models");
    std::fs::create_dir_all(&home).unwrap();
    std::fs::create_dir_all(&models).unwrap();
    std::fs::write(home.join("canary"), "secret").unwrap();
    std::fs::write(models.join("weights"), "ok").unwrap();
    let mock = mock_executor();
    let mock = mock.to_str().unwrap();
    let script = probe(
        dir.path(),
        "for f in \"$HOME/canary\" \"$MODELS/weights\"; do\n  if cat \"$f\" >/dev/null 2>&1; then echo \"probe: read $f\" >&2; else echo \"probe: cannot read $f\" >&2; fi\ndone",
    );
    let env = with_mock(mock, &[("MODELS", models.to_str().unwrap())]);
    let home_env = [("HOME", home.to_str().unwrap())];
    let canary = format!("{}/canary", home.display());
    let weights = format!("{}/weights", models.display());

    let control = run(&sandbox_config(dir.path(), &script, &env, ""), &home_env);
    assert_completed(&control);
    assert!(
        control.stderr.contains(&format!("probe: read {canary}")),
        "{}",
        control.stderr
    );

    // `./models` is relative to the config file's folder; the script and mock-executor
    // (run by path: not pinned) are readable.
    let sandbox = format!(
        "read: [{SYSTEM_READ}, ./models, {}, {mock}]",
        script.display()
    );
    let sandboxed = run(
        &sandbox_config(dir.path(), &script, &env, &sandbox),
        &home_env,
    );
    assert_completed(&sandboxed);
    assert!(
        sandboxed
            .stderr
            .contains(&format!("probe: cannot read {canary}")),
        "{}",
        sandboxed.stderr
    );
    assert!(
        sandboxed.stderr.contains(&format!("probe: read {weights}")),
        "{}",
        sandboxed.stderr
    );
}

#[test]
fn a_sandboxed_executor_cannot_write_outside_write() {
    let dir = scratch();
    let home = dir.path().join("home");
    let out = dir.path().join("out");
    std::fs::create_dir_all(&home).unwrap();
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(home.join("notes"), "keep").unwrap();
    let mock = mock_executor();
    let mock = mock.to_str().unwrap();
    let script = probe(
        dir.path(),
        "echo x > \"$OUT/result\" && echo 'probe: wrote out' >&2\n\
         echo x > \"$HOME/evil\" 2>/dev/null && echo 'probe: wrote home' >&2\n\
         : > \"$HOME/notes\" 2>/dev/null && echo 'probe: emptied notes' >&2\n\
         true",
    );
    let env = with_mock(mock, &[("OUT", out.to_str().unwrap())]);
    // `write: [$OUT_DIR]`: tm expands the variable from its own environment.
    let tm_env = [
        ("HOME", home.to_str().unwrap()),
        ("OUT_DIR", out.to_str().unwrap()),
    ];
    let sandboxed = run(
        &sandbox_config(dir.path(), &script, &env, "write: [$OUT_DIR]"),
        &tm_env,
    );
    assert_completed(&sandboxed);
    assert!(
        sandboxed.stderr.contains("probe: wrote out"),
        "{}",
        sandboxed.stderr
    );
    assert!(
        !sandboxed.stderr.contains("probe: wrote home"),
        "{}",
        sandboxed.stderr
    );
    assert!(
        !sandboxed.stderr.contains("probe: emptied notes"),
        "{}",
        sandboxed.stderr
    );
    assert!(out.join("result").exists());
    assert!(!home.join("evil").exists());
    assert_eq!(std::fs::read_to_string(home.join("notes")).unwrap(), "keep");

    let control = run(&sandbox_config(dir.path(), &script, &env, ""), &tm_env);
    assert_completed(&control);
    assert!(
        control.stderr.contains("probe: wrote home"),
        "{}",
        control.stderr
    );
}

#[test]
fn a_sandboxed_executor_cannot_connect_to_a_listener_on_localhost() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    let dir = scratch();
    let mock = mock_executor();
    let mock = mock.to_str().unwrap();
    let script = probe(
        dir.path(),
        "if (exec 3<>\"/dev/tcp/127.0.0.1/$PORT\") 2>/dev/null; then echo 'probe: connected' >&2; else echo 'probe: no connection' >&2; fi",
    );
    let env = with_mock(mock, &[("PORT", &port)]);
    let accepted = |listener: &TcpListener| listener.accept().is_ok();

    let sandboxed = run(
        &sandbox_config(dir.path(), &script, &env, "network: false"),
        &[],
    );
    assert_completed(&sandboxed);
    assert!(
        sandboxed.stderr.contains("probe: no connection"),
        "{}",
        sandboxed.stderr
    );
    assert!(
        !accepted(&listener),
        "the listener was reached from the sandbox"
    );

    let control = run(&sandbox_config(dir.path(), &script, &env, ""), &[]);
    assert_completed(&control);
    assert!(
        control.stderr.contains("probe: connected"),
        "{}",
        control.stderr
    );
    assert!(accepted(&listener), "control: the listener is reachable");
}

/// `processes` is RLIMIT_NPROC, which Linux does not enforce for root: as root, tm refuses
/// it (exit 4 naming why) unless best_effort; as another user (here nobody, through
/// setpriv), the executor's forks past it fail with EAGAIN — counted in a user namespace of
/// its own, so the user's other processes do not count.
#[test]
fn a_sandboxed_executor_cannot_fork_past_processes() {
    let dir = scratch();
    let mock = mock_executor();
    let mock = mock.to_str().unwrap();
    let script = probe(
        dir.path(),
        "python3 - >&2 <<'PY'\nimport os, time\npids = []\ntry:\n    for _ in range(40):\n        pid = os.fork()\n        if pid == 0:\n            time.sleep(10)\n            os._exit(0)\n        pids.append(pid)\n    print(f'probe: forked {len(pids)}')\nexcept OSError as e:\n    print(f'probe: fork failed after {len(pids)}: {e.strerror}')\nfor pid in pids:\n    os.kill(pid, 9)\n    os.waitpid(pid, 0)\nPY",
    );
    let env = with_mock(mock, &[]);
    if is_root() {
        let config = sandbox_config(dir.path(), &script, &env, "processes: 12");
        let refused = run(&config, &[]);
        let message = runtime_error(&refused)["message"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(
            message.contains("processes") && message.contains("root"),
            "{message}"
        );
        let config = sandbox_config(
            dir.path(),
            &script,
            &env,
            "processes: 12\nbest_effort: true",
        );
        let logged = run(&config, &[]);
        assert_completed(&logged);
        assert!(
            logged
                .stderr
                .contains("NOT applied (best_effort): processes: 12"),
            "{}",
            logged.stderr
        );
        assert!(
            logged.stderr.contains("probe: forked 40"),
            "{}",
            logged.stderr
        );
    }
    let config = sandbox_config(dir.path(), &script, &env, "processes: 12");
    let Some(limited) = as_nobody(&config) else {
        return;
    };
    assert_completed(&limited);
    let line = limited
        .stderr
        .lines()
        .find(|l| l.contains("probe: fork"))
        .unwrap_or_else(|| panic!("{}", limited.stderr))
        .to_owned();
    let forked: usize = line
        .split("after ")
        .nth(1)
        .and_then(|rest| rest.split(':').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("forks failed: {line}"));
    // bash and python3 count too.
    assert!(forked <= 10, "{line}");
    assert!(line.contains("Resource temporarily unavailable"), "{line}");
}

/// Runs plant-monitor with `config` as the user nobody (`setpriv`), when this process is
/// root; `None` (skipped) otherwise.
fn as_nobody(config: &Path) -> Option<Run> {
    if !is_root() || Command::new("setpriv").arg("--version").output().is_err() {
        sandbox_unavailable("running tm as another user needs root and setpriv");
        return None;
    }
    let args = plant_args(config, &[]);
    let started = Instant::now();
    let output = Command::new("setpriv")
        .args(["--reuid", "65534", "--regid", "65534", "--clear-groups"])
        .arg(tm_path())
        .args(&args)
        .env_remove("RUST_LOG")
        .env("HOME", config.parent().unwrap())
        .output()
        .expect("setpriv runs");
    Some(Run::of(output, started))
}

// ---------------------------------------------------------------------------------------
// Item 3: a limit reached is a clear run result.

#[test]
fn cpu_seconds_stops_a_spinning_executor_with_3001_naming_the_limit() {
    let dir = scratch();
    let mock = mock_executor();
    let script = probe(
        dir.path(),
        "echo 'probe: spinning' >&2\nwhile :; do :; done",
    );
    let config = sandbox_config(
        dir.path(),
        &script,
        &with_mock(mock.to_str().unwrap(), &[]),
        "cpu_seconds: 1",
    );
    let stopped = run(&config, &[]);
    let error = runtime_error(&stopped);
    let message = error["message"].as_str().unwrap();
    assert!(message.contains("SIGXCPU"), "{message}");
    assert!(message.contains("cpu_seconds limit"), "{message}");
    assert!(message.contains("after 1 s of CPU time"), "{message}");
}

#[test]
fn memory_mb_stops_an_allocating_executor_with_3001_naming_the_limit() {
    // A Rust executor aborts when an allocation fails.
    let dir = scratch();
    let fake = fake_executor();
    let config = dir.path().join("runtime.yaml");
    std::fs::write(
        &config,
        format!(
            "runtime:\n  executor_path: {}\n  executor_args: [allocate]\n  executor_env: {{FAKE_ALLOC_MB: '800'}}\nsandbox:\n  memory_mb: 400\n",
            fake.display()
        ),
    )
    .unwrap();
    let stopped = run(&config, &[]);
    let message = runtime_error(&stopped)["message"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(message.contains("SIGABRT"), "{message}");
    assert!(message.contains("memory_mb limit"), "{message}");
    assert!(
        message.contains("memory allocation of"),
        "the executor's own words: {message}"
    );
    // The control: the same executor without the limit completes.
    let unlimited = std::fs::read_to_string(&config)
        .unwrap()
        .replace("sandbox:\n  memory_mb: 400\n", "");
    std::fs::write(&config, unlimited).unwrap();
    assert_completed(&run(&config, &[]));

    // A script's interpreter says MemoryError and exits 1: the limits are named.
    let mock = mock_executor();
    let script = probe(dir.path(), "python3 -c 'bytearray(800 << 20)' || exit 1");
    let config = sandbox_config(
        dir.path(),
        &script,
        &with_mock(mock.to_str().unwrap(), &[]),
        "memory_mb: 400",
    );
    let stopped = run(&config, &[]);
    let message = runtime_error(&stopped)["message"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        message.contains("sandbox limits in force: memory_mb 400"),
        "{message}"
    );
    assert!(message.contains("MemoryError"), "{message}");
}

// ---------------------------------------------------------------------------------------
// What is in force is said; what is missing is refused.

#[test]
fn capabilities_and_verbose_runs_print_the_sandbox_in_force() {
    let dir = scratch();
    let config = sandbox_config(
        dir.path(),
        &mock_executor(),
        &[],
        "network: false\nwrite: [$TMPDIR, ./missing]\nmemory_mb: 2048\ncpu_seconds: 60\nopen_files: 256",
    );
    let config_arg = config.to_str().unwrap();
    let caps = tm(
        &["--runtime-config", config_arg, "runtime", "capabilities"],
        &[("TMPDIR", "/tmp")],
    );
    assert_eq!(caps.code, 0, "{}", caps.stderr);
    for line in [
        "sandbox: network: off (a network namespace of its own",
        "sandbox: write: /tmp (Landlock ABI",
        "sandbox: memory_mb: 2048 (RLIMIT_AS",
        "sandbox: cpu_seconds: 60 (RLIMIT_CPU: SIGXCPU after 60 s of CPU time, SIGKILL after 61 s)",
        "sandbox: open_files: 256 (RLIMIT_NOFILE",
        "sandbox: no_new_privs: on",
        &format!(
            "sandbox: skipped (does not exist): {}/missing",
            dir.path().display()
        ),
    ] {
        assert!(caps.stderr.contains(line), "{line:?} in:\n{}", caps.stderr);
    }
    let verbose = tm_plant_with_config(&config, &["-v"], &[]);
    assert_completed(&verbose);
    assert!(
        verbose.stderr.contains("sandbox: network: off"),
        "{}",
        verbose.stderr
    );
}

#[test]
fn the_locked_down_runtime_yaml_of_docs_security_runs_plant_monitor_on_mock_executor() {
    let dir = scratch();
    let config = locked_down_config(dir.path(), &mock_executor());
    pin(&config);
    let run = run(&config, &[]);
    assert_completed(&run);
    assert_eq!(run.steps("succeeded").len(), 6, "{}", run.stdout);
}

// ---------------------------------------------------------------------------------------
// Item 4: rep-conformance applies the pin and the sandbox of --config.

#[test]
fn mock_executor_passes_the_conformance_suite_pinned_and_in_the_sandbox() {
    let dir = scratch();
    let config = locked_down_config(dir.path(), &mock_executor());
    let hash = pin(&config);
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../conformance/fixtures/mock");
    let (run, report) = conformance_with_config(&config, &fixtures, false);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(report["executor"]["sha256"], hash.as_str(), "{report}");
    assert_eq!(report["summary"]["failed"], 0, "{}", run.stdout);
    assert!(
        run.stderr.contains("sandbox: network: off"),
        "{}",
        run.stderr
    );

    // A file that no longer matches is refused before any test.
    let copy = dir.path().join("mock-executor");
    std::fs::copy(mock_executor(), &copy).unwrap();
    std::fs::OpenOptions::new()
        .append(true)
        .open(&copy)
        .and_then(|mut f| std::io::Write::write_all(&mut f, b"\0"))
        .unwrap();
    let text = std::fs::read_to_string(&config).unwrap();
    let moved: String = text
        .lines()
        .map(|l| match l.split_once("executor_path:") {
            Some((indent, _)) => format!("{indent}executor_path: {}\n", copy.display()),
            None => format!("{l}\n"),
        })
        .collect();
    std::fs::write(&config, moved).unwrap();
    let (refused, report) = conformance_with_config(&config, &fixtures, false);
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    assert!(refused.stderr.contains(&hash), "{}", refused.stderr);
    assert!(
        refused.stderr.contains("does not match its pinned sha256"),
        "{}",
        refused.stderr
    );
    assert!(report.is_null(), "no report");
}

//! `rep-bridge` with real processes on loopback: `tm` runs plant-monitor through it to the
//! mock executor on a TCP listener, a Unix socket and a pty-emulated serial line, behind a
//! boot banner and in spawn mode; `rep-conformance` certifies the mock executor through it;
//! and every way it fails — refused, timed out, the remote dying, an over-long line, signals —
//! ends with its exit code, within a time bound, leaving no process behind.

#![allow(clippy::unwrap_used)] // tests unwrap: a failure is the report

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::fd::OwnedFd;
use std::path::Path;
use std::process::{Child, ChildStderr, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::*;
use serde_json::json;

/// A mock executor serving `--listen ADDR`; killed and reaped when dropped.
struct Listening {
    child: Child,
    /// The bound address as printed: `tcp:127.0.0.1:PORT` or `unix:PATH`.
    addr: String,
}

impl Listening {
    fn start(listen: &str) -> Listening {
        let mut child = Command::new(mock_executor())
            .args(["--listen", listen])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let lines = stderr_lines(child.stderr.take().unwrap());
        let line = lines
            .recv_timeout(Duration::from_secs(10))
            .expect("mock-executor prints its address");
        let addr = line
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .to_owned();
        Listening { child, addr }
    }

    /// The bridge's endpoint argument for this listener, spelled as mock-executor printed it:
    /// `[tcp:HOST:PORT]` or `[unix:PATH]`.
    fn transport(&self) -> Vec<String> {
        vec![self.addr.clone()]
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Listening {
    fn drop(&mut self) {
        send_signal(self.child.id(), "-KILL");
        let _ = self.child.wait();
    }
}

/// A child's stderr, line by line, read on a thread.
fn stderr_lines(stderr: ChildStderr) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { return };
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    rx
}

/// A runtime.yaml whose executor is `rep-bridge ARGS…`.
fn bridge_config(dir: &Path, args: &[String]) -> std::path::PathBuf {
    let path = dir.join("runtime.yaml");
    let yaml = format!(
        "runtime:\n  engine: proc\n  language: rust\n  plugins_language: rust\n  executor_path: {}\n  executor_args: {}\n",
        rep_bridge().display(),
        serde_json::to_string(args).unwrap()
    );
    std::fs::write(&path, yaml).unwrap();
    path
}

/// `tm` runs plant-monitor (with its inputs) through `rep-bridge ARGS…`.
fn tm_plant_through_bridge(args: &[String]) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let config = bridge_config(dir.path(), args);
    // A short engine timeout, so that a broken bridge fails the test quickly.
    tm_plant_with_config(
        &config,
        &["--inputs", &plant_monitor_inputs(), "--timeout", "20"],
        &[],
    )
}

fn assert_plant_monitor_completed(run: &Run) {
    assert_eq!(
        run.code, 0,
        "stdout:\n{}\nstderr:\n{}",
        run.stdout, run.stderr
    );
    assert_eq!(run.json()["status"], "completed", "{}", run.stdout);
    assert_eq!(
        run.steps("succeeded"),
        ["read", "decide", "when_0", "write", "emit_1", "finish_2"]
    );
    // A run through the bridge takes milliseconds; the bound only catches a hang.
    assert!(run.elapsed < Duration::from_secs(30), "{:?}", run.elapsed);
}

/// How a bridge started with `args` appears in /proc/PID/cmdline.
fn bridge_cmdline(args: &[String]) -> String {
    format!("rep-bridge\0{}", args.join("\0"))
}

/// Asserts that process `pid` ends within 2 s.
fn assert_gone(pid: u32, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(2);
    while alive(pid) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(!alive(pid), "{what} (pid {pid}) survived");
}

/// `rep-bridge ARGS…` run directly, its stdin held open (as a host holds it) until dropped.
struct Bridge {
    child: Child,
    stderr: mpsc::Receiver<String>,
    started: Instant,
}

impl Bridge {
    fn start(args: &[&str]) -> Bridge {
        let mut child = Command::new(rep_bridge())
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = stderr_lines(child.stderr.take().unwrap());
        Bridge {
            child,
            stderr,
            started: Instant::now(),
        }
    }

    /// Waits up to `limit` for the bridge to exit; a bridge still running then is killed and
    /// the test fails.
    fn wait(&mut self, limit: Duration) -> (ExitStatus, Duration, String) {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                let elapsed = self.started.elapsed();
                // The bridge is gone, so its stderr reaches EOF.
                let stderr: Vec<String> = self.stderr.iter().collect();
                return (status, elapsed, stderr.join("\n"));
            }
            if Instant::now() >= deadline {
                send_signal(self.child.id(), "-KILL");
                let _ = self.child.wait();
                panic!("rep-bridge still running after {limit:?}");
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// The next stderr line starting with `prefix` (waiting up to 10 s).
    fn line_starting(&self, prefix: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = self
                .stderr
                .recv_timeout(left)
                .unwrap_or_else(|_| panic!("no stderr line starting with {prefix:?}"));
            if line.starts_with(prefix) {
                return line;
            }
        }
    }
}

impl Drop for Bridge {
    fn drop(&mut self) {
        send_signal(self.child.id(), "-KILL");
        let _ = self.child.wait();
    }
}

/// A port nothing listens on (bound, then released).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The pid announced on a line `PREFIX<pid>`.
fn pid_after(line: &str, prefix: &str) -> u32 {
    line.strip_prefix(prefix).unwrap().trim().parse().unwrap()
}

#[test]
fn tm_runs_plant_monitor_through_the_bridge_over_tcp() {
    let mock = Listening::start("tcp:127.0.0.1:0");
    let run = tm_plant_through_bridge(&mock.transport());
    assert_plant_monitor_completed(&run);
    assert_none_with(&bridge_cmdline(&mock.transport()));
    assert!(
        alive(mock.pid()),
        "the listener serves on after the session"
    );
}

#[test]
fn tm_runs_plant_monitor_through_the_bridge_over_a_unix_socket() {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("mock.sock");
    let mock = Listening::start(&format!("unix:{}", socket.display()));
    // Two sessions on one listener: each gets a fresh executor state.
    for _ in 0..2 {
        let run = tm_plant_through_bridge(&mock.transport());
        assert_plant_monitor_completed(&run);
    }
    assert_none_with(&bridge_cmdline(&mock.transport()));
}

#[test]
fn tm_runs_plant_monitor_through_the_bridge_over_a_pty_serial_line() {
    // The "board": the mock executor on the pty's master side; the bridge opens the slave
    // device as it would /dev/ttyUSB0.
    let pty = nix::pty::openpty(None, None).unwrap();
    // Only the board may hold the master, and only this test the slave: when the test closes
    // it, the board sees the line hang up.
    for fd in [&pty.master, &pty.slave] {
        let cloexec = nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::FD_CLOEXEC);
        nix::fcntl::fcntl(fd, cloexec).unwrap();
    }
    let device = nix::unistd::ttyname(&pty.slave).unwrap();
    let master_in: OwnedFd = pty.master.try_clone().unwrap();
    let mut board = Command::new(mock_executor())
        .stdin(Stdio::from(master_in))
        .stdout(Stdio::from(pty.master))
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let device = device.to_str().unwrap().to_owned();
    let run =
        tm_plant_through_bridge(&[format!("serial:{device}"), "--baud".into(), "115200".into()]);
    // Closing the last slave descriptor hangs the line up: the board sees EIO and exits.
    drop(pty.slave);
    let deadline = Instant::now() + Duration::from_secs(5);
    while board.try_wait().unwrap().is_none() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    send_signal(board.id(), "-KILL");
    let _ = board.wait();
    assert_plant_monitor_completed(&run);
    assert_none_with(&format!("serial:{device}"));
}

#[test]
fn a_serial_port_in_use_is_refused_at_once() {
    let pty = nix::pty::openpty(None, None).unwrap();
    let device = nix::unistd::ttyname(&pty.slave).unwrap();
    let device = device.to_str().unwrap();
    let first = Bridge::start(&[&format!("serial:{device}")]);
    // Wait until the first bridge has the device open.
    let fds = format!("/proc/{}/fd", first.child.id());
    let deadline = Instant::now() + Duration::from_secs(10);
    while !std::fs::read_dir(&fds)
        .unwrap()
        .flatten()
        .any(|fd| std::fs::read_link(fd.path()).is_ok_and(|target| target == Path::new(device)))
    {
        assert!(
            Instant::now() < deadline,
            "the first bridge never opened {device}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    // Opening and locking are two steps: let the first finish both.
    std::thread::sleep(Duration::from_millis(100));
    let mut second = Bridge::start(&[&format!("serial:{device}")]);
    let (status, elapsed, stderr) = second.wait(Duration::from_secs(10));
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(elapsed < Duration::from_secs(2), "{elapsed:?}");
    assert!(
        stderr.contains(&format!(
            "cannot connect to serial:{device}: Unable to acquire exclusive lock"
        )),
        "{stderr}"
    );
    drop(first);
    assert_none_with(&format!("serial:{device}"));
}

/// A TCP "board" that prints a boot banner when connected, then relays to a mock executor
/// on its stdio — like a UART shared by a bootloader and the executor.
fn board_with_banner(banner: &'static [u8]) -> (u16, std::thread::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let board = std::thread::spawn(move || {
        let (mut socket, _) = listener.accept().unwrap();
        socket.write_all(banner).unwrap();
        let mut executor = Command::new(mock_executor())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut to_executor = executor.stdin.take().unwrap();
        let mut from_executor = executor.stdout.take().unwrap();
        let mut from_socket = socket.try_clone().unwrap();
        let upstream = std::thread::spawn(move || relay(&mut from_socket, &mut to_executor));
        relay(&mut from_executor, &mut socket);
        let _ = upstream.join();
        let _ = executor.wait();
    });
    (port, board)
}

/// Copies until EOF or an error, a chunk at a time. (`std::io::copy` from the socket to the
/// executor's stdin pipe stalled in this test: the request never reached the executor.)
fn relay(from: &mut impl Read, to: &mut impl Write) {
    let mut buf = [0u8; 16 * 1024];
    while let Ok(n) = from.read(&mut buf) {
        if n == 0 || to.write_all(&buf[..n]).is_err() {
            return;
        }
    }
}

/// `tm` runs plant-monitor through `rep-bridge ARGS…`, recording the session into
/// `dir/session.jsonl`; returns the run and the stderr lines the transcript holds.
fn tm_plant_through_bridge_recorded(args: &[String]) -> (Run, Vec<String>) {
    let dir = tempfile::tempdir().unwrap();
    let config = bridge_config(dir.path(), args);
    let transcript = dir.path().join("session.jsonl");
    let run = tm_plant_with_config(
        &config,
        &[
            "--inputs",
            &plant_monitor_inputs(),
            "--timeout",
            "20",
            "--record",
            transcript.to_str().unwrap(),
        ],
        &[],
    );
    let recorded = std::fs::read_to_string(&transcript)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|r| r["type"] == "stderr")
        .filter_map(|r| r["line"].as_str().map(str::to_owned))
        .collect();
    (run, recorded)
}

/// Issue 21: a boot banner is expected noise: recorded in the transcript at debug level
/// (`rep-bridge: debug: remote: …`), not shown on tm's stderr, and never sent to the host.
#[test]
fn a_boot_banner_is_logged_at_debug_level_and_never_reaches_the_host() {
    let (port, board) = board_with_banner(
        b"\r\nU-Boot 2024.01 (Jan 01 2024)\r\nDRAM:  256 MiB\r\n{not a frame}\r\nrep> ",
    );
    let (run, recorded) = tm_plant_through_bridge_recorded(&[format!("tcp:127.0.0.1:{port}")]);
    assert_plant_monitor_completed(&run);
    for line in [
        "rep-bridge: debug: remote: U-Boot 2024.01 (Jan 01 2024)",
        "rep-bridge: debug: remote: DRAM:  256 MiB",
        "rep-bridge: debug: remote: {not a frame}",
        // The prompt, glued to the first response without a newline, is split off it.
        "rep-bridge: debug: remote: rep> ",
    ] {
        assert!(
            recorded.iter().any(|l| l == line),
            "{line:?} not recorded: {recorded:?}"
        );
    }
    assert!(!run.stderr.contains("U-Boot"), "{}", run.stderr);
    board.join().unwrap();
    assert_none_with(&format!("127.0.0.1:{port}"));
}

/// `rep-bridge` arguments that connect to `port` after starting `sh -c SCRIPT` as the
/// simulator, `$0` being the mock executor.
fn simulator_args(port: u16, script: &str) -> Vec<String> {
    [
        &format!("tcp:127.0.0.1:{port}"),
        "--",
        "sh",
        "-c",
        script,
        mock_executor().to_str().unwrap(),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

/// Issue 21: stopping the simulator on purpose is quiet: what it prints once stopped
/// (QEMU's `terminating on signal 15 from pid …`) is recorded at debug level, not shown.
#[test]
fn a_simulator_stopped_on_purpose_is_quiet() {
    let port = free_port();
    let script = format!(
        "trap 'echo \"qemu-sim: terminating on signal 15 from pid 1\" >&2; exit 0' TERM; \
         echo \"qemu-sim: booting\"; \"$0\" --listen tcp:127.0.0.1:{port} & wait $!"
    );
    let args = simulator_args(port, &script);
    let (run, recorded) = tm_plant_through_bridge_recorded(&args);
    assert_plant_monitor_completed(&run);
    assert!(run.stderr.contains("qemu-sim: booting"), "{}", run.stderr);
    assert!(!run.stderr.contains("terminating"), "{}", run.stderr);
    assert!(
        recorded
            .iter()
            .any(|l| l == "rep-bridge: debug: qemu-sim: terminating on signal 15 from pid 1"),
        "{recorded:?}"
    );
    assert_none_with(&format!("tcp:127.0.0.1:{port}"));
}

#[test]
fn spawn_mode_starts_a_simulator_and_leaves_nothing_of_it() {
    let port = free_port();
    // The fake simulator: a shell that starts a grandchild in its group, then becomes the
    // executor serving on the port the bridge connects to (after a delay, so the bridge
    // must retry).
    let script = format!(
        "sleep 1000 & echo \"sim: grandchild pid $!\"; echo \"sim: pid $$\"; sleep 0.3; \
         exec \"$0\" --listen tcp:127.0.0.1:{port}"
    );
    let args = simulator_args(port, &script);
    let run = tm_plant_through_bridge(&args);
    assert_plant_monitor_completed(&run);
    let pids: Vec<u32> = run
        .stderr
        .lines()
        .filter_map(|l| {
            l.strip_prefix("sim: pid ")
                .or_else(|| l.strip_prefix("sim: grandchild pid "))
        })
        .map(|pid| pid.trim().parse().unwrap())
        .collect();
    assert_eq!(
        pids.len(),
        2,
        "CMD's output reaches stderr:\n{}",
        run.stderr
    );
    for pid in pids {
        assert_gone(pid, "a process of the simulator");
    }
    assert_none_with(&format!("tcp:127.0.0.1:{port}"));
}

#[test]
fn a_refused_connection_is_a_prompt_exit_1_naming_the_address() {
    let port = free_port();
    let address = format!("127.0.0.1:{port}");
    let mut bridge = Bridge::start(&[&format!("tcp:{address}")]);
    let (status, elapsed, stderr) = bridge.wait(Duration::from_secs(10));
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(elapsed < Duration::from_secs(2), "{elapsed:?}");
    assert!(
        stderr.contains(&format!("cannot connect to tcp:{address}")) && stderr.contains("refused"),
        "{stderr}"
    );
    // Through tm: a 3001 error carrying the bridge's line, exit 4.
    let run = tm_plant_through_bridge(&[format!("tcp:{address}")]);
    assert_eq!(run.code, 4, "{}", run.stderr);
    let message = run.json()["error"]["message"].as_str().unwrap().to_owned();
    assert!(
        message.contains(&format!("cannot connect to tcp:{address}")),
        "{message}"
    );
    assert_none_with(&address);
}

#[test]
fn a_connection_that_is_never_accepted_times_out_naming_the_address() {
    // A listener whose accept queue is full drops new connection requests: connect hangs.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    nix::sys::socket::listen(&listener, nix::sys::socket::Backlog::new(0).unwrap()).unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let _fills_the_queue = TcpStream::connect(&address).unwrap();
    let mut bridge = Bridge::start(&["--connect-timeout", "1", &format!("tcp:{address}")]);
    let (status, elapsed, stderr) = bridge.wait(Duration::from_secs(10));
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(
        elapsed >= Duration::from_millis(900) && elapsed < Duration::from_secs(5),
        "{elapsed:?}"
    );
    assert!(
        stderr.contains(&format!(
            "cannot connect to tcp:{address}: no connection within 1s"
        )),
        "{stderr}"
    );
    assert_none_with(&address);
}

#[test]
fn spawn_mode_gives_up_at_the_connect_timeout_and_kills_the_command() {
    let port = free_port();
    let address = format!("127.0.0.1:{port}");
    let mut bridge = Bridge::start(&[
        "--connect-timeout",
        "1",
        &format!("tcp:{address}"),
        "--",
        "sh",
        "-c",
        "echo \"sim: pid $$\"; exec sleep 1000",
    ]);
    let pid = pid_after(&bridge.line_starting("sim: pid "), "sim: pid ");
    assert!(
        !processes_with(&address).is_empty(),
        "the process scan sees a running bridge"
    );
    let (status, elapsed, stderr) = bridge.wait(Duration::from_secs(10));
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(elapsed < Duration::from_secs(5), "{elapsed:?}");
    assert!(
        stderr.contains(&format!(
            "cannot connect to tcp:{address}: no connection within 1s"
        )) && stderr.contains("refused"),
        "{stderr}"
    );
    assert_gone(pid, "the spawned command");
}

#[test]
fn spawn_mode_fails_fast_when_the_command_dies_before_listening() {
    let address = format!("127.0.0.1:{}", free_port());
    let mut bridge = Bridge::start(&[&format!("tcp:{address}"), "--", "sh", "-c", "exit 3"]);
    let (status, elapsed, stderr) = bridge.wait(Duration::from_secs(10));
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(elapsed < Duration::from_secs(5), "{elapsed:?}");
    assert!(
        stderr.contains(&format!(
            "sh exited (exit status: 3) before tcp:{address} accepted a connection"
        )),
        "{stderr}"
    );
}

/// A bridge in spawn mode that keeps trying to connect (for a minute) to a port nobody
/// listens on, while CMD is `sh -c SCRIPT`.
fn bridge_waiting_with(script: &str) -> Bridge {
    let address = format!("127.0.0.1:{}", free_port());
    Bridge::start(&[
        "--connect-timeout",
        "60",
        &format!("tcp:{address}"),
        "--",
        "sh",
        "-c",
        script,
    ])
}

#[test]
fn a_killed_bridge_takes_its_command_along() {
    let mut bridge = bridge_waiting_with("echo \"sim: pid $$\"; exec sleep 1000");
    let pid = pid_after(&bridge.line_starting("sim: pid "), "sim: pid ");
    // SIGKILL: no handler runs; the parent-death signal must end the command.
    send_signal(bridge.child.id(), "-KILL");
    bridge.child.wait().unwrap();
    assert_gone(pid, "the spawned command of a SIGKILLed bridge");
}

#[test]
fn sigterm_kills_the_spawned_group_and_exits_143() {
    let mut bridge = bridge_waiting_with(
        "sleep 1000 & echo \"sim: grandchild pid $!\"; echo \"sim: pid $$\"; exec sleep 1000",
    );
    let grandchild = pid_after(
        &bridge.line_starting("sim: grandchild pid "),
        "sim: grandchild pid ",
    );
    let pid = pid_after(&bridge.line_starting("sim: pid "), "sim: pid ");
    send_signal(bridge.child.id(), "-TERM");
    let (status, elapsed, _) = bridge.wait(Duration::from_secs(10));
    assert_eq!(status.code(), Some(143));
    assert!(elapsed < Duration::from_secs(30));
    assert_gone(pid, "the spawned command");
    assert_gone(grandchild, "the spawned command's child");
}

#[test]
fn the_remote_dying_mid_run_ends_the_run_with_the_bridges_reason() {
    let mock = Listening::start("tcp:127.0.0.1:0");
    let dir = tempfile::tempdir().unwrap();
    let mut ir = plant_monitor_ir();
    for node in ir["graph"]["nodes"].as_array_mut().unwrap() {
        if node["id"] == "read" {
            node["with"]["_mock"] = json!({ "delay_ms": 20_000 });
        }
    }
    let manifest = write_flow(dir.path(), "slow", &ir);
    let config = bridge_config(dir.path(), &mock.transport());
    let config_arg = config.to_str().unwrap().to_owned();
    let manifest_arg = manifest.to_str().unwrap().to_owned();
    let inputs = plant_monitor_inputs();
    let tm_run = std::thread::spawn(move || {
        tm(
            &[
                "--runtime-config",
                &config_arg,
                "runtime",
                "run",
                "--manifest",
                &manifest_arg,
                "--flow",
                "slow",
                "--inputs",
                &inputs,
            ],
            &[],
        )
    });
    // The run is under way (its first step sleeps 20 s) once the bridge is connected.
    std::thread::sleep(Duration::from_millis(700));
    let started = Instant::now();
    let mut mock = mock;
    send_signal(mock.child.id(), "-KILL");
    mock.child.wait().unwrap();
    let run = tm_run.join().unwrap();
    assert_eq!(run.code, 4, "{}", run.stderr);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    let message = run.json()["error"]["message"].as_str().unwrap().to_owned();
    let port = mock.addr.clone();
    // A killed peer closes the connection, or resets it when a request was still unread.
    let closed = format!("rep-bridge: error: {port}: connection closed by the remote");
    let reset = format!("rep-bridge: error: {port}: read failed: Connection reset by peer");
    assert!(
        message.contains(&closed) || message.contains(&reset),
        "{message}"
    );
    assert_none_with(&port);
}

#[test]
fn an_over_long_remote_line_is_exit_1_before_its_newline() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap().to_string();
    // A remote that floods one line and never ends it, keeping the connection open.
    let flood = std::thread::spawn(move || {
        let (mut socket, _) = listener.accept().unwrap();
        let _ = socket.write_all(&[b'x'; 64 * 1024]);
        let mut rest = Vec::new();
        let _ = socket.read_to_end(&mut rest);
    });
    let mut bridge = Bridge::start(&["--max-frame-bytes", "4096", &format!("tcp:{address}")]);
    let (status, elapsed, stderr) = bridge.wait(Duration::from_secs(10));
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(elapsed < Duration::from_secs(2), "{elapsed:?}");
    assert!(
        stderr.contains(&format!("tcp:{address}: the remote sent a line of"))
            && stderr.contains("over the frame bound of 4096 bytes"),
        "{stderr}"
    );
    let mut stdout = String::new();
    bridge
        .child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    assert!(stdout.is_empty(), "nothing reached stdout: {stdout:?}");
    flood.join().unwrap();
    assert_none_with(&address);
}

#[test]
fn rep_conformance_certifies_the_mock_executor_through_the_bridge() {
    let mock = Listening::start("tcp:127.0.0.1:0");
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../conformance/fixtures/mock");
    let output = Command::new(rep_conformance())
        .arg("run")
        .arg("--executor")
        .arg(rep_bridge())
        .arg("--fixtures")
        .arg(&fixtures)
        .arg("--")
        .args(mock.transport())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("REP v0.1 core: certified"), "{stdout}");
    assert_none_with(&bridge_cmdline(&mock.transport()));
}

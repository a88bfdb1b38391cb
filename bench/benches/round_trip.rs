//! One `Runtime.Poll` round trip through the host's client and the kit's server over real
//! pipes, against the physical limit: a raw ping-pong of lines of the same size with `cat`;
//! and the same Poll through `rep-bridge` to the mock executor on a loopback TCP listener
//! (budget: 2× the direct round trip) and on a Unix socket.
//!
//! Build the executors first: `cargo build --release --workspace && cargo bench -p rep-bench`.

#![allow(clippy::unwrap_used, clippy::expect_used)] // benchmark set-up: a failure is the report

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::Duration;

use divan::Bencher;
use flow_ir::Manifest;
use rep_host::{EnvPolicy, ExecutorCommand, ExecutorProcess, ProcessSession, RunEnv, Session, Tap};
use rep_spec::{DEFAULT_MAX_FRAME_BYTES, RunOptions, StartRunParamsRef};

use tokio::time::Instant;

fn main() {
    divan::main();
}

/// The session type over a child's pipes.
type PipeSession = ProcessSession;

/// A session with the mock executor holding one finished plant-monitor run (and the process,
/// which must outlive it), and the byte length of one Poll response for it.
fn poll_session(rt: &tokio::runtime::Runtime) -> (PipeSession, ExecutorProcess, String, usize) {
    let mock = rep_bench::built_binary("mock-executor").expect("mock-executor");
    poll_session_with(rt, &mock, &[])
}

/// As [`poll_session`], with the executor `program ARGS…`.
fn poll_session_with(
    rt: &tokio::runtime::Runtime,
    program: &Path,
    args: &[String],
) -> (PipeSession, ExecutorProcess, String, usize) {
    let manifest = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../examples/plant-monitor/out/dsl/manifest.json");
    let flow = Manifest::load(&manifest)
        .unwrap()
        .load_flow("plant-monitor")
        .unwrap();
    rt.block_on(async {
        let env = RunEnv {
            run_id: "bench".into(),
            trace_id: "bench".into(),
            engine_timeout: Duration::from_secs(600),
            allow_shell: false,
            log_json: false,
        };
        let command = ExecutorCommand::for_path(program, args, EnvPolicy::default());
        let (mut session, process) =
            Session::open(&command, &env, DEFAULT_MAX_FRAME_BYTES, &Tap::none()).unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        session.capabilities(deadline).await.unwrap();
        let options = RunOptions {
            run_id: Some("bench".into()),
            ..RunOptions::default()
        };
        let inputs: serde_json::Map<String, serde_json::Value> = serde_json::from_str(
            &std::fs::read_to_string(
                std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("../examples/plant-monitor/input.json"),
            )
            .unwrap(),
        )
        .unwrap();
        let params = StartRunParamsRef {
            ir: &flow.document,
            inputs: &inputs,
            options: &options,
        };
        let run_id = session.start_run(params, deadline).await.unwrap();
        while !session
            .poll(&run_id, deadline)
            .await
            .unwrap()
            .status
            .is_final()
        {}
        let size = serde_json::to_vec(&session.poll(&run_id, deadline).await.unwrap())
            .unwrap()
            .len()
            + r#"{"jsonrpc":"2.0","id":100,"result":}"#.len();
        (session, process, run_id, size)
    })
}

#[divan::bench]
fn rep_poll_round_trip(bencher: Bencher) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (mut session, _process, run_id, _) = poll_session(&rt);
    let deadline = Instant::now() + Duration::from_secs(3600);
    bencher.bench_local(|| rt.block_on(session.poll(&run_id, deadline)).unwrap());
}

/// A child process, killed and reaped when dropped.
struct Reaped(Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        // The `kill` tool: in the workspace's code only rep-process signals processes.
        let _ = Command::new("kill")
            .args(["-KILL", &self.0.id().to_string()])
            .status();
        let _ = self.0.wait();
    }
}

/// The mock executor serving on a listener; killed when dropped.
struct Listening {
    _child: Reaped,
    /// The bridge's endpoint argument, as mock-executor printed it: `[tcp:HOST:PORT]` or
    /// `[unix:PATH]`.
    transport: Vec<String>,
}

impl Listening {
    /// `mock-executor --listen ADDR` (`tcp:…` or `unix:…`).
    fn start(listen: &str) -> Listening {
        let mock = rep_bench::built_binary("mock-executor").expect("mock-executor");
        let mut child = Command::new(mock)
            .args(["--listen", listen])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stderr.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let endpoint = line
            .trim()
            .strip_prefix("listening on ")
            .expect("mock-executor prints its address");
        Listening {
            _child: Reaped(child),
            transport: vec![endpoint.to_owned()],
        }
    }
}

/// A Poll round trip through `rep-bridge` to the mock executor listening on `listen`.
fn bridged_round_trip(bencher: Bencher, listen: &str) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let listening = Listening::start(listen);
    let bridge = rep_bench::built_binary("rep-bridge").expect("rep-bridge");
    let (mut session, _process, run_id, _) = poll_session_with(&rt, &bridge, &listening.transport);
    let deadline = Instant::now() + Duration::from_secs(3600);
    bencher.bench_local(|| rt.block_on(session.poll(&run_id, deadline)).unwrap());
}

/// The budget: at most 2× `rep_poll_round_trip`.
#[divan::bench]
fn rep_poll_round_trip_via_bridge_tcp(bencher: Bencher) {
    bridged_round_trip(bencher, "tcp:127.0.0.1:0");
}

#[divan::bench]
fn rep_poll_round_trip_via_bridge_unix(bencher: Bencher) {
    let socket = std::env::temp_dir().join(format!("rep-bench-{}.sock", std::process::id()));
    bridged_round_trip(bencher, &format!("unix:{}", socket.display()));
    let _ = std::fs::remove_file(socket);
}

struct Echo {
    _child: Reaped,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

#[divan::bench]
fn raw_pipe_ping_pong(bencher: Bencher) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (_session, _process, _, size) = poll_session(&rt);
    let mut child = Command::new("cat")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut echo = Echo {
        stdin: child.stdin.take().unwrap(),
        stdout: BufReader::new(child.stdout.take().unwrap()),
        _child: Reaped(child),
    };
    let mut line = vec![b'x'; size];
    line.push(b'\n');
    let mut back = Vec::with_capacity(size + 1);
    bencher.bench_local(|| {
        echo.stdin.write_all(&line).unwrap();
        echo.stdin.flush().unwrap();
        back.clear();
        echo.stdout.read_until(b'\n', &mut back).unwrap();
        assert_eq!(back.len(), line.len());
    });
}

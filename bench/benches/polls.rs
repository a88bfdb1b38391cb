//! 5,000 Polls of one event each (issue 9, finding 8): a whole run through the host library
//! (`rep_host::run`: spawn, handshake, StartRun, the Polls, shutdown) against the same
//! executor driven by a raw pipe ping-pong of the same requests (spawn, write a line, read a
//! line, 5,000 times). Budget: the host takes at most 3× the raw ping-pong.
//!
//! `cargo bench -p rep-bench --bench polls`.

#![allow(clippy::unwrap_used, clippy::expect_used)] // benchmark set-up: a failure is the report

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use rep_host::{EnvPolicy, ExecutorCommand, Interrupts, RunRequest, Tap};
use rep_spec::{DEFAULT_MAX_FRAME_BYTES, RunStatus};
use serde_json::json;

/// Polls per run.
const POLLS: u64 = 5000;

fn main() {
    divan::main();
}

fn executor() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_poll-executor"))
}

#[divan::bench(sample_count = 10, sample_size = 1)]
fn host_run_5000_polls() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut env = EnvPolicy::default();
    env.set
        .insert("POLL_EXECUTOR_POLLS".into(), POLLS.to_string());
    let request = RunRequest {
        ir: json!({"version": "1.0.0"}),
        required_step_kinds: BTreeSet::new(),
        inputs: serde_json::Map::new(),
        executor: ExecutorCommand::for_path(executor(), &[], env),
        engine_timeout: Duration::from_secs(600),
        max_frame_bytes: DEFAULT_MAX_FRAME_BYTES,
        allow_shell: false,
        log_json: false,
        tap: Tap::none(),
    };
    let outcome = runtime.block_on(rep_host::run(request, &mut [], &mut Interrupts::none()));
    assert_eq!(outcome.status, RunStatus::Completed, "{:?}", outcome.error);
    assert_eq!(outcome.events.len() as u64, POLLS);
}

#[divan::bench(sample_count = 10, sample_size = 1)]
fn raw_pipe_ping_pong_5000_polls() {
    let mut child = Command::new(executor())
        .env("POLL_EXECUTOR_POLLS", POLLS.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = Vec::new();
    let mut exchange = |request: &str| {
        stdin.write_all(request.as_bytes()).unwrap();
        stdin.flush().unwrap();
        line.clear();
        stdout.read_until(b'\n', &mut line).unwrap();
        assert!(line.ends_with(b"\n"));
    };
    exchange("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"Runtime.Capabilities\",\"params\":{}}\n");
    exchange(
        "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"Runtime.StartRun\",\"params\":{\"ir\":{\"version\":\"1.0.0\"},\"inputs\":{},\"options\":{}}}\n",
    );
    for id in 3..3 + POLLS {
        exchange(&format!(
            "{{\"jsonrpc\":\"2.0\",\"id\":{id},\"method\":\"Runtime.Poll\",\"params\":{{\"run_id\":\"bench\"}}}}\n"
        ));
    }
    drop(stdin);
    child.wait().unwrap();
}

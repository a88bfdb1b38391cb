//! The host's runner against the executor kit's server with no process at all: `run_session`
//! over an in-memory duplex to `Executor::serve` (issue 9, deliver 1). Host and kit meet only
//! on the wire, here as over pipes.

#![allow(clippy::unwrap_used)] // tests unwrap: a failure is the report

mod common;

use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;
use std::time::Duration;

use common::*;
use flow_ir::Manifest;
use rep_host::{
    Client, EnvPolicy, ExecutorCommand, ExecutorHandle, Interrupts, RunIds, RunRequest, Session,
    Tap, run_session,
};
use rep_spec::{DEFAULT_MAX_FRAME_BYTES, RunStatus};
use tokio::task::JoinHandle;

/// The mock executor served on a task: it exits when `serve` returns (stdin EOF).
struct ServedExecutor {
    task: JoinHandle<std::io::Result<()>>,
    status: Option<ExitStatus>,
}

impl ExecutorHandle for ServedExecutor {
    fn name(&self) -> String {
        "mock-executor (in memory)".into()
    }

    async fn exited(&mut self) -> Option<ExitStatus> {
        if self.status.is_none() {
            let code = match (&mut self.task).await {
                Ok(Ok(())) => 0,
                _ => 1,
            };
            self.status = Some(ExitStatus::from_raw(code << 8));
        }
        self.status
    }

    fn terminate_group(&mut self) {
        self.task.abort();
    }

    fn kill_group(&mut self) {
        self.task.abort();
    }

    async fn last_stderr(&mut self, _limit: Duration) -> Vec<String> {
        Vec::new()
    }
}

#[tokio::test]
async fn plant_monitor_runs_over_a_duplex_to_the_kits_server() {
    let loaded = Manifest::load(&plant_monitor_manifest())
        .unwrap()
        .load_flow("plant-monitor")
        .unwrap();
    let inputs = std::fs::read_to_string(examples().join("plant-monitor/input.json")).unwrap();
    let request = RunRequest {
        required_step_kinds: loaded.ir.required_step_kinds(),
        ir: loaded.document,
        inputs: serde_json::from_str(&inputs).unwrap(),
        executor: ExecutorCommand::for_path("in-memory".as_ref(), &[], EnvPolicy::default()),
        engine_timeout: Duration::from_secs(30),
        max_frame_bytes: DEFAULT_MAX_FRAME_BYTES,
        allow_shell: false,
        log_json: false,
        tap: Tap::none(),
    };
    let (host_end, executor_end) = tokio::io::duplex(64 * 1024);
    let (host_read, host_write) = tokio::io::split(host_end);
    let (executor_read, executor_write) = tokio::io::split(executor_end);
    let mut executor = ServedExecutor {
        task: tokio::spawn(async move {
            mock_executor::executor()
                .serve(executor_read, executor_write)
                .await
        }),
        status: None,
    };
    let session = Session::new(Client::new(host_read, host_write, DEFAULT_MAX_FRAME_BYTES));
    let ids = RunIds::random();
    let outcome = run_session(
        session,
        &mut executor,
        &request,
        ids,
        &mut [],
        &mut Interrupts::none(),
    )
    .await;
    assert_eq!(outcome.status, RunStatus::Completed, "{:?}", outcome.error);
    let succeeded: Vec<String> = outcome
        .events
        .iter()
        .map(|e| serde_json::from_str::<serde_json::Value>(e.get()).unwrap())
        .filter(|e| e["type"] == "step" && e["state"] == "succeeded")
        .map(|e| e["step_id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        succeeded,
        ["read", "decide", "when_0", "write", "emit_1", "finish_2"]
    );
    assert_eq!(
        executor.status.map(|s| s.code()),
        Some(Some(0)),
        "the kit's server returned at stdin EOF"
    );
}

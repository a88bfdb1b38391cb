//! Shared by the kit's integration tests: a host side talking to `Executor::serve` over an
//! in-memory pipe, and builders of Flow IR documents.

#![allow(dead_code)] // each test file uses its own subset

use std::time::Duration;

use rep_executor_kit::Executor;
use serde_json::{Value, json};
use tokio::io::{
    AsyncBufReadExt, AsyncWriteExt, BufReader, DuplexStream, Lines, ReadHalf, WriteHalf,
};

/// How long [`Wire::poll_until_final`] waits between polls (on the paused clock, where the
/// tests run, this is also the precision of the times they assert).
pub const POLL_EVERY: Duration = Duration::from_millis(1);

/// The host side of an in-memory connection to an executor.
pub struct Wire {
    pub to_executor: WriteHalf<DuplexStream>,
    pub from_executor: Lines<BufReader<ReadHalf<DuplexStream>>>,
    pub server: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Wire {
    pub fn start(executor: Executor) -> Wire {
        let (host_side, executor_side) = tokio::io::duplex(1 << 20);
        let (executor_read, executor_write) = tokio::io::split(executor_side);
        let server =
            tokio::spawn(async move { executor.serve(executor_read, executor_write).await });
        let (host_read, host_write) = tokio::io::split(host_side);
        Wire {
            to_executor: host_write,
            from_executor: BufReader::new(host_read).lines(),
            server,
        }
    }

    pub async fn send_raw(&mut self, line: &str) {
        self.to_executor.write_all(line.as_bytes()).await.unwrap();
        self.to_executor.write_all(b"\n").await.unwrap();
    }

    pub async fn recv(&mut self) -> Value {
        let line = tokio::time::timeout(Duration::from_secs(5), self.from_executor.next_line())
            .await
            .expect("executor answers within 5 s")
            .unwrap()
            .expect("executor still open");
        serde_json::from_str(&line).unwrap()
    }

    pub async fn call(&mut self, id: u64, method: &str, params: Value) -> Value {
        self.send_raw(
            &json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}).to_string(),
        )
        .await;
        let response = self.recv().await;
        assert_eq!(response["jsonrpc"], "2.0");
        assert_eq!(response["id"], id);
        response
    }

    pub async fn poll_until_final(&mut self, run_id: &str) -> (Value, Vec<Value>) {
        let mut events = Vec::new();
        for id in 1000.. {
            let result = self
                .call(id, "Runtime.Poll", json!({"run_id": run_id}))
                .await["result"]
                .clone();
            events.extend(result["events"].as_array().unwrap().iter().cloned());
            if result["status"] == "completed" || result["status"] == "failed" {
                return (result, events);
            }
            tokio::time::sleep(POLL_EVERY).await;
        }
        unreachable!()
    }

    /// Starts a run of `ir` with `inputs` under `run_id`; panics unless StartRun succeeds.
    pub async fn start_run(&mut self, id: u64, run_id: &str, ir: &Value, inputs: Value) {
        let response = self
            .call(
                id,
                "Runtime.StartRun",
                json!({"ir": ir, "inputs": inputs, "options": {"run_id": run_id}}),
            )
            .await;
        assert_eq!(response["result"]["run_id"], run_id, "{response}");
    }

    /// One Poll's result.
    pub async fn poll(&mut self, id: u64, run_id: &str) -> Value {
        self.call(id, "Runtime.Poll", json!({"run_id": run_id}))
            .await["result"]
            .clone()
    }
}

#[allow(unused_imports)]
pub use flow_ir::build::{edge, node};

/// A flow `t` of `nodes` and `edges`.
pub fn flow(nodes: Vec<Value>, edges: Vec<Value>) -> Value {
    flow_ir::build::document("t", nodes, edges)
}

/// A `failure` edge.
pub fn on_failure(from: &str, to: &str) -> Value {
    flow_ir::build::edge_on(from, to, "failure")
}

/// `node` with `retry` and `timeout_ms` set.
pub fn node_with(
    id: &str,
    kind: &str,
    with: Value,
    timeout_ms: u64,
    max: u32,
    backoff_ms: u64,
) -> Value {
    json!({"id": id, "type": kind, "with": with, "timeout_ms": timeout_ms, "retry": {"max": max, "backoff_ms": backoff_ms}})
}

/// The `step` events of `step_id` in `state`, in order.
pub fn step_events<'a>(events: &'a [Value], step_id: &str, state: &str) -> Vec<&'a Value> {
    events
        .iter()
        .filter(|e| e["type"] == "step" && e["step_id"] == step_id && e["state"] == state)
        .collect()
}

//! `Executor::serve_listener`: each connection is one host session with its own runs, and a
//! session that closes has its runs cancelled, over TCP and a Unix socket.

#![allow(clippy::unwrap_used)] // tests unwrap: a failure is the report

mod support;

use std::time::Duration;

use rep_executor_kit::{Endpoint, Executor, Listener, StepContext, StepResult};
use serde_json::{Map, Value, json};
use support::{flow, node};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::{TcpStream, UnixStream};
use tokio::sync::mpsc;

/// A host session over any stream.
struct Session<S> {
    lines: tokio::io::Lines<BufReader<tokio::io::ReadHalf<S>>>,
    writer: tokio::io::WriteHalf<S>,
}

impl<S: AsyncRead + AsyncWrite> Session<S> {
    fn new(stream: S) -> Session<S> {
        let (reader, writer) = tokio::io::split(stream);
        Session {
            lines: BufReader::new(reader).lines(),
            writer,
        }
    }

    async fn call(&mut self, id: u64, method: &str, params: Value) -> Value {
        let request = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
        self.writer
            .write_all(format!("{request}\n").as_bytes())
            .await
            .unwrap();
        let line = tokio::time::timeout(Duration::from_secs(5), self.lines.next_line())
            .await
            .expect("an answer within 5 s")
            .unwrap()
            .expect("the connection is open");
        let response: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(response["id"], id);
        response
    }

    async fn start(&mut self, id: u64, run_id: &str) -> Value {
        let ir = flow(vec![node("wait", "wait", json!({}))], vec![]);
        self.call(
            id,
            "Runtime.StartRun",
            json!({"ir": ir, "inputs": {}, "options": {"run_id": run_id}}),
        )
        .await
    }
}

/// An executor whose one step kind, `wait`, reports its start and then its cancellation.
fn executor(reports: mpsc::UnboundedSender<&'static str>) -> Executor {
    Executor::builder()
        .step(
            "wait",
            move |ctx: StepContext, _with: Map<String, Value>| {
                let reports = reports.clone();
                async move {
                    let _ = reports.send("started");
                    ctx.cancelled().await;
                    let _ = reports.send("cancelled");
                    StepResult::Err(rep_executor_kit::StepError::cancelled("stopped"))
                }
            },
        )
        .build()
}

async fn serve(addr: &str) -> (Endpoint, mpsc::UnboundedReceiver<&'static str>) {
    let (reports, reported) = mpsc::unbounded_channel();
    let listener = Listener::bind(&addr.parse().unwrap()).await.unwrap();
    let local = listener.local_addr().clone();
    tokio::spawn(async move { executor(reports).serve_listener(listener).await });
    (local, reported)
}

async fn next_report(reported: &mut mpsc::UnboundedReceiver<&'static str>) -> &'static str {
    tokio::time::timeout(Duration::from_secs(5), reported.recv())
        .await
        .expect("a report within 5 s")
        .unwrap()
}

#[tokio::test]
async fn each_tcp_connection_has_its_own_runs_and_closing_it_cancels_them() {
    let (addr, mut reported) = serve("tcp:127.0.0.1:0").await;
    let Endpoint::Tcp(host_port) = &addr else {
        panic!("{addr}")
    };
    assert!(
        !host_port.ends_with(":0"),
        "the bound port is reported: {addr}"
    );

    let mut first = Session::new(TcpStream::connect(host_port.as_str()).await.unwrap());
    let mut second = Session::new(TcpStream::connect(host_port.as_str()).await.unwrap());
    assert_eq!(first.start(1, "run-1").await["result"]["run_id"], "run-1");
    assert_eq!(next_report(&mut reported).await, "started");
    // Another session may use the same run id: it does not see the first one's runs.
    assert_eq!(second.start(1, "run-1").await["result"]["run_id"], "run-1");
    assert_eq!(next_report(&mut reported).await, "started");
    // Within one session the id is taken.
    assert_eq!(first.start(2, "run-1").await["error"]["code"], 1000);

    drop(first);
    assert_eq!(next_report(&mut reported).await, "cancelled");
    // The other session is untouched and still answered.
    let poll = second
        .call(2, "Runtime.Poll", json!({"run_id": "run-1"}))
        .await;
    assert_eq!(poll["result"]["status"], "running", "{poll}");
}

#[tokio::test]
async fn a_unix_socket_is_served_and_a_stale_socket_file_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("executor.sock");
    // A socket file left by a server that is gone.
    drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
    assert!(path.exists());

    let (addr, _reported) = serve(&format!("unix:{}", path.display())).await;
    assert_eq!(addr, Endpoint::Unix(path.clone()));
    let mut session = Session::new(UnixStream::connect(&path).await.unwrap());
    let caps = session.call(1, "Runtime.Capabilities", json!({})).await;
    assert_eq!(
        caps["result"]["step_kinds"],
        json!(["finish", "switch", "wait"])
    );

    // A live socket is not taken over.
    let error = Listener::bind(&addr)
        .await
        .err()
        .expect("the address is in use");
    assert!(error.to_string().contains("executor.sock"), "{error}");
}

//! The client, session and runner with no process at all: a scripted executor on the other
//! end of an in-memory duplex, and tokio's paused clock wherever time is the subject
//! (issue 9, deliver 1 and 12).

#![allow(clippy::unwrap_used)] // tests unwrap: a failure is the report

use std::collections::BTreeSet;
use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rep_host::{
    Cause, Client, EnvPolicy, ExecutorCommand, ExecutorHandle, Interrupt, Interrupts, RunIds,
    RunRequest, Session, Tap, run_session,
};
use rep_spec::{DEFAULT_MAX_FRAME_BYTES, PollCadence, RunStatus};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, DuplexStream, ReadHalf, WriteHalf};
use tokio::sync::watch;
use tokio::time::Instant;

type Pipe = DuplexStream;

/// The executor's end of the duplex: requests in, raw lines out.
struct Peer {
    lines: tokio::io::Lines<BufReader<ReadHalf<Pipe>>>,
    out: WriteHalf<Pipe>,
}

impl Peer {
    async fn request(&mut self) -> Option<Value> {
        let line = self.lines.next_line().await.ok()??;
        Some(serde_json::from_str(&line).unwrap())
    }

    async fn send(&mut self, text: &str) {
        self.out.write_all(text.as_bytes()).await.unwrap();
        self.out.write_all(b"\n").await.unwrap();
    }

    async fn reply(&mut self, request: &Value, result: Value) {
        let frame = json!({"jsonrpc": "2.0", "id": request["id"], "result": result});
        self.send(&frame.to_string()).await;
    }
}

/// A client and its scripted peer over a duplex of `buffer` bytes each way.
fn connect(buffer: usize, max_frame_bytes: usize) -> (Client<Pipe, Pipe>, Peer) {
    let (host_in, peer_out) = tokio::io::duplex(buffer);
    let (peer_in, host_out) = tokio::io::duplex(buffer);
    let (reader, _) = tokio::io::split(peer_in);
    let (_, out) = tokio::io::split(peer_out);
    let peer = Peer {
        lines: BufReader::new(reader).lines(),
        out,
    };
    (Client::new(host_in, host_out, max_frame_bytes), peer)
}

fn far() -> Instant {
    Instant::now() + Duration::from_secs(3600)
}

#[tokio::test(start_paused = true)]
async fn ids_start_at_one_and_a_second_response_is_a_transport_error() {
    let (mut client, mut peer) = connect(64 * 1024, DEFAULT_MAX_FRAME_BYTES);
    let script = tokio::spawn(async move {
        let first = peer.request().await.unwrap();
        assert_eq!(first["id"], 1);
        peer.reply(&first, json!({"a": 1})).await;
        peer.reply(&first, json!({"a": "again"})).await;
        let second = peer.request().await.unwrap();
        assert_eq!(second["id"], 2);
        peer
    });
    let result = client
        .call("Runtime.Health", json!({}), far())
        .await
        .unwrap();
    assert_eq!(result.get(), r#"{"a":1}"#);
    let error = client
        .call("Runtime.Health", json!({}), far())
        .await
        .unwrap_err();
    assert_eq!(error.cause, Some(Cause::DuplicateResponse));
    assert!(error.message.contains(r#""again""#), "{}", error.message);
    assert!(!client.is_usable());
    drop(script.await.unwrap());
}

#[tokio::test(start_paused = true)]
async fn only_the_late_reply_of_a_timed_out_request_is_skipped_and_only_once() {
    let (mut client, mut peer) = connect(64 * 1024, DEFAULT_MAX_FRAME_BYTES);
    let script = tokio::spawn(async move {
        let first = peer.request().await.unwrap();
        let second = peer.request().await.unwrap();
        peer.reply(&first, json!({"late": true})).await;
        peer.reply(&second, json!({"n": 2})).await;
        peer.reply(&first, json!({"late": "twice"})).await;
        peer
    });
    let deadline = Instant::now() + Duration::from_secs(1);
    let timed_out = client.call("Runtime.Health", json!({}), deadline).await;
    assert_eq!(timed_out.unwrap_err().cause, Some(Cause::Timeout));
    assert!(
        client.is_usable(),
        "a sent request's timeout leaves the stream usable"
    );
    let second = client
        .call("Runtime.Health", json!({}), far())
        .await
        .unwrap();
    assert_eq!(second.get(), r#"{"n":2}"#);
    let _peer = script.await.unwrap();
    let late = client.drain().await.unwrap_err();
    assert_eq!(late.cause, Some(Cause::DuplicateResponse), "{late}");
}

/// Finding 1: a write to a peer that does not read is under the deadline.
#[tokio::test(start_paused = true)]
async fn writing_to_a_peer_that_stops_reading_ends_at_the_deadline() {
    let (mut client, _peer) = connect(1024, DEFAULT_MAX_FRAME_BYTES);
    let start = Instant::now();
    let big = "x".repeat(200 * 1024);
    let error = client
        .call(
            "Runtime.StartRun",
            json!({ "blob": big }),
            start + Duration::from_secs(3),
        )
        .await
        .unwrap_err();
    assert_eq!(error.cause, Some(Cause::Timeout));
    assert!(error.message.contains("read the request"), "{error}");
    assert_eq!(start.elapsed(), Duration::from_secs(3));
    assert!(
        !client.is_usable(),
        "a request cut off mid-frame breaks the stream"
    );
    let next = client.call("Runtime.Cancel", json!({}), far()).await;
    assert!(next.is_err(), "nothing more is sent after a partial frame");
}

/// Deliver 2: the peer's output is read while the request is written, so a peer that writes
/// before it reads cannot deadlock the host on two full pipes.
#[tokio::test(start_paused = true)]
async fn output_is_read_while_the_request_is_written() {
    let (mut client, mut peer) = connect(1024, DEFAULT_MAX_FRAME_BYTES);
    let script = tokio::spawn(async move {
        let note = json!({"jsonrpc": "2.0", "method": "Runtime.Progress", "params": {}});
        for _ in 0..2000 {
            peer.send(&note.to_string()).await;
        }
        let request = peer.request().await.unwrap();
        peer.reply(&request, json!({"ok": true})).await;
        peer
    });
    let big = "y".repeat(100 * 1024);
    let start = Instant::now();
    let result = client
        .call(
            "Runtime.StartRun",
            json!({ "blob": big }),
            start + Duration::from_secs(5),
        )
        .await
        .unwrap();
    assert_eq!(result.get(), r#"{"ok":true}"#);
    assert_eq!(client.notifications(), 2000);
    assert_eq!(start.elapsed(), Duration::ZERO, "no wait at all");
    drop(script.await.unwrap());
}

/// Finding 6: an over-long frame is an error as soon as the bound is passed.
#[tokio::test(start_paused = true)]
async fn an_over_long_frame_is_fatal_without_waiting_for_its_newline() {
    let (mut client, mut peer) = connect(64 * 1024, 1024 * 1024);
    let script = tokio::spawn(async move {
        let _ = peer.request().await;
        let chunk = vec![b'x'; 64 * 1024];
        while peer.out.write_all(&chunk).await.is_ok() {}
    });
    let start = Instant::now();
    let error = client
        .call("Runtime.Capabilities", json!({}), far())
        .await
        .unwrap_err();
    assert_eq!(error.cause, Some(Cause::FrameTooLong));
    assert!(error.message.contains("1048576"), "{error}");
    assert_eq!(start.elapsed(), Duration::ZERO);
    drop(client);
    script.await.unwrap();
}

/// Signals the runner sent, with their (virtual) time.
type SignalLog = Arc<Mutex<Vec<(&'static str, Duration)>>>;

/// An in-memory executor: exits when its script says so, on SIGKILL, and on SIGTERM if it
/// honours it.
struct FakeExecutor {
    exit: watch::Sender<Option<i32>>,
    exited: watch::Receiver<Option<i32>>,
    honours_term: bool,
    start: Instant,
    signals: SignalLog,
}

impl FakeExecutor {
    fn new(honours_term: bool) -> FakeExecutor {
        let (exit, exited) = watch::channel(None);
        FakeExecutor {
            exit,
            exited,
            honours_term,
            start: Instant::now(),
            signals: SignalLog::default(),
        }
    }

    fn exit_handle(&self) -> watch::Sender<Option<i32>> {
        self.exit.clone()
    }

    fn record(&self, signal: &'static str) {
        self.signals
            .lock()
            .unwrap()
            .push((signal, self.start.elapsed()));
    }
}

impl ExecutorHandle for FakeExecutor {
    fn name(&self) -> String {
        "in-memory".into()
    }

    async fn exited(&mut self) -> Option<ExitStatus> {
        let code = self
            .exited
            .wait_for(Option::is_some)
            .await
            .ok()
            .and_then(|c| *c)?;
        Some(ExitStatus::from_raw(code << 8))
    }

    fn terminate_group(&mut self) {
        self.record("TERM");
        if self.honours_term {
            let _ = self.exit.send(Some(143));
        }
    }

    fn kill_group(&mut self) {
        if self.exit.borrow().is_none() {
            self.record("KILL");
            let _ = self.exit.send(Some(137));
        }
    }

    async fn last_stderr(&mut self, _limit: Duration) -> Vec<String> {
        vec!["in-memory: last words".into()]
    }
}

fn request(timeout: Duration) -> RunRequest {
    RunRequest {
        ir: json!({"version": "1.0.0"}),
        required_step_kinds: BTreeSet::from(["a".to_owned()]),
        inputs: serde_json::Map::new(),
        executor: ExecutorCommand::for_path("in-memory".as_ref(), &[], EnvPolicy::default()),
        engine_timeout: timeout,
        max_frame_bytes: DEFAULT_MAX_FRAME_BYTES,
        allow_shell: false,
        log_json: false,
        tap: Tap::none(),
    }
}

fn ids() -> RunIds {
    RunIds {
        run_id: "r".into(),
        trace_id: "t".into(),
    }
}

/// Answers Capabilities and StartRun, then `poll(n, request)` for each Poll (n from 1);
/// Cancel is counted and, when `answer_cancel`, answered. Exits at stdin EOF if `exits_on_eof`.
async fn lifecycle(
    mut peer: Peer,
    exit: watch::Sender<Option<i32>>,
    exits_on_eof: bool,
    cancels: Arc<Mutex<u32>>,
    poll: impl Fn(u32) -> Option<Value>,
) {
    let mut polls = 0;
    while let Some(request) = peer.request().await {
        match request["method"].as_str().unwrap() {
            "Runtime.Capabilities" => {
                let caps =
                    json!({"version": "1.0.0", "step_kinds": ["a"], "limits": {"concurrency": 1}});
                peer.reply(&request, caps).await;
            }
            "Runtime.StartRun" => peer.reply(&request, json!({"run_id": "r"})).await,
            "Runtime.Poll" => {
                polls += 1;
                if let Some(result) = poll(polls) {
                    peer.reply(&request, result).await;
                }
            }
            "Runtime.Cancel" => *cancels.lock().unwrap() += 1,
            _ => {}
        }
    }
    if exits_on_eof {
        let _ = exit.send(Some(0));
    }
    std::future::pending::<()>().await;
}

fn event(n: u32) -> Value {
    json!({"type": "log", "timestamp": "2026-01-01T00:00:00Z", "level": "info", "message": format!("{n}")})
}

/// `run_session` with no observer and no interrupt.
async fn run(
    session: Session<Pipe, Pipe>,
    executor: &mut FakeExecutor,
    timeout: Duration,
) -> rep_host::Outcome {
    run_session(
        session,
        executor,
        &request(timeout),
        ids(),
        &mut [],
        &mut Interrupts::none(),
    )
    .await
}

/// A runner over an in-memory executor: `(session, executor, peer)`.
fn runner_parts(honours_term: bool) -> (Session<Pipe, Pipe>, FakeExecutor, Peer) {
    let (client, peer) = connect(64 * 1024, DEFAULT_MAX_FRAME_BYTES);
    (Session::new(client), FakeExecutor::new(honours_term), peer)
}

/// Finding 8: while Polls return events the next one goes out at once: no time passes.
#[tokio::test(start_paused = true)]
async fn polls_follow_each_other_at_once_while_events_flow() {
    let (session, mut executor, peer) = runner_parts(true);
    let exit = executor.exit_handle();
    let start = Instant::now();
    let last_poll = Arc::new(Mutex::new(None));
    let seen = last_poll.clone();
    tokio::spawn(lifecycle(peer, exit, true, Arc::default(), move |n| {
        let status = if n < 1000 { "running" } else { "completed" };
        *seen.lock().unwrap() = Some(start.elapsed());
        Some(json!({"status": status, "events": [event(n)]}))
    }));
    let outcome = run(session, &mut executor, Duration::from_secs(60)).await;
    assert_eq!(outcome.status, RunStatus::Completed, "{:?}", outcome.error);
    assert_eq!(outcome.events.len(), 1000);
    let last = last_poll.lock().unwrap().unwrap();
    assert!(
        last < PollCadence::HOST.min,
        "1000 Polls with events slept {last:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn empty_polls_back_off() {
    let (session, mut executor, peer) = runner_parts(true);
    let exit = executor.exit_handle();
    let start = Instant::now();
    let last_poll = Arc::new(Mutex::new(None));
    let seen = last_poll.clone();
    tokio::spawn(lifecycle(peer, exit, true, Arc::default(), move |n| {
        let status = if n < 20 { "running" } else { "completed" };
        *seen.lock().unwrap() = Some(start.elapsed());
        Some(json!({"status": status}))
    }));
    let outcome = run(session, &mut executor, Duration::from_secs(60)).await;
    assert_eq!(outcome.status, RunStatus::Completed);
    // Before the 20th Poll: 0.5 + 1 + 2 + 4 ms, then 8 ms for the other 15 waits (tokio's
    // timer rounds the 0.5 ms up to its 1 ms tick).
    let last = last_poll.lock().unwrap().unwrap();
    let expected = Duration::from_micros(7500 + 15 * 8000);
    assert!(
        last >= expected && last <= expected + Duration::from_millis(1),
        "{last:?}"
    );
}

/// Deliver 7: the engine timeout cancels once, then SIGTERM at 4 s and SIGKILL at 5 s.
#[tokio::test(start_paused = true)]
async fn the_engine_timeout_cancels_once_then_terminates_then_kills() {
    let (session, mut executor, peer) = runner_parts(false);
    let exit = executor.exit_handle();
    let cancels = Arc::new(Mutex::new(0));
    tokio::spawn(lifecycle(peer, exit, false, cancels.clone(), |n| {
        Some(json!({"status": "running", "events": if n == 1 { vec![event(1)] } else { vec![] }}))
    }));
    let signals = executor.signals.clone();
    let outcome = run(session, &mut executor, Duration::from_secs(1)).await;
    let error = outcome.error.unwrap();
    assert_eq!(error.cause, Some(Cause::Timeout));
    assert_eq!(
        outcome.events.len(),
        1,
        "the event before the timeout is kept"
    );
    assert_eq!(*cancels.lock().unwrap(), 1);
    assert_eq!(
        *signals.lock().unwrap(),
        vec![
            ("TERM", Duration::from_secs(1 + 4)),
            ("KILL", Duration::from_secs(1 + 5))
        ]
    );
}

/// Finding 7: after a broken transport, no Cancel; SIGTERM 2 s after stdin closes.
#[tokio::test(start_paused = true)]
async fn a_broken_transport_is_terminated_after_two_seconds() {
    let (session, mut executor, mut peer) = runner_parts(true);
    tokio::spawn(async move {
        let _ = peer.request().await;
        peer.send("not json").await;
        std::future::pending::<()>().await;
    });
    let signals = executor.signals.clone();
    let outcome = run(session, &mut executor, Duration::from_secs(60)).await;
    assert_eq!(outcome.error.unwrap().cause, Some(Cause::InvalidJson));
    assert_eq!(
        *signals.lock().unwrap(),
        vec![("TERM", Duration::from_secs(2))]
    );
}

/// Finding 9: a second interrupt skips the waiting.
#[tokio::test(start_paused = true)]
async fn a_second_interrupt_kills_at_once() {
    let (session, mut executor, peer) = runner_parts(false);
    let exit = executor.exit_handle();
    tokio::spawn(lifecycle(peer, exit, false, Arc::default(), |_| {
        Some(json!({"status": "running"}))
    }));
    let (sender, mut interrupts) = Interrupts::channel();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(1)).await;
        sender.send(Interrupt::Sigint);
        tokio::time::sleep(Duration::from_millis(300)).await;
        sender.send(Interrupt::Sigint);
    });
    let signals = executor.signals.clone();
    let outcome = run_session(
        session,
        &mut executor,
        &request(Duration::from_secs(60)),
        ids(),
        &mut [],
        &mut interrupts,
    )
    .await;
    assert_eq!(outcome.error.unwrap().cause, Some(Cause::Interrupted));
    assert_eq!(
        *signals.lock().unwrap(),
        vec![("KILL", Duration::from_millis(1300))]
    );
}

/// Finding 4: the executor's exit is noticed by the process, not by stdout EOF (which a
/// descendant holding stdout would delay to the engine timeout).
#[tokio::test(start_paused = true)]
async fn an_exit_is_reported_at_once_with_status_and_last_stderr() {
    let (session, mut executor, peer) = runner_parts(true);
    let exit = executor.exit_handle();
    tokio::spawn(lifecycle(
        peer,
        exit.clone(),
        false,
        Arc::default(),
        move |n| {
            if n == 2 {
                let _ = exit.send(Some(70));
                return None;
            }
            Some(json!({"status": "running", "events": [event(n)]}))
        },
    ));
    let start = Instant::now();
    let outcome = run(session, &mut executor, Duration::from_secs(120)).await;
    let error = outcome.error.unwrap();
    assert_eq!(error.cause, Some(Cause::Eof));
    assert!(
        error.message.contains("exit status: 70")
            && error.message.contains("before answering Runtime.Poll")
            && error.message.contains("in-memory: last words"),
        "{}",
        error.message
    );
    assert_eq!(outcome.events.len(), 1);
    assert!(
        start.elapsed() <= Duration::from_millis(200),
        "{:?}",
        start.elapsed()
    );
}

/// Finding 5, after the last Poll: a frame written after the run ended is not ignored.
#[tokio::test(start_paused = true)]
async fn a_frame_after_the_last_response_fails_the_run() {
    let (session, mut executor, mut peer) = runner_parts(true);
    let exit = executor.exit_handle();
    tokio::spawn(async move {
        for _ in 0..2 {
            let request = peer.request().await.unwrap();
            let result = match request["method"].as_str().unwrap() {
                "Runtime.Capabilities" => {
                    json!({"version": "1.0.0", "step_kinds": ["a"], "limits": {"concurrency": 1}})
                }
                _ => json!({"run_id": "r"}),
            };
            peer.reply(&request, result).await;
        }
        let poll = peer.request().await.unwrap();
        peer.reply(&poll, json!({"status": "completed"})).await;
        peer.reply(&poll, json!({"status": "completed", "events": [event(9)]}))
            .await;
        while peer.request().await.is_some() {}
        let _ = exit.send(Some(0));
        std::future::pending::<()>().await;
    });
    let outcome = run(session, &mut executor, Duration::from_secs(60)).await;
    assert_eq!(outcome.status, RunStatus::Failed);
    let error = outcome.error.unwrap();
    assert_eq!(error.cause, Some(Cause::DuplicateResponse), "{error}");
}

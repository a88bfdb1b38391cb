//! A raw connection to one executor process: bytes out, newline frames in, every frame kept.
//!
//! Unlike `rep_host::Client`, nothing here hides a protocol mistake: a test sends
//! exactly the bytes it wants (also malformed ones) and sees every line the executor writes
//! on stdout, so a failure can quote the offending frame. What counts as a response is
//! decided by rep-spec's JSON-RPC rules ([`rep_spec::parse_response`]), the same the host
//! applies.

use std::path::PathBuf;
use std::time::Duration;

use rep_host::{
    EnvPolicy, ExecutorCommand, ExecutorProcess, RunEnv, Sandbox, Tap, TapReader, TapWriter,
};
use rep_process::Ladder;
use rep_spec::{
    DEFAULT_MAX_FRAME_BYTES, ErrorObject, Frame, FrameError, FrameReader, Id, Request, Response,
    parse_response,
};
use serde_json::{Map, Value};
use tokio::io::AsyncWriteExt;
use tokio::process::{ChildStdin, ChildStdout};
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::verdict::Failure;
use crate::wire::FrameTap;

/// The longest a test waits for one response, in seconds (capped by the test's own budget).
pub const CALL_TIMEOUT: Duration = Duration::from_secs(5);

/// How [`Connection::close`] ends the executor once its stdin is closed: 300 ms to exit by
/// itself, then SIGKILL to its process group (rep-process's shutdown ladder).
const CLOSE: Ladder = Ladder::kill_after(Duration::from_millis(300));

/// How many of the executor's last stderr lines a failure quotes.
const STDERR_LINES_QUOTED: usize = 3;

/// The executor under test as the user runs it: a path (a `.py` path runs with `python3`),
/// its arguments and its environment policy (the allowlist `tm` uses, plus `--pass-env` and
/// `--env`, or the `runtime.yaml` given with `--config`).
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    /// The executor path as given.
    pub path: PathBuf,
    /// Arguments passed to it.
    pub args: Vec<String>,
    /// What its environment holds besides the `TRACE_MIND_*` variables of REP v0.1 §6.
    pub env: EnvPolicy,
    /// The sha256 its file must have (the `--config` file's `runtime.executor_sha256`):
    /// every process of the suite runs the pinned bytes, as `tm` would.
    pub sha256: Option<String>,
    /// The sandbox of the `--config` file: every process of the suite runs in it.
    pub sandbox: Option<Sandbox>,
}

impl Target {
    /// A target with no arguments and the default environment policy.
    pub fn new(path: impl Into<PathBuf>) -> Target {
        Target {
            path: path.into(),
            args: Vec::new(),
            env: EnvPolicy::default(),
            sha256: None,
            sandbox: None,
        }
    }

    /// The command line as run: the program, then its arguments (for transcripts).
    pub fn command_line(&self) -> Vec<String> {
        let command = self.command();
        std::iter::once(command.program.display().to_string())
            .chain(command.args)
            .collect()
    }

    /// The command as the host runs it (pin and sandbox included).
    pub fn command(&self) -> ExecutorCommand {
        let mut command = ExecutorCommand::for_path(&self.path, &self.args, self.env.clone());
        command.sha256 = self.sha256.clone();
        command.sandbox = self.sandbox.clone();
        command
    }
}

/// One line the executor wrote on stdout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// The bytes, without the `\n`.
    pub bytes: Vec<u8>,
    /// Whether the line ended with `\n` (false only for a last line cut by EOF).
    pub terminated: bool,
}

impl Line {
    /// Whether the line holds only whitespace.
    pub fn is_blank(&self) -> bool {
        self.bytes.iter().all(u8::is_ascii_whitespace)
    }
}

#[derive(Debug)]
enum Incoming {
    Line(Line),
    TooLong(usize),
}

/// The JSON-RPC 2.0 response to a request this connection sent, read and checked by the
/// rules of rep-spec: an object with `"jsonrpc": "2.0"`, no `method`, exactly one of
/// `result` and `error` (a well-formed error object), and the request's own id.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    /// The id the request carried (and the response echoed).
    pub id: u64,
    /// The line that answered it.
    pub line: Line,
    /// The response.
    pub response: Response,
}

impl Reply {
    /// A failure about this reply, quoting its frame.
    pub fn fail(&self, reason: impl Into<String>) -> Failure {
        Failure::with_frame(reason, &self.line.bytes)
    }

    /// The error object, if this is an error response.
    pub fn error(&self) -> Option<&ErrorObject> {
        self.response.payload.as_ref().err()
    }

    /// The result, if this is a success response.
    pub fn result(&self) -> Option<&Value> {
        self.response.payload.as_ref().ok()
    }
}

/// One executor process, started and owned by the host's launcher (rep-process underneath:
/// its own process group, a parent-death signal, killed whole when the connection is
/// dropped), and the frames it sent.
pub struct Connection {
    process: ExecutorProcess,
    stdin: Option<TapWriter<ChildStdin>>,
    frames: mpsc::Receiver<Incoming>,
    next_id: u64,
    deadline: Instant,
    received: Vec<Line>,
    last_reply: Option<Reply>,
    /// Where received lines are recorded for REP-WIRE-001, with the method being answered.
    tap: Option<FrameTap>,
    awaiting: Option<String>,
}

impl Connection {
    /// Starts the executor as a host would (own process group, `TRACE_MIND_*` environment of
    /// REP v0.1 §6). Every wait of this connection ends at `deadline` at the latest. `tap`
    /// sees the session's traffic as it crosses the executor's streams (every byte sent,
    /// every line received, the executor's stderr and exit status): a transcript when
    /// recording (`run --record`), else [`Tap::none`].
    ///
    /// # Errors
    /// A failure naming the path when the executor cannot be started.
    pub fn spawn(target: &Target, deadline: Instant, tap: &Tap) -> Result<Connection, Failure> {
        let env = RunEnv {
            run_id: "conformance".into(),
            trace_id: "conformance".into(),
            engine_timeout: Duration::from_secs(120),
            allow_shell: false,
            log_json: false,
        };
        let mut process = ExecutorProcess::spawn(&target.command(), &env, tap)
            .map_err(|e| Failure::new(format!("cannot start the executor: {}", e.message)))?;
        let (tx, frames) = mpsc::channel(64);
        if let Some(stdout) = process.take_stdout() {
            let stdout = tap.executor_stdout(stdout, DEFAULT_MAX_FRAME_BYTES);
            tokio::spawn(read_lines(stdout, tx));
        }
        Ok(Connection {
            stdin: process.take_stdin().map(|stdin| tap.executor_stdin(stdin)),
            process,
            frames,
            next_id: 1,
            deadline,
            received: Vec::new(),
            last_reply: None,
            tap: None,
            awaiting: None,
        })
    }

    /// Records every line received from now on in `tap` (REP-WIRE-001).
    pub fn tap(&mut self, tap: FrameTap) {
        self.tap = Some(tap);
    }

    fn received_line(&mut self, line: &Line) {
        if let Some(tap) = &self.tap {
            tap.record(self.awaiting.as_deref(), &line.bytes);
        }
        self.received.push(line.clone());
    }

    /// The executor process.
    pub fn process(&mut self) -> &mut ExecutorProcess {
        &mut self.process
    }

    /// Every line received so far, oldest first.
    pub fn received(&self) -> &[Line] {
        &self.received
    }

    /// The last reply [`Connection::request`] read, if any.
    pub fn last_reply(&self) -> Option<Reply> {
        self.last_reply.clone()
    }

    /// How many requests [`Connection::request`] has sent.
    pub fn requests_sent(&self) -> u64 {
        self.next_id - 1
    }

    /// Reads lines until stdout ends or `within` passes; returns them and whether stdout
    /// ended.
    pub async fn drain(&mut self, within: Duration) -> (Vec<Line>, bool) {
        let until = (Instant::now() + within).min(self.deadline);
        let mut lines = Vec::new();
        loop {
            match tokio::time::timeout_at(until, self.frames.recv()).await {
                Err(_) => return (lines, false),
                Ok(None) => return (lines, true),
                Ok(Some(Incoming::TooLong(len))) => lines.push(Line {
                    bytes: format!("[a line of more than {len} bytes]").into_bytes(),
                    terminated: true,
                }),
                Ok(Some(Incoming::Line(line))) => {
                    self.received_line(&line);
                    lines.push(line);
                }
            }
        }
    }

    /// Writes `bytes` to the executor's stdin as they are (add the `\n` yourself).
    ///
    /// # Errors
    /// A failure when stdin is closed (the executor is gone).
    pub async fn send_raw(&mut self, bytes: &[u8]) -> Result<(), Failure> {
        let written = match self.stdin.as_mut() {
            Some(stdin) => stdin.write_all(bytes).await.and(stdin.flush().await),
            None => Err(std::io::ErrorKind::BrokenPipe.into()),
        };
        if written.is_err() {
            return Err(self.gone("while a request was being written").await);
        }
        Ok(())
    }

    /// Closes the executor's stdin ("shut down", REP v0.1 §1). Idempotent.
    pub fn close_stdin(&mut self) {
        self.stdin = None;
    }

    /// When a wait for an answer that starts now ends: [`CALL_TIMEOUT`] from now, or the
    /// test's deadline if sooner.
    pub fn answer_deadline(&self) -> Instant {
        (Instant::now() + CALL_TIMEOUT).min(self.deadline)
    }

    /// The next line on stdout, waiting until `until`. `after` names what was sent, for
    /// messages.
    ///
    /// # Errors
    /// Timeout or EOF (with the exit status and the executor's last stderr lines), or an
    /// over-long line.
    pub async fn next_line(&mut self, after: &str, until: Instant) -> Result<Line, Failure> {
        match tokio::time::timeout_at(until, self.frames.recv()).await {
            Err(_) if until >= self.deadline => {
                let failure = Failure::new(format!(
                    "the test's time budget ran out waiting for the answer to {after}"
                ));
                Err(self.with_stderr(failure).await)
            }
            Err(_) => {
                let failure = Failure::new(format!(
                    "no answer to {after} within {} s",
                    CALL_TIMEOUT.as_secs()
                ));
                Err(self.with_stderr(failure).await)
            }
            Ok(None) => Err(self.gone(&format!("before answering {after}")).await),
            Ok(Some(Incoming::TooLong(len))) => Err(Failure::new(format!(
                "a line of more than {len} bytes answered {after}, longer than the host's {DEFAULT_MAX_FRAME_BYTES} byte bound"
            ))),
            Ok(Some(Incoming::Line(line))) => {
                self.received_line(&line);
                Ok(line)
            }
        }
    }

    /// Reads the answer to something just sent (`what`), by the rules of rep-spec: blank
    /// lines and notifications (which REP v0.1 does not use, but a host ignores; REP-FRM-002
    /// reports them) are passed over; the first other line must be a JSON-RPC 2.0 response.
    /// A frame with a `method` is never a response — an executor that echoes requests
    /// answers nothing. The caller checks the id.
    ///
    /// # Errors
    /// Transport failures of [`Connection::next_line`]; a line that is not JSON, a request
    /// from the executor, or a frame that breaks a JSON-RPC 2.0 response rule, quoting it.
    pub async fn read_response(
        &mut self,
        what: &str,
        until: Instant,
    ) -> Result<(Line, Response), Failure> {
        loop {
            let line = self.next_line(what, until).await?;
            if line.is_blank() {
                continue;
            }
            let value: Value = serde_json::from_slice(&line.bytes).map_err(|e| {
                Failure::with_frame(
                    format!("the answer to {what} is not JSON on one line ({e})"),
                    &line.bytes,
                )
            })?;
            match parse_response(value) {
                Ok(response) => return Ok((line, response)),
                Err(FrameError::Notification { .. }) => continue,
                Err(FrameError::UnexpectedRequest { method }) => {
                    return Err(Failure::with_frame(
                        format!(
                            "the executor sent a request ({method:?}) instead of answering {what}: a frame with a method is never a response"
                        ),
                        &line.bytes,
                    ));
                }
                Err(e) => {
                    return Err(Failure::with_frame(
                        format!("the answer to {what} is not a JSON-RPC 2.0 response: {e}"),
                        &line.bytes,
                    ));
                }
            }
        }
    }

    /// Sends `{"jsonrpc":"2.0","id":N,"method","params"}` with the next id (1, 2, 3, …) and
    /// reads its response ([`Connection::read_response`]), which must carry id `N`: a
    /// response to another id never counts for this request.
    ///
    /// # Errors
    /// As [`Connection::read_response`]; a response with another id.
    pub async fn request(&mut self, method: &str, params: Value) -> Result<Reply, Failure> {
        let id = self.next_id;
        self.next_id += 1;
        let mut bytes = serde_json::to_vec(&Request::new(id, method, params))
            .map_err(|e| Failure::new(format!("cannot encode the {method} request: {e}")))?;
        bytes.push(b'\n');
        self.send_raw(&bytes).await?;
        let until = self.answer_deadline();
        self.awaiting = Some(method.to_owned());
        let answer = self.read_response(method, until).await;
        self.awaiting = None;
        let (line, response) = answer?;
        if response.id != Id::from(id) {
            return Err(Failure::with_frame(
                format!(
                    "the answer to {method} (request id {id}) carries id {}",
                    response.id
                ),
                &line.bytes,
            ));
        }
        let reply = Reply { id, line, response };
        self.last_reply = Some(reply.clone());
        Ok(reply)
    }

    /// [`Connection::request`], then requires a success response whose `result` is an
    /// object; returns the result.
    ///
    /// # Errors
    /// Anything else, quoting the frame.
    pub async fn call(
        &mut self,
        method: &str,
        params: Value,
    ) -> Result<Map<String, Value>, Failure> {
        let reply = self.request(method, params).await?;
        match &reply.response.payload {
            Err(error) => Err(reply.fail(format!(
                "{method} answered an error: {}",
                short_error(error)
            ))),
            Ok(Value::Object(map)) => Ok(map.clone()),
            Ok(_) => Err(reply.fail(format!("the {method} result is not a JSON object"))),
        }
    }

    /// Closes stdin, lets the executor exit briefly, then kills its process group.
    pub async fn close(mut self) {
        self.shutdown(CLOSE).await;
    }

    /// Closes stdin and stops the executor by `ladder` (rep-process's shutdown ladder);
    /// returns its exit status.
    pub async fn shutdown(&mut self, ladder: Ladder) -> Option<std::process::ExitStatus> {
        self.close_stdin();
        self.process.shutdown(ladder).await
    }

    /// A failure for an executor that closed stdout or exited, with its status and last
    /// stderr lines.
    pub async fn gone(&mut self, when: &str) -> Failure {
        let status = self.process.wait_exit(Duration::from_millis(200)).await;
        let what = match status {
            Some(status) => format!("the executor exited ({status}) {when}"),
            None => format!("the executor closed stdout {when}"),
        };
        self.with_stderr(Failure::new(what)).await
    }

    /// `failure` with the executor's last stderr lines appended (`; stderr: …`), when it
    /// wrote any.
    pub async fn with_stderr(&mut self, failure: Failure) -> Failure {
        self.process
            .stderr_drained(Duration::from_millis(100))
            .await;
        let tail = self.process.stderr_tail();
        if tail.is_empty() {
            return failure;
        }
        let last = &tail[tail.len().saturating_sub(STDERR_LINES_QUOTED)..];
        Failure {
            reason: format!("{}; stderr: {}", failure.reason, last.join(" ⏎ ")),
            frame: failure.frame,
        }
    }
}

/// `code message` of an error object, for messages.
pub fn short_error(error: &ErrorObject) -> String {
    format!("{} {}", error.code, error.message)
}

async fn read_lines(stdout: TapReader<ChildStdout>, tx: mpsc::Sender<Incoming>) {
    let mut frames = FrameReader::new(stdout, DEFAULT_MAX_FRAME_BYTES);
    // A read error ends the stream, as EOF does.
    while let Ok(Some(frame)) = frames.next_frame().await {
        let item = match frame {
            Frame::Line(bytes) => Incoming::Line(Line {
                bytes,
                terminated: !frames.ended(),
            }),
            Frame::TooLong { len } => Incoming::TooLong(len),
        };
        if tx.send(item).await.is_err() {
            return;
        }
    }
}

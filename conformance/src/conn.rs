//! A raw connection to one executor process: bytes out, newline frames in, every frame kept.
//!
//! Unlike `rep_host::Client`, nothing here hides a protocol mistake: a test sends
//! exactly the bytes it wants (also malformed ones) and sees every line the executor writes
//! on stdout, so a failure can quote the offending frame.

use std::path::PathBuf;
use std::time::Duration;

use rep_host::{EnvPolicy, ExecutorCommand, ExecutorProcess, RunEnv};
use rep_spec::{DEFAULT_MAX_FRAME_BYTES, Frame, FrameReader};
use serde_json::{Map, Value, json};
use tokio::process::ChildStdout;
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::verdict::Failure;

/// The longest a test waits for one response, in seconds (capped by the test's own budget).
pub const CALL_TIMEOUT: Duration = Duration::from_secs(5);

/// How long [`Connection::close`] lets the executor exit after stdin EOF before killing its
/// process group.
const CLOSE_GRACE: Duration = Duration::from_millis(300);

/// The executor under test: a path (a `.py` path runs with `python3`) and its arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The executor path as given.
    pub path: PathBuf,
    /// Arguments passed to it.
    pub args: Vec<String>,
}

impl Target {
    fn command(&self) -> ExecutorCommand {
        ExecutorCommand::for_path(&self.path, &self.args, EnvPolicy::default())
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

#[derive(Debug)]
enum Incoming {
    Line(Line),
    TooLong(usize),
}

/// A response read back for a request this connection sent.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    /// The id the request carried.
    pub id: u64,
    /// The line that answered it.
    pub line: Line,
    /// The line parsed as JSON.
    pub value: Value,
}

impl Reply {
    /// A failure about this reply, quoting its frame.
    pub fn fail(&self, reason: impl Into<String>) -> Failure {
        Failure::with_frame(reason, &self.line.bytes)
    }

    /// The `error` member, if this is an error response.
    pub fn error(&self) -> Option<&Value> {
        self.value.get("error")
    }

    /// The `result` member, if any.
    pub fn result(&self) -> Option<&Value> {
        self.value.get("result")
    }
}

/// One executor process and the frames it sent.
pub struct Connection {
    process: ExecutorProcess,
    frames: mpsc::Receiver<Incoming>,
    next_id: u64,
    deadline: Instant,
    received: Vec<Line>,
    last_reply: Option<Reply>,
}

impl Connection {
    /// Starts the executor as a host would (own process group, `TRACE_MIND_*` environment of
    /// REP v0.1 §6). Every wait of this connection ends at `deadline` at the latest.
    ///
    /// # Errors
    /// A failure naming the path when the executor cannot be started.
    pub fn spawn(target: &Target, deadline: Instant) -> Result<Connection, Failure> {
        let env = RunEnv {
            run_id: "conformance".into(),
            trace_id: "conformance".into(),
            engine_timeout: Duration::from_secs(120),
            allow_shell: false,
            log_json: false,
        };
        let mut process = ExecutorProcess::spawn(&target.command(), &env)
            .map_err(|e| Failure::new(format!("cannot start the executor: {}", e.message)))?;
        let (tx, frames) = mpsc::channel(64);
        if let Some(stdout) = process.take_stdout() {
            tokio::spawn(read_lines(stdout, tx));
        }
        Ok(Connection {
            process,
            frames,
            next_id: 1,
            deadline,
            received: Vec::new(),
            last_reply: None,
        })
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
                    self.received.push(line.clone());
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
        if self.process.write_line(bytes).await.is_err() {
            return Err(self.gone("while a request was being written").await);
        }
        Ok(())
    }

    /// The next line on stdout, waiting up to [`CALL_TIMEOUT`] (and the test's deadline).
    /// `after` names what was sent, for messages.
    ///
    /// # Errors
    /// Timeout, EOF (with the exit status and last stderr line), or an over-long line.
    pub async fn next_line(&mut self, after: &str) -> Result<Line, Failure> {
        let until = (Instant::now() + CALL_TIMEOUT).min(self.deadline);
        match tokio::time::timeout_at(until, self.frames.recv()).await {
            Err(_) if until == self.deadline => Err(Failure::new(format!(
                "the test's time budget ran out waiting for the answer to {after}"
            ))),
            Err(_) => Err(Failure::new(format!(
                "no answer to {after} within {} s",
                CALL_TIMEOUT.as_secs()
            ))),
            Ok(None) => Err(self.gone(&format!("before answering {after}")).await),
            Ok(Some(Incoming::TooLong(len))) => Err(Failure::new(format!(
                "a line of more than {len} bytes answered {after}, longer than the host's {} byte bound",
                DEFAULT_MAX_FRAME_BYTES
            ))),
            Ok(Some(Incoming::Line(line))) => {
                self.received.push(line.clone());
                Ok(line)
            }
        }
    }

    /// Sends `{"jsonrpc":"2.0","id":N,"method","params"}` with the next id (1, 2, 3, …) and
    /// reads the next line as its answer, which must be JSON (blank lines are skipped).
    ///
    /// # Errors
    /// Transport failures of [`Connection::next_line`]; a line that is not JSON.
    pub async fn request(&mut self, method: &str, params: Value) -> Result<Reply, Failure> {
        let id = self.next_id;
        self.next_id += 1;
        let request = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
        let mut bytes = request.to_string().into_bytes();
        bytes.push(b'\n');
        self.send_raw(&bytes).await?;
        let line = loop {
            let line = self.next_line(method).await?;
            if !line.bytes.iter().all(u8::is_ascii_whitespace) {
                break line;
            }
        };
        let value = serde_json::from_slice(&line.bytes).map_err(|e| {
            Failure::with_frame(
                format!("the answer to {method} is not a JSON object on one line ({e})"),
                &line.bytes,
            )
        })?;
        let reply = Reply { id, line, value };
        self.last_reply = Some(reply.clone());
        Ok(reply)
    }

    /// [`Connection::request`], then requires a JSON-RPC 2.0 success response to it whose
    /// `result` is an object; returns the result.
    ///
    /// # Errors
    /// Anything else, quoting the frame: an error response, a wrong id, a bad envelope.
    pub async fn call(
        &mut self,
        method: &str,
        params: Value,
    ) -> Result<Map<String, Value>, Failure> {
        let reply = self.request(method, params).await?;
        check_envelope(&reply, method)?;
        if let Some(error) = reply.error() {
            return Err(reply.fail(format!(
                "{method} answered an error: {}",
                short_error(error)
            )));
        }
        match reply.result() {
            Some(Value::Object(map)) => Ok(map.clone()),
            _ => Err(reply.fail(format!("the {method} result is not a JSON object"))),
        }
    }

    /// [`Connection::request`], then requires an error response to it; returns the reply.
    ///
    /// # Errors
    /// A success response or a bad envelope, quoting the frame.
    pub async fn call_error(&mut self, method: &str, params: Value) -> Result<Reply, Failure> {
        let reply = self.request(method, params).await?;
        check_envelope(&reply, method)?;
        if reply.error().is_none() {
            return Err(reply.fail(format!("{method} succeeded where an error was expected")));
        }
        Ok(reply)
    }

    /// Closes stdin, lets the executor exit briefly, then kills its process group.
    pub async fn close(mut self) {
        self.process.shutdown(CLOSE_GRACE).await;
    }

    /// A failure for an executor that closed stdout or exited, with its status and last
    /// stderr line.
    pub async fn gone(&mut self, when: &str) -> Failure {
        let status = self.process.wait_exit(Duration::from_millis(200)).await;
        self.process
            .stderr_drained(Duration::from_millis(200))
            .await;
        let what = match status {
            Some(status) => format!("the executor exited ({status}) {when}"),
            None => format!("the executor closed stdout {when}"),
        };
        match self.process.stderr_tail().last() {
            Some(line) => Failure::new(format!("{what}; last stderr line: {line}")),
            None => Failure::new(what),
        }
    }
}

/// Checks the JSON-RPC 2.0 envelope of a reply: an object, `"jsonrpc": "2.0"`, the request's
/// id, and exactly one of `result` and `error`.
///
/// # Errors
/// What is wrong, quoting the frame.
pub fn check_envelope(reply: &Reply, method: &str) -> Result<(), Failure> {
    let Some(object) = reply.value.as_object() else {
        return Err(reply.fail(format!("the answer to {method} is not a JSON object")));
    };
    if object.get("jsonrpc") != Some(&json!("2.0")) {
        return Err(reply.fail(format!("the answer to {method} lacks \"jsonrpc\": \"2.0\"")));
    }
    if object.get("id") != Some(&json!(reply.id)) {
        let found = object
            .get("id")
            .map_or("no id".to_owned(), Value::to_string);
        return Err(reply.fail(format!(
            "the answer to {method} (id {}) carries {found}",
            reply.id
        )));
    }
    match (object.contains_key("result"), object.contains_key("error")) {
        (true, false) | (false, true) => Ok(()),
        (true, true) => {
            Err(reply.fail(format!("the answer to {method} has both result and error")))
        }
        (false, false) => Err(reply.fail(format!(
            "the answer to {method} has neither result nor error"
        ))),
    }
}

/// `code message` of an error member, for messages.
pub fn short_error(error: &Value) -> String {
    let code = error.get("code").map_or("?".to_owned(), Value::to_string);
    let message = error.get("message").and_then(Value::as_str).unwrap_or("");
    format!("{code} {message}")
}

async fn read_lines(stdout: ChildStdout, tx: mpsc::Sender<Incoming>) {
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

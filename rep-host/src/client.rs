//! The JSON-RPC client: one request at a time, ids 1, 2, 3, …, bounded frames, and every
//! malformed reply mapped to a transport error 3001 with its cause (REP v0.1 §1).
//!
//! jsonrpsee's client is not used: it numbers requests from 0, multiplexes concurrent calls
//! on background tasks, and drops replies it cannot match, where REP needs ids from 1,
//! strictly sequential calls, and every bad frame surfaced as an error naming it.

use std::collections::VecDeque;
use std::time::Duration;

use rep_spec::{Frame, FrameError, Id, LineFramer, Request, parse_response_text};
use serde::Serialize;
use serde_json::value::RawValue;
use tokio::io::AsyncReadExt;
use tokio::process::ChildStdout;
use tokio::time::Instant;

use crate::error::{Cause, RunError};
use crate::launcher::ExecutorProcess;

/// How long an EOF error waits for the executor's exit status and last stderr lines.
const EXIT_REPORT_WAIT: Duration = Duration::from_millis(200);

/// How many bytes of a bad frame an error message shows.
const SHOWN_BYTES: usize = 200;

/// Talks JSON-RPC 2.0 to one executor process.
pub struct Client {
    process: ExecutorProcess,
    stdout: Option<ChildStdout>,
    framer: LineFramer,
    frames: VecDeque<Frame>,
    scratch: Vec<Frame>,
    chunk: Vec<u8>,
    next_id: u64,
    max_frame_bytes: usize,
}

impl Client {
    /// Takes over `process`: its stdout is split into frames of at most `max_frame_bytes`
    /// (REP hosts default to [`rep_spec::DEFAULT_MAX_FRAME_BYTES`], 16 MiB). Reading happens
    /// inside [`Client::call`], on the caller's task: no extra task, no channel hop.
    pub fn new(mut process: ExecutorProcess, max_frame_bytes: usize) -> Client {
        Client {
            stdout: process.take_stdout(),
            process,
            framer: LineFramer::new(max_frame_bytes),
            frames: VecDeque::new(),
            scratch: Vec::new(),
            chunk: vec![0; 64 * 1024],
            next_id: 1,
            max_frame_bytes,
        }
    }

    /// The executor process.
    pub fn process(&mut self) -> &mut ExecutorProcess {
        &mut self.process
    }

    /// The id the next request will carry (1 for the first).
    pub fn next_id(&self) -> u64 {
        self.next_id
    }

    /// Sends `method` with `params` and waits until `deadline` for its response.
    ///
    /// Replies to earlier requests that timed out (lower ids) are skipped; notifications are
    /// logged and ignored. Returns the `result` as JSON text, which must be an object: the
    /// caller parses it straight into its type.
    ///
    /// # Errors
    /// - the executor's error object → [`RunError::from_executor`] (its own class);
    /// - deadline passed → 3001 [`Cause::Timeout`];
    /// - EOF or exit → 3001 [`Cause::Eof`] with the exit status and the last stderr lines;
    /// - bad frames → 3001 with [`Cause::InvalidJson`], [`Cause::InvalidUtf8`],
    ///   [`Cause::FrameTooLong`], [`Cause::InvalidResponse`] or [`Cause::WrongId`].
    pub async fn call<P: Serialize>(
        &mut self,
        method: &str,
        params: P,
        deadline: Instant,
    ) -> Result<Box<RawValue>, RunError> {
        let id = self.next_id;
        self.next_id += 1;
        let mut line = serde_json::to_vec(&Request::new(id, method, params)).map_err(|e| {
            RunError::transport(
                Cause::InvalidResponse,
                format!("cannot encode {method} request: {e}"),
            )
        })?;
        line.push(b'\n');
        if self.process.write_line(&line).await.is_err() {
            return Err(self.eof_error(method).await);
        }
        loop {
            let frame = match tokio::time::timeout_at(deadline, self.next_frame()).await {
                Err(_) => {
                    return Err(RunError::transport(
                        Cause::Timeout,
                        format!("timed out waiting for the {method} response"),
                    ));
                }
                Ok(None) => return Err(self.eof_error(method).await),
                Ok(Some(frame)) => frame,
            };
            let bytes = match frame {
                Frame::Line(bytes) if bytes.iter().all(u8::is_ascii_whitespace) => continue,
                Frame::Line(bytes) => bytes,
                Frame::TooLong { len } => {
                    let message = format!(
                        "{method} response frame of {len} bytes exceeds the limit of {} bytes",
                        self.max_frame_bytes
                    );
                    return Err(RunError::transport(Cause::FrameTooLong, message));
                }
            };
            let text = match std::str::from_utf8(&bytes) {
                Ok(text) => text,
                Err(e) => {
                    let message = format!(
                        "{method} response is not valid UTF-8 ({e}): {}",
                        show_bytes(&bytes)
                    );
                    return Err(RunError::transport(Cause::InvalidUtf8, message));
                }
            };
            let response = match parse_response_text(text) {
                Ok(response) => response,
                Err(FrameError::Notification { method: note }) => {
                    tracing::warn!(notification = %note, "ignoring a notification from the executor");
                    continue;
                }
                Err(FrameError::InvalidJson { message }) => {
                    let message = format!(
                        "{method} response is not valid JSON ({message}): {}",
                        show_bytes(&bytes)
                    );
                    return Err(RunError::transport(Cause::InvalidJson, message));
                }
                Err(e) => {
                    let message =
                        format!("invalid {method} response ({e}): {}", show_bytes(&bytes));
                    return Err(RunError::transport(Cause::InvalidResponse, message));
                }
            };
            match &response.id {
                Id::Number(n) if n.as_u64() == Some(id) => {}
                Id::Number(n) if n.as_u64().is_some_and(|n| n >= 1 && n < id) => {
                    tracing::debug!(stale = %n, "skipping the reply to a request that timed out");
                    continue;
                }
                other => {
                    let message = format!(
                        "{method} response has id {other}, expected {id}: {}",
                        show_bytes(&bytes)
                    );
                    return Err(RunError::transport(Cause::WrongId, message));
                }
            }
            return match response.payload {
                Ok(result) if result.get().trim_start().starts_with('{') => Ok(result.to_owned()),
                Ok(other) => Err(RunError::transport(
                    Cause::InvalidResponse,
                    format!(
                        "{method} result is not a JSON object: {}",
                        show_bytes(other.get().as_bytes())
                    ),
                )),
                Err(error) => Err(RunError::from_executor(method, error)),
            };
        }
    }

    /// The next frame from the executor's stdout; `None` at EOF (or a read error, which is
    /// the same for the protocol: the transport is gone). Cancel-safe: bytes are consumed
    /// only when a read completes, and the framer's state lives in `self`.
    async fn next_frame(&mut self) -> Option<Frame> {
        loop {
            if let Some(frame) = self.frames.pop_front() {
                return Some(frame);
            }
            let stdout = self.stdout.as_mut()?;
            let n = stdout.read(&mut self.chunk).await.unwrap_or(0);
            if n == 0 {
                self.stdout = None;
                let last = self.framer.finish();
                self.frames.extend(last);
                continue;
            }
            self.framer.feed(&self.chunk[..n], &mut self.scratch);
            self.frames.extend(self.scratch.drain(..));
        }
    }

    /// The error for an executor that closed stdout or exited: exit status and stderr tail.
    async fn eof_error(&mut self, method: &str) -> RunError {
        // A process that closed stdout is usually exiting: give it a moment so its status
        // and its last stderr lines can be reported.
        let status = self.process.wait_exit(EXIT_REPORT_WAIT).await;
        self.process.stderr_drained(EXIT_REPORT_WAIT).await;
        let exited = match status {
            Some(status) => format!("executor exited ({status})"),
            None => "executor closed its stdout".to_owned(),
        };
        let mut message = format!("{exited} before answering {method}");
        let tail = self.process.stderr_tail();
        if !tail.is_empty() {
            message.push_str("; last stderr lines:\n  ");
            message.push_str(&tail.join("\n  "));
        }
        RunError::transport(Cause::Eof, message)
    }
}

/// At most [`SHOWN_BYTES`] of a frame, lossily decoded, for messages.
fn show_bytes(bytes: &[u8]) -> String {
    let shown = &bytes[..bytes.len().min(SHOWN_BYTES)];
    let mut text = String::from_utf8_lossy(shown).into_owned();
    if bytes.len() > SHOWN_BYTES {
        text.push_str(&format!("… ({} bytes)", bytes.len()));
    }
    text
}

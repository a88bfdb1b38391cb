//! The JSON-RPC client: one request at a time, ids 1, 2, 3, …, over any byte streams (the
//! executor's stdin/stdout, an in-memory duplex in tests), with every malformed or
//! unexpected frame mapped to a transport error 3001 naming it (REP v0.1 §1).
//!
//! Every write and every read of a call is under the call's deadline, and the executor's
//! output is read *while* a request is being written: an executor that writes before it
//! reads cannot deadlock the host on two full pipes.
//!
//! jsonrpsee's client is not used: it numbers requests from 0, multiplexes concurrent calls
//! on background tasks, and drops replies it cannot match, where REP needs ids from 1,
//! strictly sequential calls, and every bad frame surfaced as an error naming it.

use std::collections::BTreeSet;
use std::time::Duration;

use rep_spec::{Frame, FrameError, FrameReader, Id, Request, parse_response_text};
use serde::Serialize;
use serde_json::value::RawValue;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::time::Instant;

use crate::error::{Cause, RunError};

/// How many bytes of a bad frame an error message shows.
const SHOWN_BYTES: usize = 1024;

/// How long [`Client::close`] lets the writer shut down.
pub const CLOSE_WAIT: Duration = Duration::from_millis(100);

/// Unexpected notifications are logged at most this often (REP v0.1 §1: rate-limited).
pub const NOTIFICATION_LOG_INTERVAL: Duration = Duration::from_secs(1);

/// The request being sent or awaited.
#[derive(Debug, Clone)]
struct InFlight {
    id: u64,
    method: String,
    /// The whole request line has been written.
    sent: bool,
}

/// Talks JSON-RPC 2.0 to one executor over `R` (its output) and `W` (its input).
pub struct Client<R, W> {
    frames: FrameReader<R>,
    writer: Option<W>,
    next_id: u64,
    in_flight: Option<InFlight>,
    /// Requests that timed out after being sent: each one's late reply may be skipped once.
    timed_out: BTreeSet<u64>,
    /// A transport error happened, or a request was cut off mid-frame: nothing more may be
    /// sent.
    broken: bool,
    notifications: NotificationLog,
}

impl<R: AsyncRead + Unpin, W: AsyncWrite + Unpin> Client<R, W> {
    /// A client reading frames of at most `max_frame_bytes` from `reader` (REP hosts default
    /// to [`rep_spec::DEFAULT_MAX_FRAME_BYTES`], 16 MiB) and writing requests to `writer`.
    /// Does no I/O.
    pub fn new(reader: R, writer: W, max_frame_bytes: usize) -> Client<R, W> {
        Client {
            frames: FrameReader::new(reader, max_frame_bytes),
            writer: Some(writer),
            next_id: 1,
            in_flight: None,
            timed_out: BTreeSet::new(),
            broken: false,
            notifications: NotificationLog::default(),
        }
    }

    /// The id the next request will carry (1 for the first).
    pub fn next_id(&self) -> u64 {
        self.next_id
    }

    /// The method of the request being sent or awaited (also one abandoned by a timeout or
    /// an interrupt), if any.
    pub fn in_flight(&self) -> Option<&str> {
        self.in_flight.as_ref().map(|call| call.method.as_str())
    }

    /// Whether another request can be sent: no transport error so far, no request cut off
    /// mid-frame, the writer still open.
    pub fn is_usable(&self) -> bool {
        !self.broken
            && self.writer.is_some()
            && self.in_flight.as_ref().is_none_or(|call| call.sent)
    }

    /// Unexpected notifications received so far.
    pub fn notifications(&self) -> u64 {
        self.notifications.total
    }

    /// Closes the writer: the executor's input reaches EOF ("shut down", REP v0.1 §1). The
    /// writer is shut down (for a stream that does not end when dropped: a duplex half, a
    /// socket), at most [`CLOSE_WAIT`], then dropped. Idempotent.
    pub async fn close(&mut self) {
        if let Some(mut writer) = self.writer.take() {
            let _ = tokio::time::timeout(CLOSE_WAIT, writer.shutdown()).await;
        }
        self.notifications.flush();
    }

    /// Sends `method` with `params` and waits until `deadline` for its response; writing the
    /// request is under the same deadline, and the executor's output is read meanwhile.
    ///
    /// Notifications are counted and logged at most once a second. The only reply skipped is
    /// the late reply to an earlier request of this client that timed out, once. Returns the
    /// `result` as JSON text, which must be an object: the caller parses it into its type.
    ///
    /// # Errors
    /// - the executor's error object → [`RunError::from_executor`] (its own class);
    /// - deadline passed → 3001 [`Cause::Timeout`];
    /// - EOF, a read error or a closed stdin → 3001 [`Cause::Eof`];
    /// - bad frames → 3001 with [`Cause::InvalidJson`], [`Cause::InvalidUtf8`],
    ///   [`Cause::FrameTooLong`] (as soon as the bound is passed), [`Cause::InvalidResponse`],
    ///   [`Cause::WrongId`] or [`Cause::DuplicateResponse`], quoting the frame;
    /// - a client that is no longer usable (see [`Client::is_usable`]) → 3001
    ///   [`Cause::InvalidResponse`] without sending anything.
    pub async fn call<P: Serialize>(
        &mut self,
        method: &str,
        params: P,
        deadline: Instant,
    ) -> Result<Box<RawValue>, RunError> {
        self.settle_abandoned();
        if !self.is_usable() {
            return Err(RunError::transport(
                Cause::InvalidResponse,
                format!("cannot send {method}: the transport to the executor is broken"),
            ));
        }
        let id = self.next_id;
        self.next_id += 1;
        let mut line = serde_json::to_vec(&Request::new(id, method, params)).map_err(|e| {
            RunError::transport(
                Cause::InvalidResponse,
                format!("cannot encode {method} request: {e}"),
            )
        })?;
        line.push(b'\n');
        self.in_flight = Some(InFlight {
            id,
            method: method.to_owned(),
            sent: false,
        });
        let result = match tokio::time::timeout_at(deadline, self.exchange(id, method, &line)).await
        {
            Ok(result) => result,
            Err(_) => {
                let what = match self.in_flight.as_ref().is_some_and(|call| call.sent) {
                    true => "response",
                    false => "executor to read the request (it stopped reading its stdin)",
                };
                return Err(RunError::transport(
                    Cause::Timeout,
                    format!("timed out waiting for the {method} {what}"),
                ));
            }
        };
        match &result {
            Err(error) if error.cause != Some(Cause::ExecutorError) => self.broken = true,
            _ => self.in_flight = None,
        }
        result
    }

    /// Reads the executor's output until EOF, judging every frame as [`Client::call`] would
    /// with no request outstanding: notifications and the late replies of timed-out requests
    /// are skipped, blank lines ignored. Used while the executor shuts down; bound it with a
    /// deadline (it is cancel-safe).
    ///
    /// # Errors
    /// The first frame the host cannot explain (e.g. a second response to a request), quoting
    /// it; a frame over the bound.
    pub async fn drain(&mut self) -> Result<(), RunError> {
        self.settle_abandoned();
        loop {
            let frame = match self.frames.next_frame().await {
                Ok(Some(frame)) => frame,
                Ok(None) | Err(_) => return Ok(()),
            };
            if let Some(response) = self.judge(frame, "no request")? {
                return Err(unexpected(self.next_id, &response.id, None, &response.text));
            }
        }
    }

    /// A request abandoned by a timeout or by a dropped future: a sent one's reply becomes
    /// skippable once; one cut off mid-frame leaves the stream unusable.
    fn settle_abandoned(&mut self) {
        if let Some(call) = self.in_flight.take() {
            if call.sent {
                self.timed_out.insert(call.id);
            } else {
                self.broken = true;
                self.in_flight = Some(call);
            }
        }
    }

    /// Writes `line` while reading frames, until the response to `id` has arrived.
    async fn exchange(
        &mut self,
        id: u64,
        method: &str,
        line: &[u8],
    ) -> Result<Box<RawValue>, RunError> {
        let Some(writer) = self.writer.as_mut() else {
            return Err(RunError::transport(
                Cause::Eof,
                format!("cannot send {method}: the executor's stdin is closed"),
            ));
        };
        let write = async {
            writer.write_all(line).await?;
            writer.flush().await
        };
        tokio::pin!(write);
        let mut sent = false;
        loop {
            let frame = tokio::select! {
                biased;
                written = &mut write, if !sent => {
                    if let Err(error) = written {
                        return Err(RunError::transport(
                            Cause::Eof,
                            format!("cannot send {method}: the executor's stdin is closed ({error})"),
                        ));
                    }
                    sent = true;
                    if let Some(call) = self.in_flight.as_mut() {
                        call.sent = true;
                    }
                    continue;
                }
                frame = self.frames.next_frame() => frame,
            };
            let frame = match frame {
                Ok(Some(frame)) => frame,
                Ok(None) => {
                    return Err(RunError::transport(
                        Cause::Eof,
                        format!("executor closed its stdout before answering {method}"),
                    ));
                }
                Err(error) => {
                    return Err(RunError::transport(
                        Cause::Eof,
                        format!(
                            "reading the executor's stdout failed before it answered {method}: {error}"
                        ),
                    ));
                }
            };
            let Some(response) = judge(
                &mut self.notifications,
                &mut self.timed_out,
                self.frames.max_frame_bytes(),
                frame,
                method,
            )?
            else {
                continue;
            };
            let answers = matches!(&response.id, Id::Number(n) if n.as_u64() == Some(id));
            if !answers || !sent {
                return Err(unexpected(
                    self.next_id,
                    &response.id,
                    Some(id),
                    &response.text,
                ));
            }
            return match response.payload {
                Ok(result) if result.get().trim_start().starts_with('{') => Ok(result),
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

    fn judge(&mut self, frame: Frame, method: &str) -> Result<Option<Judged>, RunError> {
        judge(
            &mut self.notifications,
            &mut self.timed_out,
            self.frames.max_frame_bytes(),
            frame,
            method,
        )
    }
}

/// The error for a response that answers no outstanding request.
fn unexpected(next_id: u64, id: &Id, expected: Option<u64>, text: &str) -> RunError {
    let frame = show_bytes(text.as_bytes());
    let answered = match id {
        Id::Number(n) => n.as_u64().filter(|&n| n >= 1 && n < next_id),
        _ => None,
    };
    match (answered, expected) {
        (Some(n), Some(expected)) if n == expected => RunError::transport(
            Cause::InvalidResponse,
            format!("the executor answered request {n} before it was fully sent: {frame}"),
        ),
        (Some(n), _) => RunError::transport(
            Cause::DuplicateResponse,
            format!("second response to request {n}: {frame}"),
        ),
        (None, Some(expected)) => RunError::transport(
            Cause::WrongId,
            format!("response has id {id}, expected {expected}: {frame}"),
        ),
        (None, None) => RunError::transport(
            Cause::WrongId,
            format!("response with id {id} when no request was outstanding: {frame}"),
        ),
    }
}

/// A response frame, parsed, kept with its text for messages.
struct Judged {
    id: Id,
    payload: Result<Box<RawValue>, rep_spec::RawErrorObject>,
    text: String,
}

/// Sorts one frame: `Ok(None)` for what is skipped (blank lines, notifications, the late
/// reply of a timed-out request), `Ok(Some)` for a response to match, `Err` for a frame that
/// breaks the transport.
fn judge(
    notifications: &mut NotificationLog,
    timed_out: &mut BTreeSet<u64>,
    max_frame_bytes: usize,
    frame: Frame,
    method: &str,
) -> Result<Option<Judged>, RunError> {
    let bytes = match frame {
        Frame::Line(bytes) if bytes.iter().all(u8::is_ascii_whitespace) => return Ok(None),
        Frame::Line(bytes) => bytes,
        Frame::TooLong { len } => {
            let message = format!(
                "a frame from the executor (awaiting {method}) exceeds the limit of {max_frame_bytes} bytes: {len} bytes without a newline"
            );
            return Err(RunError::transport(Cause::FrameTooLong, message));
        }
    };
    let text = match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(e) => {
            let message = format!(
                "{method} response is not valid UTF-8 ({}): {}",
                e.utf8_error(),
                show_bytes(e.as_bytes())
            );
            return Err(RunError::transport(Cause::InvalidUtf8, message));
        }
    };
    let response = match parse_response_text(&text) {
        Ok(response) => response,
        Err(FrameError::Notification { method: note }) => {
            notifications.record(&note);
            return Ok(None);
        }
        Err(FrameError::InvalidJson { message }) => {
            let message = format!(
                "{method} response is not valid JSON ({message}): {}",
                show_bytes(text.as_bytes())
            );
            return Err(RunError::transport(Cause::InvalidJson, message));
        }
        Err(e) => {
            let message = format!(
                "invalid {method} response ({e}): {}",
                show_bytes(text.as_bytes())
            );
            return Err(RunError::transport(Cause::InvalidResponse, message));
        }
    };
    if let Id::Number(n) = &response.id
        && let Some(n) = n.as_u64()
        && timed_out.remove(&n)
    {
        tracing::debug!(
            stale = n,
            "skipping the late reply to a request that timed out"
        );
        return Ok(None);
    }
    Ok(Some(Judged {
        id: response.id,
        payload: response.payload.map(|result| result.to_owned()),
        text,
    }))
}

/// Counts unexpected notifications and logs them at most once per
/// [`NOTIFICATION_LOG_INTERVAL`].
#[derive(Debug, Default)]
struct NotificationLog {
    total: u64,
    unlogged: u64,
    latest: String,
    next_log: Option<Instant>,
}

impl NotificationLog {
    fn record(&mut self, method: &str) {
        self.total += 1;
        self.unlogged += 1;
        if self.latest != method {
            self.latest = method.to_owned();
        }
        let now = Instant::now();
        if self.next_log.is_none_or(|at| now >= at) {
            self.flush();
            self.next_log = Some(now + NOTIFICATION_LOG_INTERVAL);
        }
    }

    fn flush(&mut self) {
        if self.unlogged > 0 {
            tracing::warn!(
                "ignored {} notification(s) from the executor (latest: {:?}; {} in all)",
                self.unlogged,
                self.latest,
                self.total
            );
            self.unlogged = 0;
        }
    }
}

/// At most [`SHOWN_BYTES`] of a frame, lossily decoded, for messages.
fn show_bytes(bytes: &[u8]) -> String {
    let mut end = bytes.len().min(SHOWN_BYTES);
    // Do not cut a UTF-8 sequence in two.
    while end < bytes.len() && end > 0 && (bytes[end] & 0xC0) == 0x80 {
        end -= 1;
    }
    let mut text = String::from_utf8_lossy(&bytes[..end]).into_owned();
    if bytes.len() > end {
        text.push_str(&format!("… ({} bytes)", bytes.len()));
    }
    text
}

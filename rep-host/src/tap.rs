//! Recording as a layer (architecture invariant 9): a [`Tap`] wraps an executor's byte
//! streams — its stdin, its stdout, its stderr — and hands every whole frame or line that
//! crosses them to a [`TapSink`] (a transcript [`Recorder`](crate::Recorder)), plus an exit
//! hook for the executor's exit status. Nothing else knows about recording: the client
//! reads and writes the wrapped streams as any others, the launcher forwards the wrapped
//! stderr, and the runner passes the tap once, where the streams are opened
//! ([`Session::open`](crate::Session::open)).
//!
//! The wrappers frame the bytes themselves, with rep-spec's [`LineFramer`] (so they see what
//! went on the wire, not what a reader made of it): a frame is handed over when its bytes
//! have been read, or accepted by the writer; an unterminated last line when the stream
//! ends (EOF, or the writer dropped). An inactive tap ([`Tap::none`]) passes the bytes
//! through untouched.

use std::fmt;
use std::pin::Pin;
use std::process::ExitStatus;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use rep_spec::{Direction, Frame, LineFramer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::otel::TraceContext;

/// What a [`Tap`] hands the traffic to. Every method must return at once (queue, never
/// block): it is called from the stream's poll.
pub trait TapSink: Send + Sync {
    /// One frame on stdin or stdout (`dir`); a [`Frame::TooLong`] was longer than `bound`
    /// bytes and nothing of it was kept.
    fn frame(&self, dir: Direction, frame: &Frame, bound: usize);
    /// One line the executor wrote on stderr (decoded lossily; a line over the stderr bound
    /// is replaced by a note).
    fn stderr(&self, line: &str);
    /// The executor's exit status, once it was reaped.
    fn exit(&self, status: ExitStatus);
}

/// Called once with the executor's exit status ([`Tap::exit_hook`]).
pub type ExitHook = Box<dyn FnOnce(ExitStatus) + Send>;

/// Who else sees an executor's traffic: nobody ([`Tap::none`], the default), or a
/// [`TapSink`]. Cheap to clone; clones share the sink.
///
/// A tap also carries the W3C trace context of the run ([`Tap::with_trace`]): the runner
/// takes the run's REP `trace_id` from it and the launcher passes it to the executor as
/// `TRACEPARENT`/`TRACESTATE` (docs/tracing.md).
#[derive(Clone, Default)]
pub struct Tap {
    sink: Option<Arc<dyn TapSink>>,
    trace: Option<Arc<TraceContext>>,
}

impl fmt::Debug for Tap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tap")
            .field("active", &self.sink.is_some())
            .field("trace", &self.trace)
            .finish()
    }
}

impl<S: TapSink + 'static> From<S> for Tap {
    fn from(sink: S) -> Tap {
        Tap {
            sink: Some(Arc::new(sink)),
            trace: None,
        }
    }
}

impl Tap {
    /// A tap that sees nothing: the wrapped streams pass their bytes through.
    pub fn none() -> Tap {
        Tap::default()
    }

    /// The same tap, the run in `trace`.
    pub fn with_trace(self, trace: TraceContext) -> Tap {
        Tap {
            trace: Some(Arc::new(trace)),
            ..self
        }
    }

    /// The run's trace context, when one was given ([`Tap::with_trace`]).
    pub fn trace(&self) -> Option<&TraceContext> {
        self.trace.as_deref()
    }

    /// Whether a sink sees the traffic.
    pub fn is_active(&self) -> bool {
        self.sink.is_some()
    }

    /// The executor's stdout (frames of at most `bound` bytes, as the client reads them).
    pub fn executor_stdout<R>(&self, reader: R, bound: usize) -> TapReader<R> {
        TapReader::new(
            reader,
            self.state(Channel::Frames(Direction::ExecutorToHost), bound),
        )
    }

    /// The executor's stderr (lines of at most `bound` bytes, as the host forwards them).
    pub fn executor_stderr<R>(&self, reader: R, bound: usize) -> TapReader<R> {
        TapReader::new(reader, self.state(Channel::Stderr, bound))
    }

    /// The executor's stdin: the host's frames, whatever their size (they are the host's
    /// own).
    pub fn executor_stdin<W>(&self, writer: W) -> TapWriter<W> {
        TapWriter {
            inner: writer,
            state: self.state(Channel::Frames(Direction::HostToExecutor), usize::MAX),
        }
    }

    /// The hook that records the executor's exit status, when a sink sees the traffic.
    pub fn exit_hook(&self) -> Option<ExitHook> {
        let sink = self.sink.clone()?;
        Some(Box::new(move |status| sink.exit(status)))
    }

    fn state(&self, channel: Channel, bound: usize) -> Option<Box<Framing>> {
        let sink = self.sink.clone()?;
        Some(Box::new(Framing {
            sink,
            channel,
            framer: LineFramer::new(bound),
            frames: Vec::new(),
        }))
    }
}

/// Which stream a wrapper taps.
#[derive(Debug, Clone, Copy)]
enum Channel {
    Frames(Direction),
    Stderr,
}

/// The framing of one tapped stream.
struct Framing {
    sink: Arc<dyn TapSink>,
    channel: Channel,
    framer: LineFramer,
    frames: Vec<Frame>,
}

impl Framing {
    fn feed(&mut self, bytes: &[u8]) {
        self.framer.feed(bytes, &mut self.frames);
        self.hand_over();
    }

    fn finish(&mut self) {
        self.frames.extend(self.framer.finish());
        self.hand_over();
    }

    fn hand_over(&mut self) {
        let bound = self.framer.max_bytes();
        for frame in self.frames.drain(..) {
            match self.channel {
                Channel::Frames(dir) => self.sink.frame(dir, &frame, bound),
                Channel::Stderr => self.sink.stderr(&stderr_line(&frame, bound)),
            }
        }
    }
}

/// A stderr frame as the line the host forwards and records: the bytes decoded lossily, or
/// a note for a line over `bound`.
pub fn stderr_line(frame: &Frame, bound: usize) -> String {
    match frame {
        Frame::Line(bytes) => String::from_utf8_lossy(bytes).into_owned(),
        Frame::TooLong { .. } => {
            format!("[executor wrote a stderr line longer than {bound} bytes; not shown]")
        }
    }
}

/// A tapped reader ([`Tap::executor_stdout`], [`Tap::executor_stderr`]).
pub struct TapReader<R> {
    inner: R,
    state: Option<Box<Framing>>,
}

impl<R> TapReader<R> {
    fn new(inner: R, state: Option<Box<Framing>>) -> TapReader<R> {
        TapReader { inner, state }
    }
}

impl<R: AsyncRead + Unpin> AsyncRead for TapReader<R> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = &mut *self;
        let before = buf.filled().len();
        let result = ready!(Pin::new(&mut this.inner).poll_read(cx, buf));
        if let (Ok(()), Some(state)) = (&result, this.state.as_mut()) {
            match &buf.filled()[before..] {
                [] => state.finish(),
                read => state.feed(read),
            }
        }
        Poll::Ready(result)
    }
}

/// A tapped writer ([`Tap::executor_stdin`]). Bytes are handed over as the inner writer
/// accepts them; an unterminated last frame when the writer is shut down or dropped.
pub struct TapWriter<W> {
    inner: W,
    state: Option<Box<Framing>>,
}

impl<W: AsyncWrite + Unpin> AsyncWrite for TapWriter<W> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let this = &mut *self;
        let result = ready!(Pin::new(&mut this.inner).poll_write(cx, buf));
        if let (Ok(n), Some(state)) = (&result, this.state.as_mut()) {
            state.feed(&buf[..*n]);
        }
        Poll::Ready(result)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        if let Some(state) = self.state.as_mut() {
            state.finish();
        }
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

impl<W> Drop for TapWriter<W> {
    fn drop(&mut self) {
        if let Some(state) = self.state.as_mut() {
            state.finish();
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::sync::Mutex;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    /// Everything handed over, as text.
    #[derive(Default, Clone)]
    struct Seen(Arc<Mutex<Vec<String>>>);

    impl TapSink for Seen {
        fn frame(&self, dir: Direction, frame: &Frame, bound: usize) {
            let text = match frame {
                Frame::Line(bytes) => String::from_utf8_lossy(bytes).into_owned(),
                Frame::TooLong { len } if *len > bound => format!("over {bound} bytes"),
                Frame::TooLong { len } => format!("too long, but {len} <= {bound}"),
            };
            self.0.lock().unwrap().push(format!("{dir:?} {text}"));
        }
        fn stderr(&self, line: &str) {
            self.0.lock().unwrap().push(format!("stderr {line}"));
        }
        fn exit(&self, status: ExitStatus) {
            self.0.lock().unwrap().push(format!("exit {status}"));
        }
    }

    impl Seen {
        fn take(&self) -> Vec<String> {
            std::mem::take(&mut *self.0.lock().unwrap())
        }
    }

    #[tokio::test]
    async fn whole_frames_are_handed_over_however_the_bytes_are_split() {
        let seen = Seen::default();
        let tap = Tap::from(seen.clone());
        let (mut executor, host) = tokio::io::duplex(4);
        let mut reader = tap.executor_stdout(host, 8);
        tokio::spawn(async move {
            executor
                .write_all(b"{\"a\":1}\n\n0123456789\nlast")
                .await
                .unwrap();
        });
        let mut everything = Vec::new();
        reader.read_to_end(&mut everything).await.unwrap();
        assert_eq!(
            everything, b"{\"a\":1}\n\n0123456789\nlast",
            "bytes unchanged"
        );
        assert_eq!(
            seen.take(),
            [
                "ExecutorToHost {\"a\":1}",
                "ExecutorToHost ",
                "ExecutorToHost over 8 bytes",
                "ExecutorToHost last"
            ]
        );
    }

    #[tokio::test]
    async fn the_writer_hands_over_what_was_accepted_and_the_rest_when_dropped() {
        let seen = Seen::default();
        let tap = Tap::from(seen.clone());
        let (host, mut executor) = tokio::io::duplex(1024);
        let mut writer = tap.executor_stdin(host);
        writer.write_all(b"one\ntw").await.unwrap();
        assert_eq!(seen.take(), ["HostToExecutor one"]);
        writer.write_all(b"o").await.unwrap();
        drop(writer);
        assert_eq!(seen.take(), ["HostToExecutor two"]);
        let mut got = Vec::new();
        executor.read_to_end(&mut got).await.unwrap();
        assert_eq!(got, b"one\ntwo");
    }

    #[tokio::test]
    async fn stderr_lines_and_the_exit_go_to_their_own_records() {
        use std::os::unix::process::ExitStatusExt;
        let seen = Seen::default();
        let tap = Tap::from(seen.clone());
        let mut reader = tap.executor_stderr(&b"log\xff line\n0123456789abcdef\n"[..], 12);
        let mut sink = Vec::new();
        reader.read_to_end(&mut sink).await.unwrap();
        (tap.exit_hook().unwrap())(ExitStatus::from_raw(3 << 8));
        assert_eq!(
            seen.take(),
            [
                "stderr log\u{fffd} line".to_owned(),
                "stderr [executor wrote a stderr line longer than 12 bytes; not shown]".into(),
                "exit exit status: 3".into()
            ]
        );
    }

    #[tokio::test]
    async fn an_inactive_tap_passes_bytes_through() {
        let tap = Tap::none();
        assert!(!tap.is_active() && tap.exit_hook().is_none());
        let mut reader = tap.executor_stdout(&b"a\nb"[..], 1);
        let mut got = String::new();
        reader.read_to_string(&mut got).await.unwrap();
        assert_eq!(got, "a\nb");
    }
}

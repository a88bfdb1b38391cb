//! This process's own stderr, written so that it can never block or break a run (issue 9,
//! findings 2 and 3).
//!
//! Lines are queued and written by one dedicated thread. Queueing never blocks: when the
//! reader of our stderr cannot keep up and the executor's lines fill the queue
//! ([`QUEUE_BYTES`]), further executor lines are dropped and counted, and the count is
//! written as soon as there is room ("N executor log lines dropped"). The host's own lines
//! (its log and its error messages) are few and always queued. Write errors — a closed
//! stderr (EPIPE) included — are ignored: they change neither the exit code nor stdout.

use std::collections::VecDeque;
use std::io::Write;
use std::sync::{Condvar, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// Bytes of executor stderr lines waiting to be written, at most; more are dropped.
pub const QUEUE_BYTES: usize = 1024 * 1024;

/// Whose line it is: executor lines may be dropped, the host's own are not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Origin {
    Executor,
    Host,
}

#[derive(Default)]
struct Queue {
    lines: VecDeque<(Origin, Vec<u8>)>,
    executor_bytes: usize,
    /// Executor lines dropped and not yet reported.
    dropped: u64,
    /// Every executor line dropped so far.
    dropped_total: u64,
    /// The writer thread is writing a line it took off the queue.
    writing: bool,
}

/// The process-wide stderr writer. Get it with [`stderr_sink`].
pub struct StderrSink {
    queue: Mutex<Queue>,
    /// Signalled when a line is queued.
    queued: Condvar,
    /// Signalled when the writer has written everything queued.
    idle: Condvar,
}

/// The process-wide [`StderrSink`]; its writer thread starts on first use.
pub fn stderr_sink() -> &'static StderrSink {
    static SINK: OnceLock<&'static StderrSink> = OnceLock::new();
    SINK.get_or_init(|| {
        let sink: &'static StderrSink = Box::leak(Box::new(StderrSink {
            queue: Mutex::new(Queue::default()),
            queued: Condvar::new(),
            idle: Condvar::new(),
        }));
        let started = std::thread::Builder::new()
            .name("tm-stderr".into())
            .spawn(move || sink.write_forever(&mut std::io::stderr()));
        if let Err(error) = started {
            // Without the thread lines stay queued (bounded): nothing blocks.
            tracing::debug!("cannot start the stderr writer: {error}");
        }
        sink
    })
}

impl StderrSink {
    /// Queues one line of the executor's stderr (without its newline). Never blocks; returns
    /// false when the line was dropped because the queue is full.
    pub fn executor_line(&self, line: &[u8]) -> bool {
        self.push(Origin::Executor, line)
    }

    /// Queues one line of the host's own (without its newline). Never blocks.
    pub fn host_line(&self, line: &str) {
        self.push(Origin::Host, line.as_bytes());
    }

    /// Executor lines dropped so far.
    pub fn dropped_total(&self) -> u64 {
        self.lock().dropped_total
    }

    /// Waits up to `limit` until every queued line has been written; false if some remain.
    /// Reports executor lines dropped since the last report first.
    pub fn flush(&self, limit: Duration) -> bool {
        let until = Instant::now() + limit;
        let mut queue = self.lock();
        if queue.dropped > 0 {
            let note = dropped_note(std::mem::take(&mut queue.dropped));
            queue.lines.push_back((Origin::Host, note));
            self.queued.notify_one();
        }
        while !queue.lines.is_empty() || queue.writing {
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            queue = match self.idle.wait_timeout(queue, left) {
                Ok((queue, _)) => queue,
                Err(poisoned) => poisoned.into_inner().0,
            };
        }
        true
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn push(&self, origin: Origin, line: &[u8]) -> bool {
        let mut queue = self.lock();
        if origin == Origin::Executor {
            if queue.executor_bytes + line.len() > QUEUE_BYTES {
                queue.dropped += 1;
                queue.dropped_total += 1;
                return false;
            }
            queue.executor_bytes += line.len();
        }
        let mut bytes = Vec::with_capacity(line.len() + 1);
        bytes.extend_from_slice(line);
        bytes.push(b'\n');
        queue.lines.push_back((origin, bytes));
        self.queued.notify_one();
        true
    }

    /// The writer thread: takes lines off the queue and writes them, ignoring errors.
    fn write_forever(&self, out: &mut dyn Write) {
        loop {
            let (note, line) = {
                let mut queue = self.lock();
                queue.writing = false;
                while queue.lines.is_empty() {
                    self.idle.notify_all();
                    queue = match self.queued.wait(queue) {
                        Ok(queue) => queue,
                        Err(poisoned) => poisoned.into_inner(),
                    };
                }
                let Some((origin, line)) = queue.lines.pop_front() else {
                    continue;
                };
                if origin == Origin::Executor {
                    queue.executor_bytes -= line.len() - 1;
                }
                queue.writing = true;
                let dropped = std::mem::take(&mut queue.dropped);
                ((dropped > 0).then(|| dropped_note(dropped)), line)
            };
            if let Some(note) = note {
                let _ = out.write_all(&note);
            }
            // EPIPE or any other error: the line is lost, the run is not.
            let _ = out.write_all(&line);
        }
    }
}

fn dropped_note(dropped: u64) -> Vec<u8> {
    let noun = if dropped == 1 { "line" } else { "lines" };
    format!("tm: {dropped} executor log {noun} dropped: stderr could not keep up\n").into_bytes()
}

/// A [`tracing_subscriber::fmt::MakeWriter`] that sends each log event to the sink as one
/// host line, so logging never blocks the run either.
#[derive(Debug, Clone, Copy, Default)]
pub struct SinkWriter;

/// One log event being formatted; queued when dropped.
pub struct SinkEvent {
    buf: Vec<u8>,
}

impl Write for SinkEvent {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for SinkEvent {
    fn drop(&mut self) {
        let text = String::from_utf8_lossy(&self.buf);
        let text = text.strip_suffix('\n').unwrap_or(&text);
        if !text.is_empty() {
            stderr_sink().host_line(text);
        }
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for SinkWriter {
    type Writer = SinkEvent;

    fn make_writer(&'a self) -> SinkEvent {
        SinkEvent { buf: Vec::new() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sink() -> &'static StderrSink {
        Box::leak(Box::new(StderrSink {
            queue: Mutex::new(Queue::default()),
            queued: Condvar::new(),
            idle: Condvar::new(),
        }))
    }

    #[test]
    fn executor_lines_beyond_the_budget_are_dropped_and_counted_host_lines_never() {
        let sink = sink();
        let line = vec![b'x'; 1000];
        let mut kept = 0;
        for _ in 0..2000 {
            kept += usize::from(sink.executor_line(&line));
        }
        sink.host_line("error: still there");
        assert_eq!(kept, QUEUE_BYTES / 1000);
        assert_eq!(sink.dropped_total(), 2000 - kept as u64);
        let lines = &sink.lock().lines;
        assert_eq!(lines.back().map(|l| l.0), Some(Origin::Host));
    }

    #[test]
    fn the_writer_reports_drops_and_ignores_write_errors() {
        struct Closed;
        impl Write for Closed {
            fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
                Err(std::io::ErrorKind::BrokenPipe.into())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let sink = sink();
        std::thread::spawn(move || sink.write_forever(&mut Closed));
        for _ in 0..10 {
            sink.executor_line(b"to a closed stderr");
        }
        assert!(
            sink.flush(Duration::from_secs(10)),
            "a closed stderr drains at once"
        );
    }
}

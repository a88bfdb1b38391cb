//! This process's own stderr, written so that it can never block or break what the process
//! does: the one stderr sink of every binary (`tm`, `rep-conformance`, `rep-bridge`).
//!
//! Lines are queued and written by one dedicated thread. Queueing never blocks: when the
//! reader of our stderr cannot keep up and foreign lines (an executor's stderr, a
//! simulator's output) fill the queue ([`QUEUE_BYTES`]), further foreign lines are dropped
//! and counted, and the count is written as soon as there is room ("tm: N executor log lines
//! dropped: stderr could not keep up", named by [`StderrSink::set_identity`]). The process's
//! own lines (its log and its error messages) are few and always queued. Write errors — a
//! closed stderr (EPIPE) included — are ignored: they change neither the exit code nor
//! stdout.

use std::collections::VecDeque;
use std::io::Write;
use std::sync::{Condvar, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// Bytes of foreign lines waiting to be written, at most; more are dropped.
pub const QUEUE_BYTES: usize = 1024 * 1024;

/// Whose line it is: foreign lines may be dropped, the process's own are not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Origin {
    Foreign,
    Own,
}

/// How the drop note names the program and its foreign lines, and how its error lines
/// begin.
#[derive(Debug, Clone, Copy)]
struct Identity {
    program: &'static str,
    foreign: &'static str,
    errors: ErrorLines,
}

/// How a binary's error lines begin ([`StderrSink::error`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorLines {
    /// `error: MESSAGE`, then `caused by: CAUSE`: a command a user runs (`tm`).
    Plain,
    /// `PROGRAM: error: MESSAGE`, then `PROGRAM: caused by: CAUSE`: a binary whose stderr is
    /// read among others' (an executor such as `rep-bridge` or `rep-replay`, whose lines
    /// reach the host's log; `rep-conformance`, among the executor's).
    Named,
}

#[derive(Default)]
struct Queue {
    lines: VecDeque<(Origin, Vec<u8>)>,
    foreign_bytes: usize,
    /// Foreign lines dropped and not yet reported.
    dropped: u64,
    /// Every foreign line dropped so far.
    dropped_total: u64,
    identity: Option<Identity>,
    /// Whether `error:` is painted ([`StderrSink::set_color`]).
    color: bool,
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
        // Without the thread lines stay queued (bounded): nothing blocks.
        let _ = std::thread::Builder::new()
            .name("stderr".into())
            .spawn(move || sink.write_forever(&mut std::io::stderr()));
        sink
    })
}

impl StderrSink {
    /// Names the program and its foreign lines in the drop note: `("tm", "executor log")`
    /// gives "tm: N executor log lines dropped: stderr could not keep up"; `errors` says how
    /// [`StderrSink::error`] begins its lines. Default: `("rep", "log", Named)`.
    pub fn set_identity(&self, program: &'static str, foreign: &'static str, errors: ErrorLines) {
        self.lock().identity = Some(Identity {
            program,
            foreign,
            errors,
        });
    }

    /// Writes `error` and the chain of its causes ([`std::error::Error::source`]), each on a
    /// line of its own and each once: `error: MESSAGE`, then `caused by: CAUSE` for every
    /// source, the lines beginning as [`StderrSink::set_identity`] said. The one error
    /// printer of every binary: messages do not repeat their source, this shows it. Never
    /// blocks.
    pub fn error(&self, error: &dyn std::error::Error) {
        let (identity, color) = {
            let queue = self.lock();
            (queue.identity, queue.color)
        };
        for line in error_lines(identity, color, error) {
            self.own_line(&line);
        }
    }

    /// Writes one `error: MESSAGE` line, begun and painted as [`StderrSink::error`] begins
    /// its first line: for an error told as a list (`error: …:` then its problems).
    pub fn error_line(&self, message: &str) {
        let (identity, color) = {
            let queue = self.lock();
            (queue.identity, queue.color)
        };
        let line = format!("{}{} {message}", lead(identity), error_label(color));
        self.own_line(&line);
    }

    /// Paints `error:` of [`StderrSink::error`] and [`StderrSink::error_line`] as clap
    /// paints its own (bold red) when `on`: the binary decides, by its `--color` and
    /// [`crate::color::auto`]. Default: off.
    pub fn set_color(&self, on: bool) {
        self.lock().color = on;
    }

    /// Queues one foreign line (an executor's stderr, without its newline). Never blocks;
    /// returns false when the line was dropped because the queue is full.
    pub fn foreign_line(&self, line: &[u8]) -> bool {
        self.push(Origin::Foreign, line)
    }

    /// Queues one line of this process's own (without its newline). Never blocks.
    pub fn own_line(&self, line: &str) {
        self.push(Origin::Own, line.as_bytes());
    }

    /// Foreign lines dropped so far.
    pub fn dropped_total(&self) -> u64 {
        self.lock().dropped_total
    }

    /// Waits up to `limit` until every queued line has been written; false if some remain.
    /// Reports foreign lines dropped since the last report first.
    pub fn flush(&self, limit: Duration) -> bool {
        let until = Instant::now() + limit;
        let mut queue = self.lock();
        if queue.dropped > 0 {
            let note = dropped_note(queue.identity, std::mem::take(&mut queue.dropped));
            queue.lines.push_back((Origin::Own, note));
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
        if origin == Origin::Foreign {
            if queue.foreign_bytes + line.len() > QUEUE_BYTES {
                queue.dropped += 1;
                queue.dropped_total += 1;
                return false;
            }
            queue.foreign_bytes += line.len();
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
                if origin == Origin::Foreign {
                    queue.foreign_bytes -= line.len() - 1;
                }
                queue.writing = true;
                let dropped = std::mem::take(&mut queue.dropped);
                let identity = queue.identity;
                ((dropped > 0).then(|| dropped_note(identity, dropped)), line)
            };
            if let Some(note) = note {
                let _ = out.write_all(&note);
            }
            // EPIPE or any other error: the line is lost, the run is not.
            let _ = out.write_all(&line);
        }
    }
}

/// The identity of a binary that did not say.
const DEFAULT_IDENTITY: Identity = Identity {
    program: "rep",
    foreign: "log",
    errors: ErrorLines::Named,
};

/// The lines of [`StderrSink::error`].
fn error_lines(
    identity: Option<Identity>,
    color: bool,
    error: &dyn std::error::Error,
) -> Vec<String> {
    let lead = lead(identity);
    let mut lines = vec![format!("{lead}{} {error}", error_label(color))];
    let mut source = error.source();
    while let Some(cause) = source {
        lines.push(format!("{lead}caused by: {cause}"));
        source = cause.source();
    }
    lines
}

/// `PROGRAM: ` for [`ErrorLines::Named`], else nothing.
fn lead(identity: Option<Identity>) -> String {
    let identity = identity.unwrap_or(DEFAULT_IDENTITY);
    match identity.errors {
        ErrorLines::Plain => String::new(),
        ErrorLines::Named => format!("{}: ", identity.program),
    }
}

/// `error:`, bold red when `color` (clap's style for its own `error:`).
fn error_label(color: bool) -> String {
    let style = anstyle::Style::new()
        .bold()
        .fg_color(Some(anstyle::AnsiColor::Red.into()));
    crate::color::paint("error:", style, color)
}

fn dropped_note(identity: Option<Identity>, dropped: u64) -> Vec<u8> {
    let Identity {
        program, foreign, ..
    } = identity.unwrap_or(DEFAULT_IDENTITY);
    let noun = if dropped == 1 { "line" } else { "lines" };
    format!("{program}: {dropped} {foreign} {noun} dropped: stderr could not keep up\n")
        .into_bytes()
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
    fn foreign_lines_beyond_the_budget_are_dropped_and_counted_own_lines_never() {
        let sink = sink();
        let line = vec![b'x'; 1000];
        let mut kept = 0;
        for _ in 0..2000 {
            kept += usize::from(sink.foreign_line(&line));
        }
        sink.own_line("error: still there");
        assert_eq!(kept, QUEUE_BYTES / 1000);
        assert_eq!(sink.dropped_total(), 2000 - kept as u64);
        let lines = &sink.lock().lines;
        assert_eq!(lines.back().map(|l| l.0), Some(Origin::Own));
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
            sink.foreign_line(b"to a closed stderr");
        }
        assert!(
            sink.flush(Duration::from_secs(10)),
            "a closed stderr drains at once"
        );
    }

    #[test]
    fn errors_are_printed_with_each_cause_once() {
        #[derive(Debug, thiserror::Error)]
        #[error("cannot read runtime config x.yaml")]
        struct Config(#[source] std::io::Error);
        let error = Config(std::io::Error::other("permission denied"));
        let plain = Identity {
            program: "tm",
            foreign: "executor log",
            errors: ErrorLines::Plain,
        };
        assert_eq!(
            error_lines(Some(plain), false, &error),
            [
                "error: cannot read runtime config x.yaml",
                "caused by: permission denied"
            ]
        );
        let named = Identity {
            program: "rep-conformance",
            errors: ErrorLines::Named,
            ..plain
        };
        assert_eq!(
            error_lines(Some(named), false, &error),
            [
                "rep-conformance: error: cannot read runtime config x.yaml",
                "rep-conformance: caused by: permission denied"
            ]
        );
        assert_eq!(
            error_lines(Some(plain), true, &error)[0],
            "\x1b[1m\x1b[31merror:\x1b[0m cannot read runtime config x.yaml"
        );
    }

    /// Regression (issue 20): the printer held the queue's lock while queueing its lines.
    #[test]
    fn an_error_is_queued_as_its_lines() {
        let sink = sink();
        sink.set_identity("rep-bridge", "log", ErrorLines::Named);
        sink.error(&std::io::Error::other("gone"));
        let lines: Vec<Vec<u8>> = sink.lock().lines.iter().map(|l| l.1.clone()).collect();
        assert_eq!(lines, [b"rep-bridge: error: gone\n".to_vec()]);
    }

    #[test]
    fn the_drop_note_names_the_program() {
        let identity = Identity {
            program: "tm",
            foreign: "executor log",
            errors: ErrorLines::Plain,
        };
        assert_eq!(
            dropped_note(Some(identity), 3),
            b"tm: 3 executor log lines dropped: stderr could not keep up\n"
        );
    }
}

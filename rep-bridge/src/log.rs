//! The bridge's stderr: lines go through a bounded queue to one writer thread, so a slow,
//! full or closed stderr never stalls forwarding or changes how the bridge ends.
//!
//! When the queue is full, lines are dropped and counted; the writer reports the count
//! ("N log lines dropped") once it catches up. [`flush`] waits, bounded, for what is queued.

use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// Lines queued at most before new ones are dropped.
const QUEUE_LINES: usize = 1024;
/// A log line longer than this is cut (bytes of text, before the marker).
pub const MAX_LINE_CHARS: usize = 1000;

enum Message {
    Line(Vec<u8>),
    Flush(mpsc::Sender<()>),
}

struct Sink {
    queue: SyncSender<Message>,
    dropped: AtomicU64,
}

static SINK: OnceLock<Sink> = OnceLock::new();
/// Serializes [`flush`] callers (there is one in practice: the exit path).
static FLUSHING: Mutex<()> = Mutex::new(());

fn sink() -> &'static Sink {
    SINK.get_or_init(|| {
        let (queue, lines) = mpsc::sync_channel(QUEUE_LINES);
        // If the thread cannot start, lines queue up and are dropped when full: logging is
        // never a reason to fail.
        let _ = std::thread::Builder::new()
            .name("stderr".into())
            .spawn(move || write_lines(&lines));
        Sink {
            queue,
            dropped: AtomicU64::new(0),
        }
    })
}

fn write_lines(lines: &Receiver<Message>) {
    let mut stderr = std::io::stderr();
    while let Ok(message) = lines.recv() {
        match message {
            Message::Line(line) => {
                // Errors (EPIPE, a closed descriptor) are ignored: nobody is listening.
                let _ = stderr.write_all(&line);
                let dropped = sink().dropped.swap(0, Ordering::Relaxed);
                if dropped > 0 {
                    let _ = writeln!(
                        stderr,
                        "rep-bridge: {dropped} log lines dropped (stderr too slow)"
                    );
                }
            }
            Message::Flush(done) => {
                let _ = stderr.flush();
                let _ = done.send(());
            }
        }
    }
}

fn enqueue(mut line: Vec<u8>) {
    line.push(b'\n');
    let sink = sink();
    match sink.queue.try_send(Message::Line(line)) {
        Ok(()) | Err(TrySendError::Disconnected(_)) => {}
        Err(TrySendError::Full(_)) => {
            sink.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// Logs `rep-bridge: MESSAGE` as one line.
pub fn line(message: impl std::fmt::Display) {
    enqueue(format!("rep-bridge: {message}").into_bytes());
}

/// Logs a line written by someone else (the remote, the spawned command) after `prefix`,
/// made printable (see [`printable`]).
pub fn foreign(prefix: &str, text: &[u8]) {
    enqueue(format!("{prefix}{}", printable(text)).into_bytes());
}

/// Waits at most `timeout` for every line queued so far to be written.
pub fn flush(timeout: Duration) {
    let _serial = FLUSHING.lock();
    let deadline = Instant::now() + timeout;
    let (done, finished) = mpsc::channel();
    let mut message = Message::Flush(done);
    loop {
        match sink().queue.try_send(message) {
            Ok(()) => break,
            Err(TrySendError::Disconnected(_)) => return,
            Err(TrySendError::Full(back)) => {
                if Instant::now() >= deadline {
                    return;
                }
                message = back;
                std::thread::sleep(Duration::from_millis(5));
            }
        }
    }
    let _ = finished.recv_timeout(deadline.saturating_duration_since(Instant::now()));
}

/// `text` as one printable line: invalid UTF-8 replaced, control characters escaped, cut to
/// [`MAX_LINE_CHARS`] characters with the total length noted.
pub fn printable(text: &[u8]) -> String {
    let lossy = String::from_utf8_lossy(text);
    let mut out = String::with_capacity(lossy.len().min(MAX_LINE_CHARS + 32));
    for (count, c) in lossy.chars().enumerate() {
        if count == MAX_LINE_CHARS {
            out.push_str(&format!("… ({} bytes)", text.len()));
            break;
        }
        if c.is_control() && c != '\t' {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printable_escapes_controls_and_cuts_long_lines() {
        assert_eq!(printable(b"boot\x1b[0m ok\r"), "boot\\u{1b}[0m ok\\r");
        assert_eq!(printable(b"\xff\xfeA"), "\u{fffd}\u{fffd}A");
        let long = vec![b'x'; MAX_LINE_CHARS + 5];
        let cut = printable(&long);
        assert!(cut.ends_with(&format!("… ({} bytes)", MAX_LINE_CHARS + 5)));
        assert_eq!(cut.chars().filter(|&c| c == 'x').count(), MAX_LINE_CHARS);
    }
}

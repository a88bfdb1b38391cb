//! The executor's stderr: read continuously (so a chatty executor never blocks on a full
//! pipe), forwarded line by line to this process's stderr through the non-blocking
//! [`StderrSink`](crate::StderrSink), and its last lines kept for error messages.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use rep_spec::{Frame, FrameReader};
use tokio::io::AsyncRead;

use crate::record::Recorder;
use rep_process::stderr_sink;

/// How many of the executor's last stderr lines are kept for error messages.
pub const STDERR_TAIL_LINES: usize = 20;

/// Longest stderr line forwarded; a longer one is replaced by a note.
const MAX_STDERR_LINE: usize = 64 * 1024;

/// Characters of each line kept in the tail.
const TAIL_LINE_CHARS: usize = 500;

/// The last lines the executor wrote to stderr, shared with the reader task.
#[derive(Debug, Clone, Default)]
pub struct StderrTail(Arc<Mutex<VecDeque<String>>>);

impl StderrTail {
    /// The kept lines, oldest first.
    pub fn lines(&self) -> Vec<String> {
        self.0
            .lock()
            .map(|t| t.iter().cloned().collect())
            .unwrap_or_default()
    }

    fn push(&self, line: &str) {
        if let Ok(mut tail) = self.0.lock() {
            if tail.len() == STDERR_TAIL_LINES {
                tail.pop_front();
            }
            tail.push_back(line.chars().take(TAIL_LINE_CHARS).collect());
        }
    }
}

/// Reads `stderr` to its end: every line is forwarded, kept in `tail` and recorded in
/// `recorder`'s transcript. A read error ends it like EOF.
pub async fn forward_stderr(
    stderr: impl AsyncRead + Unpin,
    tail: StderrTail,
    recorder: Option<Recorder>,
) {
    let mut frames = FrameReader::new(stderr, MAX_STDERR_LINE);
    while let Ok(Some(frame)) = frames.next_frame().await {
        let line = match frame {
            Frame::Line(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
            Frame::TooLong { .. } => {
                format!(
                    "[executor wrote a stderr line longer than {MAX_STDERR_LINE} bytes; not shown]"
                )
            }
        };
        stderr_sink().foreign_line(line.as_bytes());
        if let Some(recorder) = &recorder {
            recorder.stderr(&line);
        }
        tail.push(&line);
    }
}

//! The executor's stderr: read continuously (so a chatty executor never blocks on a full
//! pipe), forwarded line by line to this process's stderr through the non-blocking
//! [`StderrSink`](crate::StderrSink), and its last lines kept for error messages. A line
//! tagged as debug ([`rep_process::is_debug_line`]: `NAME: debug: …`) is logged at debug
//! level instead (`tm -vv`); transcripts record every line either way.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use rep_spec::FrameReader;
use tokio::io::AsyncRead;

use rep_process::stderr_sink;

use crate::tap::stderr_line;

/// How many of the executor's last stderr lines are kept for error messages.
pub const STDERR_TAIL_LINES: usize = 20;

/// Longest stderr line forwarded; a longer one is replaced by a note.
pub const MAX_STDERR_LINE: usize = 64 * 1024;

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

/// Reads `stderr` to its end: every line is forwarded and kept in `tail`. A read error
/// ends it like EOF.
pub async fn forward_stderr(stderr: impl AsyncRead + Unpin, tail: StderrTail) {
    let mut frames = FrameReader::new(stderr, MAX_STDERR_LINE);
    while let Ok(Some(frame)) = frames.next_frame().await {
        let line = stderr_line(&frame, MAX_STDERR_LINE);
        if rep_process::is_debug_line(&line) {
            tracing::debug!(target: "executor", "{line}");
        } else {
            stderr_sink().foreign_line(line.as_bytes());
        }
        tail.push(&line);
    }
}

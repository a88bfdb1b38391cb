//! Recording a session as a transcript (docs/transcripts.md): the client hands every frame,
//! the stderr reader every line, the runner the exit status to a [`Recorder`], which writes
//! them on its own thread.
//!
//! The recorder never blocks nor fails the run: records are serialized by the caller and
//! queued (unbounded, so nothing is lost; a frame is at most the frame bound) to a writer
//! thread. A write error ends the recording and is reported once by [`Recorder::finish`];
//! the run's result does not change. The file is written beside its destination under a
//! temporary name and renamed over it by [`Recorder::finish`]: a reader never sees a
//! half-written transcript, and a run that never finishes leaves no file.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitStatus;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender, channel};
use std::time::{Duration, Instant};

use rep_spec::{Direction, Header, Record};

/// How long [`Recorder::finish`] waits for the writer thread to write what is queued.
pub const RECORD_FINISH_WAIT: Duration = Duration::from_secs(10);

/// Why a transcript could not be written.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// The file could not be created, written or renamed into place.
    #[error("cannot write the transcript {path}: {message}")]
    Write {
        /// The transcript's path.
        path: PathBuf,
        /// The I/O error.
        message: String,
    },
    /// The writer did not finish within [`RECORD_FINISH_WAIT`].
    #[error("the transcript {path} was not written within {} s", RECORD_FINISH_WAIT.as_secs())]
    Slow {
        /// The transcript's path.
        path: PathBuf,
    },
}

enum Message {
    Line(Vec<u8>),
    Finish(Sender<Result<(), RecordError>>),
}

/// A handle on one transcript being recorded; clones share it (the client, the stderr reader
/// and the runner each hold one). Does nothing once [`Recorder::finish`] was called.
#[derive(Clone)]
pub struct Recorder {
    inner: Arc<Inner>,
}

struct Inner {
    start: Instant,
    path: PathBuf,
    queue: std::sync::Mutex<Option<Sender<Message>>>,
}

impl std::fmt::Debug for Recorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recorder")
            .field("path", &self.inner.path)
            .finish()
    }
}

impl Recorder {
    /// Starts recording to `path` (created or replaced when [`Recorder::finish`] succeeds),
    /// writing `header` first; times count from now.
    ///
    /// # Errors
    /// [`RecordError::Write`] when the temporary file beside `path` cannot be created (a
    /// missing folder, no permission): checked before the run starts.
    pub fn create(path: &Path, header: &Header) -> Result<Recorder, RecordError> {
        let write_error = |e: std::io::Error| RecordError::Write {
            path: path.to_path_buf(),
            message: e.to_string(),
        };
        let dir = match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        };
        let file = tempfile::Builder::new()
            .prefix(".transcript-")
            .suffix(".tmp")
            .tempfile_in(dir)
            .map_err(write_error)?;
        let (tx, rx) = channel();
        let _ = tx.send(Message::Line(Record::Header(header.clone()).to_line()));
        let target = path.to_path_buf();
        std::thread::Builder::new()
            .name("transcript".into())
            .spawn(move || write_all(file, &target, &rx))
            .map_err(write_error)?;
        Ok(Recorder {
            inner: Arc::new(Inner {
                start: Instant::now(),
                path: path.to_path_buf(),
                queue: std::sync::Mutex::new(Some(tx)),
            }),
        })
    }

    /// The transcript's path.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Milliseconds since the recording started.
    pub fn elapsed_ms(&self) -> f64 {
        let elapsed = self.inner.start.elapsed();
        // Microsecond resolution is plenty, and keeps the numbers short.
        (elapsed.as_micros() as f64) / 1000.0
    }

    /// Records one frame (its bytes without the `\n`).
    pub fn frame(&self, dir: Direction, bytes: &[u8]) {
        self.record(&Record::frame(dir, self.elapsed_ms(), bytes));
    }

    /// Records a frame longer than `bound` bytes, of which nothing was kept.
    pub fn frame_too_long(&self, dir: Direction, len: usize, bound: usize) {
        self.record(&Record::frame_too_long(dir, self.elapsed_ms(), len, bound));
    }

    /// Records one line the executor wrote to stderr.
    pub fn stderr(&self, line: &str) {
        self.record(&Record::Stderr {
            ms: self.elapsed_ms(),
            line: line.to_owned(),
        });
    }

    /// Records the executor's exit status.
    pub fn exit(&self, status: ExitStatus) {
        use std::os::unix::process::ExitStatusExt;
        self.record(&Record::Exit {
            ms: self.elapsed_ms(),
            code: status.code(),
            signal: status.signal(),
        });
    }

    /// Queues `record`; never blocks.
    pub fn record(&self, record: &Record) {
        let queue = self.inner.queue.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(tx) = queue.as_ref() {
            // A gone writer (after a write error) drops the record: finish reports it.
            let _ = tx.send(Message::Line(record.to_line()));
        }
    }

    /// Stops recording, waits (at most [`RECORD_FINISH_WAIT`]) until everything queued is
    /// written, and renames the file into place. Later calls, and records made afterwards by
    /// other clones, do nothing.
    ///
    /// # Errors
    /// The first write error, or a writer too slow; the transcript is then not created.
    pub fn finish(&self) -> Result<(), RecordError> {
        let Some(tx) = self
            .inner
            .queue
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
        else {
            return Ok(());
        };
        let (done_tx, done_rx) = channel();
        let slow = || RecordError::Slow {
            path: self.inner.path.clone(),
        };
        if tx.send(Message::Finish(done_tx)).is_err() {
            return Err(RecordError::Write {
                path: self.inner.path.clone(),
                message: "the writer stopped".into(),
            });
        }
        done_rx
            .recv_timeout(RECORD_FINISH_WAIT)
            .map_err(|_| slow())?
    }
}

/// The writer thread: writes every line; at `Finish`, flushes and renames the file into
/// place. The first error stops writing (the temporary file is removed) and is the answer to
/// `Finish`.
fn write_all(file: tempfile::NamedTempFile, target: &Path, rx: &Receiver<Message>) {
    let error = |e: std::io::Error| RecordError::Write {
        path: target.to_path_buf(),
        message: e.to_string(),
    };
    let mut out = Some(BufWriter::with_capacity(64 * 1024, file));
    let mut failed: Option<std::io::Error> = None;
    while let Ok(message) = rx.recv() {
        match message {
            Message::Line(line) => {
                if let Some(writer) = out.as_mut()
                    && let Err(e) = writer.write_all(&line)
                {
                    failed = Some(e);
                    out = None;
                }
            }
            Message::Finish(done) => {
                let result = match (out.take(), failed.take()) {
                    (_, Some(e)) => Err(error(e)),
                    (None, None) => Ok(()),
                    (Some(writer), None) => writer
                        .into_inner()
                        .map_err(|e| error(e.into_error()))
                        .and_then(|file| {
                            file.persist(target).map(drop).map_err(|e| error(e.error))
                        }),
                };
                let _ = done.send(result);
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use rep_spec::{REP_VERSION, TRANSCRIPT_FORMAT, parse_transcript};

    use super::*;

    fn header() -> Header {
        Header {
            format: TRANSCRIPT_FORMAT.into(),
            tool: "test".into(),
            version: "0".into(),
            rep_version: REP_VERSION.into(),
            executor: vec!["x".into()],
            flow: None,
            test: None,
            started_at: "2026-11-22T00:00:00Z".into(),
        }
    }

    #[test]
    fn the_file_appears_only_when_finished_and_holds_every_record() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.jsonl");
        let recorder = Recorder::create(&path, &header()).unwrap();
        let big = format!("{{\"k\":\"{}\"}}", "x".repeat(1 << 20));
        recorder.frame(Direction::HostToExecutor, br#"{"jsonrpc":"2.0","id":1}"#);
        recorder.frame(Direction::ExecutorToHost, big.as_bytes());
        recorder.stderr("log line");
        assert!(!path.exists(), "nothing at the destination before finish");
        recorder.finish().unwrap();
        recorder.stderr("after the end: ignored");
        recorder.finish().unwrap();
        let transcript = parse_transcript(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(transcript.records.len(), 3);
        let rep_spec::Record::Frame(frame) = &transcript.records[1] else {
            panic!("a frame")
        };
        assert_eq!(frame.frame.as_ref().unwrap().get(), big, "kept whole");
        let leftovers = std::fs::read_dir(dir.path()).unwrap().count();
        assert_eq!(leftovers, 1, "no temporary file left");
    }

    #[test]
    fn an_unwritable_destination_is_an_error_before_the_run() {
        let error = Recorder::create(Path::new("/nonexistent/dir/t.jsonl"), &header()).unwrap_err();
        assert!(
            error.to_string().contains("/nonexistent/dir/t.jsonl"),
            "{error}"
        );
    }

    #[test]
    fn a_write_error_is_reported_by_finish_and_leaves_no_file() {
        // /dev/full: every write fails with ENOSPC. The temporary file lives in a real
        // folder, so make the rename target a folder instead: the rename fails.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("occupied");
        std::fs::create_dir(&path).unwrap();
        std::fs::write(path.join("f"), b"x").unwrap();
        let recorder = Recorder::create(&path, &header()).unwrap();
        recorder.stderr("line");
        let error = recorder.finish().unwrap_err();
        assert!(error.to_string().contains("occupied"), "{error}");
        let files: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(files.len(), 1, "the temporary file is removed");
    }
}

//! Recording a session as a transcript (docs/transcripts.md): a [`Recorder`] is the
//! [`TapSink`] of a [`Tap`](crate::Tap) on the executor's streams — every frame both ways,
//! every stderr line, the exit status — and writes them through rep-files' [`OutputFile`] on
//! its own thread.
//!
//! The recorder never blocks nor fails the run: records are serialized by the caller and
//! queued (at most [`RECORD_QUEUE_BYTES`]) to the writer. Over a regular file (or a new
//! path) the transcript is written beside its destination under a temporary name and renamed
//! over it by [`Recorder::finish`] only when every record was written: a reader never sees a
//! half-written transcript, and a run that never finishes leaves no file. A FIFO or a
//! character device (`--record /dev/stdout`) is written in place as records arrive, never
//! replaced. What could not be written is reported by [`Recorder::finish`]; the run's
//! result does not change.

use std::path::{Path, PathBuf};
use std::process::ExitStatus;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rep_files::{Mode, OutputFile};
use rep_spec::{Direction, Frame, Header, Record};

use crate::tap::TapSink;

/// Bytes of records waiting for the writer, at most (four frames at the default 16 MiB
/// frame bound); more are dropped, and the transcript is then reported incomplete.
pub const RECORD_QUEUE_BYTES: usize = 64 * 1024 * 1024;

/// Why a transcript could not be written.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// The file could not be created, written or renamed into place.
    #[error("cannot write the transcript {path}: {message}")]
    Write {
        /// The transcript's path.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// Records could not be written (the reader did not keep up, a write failed).
    #[error(
        "the transcript {path} {}: {not_written} records not written ({reason})",
        if *in_place { "is incomplete" } else { "was not written" }
    )]
    Incomplete {
        /// The transcript's path.
        path: PathBuf,
        /// Records not written.
        not_written: u64,
        /// Why.
        reason: String,
        /// Whether the records before them were written in place (a FIFO, a device); else
        /// nothing was put at the path.
        in_place: bool,
    },
}

/// A handle on one transcript being recorded; clones share it (the tap's wrappers each hold
/// one, the caller keeps one to [`finish`](Recorder::finish) it). Does nothing once [`Recorder::finish`] was called.
#[derive(Clone)]
pub struct Recorder {
    inner: Arc<Inner>,
}

struct Inner {
    start: Instant,
    path: PathBuf,
    out: OutputFile,
}

impl std::fmt::Debug for Recorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recorder")
            .field("path", &self.inner.path)
            .finish()
    }
}

impl Recorder {
    /// Starts recording to `path` (created or replaced when [`Recorder::finish`] succeeds;
    /// written in place if it is a FIFO or a character device), writing `header` first;
    /// times count from now.
    ///
    /// # Errors
    /// [`RecordError::Write`] when the destination cannot be written (a missing folder, no
    /// permission, a directory): checked before the run starts.
    pub fn create(path: &Path, header: &Header) -> Result<Recorder, RecordError> {
        let out = OutputFile::open(path, Mode::Replace, RECORD_QUEUE_BYTES).map_err(|e| {
            RecordError::Write {
                path: path.to_path_buf(),
                message: e.to_string(),
            }
        })?;
        out.push(Record::Header(header.clone()).to_line(), 1);
        Ok(Recorder {
            inner: Arc::new(Inner {
                start: Instant::now(),
                path: path.to_path_buf(),
                out,
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

    /// Queues `record`; never blocks (a record that does not fit the queue is dropped and
    /// counted).
    fn record(&self, record: &Record) {
        self.inner.out.push(record.to_line(), 1);
    }

    /// Stops recording and waits until everything queued is written (giving up once the
    /// writer made no progress for `stall`), then puts the file in place. Later calls, and
    /// records made afterwards by other clones, do nothing.
    ///
    /// # Errors
    /// [`RecordError::Incomplete`] (nothing is put in place over a regular file);
    /// [`RecordError::Write`] when the file could not be written or renamed.
    pub fn finish(&self, stall: Duration) -> Result<(), RecordError> {
        let report = self.inner.out.finish(stall);
        let in_place = !matches!(
            rep_files::destination(&self.inner.path),
            Ok(rep_files::Destination::Replace(_))
        );
        match report.reason {
            None => Ok(()),
            Some(reason) if report.not_written > 0 => Err(RecordError::Incomplete {
                path: self.inner.path.clone(),
                not_written: report.not_written,
                reason,
                in_place,
            }),
            Some(message) => Err(RecordError::Write {
                path: self.inner.path.clone(),
                message,
            }),
        }
    }

    /// Gives up at once: nothing more is written, no file is put in place (a second
    /// interrupt while the transcript is being finished).
    pub fn abandon(&self) {
        self.inner.out.abandon();
    }
}

impl TapSink for Recorder {
    /// Records one frame (its bytes without the `\n`), or a note for one over the bound.
    fn frame(&self, dir: Direction, frame: &Frame, bound: usize) {
        let ms = self.elapsed_ms();
        self.record(&match frame {
            Frame::Line(bytes) => Record::frame(dir, ms, bytes),
            Frame::TooLong { len } => Record::frame_too_long(dir, ms, *len, bound),
        });
    }

    /// Records one line the executor wrote to stderr.
    fn stderr(&self, line: &str) {
        self.record(&Record::Stderr {
            ms: self.elapsed_ms(),
            line: line.to_owned(),
        });
    }

    /// Records the executor's exit status.
    fn exit(&self, status: ExitStatus) {
        use std::os::unix::process::ExitStatusExt;
        self.record(&Record::Exit {
            ms: self.elapsed_ms(),
            code: status.code(),
            signal: status.signal(),
        });
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use rep_spec::{REP_VERSION, TRANSCRIPT_FORMAT, parse_transcript};

    use super::*;

    const STALL: Duration = Duration::from_secs(10);

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
        let line = |text: &str| Frame::Line(text.as_bytes().to_vec());
        recorder.frame(
            Direction::HostToExecutor,
            &line(r#"{"jsonrpc":"2.0","id":1}"#),
            99,
        );
        recorder.frame(Direction::ExecutorToHost, &line(&big), usize::MAX);
        recorder.stderr("log line");
        assert!(!path.exists(), "nothing at the destination before finish");
        recorder.finish(STALL).unwrap();
        recorder.stderr("after the end: ignored");
        recorder.finish(STALL).unwrap();
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
        let dir = tempfile::tempdir().unwrap();
        let error = Recorder::create(dir.path(), &header()).unwrap_err();
        assert!(error.to_string().contains("a directory"), "{error}");
    }

    #[test]
    fn an_abandoned_transcript_leaves_no_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.jsonl");
        let recorder = Recorder::create(&path, &header()).unwrap();
        recorder.stderr("line");
        recorder.abandon();
        assert!(recorder.finish(STALL).is_ok() || !path.exists());
        assert!(!path.exists());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}

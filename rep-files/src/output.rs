//! An output file written off the caller's thread (`--events-jsonl`, transcripts): the
//! caller queues records and never waits, a writer thread writes them, and a reader that
//! stalls (a FIFO, `| sleep`) can never delay the caller.
//!
//! The queue holds at most `queue_bytes`; a record that does not fit is dropped and counted
//! (a single record larger than the whole queue still goes in when the queue is empty).
//! [`OutputFile::finish`] waits, bounded, for the writer and reports what was written and
//! what was not. The destination follows the rules of [`crate::write`]: a FIFO or a
//! character device is written in place (a FIFO nobody reads yet is opened by the writer
//! thread, as a shell would wait for a reader, without holding up the caller); a regular
//! file is appended to ([`Mode::Append`]) or replaced atomically when the output is
//! finished, complete ([`Mode::Replace`]).

use std::collections::VecDeque;
use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::write::{
    Destination, WriteError, destination, install, open_in_place, open_in_place_blocking,
    set_blocking, temp_beside,
};

/// How a regular file is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Appended to as records arrive (created if missing): a log such as `--events-jsonl`.
    Append,
    /// Written beside it under a temporary name and renamed over it when finished, only if
    /// every record was written: a document such as a transcript.
    Replace,
}

/// What an output file received, once finished.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Report {
    /// Records written.
    pub written: u64,
    /// Records not written: dropped because the queue was full, still queued when the
    /// writer was given up on, or lost to a write error.
    pub not_written: u64,
    /// Why records were not written: the write error, or "the reader did not keep up".
    pub reason: Option<String>,
    /// For [`Mode::Replace`] over a regular file: whether the file was put in place.
    pub installed: bool,
}

impl Report {
    /// Whether every record was written (and, for [`Mode::Replace`], installed).
    pub fn complete(&self) -> bool {
        self.not_written == 0 && self.reason.is_none()
    }
}

/// An output file being written; see the module. Clones share it.
#[derive(Clone)]
pub struct OutputFile {
    shared: Arc<Shared>,
}

struct Shared {
    state: Mutex<State>,
    /// Signalled when records are queued, when the output is closing, and when the writer
    /// made progress or finished.
    changed: Condvar,
    queue_bytes: usize,
}

#[derive(Default)]
struct State {
    /// Chunks of bytes, each with the number of records it holds.
    queue: VecDeque<(Vec<u8>, u64)>,
    queued_bytes: usize,
    written: u64,
    dropped: u64,
    /// Records taken off the queue and being written.
    in_flight: u64,
    /// Bytes written so far: progress, for the stall bound of `finish`.
    progress: u64,
    error: Option<String>,
    closing: bool,
    done: bool,
    /// Given up on: the writer must not install the file.
    abandoned: bool,
    /// The writer waits for a reader to open the FIFO.
    no_reader: bool,
    installed: bool,
    /// The temporary file of [`Mode::Replace`], removed when abandoned.
    temp: Option<PathBuf>,
}

/// Where the writer thread writes.
enum Sink {
    Append(File),
    Replace {
        temp: tempfile::NamedTempFile,
        target: PathBuf,
    },
    /// A FIFO nobody reads yet: opened by the writer thread, waiting for a reader.
    Wait(PathBuf),
}

impl OutputFile {
    /// Opens `path` for output in `mode`, the queue holding at most `queue_bytes`. Problems
    /// that can be known at once (no such folder, a directory, no permission) are errors
    /// here, before anything is queued.
    ///
    /// # Errors
    /// See [`WriteError`].
    pub fn open(path: &Path, mode: Mode, queue_bytes: usize) -> Result<OutputFile, WriteError> {
        let (sink, temp) = match (destination(path)?, mode) {
            (Destination::Replace(target), Mode::Append) => {
                let file = OpenOptions::new().append(true).create(true).open(&target)?;
                (Sink::Append(file), None)
            }
            (Destination::Replace(target), Mode::Replace) => {
                let temp = temp_beside(&target)?;
                let temp_path = temp.path().to_path_buf();
                (Sink::Replace { temp, target }, Some(temp_path))
            }
            (Destination::InPlace(path), _) => match open_in_place(&path)? {
                Some(file) => {
                    // The writer thread may block on it; the caller never does.
                    set_blocking(&file)?;
                    (Sink::Append(file), None)
                }
                None => (Sink::Wait(path), None),
            },
        };
        let no_reader = matches!(sink, Sink::Wait(_));
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                temp,
                no_reader,
                ..State::default()
            }),
            changed: Condvar::new(),
            queue_bytes,
        });
        let writer = shared.clone();
        std::thread::Builder::new()
            .name("output-file".into())
            .spawn(move || writer.write_until_closed(sink))?;
        Ok(OutputFile { shared })
    }

    /// Queues `bytes` holding `records` records (each already terminated); never blocks.
    /// Returns false when they were dropped (counted) because the queue is full or the output
    /// failed, or ignored because the output is finished.
    pub fn push(&self, bytes: Vec<u8>, records: u64) -> bool {
        let mut state = self.shared.lock();
        if state.closing {
            // After the end: nothing is written, and nothing was lost.
            return false;
        }
        let fits =
            state.queue.is_empty() || state.queued_bytes + bytes.len() <= self.shared.queue_bytes;
        if state.error.is_some() || !fits {
            state.dropped += records;
            return false;
        }
        state.queued_bytes += bytes.len();
        state.queue.push_back((bytes, records));
        self.shared.changed.notify_all();
        true
    }

    /// Records dropped so far.
    pub fn dropped(&self) -> u64 {
        self.shared.lock().dropped
    }

    /// Stops taking records and waits until the writer has written the queue (and, for
    /// [`Mode::Replace`], installed the file), giving up once it made no progress for
    /// `stall`. A writer given up on is abandoned: its temporary file is removed.
    pub fn finish(&self, stall: Duration) -> Report {
        let mut state = self.shared.lock();
        state.closing = true;
        self.shared.changed.notify_all();
        let mut progress = state.progress;
        let mut until = Instant::now() + stall;
        while !state.done {
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                let reason = if state.no_reader {
                    "nobody opened the FIFO for reading"
                } else {
                    "the reader did not keep up"
                };
                drop(state);
                self.abandon();
                return self.report(Some(reason.to_owned()));
            }
            state = match self.shared.changed.wait_timeout(state, left) {
                Ok((state, _)) => state,
                Err(poisoned) => poisoned.into_inner().0,
            };
            if state.progress != progress {
                progress = state.progress;
                until = Instant::now() + stall;
            }
        }
        drop(state);
        self.report(None)
    }

    /// Gives up at once: nothing more is written or installed, the temporary file of
    /// [`Mode::Replace`] is removed. For a second interrupt while finishing.
    pub fn abandon(&self) {
        let mut state = self.shared.lock();
        state.closing = true;
        state.abandoned = true;
        if let Some(temp) = state.temp.take() {
            let _ = std::fs::remove_file(temp);
        }
        self.shared.changed.notify_all();
    }

    fn report(&self, given_up: Option<String>) -> Report {
        let state = self.shared.lock();
        let queued: u64 = state.queue.iter().map(|(_, records)| records).sum();
        Report {
            written: state.written,
            not_written: state.dropped + queued + state.in_flight,
            reason: state
                .error
                .clone()
                .or(given_up)
                .or_else(|| (state.dropped > 0).then(|| "the reader did not keep up".to_owned())),
            installed: state.installed,
        }
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The writer thread: writes records as they come, flushing whenever the queue is
    /// empty; at the close, installs a [`Mode::Replace`] file if nothing was lost.
    fn write_until_closed(&self, sink: Sink) {
        let (mut out, replace) = match sink {
            Sink::Append(file) => (BufWriter::new(file), None),
            Sink::Replace { temp, target } => match temp.reopen() {
                Ok(file) => (BufWriter::new(file), Some((temp, target))),
                Err(e) => return self.fail(&e),
            },
            Sink::Wait(path) => match open_in_place_blocking(&path) {
                Ok(file) => {
                    self.lock().no_reader = false;
                    (BufWriter::new(file), None)
                }
                Err(e) => return self.fail(&e),
            },
        };
        loop {
            let batch: Vec<(Vec<u8>, u64)> = {
                let mut state = self.lock();
                while state.queue.is_empty() && !state.closing {
                    state = match self.changed.wait(state) {
                        Ok(state) => state,
                        Err(poisoned) => poisoned.into_inner(),
                    };
                }
                if state.abandoned {
                    return self.finished(state);
                }
                if state.queue.is_empty() {
                    break;
                }
                state.queued_bytes = 0;
                state.in_flight = state.queue.iter().map(|(_, records)| records).sum();
                state.queue.drain(..).collect()
            };
            let count: u64 = batch.iter().map(|(_, records)| records).sum();
            let bytes: usize = batch.iter().map(|(chunk, _)| chunk.len()).sum();
            let written = batch
                .iter()
                .try_for_each(|(chunk, _)| out.write_all(chunk))
                .and_then(|()| out.flush());
            let mut state = self.lock();
            state.in_flight = 0;
            if let Err(e) = written {
                state.dropped += count;
                return self.fail_locked(state, &e);
            }
            state.written += count;
            state.progress += bytes as u64;
            self.changed.notify_all();
        }
        let mut state = self.lock();
        if let Some((temp, target)) = replace {
            drop(out);
            if state.abandoned || state.dropped > 0 {
                state.temp = None;
                drop(temp);
            } else {
                // Installed under the lock, so an abandon cannot remove it half-way.
                match install(temp, &target) {
                    Ok(()) => state.installed = true,
                    Err(e) => state.error = Some(e.to_string()),
                }
                state.temp = None;
            }
        }
        self.finished(state);
    }

    fn fail(&self, error: &io::Error) {
        let state = self.lock();
        self.fail_locked(state, error);
    }

    fn fail_locked(&self, mut state: MutexGuard<'_, State>, error: &io::Error) {
        state.error = Some(error.to_string());
        state.dropped += state.queue.iter().map(|(_, records)| records).sum::<u64>();
        state.queue.clear();
        state.queued_bytes = 0;
        if let Some(temp) = state.temp.take() {
            let _ = std::fs::remove_file(temp);
        }
        self.finished(state);
    }

    fn finished(&self, mut state: MutexGuard<'_, State>) {
        state.done = true;
        self.changed.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};

    #[test]
    fn a_replaced_file_appears_whole_when_finished() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.jsonl");
        let out = OutputFile::open(&path, Mode::Replace, 1 << 20).unwrap();
        for i in 0..100 {
            assert!(out.push(format!("{i}\n").into_bytes(), 1));
        }
        assert!(!path.exists(), "nothing before the end");
        let report = out.finish(Duration::from_secs(10));
        assert_eq!(report.written, 100);
        assert!(report.complete() && report.installed, "{report:?}");
        assert_eq!(std::fs::read_to_string(&path).unwrap().lines().count(), 100);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn an_append_log_keeps_what_was_there() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("events.jsonl");
        std::fs::write(&path, "old\n").unwrap();
        let out = OutputFile::open(&path, Mode::Append, 1 << 20).unwrap();
        out.push(b"new\n".to_vec(), 1);
        assert!(out.finish(Duration::from_secs(10)).complete());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "old\nnew\n");
    }

    #[test]
    fn a_stalled_reader_costs_records_not_time() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).unwrap();
        // A reader that never reads: the pipe fills, the writer thread blocks.
        let _reader = OpenOptions::new()
            .read(true)
            .custom_flags(nix::libc::O_NONBLOCK)
            .open(&fifo)
            .unwrap();
        let out = OutputFile::open(&fifo, Mode::Append, 64 * 1024).unwrap();
        let started = Instant::now();
        let mut dropped = 0;
        for _ in 0..1000 {
            if !out.push(vec![b'x'; 1024], 1) {
                dropped += 1;
            }
        }
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "pushing never waits"
        );
        assert!(dropped > 0);
        let report = out.finish(Duration::from_millis(200));
        assert!(report.not_written >= dropped, "{report:?}");
        assert_eq!(report.written + report.not_written, 1000, "{report:?}");
        assert_eq!(report.reason.as_deref(), Some("the reader did not keep up"));
    }

    #[test]
    fn a_fifo_without_reader_holds_up_no_one() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).unwrap();
        let out = OutputFile::open(&fifo, Mode::Replace, 1 << 20).unwrap();
        out.push(b"line\n".to_vec(), 1);
        let report = out.finish(Duration::from_millis(100));
        assert_eq!(report.not_written, 1, "{report:?}");
        assert_eq!(
            report.reason.as_deref(),
            Some("nobody opened the FIFO for reading")
        );
        assert!(
            std::fs::symlink_metadata(&fifo)
                .unwrap()
                .file_type()
                .is_fifo()
        );
    }

    #[test]
    fn an_incomplete_document_is_not_installed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.jsonl");
        std::fs::write(&path, "previous\n").unwrap();
        let out = OutputFile::open(&path, Mode::Replace, 4).unwrap();
        // The writer may take the first before the second arrives; push until one drops.
        let mut pushed = 0;
        while out.push(b"12345\n".to_vec(), 1) {
            pushed += 1;
            assert!(pushed < 1_000_000);
        }
        let report = out.finish(Duration::from_secs(10));
        assert!(!report.complete() && !report.installed, "{report:?}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "previous\n");
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            1,
            "temp removed"
        );
    }
}

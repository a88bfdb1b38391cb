//! `rep-conformance run --record DIR`: one transcript per executor process a test starts
//! (docs/transcripts.md), named after the test: `DIR/REP-RUN-001.jsonl` for its first
//! process, `DIR/REP-RUN-001.2.jsonl` for its second, and so on. Each process is recorded
//! through a [`Tap`] on its streams ([`Connection::spawn`](crate::conn::Connection::spawn)),
//! and every transcript is finished when the test ends ([`TestRecording::finish`]).

use std::cell::RefCell;
use std::path::{Path, PathBuf};

use rep_host::{OUTPUT_STALL, Recorder, Tap};
use rep_spec::{Header, REP_VERSION, TRANSCRIPT_FORMAT};

use crate::conn::Target;

/// The transcripts of one test.
#[derive(Debug)]
pub struct TestRecording {
    dir: PathBuf,
    test: &'static str,
    started: RefCell<Vec<Recorder>>,
}

impl TestRecording {
    /// Transcripts of test `test` go into `dir` (which must exist).
    pub fn new(dir: &Path, test: &'static str) -> TestRecording {
        TestRecording {
            dir: dir.to_path_buf(),
            test,
            started: RefCell::new(Vec::new()),
        }
    }

    /// The tap recording the next process of the test, or [`Tap::none`] (with a warning on
    /// stderr) when its file cannot be created: recording never changes a verdict.
    pub fn next(&self, target: &Target) -> Tap {
        let n = self.started.borrow().len() + 1;
        let name = match n {
            1 => format!("{}.jsonl", self.test),
            n => format!("{}.{n}.jsonl", self.test),
        };
        let header = Header {
            format: TRANSCRIPT_FORMAT.to_owned(),
            tool: "rep-conformance".to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            rep_version: REP_VERSION.to_owned(),
            executor: target.command_line(),
            flow: None,
            test: Some(self.test.to_owned()),
            started_at: time::OffsetDateTime::now_utc()
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default(),
        };
        match Recorder::create(&self.dir.join(name), &header) {
            Ok(recorder) => {
                self.started.borrow_mut().push(recorder.clone());
                Tap::from(recorder)
            }
            Err(error) => {
                warn(&error);
                Tap::none()
            }
        }
    }

    /// Finishes every transcript of the test (its processes are gone by now: their exit
    /// statuses are recorded); one that cannot be written is reported on stderr.
    pub fn finish(&self) {
        for recorder in self.started.borrow_mut().drain(..) {
            if let Err(error) = recorder.finish(OUTPUT_STALL) {
                warn(&error);
            }
        }
    }
}

fn warn(error: &rep_host::RecordError) {
    rep_process::stderr_sink().own_line(&format!("rep-conformance: warning: {error}"));
}

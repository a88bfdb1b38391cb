//! `rep-conformance run --record DIR`: one transcript per executor process a test starts
//! (docs/transcripts.md), named after the test: `DIR/REP-RUN-001.jsonl` for its first
//! process, `DIR/REP-RUN-001.2.jsonl` for its second, and so on.

use std::cell::Cell;
use std::path::{Path, PathBuf};

use rep_host::Recorder;
use rep_spec::{Header, REP_VERSION, TRANSCRIPT_FORMAT};

use crate::conn::Target;

/// The transcripts of one test.
#[derive(Debug)]
pub struct TestRecording {
    dir: PathBuf,
    test: &'static str,
    started: Cell<usize>,
}

impl TestRecording {
    /// Transcripts of test `test` go into `dir` (which must exist).
    pub fn new(dir: &Path, test: &'static str) -> TestRecording {
        TestRecording {
            dir: dir.to_path_buf(),
            test,
            started: Cell::new(0),
        }
    }

    /// The recorder for the next process of the test, or `None` (with a warning on stderr)
    /// when its file cannot be created: recording never changes a verdict.
    pub fn next(&self, target: &Target) -> Option<Recorder> {
        let n = self.started.get() + 1;
        self.started.set(n);
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
            Ok(recorder) => Some(recorder),
            Err(error) => {
                rep_process::stderr_sink().own_line(&format!("rep-conformance: warning: {error}"));
                None
            }
        }
    }
}

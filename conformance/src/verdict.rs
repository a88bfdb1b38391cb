//! Verdicts: what one test concluded, with a one-line reason and the offending frame.

use std::time::Duration;

use serde::Serialize;

use crate::catalogue::TestInfo;

/// How many bytes of an offending frame a verdict quotes.
pub const FRAME_QUOTE_BYTES: usize = 200;

/// The verdict of one test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// The executor behaves as the test requires.
    Pass,
    /// It does not, or the test could not run ("not testable: …").
    Fail,
    /// The executor does not advertise the capability the test checks.
    Skip,
}

impl Verdict {
    /// `pass`, `fail` or `skip`.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Fail => "fail",
            Verdict::Skip => "skip",
        }
    }
}

/// Why a test failed: a one-line reason and, when a frame is to blame, its first
/// [`FRAME_QUOTE_BYTES`] bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// One line saying what is wrong.
    pub reason: String,
    /// The offending frame (lossily decoded, shortened), if one is to blame.
    pub frame: Option<String>,
}

impl Failure {
    /// A failure without a frame.
    pub fn new(reason: impl Into<String>) -> Failure {
        Failure {
            reason: one_line(&reason.into()),
            frame: None,
        }
    }

    /// A failure quoting `frame`.
    pub fn with_frame(reason: impl Into<String>, frame: &[u8]) -> Failure {
        Failure {
            reason: one_line(&reason.into()),
            frame: Some(quote(frame)),
        }
    }

    /// A MUST test that cannot run: its reason starts with `not testable: `.
    pub fn not_testable(why: impl Into<String>) -> Failure {
        Failure::new(format!("not testable: {}", why.into()))
    }
}

/// What a test body returns when it does not fail: pass or skip, with a reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Success {
    /// Passed; the note says what was checked (e.g. `3 flows, 14 events`).
    Pass(String),
    /// Skipped: the executor does not advertise the capability (the reason says which).
    Skip(String),
}

/// The result of a test body.
pub type Check = Result<Success, Failure>;

/// The recorded result of one test.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TestResult {
    /// The stable test id.
    pub id: &'static str,
    /// MUST or SHOULD.
    pub level: crate::catalogue::Level,
    /// The spec section(s) checked.
    pub section: &'static str,
    /// The report group.
    pub area: crate::catalogue::Area,
    /// What the test checks.
    pub title: &'static str,
    /// pass, fail or skip.
    pub verdict: Verdict,
    /// One line: what was checked, why it failed, or why it was skipped.
    pub reason: String,
    /// The offending frame (at most [`FRAME_QUOTE_BYTES`] bytes), for some failures.
    pub frame: Option<String>,
    /// Wall time of the test, in ms.
    pub duration_ms: u64,
}

impl TestResult {
    /// The result of `info`'s body returning `check` after `elapsed`.
    pub fn new(info: &TestInfo, check: Check, elapsed: Duration) -> TestResult {
        let (verdict, reason, frame) = match check {
            Ok(Success::Pass(note)) => (Verdict::Pass, note, None),
            Ok(Success::Skip(why)) => (Verdict::Skip, why, None),
            Err(failure) => (Verdict::Fail, failure.reason, failure.frame),
        };
        TestResult {
            id: info.id,
            level: info.level,
            section: info.section,
            area: info.area,
            title: info.title,
            verdict,
            reason,
            frame,
            duration_ms: u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX),
        }
    }
}

/// At most [`FRAME_QUOTE_BYTES`] of `bytes`, lossily decoded, with `…` when shortened.
pub fn quote(bytes: &[u8]) -> String {
    let shown = &bytes[..bytes.len().min(FRAME_QUOTE_BYTES)];
    let mut text = String::from_utf8_lossy(shown).into_owned();
    if bytes.len() > FRAME_QUOTE_BYTES {
        text.push_str(&format!("… ({} bytes)", bytes.len()));
    }
    text
}

fn one_line(text: &str) -> String {
    text.split('\n')
        .map(str::trim_end)
        .collect::<Vec<_>>()
        .join(" ⏎ ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_are_bounded_and_reasons_are_one_line() {
        let long = vec![b'x'; 500];
        let q = quote(&long);
        assert!(q.starts_with(&"x".repeat(200)));
        assert!(q.ends_with("(500 bytes)"));
        assert_eq!(Failure::new("a\nb").reason, "a ⏎ b");
        assert_eq!(
            Failure::not_testable("no flow").reason,
            "not testable: no flow"
        );
    }
}

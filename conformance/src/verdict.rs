//! Verdicts: what one test concluded — pass, fail, warn or skip — with a one-line reason, the
//! offending frame, and what would let a skipped test run.

use std::time::Duration;

use serde::Serialize;

use crate::catalogue::{Area, Level, TestInfo};

/// How many bytes of an offending frame a verdict quotes.
pub const FRAME_QUOTE_BYTES: usize = 200;

/// The verdict of one test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// The executor behaves as the test requires.
    Pass,
    /// A MUST test found a violation (or, under `--strict`, could not run; or a baselined
    /// test passed: the baseline entry is stale). Fails the run unless baselined.
    Fail,
    /// A SHOULD test found a deviation from good practice. Never fails the run.
    Warn,
    /// The test could not run for want of a fixture or an advertised capability; the report
    /// says what would enable it.
    Skip,
}

impl Verdict {
    /// `pass`, `fail`, `warn` or `skip`.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Fail => "fail",
            Verdict::Warn => "warn",
            Verdict::Skip => "skip",
        }
    }
}

/// Why a test found a violation: a one-line reason and, when a frame is to blame, its first
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

    /// The same failure with `context: ` before its reason (the frame is kept).
    pub fn context(self, context: impl std::fmt::Display) -> Failure {
        Failure {
            reason: format!("{context}: {}", self.reason),
            frame: self.frame,
        }
    }
}

/// Why a test could not run, and what would let it run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skip {
    /// Short, for the certification line: e.g. `no flow expected to fail`.
    pub why: String,
    /// What would enable the test, e.g. `give --fixtures DIR with a fixture expecting
    /// "failed"`; `None` when nothing can (an optional method the executor does not offer).
    pub hint: Option<String>,
}

impl Skip {
    /// A skip with a hint.
    pub fn new(why: impl Into<String>, hint: impl Into<String>) -> Skip {
        Skip {
            why: one_line(&why.into()),
            hint: Some(one_line(&hint.into())),
        }
    }

    /// A skip nothing can enable (e.g. an optional method not implemented).
    pub fn without_hint(why: impl Into<String>) -> Skip {
        Skip {
            why: one_line(&why.into()),
            hint: None,
        }
    }
}

/// Why a test body did not pass: it could not run, or it found a violation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Could not run.
    Skip(Skip),
    /// A violation: a fail for a MUST test, a warning for a SHOULD test.
    Fail(Failure),
}

impl From<Failure> for Outcome {
    fn from(failure: Failure) -> Outcome {
        Outcome::Fail(failure)
    }
}

impl From<Skip> for Outcome {
    fn from(skip: Skip) -> Outcome {
        Outcome::Skip(skip)
    }
}

/// The result of a test body: `Ok` is a pass with a note saying what was checked (e.g. `3
/// flows, 14 events`); `Err` is a skip or a failure (`?` converts both).
pub type Check = Result<String, Outcome>;

/// How a `--baseline` entry applied to a test that ran.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum BaselineStatus {
    /// The test failed (or warned) as the baseline expects: reported, does not fail the run.
    ExpectedFailure,
    /// The test passed: the entry is stale and fails the run until it is removed.
    Stale,
}

/// A `--baseline` entry as applied to one result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BaselineMark {
    /// The reason given in the baseline file.
    pub reason: String,
    /// Expected failure or stale entry.
    pub status: BaselineStatus,
}

/// An earlier run of a test that did not pass (`--repeat`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rerun {
    /// `fail` or `warn`.
    pub verdict: Verdict,
    /// Why.
    pub reason: String,
    /// The offending frame, if one was to blame.
    pub frame: Option<String>,
    /// Wall time of that run, in ms.
    pub duration_ms: u64,
}

/// The recorded result of one test.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TestResult {
    /// The stable test id.
    pub id: &'static str,
    /// MUST or SHOULD.
    pub level: Level,
    /// The section(s) of REP v0.1 checked, e.g. `§3, §5`.
    pub section: &'static str,
    /// The report group.
    pub area: Area,
    /// What the test checks.
    pub title: &'static str,
    /// pass, fail, warn or skip.
    pub verdict: Verdict,
    /// One line: what was checked, why it failed, or why it was skipped.
    pub reason: String,
    /// For a skipped test, what would let it run.
    pub hint: Option<String>,
    /// The offending frame (at most [`FRAME_QUOTE_BYTES`] bytes), for some failures.
    pub frame: Option<String>,
    /// The `--baseline` entry for this test, when there is one and the test ran.
    pub baseline: Option<BaselineMark>,
    /// Wall time of the test, in ms.
    pub duration_ms: u64,
    /// With `--repeat`: the earlier runs of this test that failed or warned, oldest first
    /// (this result is its last run).
    pub reruns: Vec<Rerun>,
    /// The test failed or warned, then passed when run again (`--repeat`): a flaky pass.
    pub flaky: bool,
}

impl TestResult {
    /// The result of `info`'s body returning `check` after `elapsed`.
    pub fn new(info: &TestInfo, check: Check, elapsed: Duration) -> TestResult {
        let failed = match info.level {
            Level::Must => Verdict::Fail,
            Level::Should => Verdict::Warn,
        };
        let (verdict, reason, hint, frame) = match check {
            Ok(note) => (Verdict::Pass, note, None, None),
            Err(Outcome::Skip(skip)) => (Verdict::Skip, skip.why, skip.hint, None),
            Err(Outcome::Fail(failure)) => (failed, failure.reason, None, failure.frame),
        };
        TestResult {
            id: info.id,
            level: info.level,
            section: info.section,
            area: info.area,
            title: info.title,
            verdict,
            reason,
            hint,
            frame,
            baseline: None,
            duration_ms: u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX),
            reruns: Vec::new(),
            flaky: false,
        }
    }

    /// Whether the test found a violation (a fail or a warning) — what `--repeat` reruns.
    pub fn is_failing(&self) -> bool {
        matches!(self.verdict, Verdict::Fail | Verdict::Warn)
    }

    /// This result, the last run of the test, after the `earlier` runs that failed or warned:
    /// a pass after them is flaky.
    pub fn after(mut self, earlier: Vec<TestResult>) -> TestResult {
        self.flaky = self.verdict == Verdict::Pass && !earlier.is_empty();
        self.reruns = earlier
            .into_iter()
            .map(|r| Rerun {
                verdict: r.verdict,
                reason: r.reason,
                frame: r.frame,
                duration_ms: r.duration_ms,
            })
            .collect();
        self
    }

    /// Whether this result fails the run: a fail that no baseline entry expects (a stale
    /// entry is a fail of its own).
    pub fn fails_run(&self) -> bool {
        self.verdict == Verdict::Fail
            && !self
                .baseline
                .as_ref()
                .is_some_and(|b| b.status == BaselineStatus::ExpectedFailure)
    }

    /// Under `--strict`: a skipped MUST test of the core requirement set becomes a fail (the
    /// tests of the opt-in `rep.probe` extension stay skipped).
    pub fn apply_strict(&mut self) {
        let core = crate::requirements::requirements().levels.core.has(self.id);
        if self.verdict == Verdict::Skip && self.level == Level::Must && core {
            self.verdict = Verdict::Fail;
            self.reason = format!(
                "skipped, and --strict requires every MUST test to run: {}",
                self.reason
            );
        }
    }

    /// Applies the baseline entry `reason` to this result: a fail or warn is an expected
    /// failure; a pass makes the entry stale (a fail); a skip leaves it unchecked.
    pub fn apply_baseline(&mut self, reason: &str) {
        let status = match self.verdict {
            Verdict::Fail | Verdict::Warn => BaselineStatus::ExpectedFailure,
            Verdict::Pass => {
                self.verdict = Verdict::Fail;
                self.reason = format!(
                    "stale baseline entry: remove it (the test passes now: {})",
                    self.reason
                );
                BaselineStatus::Stale
            }
            Verdict::Skip => return,
        };
        self.baseline = Some(BaselineMark {
            reason: reason.to_owned(),
            status,
        });
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

/// `text` on one line: newlines become ` ⏎ `.
pub fn one_line(text: &str) -> String {
    text.split('\n')
        .map(str::trim_end)
        .collect::<Vec<_>>()
        .join(" ⏎ ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue::find;

    #[test]
    fn quotes_are_bounded_and_reasons_are_one_line() {
        let long = vec![b'x'; 500];
        let q = quote(&long);
        assert!(q.starts_with(&"x".repeat(200)));
        assert!(q.ends_with("(500 bytes)"));
        assert_eq!(Failure::new("a\nb").reason, "a ⏎ b");
        assert_eq!(
            Skip::new("no flow", "give one").hint.as_deref(),
            Some("give one")
        );
    }

    #[test]
    fn a_failure_is_a_fail_for_must_and_a_warn_for_should() {
        let must = find("REP-FRM-001").unwrap();
        let should = find("REP-RUN-006").unwrap();
        assert_eq!(must.level, Level::Must);
        assert_eq!(should.level, Level::Should);
        let failed = || Err(Failure::new("bad").into());
        assert_eq!(
            TestResult::new(must, failed(), Duration::ZERO).verdict,
            Verdict::Fail
        );
        assert_eq!(
            TestResult::new(should, failed(), Duration::ZERO).verdict,
            Verdict::Warn
        );
        let skipped = TestResult::new(must, Err(Skip::new("x", "y").into()), Duration::ZERO);
        assert_eq!(
            (skipped.verdict, skipped.hint.as_deref()),
            (Verdict::Skip, Some("y"))
        );
    }

    #[test]
    fn strict_fails_skipped_musts_only() {
        let mut must = TestResult::new(
            find("REP-LIF-003").unwrap(),
            Err(Skip::new("no flow expected to fail", "give one").into()),
            Duration::ZERO,
        );
        let mut should = TestResult::new(
            find("REP-CAN-003").unwrap(),
            Err(Skip::new("no long-running flow", "give one").into()),
            Duration::ZERO,
        );
        let mut extension = TestResult::new(
            find("REP-SEM-001").unwrap(),
            Err(Skip::new("the executor does not advertise rep.probe", "register it").into()),
            Duration::ZERO,
        );
        must.apply_strict();
        should.apply_strict();
        extension.apply_strict();
        assert_eq!(
            extension.verdict,
            Verdict::Skip,
            "the rep.probe extension is not core"
        );
        assert_eq!(must.verdict, Verdict::Fail);
        assert!(must.reason.contains("--strict") && must.reason.contains("no flow expected"));
        assert!(must.fails_run());
        assert_eq!(should.verdict, Verdict::Skip);
    }

    #[test]
    fn a_pass_after_failed_runs_is_flaky_and_keeps_them() {
        let info = find("REP-CAP-001").unwrap();
        let failed = TestResult::new(info, Err(Failure::new("bad").into()), Duration::ZERO);
        let passed = TestResult::new(info, Ok("fine".into()), Duration::ZERO);
        let flaky = passed.clone().after(vec![failed.clone()]);
        assert!(flaky.flaky && flaky.verdict == Verdict::Pass);
        assert_eq!(flaky.reruns[0].reason, "bad");
        let still = failed.clone().after(vec![failed.clone()]);
        assert!(!still.flaky && still.fails_run());
        assert!(!passed.after(Vec::new()).flaky);
    }

    #[test]
    fn baselines_excuse_failures_and_go_stale_on_a_pass() {
        let info = find("REP-FRM-001").unwrap();
        let mut failed = TestResult::new(info, Err(Failure::new("bad").into()), Duration::ZERO);
        failed.apply_baseline("known");
        assert_eq!(failed.verdict, Verdict::Fail);
        assert!(!failed.fails_run());
        let mut passed = TestResult::new(info, Ok("fine".into()), Duration::ZERO);
        passed.apply_baseline("known");
        assert_eq!(passed.verdict, Verdict::Fail);
        assert!(passed.fails_run());
        assert!(passed.reason.starts_with("stale baseline entry: remove it"));
        assert_eq!(passed.baseline.unwrap().status, BaselineStatus::Stale);
    }
}

//! Running the suite: select tests, probe the executor (and stop at once if it does not
//! answer), run each test on fresh processes within its time budget, apply `--strict` and
//! the baseline, collect verdicts.

use std::path::PathBuf;
use std::time::Duration;

use glob::Pattern;
use rep_host::Tap;
use rep_spec::METHOD_CAPABILITIES;
use serde_json::{Value, json};
use tokio::time::Instant;

use crate::baseline::Baseline;
use crate::catalogue::{CATALOGUE, Level, TestInfo};
use crate::checks::{Ctx, Plan};
use crate::conn::{CALL_TIMEOUT, Connection, Target};
use crate::error::Error;
use crate::flows::builtin;
use crate::identity::ExecutorIdentity;
use crate::recording::TestRecording;
use crate::requirements::requirements;
use crate::verdict::{BaselineStatus, Failure, TestResult, Verdict};
use crate::wire::FrameLog;

/// Time budget of the probe (spawn, one Capabilities call): an executor that does not answer
/// within [`CALL_TIMEOUT`] gets its verdict right after.
const PROBE_BUDGET: Duration = CALL_TIMEOUT.saturating_add(Duration::from_secs(1));

/// What to run.
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    /// The executor.
    pub target: Target,
    /// `--fixtures DIR`.
    pub fixtures: Option<PathBuf>,
    /// `--filter GLOB` (repeatable): run only ids matching one of them; all when empty.
    pub filter: Vec<String>,
    /// `--skip GLOB` (repeatable): do not run ids matching one of them.
    pub skip: Vec<String>,
    /// `--timeout SECS`: replaces every test's own time budget.
    pub timeout: Option<Duration>,
    /// `--baseline FILE`: expected failures.
    pub baseline: Option<PathBuf>,
    /// `--strict`: a skipped MUST test fails.
    pub strict: bool,
    /// `--record DIR`: one transcript per executor process of each test.
    pub record: Option<PathBuf>,
    /// `--repeat N`: run a failing (or warning) test again, alone, up to N times; a pass then
    /// is reported as flaky.
    pub repeat: u32,
}

/// The fixtures a run used, as a hash (see [`crate::identity::fixtures_sha256`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FixturesInfo {
    /// `--fixtures DIR` as given.
    pub dir: PathBuf,
    /// How many flows it holds.
    pub count: usize,
    /// sha256 of the flows' canonical JSON.
    pub sha256: String,
}

/// Why the suite stopped after the probe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Aborted {
    /// What the probe saw (no answer, EOF, exit), with the executor's stderr tail.
    pub reason: String,
    /// The selected tests that did not run.
    pub not_run: Vec<&'static str>,
}

/// The outcome of a suite run.
#[derive(Debug, Clone, PartialEq)]
pub struct SuiteReport {
    /// The executor.
    pub target: Target,
    /// The probe's Capabilities result, if it answered one.
    pub capabilities: Option<Value>,
    /// When the run started, RFC 3339 UTC.
    pub started_at: String,
    /// Wall time of the whole run.
    pub duration: Duration,
    /// One result per test run, in catalogue order.
    pub results: Vec<TestResult>,
    /// Ids left out by `--filter` / `--skip`.
    pub not_selected: Vec<&'static str>,
    /// Set when the executor did not answer the probe and the suite stopped.
    pub aborted: Option<Aborted>,
    /// Whether `--strict` was given.
    pub strict: bool,
    /// The `--baseline` file, if any.
    pub baseline: Option<PathBuf>,
    /// The executor's file hash, command line and environment names, taken before the tests.
    pub identity: ExecutorIdentity,
    /// The `--fixtures`, if any.
    pub fixtures: Option<FixturesInfo>,
    /// The options that shape the verdicts: `--filter`, `--skip`, `--timeout`, `--repeat`.
    pub selection: Selection,
}

/// `--filter`, `--skip`, `--timeout` and `--repeat` as given.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Selection {
    /// `--filter` globs.
    pub filter: Vec<String>,
    /// `--skip` globs.
    pub skip: Vec<String>,
    /// `--timeout`.
    pub timeout: Option<Duration>,
    /// `--repeat`.
    pub repeat: u32,
}

/// What the run certifies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Certification {
    /// The whole catalogue ran and no MUST test failed (skipped MUST tests are listed in
    /// `untested`).
    pub core: bool,
    /// `core`, and every REP-CAN-* test passed.
    pub cancel: bool,
    /// `core`, and REP-HLT-001 passed (not skipped).
    pub health: bool,
    /// `core`, and every REP-SEM-* test passed (the `rep.probe` extension).
    pub semantics: bool,
    /// The MUST tests of the core requirement set that were skipped: id and why.
    pub untested: Vec<(&'static str, String)>,
    /// Tests that failed, then passed when run again (`--repeat`).
    pub flaky: Vec<&'static str>,
}

impl SuiteReport {
    /// How many results have `verdict`.
    pub fn count(&self, verdict: Verdict) -> usize {
        self.results.iter().filter(|r| r.verdict == verdict).count()
    }

    /// How many results carry a baseline entry with `status`.
    pub fn baselined(&self, status: BaselineStatus) -> usize {
        self.results
            .iter()
            .filter(|r| r.baseline.as_ref().is_some_and(|b| b.status == status))
            .count()
    }

    /// MUST tests that failed on the executor's account (baselined ones included, stale
    /// baseline entries not: those tests passed).
    pub fn must_failures(&self) -> usize {
        self.results
            .iter()
            .filter(|r| {
                r.level == Level::Must
                    && r.verdict == Verdict::Fail
                    && !r
                        .baseline
                        .as_ref()
                        .is_some_and(|b| b.status == BaselineStatus::Stale)
            })
            .count()
    }

    /// Whether the run fails (exit code 1): a fail that no baseline entry expects, a stale
    /// baseline entry, or an executor that did not answer the probe.
    pub fn failed(&self) -> bool {
        self.aborted.is_some() || self.results.iter().any(TestResult::fails_run)
    }

    /// The exit code of the run: [`FAILED`](crate::exit::FAILED) when it
    /// [failed](SuiteReport::failed), else [`PASS`](crate::exit::PASS). The JUnit
    /// file's `<failure>` elements are exactly the tests that make it fail.
    pub fn exit_code(&self) -> u8 {
        if self.failed() {
            crate::exit::FAILED
        } else {
            crate::exit::PASS
        }
    }

    /// The levels reached, by the requirement set ([`crate::requirements`]).
    pub fn certification(&self) -> Certification {
        let levels = &requirements().levels;
        let core =
            self.aborted.is_none() && self.not_selected.is_empty() && self.must_failures() == 0;
        let passed = |level: &crate::requirements::Level| {
            level.tests.iter().all(|id| {
                self.results
                    .iter()
                    .any(|r| r.id == id && r.verdict == Verdict::Pass)
            })
        };
        let untested = self
            .results
            .iter()
            .filter(|r| {
                r.level == Level::Must && r.verdict == Verdict::Skip && levels.core.has(r.id)
            })
            .map(|r| (r.id, r.reason.clone()))
            .collect();
        Certification {
            core,
            cancel: core && passed(&levels.cancel),
            health: core && passed(&levels.health),
            semantics: core && passed(&levels.semantics),
            untested,
            flaky: self
                .results
                .iter()
                .filter(|r| r.flaky)
                .map(|r| r.id)
                .collect(),
        }
    }

    /// The certification line, e.g. `REP v0.1 core: certified + cancel (untested:
    /// REP-LIF-003 — no flow expected to fail)`.
    pub fn certification_line(&self) -> String {
        let c = self.certification();
        let mut line = self.levels_line(&c);
        if !c.flaky.is_empty() {
            line.push_str(&format!(" (flaky: {})", c.flaky.join(", ")));
        }
        line
    }

    /// The certification line without the flaky tests.
    fn levels_line(&self, c: &Certification) -> String {
        if self.aborted.is_some() {
            return "REP v0.1 core: not certified (the executor did not answer Runtime.Capabilities)"
                .into();
        }
        if !self.not_selected.is_empty() {
            return format!(
                "REP v0.1 core: not certified (partial run: {} tests not selected)",
                self.not_selected.len()
            );
        }
        if !c.core {
            let failed = self.must_failures();
            let baselined = self
                .results
                .iter()
                .filter(|r| r.level == Level::Must && !r.fails_run() && r.verdict == Verdict::Fail)
                .count();
            let excused = if baselined > 0 {
                format!(", {baselined} of them baselined")
            } else {
                String::new()
            };
            let failed = crate::checks::count(failed, "MUST test", "MUST tests");
            return format!("REP v0.1 core: not certified ({failed} failed{excused})");
        }
        let mut line = "REP v0.1 core: certified".to_owned();
        if c.cancel {
            line.push_str(" + cancel");
        }
        if c.health {
            line.push_str(" + health");
        }
        if c.semantics {
            line.push_str(" + semantics");
        }
        if !c.untested.is_empty() {
            let untested: Vec<String> = c
                .untested
                .iter()
                .map(|(id, why)| format!("{id} — {why}"))
                .collect();
            line.push_str(&format!(" (untested: {})", untested.join("; ")));
        }
        line
    }
}

/// The selected tests and the ids left out.
///
/// # Errors
/// [`Error::Glob`] for an invalid pattern; [`Error::NoMatch`] for a `--filter` or `--skip`
/// pattern that matches no id (a typo must not turn CI green); [`Error::NothingSelected`]
/// when no test is left.
pub fn select(
    filter: &[String],
    skip: &[String],
) -> Result<(Vec<&'static TestInfo>, Vec<&'static str>), Error> {
    let compile = |flag: &'static str, patterns: &[String]| -> Result<Vec<Pattern>, Error> {
        patterns
            .iter()
            .map(|p| {
                let pattern = Pattern::new(p).map_err(|e| Error::Glob {
                    pattern: p.clone(),
                    message: e.msg.to_owned(),
                })?;
                if !CATALOGUE.iter().any(|t| pattern.matches(t.id)) {
                    return Err(Error::NoMatch {
                        flag,
                        pattern: p.clone(),
                    });
                }
                Ok(pattern)
            })
            .collect()
    };
    let (filter, skip) = (compile("--filter", filter)?, compile("--skip", skip)?);
    let mut selected = Vec::new();
    let mut not_selected = Vec::new();
    for test in CATALOGUE {
        let wanted = filter.is_empty() || filter.iter().any(|p| p.matches(test.id));
        if wanted && !skip.iter().any(|p| p.matches(test.id)) {
            selected.push(test);
        } else {
            not_selected.push(test.id);
        }
    }
    if selected.is_empty() {
        return Err(Error::NothingSelected);
    }
    Ok((selected, not_selected))
}

/// What the probe learnt: the plan, or why the executor cannot be tested at all.
struct Probe {
    plan: Plan,
    /// Set when nothing came back: no answer in time, EOF, or the process exited.
    silent: Option<Failure>,
}

/// Spawns the executor once and asks for its capabilities; builds the [`Plan`]. An executor
/// that answers anything at all (even garbage) is tested further: each test reports what is
/// wrong with its answers.
async fn probe(target: &Target, fixtures: Vec<crate::flows::Flow>) -> Result<Probe, Error> {
    let mut conn =
        Connection::spawn(target, Instant::now() + PROBE_BUDGET, &Tap::none()).map_err(|f| {
            Error::Spawn {
                path: target.path.clone(),
                message: f.reason,
            }
        })?;
    let mut silent = None;
    let capabilities = match conn.call(METHOD_CAPABILITIES, json!({})).await {
        Ok(caps) => Some(caps),
        Err(failure) => {
            if conn.received().iter().all(|l| l.is_blank()) {
                silent = Some(failure);
            }
            None
        }
    };
    conn.close().await;
    let step_kinds: Vec<String> = capabilities
        .as_ref()
        .and_then(|c| c.get("step_kinds"))
        .and_then(Value::as_array)
        .map(|kinds| {
            kinds
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    let mut flows = builtin(&step_kinds);
    flows.extend(fixtures);
    Ok(Probe {
        plan: Plan {
            capabilities,
            step_kinds,
            flows,
        },
        silent,
    })
}

/// Runs the selected tests one after another, calling `on_result` after each.
///
/// # Errors
/// Usage errors: bad globs or globs matching nothing, unusable fixtures or baseline, an
/// executor that cannot be started.
pub async fn run(
    options: &Options,
    mut on_result: impl FnMut(&TestResult, usize, usize),
) -> Result<SuiteReport, Error> {
    let started_at = now_rfc3339();
    let began = Instant::now();
    let (selected, not_selected) = select(&options.filter, &options.skip)?;
    let fixtures = match &options.fixtures {
        Some(dir) => crate::fixtures::load_dir(dir)?,
        None => Vec::new(),
    };
    let baseline = match &options.baseline {
        Some(path) => Some(Baseline::load(path)?),
        None => None,
    };
    let fixtures_info = options.fixtures.as_ref().map(|dir| FixturesInfo {
        dir: dir.clone(),
        count: fixtures.len(),
        sha256: crate::identity::fixtures_sha256(&fixtures),
    });
    // Hashing the executor file (100 MB for a debug build) overlaps with the tests.
    let identify = {
        let target = options.target.clone();
        tokio::task::spawn_blocking(move || crate::identity::identify(&target))
    };
    let probe = probe(&options.target, fixtures).await?;
    let plan = probe.plan;
    let frames = FrameLog::default();
    let total = selected.len();
    let mut results = Vec::new();
    let mut aborted = None;
    if let Some(failure) = probe.silent {
        let first = selected[0];
        let failure = failure.context(format!(
            "the executor did not answer the first {METHOD_CAPABILITIES} (probe), so the suite stopped"
        ));
        let mut result = TestResult::new(first, Err(failure.clone().into()), began.elapsed());
        result.verdict = Verdict::Fail;
        on_result(&result, 1, total);
        results.push(result);
        aborted = Some(Aborted {
            reason: failure.reason,
            not_run: selected[1..].iter().map(|t| t.id).collect(),
        });
    } else {
        for (n, info) in selected.iter().enumerate() {
            let mut result = run_one(info, options, &plan, &frames).await;
            // --repeat: a failing test runs again, alone, until it passes or N more runs failed.
            let mut earlier = Vec::new();
            while result.is_failing() && earlier.len() < options.repeat as usize {
                let again = run_one(info, options, &plan, &frames).await;
                earlier.push(std::mem::replace(&mut result, again));
            }
            let mut result = result.after(earlier);
            if options.strict {
                result.apply_strict();
            }
            if let Some(reason) = baseline.as_ref().and_then(|b| b.reason(info.id)) {
                result.apply_baseline(reason);
            }
            on_result(&result, n + 1, total);
            results.push(result);
        }
    }
    let identity = match identify.await {
        Ok(identity) => identity,
        Err(_) => crate::identity::identify(&options.target),
    };
    Ok(SuiteReport {
        target: options.target.clone(),
        capabilities: plan.capabilities.map(Value::Object),
        started_at,
        duration: began.elapsed(),
        results,
        not_selected,
        aborted,
        strict: options.strict,
        baseline: options.baseline.clone(),
        identity,
        fixtures: fixtures_info,
        selection: Selection {
            filter: options.filter.clone(),
            skip: options.skip.clone(),
            timeout: options.timeout,
            repeat: options.repeat,
        },
    })
}

/// Runs one test within its budget (plus a second for its own clean-up).
async fn run_one(
    info: &'static TestInfo,
    options: &Options,
    plan: &Plan,
    frames: &FrameLog,
) -> TestResult {
    let budget = options.timeout.unwrap_or(info.timeout);
    let start = Instant::now();
    let recording = options
        .record
        .as_deref()
        .map(|dir| TestRecording::new(dir, info.id));
    let ctx = Ctx {
        target: &options.target,
        plan,
        deadline: start + budget,
        recording: recording.as_ref(),
        test: info.id,
        frames,
    };
    let check = match tokio::time::timeout(budget + Duration::from_secs(1), (info.body)(&ctx)).await
    {
        Ok(check) => check,
        Err(_) => Err(Failure::new(format!("timed out after {} s", budget.as_secs())).into()),
    };
    let elapsed = start.elapsed();
    if let Some(recording) = &recording {
        recording.finish();
    }
    TestResult::new(info, check, elapsed)
}

/// Now, RFC 3339 UTC.
pub fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_and_skip_select_by_glob() {
        let (selected, not_selected) = select(&["REP-CAN-*".into()], &["*-003".into()]).unwrap();
        let ids: Vec<&str> = selected.iter().map(|t| t.id).collect();
        assert_eq!(ids, ["REP-CAN-001", "REP-CAN-002"]);
        assert_eq!(not_selected.len(), CATALOGUE.len() - 2);
        assert!(matches!(
            select(&["[".into()], &[]),
            Err(Error::Glob { .. })
        ));
    }

    #[test]
    fn a_pattern_matching_nothing_and_an_empty_selection_are_usage_errors() {
        assert!(matches!(
            select(&["REP-NOPE-*".into()], &[]),
            Err(Error::NoMatch {
                flag: "--filter",
                ..
            })
        ));
        assert!(matches!(
            select(&["REP-CAN-*".into(), "REP-CAM-*".into()], &[]),
            Err(Error::NoMatch { .. })
        ));
        assert!(matches!(
            select(&[], &["REP-NOPE-*".into()]),
            Err(Error::NoMatch { flag: "--skip", .. })
        ));
        assert!(matches!(
            select(&["REP-CAN-*".into()], &["REP-CAN-*".into()]),
            Err(Error::NothingSelected)
        ));
    }
}

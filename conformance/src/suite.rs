//! Running the suite: select tests, probe the executor, run each test on fresh processes
//! within its time budget, collect verdicts.

use std::path::PathBuf;
use std::time::Duration;

use glob::Pattern;
use serde_json::{Value, json};
use tokio::time::Instant;

use crate::catalogue::{CATALOGUE, Level, TestInfo};
use crate::checks::{Ctx, Plan, run_body};
use crate::conn::{Connection, Target};
use crate::error::Error;
use crate::flows::builtin;
use crate::verdict::{Failure, TestResult, Verdict};

/// Time budget of the probe (spawn + Capabilities) before the tests.
const PROBE_BUDGET: Duration = Duration::from_secs(10);

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
    /// One result per selected test, in catalogue order.
    pub results: Vec<TestResult>,
    /// Ids not selected by `--filter` / `--skip`.
    pub not_run: Vec<&'static str>,
}

/// What the run certifies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Certification {
    /// Every MUST test passed and none was filtered out.
    pub core: bool,
    /// `core`, and every REP-CAN-* test passed.
    pub cancel: bool,
    /// `core`, and REP-HLT-001 passed (not skipped).
    pub health: bool,
}

impl SuiteReport {
    /// Results with `verdict` at `level`.
    pub fn count(&self, level: Level, verdict: Verdict) -> usize {
        self.results
            .iter()
            .filter(|r| r.level == level && r.verdict == verdict)
            .count()
    }

    /// Whether every selected MUST test passed (exit code 0).
    pub fn musts_pass(&self) -> bool {
        self.count(Level::Must, Verdict::Fail) == 0
    }

    /// The levels reached.
    pub fn certification(&self) -> Certification {
        let full = self.not_run.is_empty();
        let core = full && self.musts_pass();
        let passed = |prefix: &str| {
            let mut tests = self
                .results
                .iter()
                .filter(|r| r.id.starts_with(prefix))
                .peekable();
            tests.peek().is_some() && tests.all(|r| r.verdict == Verdict::Pass)
        };
        Certification {
            core,
            cancel: core && passed("REP-CAN-"),
            health: core && passed("REP-HLT-"),
        }
    }

    /// The certification line, e.g. `REP v0.1 core: certified + cancel + health`.
    pub fn certification_line(&self) -> String {
        let c = self.certification();
        if !self.not_run.is_empty() {
            return format!(
                "REP v0.1 core: not certified (partial run: {} tests not selected)",
                self.not_run.len()
            );
        }
        if !c.core {
            return format!(
                "REP v0.1 core: not certified ({} MUST tests failed)",
                self.count(Level::Must, Verdict::Fail)
            );
        }
        let mut line = "REP v0.1 core: certified".to_owned();
        if c.cancel {
            line.push_str(" + cancel");
        }
        if c.health {
            line.push_str(" + health");
        }
        line
    }
}

/// The selected tests and the ids left out.
///
/// # Errors
/// [`Error::Glob`] for an invalid pattern.
pub fn select(
    filter: &[String],
    skip: &[String],
) -> Result<(Vec<&'static TestInfo>, Vec<&'static str>), Error> {
    let compile = |patterns: &[String]| -> Result<Vec<Pattern>, Error> {
        patterns
            .iter()
            .map(|p| {
                Pattern::new(p).map_err(|e| Error::Glob {
                    pattern: p.clone(),
                    message: e.msg.to_owned(),
                })
            })
            .collect()
    };
    let (filter, skip) = (compile(filter)?, compile(skip)?);
    let mut selected = Vec::new();
    let mut not_run = Vec::new();
    for test in CATALOGUE {
        let wanted = filter.is_empty() || filter.iter().any(|p| p.matches(test.id));
        if wanted && !skip.iter().any(|p| p.matches(test.id)) {
            selected.push(test);
        } else {
            not_run.push(test.id);
        }
    }
    Ok((selected, not_run))
}

/// Spawns the executor once and asks for its capabilities; builds the [`Plan`].
async fn probe(target: &Target, fixtures: Vec<crate::flows::Flow>) -> Result<Plan, Error> {
    let mut conn =
        Connection::spawn(target, Instant::now() + PROBE_BUDGET).map_err(|f| Error::Spawn {
            path: target.path.clone(),
            message: f.reason,
        })?;
    let capabilities = conn.call("Runtime.Capabilities", json!({})).await.ok();
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
    Ok(Plan {
        capabilities,
        step_kinds,
        flows,
    })
}

/// Runs the selected tests one after another, calling `on_result` after each.
///
/// # Errors
/// Usage errors: bad globs, unusable fixtures, an executor that cannot be started.
pub async fn run(
    options: &Options,
    mut on_result: impl FnMut(&TestResult),
) -> Result<SuiteReport, Error> {
    let started_at = now_rfc3339();
    let began = Instant::now();
    let (selected, not_run) = select(&options.filter, &options.skip)?;
    let fixtures = match &options.fixtures {
        Some(dir) => crate::fixtures::load_dir(dir)?,
        None => Vec::new(),
    };
    let plan = probe(&options.target, fixtures).await?;
    let mut results = Vec::new();
    for info in selected {
        let budget = options.timeout.unwrap_or(info.timeout);
        let start = Instant::now();
        let ctx = Ctx {
            target: &options.target,
            plan: &plan,
            deadline: start + budget,
        };
        let check =
            match tokio::time::timeout(budget + Duration::from_secs(1), run_body(info.id, &ctx))
                .await
            {
                Ok(Some(check)) => check,
                Ok(None) => Err(Failure::new(
                    "the suite has no body for this test (a bug of rep-conformance)",
                )),
                Err(_) => Err(Failure::new(format!(
                    "timed out after {} s",
                    budget.as_secs()
                ))),
            };
        let result = TestResult::new(info, check, start.elapsed());
        on_result(&result);
        results.push(result);
    }
    Ok(SuiteReport {
        target: options.target.clone(),
        capabilities: plan.capabilities.map(Value::Object),
        started_at,
        duration: began.elapsed(),
        results,
        not_run,
    })
}

fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_and_skip_select_by_glob() {
        let (selected, not_run) = select(&["REP-CAN-*".into()], &["*-003".into()]).unwrap();
        let ids: Vec<&str> = selected.iter().map(|t| t.id).collect();
        assert_eq!(ids, ["REP-CAN-001", "REP-CAN-002"]);
        assert_eq!(not_run.len(), CATALOGUE.len() - 2);
        assert!(matches!(
            select(&["[".into()], &[]),
            Err(Error::Glob { .. })
        ));
    }
}

//! `rep-conformance fuzz`: generated differential testing of flow semantics. Each case is a
//! random graph over `rep.probe`, `switch`, `finish` and `dsl.emit` ([`generate`]), run on a
//! fresh executor process and compared with the reference model
//! ([`crate::semantics::model`]): final status, every step's outcome and number of attempts,
//! `summary.outputs`, and the rules every run obeys (event order, `limits.concurrency`,
//! backoff). The first case that differs is shrunk ([`shrink`]) and written out with its
//! transcript, the seed and a one-line reproduction command.
//!
//! Deterministic for a seed: the cases depend on nothing else, and the model asserts only what
//! no schedule can change (see the model's "Timing" rules), so a correct executor passes on a
//! loaded machine as on an idle one.

pub mod cli;
pub mod generate;
pub mod shrink;

use std::path::{Path, PathBuf};
use std::time::Duration;

use futures_util::StreamExt;
use rep_host::{OUTPUT_STALL, Recorder, Tap};
use rep_spec::{Header, METHOD_CAPABILITIES, REP_VERSION, TRANSCRIPT_FORMAT};
use serde_json::{Map, Value, json};
use tokio::time::Instant;

use crate::conn::{Connection, Target};
use crate::semantics::case::{Case, PROBE};
use crate::semantics::compare::Difference;
use crate::semantics::exec::{execute, judge};
use crate::semantics::model::{Expected, Indeterminate, expect};
use crate::semantics::observe::Aspect;
use generate::{Settings, generate};
use shrink::{Budget, Shrunk, shrink};

/// The longest one case may run (StartRun to its final status), Cancel included.
pub const CASE_BUDGET: Duration = Duration::from_secs(30);

/// How many executor runs shrinking may take.
pub const SHRINK_RUNS: usize = 400;

/// What the executor told the probe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecutorInfo {
    /// `step_kinds`.
    pub step_kinds: Vec<String>,
    /// `limits.concurrency`, when an integer.
    pub concurrency: Option<u64>,
}

/// Why fuzzing could not start.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct FuzzError(pub String);

/// Starts the executor once and asks `Runtime.Capabilities`.
///
/// # Errors
/// The executor cannot be started, does not answer, or does not advertise `rep.probe`.
pub async fn probe(target: &Target) -> Result<ExecutorInfo, FuzzError> {
    let mut conn = Connection::spawn(
        target,
        Instant::now() + Duration::from_secs(10),
        &Tap::none(),
    )
    .map_err(|f| FuzzError(f.reason))?;
    let caps = conn.call(METHOD_CAPABILITIES, json!({})).await;
    conn.close().await;
    let caps = caps.map_err(|f| FuzzError(format!("the executor did not answer: {}", f.reason)))?;
    let step_kinds: Vec<String> = caps
        .get("step_kinds")
        .and_then(Value::as_array)
        .map(|k| {
            k.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    if !step_kinds.iter().any(|k| k == PROBE) {
        return Err(FuzzError(format!(
            "the executor does not advertise {PROBE} (step_kinds {step_kinds:?}): fuzzing needs the probe step kind of docs/protocol.md, \"Conformance extension\""
        )));
    }
    let concurrency = caps
        .get("limits")
        .and_then(|l| l.get("concurrency"))
        .and_then(Value::as_u64);
    Ok(ExecutorInfo {
        step_kinds,
        concurrency,
    })
}

/// Runs `case` on a fresh process of `target` and compares it with `expected`; the
/// differences (none: the executor agrees with the model). `recorder` records the session.
pub async fn run_case(
    target: &Target,
    case: &Case,
    expected: &Expected,
    info: &ExecutorInfo,
    tap: &Tap,
) -> Vec<Difference> {
    let deadline = Instant::now() + CASE_BUDGET;
    let mut conn = match Connection::spawn(target, deadline, tap) {
        Ok(conn) => conn,
        Err(failure) => return vec![Difference::new(Aspect::Transport, failure.reason)],
    };
    let execution = execute(&mut conn, case, &format!("fuzz-{}", case.name)).await;
    conn.close().await;
    judge(case, expected, &execution, info.concurrency).1
}

/// What to fuzz.
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    /// The executor.
    pub target: Target,
    /// The seed of the run.
    pub seed: u64,
    /// How many cases.
    pub cases: u64,
    /// The largest graph, in nodes.
    pub max_nodes: usize,
    /// Stop starting cases after this long.
    pub time: Option<Duration>,
    /// Cases running at once (each on its own executor process), ≥ 1.
    pub jobs: usize,
}

/// A case that differs from the model.
#[derive(Debug, Clone, PartialEq)]
pub struct Found {
    /// The case's index in the run.
    pub index: u64,
    /// The case as generated.
    pub original: Case,
    /// Its differences.
    pub original_differences: Vec<Difference>,
    /// The shrunk case and how shrinking went.
    pub shrunk: Shrunk,
    /// The shrunk case's differences (its last failing run).
    pub differences: Vec<Difference>,
    /// What the model expects of the shrunk case.
    pub expected: Expected,
}

/// How a fuzzing run went.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// Cases run.
    pub cases: u64,
    /// Wall time.
    pub elapsed: Duration,
    /// The first case that differed, shrunk.
    pub found: Option<Found>,
}

/// Runs the cases of `options` until one differs (then shrinks it), the count is reached or
/// the time is up. `progress(done, elapsed)` is called after every case.
///
/// # Errors
/// The executor cannot be fuzzed (see [`probe`]).
pub async fn fuzz(
    options: &Options,
    mut progress: impl FnMut(u64, Duration),
) -> Result<(ExecutorInfo, Report), FuzzError> {
    let info = probe(&options.target).await?;
    let settings = Settings::for_kinds(options.max_nodes, &info.step_kinds);
    let began = Instant::now();
    // Cases run `jobs` at a time but are judged in index order, so the difference reported is
    // the first one of the seed whatever the number of jobs.
    let mut results = futures_util::stream::iter(0..options.cases)
        .take_while(|_| std::future::ready(options.time.is_none_or(|t| began.elapsed() < t)))
        .map(|index| {
            let (info, settings) = (&info, &settings);
            async move {
                let case = generate(options.seed, index, settings);
                let expected = expect(&case).map_err(|Indeterminate(why)| {
                    FuzzError(format!(
                        "case {index} of seed {}: the generator made a case whose outcome depends on timing ({why}); please report this",
                        options.seed
                    ))
                })?;
                let differences = run_case(&options.target, &case, &expected, info, &Tap::none()).await;
                Ok::<_, FuzzError>((index, case, differences))
            }
        })
        .buffered(options.jobs.max(1));
    let mut done = 0;
    while let Some(result) = results.next().await {
        let (index, case, differences) = result?;
        done += 1;
        progress(done, began.elapsed());
        if !differences.is_empty() {
            drop(results);
            let found = shrink_found(options, &info, index, case, differences).await;
            return Ok((
                info,
                Report {
                    cases: done,
                    elapsed: began.elapsed(),
                    found: Some(found),
                },
            ));
        }
    }
    drop(results);
    Ok((
        info,
        Report {
            cases: done,
            elapsed: began.elapsed(),
            found: None,
        },
    ))
}

async fn shrink_found(
    options: &Options,
    info: &ExecutorInfo,
    index: u64,
    original: Case,
    original_differences: Vec<Difference>,
) -> Found {
    let target = &options.target;
    let shrunk = shrink(
        original.clone(),
        |variant: Case| async move {
            match expect(&variant) {
                Ok(expected) => !run_case(target, &variant, &expected, info, &Tap::none())
                    .await
                    .is_empty(),
                Err(_) => false,
            }
        },
        Budget { runs: SHRINK_RUNS },
    )
    .await;
    let expected = expect(&shrunk.case).unwrap_or_else(|_| unreachable_expected());
    let differences = if shrunk.steps == 0 {
        original_differences.clone()
    } else {
        run_case(target, &shrunk.case, &expected, info, &Tap::none()).await
    };
    Found {
        index,
        original,
        original_differences,
        shrunk,
        differences,
        expected,
    }
}

/// Shrinking keeps only admissible cases, so the shrunk case always has an expectation; this
/// stands in should that ever break (the report then shows an empty expectation).
fn unreachable_expected() -> Expected {
    Expected {
        status: crate::semantics::model::Status::Completed,
        steps: Default::default(),
        outputs: Map::new(),
        ended_by: crate::semantics::model::EndedBy::Completion,
    }
}

/// The files of a found difference, in `dir` (created): `case.json` (the shrunk case, its
/// seed, index, differences and the reproduction command), `minimal.ir.json` (its IR alone),
/// `original.json` (the case as generated) and `transcript.jsonl` (a recorded run of the
/// shrunk case). Returns the differences of that recorded run (normally the same).
///
/// # Errors
/// A file that cannot be written, naming it.
pub async fn write_found(
    dir: &Path,
    options: &Options,
    info: &ExecutorInfo,
    found: &Found,
    reproduce: &str,
) -> Result<Vec<Difference>, FuzzError> {
    let error = |path: &Path, e: &dyn std::fmt::Display| {
        FuzzError(format!("cannot write {}: {e}", path.display()))
    };
    std::fs::create_dir_all(dir).map_err(|e| error(dir, &e))?;
    let transcript = dir.join("transcript.jsonl");
    let header = Header {
        format: TRANSCRIPT_FORMAT.to_owned(),
        tool: "rep-conformance".to_owned(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
        rep_version: REP_VERSION.to_owned(),
        executor: options.target.command_line(),
        flow: Some(found.shrunk.case.name.clone()),
        test: None,
        started_at: crate::suite::now_rfc3339(),
    };
    let recorder = Recorder::create(&transcript, &header).map_err(|e| error(&transcript, &e))?;
    let recorded = run_case(
        &options.target,
        &found.shrunk.case,
        &found.expected,
        info,
        &Tap::from(recorder.clone()),
    )
    .await;
    // The case's processes are gone: their exit statuses are recorded.
    recorder
        .finish(OUTPUT_STALL)
        .map_err(|e| error(&transcript, &e))?;
    let mut extra = Map::new();
    extra.insert("seed".into(), json!(options.seed));
    extra.insert("case".into(), json!(found.index));
    extra.insert(
        "differences".into(),
        json!(recorded.iter().map(ToString::to_string).collect::<Vec<_>>()),
    );
    extra.insert("expected".into(), expected_json(&found.expected));
    extra.insert("reproduce".into(), json!(reproduce));
    let files: [(PathBuf, Value); 3] = [
        (dir.join("case.json"), found.shrunk.case.to_file(extra)),
        (dir.join("minimal.ir.json"), found.shrunk.case.ir()),
        (
            dir.join("original.json"),
            found.original.to_file(
                [
                    ("seed".to_owned(), json!(options.seed)),
                    ("case".to_owned(), json!(found.index)),
                ]
                .into_iter()
                .collect(),
            ),
        ),
    ];
    for (path, value) in files {
        let text = serde_json::to_string_pretty(&value).unwrap_or_default() + "\n";
        rep_files::write_atomic(&path, text.as_bytes()).map_err(|e| error(&path, &e))?;
    }
    Ok(recorded)
}

/// The model's expectation as JSON: `{status, ended_by, steps: {id: outcome}, outputs}`.
pub fn expected_json(expected: &Expected) -> Value {
    let steps: Map<String, Value> = expected
        .steps
        .iter()
        .map(|(id, outcome)| (id.clone(), json!(outcome.to_string())))
        .collect();
    json!({
        "status": expected.status.as_str(),
        "ended_by": expected.ended_by.to_string(),
        "steps": steps,
        "outputs": expected.outputs,
    })
}

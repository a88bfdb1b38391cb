//! `tm verify online --cases DIR`: every case under DIR run on its own executor process
//! (at most `--jobs` at once, with `rep_host::run`), compared with its `expect`, reported
//! one line per case in case order, then a summary.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

use flow_ir::{LoadedFlow, Manifest};
use futures_util::StreamExt;
use rep_host::{
    Cause, ExecutorCommand, Interrupt, InterruptSender, Interrupts, RunError, RunRequest, Tap, run,
    sweep_orphans,
};
use rep_spec::ExitCode;

use super::args::{GlobalArgs, OnlineArgs};
use super::cases::{Case, CaseError, differences, load_cases};
use super::error::Failure;
use super::note;
use super::output::{Undelivered, deliver};
use super::run::{
    ORPHAN_KILL_WAIT, Target, check_inputs, load_config, manifest_path, resolve, start_runtime,
};

/// How one case ended.
#[derive(Debug)]
pub enum Verdict {
    /// The run gave what the case expects.
    Passed,
    /// The run differs from `expect`: one line per difference.
    Failed(Vec<String>),
    /// The run broke on the executor's side (a Validation or RuntimeInternal error: exit 3
    /// or 4), whatever the case expects.
    Broken(RunError),
    /// An interrupt cancelled the run.
    Interrupted,
    /// Not started: an interrupt came first.
    NotRun,
}

/// One case's result.
#[derive(Debug)]
pub struct CaseRun {
    /// How it ended.
    pub verdict: Verdict,
}

/// The counts of a contract check.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Tally {
    /// Cases run.
    pub total: usize,
    /// Cases that passed.
    pub passed: usize,
    /// Cases whose run differs from `expect`.
    pub failed: usize,
    /// Cases whose run broke on the executor's side.
    pub broken: usize,
    /// Cases cancelled or never started after an interrupt.
    pub not_finished: usize,
}

/// Runs the cases of `dir` (those of `args.flows`, when given) against `target`'s manifest.
pub fn verify_cases(
    global: &GlobalArgs,
    args: &OnlineArgs,
    dir: &Path,
    target: Target<'_>,
) -> Result<(), Failure> {
    // Everything that can be checked without an executor comes first: exit 2 here.
    let config = load_config(global)?;
    let mut cases = load_cases(dir).map_err(Failure::Cases)?;
    if !args.flows.is_empty() {
        cases.retain(|case| args.flows.contains(&case.flow));
        if cases.is_empty() {
            return Err(Failure::Cases(vec![CaseError::whole(
                dir,
                format!("no case runs flow {}", args.flows.join(" or ")),
            )]));
        }
    }
    let (runtime, mut interrupts) = start_runtime()?;
    let manifest_path = manifest_path(
        &target,
        &config,
        args.flow.timeout,
        &runtime,
        &mut interrupts,
    )?;
    let manifest = Manifest::load(&manifest_path).map_err(Failure::Manifest)?;
    let flows = load_flows(&manifest, &cases, !args.flow.no_input_check)?;
    let executor = ExecutorCommand::from(resolve(global, &config)?);
    let jobs = args.jobs.map_or_else(default_jobs, |n| n.get());
    let plan = Plan {
        flows: &flows,
        executor: &executor,
        default_timeout: args.flow.timeout,
        max_frame_bytes: global.max_frame_bytes,
    };
    let (runs, stopped) = runtime.block_on(run_all(&plan, &cases, jobs, &mut interrupts));
    sweep_orphans(ORPHAN_KILL_WAIT);
    let (report, tally) = render_report(&cases, &runs);
    let mut result = verdict_of(&runs, tally, stopped);
    match deliver(
        &runtime,
        &mut interrupts,
        report.into_bytes(),
        rep_host::OUTPUT_STALL,
    ) {
        Ok(()) => {}
        Err(Undelivered::Interrupted(interrupt)) if result.is_ok() => {
            result = Err(Failure::Interrupted { interrupt });
        }
        Err(Undelivered::Interrupted(_)) => {}
        Err(Undelivered::Stalled) => note(
            "error: the reader of stdout took nothing after the signal: the report was not delivered",
        ),
        Err(Undelivered::Failed(lost)) => {
            if result.is_ok() {
                result = Err(lost);
            } else {
                rep_host::stderr_sink().error(&lost);
            }
        }
    }
    runtime.shutdown_background();
    result
}

/// One CPU each, as many as there are.
fn default_jobs() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Each flow the cases run, loaded and valid once; the cases' inputs checked against its
/// `inputs_schema` when `check` (every problem names its case file).
fn load_flows(
    manifest: &Manifest,
    cases: &[Case],
    check: bool,
) -> Result<BTreeMap<String, LoadedFlow>, Failure> {
    let mut flows = BTreeMap::new();
    let mut problems = Vec::new();
    for case in cases {
        if !flows.contains_key(&case.flow) {
            match manifest.load_flow(&case.flow) {
                Ok(loaded) => {
                    for warning in &loaded.warnings {
                        tracing::warn!("{warning}");
                    }
                    flows.insert(case.flow.clone(), loaded);
                }
                Err(flow_ir::ManifestError::UnknownFlow { .. }) => {
                    problems.push(CaseError {
                        path: case.path.clone(),
                        pointer: "/flow".to_owned(),
                        message: format!("the manifest has no flow {:?}", case.flow),
                    });
                    continue;
                }
                Err(error) => return Err(Failure::Manifest(error)),
            }
        }
        if check
            && let Some(loaded) = flows.get(&case.flow)
            && let Err(Failure::InputsMismatch {
                problems: found, ..
            }) = check_inputs(&case.flow, loaded, &case.inputs)
        {
            for problem in found.problems {
                problems.push(CaseError {
                    path: case.path.clone(),
                    pointer: format!("/inputs{}", problem.pointer),
                    message: format!(
                        "input {} ({}): {}",
                        problem.name, problem.declared, problem.message
                    ),
                });
            }
        }
    }
    if problems.is_empty() {
        Ok(flows)
    } else {
        Err(Failure::Cases(problems))
    }
}

/// What every run shares.
struct Plan<'a> {
    flows: &'a BTreeMap<String, LoadedFlow>,
    executor: &'a ExecutorCommand,
    default_timeout: f64,
    max_frame_bytes: usize,
}

/// Runs `cases`, at most `jobs` at once, and returns their results in case order. An
/// interrupt is passed to every run going on (a second one kills their executors at once)
/// and no case starts after it; the first interrupt is returned.
async fn run_all(
    plan: &Plan<'_>,
    cases: &[Case],
    jobs: usize,
    interrupts: &mut Interrupts,
) -> (Vec<CaseRun>, Option<Interrupt>) {
    let stopped: Cell<Option<Interrupt>> = Cell::new(None);
    let senders: RefCell<Vec<InterruptSender>> = RefCell::new(Vec::new());
    let mut runs = futures_util::stream::iter(
        cases
            .iter()
            .map(|case| run_case(plan, case, &stopped, &senders)),
    )
    .buffered(jobs.max(1));
    let mut results = Vec::with_capacity(cases.len());
    loop {
        tokio::select! {
            next = runs.next() => match next {
                Some(result) => results.push(result),
                None => break,
            },
            interrupt = interrupts.next() => {
                stopped.set(Some(stopped.get().unwrap_or(interrupt)));
                for sender in senders.borrow().iter() {
                    sender.send(interrupt);
                }
            }
        }
    }
    drop(runs);
    (results, stopped.get())
}

/// Runs one case on a fresh executor, unless an interrupt came first.
async fn run_case(
    plan: &Plan<'_>,
    case: &Case,
    stopped: &Cell<Option<Interrupt>>,
    senders: &RefCell<Vec<InterruptSender>>,
) -> CaseRun {
    let Some(loaded) = plan.flows.get(&case.flow) else {
        // load_flows loaded every flow a case names.
        return not_run();
    };
    if stopped.get().is_some() {
        return not_run();
    }
    let (sender, mut interrupts) = Interrupts::channel();
    senders.borrow_mut().push(sender);
    let request = RunRequest {
        required_step_kinds: loaded.ir.required_step_kinds(),
        ir: loaded.document.clone(),
        inputs: case.inputs.clone(),
        executor: plan.executor.clone(),
        engine_timeout: Duration::from_secs_f64(case.timeout.unwrap_or(plan.default_timeout)),
        max_frame_bytes: plan.max_frame_bytes,
        allow_shell: false,
        log_json: false,
        tap: Tap::none(),
    };
    let outcome = run(request, &mut [], &mut interrupts).await;
    let verdict = match &outcome.error {
        Some(error) if error.cause.is_some_and(Cause::is_interrupt) => Verdict::Interrupted,
        Some(error) if error.exit_code() != ExitCode::RunFailed => Verdict::Broken(error.clone()),
        _ => match differences(&case.expect, &outcome) {
            found if found.is_empty() => Verdict::Passed,
            found => Verdict::Failed(found),
        },
    };
    CaseRun { verdict }
}

fn not_run() -> CaseRun {
    CaseRun {
        verdict: Verdict::NotRun,
    }
}

/// The report on stdout: one line per case, in case order, then the summary line.
pub fn render_report(cases: &[Case], runs: &[CaseRun]) -> (String, Tally) {
    let mut text = String::new();
    let mut tally = Tally {
        total: cases.len(),
        ..Tally::default()
    };
    for (case, result) in cases.iter().zip(runs) {
        let (label, detail) = match &result.verdict {
            Verdict::Passed => {
                tally.passed += 1;
                ("PASS", String::new())
            }
            Verdict::Failed(found) => {
                tally.failed += 1;
                ("FAIL", found.join("; "))
            }
            Verdict::Broken(error) => {
                tally.broken += 1;
                (
                    "ERROR",
                    format!("exit {}: {}", error.exit_code().code(), error.message),
                )
            }
            Verdict::Interrupted => {
                tally.not_finished += 1;
                ("CANCEL", "cancelled by an interrupt".to_owned())
            }
            Verdict::NotRun => {
                tally.not_finished += 1;
                ("SKIP", "not run: interrupted".to_owned())
            }
        };
        let _ = write!(text, "{label:<6} {} [{}]", case.name, case.flow);
        if !detail.is_empty() {
            let _ = write!(text, ": {detail}");
        }
        text.push('\n');
    }
    let _ = write!(
        text,
        "{} {}: {} passed, {} failed, {} broken",
        tally.total,
        if tally.total == 1 { "case" } else { "cases" },
        tally.passed,
        tally.failed,
        tally.broken
    );
    if tally.not_finished > 0 {
        let _ = write!(text, ", {} not finished", tally.not_finished);
    }
    text.push('\n');
    (text, tally)
}

/// The command's result: an interrupt's, else the first broken case's (3 or 4), else 1
/// when a case failed, else success.
fn verdict_of(runs: &[CaseRun], tally: Tally, stopped: Option<Interrupt>) -> Result<(), Failure> {
    if let Some(interrupt) = stopped {
        return Err(Failure::CasesInterrupted { interrupt, tally });
    }
    let broken = runs.iter().find_map(|run| match &run.verdict {
        Verdict::Broken(error) => Some(error.exit_code()),
        _ => None,
    });
    match broken {
        Some(exit) => Err(Failure::CasesFailed { tally, exit }),
        None if tally.failed > 0 => Err(Failure::CasesFailed {
            tally,
            exit: ExitCode::RunFailed,
        }),
        None => Ok(()),
    }
}

//! `tm verify online --cases DIR`: every case under DIR run on its own executor process
//! (at most `--jobs` at once, with `rep_host::run`), compared with its `expect`, reported
//! one line per case in case order, then a summary.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::IsTerminal;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use flow_ir::{LoadedFlow, Manifest};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rep_host::otel::{RunSpans, SpanExport, TraceContext};
use rep_host::{
    Cause, ExecutorCommand, Interrupt, InterruptSender, Interrupts, Outcome, RunError, RunRequest,
    Tap, run, sweep_orphans,
};
use rep_spec::ExitCode;

use super::args::{GlobalArgs, OnlineArgs};
use super::cases::{Case, CaseError, differences, load_cases};
use super::contract_report::Reports;
use super::error::Failure;
use super::note;
use super::output::{Undelivered, deliver};
use super::run::{
    ORPHAN_KILL_WAIT, Target, check_inputs, load_config, manifest_path, open_span_export, resolve,
    start_runtime,
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
    /// The run, when it was started.
    pub outcome: Option<Outcome>,
    /// How long the run took (zero when not run).
    pub duration: Duration,
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

impl Tally {
    /// Counts one case's verdict.
    fn count(&mut self, verdict: &Verdict) {
        self.total += 1;
        match verdict {
            Verdict::Passed => self.passed += 1,
            Verdict::Failed(_) => self.failed += 1,
            Verdict::Broken(_) => self.broken += 1,
            Verdict::Interrupted | Verdict::NotRun => self.not_finished += 1,
        }
    }

    /// `3 passed, 6 failed, 3 broken` (`, 2 not finished` after an interrupt).
    fn counts(&self) -> String {
        let mut text = format!(
            "{} passed, {} failed, {} broken",
            self.passed, self.failed, self.broken
        );
        if self.not_finished > 0 {
            let _ = write!(text, ", {} not finished", self.not_finished);
        }
        text
    }
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
    if let Some(partition) = args.partition {
        let mut index = 0;
        cases.retain(|case| {
            index += 1;
            partition.contains(index - 1, &case.name)
        });
        tracing::info!(
            "--partition {partition}: {} cases in this share",
            cases.len()
        );
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
    let (trace, warning) = TraceContext::from_env();
    if let Some(warning) = warning {
        tracing::warn!("{warning}");
    }
    let spans = open_span_export(args.flow.trace_out.as_deref())?;
    let plan = Plan {
        trace: &trace,
        spans: spans.as_ref(),
        flows: &flows,
        executor: &executor,
        default_timeout: args.flow.timeout,
        max_frame_bytes: global.max_frame_bytes,
    };
    let progress = (!global.quiet).then(|| progress_bar(cases.len())).flatten();
    let (runs, stopped) = run_all(
        &plan,
        &cases,
        jobs,
        (&runtime, &mut interrupts),
        progress.as_ref(),
    );
    if let Some(bar) = &progress {
        bar.finish_and_clear();
    }
    sweep_orphans(ORPHAN_KILL_WAIT);
    if let Some(warning) = spans.and_then(|spans| spans.finish(rep_host::OUTPUT_STALL)) {
        tracing::warn!("{warning}");
    }
    let (report, tally) = render_report(&cases, &runs);
    let mut result = verdict_of(&runs, tally, stopped);
    let files = Reports {
        junit: args.junit.as_deref(),
        json: args.json.as_deref(),
    };
    if let Err(failure) = files.write(&cases, &runs, tally, &manifest_path, exit_of(&result)) {
        if result.is_ok() {
            result = Err(failure);
        } else {
            rep_host::stderr_sink().error(&failure);
        }
    }
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

/// The exit code `result` gives (the one mapping of cli/error.rs).
fn exit_of(result: &Result<(), Failure>) -> u8 {
    super::error::exit_code(result).code()
}

/// A progress bar of `cases` cases on stderr, when it is a terminal.
fn progress_bar(cases: usize) -> Option<ProgressBar> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    // Warnings so far go out before the bar is drawn.
    rep_host::stderr_sink().flush(Duration::from_millis(200));
    let bar = ProgressBar::with_draw_target(Some(cases as u64), ProgressDrawTarget::stderr());
    let style = ProgressStyle::with_template("{spinner} [{elapsed}] case {pos}/{len} {msg}")
        .unwrap_or_else(|_| ProgressStyle::default_spinner());
    bar.set_style(style);
    bar.enable_steady_tick(Duration::from_millis(120));
    Some(bar)
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
    /// The trace each run continues (a new run span each).
    trace: &'a TraceContext,
    /// Where the runs' spans go, if anywhere.
    spans: Option<&'a SpanExport>,
}

/// Whether an interrupt came, and who to pass it to: the runs going on.
#[derive(Default)]
struct Stop {
    interrupt: Option<Interrupt>,
    senders: Vec<InterruptSender>,
}

/// Runs `cases`, at most `jobs` at once, and returns their results in case order. Each of
/// the `jobs` runs goes on a worker thread of its own (a current-thread runtime each), so
/// that what `tm` does for one run — starting its executor, reading its frames — never
/// waits for another's. An interrupt (on `runtime`, the main thread's) is passed to every
/// run going on (a second one kills their executors at once) and no case starts after it;
/// the first interrupt is returned.
fn run_all(
    plan: &Plan<'_>,
    cases: &[Case],
    jobs: usize,
    (runtime, interrupts): (&tokio::runtime::Runtime, &mut Interrupts),
    progress: Option<&ProgressBar>,
) -> (Vec<CaseRun>, Option<Interrupt>) {
    let stop = Mutex::new(Stop::default());
    let next = AtomicUsize::new(0);
    let (done, mut finished) = tokio::sync::mpsc::unbounded_channel::<(usize, CaseRun)>();
    let mut results: Vec<Option<CaseRun>> = cases.iter().map(|_| None).collect();
    std::thread::scope(|scope| {
        for worker in 0..jobs.clamp(1, cases.len().max(1)) {
            let (stop, next, done) = (&stop, &next, done.clone());
            let started = std::thread::Builder::new()
                .name(format!("case-runner-{worker}"))
                .spawn_scoped(scope, move || {
                    let runtime = match tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                    {
                        Ok(runtime) => runtime,
                        Err(error) => {
                            tracing::warn!("a case runner could not start: {error}");
                            return;
                        }
                    };
                    runtime.block_on(async {
                        loop {
                            let index = next.fetch_add(1, Ordering::Relaxed);
                            let Some(case) = cases.get(index) else { break };
                            let result = run_case(plan, case, stop).await;
                            if done.send((index, result)).is_err() {
                                break;
                            }
                        }
                    });
                });
            if let Err(error) = started {
                tracing::warn!("a case runner could not start: {error}");
            }
        }
        drop(done);
        let mut tally = Tally::default();
        runtime.block_on(async {
            loop {
                tokio::select! {
                    next = finished.recv() => match next {
                        Some((index, result)) => {
                            tally.count(&result.verdict);
                            if let Some(bar) = progress {
                                bar.inc(1);
                                bar.set_message(tally.counts());
                            }
                            results[index] = Some(result);
                        }
                        None => break,
                    },
                    interrupt = interrupts.next() => {
                        let mut stop = stop.lock().unwrap_or_else(PoisonError::into_inner);
                        stop.interrupt = Some(stop.interrupt.unwrap_or(interrupt));
                        for sender in &stop.senders {
                            sender.send(interrupt);
                        }
                    }
                }
            }
        });
    });
    let stopped = stop
        .into_inner()
        .unwrap_or_else(PoisonError::into_inner)
        .interrupt;
    // A case no runner took (none could start) did not run.
    let results = results
        .into_iter()
        .map(|result| result.unwrap_or_else(not_run))
        .collect();
    (results, stopped)
}

/// Runs one case on a fresh executor, unless an interrupt came first.
async fn run_case(plan: &Plan<'_>, case: &Case, stop: &Mutex<Stop>) -> CaseRun {
    let Some(loaded) = plan.flows.get(&case.flow) else {
        // load_flows loaded every flow a case names.
        return not_run();
    };
    let trace = plan.trace.next_run();
    let mut spans = plan.spans.map(|export| {
        let nodes = &loaded.ir.graph.nodes;
        RunSpans::new(
            trace.clone(),
            &case.flow,
            nodes,
            &plan.executor.path,
            export.clone(),
        )
    });
    let (sender, mut interrupts) = Interrupts::channel();
    {
        // Checked and registered under one lock: an interrupt reaches every run it does not
        // prevent.
        let mut stop = stop.lock().unwrap_or_else(PoisonError::into_inner);
        if stop.interrupt.is_some() {
            return not_run();
        }
        stop.senders.push(sender);
    }
    let request = RunRequest {
        required_step_kinds: loaded.ir.required_step_kinds(),
        ir: loaded.document.clone(),
        inputs: case.inputs.clone(),
        executor: plan.executor.clone(),
        engine_timeout: Duration::from_secs_f64(case.timeout.unwrap_or(plan.default_timeout)),
        max_frame_bytes: plan.max_frame_bytes,
        allow_shell: false,
        log_json: false,
        tap: Tap::none().with_trace(trace.clone()),
    };
    let started = Instant::now();
    let outcome = match spans.as_mut() {
        Some(spans) => run(request, &mut [spans], &mut interrupts).await,
        None => run(request, &mut [], &mut interrupts).await,
    };
    let duration = started.elapsed();
    let verdict = match &outcome.error {
        Some(error) if error.cause.is_some_and(Cause::is_interrupt) => Verdict::Interrupted,
        Some(error) if error.exit_code() != ExitCode::RunFailed => Verdict::Broken(error.clone()),
        _ => match differences(&case.expect, &outcome) {
            found if found.is_empty() => Verdict::Passed,
            found => Verdict::Failed(found),
        },
    };
    CaseRun {
        verdict,
        outcome: Some(outcome),
        duration,
    }
}

fn not_run() -> CaseRun {
    CaseRun {
        verdict: Verdict::NotRun,
        outcome: None,
        duration: Duration::ZERO,
    }
}

/// The report on stdout: one line per case, in case order, then the summary line.
pub fn render_report(cases: &[Case], runs: &[CaseRun]) -> (String, Tally) {
    let mut text = String::new();
    let mut tally = Tally::default();
    for (case, result) in cases.iter().zip(runs) {
        tally.count(&result.verdict);
        let _ = write!(
            text,
            "{:<6} {} [{}]",
            label(&result.verdict),
            case.name,
            case.flow
        );
        let detail = detail(&result.verdict);
        if !detail.is_empty() {
            let _ = write!(text, ": {detail}");
        }
        text.push('\n');
    }
    let _ = writeln!(
        text,
        "{} {}: {}",
        tally.total,
        if tally.total == 1 { "case" } else { "cases" },
        tally.counts()
    );
    (text, tally)
}

/// The report's label of a verdict.
fn label(verdict: &Verdict) -> &'static str {
    match verdict {
        Verdict::Passed => "PASS",
        Verdict::Failed(_) => "FAIL",
        Verdict::Broken(_) => "ERROR",
        Verdict::Interrupted => "CANCEL",
        Verdict::NotRun => "SKIP",
    }
}

/// What follows a case's name in the report: its differences, or its error.
pub fn detail(verdict: &Verdict) -> String {
    match verdict {
        Verdict::Passed => String::new(),
        Verdict::Failed(found) => found.join("; "),
        Verdict::Broken(error) => format!("exit {}: {}", error.exit_code().code(), error.message),
        Verdict::Interrupted => "cancelled by an interrupt".to_owned(),
        Verdict::NotRun => "not run: interrupted".to_owned(),
    }
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

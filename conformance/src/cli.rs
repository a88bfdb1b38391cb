//! The command line: `rep-conformance run …`, `replay …` and `list`; their results become
//! exit codes in [`crate::exit`].

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use rep_host::{Overrides, RuntimeConfig, resolve_executor};
use rep_process::{ErrorLines, Interrupt, Interrupts, stderr_sink};

use crate::conn::Target;
use crate::error::Error;
use crate::exit::{Failure, exit_code, told};
use crate::report::{human, json, junit};
use crate::suite::{Options, SuiteReport};
use crate::verdict::{TestResult, Verdict};

const EXAMPLES: &str = "\
Examples:
  rep-conformance run --executor target/release/my-executor
  rep-conformance run --executor ./executor.py --fixtures conformance/fixtures/mock \\
      --junit conformance.xml --json conformance.json
  rep-conformance run --config runtime.yaml --pass-env LD_LIBRARY_PATH --env BOARD_PORT=/dev/ttyUSB0
  rep-conformance run --executor ./my-executor --filter 'REP-RUN-*' --skip REP-RUN-006 -- --verbose
  rep-conformance run --executor ./my-executor --baseline known-failures.yaml --strict
  rep-conformance run --executor ./my-executor --record transcripts/
  rep-conformance replay session.jsonl --executor ./my-executor
  rep-conformance fuzz --executor ./my-executor --seed 42 --cases 500
  rep-conformance verify conformance.json --executor ./my-executor
  rep-conformance list

Exit codes: 0 nothing failed (SHOULD failures are warnings, skips are listed),
1 a MUST test failed or a baseline entry is stale, 2 usage error, 130/143/129 stopped by
SIGINT/SIGTERM/SIGHUP (the executor under test is killed at once, no report is written).";

const REPLAY_EXAMPLES: &str = "\
Examples:
  tm runtime run --manifest out/dsl/manifest.json --flow plant-monitor --record golden.jsonl
  rep-conformance replay golden.jsonl --executor target/release/my-executor
  rep-conformance replay golden.jsonl --executor ./executor.py --ignore message -- --verbose

Compared: the calls other than Poll (result, or error and its code), the run's events in
order (however they were split across Polls), its final status and summary; ignored:
timestamp, duration_ms, run_id, trace_id and ts fields, and any given with --ignore.

Exit codes: 0 the replay matches the recording, 1 it differs (the first difference is
printed), 2 usage error or a file that is not a replayable transcript, 4 the executor broke
(could not start, stopped answering where the recorded one answered), 130/143/129 stopped
by SIGINT/SIGTERM/SIGHUP.";

/// REP v0.1 conformance tests for any executor binary, over stdio.
#[derive(Debug, Parser)]
#[command(name = "rep-conformance", version, after_help = EXAMPLES)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the catalogue against an executor.
    #[command(after_help = EXAMPLES)]
    Run(Box<RunArgs>),
    /// Print the catalogue: id, level, section, title.
    List,
    /// Re-send a recorded session's requests to an executor and compare its answers with
    /// the recorded ones (a golden test; docs/transcripts.md).
    #[command(after_help = REPLAY_EXAMPLES)]
    Replay(ReplayArgs),
    /// Generate random flows over rep.probe, run each, and compare the executor with the
    /// reference model of flow semantics; shrink the first difference.
    #[command(after_help = crate::fuzz::cli::FUZZ_EXAMPLES)]
    Fuzz(Box<crate::fuzz::cli::FuzzArgs>),
    /// Check whether a JSON report (a certificate) applies to an executor binary: its sha256,
    /// its arguments, and the report's own consistency.
    #[command(after_help = crate::verify::VERIFY_EXAMPLES)]
    Verify(crate::verify::VerifyArgs),
}

/// `rep-conformance replay`.
#[derive(Debug, clap::Args)]
pub struct ReplayArgs {
    /// The transcript (`tm … --record FILE`, `rep-conformance run --record DIR`).
    #[arg(value_name = "FILE")]
    pub transcript: PathBuf,
    /// The executor to replay against: a path (a `.py` path runs with python3), or a bare
    /// name looked up on PATH.
    #[arg(long, value_name = "PATH", value_parser = executor_arg())]
    pub executor: PathBuf,
    /// Also ignore fields named NAME, at any depth of events and summaries (repeatable).
    #[arg(long, value_name = "NAME")]
    pub ignore: Vec<String>,
    /// Time budget of the whole replay in seconds.
    #[arg(long, value_name = "SECS", value_parser = parse_secs, default_value = "60")]
    pub timeout: Duration,
    /// Arguments for the executor (after `--`).
    #[arg(last = true, value_name = "ARGS")]
    pub args: Vec<String>,
}

/// `rep-conformance run`.
#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// The executor to test: a path (a `.py` path runs with python3), or a bare name looked
    /// up on PATH; wins over the --config file.
    #[arg(long, value_name = "PATH", value_parser = executor_arg())]
    pub executor: Option<PathBuf>,
    /// The runtime.yaml `tm` reads: takes runtime.executor_path, executor_args, executor_env,
    /// pass_env, inherit_env, executor_sha256 (checked before any test; every process runs
    /// the pinned bytes) and the sandbox block from it, so CI certifies what runs in
    /// production, as it runs there.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Set KEY=VALUE in the executor's environment (repeatable).
    #[arg(long = "env", value_name = "KEY=VALUE", value_parser = parse_env)]
    pub env: Vec<(String, String)>,
    /// Pass the variable NAME of this environment to the executor (repeatable); by default it
    /// gets only PATH, HOME, LANG, LC_*, TMPDIR, TZ and the TRACE_MIND_* variables, as with `tm`.
    #[arg(long = "pass-env", value_name = "NAME")]
    pub pass_env: Vec<String>,
    /// A directory of fixture flows (*.json) the executor can run; see docs/conformance.md.
    #[arg(long, value_name = "DIR")]
    pub fixtures: Option<PathBuf>,
    /// Run only the tests whose id matches GLOB (repeatable), e.g. 'REP-CAN-*'.
    #[arg(long, value_name = "GLOB")]
    pub filter: Vec<String>,
    /// Do not run the tests whose id matches GLOB (repeatable).
    #[arg(long, value_name = "GLOB")]
    pub skip: Vec<String>,
    /// Known failures (YAML: test id → reason): reported, but they do not fail the run; an
    /// entry whose test passes does.
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
    /// Fail the MUST tests that are skipped (full certification: every MUST test ran).
    #[arg(long)]
    pub strict: bool,
    /// Run a failing test again, alone, up to N times; a pass then is reported as flaky (a
    /// flakyFailure in JUnit), a test failing every run keeps its earlier runs (rerunFailure).
    #[arg(long, value_name = "N", default_value = "0")]
    pub repeat: u32,
    /// Time budget of every test in seconds, replacing each test's own (10–60 s).
    #[arg(long, value_name = "SECS", value_parser = parse_secs)]
    pub timeout: Option<Duration>,
    /// Write a JUnit XML report to FILE.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Write the JSON report (docs/conformance-report.schema.json) to FILE.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Record every executor process of every test as a transcript in DIR (created if
    /// missing): DIR/<test id>.jsonl, DIR/<test id>.2.jsonl for a test's second, …
    #[arg(long, value_name = "DIR")]
    pub record: Option<PathBuf>,
    /// Arguments for the executor (after `--`); they replace the config's executor_args.
    #[arg(last = true, value_name = "ARGS")]
    pub args: Vec<String>,
}

pub(crate) fn parse_secs(text: &str) -> Result<Duration, String> {
    match text.parse::<f64>() {
        Ok(secs) if secs > 0.0 && secs.is_finite() => Ok(Duration::from_secs_f64(secs)),
        _ => Err(format!("{text:?} is not a positive number of seconds")),
    }
}

pub(crate) fn parse_env(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((key, value)) if !key.is_empty() => Ok((key.to_owned(), value.to_owned())),
        _ => Err(Error::EnvValue {
            given: text.to_owned(),
        }
        .to_string()),
    }
}

/// Parses the command line, runs, prints, and returns the exit code.
pub fn main() -> ExitCode {
    stderr_sink().set_identity("rep-conformance", "executor log", ErrorLines::Named);
    let cli = Cli::parse();
    let result = match cli.command {
        Command::List => {
            let _ = std::io::stdout().write_all(human::catalogue().as_bytes());
            Ok(())
        }
        Command::Run(args) => run(*args),
        Command::Replay(args) => replay(&args),
        Command::Fuzz(args) => told(crate::fuzz::cli::main(&args)),
        Command::Verify(args) => told(crate::verify::main(&args)),
    };
    if let Err(failure) = &result
        && !failure.already_told()
    {
        stderr_sink().error(failure);
    }
    // Everything on stderr goes through rep-process's non-blocking queue: write out its last
    // lines before the process exits.
    stderr_sink().flush(STDERR_FLUSH_WAIT);
    ExitCode::from(exit_code(&result))
}

/// How long `main` waits, at the end, for forwarded executor stderr to be written.
const STDERR_FLUSH_WAIT: Duration = Duration::from_millis(500);

/// How long the end of a run spends killing descendants that left their executor's process
/// group.
const ORPHAN_KILL_WAIT: Duration = Duration::from_secs(1);

/// `rep-conformance: MESSAGE` on stderr, never blocking.
pub(crate) fn note(message: &str) {
    stderr_sink().own_line(&format!("rep-conformance: {message}"));
}

/// A runtime for one command, this process made a child subreaper (so that descendants
/// leaving an executor's group are swept at the end), and its signals.
pub(crate) fn runtime() -> std::io::Result<(tokio::runtime::Runtime, Interrupts)> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    // Without it (not Linux) escaped descendants are not swept; nothing else changes.
    let _ = rep_process::become_subreaper();
    let interrupts = {
        let _entered = runtime.enter();
        Interrupts::from_signals()
    };
    Ok((runtime, interrupts))
}

/// Runs `work` to its end, or until the first interrupt, which drops it (killing the
/// executor it runs: its process group); then sweeps escaped descendants.
pub(crate) fn until_interrupted<T>(
    runtime: &tokio::runtime::Runtime,
    interrupts: &mut Interrupts,
    work: impl Future<Output = T>,
) -> Result<T, Interrupt> {
    let result = runtime.block_on(async {
        tokio::select! {
            result = work => Ok(result),
            interrupt = interrupts.next() => Err(interrupt),
        }
    });
    rep_process::sweep_orphans(ORPHAN_KILL_WAIT);
    if let Err(interrupt) = result {
        note(&format!(
            "{}: stopped (the executor under test was killed)",
            interrupt.name()
        ));
    }
    result
}

/// Writes `bytes` on stdout; an interrupt while a stalled reader holds the write up ends the
/// wait (a closed stdout is not an error: the exit code tells).
pub(crate) fn print(
    runtime: &tokio::runtime::Runtime,
    interrupts: &mut Interrupts,
    bytes: Vec<u8>,
) -> Result<(), Interrupt> {
    runtime.block_on(rep_process::unless_interrupted(interrupts, move || {
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(&bytes).and_then(|()| out.flush());
    }))
}

/// The executor as the user runs it: `--executor` (else the config's executor_path), the
/// config's arguments (replaced by `-- ARGS`), and the environment policy `tm` applies
/// (allowlist + the config's pass_env/executor_env/inherit_env), plus `--pass-env` and
/// `--env`.
///
/// # Errors
/// An unusable config file; no executor named anywhere.
pub fn target(args: &RunArgs) -> Result<Target, Error> {
    let config = match &args.config {
        Some(path) => RuntimeConfig::load(path)?,
        None => RuntimeConfig::default(),
    };
    if args.executor.is_none() && config.runtime.executor_path.is_none() {
        return Err(Error::NoExecutor);
    }
    let overrides = Overrides {
        executor_path: args.executor.clone(),
        ..Overrides::default()
    };
    let resolved = resolve_executor(&config, &overrides, None)?;
    let mut env = resolved.env;
    env.pass.extend(args.pass_env.iter().cloned());
    env.set
        .extend(args.env.iter().cloned().collect::<BTreeMap<_, _>>());
    let path = locate(&resolved.path).map_err(|message| Error::Spawn {
        path: resolved.path.clone(),
        message,
    })?;
    Ok(Target {
        path,
        args: if args.args.is_empty() {
            resolved.args
        } else {
            args.args.clone()
        },
        env,
        sha256: resolved.sha256,
        sandbox: resolved.sandbox,
    })
}

fn run(args: RunArgs) -> Result<(), Failure> {
    let target = target(&args)?;
    if let Some(message) = not_a_program(&target.path) {
        return Err(Error::Spawn {
            path: target.path.clone(),
            message,
        }
        .into());
    }
    check_pin_and_sandbox(&target)?;
    if let Some(dir) = &args.record {
        std::fs::create_dir_all(dir).map_err(|e| Error::Report {
            path: dir.clone(),
            message: format!("cannot create the --record folder: {e}"),
        })?;
    }
    let options = Options {
        record: args.record,
        target,
        fixtures: args.fixtures,
        filter: args.filter,
        skip: args.skip,
        timeout: args.timeout,
        baseline: args.baseline,
        strict: args.strict,
        repeat: args.repeat,
    };
    let (runtime, mut interrupts) = runtime().map_err(Error::Runtime)?;
    let report = until_interrupted(
        &runtime,
        &mut interrupts,
        crate::suite::run(&options, progress),
    )??;
    let color = rep_process::color::auto(std::io::stdout().is_terminal());
    let summary = human::render(&report, human::Style { color });
    print(&runtime, &mut interrupts, summary.into_bytes())?;
    // A report written in place (a FIFO) may wait for its reader: a signal still ends us.
    let (written, junit, json) = (report.clone(), args.junit, args.json);
    let reports = runtime.block_on(rep_process::unless_interrupted(
        &mut interrupts,
        move || write_reports(&written, junit.as_deref(), json.as_deref()),
    ));
    runtime.shutdown_background();
    reports??;
    match report.failed() {
        true => Err(Failure::Failed),
        false => Ok(()),
    }
}

/// `rep-conformance replay`: prints whether the replay matches, or its first difference.
fn replay(args: &ReplayArgs) -> Result<(), Failure> {
    use crate::replay::{Session, compare};
    let session = Session::load(&args.transcript)?;
    if let Some(message) = not_a_program(&args.executor) {
        return Err(Error::Spawn {
            path: args.executor.clone(),
            message,
        }
        .into());
    }
    let mut target = Target::new(&args.executor);
    target.args = args.args.clone();
    let ignored = compare::ignored_fields(&args.ignore);
    let (runtime, mut interrupts) = runtime().map_err(Error::Runtime)?;
    let replayed = until_interrupted(
        &runtime,
        &mut interrupts,
        compare::replay(&session, &target, args.timeout, &ignored),
    )?
    .map_err(|compare::Broken(reason)| Failure::Broken(reason))?;
    let recorded = compare::recorded(&session, &ignored);
    let difference = compare::diff(&recorded, &replayed);
    let text = match &difference {
        None => format!(
            "replay matches {}: {} calls, {} events, status {}\n",
            args.transcript.display(),
            session.exchanges.len(),
            replayed.events.len(),
            replayed.status.as_deref().unwrap_or("none")
        ),
        Some(difference) => format!(
            "replay differs from {}:\n  {difference}\n",
            args.transcript.display()
        ),
    };
    let printed = print(&runtime, &mut interrupts, text.into_bytes());
    runtime.shutdown_background();
    printed?;
    match difference {
        None => Ok(()),
        Some(_) => Err(Failure::Failed),
    }
}

/// A pinned executor whose file does not match, or a sandbox this kernel cannot apply, is
/// refused before any test (exit 2), naming both hashes or the missing feature; the sandbox
/// in force is said on stderr.
fn check_pin_and_sandbox(target: &Target) -> Result<(), Error> {
    let command = target.command();
    let refused = |error: rep_host::RunError| Error::Spawn {
        path: target.path.clone(),
        message: error.message,
    };
    if let Some(expected) = &command.sha256 {
        let file = command.file_to_pin().map_err(refused)?;
        command.pin(&file, expected).map_err(refused)?;
        note(&format!("executor pinned: sha256 {expected}"));
    }
    if let Some(sandbox) = &command.sandbox {
        let prepared = rep_host::prepare_sandbox(sandbox).map_err(refused)?;
        for line in prepared.plan().lines() {
            note(&line);
        }
    }
    Ok(())
}

/// The parser of every `--executor PATH`: [`locate`]d, so the path that runs (and that a
/// report names) is the one found.
pub(crate) fn executor_arg() -> impl clap::builder::TypedValueParser<Value = PathBuf> {
    use clap::builder::TypedValueParser;
    clap::builder::PathBufValueParser::new().try_map(|path| locate(&path))
}

/// `program` as given, or for a bare name (no `/`) the file it names on PATH, as `tm` finds
/// its executor.
///
/// # Errors
/// Nothing of that name on PATH; the message says how to name a file of the working
/// directory instead.
pub(crate) fn locate(program: &Path) -> Result<PathBuf, String> {
    if !rep_host::is_bare_name(program) {
        return Ok(program.to_path_buf());
    }
    rep_host::find_on_path(program.as_os_str(), std::env::var_os("PATH").as_deref()).ok_or_else(
        || {
            let name = program.display();
            let mut message = format!("executor {name} not found on PATH");
            if Path::new(".").join(program).is_file() {
                message.push_str(&format!(
                    "; to run the {name} of the working directory, write ./{name}"
                ));
            }
            message
        },
    )
}

/// Why `path` cannot be an executor at all (missing, a directory, a FIFO…), if it cannot.
pub(crate) fn not_a_program(path: &Path) -> Option<String> {
    match std::fs::metadata(path) {
        Ok(meta) if meta.is_file() => None,
        Ok(meta) => Some(format!(
            "{}, not a program",
            rep_files::describe(meta.file_type())
        )),
        Err(_) => Some("no such file".into()),
    }
}

/// One line on stderr per finished test, terminal or not (CI logs): `[ 3/33] PASS
/// REP-FRM-003 (12 ms)`, with the reason for anything but a pass. A closed or stalled stderr
/// changes nothing (rep-process's sink).
fn progress(result: &TestResult, n: usize, total: usize) {
    let width = total.to_string().len();
    let mut line = format!(
        "[{n:>width$}/{total}] {} {} ({} ms)",
        human::tag(result),
        result.id,
        result.duration_ms
    );
    if result.verdict != Verdict::Pass || result.baseline.is_some() {
        line.push_str(&format!(" — {}", result.reason));
    }
    if result.flaky {
        line.push_str(&format!(
            " — flaky: passed on run {} after: {}",
            result.reruns.len() + 1,
            result.reruns.first().map_or("", |r| r.reason.as_str())
        ));
    }
    stderr_sink().own_line(&line);
}

fn write_reports(
    report: &SuiteReport,
    junit_path: Option<&Path>,
    json_path: Option<&Path>,
) -> Result<(), Error> {
    let report_error = |path: &Path, message: String| Error::Report {
        path: path.to_path_buf(),
        message,
    };
    if let Some(path) = junit_path {
        let xml = junit::render(report).map_err(|e| report_error(path, e.to_string()))?;
        rep_files::write_atomic(path, xml.as_bytes())
            .map_err(|e| report_error(path, e.to_string()))?;
    }
    if let Some(path) = json_path {
        let text = serde_json::to_string_pretty(&json::render(report))
            .map_err(|e| report_error(path, e.to_string()))?;
        rep_files::write_atomic(path, (text + "\n").as_bytes())
            .map_err(|e| report_error(path, e.to_string()))?;
    }
    Ok(())
}

//! The command line: `rep-conformance run …` and `rep-conformance list`, and the one place
//! where outcomes become exit codes.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use rep_host::{Overrides, RuntimeConfig, resolve_executor};

use crate::conn::Target;
use crate::error::Error;
use crate::report::{human, json, junit};
use crate::suite::{Options, SuiteReport};
use crate::verdict::{TestResult, Verdict};

/// Exit code: nothing failed (SHOULD failures are warnings; baselined failures are expected).
pub const EXIT_PASS: u8 = 0;
/// Exit code: a MUST test failed (not baselined), a baseline entry is stale, or the executor
/// did not answer at all.
pub const EXIT_FAILED: u8 = 1;
/// Exit code: usage error (bad flag, glob or `--env`, a pattern matching no test, unreadable
/// fixtures, baseline or config, executor not startable, report not writable).
pub const EXIT_USAGE: u8 = 2;

const EXAMPLES: &str = "\
Examples:
  rep-conformance run --executor target/release/my-executor
  rep-conformance run --executor ./executor.py --fixtures conformance/fixtures/mock \\
      --junit conformance.xml --json conformance.json
  rep-conformance run --config runtime.yaml --pass-env LD_LIBRARY_PATH --env BOARD_PORT=/dev/ttyUSB0
  rep-conformance run --executor ./my-executor --filter 'REP-RUN-*' --skip REP-RUN-006 -- --verbose
  rep-conformance run --executor ./my-executor --baseline known-failures.yaml --strict
  rep-conformance list

Exit codes: 0 nothing failed (SHOULD failures are warnings, skips are listed),
1 a MUST test failed or a baseline entry is stale, 2 usage error.";

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
}

/// `rep-conformance run`.
#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// The executor to test (a `.py` path runs with python3); wins over the --config file.
    #[arg(long, value_name = "PATH")]
    pub executor: Option<PathBuf>,
    /// The runtime.yaml `tm` reads: takes runtime.executor_path, executor_args, executor_env,
    /// pass_env and inherit_env from it, so CI certifies what runs in production.
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
    /// Time budget of every test in seconds, replacing each test's own (10–60 s).
    #[arg(long, value_name = "SECS", value_parser = parse_secs)]
    pub timeout: Option<Duration>,
    /// Write a JUnit XML report to FILE.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Write the JSON report (docs/conformance-report.schema.json) to FILE.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Arguments for the executor (after `--`); they replace the config's executor_args.
    #[arg(last = true, value_name = "ARGS")]
    pub args: Vec<String>,
}

fn parse_secs(text: &str) -> Result<Duration, String> {
    match text.parse::<f64>() {
        Ok(secs) if secs > 0.0 && secs.is_finite() => Ok(Duration::from_secs_f64(secs)),
        _ => Err(format!("{text:?} is not a positive number of seconds")),
    }
}

fn parse_env(text: &str) -> Result<(String, String), String> {
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
    let cli = Cli::parse();
    let code = match cli.command {
        Command::List => {
            let _ = std::io::stdout().write_all(human::catalogue().as_bytes());
            ExitCode::from(EXIT_PASS)
        }
        Command::Run(args) => match run(*args) {
            Ok(code) => ExitCode::from(code),
            Err(error) => {
                let _ = writeln!(std::io::stderr(), "rep-conformance: {error}");
                ExitCode::from(EXIT_USAGE)
            }
        },
    };
    // The executors' forwarded stderr goes through rep-host's non-blocking queue: write out
    // its last lines before the process exits.
    rep_host::stderr_sink().flush(STDERR_FLUSH_WAIT);
    code
}

/// How long `main` waits, at the end, for forwarded executor stderr to be written.
const STDERR_FLUSH_WAIT: std::time::Duration = std::time::Duration::from_millis(500);

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
        engine: None,
        executor_path: args.executor.clone(),
    };
    let resolved = resolve_executor(&config, &overrides, None)?;
    let mut env = resolved.env;
    env.pass.extend(args.pass_env.iter().cloned());
    env.set
        .extend(args.env.iter().cloned().collect::<BTreeMap<_, _>>());
    Ok(Target {
        path: resolved.path,
        args: if args.args.is_empty() {
            resolved.args
        } else {
            args.args.clone()
        },
        env,
    })
}

fn run(args: RunArgs) -> Result<u8, Error> {
    let target = target(&args)?;
    if !target.path.is_file() {
        return Err(Error::Spawn {
            path: target.path.clone(),
            message: "no such file".into(),
        });
    }
    let options = Options {
        target,
        fixtures: args.fixtures,
        filter: args.filter,
        skip: args.skip,
        timeout: args.timeout,
        baseline: args.baseline,
        strict: args.strict,
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(Error::Runtime)?;
    let report = runtime.block_on(crate::suite::run(&options, progress))?;
    let color = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let summary = human::render(&report, human::Style { color });
    let _ = std::io::stdout().write_all(summary.as_bytes());
    write_reports(&report, args.junit.as_deref(), args.json.as_deref())?;
    Ok(if report.failed() {
        EXIT_FAILED
    } else {
        EXIT_PASS
    })
}

/// One line on stderr per finished test, terminal or not (CI logs): `[ 3/33] PASS
/// REP-FRM-003 (12 ms)`, with the reason for anything but a pass. A closed stderr changes
/// nothing.
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
    let _ = writeln!(std::io::stderr(), "{line}");
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
        write_atomically(path, xml.as_bytes()).map_err(|e| report_error(path, e.to_string()))?;
    }
    if let Some(path) = json_path {
        let text = serde_json::to_string_pretty(&json::render(report))
            .map_err(|e| report_error(path, e.to_string()))?;
        write_atomically(path, (text + "\n").as_bytes())
            .map_err(|e| report_error(path, e.to_string()))?;
    }
    Ok(())
}

/// Writes `bytes` to a temporary file beside `path`, then renames it over `path`: a reader
/// never sees a half-written report.
fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temp = path.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
    std::fs::write(&temp, bytes)
        .and_then(|()| std::fs::rename(&temp, path))
        .inspect_err(|_| {
            let _ = std::fs::remove_file(&temp);
        })
}

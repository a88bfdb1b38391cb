//! The command line: `rep-conformance run …` and `rep-conformance list`, and the one place
//! where outcomes become exit codes.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};

use crate::conn::Target;
use crate::error::Error;
use crate::report::{human, json, junit};
use crate::suite::{Options, SuiteReport};

/// Exit code: every selected MUST test passed.
pub const EXIT_PASS: u8 = 0;
/// Exit code: at least one MUST test failed.
pub const EXIT_MUST_FAILED: u8 = 1;
/// Exit code: usage error (bad flag or glob, unreadable fixtures, executor not startable,
/// report not writable).
pub const EXIT_USAGE: u8 = 2;

const EXAMPLES: &str = "\
Examples:
  rep-conformance run --executor target/release/my-executor
  rep-conformance run --executor ./executor.py --fixtures conformance/fixtures/mock \\
      --junit conformance.xml --json conformance.json
  rep-conformance run --executor ./my-executor --filter 'REP-RUN-*' --skip REP-RUN-006 -- --verbose
  rep-conformance list

Exit codes: 0 every MUST test passed (SHOULD failures are warnings), 1 a MUST test failed,
2 usage error.";

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
    Run(RunArgs),
    /// Print the catalogue: id, level, section, title.
    List,
}

/// `rep-conformance run`.
#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// The executor to test (a `.py` path runs with python3).
    #[arg(long, value_name = "PATH")]
    pub executor: PathBuf,
    /// Write a JUnit XML report to FILE.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Write the JSON report (docs/conformance-report.schema.json) to FILE.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// A directory of fixture flows (*.json) the executor can run; see docs/conformance.md.
    #[arg(long, value_name = "DIR")]
    pub fixtures: Option<PathBuf>,
    /// Run only the tests whose id matches GLOB (repeatable), e.g. 'REP-CAN-*'.
    #[arg(long, value_name = "GLOB")]
    pub filter: Vec<String>,
    /// Do not run the tests whose id matches GLOB (repeatable).
    #[arg(long, value_name = "GLOB")]
    pub skip: Vec<String>,
    /// Time budget of every test in seconds, replacing each test's own (10–60 s).
    #[arg(long, value_name = "SECS", value_parser = parse_secs)]
    pub timeout: Option<Duration>,
    /// Arguments for the executor (after `--`).
    #[arg(last = true, value_name = "ARGS")]
    pub args: Vec<String>,
}

fn parse_secs(text: &str) -> Result<Duration, String> {
    match text.parse::<f64>() {
        Ok(secs) if secs > 0.0 && secs.is_finite() => Ok(Duration::from_secs_f64(secs)),
        _ => Err(format!("{text:?} is not a positive number of seconds")),
    }
}

/// Parses the command line, runs, prints, and returns the exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::List => {
            print!("{}", human::catalogue());
            ExitCode::from(EXIT_PASS)
        }
        Command::Run(args) => match run(args) {
            Ok(code) => ExitCode::from(code),
            Err(error) => {
                eprintln!("rep-conformance: {error}");
                ExitCode::from(EXIT_USAGE)
            }
        },
    }
}

fn run(args: RunArgs) -> Result<u8, Error> {
    if !args.executor.is_file() {
        return Err(Error::Spawn {
            path: args.executor.clone(),
            message: "no such file".into(),
        });
    }
    let options = Options {
        target: Target {
            path: args.executor,
            args: args.args,
        },
        fixtures: args.fixtures,
        filter: args.filter,
        skip: args.skip,
        timeout: args.timeout,
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(Error::Runtime)?;
    let progress = std::io::stderr().is_terminal();
    let report = runtime.block_on(crate::suite::run(&options, |r| {
        if progress {
            eprintln!("{} {}", r.id, r.verdict.as_str());
        }
    }))?;
    let color = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    print!("{}", human::render(&report, human::Style { color }));
    write_reports(&report, args.junit.as_deref(), args.json.as_deref())?;
    Ok(if report.musts_pass() {
        EXIT_PASS
    } else {
        EXIT_MUST_FAILED
    })
}

fn write_reports(
    report: &SuiteReport,
    junit_path: Option<&Path>,
    json_path: Option<&Path>,
) -> Result<(), Error> {
    let write = |path: &Path, text: String| {
        std::fs::write(path, text).map_err(|e| Error::Report {
            path: path.to_path_buf(),
            message: e.to_string(),
        })
    };
    if let Some(path) = junit_path {
        let xml = junit::render(report).map_err(|e| Error::Report {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        write(path, xml)?;
    }
    if let Some(path) = json_path {
        let text =
            serde_json::to_string_pretty(&json::render(report)).map_err(|e| Error::Report {
                path: path.to_path_buf(),
                message: e.to_string(),
            })?;
        write(path, text + "\n")?;
    }
    Ok(())
}

//! The `tm` command line: parsing (`args`), then the work (`run`, `runtime`), one exit-code
//! mapping (`error`).

mod args;
mod error;
mod inputs;
mod output;
mod run;
mod runtime;

use std::process::ExitCode as ProcessExitCode;
use std::time::Duration;

use clap::Parser;
use flow_ir::ManifestError;
use rep_host::{SinkWriter, stderr_sink};
use rep_spec::ExitCode;

use args::{CacheCommand, Cli, Command, RuntimeCommand, VerifyCommand};
use error::Failure;

/// How long `tm` waits at exit for its stderr to take the last lines. A stderr nobody reads
/// must not keep `tm` alive.
const STDERR_FLUSH_WAIT: Duration = Duration::from_millis(500);

/// Parses the command line, runs it, and maps the result to the process exit code.
pub fn main() -> ProcessExitCode {
    let cli = Cli::parse();
    init_logging();
    // Descendants of the executor that leave its process group are re-parented to tm, which
    // kills them when the run ends.
    if let Err(error) = rep_host::become_subreaper() {
        tracing::debug!("cannot become a child subreaper: {error}");
    }
    let result = match &cli.command {
        Command::Runtime { command } => match command {
            RuntimeCommand::Run(args) => run::runtime_run(&cli.global, args),
            RuntimeCommand::Capabilities(args) => runtime::capabilities(&cli.global, args),
            RuntimeCommand::Cache {
                command: CacheCommand::Clear(args),
            } => runtime::cache_clear(&cli.global, args),
        },
        Command::Verify {
            command: VerifyCommand::Online(args),
        } => run::verify_online(&cli.global, args),
    };
    let code = match result {
        Ok(code) => code,
        Err(failure) => report(&failure),
    };
    stderr_sink().flush(STDERR_FLUSH_WAIT);
    ProcessExitCode::from(code.code())
}

/// Logs go to stderr only (stdout carries the result), through the non-blocking sink;
/// `RUST_LOG` sets the filter.
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(SinkWriter)
        .with_target(false)
        .init();
}

/// Writes a line to stderr without ever blocking or failing.
fn note(line: &str) {
    stderr_sink().host_line(line);
}

/// Prints `error: …` and its causes to stderr and returns the failure's exit code.
fn report(failure: &Failure) -> ExitCode {
    if let Failure::Manifest(ManifestError::InvalidIr { path, source }) = failure {
        note(&format!("error: invalid Flow IR in {}:", path.display()));
        for problem in &source.problems {
            note(&format!("  - {problem}"));
        }
        return failure.exit_code();
    }
    note(&format!("error: {failure}"));
    let mut source = std::error::Error::source(failure);
    while let Some(cause) = source {
        note(&format!("caused by: {cause}"));
        source = cause.source();
    }
    failure.exit_code()
}

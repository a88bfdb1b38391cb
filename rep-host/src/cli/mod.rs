//! The `tm` command line: parsing (`args`), then the work (`run`), one exit-code mapping.

mod args;
mod inputs;
mod output;
mod run;
mod runtime;

use std::process::ExitCode as ProcessExitCode;

use clap::Parser;
use rep_spec::ExitCode;

use args::{CacheCommand, Cli, Command, RuntimeCommand, VerifyCommand};

/// Parses the command line, runs it, and maps the result to the process exit code.
pub fn main() -> ProcessExitCode {
    let cli = Cli::parse();
    init_logging();
    let code = match &cli.command {
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
    ProcessExitCode::from(code.code())
}

/// Logs go to stderr only (stdout carries the result); `RUST_LOG` sets the filter.
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .with_target(false)
        .init();
}

/// Prints `error: …` and its causes to stderr and returns `code`.
fn fail(error: &(dyn std::error::Error + 'static), code: ExitCode) -> ExitCode {
    eprintln!("error: {error}");
    let mut source = error.source();
    while let Some(cause) = source {
        eprintln!("caused by: {cause}");
        source = cause.source();
    }
    code
}

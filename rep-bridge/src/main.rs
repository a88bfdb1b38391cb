//! `rep-bridge`: a REP v0.1 executor process that forwards whole frames between the host's
//! stdio and an executor on TCP, a Unix socket or a serial line (docs/remote-executors.md).

mod cli;
mod error;
mod forward;
mod frames;
mod log;
mod run;
mod serial;
mod spawn;
mod stdio;
mod transport;

use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;

/// How long the exit waits for the last log lines to reach stderr.
const LOG_FLUSH: Duration = Duration::from_millis(500);

fn main() -> ExitCode {
    log::init();
    let config = cli::Cli::parse().into_config();
    let ending = run::run(&config);
    if let error::Ending::Failed(error) = &ending {
        log::line(error);
    }
    log::flush(LOG_FLUSH);
    ExitCode::from(ending.exit_code())
}

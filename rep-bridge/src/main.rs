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

use clap::{CommandFactory, Parser};

/// How long the exit waits for the last log lines to reach stderr.
const LOG_FLUSH: Duration = Duration::from_millis(500);

fn main() -> ExitCode {
    log::init();
    let parsed = cli::Cli::try_parse().and_then(|cli| match cli.shell {
        Some(shell) => Ok(Err(shell)),
        None => cli.into_config().map(Ok),
    });
    let config = match parsed {
        Ok(Err(shell)) => return shell_command(&shell),
        Ok(Ok((config, note))) => {
            if let Some(note) = note {
                log::line(&note);
            }
            config
        }
        // Help and version go to stdout and exit 0; usage errors to stderr, exit 2.
        Err(usage) => {
            let _ = usage.print();
            return ExitCode::from(match usage.use_stderr() {
                true => error::EXIT_USAGE,
                false => error::EXIT_OK,
            });
        }
    };
    let ending = run::run(&config);
    if let error::Ending::Failed(error) = &ending {
        log::error(error);
    }
    log::flush(LOG_FLUSH);
    ExitCode::from(ending.exit_code())
}

/// `rep-bridge completions SHELL`, `rep-bridge man [--dir DIR]` (rep-cli).
fn shell_command(shell: &rep_cli::ShellCommand) -> ExitCode {
    let ended = match shell.run(cli::Cli::command(), &[]) {
        Ok(rep_cli::Outcome::Stdout(bytes)) => rep_cli::print_stdout(&bytes).map_err(|e| {
            log::line(&format!("error: cannot write to stdout: {e}"));
        }),
        Ok(rep_cli::Outcome::Written(pages)) => {
            if let rep_cli::ShellCommand::Man(rep_cli::ManArgs { dir: Some(dir) }) = shell {
                log::line(&format!(
                    "{} manual pages written to {}",
                    pages.len(),
                    dir.display()
                ));
            }
            Ok(())
        }
        Err(man) => {
            log::error(&man);
            Err(())
        }
    };
    log::flush(LOG_FLUSH);
    ExitCode::from(match ended {
        Ok(()) => error::EXIT_OK,
        Err(()) => error::EXIT_FAILED,
    })
}

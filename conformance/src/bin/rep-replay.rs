//! `rep-replay FILE`: an executor that answers with a recorded session (docs/transcripts.md).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::error::ErrorKind::MissingRequiredArgument;
use clap::{CommandFactory, Parser};
use rep_conformance::Error;
use rep_conformance::cli::shell_command;
use rep_conformance::exit::{Failure, exit_code};
use rep_conformance::replay::{ReplayError, Session, serve::serve};
use rep_process::{ErrorLines, stderr_sink};

const EXAMPLES: &str = "\
Examples (in a folder of TraceMind's output, such as examples/plant-monitor):
  tm runtime run --manifest out/dsl/manifest.json --flow plant-monitor \\
    --inputs @input.json --record bug.jsonl                          # record
  printf 'runtime:\\n  executor_path: rep-replay\\n  executor_args: [bug.jsonl]\\n' > replay.yaml
  rep-replay --print-inputs bug.jsonl |
    tm runtime run --runtime-config replay.yaml --manifest out/dsl/manifest.json \\
      --flow plant-monitor --inputs @-                               # replay

A live Runtime.StartRun whose flow or inputs differ from the recorded one's gets the
recorded answers all the same, with a warning on stderr naming the first field that differs.

Each request gets the answers recorded for the request of the same method and rank, with
its own id; a Poll beyond the recorded ones repeats the last. Exits with the recorded exit
code; 2 when FILE is not a replayable transcript (not a regular file, over the 256 MiB cap
for transcripts, a line over the 64 MiB cap); 130/143/129 at once on SIGINT/SIGTERM/SIGHUP.";

/// An executor that answers a host's requests with a recorded REP session.
#[derive(Debug, Parser)]
#[command(
    name = "rep-replay",
    version,
    after_help = EXAMPLES,
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true,
    disable_help_subcommand = true
)]
struct Cli {
    /// The transcript (`tm … --record FILE`).
    #[arg(value_name = "FILE", required = true)]
    transcript: Option<PathBuf>,
    /// Reproduce the recorded delays between a request and the executor's answers.
    #[arg(long)]
    timing: bool,
    /// Print the inputs of the recorded run (its Runtime.StartRun's) as JSON on stdout and
    /// exit, for `tm runtime run --inputs @-`.
    #[arg(long, conflicts_with = "timing")]
    print_inputs: bool,
    /// Shell completions and manual pages.
    #[command(subcommand)]
    shell: Option<rep_cli::ShellCommand>,
}

/// How long the exit waits for the last stderr lines (recorded ones, an error) to be written.
const STDERR_FLUSH_WAIT: Duration = Duration::from_millis(500);

fn main() -> ExitCode {
    let cli = Cli::parse();
    stderr_sink().set_identity("rep-replay", "recorded stderr", ErrorLines::Named);
    // No child, nothing to finish: a signal ends it at once, with 128 + N.
    if let Err(error) = rep_process::exit_on_signals() {
        stderr_sink().own_line(&format!("rep-replay: cannot handle signals: {error}"));
    }
    let result = match (&cli.shell, &cli.transcript) {
        (Some(shell), _) => shell_command(shell, Cli::command()),
        (None, Some(transcript)) => replay(&cli, transcript),
        // clap requires FILE without a subcommand.
        (None, None) => Cli::command().error(MissingRequiredArgument, "FILE").exit(),
    };
    if let Err(failure) = &result
        && !failure.already_told()
    {
        stderr_sink().error(failure);
    }
    stderr_sink().flush(STDERR_FLUSH_WAIT);
    ExitCode::from(exit_code(&result))
}

/// Serves the transcript on stdin/stdout; the recorded exit code is the replay's.
fn replay(cli: &Cli, transcript: &Path) -> Result<(), Failure> {
    let session = Session::load(transcript)?;
    if cli.print_inputs {
        let inputs = session.start_run_inputs().ok_or(ReplayError::NoRun {
            path: session.path.clone(),
        })?;
        // A closed stdout is not an error: the reader has what it wanted.
        let _ = writeln!(std::io::stdout().lock(), "{inputs}");
        return Ok(());
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(Error::Runtime)?;
    let code = runtime.block_on(serve(
        &session,
        cli.timing,
        tokio::io::stdin(),
        tokio::io::stdout(),
    ));
    match u8::try_from(code) {
        Ok(0) => Ok(()),
        Ok(code) => Err(Failure::Recorded { code }),
        Err(_) => Err(Failure::Recorded { code: 1 }),
    }
}

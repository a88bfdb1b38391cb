//! `rep-replay FILE`: an executor that answers with a recorded session (docs/transcripts.md).

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use rep_conformance::replay::{Session, serve::serve};

const EXAMPLES: &str = "\
Examples:
  tm runtime run --manifest m.json --flow f --record bug.jsonl     # record
  printf 'runtime:\\n  executor_path: rep-replay\\n  executor_args: [bug.jsonl]\\n' > replay.yaml
  tm runtime run --runtime-config replay.yaml --manifest m.json --flow f   # replay

Each request gets the answers recorded for the request of the same method and rank, with
its own id; a Poll beyond the recorded ones repeats the last. Exits with the recorded exit
code; 2 when FILE is not a replayable transcript (not a regular file, over the 256 MiB cap
for transcripts, a line over the 64 MiB cap); 130/143/129 at once on SIGINT/SIGTERM/SIGHUP.";

/// An executor that answers a host's requests with a recorded REP session.
#[derive(Debug, Parser)]
#[command(name = "rep-replay", version, after_help = EXAMPLES)]
struct Cli {
    /// The transcript (`tm … --record FILE`).
    #[arg(value_name = "FILE")]
    transcript: PathBuf,
    /// Reproduce the recorded delays between a request and the executor's answers.
    #[arg(long)]
    timing: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // No child, nothing to finish: a signal ends it at once, with 128 + N.
    if let Err(error) = rep_process::exit_on_signals() {
        let _ = writeln!(
            std::io::stderr(),
            "rep-replay: cannot handle signals: {error}"
        );
    }
    match Session::load(&cli.transcript) {
        Ok(session) => {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build();
            let code = match runtime {
                Ok(runtime) => runtime.block_on(serve(
                    &session,
                    cli.timing,
                    tokio::io::stdin(),
                    tokio::io::stdout(),
                )),
                Err(_) => 1,
            };
            ExitCode::from(u8::try_from(code).unwrap_or(1))
        }
        Err(error) => {
            let _ = writeln!(std::io::stderr(), "rep-replay: {error}");
            ExitCode::from(2)
        }
    }
}

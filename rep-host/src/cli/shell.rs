//! `tm completions <shell>` and `tm man`: shell integration generated from the command tree
//! by rep-cli, as every rep binary does.

use clap::CommandFactory;
use rep_cli::{CompletionsArgs, ManArgs, Outcome, Section, ShellCommand};

use super::args::{Cli, EXAMPLES, EXIT_CODES, TRACEMIND_COMMANDS};
use super::error::Failure;
use super::note;
use super::output::print_stdout;

/// Prints the completion script of `shell` for tm's own commands.
pub fn completions(args: &CompletionsArgs) -> Result<(), Failure> {
    run(ShellCommand::Completions(args.clone()))
}

/// Prints `tm.1`, or writes it and a page per subcommand (`tm-runtime-run.1`, …) into
/// `--dir` (each replaced atomically).
pub fn man(args: &ManArgs) -> Result<(), Failure> {
    run(ShellCommand::Man(args.clone()))
}

fn run(command: ShellCommand) -> Result<(), Failure> {
    // tm.1: the examples and exit codes as sections of their own, their lines kept as
    // written; TraceMind's commands as prose.
    let sections = [
        Section {
            title: "EXAMPLES",
            text: EXAMPLES,
            verbatim: true,
        },
        Section {
            title: "TRACEMIND COMMANDS",
            text: TRACEMIND_COMMANDS,
            verbatim: false,
        },
        Section {
            title: "EXIT STATUS",
            text: EXIT_CODES,
            verbatim: true,
        },
    ];
    match command.run(Cli::command(), &sections)? {
        Outcome::Stdout(bytes) => print_stdout(&bytes),
        Outcome::Written(_) => {
            if let ShellCommand::Man(ManArgs { dir: Some(dir) }) = &command {
                note(&format!("manual pages written to {}", dir.display()));
            }
            Ok(())
        }
    }
}

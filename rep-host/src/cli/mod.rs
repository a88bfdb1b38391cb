//! The `tm` command line: parsing (`args`), then the work (`run`, `runtime`, `shell`), the
//! hand-over of TraceMind's commands (`delegate`), one exit-code mapping (`error`).

mod args;
mod cases;
mod contract;
mod contract_report;
mod delegate;
mod error;
mod executor;
mod inputs;
mod installed;
mod ir;
mod output;
mod partition;
mod route;
mod run;
mod runtime;
mod shell;

use std::ffi::OsString;
use std::io::IsTerminal;
use std::process::ExitCode as ProcessExitCode;
use std::time::Duration;

use clap::{CommandFactory, FromArgMatches};
use flow_ir::ManifestError;
use rep_host::{SinkWriter, stderr_sink};
use rep_process::ErrorLines;

use args::{
    CacheCommand, Cli, Color, Command, ExecutorCommand, GlobalArgs, IrCommand, RuntimeCommand,
    VerifyCommand,
};
use error::{Failure, exit_code};

/// How long `tm` waits at exit for its stderr to take the last lines. A stderr nobody reads
/// must not keep `tm` alive.
const STDERR_FLUSH_WAIT: Duration = Duration::from_millis(500);

/// Parses the command line, runs it, and maps the result to the process exit code.
pub fn main() -> ProcessExitCode {
    stderr_sink().set_identity("tm", "executor log", ErrorLines::Plain);
    let argv: Vec<OsString> = std::env::args_os().collect();
    let color = color_in(&argv);
    // Built once: the routing and the parse share it.
    let command = Cli::command().color(clap_color(color));
    let argv = route::help_for_tracemind(argv, &command);
    let cli = match parse(&argv, command, color) {
        Ok(cli) => cli,
        Err(code) => return exit(code),
    };
    init_logging(&cli.global);
    stderr_sink().set_color(stderr_color(cli.global.color));
    let external = matches!(cli.command, Some(Command::External(_)));
    let result = match &cli.command {
        _ if cli.version && !external => delegate::print_version(&cli.global),
        None => Err(Failure::Usage(
            "a command is required: tm runtime run, tm verify online, … (see tm --help)",
        )),
        Some(command) => run_command(&cli.global, command, argv.get(1..).unwrap_or_default()),
    };
    if let Err(failure) = &result {
        report(failure);
    }
    exit(exit_code(&result).code())
}

/// Runs `command`; `args` is the command line after `tm`, for TraceMind's commands.
fn run_command(global: &GlobalArgs, command: &Command, args: &[OsString]) -> Result<(), Failure> {
    match command {
        // TraceMind's: handed over before anything of ours starts (this process becomes
        // TraceMind's CLI).
        Command::External(words) => {
            let name = words.first().map(|w| w.to_string_lossy().into_owned());
            Err(delegate::hand_over(
                global,
                &route::tracemind_args(args, words),
                name.as_deref().unwrap_or_default(),
                &own_commands(),
            ))
        }
        Command::Completions(args) => shell::completions(args),
        Command::Man(args) => shell::man(args),
        Command::Runtime { command } => {
            become_subreaper();
            match command {
                RuntimeCommand::Run(args) => run::runtime_run(global, args),
                RuntimeCommand::Capabilities(args) => runtime::capabilities(global, args),
                RuntimeCommand::Cache {
                    command: CacheCommand::Clear(args),
                } => runtime::cache_clear(global, args),
            }
        }
        Command::Ir {
            command: IrCommand::Validate(args),
        } => ir::validate(global, args),
        Command::Ir {
            command: IrCommand::Manifest(args),
        } => ir::manifest(args),
        Command::Ir {
            command: IrCommand::Compile(args),
        } => ir::compile(global, args),
        Command::Executor {
            command: ExecutorCommand::New(args),
        } => executor::new(global, args),
        Command::Executor {
            command: ExecutorCommand::Pin,
        } => executor::pin(global),
        Command::Executor {
            command: ExecutorCommand::Check(args),
        } => {
            become_subreaper();
            executor::check(global, args)
        }
        Command::Verify {
            command: VerifyCommand::Online(args),
        } => {
            become_subreaper();
            run::verify_online(global, args)
        }
    }
}

/// Descendants of the executor that leave its process group are re-parented to tm, which
/// kills them when the run ends (rep-process's subreaper and sweep).
fn become_subreaper() {
    if let Err(error) = rep_process::become_subreaper() {
        tracing::debug!("cannot become a child subreaper: {error}");
    }
}

fn exit(code: u8) -> ProcessExitCode {
    stderr_sink().flush(STDERR_FLUSH_WAIT);
    ProcessExitCode::from(code)
}

/// The command line, or the exit code after clap printed help or a usage error (help to
/// stdout; errors to stderr through the sink, colored per `--color`).
///
/// `command` is [`Cli`]'s plain command. A command line it parses is parsed the same by
/// [`args::command`] (whose hidden copies of the global flags parse as the propagated ones
/// do), so that collapsed command, costly to build, is built only when clap prints something.
/// Both are dropped before the command runs.
fn parse(argv: &[OsString], command: clap::Command, color: Color) -> Result<Cli, u8> {
    // A near miss of one of our commands is a typo, not a TraceMind command to hand over.
    let parse_with = |command: clap::Command| match route::typo(argv, &command) {
        Some(typo) => Err(typo),
        None => command
            .try_get_matches_from(argv)
            .and_then(|matches| Cli::from_arg_matches(&matches)),
    };
    if let Ok(cli) = parse_with(command) {
        return Ok(cli);
    }
    // Help, a usage error or a typo: rendered by the command as its help shows it.
    parse_with(args::command().color(clap_color(color))).map_err(|error| {
        if error.use_stderr() {
            let rendered = error.render();
            let text = if stderr_color(color) {
                rendered.ansi().to_string()
            } else {
                rendered.to_string()
            };
            note(text.trim_end());
        } else {
            // Help: stdout; a closed stdout is not an error.
            let _ = error.print();
        }
        u8::try_from(error.exit_code()).unwrap_or(2)
    })
}

/// clap's color choice for `--color WHEN`.
fn clap_color(color: Color) -> clap::ColorChoice {
    match color {
        Color::Auto => clap::ColorChoice::Auto,
        Color::Always => clap::ColorChoice::Always,
        Color::Never => clap::ColorChoice::Never,
    }
}

/// `--color WHEN` as given on the command line (the last one wins), before clap has parsed
/// it: clap's own messages are colored by it too.
fn color_in(argv: &[OsString]) -> Color {
    use clap::ValueEnum;
    let mut color = Color::Auto;
    let mut args = argv.iter().skip(1).map(|a| a.to_string_lossy());
    while let Some(arg) = args.next() {
        let value = match arg.strip_prefix("--color") {
            Some("") => args.next().map(|v| v.into_owned()),
            Some(rest) => rest.strip_prefix('=').map(str::to_owned),
            None if arg == "--" => break,
            None => continue,
        };
        if let Some(parsed) = value.and_then(|v| Color::from_str(&v, true).ok()) {
            color = parsed;
        }
    }
    color
}

/// Whether `tm`'s stderr is colored: `--color`, else a terminal without `NO_COLOR`.
pub fn stderr_color(color: Color) -> bool {
    match color {
        Color::Always => true,
        Color::Never => false,
        Color::Auto => rep_process::color::auto(std::io::stderr().is_terminal()),
    }
}

/// The names of this tm's own commands (TraceMind's CLI gets every other).
fn own_commands() -> Vec<String> {
    Cli::command()
        .get_subcommands()
        .filter(|c| !c.is_hide_set())
        .map(|c| c.get_name().to_owned())
        .collect()
}

/// Logs go to stderr only (stdout carries the result), through the non-blocking sink.
/// `-q` shows errors only; `-v`/`-vv`/`-vvv` info/debug/trace; else `RUST_LOG`, else warnings.
fn init_logging(global: &GlobalArgs) {
    use tracing_subscriber::EnvFilter;
    let filter = match (global.quiet, global.verbose) {
        (true, _) => EnvFilter::new("error"),
        (false, 0) => EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn")),
        (false, 1) => EnvFilter::new("info"),
        (false, 2) => EnvFilter::new("debug"),
        (false, _) => EnvFilter::new("trace"),
    };
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(stderr_color(global.color))
        .with_writer(SinkWriter)
        .with_target(false)
        .init();
}

/// Writes a line to stderr without ever blocking or failing.
fn note(line: &str) {
    stderr_sink().own_line(line);
}

/// Prints `error: …` and its causes to stderr (rep-process's one chain printer), unless the
/// command told the failure itself; an invalid document and mismatched inputs list their
/// problems one a line.
fn report(failure: &Failure) {
    use flow_ir::{IrFileError, ValidationError};
    let invalid_ir = |path: &std::path::Path, source: &ValidationError| {
        stderr_sink().error_line(&format!("invalid Flow IR in {}:", path.display()));
        for problem in &source.problems {
            note(&format!("  - {problem}"));
        }
    };
    match failure {
        _ if failure.already_told() => {}
        Failure::Manifest(ManifestError::Ir {
            source: IrFileError::Invalid { path, source },
            ..
        })
        | Failure::IrManifest(ir::IrManifestError::File(IrFileError::Invalid { path, source })) => {
            invalid_ir(path, source);
        }
        Failure::Cases(errors) => {
            stderr_sink().error_line(&format!("{failure}:"));
            for error in errors {
                note(&format!("  - {error}"));
            }
        }
        Failure::InputsMismatch { problems, .. } => {
            stderr_sink().error_line(&format!("{failure}:"));
            for problem in &problems.problems {
                note(&format!("  - {problem}"));
            }
            note(
                "hint: give the inputs with --inputs JSON|@FILE|@-; --no-input-check skips this check",
            );
        }
        _ => stderr_sink().error(failure),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn argv(args: &[&str]) -> Vec<OsString> {
        std::iter::once("tm")
            .chain(args.iter().copied())
            .map(OsString::from)
            .collect()
    }

    /// `parse` parses with the plain command and builds the collapsed one only to print:
    /// both must read every command line the same.
    #[test]
    fn the_plain_and_the_collapsed_command_parse_alike() {
        let lines: &[&[&str]] = &[
            &[
                "-v",
                "runtime",
                "run",
                "--manifest",
                "m.json",
                "--flow",
                "f",
            ],
            &[
                "runtime",
                "run",
                "--manifest",
                "m.json",
                "--flow",
                "f",
                "-q",
                "--color",
                "never",
            ],
            &[
                "--executor-path",
                "x",
                "runtime",
                "capabilities",
                "--engine",
                "proc",
            ],
            &["ir", "validate", "a.json", "b.json", "-vv"],
            &["verify", "online", "--help"],
            &["runtime", "run", "--bogus"],
            &["--version"],
            &["validate", "x", "--flag"],
            &[],
        ];
        for line in lines {
            let parse = |command: clap::Command| {
                command
                    .try_get_matches_from(argv(line))
                    .and_then(|m| Cli::from_arg_matches(&m))
                    .map(|cli| format!("{cli:?}"))
                    .map_err(|e| e.kind())
            };
            assert_eq!(
                parse(Cli::command()),
                parse(args::command()),
                "tm {}",
                line.join(" ")
            );
        }
    }

    #[test]
    fn tm_s_own_commands_are_never_handed_to_tracemind() {
        // Whatever is added to the command tree (tm executor …, tm ir … later) is ours.
        for name in own_commands() {
            // `tm NAME --help` is this tm's help: the command is ours, not handed over.
            let parsed = Cli::try_parse_from(argv(&[&name, "--help"]));
            match parsed {
                Err(error) => assert_eq!(error.kind(), clap::error::ErrorKind::DisplayHelp),
                Ok(cli) => panic!("{name} was parsed as {:?}", cli.command),
            }
        }
        for name in ["dsl", "init", "run", "validate", "new", "daemon"] {
            let cli = Cli::try_parse_from(argv(&["--engine", "proc", name, "x", "--flag"]));
            match cli.map(|c| c.command) {
                Ok(Some(Command::External(args))) => {
                    assert_eq!(args, argv(&[name, "x", "--flag"])[1..]);
                }
                other => panic!("{name}: {other:?}"),
            }
        }
    }

    #[test]
    fn the_color_flag_is_found_before_parsing() {
        assert_eq!(
            color_in(&argv(&["--color", "never", "runtime"])),
            Color::Never
        );
        assert_eq!(
            color_in(&argv(&["runtime", "--color=always"])),
            Color::Always
        );
        assert_eq!(color_in(&argv(&["--", "--color=always"])), Color::Auto);
        assert_eq!(color_in(&argv(&["--color", "nope"])), Color::Auto);
    }
}

//! Every way a `tm` command can fail, and the one mapping of a command's result to its exit
//! code ([`exit_code`]; the table is rep-spec's [`ExitCode`], REP v0.1 §5; docs/exit-codes.md
//! documents it with the other binaries').

use std::path::PathBuf;

use flow_ir::ManifestError;
use rep_host::{CacheError, CompileError, ConfigError, Interrupt, RecordError, RunError};
use rep_spec::ExitCode;

use super::delegate::DelegateError;
use super::executor::ExecutorError;
use super::inputs::InputsArgError;
use super::ir::IrManifestError;

/// A failure of a `tm` command. Messages do not repeat their source: the chain printer
/// shows it as "caused by: …".
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    /// The manifest, the flow's IR file, or the IR itself (before any executor started).
    #[error(transparent)]
    Manifest(ManifestError),
    /// `--inputs` cannot be read or parsed.
    #[error(transparent)]
    Inputs(InputsArgError),
    /// The inputs do not match the flow's `inputs_schema` (before any executor started).
    #[error("the inputs of flow {flow:?} do not match its inputs_schema")]
    InputsMismatch {
        flow: String,
        problems: flow_ir::InputsError,
    },
    /// `--sources` could not be compiled.
    #[error(transparent)]
    Compile(CompileError),
    /// runtime.yaml or the flags that resolve the executor.
    #[error(transparent)]
    Config(ConfigError),
    /// `--events-jsonl FILE` cannot be opened.
    #[error("cannot open --events-jsonl file {path}")]
    EventsJsonl {
        path: PathBuf,
        source: rep_files::WriteError,
    },
    /// `--trace-out FILE` cannot be created (before any executor started).
    #[error("cannot open --trace-out file {path}")]
    TraceOut {
        path: PathBuf,
        source: rep_files::WriteError,
    },
    /// `--record FILE` cannot be created (before any executor started).
    #[error("cannot record the session (--record)")]
    Record(#[source] RecordError),
    /// The command line is incomplete in a way clap cannot tell.
    #[error("{0}")]
    Usage(&'static str),
    /// The capability cache cannot be read or written.
    #[error(transparent)]
    Cache(CacheError),
    /// The async runtime cannot be started.
    #[error("cannot start the async runtime")]
    Runtime(#[source] std::io::Error),
    /// `tm man --dir DIR` cannot write its pages.
    #[error(transparent)]
    Man(#[from] rep_cli::ManError),
    /// The result could not be written to stdout (not a closed stdout: that ends `tm`
    /// quietly).
    #[error("cannot write the result to stdout")]
    Stdout(#[source] std::io::Error),
    /// A TraceMind command could not be handed to TraceMind's CLI.
    #[error(transparent)]
    Delegate(DelegateError),
    /// `tm ir manifest` wrote nothing.
    #[error(transparent)]
    IrManifest(IrManifestError),
    /// `tm executor new` or `tm executor check` could not do its work.
    #[error(transparent)]
    Executor(ExecutorError),
    /// The run failed: the error in the JSON output, told before it.
    #[error(transparent)]
    Run(RunError),
    /// `tm runtime capabilities`: the exchange failed.
    #[error(transparent)]
    Capabilities(RunError),
    /// `tm ir validate`: files are invalid (their problems are on stdout).
    #[error(
        "{invalid} of {files} {} invalid ({problems} {})",
        super::ir::plural(*files, "file", "files"),
        super::ir::plural(*problems, "problem", "problems")
    )]
    InvalidIrFiles {
        invalid: usize,
        files: usize,
        problems: usize,
    },
    /// `tm executor check`: checks failed (each on stdout).
    #[error("{failed} of {total} checks failed")]
    ChecksFailed { failed: usize, total: usize },
    /// `verify online --cases`: case files that cannot be used (each named with its JSON
    /// pointer), before any executor started.
    #[error("{} invalid case {}", .0.len(), if .0.len() == 1 { "file" } else { "files" })]
    Cases(Vec<super::cases::CaseError>),
    /// `verify online --cases`: cases failed or broke (each on stdout); `exit` is 1, or the
    /// first broken case's 3 or 4.
    #[error(
        "{} of {} cases did not pass ({} failed, {} broken)",
        tally.failed + tally.broken,
        tally.total,
        tally.failed,
        tally.broken
    )]
    CasesFailed {
        tally: super::contract::Tally,
        exit: ExitCode,
    },
    /// `verify online --cases`: a signal cancelled the runs going on; no case started after it.
    #[error(
        "{}: the contract check was cancelled ({} of {} cases not finished)",
        interrupt.name(),
        tally.not_finished,
        tally.total
    )]
    CasesInterrupted {
        interrupt: Interrupt,
        tally: super::contract::Tally,
    },
    /// `verify online --cases --junit/--json FILE` could not be written.
    #[error("cannot write the report {path}")]
    Report {
        path: PathBuf,
        source: rep_files::WriteError,
    },
    /// A signal arrived once the run was over, while its result or outputs were written (the
    /// run's own interruption is a [`Failure::Run`]).
    #[error("{}: the run's outputs were not finished", interrupt.name())]
    Interrupted { interrupt: Interrupt },
}

impl Failure {
    /// Whether the command told this failure itself, where it happened (a run's error, before
    /// its result; an interrupt, when it came): [`super::report`] does not repeat it.
    pub fn already_told(&self) -> bool {
        matches!(self, Failure::Run(_) | Failure::Interrupted { .. })
    }
}

/// The exit code of a `tm` command's result: the one place where `tm` maps outcomes to codes.
pub fn exit_code(result: &Result<(), Failure>) -> ExitCode {
    let Err(failure) = result else {
        return ExitCode::Completed;
    };
    match failure {
        Failure::Manifest(_)
        | Failure::Inputs(_)
        | Failure::InputsMismatch { .. }
        | Failure::EventsJsonl { .. }
        | Failure::TraceOut { .. }
        | Failure::Record(_)
        | Failure::Usage(_)
        | Failure::InvalidIrFiles { .. }
        | Failure::Cases(_) => ExitCode::BadInput,
        Failure::CasesFailed { exit, .. } => *exit,
        Failure::CasesInterrupted { interrupt, .. } => signal(*interrupt),
        Failure::Compile(CompileError::Interrupted(interrupt)) => signal(*interrupt),
        Failure::Compile(CompileError::Artifacts(_)) => ExitCode::RuntimeInternal,
        Failure::Compile(_) => ExitCode::BadInput,
        Failure::Config(ConfigError::LanguageMismatch { .. }) => ExitCode::Validation,
        Failure::Config(ConfigError::NoExecutor { .. }) => ExitCode::RuntimeInternal,
        Failure::Config(_) => ExitCode::BadInput,
        Failure::Delegate(DelegateError::NotInstalled { .. }) => ExitCode::BadInput,
        Failure::Delegate(_) => ExitCode::RuntimeInternal,
        Failure::Cache(_)
        | Failure::Runtime(_)
        | Failure::Man { .. }
        | Failure::Stdout(_)
        | Failure::Report { .. } => ExitCode::RuntimeInternal,
        Failure::IrManifest(IrManifestError::Write { .. }) => ExitCode::RuntimeInternal,
        Failure::IrManifest(_) => ExitCode::BadInput,
        Failure::Executor(
            ExecutorError::Io { .. }
            | ExecutorError::Template(_)
            | ExecutorError::Unreadable(_)
            | ExecutorError::Write { .. },
        ) => ExitCode::RuntimeInternal,
        Failure::Executor(_) => ExitCode::BadInput,
        Failure::ChecksFailed { .. } => ExitCode::RunFailed,
        Failure::Interrupted { interrupt } => signal(*interrupt),
        Failure::Run(error) | Failure::Capabilities(error) => error.exit_code(),
    }
}

/// 130, 143 or 129 (REP v0.1 §5 [clarified], by shell convention).
fn signal(interrupt: Interrupt) -> ExitCode {
    match interrupt {
        Interrupt::Sigint => ExitCode::Interrupted,
        Interrupt::Sigterm => ExitCode::Terminated,
        Interrupt::Sighup => ExitCode::HungUp,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rep_host::Cause;

    #[test]
    fn run_errors_exit_by_their_class_and_signals_by_theirs() {
        let table = [
            (1001, Cause::ExecutorError, 3),
            (1002, Cause::CapabilitiesMismatch, 3),
            (2001, Cause::RunFailed, 1),
            (3001, Cause::Timeout, 4),
            (3002, Cause::ExecutorError, 4),
            (-32601, Cause::ExecutorError, 4),
            (42, Cause::ExecutorError, 4),
            (3001, Cause::Interrupted, 130),
            (3001, Cause::Terminated, 143),
            (3001, Cause::HungUp, 129),
        ];
        for (code, cause, exit) in table {
            let failure = Failure::Run(RunError::new(code, cause, "x"));
            assert_eq!(exit_code(&Err(failure)).code(), exit, "{code} {cause:?}");
        }
        assert_eq!(exit_code(&Ok(())), ExitCode::Completed);
        let late = Failure::Interrupted {
            interrupt: Interrupt::Sighup,
        };
        assert_eq!(exit_code(&Err(late)), ExitCode::HungUp);
    }
}

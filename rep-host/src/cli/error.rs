//! Every way a `tm` command can fail, and the one mapping of failures to exit codes
//! (REP v0.1 §5; `tm --help` lists the codes).

use std::path::PathBuf;

use flow_ir::ManifestError;
use rep_host::{CacheError, CompileError, ConfigError, RecordError, RunError};
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
    #[error("cannot write the manual page {path}")]
    Man {
        path: PathBuf,
        source: rep_files::WriteError,
    },
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
    /// The run (or the Capabilities exchange) failed: the error in the JSON output.
    #[error(transparent)]
    Run(RunError),
}

impl Failure {
    /// The exit code of this failure: the one place where `tm` maps errors to codes.
    pub fn exit_code(&self) -> ExitCode {
        match self {
            Failure::Manifest(_)
            | Failure::Inputs(_)
            | Failure::InputsMismatch { .. }
            | Failure::EventsJsonl { .. }
            | Failure::Record(_)
            | Failure::Usage(_) => ExitCode::BadInput,
            Failure::Compile(CompileError::Interrupted(interrupt)) => interrupted(*interrupt),
            Failure::Compile(_) => ExitCode::BadInput,
            Failure::Config(ConfigError::LanguageMismatch { .. }) => ExitCode::Validation,
            Failure::Config(ConfigError::NoExecutor { .. }) => ExitCode::RuntimeInternal,
            Failure::Config(_) => ExitCode::BadInput,
            Failure::Delegate(DelegateError::NotInstalled { .. }) => ExitCode::BadInput,
            Failure::Delegate(_) => ExitCode::RuntimeInternal,
            Failure::Cache(_) | Failure::Runtime(_) | Failure::Man { .. } | Failure::Stdout(_) => {
                ExitCode::RuntimeInternal
            }
            Failure::IrManifest(error) => error.exit_code(),
            Failure::Executor(error) => error.exit_code(),
            Failure::Run(error) => error.exit_code(),
        }
    }
}

/// The exit code after `interrupt` (REP v0.1 §5's 130 and 143, and 129 for SIGHUP).
pub fn interrupted(interrupt: rep_host::Interrupt) -> ExitCode {
    match interrupt {
        rep_host::Interrupt::Sigint => ExitCode::Interrupted,
        rep_host::Interrupt::Sigterm => ExitCode::Terminated,
        rep_host::Interrupt::Sighup => ExitCode::HungUp,
    }
}

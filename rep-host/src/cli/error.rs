//! Every way a `tm` command can fail, and the one mapping of failures to exit codes
//! (REP v0.1 §5; `tm --help` lists the codes).

use std::path::PathBuf;

use flow_ir::ManifestError;
use rep_host::{CacheError, ConfigError, RunError};
use rep_spec::ExitCode;

use super::inputs::InputsError;

/// A failure of a `tm` command. Messages do not repeat their source: the chain printer
/// shows it as "caused by: …".
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    /// The manifest, the flow's IR file, or the IR itself (before any executor started).
    #[error(transparent)]
    Manifest(ManifestError),
    /// `--inputs`.
    #[error(transparent)]
    Inputs(InputsError),
    /// runtime.yaml or the flags that resolve the executor.
    #[error(transparent)]
    Config(ConfigError),
    /// `--events-jsonl FILE` cannot be opened.
    #[error("cannot open --events-jsonl file {path}")]
    EventsJsonl {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The command line is incomplete in a way clap cannot tell.
    #[error("{0}")]
    Usage(&'static str),
    /// The capability cache cannot be read or written.
    #[error(transparent)]
    Cache(CacheError),
    /// The async runtime cannot be started.
    #[error("cannot start the async runtime")]
    Runtime(#[source] std::io::Error),
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
            | Failure::EventsJsonl { .. }
            | Failure::Usage(_) => ExitCode::BadInput,
            Failure::Config(ConfigError::LanguageMismatch { .. }) => ExitCode::Validation,
            Failure::Config(ConfigError::NoExecutor { .. }) => ExitCode::RuntimeInternal,
            Failure::Config(_) => ExitCode::BadInput,
            Failure::Cache(_) | Failure::Runtime(_) => ExitCode::RuntimeInternal,
            Failure::Run(error) => error.exit_code(),
        }
    }
}

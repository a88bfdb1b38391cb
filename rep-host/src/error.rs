//! Host-side errors: every way a run can fail, with its REP code, class and cause
//! (REP v0.1 §5; architecture invariant 5). `tm` maps them to exit codes in one place (its
//! `cli/error.rs`, docs/exit-codes.md).

use rep_spec::{ErrorClass, ExitCode, RawErrorObject, codes};
use serde::Serialize;

/// Why a run did not complete, as reported in the `error` member of `tm`'s output.
#[derive(Debug, Clone, PartialEq, Serialize, thiserror::Error)]
#[error("{message}")]
pub struct RunError {
    /// The REP error code (e.g. 1002, 2001, 3001).
    pub code: i64,
    /// The class of the code.
    pub class: ErrorClass,
    /// What happened, for a person: names the executor, frame or step involved.
    pub message: String,
    /// A machine-readable cause, e.g. `Timeout`, `Eof`, `InvalidJson`,
    /// `CapabilitiesMismatch`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cause: Option<Cause>,
    /// The executor's error object, when the executor reported the error: exactly as it was
    /// sent (every number in its `data` kept). Boxed: most errors have none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub executor_error: Option<Box<RawErrorObject>>,
    /// With [`Cause::CapabilitiesMismatch`]: the step kinds the executor lacks, sorted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub missing_step_kinds: Option<Vec<String>>,
}

/// Machine-readable causes of host-side errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub enum Cause {
    /// The executor lacks step kinds the flow needs (exit 3).
    CapabilitiesMismatch,
    /// The Capabilities result is missing a required field or has a wrong type (exit 3).
    InvalidCapabilities,
    /// The runtime configuration is inconsistent (e.g. `plugins_language` ≠ `language`).
    LanguageMismatch,
    /// The engine timeout expired (exit 4).
    Timeout,
    /// The executor could not be started: not found, not executable (exit 4).
    Spawn,
    /// The executor file's sha256 is not the pinned one: it was not run (exit 4).
    ExecutorMismatch,
    /// The sandbox asked for cannot be applied on this kernel (exit 4).
    Sandbox,
    /// The executor closed its stdout or exited before answering (exit 4).
    Eof,
    /// A frame was not valid JSON (exit 4).
    InvalidJson,
    /// A frame was not valid UTF-8 (exit 4).
    InvalidUtf8,
    /// A frame exceeded the frame bound (exit 4).
    FrameTooLong,
    /// A frame was JSON but not a usable JSON-RPC response (exit 4).
    InvalidResponse,
    /// A response carried an id no request of the host has (exit 4).
    WrongId,
    /// A second response to a request already answered (exit 4).
    DuplicateResponse,
    /// The executor answered a request with an error object.
    ExecutorError,
    /// The executor reported the run as failed.
    RunFailed,
    /// The user interrupted the run (SIGINT): exit 130.
    Interrupted,
    /// The host was asked to terminate (SIGTERM): exit 143.
    Terminated,
    /// The host's terminal or session went away (SIGHUP): exit 129.
    HungUp,
}

impl Cause {
    /// Whether the cause is a signal to the host (SIGINT, SIGTERM, SIGHUP).
    pub fn is_interrupt(self) -> bool {
        matches!(self, Cause::Interrupted | Cause::Terminated | Cause::HungUp)
    }
}

impl RunError {
    /// A host-side error with `code` (its class derived) and a cause.
    pub fn new(code: i64, cause: Cause, message: impl Into<String>) -> RunError {
        RunError {
            code,
            class: ErrorClass::of(code),
            message: message.into(),
            cause: Some(cause),
            executor_error: None,
            missing_step_kinds: None,
        }
    }

    /// A transport error (3001) with `cause`.
    pub fn transport(cause: Cause, message: impl Into<String>) -> RunError {
        RunError::new(codes::TRANSPORT, cause, message)
    }

    /// An error the executor answered with, to the request `method`.
    pub fn from_executor(method: &str, error: RawErrorObject) -> RunError {
        RunError {
            code: error.code,
            class: error.class(),
            message: format!(
                "executor answered {method} with error {}: {}",
                error.code, error.message
            ),
            cause: Some(Cause::ExecutorError),
            executor_error: Some(Box::new(error)),
            missing_step_kinds: None,
        }
    }

    /// The exit code of a run that ended with this error, the rule `tm` and the Python
    /// wheel share: 130, 143 or 129 for a signal to the host (REP v0.1 §5 [clarified], by
    /// shell convention), else by the class of the error's code (REP v0.1 §5): validation 3,
    /// step failure 1, anything else 4.
    pub fn exit_code(&self) -> ExitCode {
        match self.cause {
            Some(Cause::Interrupted) => ExitCode::Interrupted,
            Some(Cause::Terminated) => ExitCode::Terminated,
            Some(Cause::HungUp) => ExitCode::HungUp,
            _ => match self.class {
                ErrorClass::Validation => ExitCode::Validation,
                ErrorClass::StepFailure => ExitCode::RunFailed,
                ErrorClass::RuntimeInternal | ErrorClass::Protocol | ErrorClass::Unknown => {
                    ExitCode::RuntimeInternal
                }
            },
        }
    }
}

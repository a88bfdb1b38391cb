//! The exit codes of `rep-conformance` and `rep-replay`, and the one mapping of a command's
//! result to its code ([`exit_code`]); docs/exit-codes.md documents them with the other
//! binaries'.

use rep_process::Interrupt;

use crate::error::Error;
use crate::replay::ReplayError;

/// 0: nothing failed (SHOULD failures are warnings, skips are listed); the replay matches.
pub const PASS: u8 = 0;
/// 1: a MUST test failed (not baselined), a baseline entry is stale, or the executor did not
/// answer the probe; the replay differs from the recording.
pub const FAILED: u8 = 1;
/// 2: usage error (bad flag, glob or `--env`, a pattern matching no test, unreadable
/// fixtures, baseline or config, executor not startable, report not writable), or a file
/// that is not a replayable transcript.
pub const USAGE: u8 = 2;
/// 4: `replay`: the executor broke (could not start, stopped answering where the recorded
/// one answered), REP v0.1 §5's RuntimeInternal code.
pub const BROKEN: u8 = 4;
// 128 + N: stopped by signal N (130 SIGINT, 143 SIGTERM, 129 SIGHUP): rep-process's
// `Interrupt::exit_code`.

/// Why a command did not pass.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    /// The command cannot run or report (exit 2).
    #[error(transparent)]
    Usage(#[from] Error),
    /// The file is not a replayable transcript (exit 2).
    #[error(transparent)]
    Transcript(#[from] ReplayError),
    /// `replay`: the executor broke (exit 4).
    #[error("{0}")]
    Broken(String),
    /// Tests failed, or the replay differs: the report on stdout says how (exit 1).
    #[error("the executor did not pass")]
    Failed,
    /// `rep-replay`: the recorded executor exited with `code` at the end of the session
    /// (or died where it did), and so does the replay.
    #[error("the recorded executor exited with code {code}")]
    Recorded {
        /// The recorded exit code (128 + N for a signal N).
        code: u8,
    },
    /// `fuzz`, `verify`: the command printed its outcome and chose `code` from this table.
    #[error("exit {code}")]
    Told {
        /// [`FAILED`] or [`USAGE`].
        code: u8,
    },
    /// A signal stopped the command (exit 128 + N); said when it came.
    #[error("stopped by {}", interrupt.name())]
    Interrupted {
        /// Which.
        interrupt: Interrupt,
    },
}

impl Failure {
    /// Whether the command said this itself (on stdout, or when the signal came): it is not
    /// printed again.
    pub fn already_told(&self) -> bool {
        matches!(
            self,
            Failure::Failed
                | Failure::Recorded { .. }
                | Failure::Told { .. }
                | Failure::Interrupted { .. }
        )
    }
}

impl From<Interrupt> for Failure {
    fn from(interrupt: Interrupt) -> Failure {
        Failure::Interrupted { interrupt }
    }
}

/// The result of a command that printed its own outcome and returned `code` (one of this
/// table's).
pub fn told(code: u8) -> Result<(), Failure> {
    match code {
        PASS => Ok(()),
        code => Err(Failure::Told { code }),
    }
}

/// The exit code of a command's result: the one place where `rep-conformance` and
/// `rep-replay` map outcomes to codes.
pub fn exit_code(result: &Result<(), Failure>) -> u8 {
    match result {
        Ok(()) => PASS,
        Err(Failure::Failed) => FAILED,
        Err(Failure::Usage(_) | Failure::Transcript(_)) => USAGE,
        Err(Failure::Broken(_)) => BROKEN,
        Err(Failure::Recorded { code } | Failure::Told { code }) => *code,
        Err(Failure::Interrupted { interrupt }) => interrupt.exit_code(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_result_has_its_code() {
        assert_eq!(exit_code(&Ok(())), 0);
        assert_eq!(exit_code(&Err(Failure::Failed)), 1);
        assert_eq!(exit_code(&Err(Error::NothingSelected.into())), 2);
        assert_eq!(exit_code(&Err(Failure::Broken("gone".into()))), 4);
        assert_eq!(exit_code(&Err(Failure::Recorded { code: 3 })), 3);
        assert_eq!(exit_code(&Err(Interrupt::Sighup.into())), 129);
    }
}

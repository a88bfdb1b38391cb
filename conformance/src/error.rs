//! Errors that stop the suite before or after the tests (usage errors, exit code 2). Messages
//! do not repeat their source: the chain printer (rep-process's `StderrSink::error`) shows
//! it.

use std::path::PathBuf;

use crate::baseline::BaselineError;
use crate::fixtures::FixtureError;

/// Why `rep-conformance` cannot run or report (exit code 2). Test failures are verdicts, not
/// errors.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A `--filter` or `--skip` pattern is not a valid glob.
    #[error("invalid glob {pattern:?}: {message}")]
    Glob {
        /// The pattern as given.
        pattern: String,
        /// What is wrong with it.
        message: String,
    },
    /// A `--filter` or `--skip` pattern matches no test id (likely a typo).
    #[error("{flag} {pattern:?} matches no test id (`rep-conformance list` prints them)")]
    NoMatch {
        /// `--filter` or `--skip`.
        flag: &'static str,
        /// The pattern as given.
        pattern: String,
    },
    /// `--filter` and `--skip` leave no test to run.
    #[error("--filter and --skip leave no test to run")]
    NothingSelected,
    /// The `--baseline` file cannot be used.
    #[error(transparent)]
    Baseline(#[from] BaselineError),
    /// The `--config` file cannot be used.
    #[error(transparent)]
    Config(#[from] rep_host::ConfigError),
    /// Neither `--executor` nor a `--config` file with `runtime.executor_path` names the
    /// executor.
    #[error(
        "no executor: give --executor PATH, or --config runtime.yaml with runtime.executor_path"
    )]
    NoExecutor,
    /// A `--env` value is not `KEY=VALUE`.
    #[error("--env {given:?}: expected KEY=VALUE with a non-empty KEY")]
    EnvValue {
        /// The value as given.
        given: String,
    },
    /// The `--fixtures` directory or one of its files cannot be used.
    #[error(transparent)]
    Fixtures(#[from] FixtureError),
    /// The executor cannot be started at all.
    #[error("cannot start the executor {path}: {message}")]
    Spawn {
        /// The executor path.
        path: PathBuf,
        /// Why.
        message: String,
    },
    /// A report file cannot be written.
    #[error("cannot write the report {path}: {message}")]
    Report {
        /// The report file.
        path: PathBuf,
        /// Why.
        message: String,
    },
    /// `man --dir DIR` cannot write a page.
    #[error(transparent)]
    Man(#[from] rep_cli::ManError),
    /// A completion script or manual page cannot be written to stdout (a closed stdout is
    /// not an error).
    #[error("cannot write to stdout")]
    Stdout(#[source] std::io::Error),
    /// The async runtime cannot be started.
    #[error("cannot start the async runtime")]
    Runtime(#[source] std::io::Error),
}

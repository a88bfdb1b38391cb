//! The REP v0.1 host: runs Flow IR on an out-of-process executor over JSON-RPC 2.0 on stdio.
//!
//! Layers, each depending only on those below: configuration (pure: [`RuntimeConfig`],
//! [`resolve_executor`]) → the executor process ([`ExecutorProcess`]: the REP environment
//! and stderr, over rep-process's [`Group`](rep_process::Group): spawn, process group,
//! parent-death signal) → the [`Client`] (frames and ids over any
//! `AsyncRead`/`AsyncWrite` pair) → the [`Session`] (typed REP calls) → the runner
//! ([`run_with`]: the whole lifecycle, one call returning an [`Outcome`], and the one
//! shutdown sequence of [`ExecutorHandle`]'s module). The client, session and runner run as
//! well over an in-memory duplex as over a child's pipes ([`run_session`]).
//!
//! This process's own stderr goes through [`stderr_sink`], which never blocks a run. A
//! [`Recorder`] keeps a transcript of a session (docs/transcripts.md). Processes, signals
//! and the stderr sink are rep-process's, files a user names rep-files'; this crate
//! re-exports what its users need of them.

#![deny(missing_docs)]

mod cache;
mod client;
mod compile;
mod config;
pub mod conformance_report;
mod error;
mod launcher;
mod observe;
mod record;
mod runner;
mod session;
mod shutdown;
mod sink;
mod stderr;
mod which;

pub use cache::{CacheError, CacheRecord, cache_dir, clear_cache, write_cache};
pub use client::{CLOSE_WAIT, Client, NOTIFICATION_LOG_INTERVAL};
pub use compile::{
    Artifact, COMPILER_OUTPUT_BYTES, CompileError, CompileRequest, Compiled, compile_sources,
};
pub use config::{
    ALLOWED_ENV, ConfigError, DEFAULT_EXECUTOR_NAME, Engine, EnvPolicy, ExecutorSource, Overrides,
    ResolvedExecutor, RuntimeConfig, RuntimeSection, SandboxSection, parse_sha256,
    resolve_executor,
};
pub use error::{Cause, RunError};
pub use launcher::{ExecutorCommand, ExecutorProcess, RunEnv, STDERR_DRAIN_WAIT, prepare_sandbox};
pub use observe::{EVENTS_QUEUE_BYTES, EventsJsonl, OUTPUT_STALL, Progress};
pub use record::{RECORD_QUEUE_BYTES, RecordError, Recorder};
pub use rep_process::{
    Image, ImageError, Interrupt, InterruptSender, Interrupts, Plan, QUEUE_BYTES, Sandbox,
    StderrSink, become_subreaper, stderr_sink, sweep_orphans,
};
pub use runner::{
    DEFAULT_ENGINE_TIMEOUT, EXIT_REPORT_WAIT, Observer, Outcome, POLL_MAX, POLL_MIN, RunIds,
    RunRequest, fetch_capabilities, run, run_recorded, run_session, run_with,
};
pub use session::{INVALID_CAPABILITIES, Session, missing_step_kinds};
pub use shutdown::{
    BROKEN_GRACE, CANCEL_TIMEOUT, Ending, ExecutorHandle, SHUTDOWN_GRACE, TERM_BEFORE_KILL,
    shut_down,
};
pub use sink::SinkWriter;
pub use stderr::STDERR_TAIL_LINES;
pub use which::{find_all_on_path, find_on_path, is_bare_name, is_executable_file};

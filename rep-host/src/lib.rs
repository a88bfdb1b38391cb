//! The REP v0.1 host: runs Flow IR on an out-of-process executor over JSON-RPC 2.0 on stdio.
//!
//! The library's two entry points:
//!
//! - [`run`]: runs one flow ([`RunRequest`]) on a fresh executor process and returns its
//!   [`Outcome`] — the handshake, StartRun, Polls, the engine timeout, interrupts and the
//!   one shutdown sequence; progress reaches read-only [`Observer`]s.
//! - [`Session::open`]: starts an executor and opens a [`Session`] on it for REP calls of
//!   one's own ([`Session::capabilities`], [`Session::start_run`], [`Session::poll`],
//!   [`Session::cancel`]); [`shut_down`] ends it.
//!
//! Layers, each depending only on those below: configuration (pure: [`RuntimeConfig`],
//! [`resolve_executor`]) → the executor process ([`ExecutorProcess`]: the REP environment
//! and stderr, over rep-process's [`Group`](rep_process::Group)) → the [`Client`] (frames
//! and ids over any `AsyncRead`/`AsyncWrite` pair) → the [`Session`] (typed REP calls) → the
//! runner. The client, session and runner run as well over an in-memory duplex as over a
//! child's pipes ([`run_session`]). Recording is a layer, not a parameter of each: a [`Tap`]
//! wraps the executor's streams and hands whole frames to a [`Recorder`]
//! (docs/transcripts.md).
//!
//! This process's own stderr goes through [`stderr_sink`], which never blocks a run.
//! Processes, signals and the stderr sink are rep-process's, files a user names rep-files';
//! this crate re-exports what its users need of them.

#![deny(missing_docs)]

mod cache;
mod client;
mod compile;
mod config;
pub mod conformance_report;
mod error;
mod launcher;
mod observe;
pub mod otel;
mod record;
mod runner;
mod session;
mod shutdown;
mod sink;
mod stderr;
mod tap;
mod which;

pub use cache::{CacheError, CacheRecord, cache_dir, clear_cache, write_cache};
pub use client::{CLOSE_WAIT, Client, NOTIFICATION_LOG_INTERVAL};
pub use compile::{
    Artifact, COMPILER_OUTPUT_BYTES, CompileError, CompileRequest, Compiled, WRITTEN_LIST,
    WrittenError, compile_sources,
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
    DEFAULT_ENGINE_TIMEOUT, EXIT_REPORT_WAIT, Observer, Outcome, RunIds, RunRequest,
    fetch_capabilities, run, run_session,
};
pub use session::{INVALID_CAPABILITIES, ProcessSession, Session, missing_step_kinds};
pub use shutdown::{
    BROKEN_GRACE, CANCEL_TIMEOUT, Ending, ExecutorHandle, SHUTDOWN_GRACE, TERM_BEFORE_KILL,
    shut_down,
};
pub use sink::SinkWriter;
pub use stderr::STDERR_TAIL_LINES;
pub use tap::{ExitHook, Tap, TapReader, TapSink, TapWriter};
pub use which::{find_all_on_path, find_on_path, is_bare_name, is_executable_file};

//! Every child process of rep's binaries, and how they end: one place for spawning, stopping
//! and signals (architecture invariant 4: nothing outlives a binary).
//!
//! - [`spawn`] a [`Spec`]: the child leads a new process group and gets SIGKILL from the
//!   kernel if this process dies (a parent-death signal, armed by the one forking thread:
//!   see [`spawn()`]'s module). The result is a [`Group`]:
//!   [`terminate`](Group::terminate), [`kill`](Group::kill), [`wait`](Group::wait), and
//!   [`stop`](Group::stop) by the shutdown [`Ladder`] ([`climb`] for other [`Stoppable`]
//!   processes). Dropping a group kills it.
//! - [`run`] a helper command to its end, bounded in time and output.
//! - [`become_subreaper`] and [`sweep_orphans`]: descendants that leave their group are
//!   re-parented to this process and killed at the end of a run.
//! - [`Interrupts`]: SIGINT, SIGTERM and SIGHUP (exit codes 130, 143, 129) the same way in
//!   every binary; [`exit_now`] for the second one.
//! - [`color`]: whether a stream is coloured (`NO_COLOR`) and the escape codes, one rule for
//!   every binary.
//! - [`stderr_sink`]: this process's stderr, which never blocks, and the one printer of an
//!   error and its causes ([`StderrSink::error`]).
//! - [`Image`]: an executable pinned by its sha256 and run from a sealed copy;
//!   [`Sandbox`]: what a child may do (network, folders, resource limits), prepared in the
//!   parent and applied between `fork` and `exec` (docs/security.md).
//!
//! Only this crate signals processes, forks them or sets their parent-death signal.

#![deny(missing_docs)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod color;
mod group;
mod image;
mod ladder;
mod reaper;
mod run;
mod sandbox;
mod signals;
mod sink;
mod spawn;

pub use group::{Group, kill_all};
pub use image::{Image, ImageError};
pub use ladder::{Ladder, REAP_WAIT, Stoppable, climb};
pub use reaper::{become_subreaper, sweep_orphans};
pub use run::{INTERRUPT_GRACE, Output, RunError, run, run_blocking};
pub use sandbox::{CPU_KILL_AFTER, Measure, Plan, Prepared, Sandbox, SandboxError};
pub use signals::{
    Interrupt, InterruptSender, Interrupts, exit_now, exit_on_signals, unless_interrupted,
};
pub use sink::{DEBUG_TAG, ErrorLines, QUEUE_BYTES, StderrSink, is_debug_line, stderr_sink};
pub use spawn::{Spec, Stdio, spawn};

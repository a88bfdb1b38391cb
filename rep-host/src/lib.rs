//! The REP v0.1 host: runs Flow IR on an out-of-process executor over JSON-RPC 2.0 on stdio.
//!
//! Layers, each depending only on those below: [`config`] (pure) → [`launcher`] (the child
//! process) → [`client`] (frames and ids) → [`session`] (typed REP calls) → [`runner`] (the
//! whole lifecycle, one call returning an [`Outcome`]).

#![deny(missing_docs)]

pub mod cache;
pub mod client;
pub mod config;
pub mod error;
pub mod launcher;
pub mod observe;
pub mod runner;
pub mod session;

pub use error::{Cause, RunError};
pub use runner::{Interrupt, Observer, Outcome, RunRequest, fetch_capabilities, run, run_with};

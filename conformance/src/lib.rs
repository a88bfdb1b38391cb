//! `rep-conformance`: tells an executor author, test by test, whether their executor speaks
//! REP v0.1 correctly, natively over stdio, as a stranger would: it uses the host's launcher
//! and rep-spec's JSON-RPC rules, never the executor kit.
//!
//! Layers: [`catalogue`] (ids, levels, sections, and each test's body) → [`checks`] (the
//! bodies) → [`conn`] (one executor process, raw frames) → [`suite`] (selection, probe,
//! verdicts, `--strict`, [`baseline`]) → [`report`] (human, JUnit, JSON) → [`cli`], whose
//! results become exit codes in [`exit`].
//! [`replay`] replays recorded transcripts: as an executor (`rep-replay`) and against one
//! (`rep-conformance replay`). [`semantics`] holds the reference model of flow semantics that
//! the `REP-SEM-*` tests and [`fuzz`] (`rep-conformance fuzz`) compare executors with;
//! [`verify`] checks a JSON report against an executor binary (`rep-conformance verify`).

#![deny(missing_docs)]

pub mod baseline;
pub mod catalogue;
pub mod checks;
pub mod cli;
pub mod conn;
pub mod error;
pub mod exit;
pub mod fixtures;
pub mod flows;
pub mod fuzz;
pub mod identity;
pub mod recording;
pub mod replay;
pub mod report;
pub mod requirements;
pub mod semantics;
pub mod suite;
pub mod verdict;
pub mod verify;
pub mod wire;

pub use catalogue::{CATALOGUE, Level, TestInfo};
pub use error::Error;
pub use suite::{Options, SuiteReport, run};
pub use verdict::{TestResult, Verdict};

//! `rep-conformance`: tells an executor author, test by test, whether their executor speaks
//! REP v0.1 (`rep-v0.1.md`) correctly, natively over stdio, as a stranger would: it uses the
//! host's launcher, never the executor kit.
//!
//! Layers: [`catalogue`] (ids, levels, sections) → [`conn`] (one executor process, raw
//! frames) → [`checks`] (the test bodies) → [`suite`] (selection, probe, verdicts) →
//! [`report`] (human, JUnit, JSON) → [`cli`].

#![deny(missing_docs)]

pub mod catalogue;
pub mod checks;
pub mod cli;
pub mod conn;
pub mod error;
pub mod fixtures;
pub mod flows;
pub mod report;
pub mod suite;
pub mod verdict;

pub use catalogue::{CATALOGUE, Level, TestInfo};
pub use error::Error;
pub use suite::{Options, SuiteReport, run};
pub use verdict::{TestResult, Verdict};

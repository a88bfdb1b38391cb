//! Reports of a suite run: the human summary, JUnit XML and JSON.

pub mod human;
pub mod json;
pub mod junit;

//! Flow semantics: what a run of a graph over `rep.probe`, `switch`, `finish` and `dsl.emit`
//! must do, and whether an executor did it. Used by the `REP-SEM-*` tests and by `fuzz`.
//!
//! [`case`] (the graph, inputs and cancel plan) → [`model`] (the one reference model: what
//! must happen) → [`exec`] (run it on an executor) → [`observe`] (what happened, and the
//! rules every run obeys) → [`compare`] (the differences).

pub mod case;
pub mod compare;
pub mod exec;
pub mod model;
pub mod observe;

//! Flow IR v1.0.0: the JSON document the TraceMind DSL compiler writes for each flow and a REP
//! host sends unchanged in `Runtime.StartRun.ir`.
//!
//! This crate holds the typed model ([`FlowIr`]), the embedded JSON Schema and the semantic
//! rules ([`validate`]), the canonical `inputs_schema` hash ([`inputs_schema_hash`]) and the
//! compiler's `manifest.json` ([`Manifest`]). Only the manifest loading functions do file I/O.
//! Section names refer to `docs/flow-ir.md` (Flow IR v1.0.0) and `docs/protocol.md` (REP v0.1).

#![deny(missing_docs)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod build;
mod consistency;
mod graph;
mod hash;
mod inputs;
mod manifest;
mod model;
mod pointer;
mod problem;
mod rules;
mod schema;
mod validate;
mod version;

pub use consistency::entry_warnings;
pub use graph::find_cycle;
pub use hash::{canonical_json, inputs_schema_hash};
pub use inputs::{InputProblem, InputsError, check_inputs, unknown_input_types};
pub use manifest::{
    IrFile, IrFileError, LoadedFlow, Manifest, ManifestEntry, ManifestError, load_ir_file,
};
pub use model::{
    Constants, Edge, EdgeOn, FlowHeader, FlowIr, Graph, Metadata, Node, Retry, SUPPORTED_VERSION,
};
pub use problem::{Problem, ProblemKind, ValidationError};
pub use schema::SCHEMA_JSON;
pub use validate::{validate, validate_document};
pub use version::check_version;

//! Flow IR v1.0.0 documents built in code: the smallest valid document around the nodes and
//! edges a caller gives (tests, generated conformance flows, benchmarks), so that the shape of
//! a whole document is written once.
//!
//! ```
//! use flow_ir::build::{document, edge, node};
//! use serde_json::json;
//!
//! let ir = document(
//!     "hello",
//!     vec![node("greet", "demo.hello", json!({"name": "$input.who"})), node("end", "finish", json!({}))],
//!     vec![edge("greet", "end")],
//! );
//! assert!(flow_ir::validate(&ir).is_ok());
//! ```

use serde_json::{Value, json};

use crate::model::SUPPORTED_VERSION;

/// A Flow IR v1.0.0 document named `name` (also its `constants.policyRef`, and
/// `metadata.source_file` `NAME.wdl`) with `nodes` and `edges`: no flow timeout, no inputs,
/// an empty policy, generated at 2026-01-01T00:00:00Z. Set other fields on the result.
pub fn document(name: &str, nodes: Vec<Value>, edges: Vec<Value>) -> Value {
    json!({
        "version": SUPPORTED_VERSION,
        "flow": {"name": name, "timeout_ms": 0},
        "constants": {"policyRef": name, "policy": {}},
        "inputs_schema": {},
        "graph": {"nodes": nodes, "edges": edges},
        "metadata": {"generated_at": "2026-01-01T00:00:00Z", "source_file": format!("{name}.wdl")},
    })
}

/// A node `id` of step kind `kind` with `with`, no timeout and no retry.
pub fn node(id: &str, kind: &str, with: Value) -> Value {
    json!({"id": id, "type": kind, "with": with, "timeout_ms": 0, "retry": {"max": 0, "backoff_ms": 0}})
}

/// A `success` edge from `from` to `to`.
pub fn edge(from: &str, to: &str) -> Value {
    edge_on(from, to, "success")
}

/// An edge from `from` to `to` taken `on` `"success"` or `"failure"`.
pub fn edge_on(from: &str, to: &str, on: &str) -> Value {
    json!({"from": from, "to": to, "on": on})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_document_is_valid_and_names_itself() {
        let ir = document(
            "t",
            vec![node("a", "x.y", json!({})), node("b", "finish", json!({}))],
            vec![edge("a", "b"), edge_on("a", "b", "failure")],
        );
        let typed = crate::validate(&ir).unwrap();
        assert_eq!(typed.flow.name, "t");
        assert_eq!(typed.constants.policy_ref, "t");
        assert_eq!(typed.metadata.source_file, "t.wdl");
    }
}

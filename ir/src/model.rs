//! The serde model of a Flow IR v1.0.0 document ("Flow IR v1.0.0", section "Document").
//!
//! Unknown fields are kept in `extra` on [`FlowIr`], [`Node`], [`Edge`] and [`Metadata`], so a
//! document survives deserialize → serialize with every field it had.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The only Flow IR version this crate accepts: `"1.0.0"` (Flow IR v1.0.0, `version`; REP v0.1 §3).
pub const SUPPORTED_VERSION: &str = "1.0.0";

/// A whole Flow IR document (Flow IR v1.0.0, section "Document").
///
/// Field order on serialization follows the compiler's output: `version`, `flow`, `constants`,
/// `inputs_schema`, `graph`, `metadata`, then unknown top-level fields in their original order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FlowIr {
    /// The IR version, `"1.0.0"` for every document this crate validates.
    pub version: String,
    /// The flow's name and overall timeout.
    pub flow: FlowHeader,
    /// Policy constants, opaque to the host.
    pub constants: Constants,
    /// A JSON Schema fragment or metadata describing the run inputs (always an object).
    pub inputs_schema: Value,
    /// The step graph.
    pub graph: Graph,
    /// Generation metadata.
    pub metadata: Metadata,
    /// Unknown top-level fields, kept in document order.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `flow`: `{ name: identifier, timeout_ms: int }` (Flow IR v1.0.0, section "Document").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FlowHeader {
    /// The flow's name, an identifier matching `^[A-Za-z0-9_.-]+$`.
    pub name: String,
    /// Whole-flow timeout in milliseconds, 0..=2^31-1; `0` means no flow timeout.
    pub timeout_ms: u64,
}

/// `constants`: `{ policyRef: string, policy: object }`, opaque to the host
/// (Flow IR v1.0.0, section "Document").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Constants {
    /// The name of the policy the flow was compiled against (JSON `policyRef`).
    #[serde(rename = "policyRef")]
    pub policy_ref: String,
    /// The compiled policy, e.g. `{ "policy": { "strategy": "pdl/v0", ... } }`.
    pub policy: Map<String, Value>,
}

/// `graph`: `{ nodes: [Node] (at least one), edges: [Edge] }` (Flow IR v1.0.0, section "Document").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Graph {
    /// The steps, in document order.
    pub nodes: Vec<Node>,
    /// The transitions between steps, in document order.
    pub edges: Vec<Edge>,
}

/// One step (Flow IR v1.0.0, section "Document", `Node`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Node {
    /// The node id, an identifier unique within the graph (rule 2).
    pub id: String,
    /// The step kind, e.g. `"opcua.read"`, `"switch"` (JSON `type`).
    #[serde(rename = "type")]
    pub kind: String,
    /// The step's arguments; strings may hold `$input.`/`$step.`/`$.vars.` references.
    pub with: Map<String, Value>,
    /// Step timeout in milliseconds, 0..=2^31-1; `0` means no step timeout.
    pub timeout_ms: u64,
    /// Retry policy.
    pub retry: Retry,
    /// Unknown node fields, kept in document order (consumers ignore them).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `retry`: `{ max, backoff_ms }` (Flow IR v1.0.0, section "Document", `Node`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Retry {
    /// Maximum number of retries after the first attempt, 0..=2^31-1.
    pub max: u32,
    /// Delay between attempts in milliseconds, 0..=2^31-1.
    pub backoff_ms: u64,
}

/// One transition (Flow IR v1.0.0, section "Document", `Edge`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Edge {
    /// The id of the node the edge leaves (rule 3).
    pub from: String,
    /// The id of the node the edge enters (rule 3).
    pub to: String,
    /// Whether the edge is taken when `from` succeeds or fails (rule 4).
    pub on: EdgeOn,
    /// For edges leaving a `switch` node: the case key the edge belongs to
    /// (Flow IR v1.0.0, section "The dialect the reference compiler emits").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub case: Option<String>,
    /// Unknown edge fields, kept in document order.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `on`: `"success"` or `"failure"` (Flow IR v1.0.0, rule 4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EdgeOn {
    /// Taken when the `from` step succeeded.
    Success,
    /// Taken when the `from` step failed.
    Failure,
}

impl EdgeOn {
    /// The wire spelling: `"success"` or `"failure"`.
    pub fn as_str(self) -> &'static str {
        match self {
            EdgeOn::Success => "success",
            EdgeOn::Failure => "failure",
        }
    }
}

impl std::fmt::Display for EdgeOn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `metadata`: `{ generated_at: RFC 3339, source_file: string, ... }`
/// (Flow IR v1.0.0, section "Document"; rule 6).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metadata {
    /// When the compiler wrote the document, RFC 3339 (e.g. `"2026-11-20T22:58:45Z"`).
    pub generated_at: String,
    /// The DSL file the flow came from, relative to the project (e.g. `"flows/x.wdl"`).
    pub source_file: String,
    /// Unknown metadata fields, kept in document order.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl FlowIr {
    /// The step kinds the flow needs: the set of `graph.nodes[].type`, sorted (REP v0.1 §2).
    pub fn required_step_kinds(&self) -> BTreeSet<String> {
        self.graph.nodes.iter().map(|n| n.kind.clone()).collect()
    }

    /// The node with this id, if any (ids are unique in a validated document, rule 2).
    pub fn node(&self, id: &str) -> Option<&Node> {
        self.graph.nodes.iter().find(|n| n.id == id)
    }

    /// The edges leaving node `id`, in document order.
    pub fn edges_from<'a>(&'a self, id: &'a str) -> impl Iterator<Item = &'a Edge> + 'a {
        self.graph.edges.iter().filter(move |e| e.from == id)
    }

    /// The entry nodes: nodes with no incoming edge, in document order
    /// (Flow IR v1.0.0, section "The dialect the reference compiler emits").
    pub fn entry_nodes(&self) -> Vec<&Node> {
        self.graph
            .nodes
            .iter()
            .filter(|n| !self.graph.edges.iter().any(|e| e.to == n.id))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A document with unknown fields at every level.
    fn doc() -> Value {
        let mut doc = crate::build::document(
            "f",
            vec![
                json!({"id": "a", "type": "x.y", "with": {"k": "$input.k"}, "timeout_ms": 5,
                       "retry": {"max": 1, "backoff_ms": 10}, "ui": {"x": 1}, "note": "n"}),
                crate::build::node("b", "finish", json!({})),
            ],
            vec![
                json!({"from": "a", "to": "b", "on": "failure", "label": "oops", "case": "c"}),
                crate::build::edge("a", "b"),
            ],
        );
        doc["metadata"]["compiler"] = json!("tm");
        doc["x-extra"] = json!([1, 2]);
        doc
    }

    #[test]
    fn round_trip_keeps_unknown_fields_and_order() {
        let original = doc();
        let ir: FlowIr = serde_json::from_value(original.clone()).unwrap();
        assert_eq!(ir.graph.nodes[0].extra["ui"], json!({"x": 1}));
        assert_eq!(ir.graph.edges[0].extra["label"], json!("oops"));
        assert_eq!(ir.graph.edges[0].case.as_deref(), Some("c"));
        assert_eq!(ir.graph.edges[1].case, None);
        assert_eq!(ir.metadata.extra["compiler"], json!("tm"));
        assert_eq!(ir.extra["x-extra"], json!([1, 2]));
        let back = serde_json::to_value(&ir).unwrap();
        assert_eq!(back, original);
        // Key order too (preserve_order): node fields then unknown ones.
        let keys: Vec<_> = back["graph"]["nodes"][0]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        assert_eq!(
            keys,
            ["id", "type", "with", "timeout_ms", "retry", "ui", "note"]
        );
        assert!(back["graph"]["edges"][1].get("case").is_none());
    }

    #[test]
    fn helpers() {
        let ir: FlowIr = serde_json::from_value(doc()).unwrap();
        let kinds: Vec<_> = ir.required_step_kinds().into_iter().collect();
        assert_eq!(kinds, ["finish", "x.y"]);
        assert_eq!(ir.node("b").unwrap().kind, "finish");
        assert!(ir.node("zz").is_none());
        assert_eq!(ir.edges_from("a").count(), 2);
        assert_eq!(ir.entry_nodes().len(), 1);
        assert_eq!(ir.entry_nodes()[0].id, "a");
        assert_eq!(EdgeOn::Failure.to_string(), "failure");
    }
}

//! A semantic test case: a Flow IR graph over `rep.probe`, `switch`, `finish` and `dsl.emit`,
//! the run inputs, and optionally when to cancel the run.
//!
//! The same type is built by hand (the `REP-SEM-*` tests), generated (`rep-conformance
//! fuzz`), shrunk, and written to and read from a case file:
//!
//! ```text
//! { format: "rep-conformance-fuzz-case/1", ir: FlowIR, inputs: object,
//!   cancel_at: node id | null, seed?: integer, case?: integer }
//! ```

use std::path::Path;

use flow_ir::{Edge, EdgeOn, Node, Retry};
use serde_json::{Map, Value, json};

/// The `format` of a case file.
pub const CASE_FORMAT: &str = "rep-conformance-fuzz-case/1";

/// The probe step kind (docs/protocol.md, "Conformance extension").
pub const PROBE: &str = "rep.probe";
/// The built-in control kind `switch` (Flow IR dialect).
pub const SWITCH: &str = "switch";
/// The built-in control kind `finish` (Flow IR dialect).
pub const FINISH: &str = "finish";
/// The step kind whose resolved `with` is the flow's outputs (Flow IR dialect).
pub const EMIT: &str = "dsl.emit";

/// A flow, its inputs, and the cancel plan.
#[derive(Debug, Clone, PartialEq)]
pub struct Case {
    /// The flow's name (`flow.name`).
    pub name: String,
    /// The nodes, in document order.
    pub nodes: Vec<Node>,
    /// The edges, in document order.
    pub edges: Vec<Edge>,
    /// The run inputs (`StartRun.inputs`).
    pub inputs: Map<String, Value>,
    /// Cancel the run as soon as this node's first `started` event is seen.
    pub cancel_at: Option<String>,
}

/// A case file or IR the semantic tests cannot use; says what and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct CaseError(pub String);

impl Case {
    /// A case of `nodes` and `edges` named `name`, with no inputs and no cancel.
    pub fn new(name: &str, nodes: Vec<Node>, edges: Vec<Edge>) -> Case {
        Case {
            name: name.to_owned(),
            nodes,
            edges,
            inputs: Map::new(),
            cancel_at: None,
        }
    }

    /// The same case with `inputs`.
    pub fn with_inputs(mut self, inputs: Value) -> Case {
        if let Value::Object(map) = inputs {
            self.inputs = map;
        }
        self
    }

    /// The same case, cancelled once `node` has started.
    pub fn cancelled_at(mut self, node: &str) -> Case {
        self.cancel_at = Some(node.to_owned());
        self
    }

    /// The node with `id`.
    pub fn node(&self, id: &str) -> Option<&Node> {
        self.nodes.iter().find(|n| n.id == id)
    }

    /// The Flow IR v1.0.0 document.
    pub fn ir(&self) -> Value {
        flow_ir::build::document(
            &self.name,
            self.nodes.iter().map(node_json).collect(),
            self.edges.iter().map(edge_json).collect(),
        )
    }

    /// Reads a Flow IR document (validated by the Flow IR rules) and inputs.
    ///
    /// # Errors
    /// The IR's validation problems, each with its JSON pointer.
    pub fn from_ir(ir: &Value, inputs: Map<String, Value>) -> Result<Case, CaseError> {
        let flow = flow_ir::validate(ir).map_err(|e| CaseError(format!("invalid Flow IR: {e}")))?;
        Ok(Case {
            name: flow.flow.name,
            nodes: flow.graph.nodes,
            edges: flow.graph.edges,
            inputs,
            cancel_at: None,
        })
    }

    /// The case file: `{format, ir, inputs, cancel_at, …extra}`.
    pub fn to_file(&self, extra: Map<String, Value>) -> Value {
        let mut file = Map::new();
        file.insert("format".into(), json!(CASE_FORMAT));
        file.insert("ir".into(), self.ir());
        file.insert("inputs".into(), Value::Object(self.inputs.clone()));
        file.insert("cancel_at".into(), json!(self.cancel_at));
        file.extend(extra);
        Value::Object(file)
    }

    /// Reads a case file written by [`Case::to_file`] (a bare Flow IR document is read as a
    /// case with no inputs and no cancel).
    ///
    /// # Errors
    /// An unreadable file, JSON that is neither, an invalid IR, or a `cancel_at` that names no
    /// node; each error names the file.
    pub fn load(path: &Path) -> Result<Case, CaseError> {
        let named = |message: String| CaseError(format!("{}: {message}", path.display()));
        let text = rep_files::read_to_string(path, rep_files::caps::FUZZ_CASE)
            .map_err(|e| named(e.to_string()))?;
        let file: Value =
            serde_json::from_str(&text).map_err(|e| named(format!("not JSON: {e}")))?;
        if file.get("format").is_none() && file.get("graph").is_some() {
            return Case::from_ir(&file, Map::new()).map_err(|e| named(e.0));
        }
        if file.get("format") != Some(&json!(CASE_FORMAT)) {
            return Err(named(format!(
                "not a case file: \"format\" must be {CASE_FORMAT:?}"
            )));
        }
        let inputs = match file.get("inputs") {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(map)) => map.clone(),
            Some(_) => return Err(named("/inputs must be an object".into())),
        };
        let ir = file
            .get("ir")
            .ok_or_else(|| named("/ir is missing".into()))?;
        let mut case = Case::from_ir(ir, inputs).map_err(|e| named(format!("/ir: {}", e.0)))?;
        match file.get("cancel_at") {
            None | Some(Value::Null) => {}
            Some(Value::String(id)) if case.node(id).is_some() => case.cancel_at = Some(id.clone()),
            Some(other) => {
                return Err(named(format!("/cancel_at {other} names no node of the IR")));
            }
        }
        Ok(case)
    }

    /// The step kinds the case uses, sorted and unique.
    pub fn kinds(&self) -> Vec<String> {
        let mut kinds: Vec<String> = self.nodes.iter().map(|n| n.kind.clone()).collect();
        kinds.sort();
        kinds.dedup();
        kinds
    }
}

/// A node of `kind` with `with`, no timeout and no retry.
pub fn node(id: &str, kind: &str, with: Value) -> Node {
    Node {
        id: id.to_owned(),
        kind: kind.to_owned(),
        with: match with {
            Value::Object(map) => map,
            _ => Map::new(),
        },
        timeout_ms: 0,
        retry: Retry {
            max: 0,
            backoff_ms: 0,
        },
        extra: Map::new(),
    }
}

/// A `rep.probe` node.
pub fn probe(id: &str, with: Value) -> Node {
    node(id, PROBE, with)
}

/// `node` with `retry: {max, backoff_ms}`.
pub fn retried(mut node: Node, max: u32, backoff_ms: u64) -> Node {
    node.retry = Retry { max, backoff_ms };
    node
}

/// `node` with `timeout_ms`.
pub fn timed(mut node: Node, timeout_ms: u64) -> Node {
    node.timeout_ms = timeout_ms;
    node
}

/// A `switch` node on `key_from` with `cases` (`label → node id`) and `default` (a label).
pub fn switch(id: &str, key_from: &str, cases: &[(&str, &str)], default: &str) -> Node {
    let cases: Map<String, Value> = cases
        .iter()
        .map(|(label, to)| ((*label).to_owned(), json!(to)))
        .collect();
    node(
        id,
        SWITCH,
        json!({"key_from": key_from, "cases": cases, "default": default}),
    )
}

/// An edge taken when `from` succeeds.
pub fn success(from: &str, to: &str) -> Edge {
    edge(from, to, EdgeOn::Success, None)
}

/// An edge taken when `from` fails.
pub fn failure(from: &str, to: &str) -> Edge {
    edge(from, to, EdgeOn::Failure, None)
}

/// The edge of case `label` of the switch `from`.
pub fn case(from: &str, to: &str, label: &str) -> Edge {
    edge(from, to, EdgeOn::Success, Some(label))
}

fn edge(from: &str, to: &str, on: EdgeOn, case: Option<&str>) -> Edge {
    Edge {
        from: from.to_owned(),
        to: to.to_owned(),
        on,
        case: case.map(str::to_owned),
        extra: Map::new(),
    }
}

fn node_json(node: &Node) -> Value {
    json!({
        "id": node.id,
        "type": node.kind,
        "with": node.with,
        "timeout_ms": node.timeout_ms,
        "retry": {"max": node.retry.max, "backoff_ms": node.retry.backoff_ms},
    })
}

fn edge_json(edge: &Edge) -> Value {
    let mut value = json!({"from": edge.from, "to": edge.to, "on": edge.on.as_str()});
    if let Some(case) = &edge.case {
        value["case"] = json!(case);
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_case_round_trips_through_its_file_and_its_ir_is_valid() {
        let case = Case::new(
            "t",
            vec![
                retried(probe("a", json!({"fail_times": 1})), 1, 5),
                switch("s", "$input.route", &[("x", "b"), ("_D", "c")], "_D"),
                probe("b", json!({})),
                node("c", FINISH, json!({})),
            ],
            vec![
                success("a", "s"),
                case("s", "b", "x"),
                case("s", "c", "_D"),
                failure("a", "c"),
            ],
        )
        .with_inputs(json!({"route": "x"}))
        .cancelled_at("b");
        assert!(flow_ir::validate(&case.ir()).is_ok());
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("case.json");
        std::fs::write(&path, case.to_file(Map::new()).to_string()).unwrap();
        assert_eq!(Case::load(&path).unwrap(), case);
        // A bare IR is a case without inputs.
        std::fs::write(&path, case.ir().to_string()).unwrap();
        let bare = Case::load(&path).unwrap();
        assert_eq!((bare.nodes.len(), bare.cancel_at), (4, None));
        assert_eq!(case.kinds(), ["finish", "rep.probe", "switch"]);
    }

    #[test]
    fn a_bad_case_file_names_the_file_and_the_problem() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.json");
        let case = Case::new("t", vec![probe("a", json!({}))], vec![]);
        let mut file = case.to_file(Map::new());
        file["cancel_at"] = json!("nope");
        std::fs::write(&path, file.to_string()).unwrap();
        let error = Case::load(&path).unwrap_err().0;
        assert!(
            error.contains("bad.json") && error.contains("nope"),
            "{error}"
        );
        file["ir"]["graph"]["edges"] = json!([{"from": "a", "to": "x", "on": "success"}]);
        std::fs::write(&path, file.to_string()).unwrap();
        let error = Case::load(&path).unwrap_err().0;
        assert!(error.contains("/graph/edges/0/to"), "{error}");
        std::fs::write(&path, "{}").unwrap();
        assert!(Case::load(&path).unwrap_err().0.contains("not a case file"));
    }
}

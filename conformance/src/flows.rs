//! The flows the suite runs: built-in Flow IR v1.0.0 documents made of the control kinds
//! (`finish`, `switch`), the deliberately invalid documents of the StartRun tests, and the
//! implementer's fixtures (see [`crate::fixtures`]).

use flow_ir::build::{document as ir, node};
use serde_json::{Map, Value, json};

/// A step kind no executor supports, used by the StartRun tests.
pub const UNKNOWN_KIND: &str = "conformance.no-such-kind";

/// What a flow is expected to end with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// `completed`.
    Completed,
    /// `failed`.
    Failed,
}

impl Expect {
    /// The status string, `completed` or `failed`.
    pub fn as_str(self) -> &'static str {
        match self {
            Expect::Completed => "completed",
            Expect::Failed => "failed",
        }
    }
}

/// A flow the executor can be asked to run.
#[derive(Debug, Clone, PartialEq)]
pub struct Flow {
    /// A name for messages: `builtin:finish` or the fixture's name.
    pub name: String,
    /// The Flow IR document.
    pub ir: Value,
    /// The run inputs.
    pub inputs: Map<String, Value>,
    /// The expected final status (when not cancelled).
    pub expect: Expect,
    /// Outputs expected in `summary.outputs` (recursive subset match), if given.
    pub outputs: Option<Value>,
    /// Runs long enough to be cancelled while running (used only by REP-CAN-003).
    pub long_running: bool,
}

/// One `kind` node (`with: {}`) as a whole flow; `finish` gives the smallest runnable flow.
pub fn single(kind: &str) -> Value {
    ir(
        "conformance-single",
        vec![node("only", kind, json!({}))],
        vec![],
    )
}

/// `route (switch on $input.route) → done_a (finish) | done_b (finish)`; run with inputs
/// `{"route": "a"}` it completes through `done_a`.
pub fn switch_finish() -> Value {
    ir(
        "conformance-switch",
        vec![
            node(
                "route",
                "switch",
                json!({"key_from": "$input.route", "cases": {"a": "done_a", "_DEFAULT": "done_b"}, "default": "_DEFAULT"}),
            ),
            node("done_a", "finish", json!({})),
            node("done_b", "finish", json!({})),
        ],
        vec![
            json!({"from": "route", "to": "done_a", "on": "success", "case": "a"}),
            json!({"from": "route", "to": "done_b", "on": "success", "case": "_DEFAULT"}),
        ],
    )
}

/// The built-in flows for an executor advertising `step_kinds`: `builtin:finish` when
/// `finish` is advertised, and `builtin:switch` when `switch` is too.
pub fn builtin(step_kinds: &[String]) -> Vec<Flow> {
    let has = |k: &str| step_kinds.iter().any(|s| s == k);
    let mut flows = Vec::new();
    if has("finish") {
        flows.push(Flow {
            name: "builtin:finish".into(),
            ir: single("finish"),
            inputs: Map::new(),
            expect: Expect::Completed,
            outputs: None,
            long_running: false,
        });
        if has("switch") {
            let mut inputs = Map::new();
            inputs.insert("route".into(), json!("a"));
            flows.push(Flow {
                name: "builtin:switch".into(),
                ir: switch_finish(),
                inputs,
                expect: Expect::Completed,
                outputs: None,
                long_running: false,
            });
        }
    }
    flows
}

/// `ir` with `version` replaced.
pub fn with_version(ir: &Value, version: &str) -> Value {
    let mut ir = ir.clone();
    if let Some(object) = ir.as_object_mut() {
        object.insert("version".into(), json!(version));
    }
    ir
}

/// `ir` with `inputs_schema` replaced.
pub fn with_inputs_schema(ir: &Value, inputs_schema: Value) -> Value {
    let mut ir = ir.clone();
    if let Some(object) = ir.as_object_mut() {
        object.insert("inputs_schema".into(), inputs_schema);
    }
    ir
}

/// Schema-invalid variants of a flow whose only node is of kind `kind` (a kind the executor
/// advertises, so no executor can answer 1002 instead): no nodes, and a node without `id`.
pub fn schema_invalid(kind: &str) -> Vec<(&'static str, Value)> {
    let no_nodes = ir("conformance-invalid", vec![], vec![]);
    let mut no_id = single(kind);
    if let Some(n) = no_id
        .pointer_mut("/graph/nodes/0")
        .and_then(Value::as_object_mut)
    {
        n.remove("id");
    }
    vec![
        ("graph.nodes is empty", no_nodes),
        ("a node has no id", no_id),
    ]
}

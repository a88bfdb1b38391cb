//! The JSON documents of a new project, built as values (not templates, so every string is
//! escaped): the sample flow, its manifest entry and inputs, and the conformance fixtures.

use flow_ir::ManifestEntry;
use flow_ir::build::{document, edge, node};
use serde_json::{Map, Value, json};

use super::{File, SAMPLE_FLOW};

/// `flows/`: the sample flow, its manifest and inputs; `conformance/`: its fixtures.
/// `kinds` and `idents` pair each step kind with its node id.
pub(super) fn files(kinds: &[String], idents: &[String], generated_at: &str) -> Vec<File> {
    let (ir, inputs) = sample_flow(kinds, idents, generated_at);
    let mut files = vec![
        File::new("flows/sample.ir.json", pretty(&ir)),
        File::new("flows/manifest.json", pretty(&json!([sample_entry(&ir)]))),
        File::new("flows/sample.inputs.json", pretty(&inputs)),
    ];
    files.extend(fixtures(&ir, &inputs, idents));
    files
}

fn pretty(value: &Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_default() + "\n"
}

/// The sample flow: each kind once (`with.name` from the input `name`), then `dsl.emit` of
/// every greeting, then `finish`; and its inputs.
fn sample_flow(kinds: &[String], idents: &[String], generated_at: &str) -> (Value, Value) {
    let mut nodes = Vec::new();
    let mut emitted = Map::new();
    for (kind, id) in kinds.iter().zip(idents) {
        let mut step = node(id, kind, json!({"name": "$input.name"}));
        // A handler's failure is retried once, 100 ms later; an attempt may take 10 s.
        step["timeout_ms"] = json!(10_000);
        step["retry"] = json!({"max": 1, "backoff_ms": 100});
        nodes.push(step);
        emitted.insert(id.clone(), json!(format!("$step.{id}.greeting")));
    }
    nodes.push(node("emit", "dsl.emit", Value::Object(emitted)));
    nodes.push(node("done", "finish", json!({})));
    let ids: Vec<&str> = nodes.iter().filter_map(|n| n["id"].as_str()).collect();
    let edges: Vec<Value> = ids.windows(2).map(|pair| edge(pair[0], pair[1])).collect();
    let mut ir = document(SAMPLE_FLOW, nodes, edges);
    ir["flow"]["timeout_ms"] = json!(60_000);
    ir["constants"]["policyRef"] = json!("none");
    ir["inputs_schema"] = json!({"name": {"type": "string"}});
    ir["metadata"] = json!({"generated_at": generated_at, "source_file": "flows/sample.ir.json"});
    (ir, json!({"name": "world"}))
}

/// The manifest entry of the sample, as `tm ir manifest` writes it.
fn sample_entry(ir: &Value) -> Value {
    match flow_ir::validate(ir) {
        Ok(typed) => serde_json::to_value(ManifestEntry::for_ir(&typed, "sample.ir.json"))
            .unwrap_or_default(),
        // The sample is ours: a unit test proves it valid for any accepted kinds.
        Err(error) => json!({"error": error.to_string()}),
    }
}

/// `conformance/`: the sample completing with its outputs; failing on a bad `with` (no
/// retry); running 10 s in its first step, for REP-CAN-003 to cancel.
fn fixtures(ir: &Value, inputs: &Value, idents: &[String]) -> Vec<File> {
    let outputs: Map<String, Value> = idents
        .iter()
        .map(|id| (id.clone(), json!("hello, world")))
        .collect();
    let completed = json!({
        "name": SAMPLE_FLOW,
        "ir_path": "../flows/sample.ir.json",
        "inputs": inputs,
        "expect": {"status": "completed", "outputs": outputs},
    });
    let variant = |name: &str, with: Value| {
        let mut ir = ir.clone();
        ir["flow"]["name"] = json!(name);
        ir["graph"]["nodes"][0]["with"] = with;
        ir["graph"]["nodes"][0]["retry"] = json!({"max": 0, "backoff_ms": 0});
        ir
    };
    let failed = json!({
        "name": "bad-with",
        "ir": variant("bad-with", json!({"name": 42})),
        "inputs": inputs,
        "expect": {"status": "failed"},
    });
    let mut slow_ir = variant(
        "long-running",
        json!({"name": "$input.name", "delay_ms": 10_000}),
    );
    slow_ir["graph"]["nodes"][0]["timeout_ms"] = json!(0);
    slow_ir["flow"]["timeout_ms"] = json!(0);
    let long_running = json!({
        "name": "long-running",
        "ir": slow_ir,
        "inputs": inputs,
        "expect": {"status": "completed"},
        "long_running": true,
    });
    vec![
        File::new("conformance/completed.json", pretty(&completed)),
        File::new("conformance/failed.json", pretty(&failed)),
        File::new("conformance/long-running.json", pretty(&long_running)),
    ]
}

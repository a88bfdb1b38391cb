//! The executor kit's semantics (issue 4) as the host sees them: the real `tm` running flows
//! crafted for each rule on the real mock executor, faults injected with `with._mock`.
//! Elapsed-time bounds are generous: CI machines have 2 cores.

#![allow(clippy::unwrap_used)] // tests unwrap: a failure is the report

mod common;

use std::time::Duration;

use common::*;
use serde_json::{Value, json};

fn node(id: &str, kind: &str, with: Value) -> Value {
    node_with(id, kind, with, 0, 0, 0)
}

fn node_with(id: &str, kind: &str, with: Value, timeout_ms: u64, max: u32, backoff: u64) -> Value {
    json!({"id": id, "type": kind, "with": with, "timeout_ms": timeout_ms,
           "retry": {"max": max, "backoff_ms": backoff}})
}

use flow_ir::build::edge;

fn on_failure(from: &str, to: &str) -> Value {
    flow_ir::build::edge_on(from, to, "failure")
}

fn ir(nodes: Vec<Value>, edges: Vec<Value>) -> Value {
    flow_ir::build::document("kit", nodes, edges)
}

/// Runs `ir` through `tm runtime run` on the default (mock) executor, with `extra` args.
fn run(ir: &Value, inputs: &str, extra: &[&str]) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let manifest = write_flow(dir.path(), "kit", ir);
    let mut args = vec![
        "runtime",
        "run",
        "--manifest",
        manifest.to_str().unwrap(),
        "--flow",
        "kit",
        "--inputs",
        inputs,
    ];
    args.extend_from_slice(extra);
    tm(&args, &[])
}

/// The `step` events of `step_id` in `state`.
fn step_events(run: &Run, step_id: &str, state: &str) -> Vec<Value> {
    run.json()["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == "step" && e["step_id"] == step_id && e["state"] == state)
        .cloned()
        .collect()
}

fn attempts(events: &[Value]) -> Vec<u64> {
    events
        .iter()
        .map(|e| e["attempt"].as_u64().unwrap())
        .collect()
}

/// Seconds since midnight of an RFC 3339 UTC timestamp (`…T22:58:45.123456789Z`).
fn seconds_of_day(timestamp: &str) -> f64 {
    let time = timestamp.split('T').nth(1).unwrap().trim_end_matches('Z');
    let parts: Vec<f64> = time.split(':').map(|p| p.parse().unwrap()).collect();
    parts[0] * 3600.0 + parts[1] * 60.0 + parts[2]
}

#[test]
fn retry_reports_every_attempt_and_completes_after_two_injected_failures() {
    let flow = ir(
        vec![
            node_with(
                "read",
                "opcua.read",
                json!({"node_ids": ["x"], "_mock": {"fail_times": 2}}),
                0,
                2,
                20,
            ),
            node("emit", "dsl.emit", json!({"x": "$step.read.values.x"})),
        ],
        vec![edge("read", "emit")],
    );
    let run = run(&flow, "{}", &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(attempts(&step_events(&run, "read", "started")), [1, 2, 3]);
    assert_eq!(attempts(&step_events(&run, "read", "failed")), [1, 2]);
    assert_eq!(attempts(&step_events(&run, "read", "succeeded")), [3]);
    assert_eq!(run.json()["summary"]["outputs"]["x"], 80.0);
}

#[test]
fn a_non_retriable_error_or_an_always_failing_step_stops_and_fails_the_run() {
    // opcua.read answers a bad node_ids with `retriable: false`: one attempt despite retry.max.
    let flow = ir(
        vec![node_with(
            "read",
            "opcua.read",
            json!({"node_ids": "x"}),
            0,
            3,
            0,
        )],
        vec![],
    );
    let run = run(&flow, "{}", &[]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(attempts(&step_events(&run, "read", "started")), [1]);
    assert_eq!(run.json()["summary"]["error"]["data"]["retriable"], false);

    // `fail: true` fails every attempt: retry.max 2 → 3 attempts, then the run fails.
    let flow = ir(
        vec![node_with(
            "w",
            "opcua.write",
            json!({"_mock": {"fail": true}}),
            0,
            2,
            0,
        )],
        vec![],
    );
    let run = self::run(&flow, "{}", &[]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(attempts(&step_events(&run, "w", "failed")), [1, 2, 3]);
    assert_eq!(run.json()["error"]["code"], 2001);

    // The same with `retriable: false`: one attempt.
    let flow = ir(
        vec![node_with(
            "w",
            "opcua.write",
            json!({"_mock": {"fail": true, "retriable": false}}),
            0,
            2,
            0,
        )],
        vec![],
    );
    let run = self::run(&flow, "{}", &[]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(attempts(&step_events(&run, "w", "failed")), [1]);
}

#[test]
fn a_node_timeout_fails_the_attempt_with_cause_timeout_quickly() {
    let flow = ir(
        vec![node_with(
            "slow",
            "opcua.write",
            json!({"_mock": {"delay_ms": 10_000}}),
            100,
            0,
            0,
        )],
        vec![],
    );
    let run = run(&flow, "{}", &[]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.elapsed < Duration::from_secs(5),
        "took {:?}",
        run.elapsed
    );
    let failed = step_events(&run, "slow", "failed");
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0]["error"]["cause"], "timeout", "{}", failed[0]);
    let out = run.json();
    assert_eq!(out["summary"]["error"]["data"]["cause"], "timeout");
    assert_eq!(out["error"]["class"], "StepFailure");
}

#[test]
fn the_flow_timeout_fails_the_run() {
    let mut flow = ir(
        vec![
            node(
                "slow",
                "opcua.write",
                json!({"_mock": {"delay_ms": 10_000}}),
            ),
            node("after", "dsl.emit", json!({})),
        ],
        vec![edge("slow", "after")],
    );
    flow["flow"]["timeout_ms"] = json!(200);
    let run = run(&flow, "{}", &[]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.elapsed < Duration::from_secs(5),
        "took {:?}",
        run.elapsed
    );
    let summary = &run.json()["summary"];
    assert_eq!(summary["error"]["data"]["cause"], "timeout", "{summary}");
    assert_eq!(summary["error"]["data"]["details"]["flow_timeout_ms"], 200);
    assert_eq!(
        step_events(&run, "slow", "failed")[0]["error"]["cause"],
        "cancelled"
    );
    assert!(step_events(&run, "after", "started").is_empty());
}

#[test]
fn a_failure_edge_leads_on_and_the_run_completes_without_one_it_fails() {
    let nodes = || {
        vec![
            node("w", "opcua.write", json!({"_mock": {"fail": true}})),
            node("ok", "dsl.emit", json!({"path": "success"})),
            node("recover", "dsl.emit", json!({"path": "recovered"})),
        ]
    };
    let flow = ir(nodes(), vec![edge("w", "ok"), on_failure("w", "recover")]);
    let run = run(&flow, "{}", &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        run.json()["summary"]["outputs"],
        json!({"path": "recovered"})
    );
    assert!(step_events(&run, "ok", "started").is_empty());

    let flow = ir(nodes(), vec![edge("w", "ok"), edge("w", "recover")]);
    let run = self::run(&flow, "{}", &[]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let error = &run.json()["summary"]["error"];
    assert_eq!(error["data"]["step_id"], "w", "{error}");
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("injected failure"),
        "{error}"
    );
}

#[test]
fn three_delayed_branches_run_concurrently_and_their_join_runs_once_after_all() {
    let branches = ["b1", "b2", "b3"];
    let mut nodes = vec![node("start", "opcua.read", json!({"node_ids": ["t"]}))];
    let mut edges = Vec::new();
    for b in branches {
        nodes.push(node(
            b,
            "opcua.write",
            json!({"node_id": b, "_mock": {"delay_ms": 300}}),
        ));
        edges.push(edge("start", b));
        edges.push(edge(b, "join"));
    }
    nodes.push(node(
        "join",
        "dsl.emit",
        json!({"written": ["$step.b1.node_id", "$step.b2.node_id", "$step.b3.node_id"]}),
    ));
    let run = run(&ir(nodes, edges), "{}", &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let events = run.json()["events"].as_array().unwrap().clone();
    let at = |step: &str, state: &str| {
        events
            .iter()
            .position(|e| e["step_id"] == step && e["state"] == state)
            .unwrap()
    };
    // Overlap, whatever the machine's speed: every branch started before any ended.
    let last_start = branches.iter().map(|b| at(b, "started")).max().unwrap();
    let first_end = branches.iter().map(|b| at(b, "succeeded")).min().unwrap();
    assert!(last_start < first_end, "branches ran one after another");
    let span = seconds_of_day(events[at("join", "started")]["timestamp"].as_str().unwrap())
        - seconds_of_day(events[at("b1", "started")]["timestamp"].as_str().unwrap());
    eprintln!(
        "3 branches of 300 ms: {span:.3} s from the first branch to the join; tm took {:?}",
        run.elapsed
    );
    assert!(
        span < 0.85,
        "3 × 300 ms in series would take 0.9 s: {span:.3} s"
    );
    assert_eq!(step_events(&run, "join", "started").len(), 1);
    for b in branches {
        assert!(at(b, "succeeded") < at("join", "started"), "{b}");
    }
    assert_eq!(
        run.json()["summary"]["outputs"]["written"],
        json!(["b1", "b2", "b3"])
    );
}

#[test]
fn the_engine_timeout_cancels_a_long_step_and_the_executor_exits_without_a_kill() {
    let flow = ir(
        vec![node(
            "slow",
            "opcua.write",
            json!({"_mock": {"delay_ms": 60_000}}),
        )],
        vec![],
    );
    let run = run(&flow, "{}", &["--timeout", "0.5"]);
    assert_eq!(run.code, 4, "{}", run.stderr);
    assert_eq!(run.json()["error"]["cause"], "Timeout");
    // tm waits 5 s for the executor to exit after Cancel and EOF, then kills it: finishing
    // well before that means the mock exited by itself.
    assert!(
        run.elapsed < Duration::from_secs(3),
        "took {:?}: the executor had to be killed?",
        run.elapsed
    );
    assert_eq!(step_events(&run, "slow", "started").len(), 1);
}

#[test]
fn a_cyclic_graph_is_refused_before_any_executor_starts() {
    let flow = ir(
        vec![
            node("a", "dsl.emit", json!({})),
            node("b", "dsl.emit", json!({})),
            node("c", "dsl.emit", json!({})),
        ],
        vec![edge("a", "b"), edge("b", "c"), edge("c", "b")],
    );
    let run = run(&flow, "{}", &[]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("cycle"), "{}", run.stderr);
}

#[test]
fn mock_output_replaces_the_handler_and_mock_never_reaches_it() {
    let flow = ir(
        vec![
            node(
                "read",
                "opcua.read",
                json!({"node_ids": ["x"], "_mock": {"output": {"values": {"x": 12.5}}}}),
            ),
            node(
                "emit",
                "dsl.emit",
                json!({"x": "$step.read.values.x", "_mock": {"delay_ms": 1}}),
            ),
        ],
        vec![edge("read", "emit")],
    );
    let run = run(&flow, "{}", &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.json()["summary"]["outputs"], json!({"x": 12.5}));
}

#[test]
fn references_resolve_inside_arrays_and_objects_and_missing_paths_are_null() {
    let flow = ir(
        vec![
            node("read", "opcua.read", json!({"node_ids": "$input.nodes"})),
            node(
                "emit",
                "dsl.emit",
                json!({
                    "list": ["$input.nodes.0", {"v": "$step.read.values.n1"}, "literal", 7],
                    "nested": {"deep": {"endpoint": "$input.cfg.endpoint"}},
                    "alias": "$.vars.read.values.n2",
                    "missing_input": "$input.cfg.nope.deeper",
                    "missing_step": "$step.ghost.values",
                    "missing_path": ["$step.read.values.zz"],
                }),
            ),
        ],
        vec![edge("read", "emit")],
    );
    let inputs = r#"{"nodes": ["n1", "n2"], "cfg": {"endpoint": "opc.tcp://h"},
                     "mock_values": {"n1": 1.5, "n2": 2.5}}"#;
    let run = run(&flow, inputs, &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        run.json()["summary"]["outputs"],
        json!({
            "list": ["n1", {"v": 1.5}, "literal", 7],
            "nested": {"deep": {"endpoint": "opc.tcp://h"}},
            "alias": 2.5,
            "missing_input": null,
            "missing_step": null,
            "missing_path": [null],
        })
    );
}

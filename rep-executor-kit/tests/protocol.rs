//! The kit's answers on the wire, driven through `Executor::serve` over an in-memory pipe.

#![allow(clippy::unwrap_used)] // tests unwrap: a failure is the report

mod support;

use std::time::Duration;

use rep_executor_kit::{Executor, StepContext, StepError, StepResult};
use serde_json::{Map, Value, json};
use support::{Wire, edge, flow, node};
use tokio::io::AsyncWriteExt;

async fn echo(_ctx: StepContext, with: Map<String, Value>) -> StepResult {
    Ok(Value::Object(with))
}

async fn boom(_ctx: StepContext, _with: Map<String, Value>) -> StepResult {
    Err(StepError::new("boom").not_retriable())
}

fn executor() -> Executor {
    Executor::builder()
        .step("echo", echo)
        .step("boom", boom)
        .step("dsl.emit", echo)
        .build()
}

/// Malformed frames, each with the id and the JSON-RPC error code of its answer.
fn malformed_frames() -> [(&'static str, Value, i64); 11] {
    [
        ("{not json", Value::Null, -32700),
        ("[1, 2]", Value::Null, -32600),
        ("42", Value::Null, -32600),
        (
            r#"{"id": 1, "method": "Runtime.Capabilities"}"#,
            json!(1),
            -32600,
        ),
        (
            r#"{"jsonrpc": "1.0", "id": 2, "method": "Runtime.Capabilities"}"#,
            json!(2),
            -32600,
        ),
        (
            r#"{"jsonrpc": "2.0", "id": 3, "method": 7}"#,
            json!(3),
            -32600,
        ),
        (
            r#"{"jsonrpc": "2.0", "id": {"x": 1}, "method": "Runtime.Poll"}"#,
            Value::Null,
            -32600,
        ),
        (
            r#"{"jsonrpc": "2.0", "id": 4, "method": "Runtime.Capabilities", "params": 5}"#,
            json!(4),
            -32600,
        ),
        (
            r#"{"jsonrpc": "2.0", "id": 5, "method": "Runtime.Nope"}"#,
            json!(5),
            -32601,
        ),
        (
            r#"{"jsonrpc": "2.0", "id": "s", "method": "Runtime.Poll", "params": {}}"#,
            json!("s"),
            -32602,
        ),
        (
            r#"{"jsonrpc": "2.0", "id": 6, "method": "Runtime.StartRun", "params": {"ir": {}, "inputs": 3}}"#,
            json!(6),
            -32602,
        ),
    ]
}

#[tokio::test]
async fn malformed_requests_get_json_rpc_error_codes() {
    let mut wire = Wire::start(executor());
    for (frame, id, code) in malformed_frames() {
        wire.send_raw(frame).await;
        let response = wire.recv().await;
        assert_eq!(response["id"], id, "{frame}");
        assert_eq!(response["error"]["code"], code, "{frame}: {response}");
        assert!(response["error"]["message"].is_string());
        assert!(response.get("result").is_none());
    }
    // A notification gets no answer: the next answer is for the next request.
    wire.send_raw(r#"{"jsonrpc": "2.0", "method": "Runtime.Capabilities"}"#)
        .await;
    wire.send_raw("").await;
    let response = wire.call(7, "Runtime.Capabilities", json!({})).await;
    assert!(response["result"].is_object());
}

#[tokio::test]
async fn capabilities_list_handlers_and_builtins_with_concurrency() {
    let mut wire = Wire::start(executor());
    let result = wire.call(1, "Runtime.Capabilities", json!({})).await["result"].clone();
    assert_eq!(
        result["step_kinds"],
        json!(["boom", "dsl.emit", "echo", "finish", "switch"])
    );
    assert!(result["limits"]["concurrency"].as_u64().unwrap() >= 4);
    assert!(result["version"].as_str().unwrap().split('.').count() == 3);
}

#[tokio::test]
async fn start_run_checks_version_then_schema_then_step_kinds() {
    let mut wire = Wire::start(executor());
    // Wrong version and an unknown kind: the version is reported.
    let mut ir = flow(vec![node("a", "nope", json!({}))], vec![]);
    ir["version"] = json!("2.0.0");
    let error = wire
        .call(1, "Runtime.StartRun", json!({"ir": ir, "inputs": {}}))
        .await["error"]
        .clone();
    assert_eq!(error["code"], 1001, "{error}");
    assert_eq!(error["data"]["retriable"], false);
    // Schema-invalid and an unknown kind: the schema is reported, with pointers.
    let mut ir = flow(vec![node("a", "nope", json!({}))], vec![edge("a", "ghost")]);
    ir["flow"]["timeout_ms"] = json!(-1);
    let error = wire
        .call(2, "Runtime.StartRun", json!({"ir": ir, "inputs": {}}))
        .await["error"]
        .clone();
    assert_eq!(error["code"], 1003, "{error}");
    let pointers: Vec<&str> = error["data"]["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["pointer"].as_str().unwrap())
        .collect();
    assert!(pointers.contains(&"/flow/timeout_ms"), "{pointers:?}");
    assert!(pointers.contains(&"/graph/edges/0/to"), "{pointers:?}");
    // Valid but an unknown kind.
    let ir = flow(vec![node("a", "nope", json!({}))], vec![]);
    let error = wire
        .call(3, "Runtime.StartRun", json!({"ir": ir, "inputs": {}}))
        .await["error"]
        .clone();
    assert_eq!(error["code"], 1002, "{error}");
    assert_eq!(error["data"]["details"]["missing"], json!(["nope"]));
    // Valid, supported, but with inputs that miss their declaration: 1004, after 1002.
    let mut ir = flow(vec![node("a", "nope", json!({}))], vec![]);
    ir["inputs_schema"] = json!({"count": {"type": "int"}});
    let error = wire
        .call(4, "Runtime.StartRun", json!({"ir": ir, "inputs": {}}))
        .await["error"]
        .clone();
    assert_eq!(
        error["code"], 1002,
        "step kinds are checked before inputs: {error}"
    );
}

#[tokio::test]
async fn start_run_refuses_inputs_that_do_not_match_inputs_schema_with_1004() {
    let mut wire = Wire::start(executor());
    let mut ir = flow(
        vec![node("a", "echo", json!({"n": "$input.nodes"}))],
        vec![],
    );
    ir["inputs_schema"] = json!({
        "endpoint": {"type": "string"},
        "nodes": {"type": "list<string>"},
        "extra": {"type": "Tensor"},
    });
    let inputs = json!({"nodes": ["a", 7], "extra": 1});
    let error = wire
        .call(1, "Runtime.StartRun", json!({"ir": ir, "inputs": inputs}))
        .await["error"]
        .clone();
    assert_eq!(error["code"], 1004, "{error}");
    assert_eq!(error["data"]["retriable"], false);
    assert_eq!(
        error["message"],
        "invalid inputs: input endpoint (string): missing (and 1 more)"
    );
    assert_eq!(
        error["data"]["details"],
        json!([
            {"pointer": "/endpoint", "input": "endpoint", "declared": "string", "message": "missing"},
            {"pointer": "/nodes/1", "input": "nodes", "declared": "list<string>",
             "message": "expected a string, got number 7"},
        ])
    );
    // Nothing was started under the refused StartRun; matching inputs (plus undeclared
    // ones, passed through) start the run.
    let inputs = json!({"endpoint": "e", "nodes": ["a"], "extra": {}, "undeclared": true});
    wire.start_run(2, "r-ok", &ir, inputs).await;
    let (result, _) = wire.poll_until_final("r-ok").await;
    assert_eq!(result["status"], "completed", "{result}");
}

/// read → sw (switch on read's level: HIGH → high, else low) → high | low → emit → end.
fn switch_flow() -> Value {
    flow(
        vec![
            node(
                "read",
                "echo",
                json!({"level": "$input.level", "nested": ["$input.missing"]}),
            ),
            node(
                "sw",
                "switch",
                json!({"key_from": "$.vars.read.level", "cases": {"HIGH": "high", "_D": "low"}, "default": "_D"}),
            ),
            node("high", "echo", json!({"path": "high"})),
            node("low", "echo", json!({"path": "low"})),
            node(
                "emit",
                "dsl.emit",
                json!({"result": "$step.low.path", "read": "$step.read"}),
            ),
            node("end", "finish", json!({})),
        ],
        vec![
            edge("read", "sw"),
            json!({"from": "sw", "to": "high", "on": "success", "case": "HIGH"}),
            json!({"from": "sw", "to": "low", "on": "success", "case": "_D"}),
            edge("high", "emit"),
            edge("low", "emit"),
            edge("emit", "end"),
        ],
    )
}

#[tokio::test]
async fn a_run_resolves_references_follows_the_switch_and_delivers_each_event_once() {
    let mut wire = Wire::start(executor());
    let ir = switch_flow();
    let started = wire
        .call(
            1,
            "Runtime.StartRun",
            json!({"ir": ir, "inputs": {"level": "LOW"}, "options": {"run_id": "r-1"}}),
        )
        .await;
    assert_eq!(started["result"]["run_id"], "r-1");
    let (last, events) = wire.poll_until_final("r-1").await;
    assert_eq!(last["status"], "completed", "{last}");
    assert_eq!(last["summary"]["completed_steps"], 5);
    assert_eq!(last["summary"]["failed_steps"], 0);
    assert_eq!(
        last["summary"]["outputs"],
        json!({"result": "low", "read": {"level": "LOW", "nested": [null]}})
    );
    let succeeded: Vec<&str> = events
        .iter()
        .filter(|e| e["type"] == "step" && e["state"] == "succeeded")
        .map(|e| e["step_id"].as_str().unwrap())
        .collect();
    assert_eq!(
        succeeded,
        ["read", "sw", "low", "emit", "end"],
        "high is skipped, emit runs once"
    );
    for event in &events {
        let ts = event["timestamp"].as_str().unwrap();
        assert!(ts.ends_with('Z') && ts.contains('T'), "RFC 3339: {ts}");
    }
    // Delivered once: a later poll has no events.
    let again = wire.call(2, "Runtime.Poll", json!({"run_id": "r-1"})).await["result"].clone();
    assert_eq!(again["events"], json!([]));
    assert_eq!(again["status"], "completed");
}

#[tokio::test]
async fn a_failing_step_fails_the_run_unless_a_failure_edge_leads_on() {
    let mut wire = Wire::start(executor());
    let ir = flow(
        vec![node("a", "boom", json!({})), node("b", "echo", json!({}))],
        vec![edge("a", "b")],
    );
    wire.call(
        1,
        "Runtime.StartRun",
        json!({"ir": ir, "inputs": {}, "options": {"run_id": "fail"}}),
    )
    .await;
    let (last, events) = wire.poll_until_final("fail").await;
    assert_eq!(last["status"], "failed");
    assert_eq!(last["summary"]["failed_steps"], 1);
    assert_eq!(last["summary"]["error"]["code"], 2001);
    assert_eq!(last["summary"]["error"]["data"]["step_id"], "a");
    let failed = events.iter().find(|e| e["state"] == "failed").unwrap();
    assert_eq!(failed["error"]["message"], "boom");
    assert!(!events.iter().any(|e| e["step_id"] == "b"), "b never runs");

    let ir = flow(
        vec![
            node("a", "boom", json!({})),
            node("ok", "echo", json!({})),
            node("recover", "echo", json!({})),
        ],
        vec![
            edge("a", "ok"),
            json!({"from": "a", "to": "recover", "on": "failure"}),
        ],
    );
    wire.call(
        2,
        "Runtime.StartRun",
        json!({"ir": ir, "inputs": {}, "options": {"run_id": "recover"}}),
    )
    .await;
    let (last, events) = wire.poll_until_final("recover").await;
    assert_eq!(last["status"], "completed", "{last}");
    assert!(
        events
            .iter()
            .any(|e| e["step_id"] == "recover" && e["state"] == "succeeded")
    );
    assert!(!events.iter().any(|e| e["step_id"] == "ok"));
}

#[tokio::test]
async fn unknown_run_ids_get_a_validation_error_and_cancel_of_a_finished_run_is_ok() {
    let mut wire = Wire::start(executor());
    for (id, method) in [(1, "Runtime.Poll"), (2, "Runtime.Cancel")] {
        let error = wire.call(id, method, json!({"run_id": "nope"})).await["error"].clone();
        let code = error["code"].as_i64().unwrap();
        assert!((1000..2000).contains(&code), "{method}: {error}");
    }
    let ir = flow(vec![node("a", "echo", json!({}))], vec![]);
    wire.call(
        3,
        "Runtime.StartRun",
        json!({"ir": ir, "inputs": {}, "options": {"run_id": "done"}}),
    )
    .await;
    wire.poll_until_final("done").await;
    for id in [4, 5] {
        assert_eq!(
            wire.call(id, "Runtime.Cancel", json!({"run_id": "done"}))
                .await["result"],
            json!({"ok": true})
        );
    }
    let last = wire
        .call(6, "Runtime.Poll", json!({"run_id": "done"}))
        .await["result"]
        .clone();
    assert_eq!(
        last["status"], "completed",
        "cancel after the end changes nothing"
    );
}

#[tokio::test]
async fn eof_on_stdin_ends_serve() {
    let mut wire = Wire::start(executor());
    wire.to_executor.shutdown().await.unwrap();
    let result = tokio::time::timeout(Duration::from_secs(5), wire.server)
        .await
        .expect("serve returns on EOF");
    assert!(result.unwrap().is_ok());
}

//! `rep.probe` (docs/protocol.md, "Conformance extension"): the probe step kind registered
//! with one line, driven over an in-memory pipe on tokio's paused clock.

#![allow(clippy::unwrap_used)] // tests unwrap: a failure is the report

mod support;

use std::time::Duration;

use rep_executor_kit::{Executor, PROBE_STEP_KIND, ProbeStep};
use serde_json::{Value, json};
use support::{Wire, edge, flow, node, node_with, on_failure, step_events};
use tokio::time::Instant;

fn executor() -> Executor {
    Executor::builder().step(PROBE_STEP_KIND, ProbeStep).build()
}

fn attempts(events: &[Value], step_id: &str, state: &str) -> Vec<u64> {
    step_events(events, step_id, state)
        .iter()
        .map(|e| e["attempt"].as_u64().unwrap())
        .collect()
}

#[tokio::test(start_paused = true)]
async fn registering_it_advertises_rep_probe() {
    let mut wire = Wire::start(executor());
    let caps = wire.call(1, "Runtime.Capabilities", json!({})).await;
    assert_eq!(
        caps["result"]["step_kinds"],
        json!(["finish", "rep.probe", "switch"])
    );
}

#[tokio::test(start_paused = true)]
async fn an_attempt_lasts_delay_ms_and_outputs_with_output() {
    let mut wire = Wire::start(executor());
    let ir = flow(
        vec![
            node(
                "p",
                "rep.probe",
                json!({"delay_ms": 1500, "output": {"v": "$input.x"}}),
            ),
            node("q", "rep.probe", json!({"output": {"from_p": "$step.p.v"}})),
        ],
        vec![edge("p", "q")],
    );
    let started = Instant::now();
    wire.start_run(1, "r", &ir, json!({"x": 7})).await;
    let (last, events) = wire.poll_until_final("r").await;
    assert_eq!(last["status"], "completed", "{last}");
    assert!(started.elapsed() >= Duration::from_millis(1500));
    assert!(started.elapsed() < Duration::from_millis(1600));
    assert_eq!(attempts(&events, "q", "succeeded"), [1]);
    // The default output is {}; q's output is its resolved with.output.
    let ir = flow(
        vec![
            node("p", "rep.probe", json!({})),
            node("e", "rep.probe", json!({"output": {"p": "$step.p"}})),
        ],
        vec![edge("p", "e")],
    );
    wire.start_run(2, "r2", &ir, json!({})).await;
    let (last, _) = wire.poll_until_final("r2").await;
    assert_eq!(last["status"], "completed", "{last}");
}

#[tokio::test(start_paused = true)]
async fn fail_times_fails_the_first_attempts_retriably() {
    let mut wire = Wire::start(executor());
    let probe = |max| {
        flow(
            vec![node_with(
                "p",
                "rep.probe",
                json!({"fail_times": 2}),
                0,
                max,
                10,
            )],
            vec![],
        )
    };
    wire.start_run(1, "enough", &probe(2), json!({})).await;
    let (last, events) = wire.poll_until_final("enough").await;
    assert_eq!(last["status"], "completed", "{last}");
    assert_eq!(attempts(&events, "p", "failed"), [1, 2]);
    assert_eq!(attempts(&events, "p", "succeeded"), [3]);

    wire.start_run(2, "short", &probe(1), json!({})).await;
    let (last, events) = wire.poll_until_final("short").await;
    assert_eq!(last["status"], "failed", "{last}");
    assert_eq!(attempts(&events, "p", "failed"), [1, 2]);
    assert_eq!(last["summary"]["error"]["code"], 2001);
}

#[tokio::test(start_paused = true)]
async fn fail_fails_every_attempt_and_is_not_retried() {
    let mut wire = Wire::start(executor());
    let ir = flow(
        vec![
            node_with(
                "p",
                "rep.probe",
                json!({"fail": true, "delay_ms": 20}),
                0,
                3,
                0,
            ),
            node("handled", "rep.probe", json!({})),
        ],
        vec![on_failure("p", "handled")],
    );
    wire.start_run(1, "r", &ir, json!({})).await;
    let (last, events) = wire.poll_until_final("r").await;
    assert_eq!(last["status"], "completed", "{last}");
    assert_eq!(attempts(&events, "p", "started"), [1]);
    assert_eq!(attempts(&events, "handled", "succeeded"), [1]);
}

#[tokio::test(start_paused = true)]
async fn the_delay_ends_at_once_on_cancel_and_on_the_node_timeout() {
    let mut wire = Wire::start(executor());
    let ir = flow(
        vec![node("p", "rep.probe", json!({"delay_ms": 600_000}))],
        vec![],
    );
    wire.start_run(1, "r", &ir, json!({})).await;
    let mut events = Vec::new();
    for id in 10.. {
        let result = wire.poll(id, "r").await;
        events.extend(result["events"].as_array().unwrap().iter().cloned());
        if !step_events(&events, "p", "started").is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let cancelled_at = Instant::now();
    let reply = wire.call(2, "Runtime.Cancel", json!({"run_id": "r"})).await;
    assert_eq!(reply["result"]["ok"], true);
    let (last, more) = wire.poll_until_final("r").await;
    events.extend(more);
    assert_eq!(last["status"], "failed", "{last}");
    // Ended by the probe itself, well before the kit's cancellation grace (150 ms).
    assert!(cancelled_at.elapsed() < Duration::from_millis(20));
    let failed = step_events(&events, "p", "failed");
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0]["error"]["cause"], "cancelled", "{}", failed[0]);

    let ir = flow(
        vec![node_with(
            "p",
            "rep.probe",
            json!({"delay_ms": 600_000}),
            100,
            1,
            0,
        )],
        vec![],
    );
    let started = Instant::now();
    wire.start_run(3, "t", &ir, json!({})).await;
    let (last, events) = wire.poll_until_final("t").await;
    assert_eq!(last["status"], "failed", "{last}");
    assert!(started.elapsed() < Duration::from_millis(300));
    assert_eq!(attempts(&events, "p", "failed"), [1, 2]);
    for event in step_events(&events, "p", "failed") {
        assert_eq!(event["error"]["cause"], "timeout", "{event}");
    }
}

#[tokio::test(start_paused = true)]
async fn a_mistyped_with_fails_the_step_without_retry_naming_the_key() {
    let mut wire = Wire::start(executor());
    let ir = flow(
        vec![node_with(
            "p",
            "rep.probe",
            json!({"delay_ms": "soon"}),
            0,
            2,
            0,
        )],
        vec![],
    );
    wire.start_run(1, "r", &ir, json!({})).await;
    let (last, events) = wire.poll_until_final("r").await;
    assert_eq!(last["status"], "failed");
    assert_eq!(attempts(&events, "p", "started"), [1]);
    let message = last["summary"]["error"]["message"].as_str().unwrap();
    assert!(message.contains("with.delay_ms"), "{message}");
}

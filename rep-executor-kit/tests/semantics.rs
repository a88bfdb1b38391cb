//! What the kit does around step handlers (issue 4): retries, timeouts, failure edges,
//! branches and joins, cancellation, many runs per process, the handler context, panics.
//! Driven over an in-memory pipe on tokio's paused clock: the kit's timeouts, backoffs and
//! grace run on that clock, so every time below is exact (to the test's poll interval), on
//! any machine.

#![allow(clippy::unwrap_used)] // tests unwrap: a failure is the report

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use rep_executor_kit::{Executor, ExecutorBuilder, StepContext, StepError, StepResult};
use serde_json::{Map, Value, json};
use support::{POLL_EVERY, Wire, edge, flow, node, node_with, on_failure, step_events};
use tokio::time::Instant;

fn ms(with: &Map<String, Value>) -> u64 {
    with.get("ms").and_then(Value::as_u64).unwrap_or(30_000)
}

async fn echo(_ctx: StepContext, with: Map<String, Value>) -> StepResult {
    Ok(Value::Object(with))
}

/// Waits `with.ms` (default 30 s), stopping at once when cancelled.
async fn wait(ctx: StepContext, with: Map<String, Value>) -> StepResult {
    tokio::select! {
        () = ctx.cancelled() => Err(StepError::cancelled("wait: cancelled")),
        () = tokio::time::sleep(Duration::from_millis(ms(&with))) => Ok(json!({"waited": ms(&with)})),
    }
}

/// Sleeps `with.ms` (default 30 s) and ignores its cancellation token.
async fn stubborn(_ctx: StepContext, with: Map<String, Value>) -> StepResult {
    tokio::time::sleep(Duration::from_millis(ms(&with))).await;
    Ok(json!({}))
}

/// Fails attempts 1..=`with.fail_times`, then returns `{ attempt }`.
async fn flaky(ctx: StepContext, with: Map<String, Value>) -> StepResult {
    let fail_times = with.get("fail_times").and_then(Value::as_u64).unwrap_or(0);
    if u64::from(ctx.attempt()) <= fail_times {
        return Err(StepError::new(format!("flaky: attempt {}", ctx.attempt())));
    }
    Ok(json!({"attempt": ctx.attempt()}))
}

async fn boom(_ctx: StepContext, _with: Map<String, Value>) -> StepResult {
    Err(StepError::new("boom").not_retriable())
}

async fn internal(_ctx: StepContext, _with: Map<String, Value>) -> StepResult {
    Err(StepError::new("internal").with_code(3002))
}

async fn panics(_ctx: StepContext, _with: Map<String, Value>) -> StepResult {
    panic!("kaboom")
}

/// Reports what the context knows, and logs.
async fn introspect(ctx: StepContext, _with: Map<String, Value>) -> StepResult {
    ctx.log("info", format!("hello from {}", ctx.step_id()));
    Ok(json!({
        "run_id": ctx.run_id(),
        "step_id": ctx.step_id(),
        "attempt": ctx.attempt(),
        "x": ctx.inputs().get("x").cloned(),
        "cancelled": ctx.is_cancelled(),
    }))
}

fn builder() -> ExecutorBuilder {
    Executor::builder()
        .step("echo", echo)
        .step("dsl.emit", echo)
        .step("wait", wait)
        .step("stubborn", stubborn)
        .step("flaky", flaky)
        .step("boom", boom)
        .step("internal", internal)
        .step("panics", panics)
        .step("introspect", introspect)
}

fn attempts(events: &[&Value]) -> Vec<u64> {
    events
        .iter()
        .map(|e| e["attempt"].as_u64().unwrap())
        .collect()
}

/// Polls until `step_id` has a `state` event (within 10 s on the paused clock); returns the
/// events seen.
async fn poll_until_step(wire: &mut Wire, run_id: &str, step_id: &str, state: &str) -> Vec<Value> {
    let started = Instant::now();
    let mut events = Vec::new();
    for id in 500.. {
        let result = wire.poll(id, run_id).await;
        events.extend(result["events"].as_array().unwrap().iter().cloned());
        if !step_events(&events, step_id, state).is_empty() {
            return events;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "no {state} event for {step_id}: {events:?}"
        );
        tokio::time::sleep(POLL_EVERY).await;
    }
    unreachable!()
}

/// Asserts that `took` is `expected`: the run ended then, and the poll that saw it came at
/// most one poll interval later.
fn assert_took(took: Duration, expected: Duration) {
    assert!(
        took >= expected && took <= expected + POLL_EVERY,
        "took {took:?}, expected {expected:?}"
    );
}

async fn cancel(wire: &mut Wire, run_id: &str) {
    let reply = wire
        .call(90, "Runtime.Cancel", json!({"run_id": run_id}))
        .await;
    assert_eq!(reply["result"], json!({"ok": true}), "{reply}");
}

#[tokio::test(start_paused = true)]
async fn every_retry_attempt_is_reported_with_its_number() {
    let mut wire = Wire::start(builder().build());
    let ir = flow(
        vec![
            node_with("f", "flaky", json!({"fail_times": 2}), 0, 2, 20),
            node("emit", "dsl.emit", json!({"attempt": "$step.f.attempt"})),
        ],
        vec![edge("f", "emit")],
    );
    let started = Instant::now();
    wire.start_run(1, "r", &ir, json!({})).await;
    let (last, events) = wire.poll_until_final("r").await;
    assert_eq!(last["status"], "completed", "{last}");
    // Two backoffs of 20 ms; the attempts take no time.
    assert_took(started.elapsed(), Duration::from_millis(40));
    assert_eq!(attempts(&step_events(&events, "f", "started")), [1, 2, 3]);
    assert_eq!(attempts(&step_events(&events, "f", "failed")), [1, 2]);
    assert_eq!(attempts(&step_events(&events, "f", "succeeded")), [3]);
    assert_eq!(last["summary"]["outputs"]["attempt"], 3);
    assert_eq!(
        last["summary"]["failed_steps"], 0,
        "retried attempts are not failed steps"
    );

    // One retry fewer than needed: the run fails with the last attempt's error.
    let ir = flow(
        vec![node_with("f", "flaky", json!({"fail_times": 2}), 0, 1, 0)],
        vec![],
    );
    wire.start_run(2, "r2", &ir, json!({})).await;
    let (last, events) = wire.poll_until_final("r2").await;
    assert_eq!(last["status"], "failed");
    assert_eq!(attempts(&step_events(&events, "f", "started")), [1, 2]);
    assert_eq!(last["summary"]["error"]["data"]["attempt"], 2);
    assert_eq!(last["summary"]["error"]["message"], "flaky: attempt 2");
    assert_eq!(last["summary"]["failed_steps"], 1);
}

#[tokio::test(start_paused = true)]
async fn not_retriable_errors_and_non_step_failure_classes_stop_retrying() {
    let mut wire = Wire::start(builder().build());
    for (i, kind, code) in [(1, "boom", 2001), (2, "internal", 3002)] {
        let ir = flow(vec![node_with("s", kind, json!({}), 0, 5, 0)], vec![]);
        let run_id = format!("r{i}");
        wire.start_run(i, &run_id, &ir, json!({})).await;
        let (last, events) = wire.poll_until_final(&run_id).await;
        assert_eq!(last["status"], "failed");
        assert_eq!(
            attempts(&step_events(&events, "s", "started")),
            [1],
            "{kind}"
        );
        assert_eq!(last["summary"]["error"]["code"], code);
    }
}

#[tokio::test(start_paused = true)]
async fn a_node_timeout_fails_the_attempt_with_cause_timeout_and_is_retried() {
    let mut wire = Wire::start(builder().build());
    let ir = flow(
        vec![node_with("s", "stubborn", json!({"ms": 10_000}), 50, 1, 0)],
        vec![],
    );
    let started = Instant::now();
    wire.start_run(1, "r", &ir, json!({})).await;
    let (last, events) = wire.poll_until_final("r").await;
    assert_eq!(last["status"], "failed", "{last}");
    // Each attempt: its 50 ms, then the default grace of 150 ms for the handler, which
    // ignores its token.
    assert_took(started.elapsed(), Duration::from_millis(2 * (50 + 150)));
    let failed = step_events(&events, "s", "failed");
    assert_eq!(attempts(&failed), [1, 2], "a timed-out attempt is retried");
    for event in failed {
        assert_eq!(event["error"]["cause"], "timeout", "{event}");
        assert_eq!(event["error"]["code"], 2001);
    }
    let error = &last["summary"]["error"];
    assert_eq!(error["data"]["cause"], "timeout", "{error}");
    assert_eq!(error["data"]["details"]["timeout_ms"], 50);
    assert_eq!(error["data"]["step_id"], "s");
}

#[tokio::test(start_paused = true)]
async fn the_flow_timeout_fails_the_run_and_cancels_its_steps() {
    let mut wire = Wire::start(builder().build());
    let mut ir = flow(
        vec![
            node("w", "wait", json!({})),
            node("after", "echo", json!({})),
        ],
        vec![edge("w", "after")],
    );
    ir["flow"]["timeout_ms"] = json!(100);
    let started = Instant::now();
    wire.start_run(1, "r", &ir, json!({})).await;
    let (last, events) = wire.poll_until_final("r").await;
    assert_eq!(last["status"], "failed", "{last}");
    // The handler stops as soon as its token fires.
    assert_took(started.elapsed(), Duration::from_millis(100));
    let error = &last["summary"]["error"];
    assert_eq!(error["code"], 2001, "{error}");
    assert_eq!(error["data"]["cause"], "timeout");
    assert_eq!(error["data"]["details"]["flow_timeout_ms"], 100);
    let failed = step_events(&events, "w", "failed");
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0]["error"]["cause"], "cancelled");
    assert!(step_events(&events, "after", "started").is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_failure_edge_after_the_last_attempt_leads_on_and_the_run_completes() {
    let mut wire = Wire::start(builder().build());
    let ir = flow(
        vec![
            node_with("f", "flaky", json!({"fail_times": 9}), 0, 1, 0),
            node("next", "echo", json!({})),
            node("recover", "dsl.emit", json!({"recovered": true})),
        ],
        vec![edge("f", "next"), on_failure("f", "recover")],
    );
    wire.start_run(1, "r", &ir, json!({})).await;
    let (last, events) = wire.poll_until_final("r").await;
    assert_eq!(last["status"], "completed", "{last}");
    assert_eq!(attempts(&step_events(&events, "f", "failed")), [1, 2]);
    assert!(step_events(&events, "next", "started").is_empty());
    assert_eq!(step_events(&events, "recover", "succeeded").len(), 1);
    assert_eq!(last["summary"]["failed_steps"], 1);
    assert_eq!(last["summary"]["outputs"], json!({"recovered": true}));
    assert!(last["summary"].get("error").is_none());
}

#[tokio::test(start_paused = true)]
async fn branches_run_concurrently_within_the_limit_and_a_join_runs_once_after_all() {
    let in_flight = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    let (flight, top) = (in_flight.clone(), peak.clone());
    let tracked = move |_ctx: StepContext, _with: Map<String, Value>| {
        let (flight, top) = (flight.clone(), top.clone());
        async move {
            let now = flight.fetch_add(1, Ordering::SeqCst) + 1;
            top.fetch_max(now, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(50)).await;
            flight.fetch_sub(1, Ordering::SeqCst);
            Ok(json!({}))
        }
    };
    let executor = builder().step("tracked", tracked).concurrency(2).build();
    let mut wire = Wire::start(executor);
    let branches = ["b1", "b2", "b3", "b4"];
    let mut nodes = vec![node("a", "echo", json!({}))];
    let mut edges = Vec::new();
    for b in branches {
        nodes.push(node(b, "tracked", json!({})));
        edges.push(edge("a", b));
        edges.push(edge(b, "join"));
    }
    nodes.push(node("join", "echo", json!({})));
    wire.start_run(1, "r", &flow(nodes, edges), json!({})).await;
    let (last, events) = wire.poll_until_final("r").await;
    assert_eq!(last["status"], "completed", "{last}");
    assert_eq!(
        peak.load(Ordering::SeqCst),
        2,
        "4 ready branches, concurrency 2"
    );
    assert_eq!(step_events(&events, "join", "started").len(), 1);
    let position = |step: &str, state: &str| {
        events
            .iter()
            .position(|e| e["step_id"] == step && e["state"] == state)
            .unwrap()
    };
    for b in branches {
        assert!(
            position(b, "succeeded") < position("join", "started"),
            "{b}"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn a_cyclic_graph_is_refused_at_start_run_with_1003() {
    let mut wire = Wire::start(builder().build());
    let ir = flow(
        vec![
            node("entry", "echo", json!({})),
            node("a", "echo", json!({})),
            node("b", "echo", json!({})),
        ],
        vec![edge("entry", "a"), edge("a", "b"), edge("b", "a")],
    );
    let reply = wire
        .call(1, "Runtime.StartRun", json!({"ir": ir, "inputs": {}}))
        .await;
    let error = &reply["error"];
    assert_eq!(error["code"], 1003, "{reply}");
    assert!(
        error["message"].as_str().unwrap().contains("cycle"),
        "{error}"
    );
}

#[tokio::test(start_paused = true)]
async fn cancel_stops_a_cooperative_handler_promptly_and_fails_the_run_as_cancelled() {
    let mut wire = Wire::start(builder().build());
    let ir = flow(
        vec![
            node("w", "wait", json!({})),
            node("after", "echo", json!({})),
        ],
        vec![edge("w", "after")],
    );
    wire.start_run(1, "r", &ir, json!({})).await;
    let mut events = poll_until_step(&mut wire, "r", "w", "started").await;
    let cancelled_at = Instant::now();
    cancel(&mut wire, "r").await;
    let (last, rest) = wire.poll_until_final("r").await;
    events.extend(rest);
    // At once: the handler stops as soon as its token fires.
    assert_took(cancelled_at.elapsed(), Duration::ZERO);
    assert_eq!(last["status"], "failed");
    let error = &last["summary"]["error"];
    assert_eq!(error["code"], 3001, "{error}");
    assert_eq!(error["data"]["cause"], "cancelled");
    let failed = step_events(&events, "w", "failed");
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0]["error"]["cause"], "cancelled");
    assert_eq!(failed[0]["error"]["message"], "wait: cancelled");
    assert!(step_events(&events, "after", "started").is_empty());
    // Cancel of the finished run: ok, nothing changes.
    cancel(&mut wire, "r").await;
    assert_eq!(wire.poll(2, "r").await["status"], "failed");
}

#[tokio::test(start_paused = true)]
async fn cancel_drops_a_handler_that_ignores_its_token_after_the_grace() {
    let grace = Duration::from_millis(100);
    let mut wire = Wire::start(builder().cancel_grace(grace).build());
    let ir = flow(vec![node("s", "stubborn", json!({}))], vec![]);
    wire.start_run(1, "r", &ir, json!({})).await;
    poll_until_step(&mut wire, "r", "s", "started").await;
    let cancelled_at = Instant::now();
    cancel(&mut wire, "r").await;
    let (last, events) = wire.poll_until_final("r").await;
    // The handler gets its grace, not a moment more.
    assert_took(cancelled_at.elapsed(), grace);
    assert_eq!(last["summary"]["error"]["data"]["cause"], "cancelled");
    let failed = step_events(&events, "s", "failed");
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0]["error"]["cause"], "cancelled");
}

#[tokio::test(start_paused = true)]
async fn cancel_during_the_backoff_ends_the_step_without_another_attempt() {
    let mut wire = Wire::start(builder().build());
    let ir = flow(
        vec![node_with(
            "f",
            "flaky",
            json!({"fail_times": 99}),
            0,
            5,
            60_000,
        )],
        vec![],
    );
    wire.start_run(1, "r", &ir, json!({})).await;
    let mut events = poll_until_step(&mut wire, "r", "f", "failed").await;
    let cancelled_at = Instant::now();
    cancel(&mut wire, "r").await;
    let (last, rest) = wire.poll_until_final("r").await;
    events.extend(rest);
    // At once, not after the minute of backoff.
    assert_took(cancelled_at.elapsed(), Duration::ZERO);
    assert_eq!(last["summary"]["error"]["data"]["cause"], "cancelled");
    assert_eq!(attempts(&step_events(&events, "f", "started")), [1]);
    assert_eq!(last["summary"]["failed_steps"], 1);
}

#[tokio::test(start_paused = true)]
async fn runs_in_one_process_are_independent() {
    let mut wire = Wire::start(builder().build());
    let slow = flow(vec![node("w", "wait", json!({}))], vec![]);
    let quick = flow(
        vec![
            node("a", "introspect", json!({})),
            node("b", "echo", json!({})),
        ],
        vec![edge("a", "b")],
    );
    wire.start_run(1, "slow-1", &slow, json!({})).await;
    wire.start_run(2, "slow-2", &slow, json!({})).await;
    wire.start_run(3, "quick", &quick, json!({"x": 1})).await;
    let (last, events) = wire.poll_until_final("quick").await;
    assert_eq!(last["status"], "completed");
    assert!(
        events.iter().all(|e| e["step_id"] != "w"),
        "no event of another run"
    );
    poll_until_step(&mut wire, "slow-1", "w", "started").await;
    cancel(&mut wire, "slow-1").await;
    let (last, _) = wire.poll_until_final("slow-1").await;
    assert_eq!(last["status"], "failed");
    // slow-2 is untouched: still running, and its events were drained by nobody else.
    let other = wire.poll(4, "slow-2").await;
    assert_eq!(other["status"], "running", "{other}");
    assert_eq!(
        step_events(other["events"].as_array().unwrap(), "w", "started").len(),
        1,
        "{other}"
    );
    let health = wire.call(5, "Runtime.Health", json!({})).await;
    assert_eq!(health["result"]["details"]["runs"], 3);
    cancel(&mut wire, "slow-2").await;
    assert_eq!(wire.poll_until_final("slow-2").await.0["status"], "failed");
    assert_eq!(wire.poll(6, "quick").await["status"], "completed");
}

#[tokio::test(start_paused = true)]
async fn a_panicking_handler_is_a_failed_step_with_3002_and_the_executor_keeps_answering() {
    let mut wire = Wire::start(builder().build());
    let ir = flow(vec![node_with("p", "panics", json!({}), 0, 2, 0)], vec![]);
    wire.start_run(1, "r", &ir, json!({})).await;
    let (last, events) = wire.poll_until_final("r").await;
    assert_eq!(last["status"], "failed");
    let error = &last["summary"]["error"];
    assert_eq!(error["code"], 3002, "{error}");
    assert_eq!(error["data"]["cause"], "panic");
    assert!(error["message"].as_str().unwrap().contains("kaboom"));
    let failed = step_events(&events, "p", "failed");
    assert_eq!(attempts(&failed), [1], "a panic is not retried");
    assert_eq!(failed[0]["error"]["code"], 3002);

    let caps = wire.call(2, "Runtime.Capabilities", json!({})).await;
    assert!(caps["result"]["step_kinds"].is_array(), "{caps}");
    let ir = flow(
        vec![
            node("p", "panics", json!({})),
            node("recover", "echo", json!({})),
        ],
        vec![on_failure("p", "recover")],
    );
    wire.start_run(3, "r2", &ir, json!({})).await;
    let (last, _) = wire.poll_until_final("r2").await;
    assert_eq!(
        last["status"], "completed",
        "a failure edge catches a panic too"
    );
}

#[tokio::test(start_paused = true)]
async fn handlers_see_their_context_and_log_with_their_step_id() {
    let mut wire = Wire::start(builder().build());
    let ir = flow(
        vec![
            node_with("me", "introspect", json!({}), 0, 0, 0),
            node("emit", "dsl.emit", json!({"ctx": "$step.me"})),
        ],
        vec![edge("me", "emit")],
    );
    wire.start_run(1, "ctx-run", &ir, json!({"x": [1, 2]}))
        .await;
    let (last, events) = wire.poll_until_final("ctx-run").await;
    assert_eq!(
        last["summary"]["outputs"]["ctx"],
        json!({"run_id": "ctx-run", "step_id": "me", "attempt": 1, "x": [1, 2], "cancelled": false})
    );
    let log = events
        .iter()
        .find(|e| e["type"] == "log" && e["message"] == "hello from me")
        .unwrap();
    assert_eq!(log["step_id"], "me");
    assert_eq!(log["level"], "info");
}

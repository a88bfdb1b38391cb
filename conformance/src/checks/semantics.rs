//! REP-SEM-*: flow semantics, for executors that advertise the probe step kind `rep.probe`
//! (docs/protocol.md, "Conformance extension"). Each test runs hand-picked flows over
//! `rep.probe` (and `switch`, `finish`, `dsl.emit`) on fresh processes and compares the aspects
//! it is about with the reference model ([`crate::semantics::model`]); what it reads is timing
//! independent (event order, attempt counts, outcomes) or a generous bound.

use serde_json::{Value, json};

use crate::checks::{Ctx, count, runs};
use crate::semantics::case::{
    Case, EMIT, FINISH, PROBE, SWITCH, case, failure, node, probe, retried, success, switch, timed,
};
use crate::semantics::exec::{Execution, execute, judge};
use crate::semantics::model::expect;
use crate::semantics::observe::{Aspect, Observed};
use crate::verdict::{Check, Failure, Skip};

/// What one flow of a test showed.
struct Seen {
    execution: Execution,
    observed: Observed,
}

/// Skips unless the executor advertises `rep.probe` and `kinds`.
fn needs(ctx: &Ctx<'_>, kinds: &[&str]) -> Result<(), Skip> {
    if !ctx.plan.advertises(PROBE) {
        return Err(Skip::new(
            "the executor does not advertise rep.probe",
            "register the probe step kind of docs/protocol.md (\"Conformance extension\"): with the executor kit, .step(PROBE_STEP_KIND, ProbeStep)",
        ));
    }
    let missing: Vec<&str> = kinds
        .iter()
        .copied()
        .filter(|k| !ctx.plan.advertises(k))
        .collect();
    if !missing.is_empty() {
        return Err(Skip::new(
            format!("the executor does not advertise {}", missing.join(", ")),
            format!(
                "advertise {} (the flows of this test use it)",
                missing.join(", ")
            ),
        ));
    }
    Ok(())
}

/// The executor's `limits.concurrency`, when an integer.
fn concurrency(ctx: &Ctx<'_>) -> Option<u64> {
    ctx.plan
        .capabilities
        .as_ref()
        .and_then(|c| c.get("limits"))
        .and_then(|l| l.get("concurrency"))
        .and_then(Value::as_u64)
}

/// Runs `case` on a fresh process and fails on any difference from the model in `aspects`
/// (a run that breaks, or a Cancel that does not end it, always fails).
async fn check(
    ctx: &Ctx<'_>,
    tag: &str,
    n: usize,
    case: Case,
    aspects: &[Aspect],
) -> Result<Seen, Failure> {
    let expected = expect(&case).map_err(|e| {
        Failure::new(format!(
            "flow {}: the suite's own flow is indeterminate: {e}",
            case.name
        ))
    })?;
    let mut conn = ctx.connect()?;
    let execution = execute(&mut conn, &case, &runs::run_id(tag, n)).await;
    conn.close().await;
    let (observed, differences) = judge(&case, &expected, &execution, concurrency(ctx));
    let relevant: Vec<String> = differences
        .iter()
        .filter(|d| {
            aspects.contains(&d.aspect) || matches!(d.aspect, Aspect::Transport | Aspect::Cancel)
        })
        .map(ToString::to_string)
        .collect();
    if relevant.is_empty() {
        return Ok(Seen {
            execution,
            observed,
        });
    }
    let shown = relevant
        .iter()
        .take(3)
        .cloned()
        .collect::<Vec<_>>()
        .join("; ");
    let more = match relevant.len() {
        0..=3 => String::new(),
        n => format!(" (and {} more)", n - 3),
    };
    let reason = format!("flow {}: {shown}{more}", case.name);
    Err(match execution.polls.last() {
        Some(last) => Failure::with_frame(reason, &last.reply.line.bytes),
        None => Failure::new(reason),
    })
}

const OUTCOMES: &[Aspect] = &[Aspect::Status, Aspect::Step];
const GRAPH: &[Aspect] = &[Aspect::Status, Aspect::Step, Aspect::Precedence];

/// REP-SEM-001: `retry.max` extra attempts while the failure is retriable; a not-retriable
/// failure is attempted once.
pub async fn retries(ctx: &Ctx<'_>) -> Check {
    needs(ctx, &[])?;
    let flows = [
        Case::new(
            "sem-retry-enough",
            vec![retried(probe("a", json!({"fail_times": 2})), 2, 0)],
            vec![],
        ),
        Case::new(
            "sem-retry-short",
            vec![retried(probe("a", json!({"fail_times": 3})), 2, 0)],
            vec![],
        ),
        Case::new(
            "sem-retry-fail",
            vec![retried(probe("a", json!({"fail": true})), 3, 0)],
            vec![],
        ),
    ];
    for (n, flow) in flows.into_iter().enumerate() {
        check(ctx, "sem-001", n + 1, flow, OUTCOMES).await?;
    }
    Ok("retry.max 2: 3 attempts (completed with fail_times 2, failed with 3); fail: true attempted once".into())
}

/// The pause the backoff tests ask for, in ms.
const BACKOFF_MS: u64 = 200;

/// REP-SEM-002: attempt n + 1 starts no sooner than `retry.backoff_ms` after attempt n failed.
pub async fn backoff(ctx: &Ctx<'_>) -> Check {
    needs(ctx, &[])?;
    let flow = Case::new(
        "sem-backoff",
        vec![retried(probe("a", json!({"fail_times": 2})), 2, BACKOFF_MS)],
        vec![],
    );
    let seen = check(
        ctx,
        "sem-002",
        1,
        flow,
        &[Aspect::Status, Aspect::Step, Aspect::Backoff],
    )
    .await?;
    let pauses: Vec<String> = seen
        .observed
        .pauses
        .iter()
        .map(|(_, _, ms)| format!("{ms} ms"))
        .collect();
    if pauses.len() != 2 {
        return Err(Failure::new(format!(
            "the pauses between attempts could not be measured: {} of 2 (step events need RFC 3339 timestamps)",
            pauses.len()
        ))
        .into());
    }
    Ok(format!(
        "pauses of {} for backoff_ms {BACKOFF_MS}",
        pauses.join(" and ")
    ))
}

/// The delay of a probe whose 100 ms timeout must fire, in ms.
const TIMED_OUT_DELAY_MS: u64 = 3000;

/// REP-SEM-003: `timeout_ms` ends an attempt, which counts as a failure (retried, then the
/// failure edge); a timeout longer than the attempt does not fire.
pub async fn timeout(ctx: &Ctx<'_>) -> Check {
    needs(ctx, &[])?;
    let timed_out = Case::new(
        "sem-timeout",
        vec![
            retried(
                timed(probe("slow", json!({"delay_ms": TIMED_OUT_DELAY_MS})), 100),
                1,
                0,
            ),
            probe("handled", json!({})),
            probe("wrong", json!({})),
        ],
        vec![failure("slow", "handled"), success("slow", "wrong")],
    );
    let seen = check(ctx, "sem-003", 1, timed_out, OUTCOMES).await?;
    // The attempts ended at their timeout, not at the end of their delay.
    let events = seen.execution.events();
    let times = |state: &str| -> Vec<time::OffsetDateTime> {
        events
            .iter()
            .filter(|e| e["type"] == "step" && e["step_id"] == "slow" && e["state"] == state)
            .filter_map(|e| e["timestamp"].as_str())
            .filter_map(|t| {
                time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).ok()
            })
            .collect()
    };
    for (started, ended) in times("started").iter().zip(times("failed")) {
        let lasted = (ended - *started).whole_milliseconds();
        if lasted >= i128::from(TIMED_OUT_DELAY_MS) - 1000 {
            return Err(Failure::new(format!(
                "an attempt of slow (delay_ms {TIMED_OUT_DELAY_MS}, timeout_ms 100) lasted {lasted} ms: the timeout did not end it"
            ))
            .into());
        }
    }
    let in_time = Case::new(
        "sem-timeout-generous",
        vec![timed(probe("quick", json!({"delay_ms": 10})), 30_000)],
        vec![],
    );
    check(ctx, "sem-003", 2, in_time, OUTCOMES).await?;
    Ok("timeout_ms 100 ended both attempts of a 3 s step and its failure edge was taken; timeout_ms 30000 did not fire".into())
}

/// REP-SEM-004: success edges after a success only, failure edges after a failure only; a
/// handled failure lets the run complete, an unhandled one fails it.
pub async fn edges(ctx: &Ctx<'_>) -> Check {
    needs(ctx, &[])?;
    let branches = |name: &str, fail: bool| {
        Case::new(
            name,
            vec![
                probe("a", json!({"fail": fail})),
                probe("on_success", json!({})),
                probe("on_failure", json!({})),
            ],
            vec![success("a", "on_success"), failure("a", "on_failure")],
        )
    };
    let unhandled = Case::new(
        "sem-edges-unhandled",
        vec![probe("a", json!({"fail": true})), probe("after", json!({}))],
        vec![success("a", "after")],
    );
    let flows = [
        branches("sem-edges-success", false),
        branches("sem-edges-failure", true),
        unhandled,
    ];
    for (n, flow) in flows.into_iter().enumerate() {
        check(ctx, "sem-004", n + 1, flow, OUTCOMES).await?;
    }
    Ok("the success edge after a success, the failure edge after a failure (completed), no edge after an unhandled failure (failed)".into())
}

/// REP-SEM-005: a `switch` takes the edges of the case its `key_from` names (from the inputs or
/// a step's output), else those of its default.
pub async fn switches(ctx: &Ctx<'_>) -> Check {
    needs(ctx, &[SWITCH])?;
    let flow = |name: &str, key_from: &str, route: Value| {
        Case::new(
            name,
            vec![
                probe("pick", json!({"output": {"route": "$input.route"}})),
                switch("s", key_from, &[("a", "x"), ("b", "y"), ("_D", "z")], "_D"),
                probe("x", json!({})),
                probe("y", json!({})),
                probe("z", json!({})),
            ],
            vec![
                success("pick", "s"),
                case("s", "x", "a"),
                case("s", "y", "b"),
                case("s", "z", "_D"),
            ],
        )
        .with_inputs(json!({"route": route}))
    };
    let flows = [
        flow("sem-switch-input", "$input.route", json!("b")),
        flow("sem-switch-vars", "$.vars.pick.route", json!("a")),
        flow("sem-switch-default", "$step.pick.route", json!("q")),
        flow("sem-switch-missing", "$input.nothing", json!("a")),
    ];
    for (n, flow) in flows.into_iter().enumerate() {
        check(ctx, "sem-005", n + 1, flow, OUTCOMES).await?;
    }
    Ok("cases chosen by $input and $.vars/$step references, the default for an unknown and a missing key".into())
}

/// REP-SEM-006: `finish` ends the run completed; its successors never start.
pub async fn finish(ctx: &Ctx<'_>) -> Check {
    needs(ctx, &[FINISH])?;
    let flow = Case::new(
        "sem-finish",
        vec![
            probe("a", json!({})),
            node("done", FINISH, json!({})),
            probe("after", json!({"fail": true})),
        ],
        vec![success("a", "done"), success("done", "after")],
    );
    check(ctx, "sem-006", 1, flow, OUTCOMES).await?;
    Ok("completed at finish; the step after it never started".into())
}

/// REP-SEM-007: every taken `success` edge is followed: the targets of a fan-out all run once,
/// after their predecessor ended.
pub async fn fan_out(ctx: &Ctx<'_>) -> Check {
    needs(ctx, &[])?;
    let flow = Case::new(
        "sem-fan-out",
        vec![
            probe("a", json!({})),
            probe("b", json!({"delay_ms": 20})),
            probe("c", json!({})),
            probe("d", json!({"delay_ms": 10})),
        ],
        vec![success("a", "b"), success("a", "c"), success("a", "d")],
    );
    check(ctx, "sem-007", 1, flow, GRAPH).await?;
    Ok("the three targets of a's success edges ran once each, after a".into())
}

/// REP-SEM-008 (SHOULD, docs/flow-ir.md \[clarified\]): a join runs once, after every
/// predecessor on a taken path ended; a node whose incoming edges were all not taken is
/// skipped, and so are its successors.
pub async fn joins(ctx: &Ctx<'_>) -> Check {
    needs(ctx, &[])?;
    let both = Case::new(
        "sem-join",
        vec![
            probe("a", json!({})),
            probe("slow", json!({"delay_ms": 100})),
            probe("fast", json!({})),
            probe("j", json!({})),
        ],
        vec![
            success("a", "slow"),
            success("a", "fast"),
            success("slow", "j"),
            success("fast", "j"),
        ],
    );
    let dead_path = Case::new(
        "sem-join-dead-path",
        vec![
            probe("a", json!({})),
            probe("taken", json!({})),
            probe("dead", json!({})),
            probe("j", json!({})),
            probe("after_dead", json!({})),
        ],
        vec![
            success("a", "taken"),
            failure("a", "dead"),
            success("taken", "j"),
            success("dead", "j"),
            success("dead", "after_dead"),
        ],
    );
    check(ctx, "sem-008", 1, both, GRAPH).await?;
    check(ctx, "sem-008", 2, dead_path, GRAPH).await?;
    Ok("j ran once after both branches; after a dead path, j ran once and the dead branch's successor never".into())
}

/// REP-SEM-009 (SHOULD, `summary.outputs` is \[clarified\]): the outputs of `dsl.emit` are its
/// `with` with every reference resolved, `null` where unresolvable.
pub async fn outputs(ctx: &Ctx<'_>) -> Check {
    needs(ctx, &[EMIT])?;
    let flow = Case::new(
        "sem-outputs",
        vec![
            probe(
                "a",
                json!({"output": {"v": "$input.k", "nested": {"list": ["$input.k", 1]}}}),
            ),
            node(
                "e",
                EMIT,
                json!({
                    "whole": "$step.a",
                    "field": "$step.a.v",
                    "vars": "$.vars.a.nested",
                    "input": "$input.k",
                    "missing": "$step.a.nope",
                    "unknown": "$step.nosuch",
                    "literal": {"n": 5, "s": "text"}
                }),
            ),
        ],
        vec![success("a", "e")],
    )
    .with_inputs(json!({"k": "K"}));
    check(ctx, "sem-009", 1, flow, &[Aspect::Status, Aspect::Outputs]).await?;
    Ok(
        "summary.outputs is the emit's with, $input/$step/$.vars resolved, unresolvable ones null"
            .into(),
    )
}

/// REP-SEM-010: no more attempts run at once than `limits.concurrency`.
pub async fn concurrency_limit(ctx: &Ctx<'_>) -> Check {
    needs(ctx, &[])?;
    let Some(limit) = concurrency(ctx) else {
        return Err(Skip::new(
            "the Capabilities have no integer limits.concurrency",
            "answer Runtime.Capabilities with limits.concurrency (REP-CAP-001)",
        )
        .into());
    };
    let width = usize::try_from(limit.saturating_add(2).min(32)).unwrap_or(32);
    let mut nodes = vec![probe("root", json!({}))];
    let mut edges = Vec::new();
    for i in 0..width {
        let id = format!("p{i}");
        nodes.push(probe(&id, json!({"delay_ms": 150})));
        edges.push(success("root", &id));
    }
    let flow = Case::new("sem-concurrency", nodes, edges);
    let seen = check(
        ctx,
        "sem-010",
        1,
        flow,
        &[Aspect::Status, Aspect::Step, Aspect::Concurrency],
    )
    .await?;
    Ok(format!(
        "{} parallel steps of 150 ms: at most {} running at once, limits.concurrency {limit}",
        width, seen.observed.peak_concurrency
    ))
}

/// REP-SEM-011: Cancel of a run while a `rep.probe` step runs ends the step (failed) and the
/// run (failed) within 5 s; no later step starts.
pub async fn cancel_running(ctx: &Ctx<'_>) -> Check {
    needs(ctx, &[])?;
    let flow = Case::new(
        "sem-cancel",
        vec![
            probe("a", json!({})),
            probe("long", json!({"delay_ms": 60_000})),
            probe("after", json!({})),
        ],
        vec![
            success("a", "long"),
            success("long", "after"),
            failure("long", "after"),
        ],
    )
    .cancelled_at("long");
    let seen = check(ctx, "sem-011", 1, flow, OUTCOMES).await?;
    if !seen.execution.cancelled {
        return Err(Failure::new(
            "the long step never reported started, so it could not be cancelled",
        )
        .into());
    }
    Ok("the running 60 s step ended failed and the run failed within 5 s of Cancel; the next step never started".into())
}

/// REP-SEM-012: every attempt of every step is reported: `started`, then `succeeded` or
/// `failed`, with `attempt` 1, 2, 3, … in order.
pub async fn event_order(ctx: &Ctx<'_>) -> Check {
    needs(ctx, &[])?;
    let flow = Case::new(
        "sem-events",
        vec![
            retried(probe("a", json!({"fail_times": 2})), 2, 0),
            probe("b", json!({"delay_ms": 10})),
            retried(probe("c", json!({"fail_times": 1, "delay_ms": 5})), 1, 0),
        ],
        vec![success("a", "b"), success("a", "c")],
    );
    let seen = check(
        ctx,
        "sem-012",
        1,
        flow,
        &[Aspect::Order, Aspect::Precedence],
    )
    .await?;
    let steps = seen
        .execution
        .events()
        .iter()
        .filter(|e| e["type"] == "step")
        .count();
    if steps == 0 {
        return Err(Failure::new(
            "the run produced no step events: an executor with rep.probe reports every attempt",
        )
        .into());
    }
    Ok(format!(
        "{} in order, attempts numbered 1, 2, 3",
        count(steps, "step event", "step events")
    ))
}

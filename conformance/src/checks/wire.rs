//! REP-WIRE-001: every frame the executor wrote — in this test's own session and in every test
//! that ran before it — matches the JSON Schema of REP v0.1 messages
//! (docs/rep-v0.1.schema.json), its result checked against the method it answers.

use rep_spec::{METHOD_CANCEL, METHOD_CAPABILITIES, METHOD_HEALTH};
use serde_json::json;

use crate::checks::{Ctx, count, runs};
use crate::verdict::{Check, Failure};
use crate::wire::check_frame;

/// How many frames a failure lists.
const LISTED: usize = 3;

/// REP-WIRE-001.
pub async fn frames_match_the_schema(ctx: &Ctx<'_>) -> Check {
    // A session of every method, so the test has frames of its own when run alone.
    let mut conn = ctx.connect()?;
    conn.call(METHOD_CAPABILITIES, json!({})).await?;
    if let Some(flow) = ctx.plan.runnable().first() {
        let record = runs::run_on(&mut conn, flow, &runs::run_id("wire-001", 1)).await?;
        conn.request(METHOD_CANCEL, json!({"run_id": record.run_id}))
            .await?;
    }
    conn.request(METHOD_HEALTH, json!({})).await?;
    conn.request("Runtime.NoSuchMethod", json!({})).await?;
    conn.close().await;

    let frames = ctx.frames.frames();
    let mut tests: Vec<&str> = frames.iter().map(|f| f.test).collect();
    tests.dedup();
    let mut problems = Vec::new();
    let mut checked = 0;
    for frame in &frames {
        if frame.line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        checked += 1;
        if let Err(problem) = check_frame(frame.method.as_deref(), &frame.line) {
            let answering = frame
                .method
                .as_deref()
                .map(|m| format!(" answering {m}"))
                .unwrap_or_default();
            problems.push((format!("{}{answering}: {problem}", frame.test), frame));
        }
    }
    if let Some((_, frame)) = problems.first() {
        let listed: Vec<&str> = problems
            .iter()
            .take(LISTED)
            .map(|(p, _)| p.as_str())
            .collect();
        let more = problems.len().saturating_sub(LISTED);
        let more = if more > 0 {
            format!(" (and {more} more)")
        } else {
            String::new()
        };
        return Err(Failure::with_frame(
            format!(
                "{} of {} break docs/rep-v0.1.schema.json: {}{more}",
                count(problems.len(), "frame", "frames"),
                checked,
                listed.join(" | ")
            ),
            &frame.line,
        )
        .into());
    }
    Ok(format!(
        "{} of {} match docs/rep-v0.1.schema.json",
        count(checked, "frame", "frames"),
        count(tests.len(), "test", "tests")
    ))
}

//! A complete REP v0.1 executor: one step kind of its own (`greet`), the flow's outputs
//! (`dsl.emit`), and the kit's built-in `switch` and `finish`. Retries, timeouts, failure
//! edges, branches, cancellation and the protocol are the kit's. Run it under the host:
//! `tm --executor-path target/debug/examples/hello_executor runtime run --manifest … --flow …`

use std::time::Duration;

use rep_executor_kit::{Executor, StepContext, StepError, StepResult};
use serde_json::{Map, Value, json};

/// `greet`: `with = { name: string, delay_ms?: number }` → `{ greeting }`.
async fn greet(ctx: StepContext, with: Map<String, Value>) -> StepResult {
    let Some(name) = with.get("name").and_then(Value::as_str) else {
        return Err(StepError::new("greet: with.name must be a string").not_retriable());
    };
    let delay = with.get("delay_ms").and_then(Value::as_u64).unwrap_or(0);
    tokio::select! {
        () = ctx.cancelled() => return Err(StepError::cancelled("greet: cancelled")),
        () = tokio::time::sleep(Duration::from_millis(delay)) => {}
    }
    ctx.log(
        "info",
        format!("greeting {name} (attempt {})", ctx.attempt()),
    );
    Ok(json!({ "greeting": format!("hello, {name}") }))
}

/// `dsl.emit`: its resolved `with` becomes the flow's outputs.
async fn emit(_ctx: StepContext, with: Map<String, Value>) -> StepResult {
    Ok(Value::Object(with))
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    Executor::builder()
        .step("greet", greet)
        .step("dsl.emit", emit)
        .build()
        .serve_stdio()
        .await
}


/// `{{ step.kind }}`: `with = { name: string, delay_ms?: integer }` → `{ greeting }`.
async fn {{ step.fn }}(ctx: StepContext, with: Map<String, Value>) -> StepResult {
    let Some(name) = with.get("name").and_then(Value::as_str) else {
        // A bad `with` does not get better by retrying: not retriable.
        return Err(StepError::new("{{ step.kind }}: with.name must be a string").not_retriable());
    };
    // Wherever a handler waits, it also waits for cancellation.
    let delay = with.get("delay_ms").and_then(Value::as_u64).unwrap_or(0);
    tokio::select! {
        () = ctx.cancelled() => return Err(StepError::cancelled("{{ step.kind }}: cancelled")),
        () = tokio::time::sleep(Duration::from_millis(delay)) => {}
    }
    ctx.log("info", format!("greeting {name} (attempt {})", ctx.attempt()));
    Ok(json!({ "greeting": format!("hello, {name}") }))
}

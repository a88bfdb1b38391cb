//! The simulated step handlers.

use rep_executor_kit::{StepContext, StepError, StepResult};
use serde_json::{Map, Value, json};

use crate::policy::evaluate_threshold_policy;

/// What `opcua.read` returns for every node id, as the reference in-process engine does.
pub const DEFAULT_READING: f64 = 80.0;

/// `opcua.read`: `with = { endpoint, node_ids: [string] }` → `{ endpoint, values: { node_id:
/// number } }`. Each value is [`DEFAULT_READING`] unless the run inputs hold
/// `mock_values: { node_id: number }`.
pub async fn opcua_read(ctx: StepContext, with: Map<String, Value>) -> StepResult {
    let overrides = ctx.inputs().get("mock_values").and_then(Value::as_object);
    let mut values = Map::new();
    match with.get("node_ids") {
        Some(Value::Array(ids)) => {
            for id in ids {
                let key = match id {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                let value = overrides
                    .and_then(|o| o.get(&key))
                    .filter(|v| v.is_number())
                    .cloned()
                    .unwrap_or_else(|| json!(DEFAULT_READING));
                values.insert(key, value);
            }
        }
        Some(Value::Null) | None => {}
        Some(other) => {
            return Err(StepError::new(format!(
                "opcua.read: node_ids must be an array, got {other}"
            ))
            .not_retriable());
        }
    }
    Ok(json!({"endpoint": with.get("endpoint").cloned().unwrap_or(Value::Null), "values": values}))
}

/// `opcua.write`: echoes `{ endpoint, node_id, value, status: "ok" }`.
pub async fn opcua_write(_ctx: StepContext, with: Map<String, Value>) -> StepResult {
    let field = |k: &str| with.get(k).cloned().unwrap_or(Value::Null);
    Ok(
        json!({"endpoint": field("endpoint"), "node_id": field("node_id"), "value": field("value"), "status": "ok"}),
    )
}

/// `policy.apply`: evaluates the policy baked in the IR's `constants.policy.policy` on
/// `with.values` (see [`evaluate_threshold_policy`]).
pub async fn policy_apply(ctx: StepContext, with: Map<String, Value>) -> StepResult {
    let policy = ctx
        .flow()
        .constants
        .policy
        .get("policy")
        .unwrap_or(&Value::Null);
    let empty = Map::new();
    let values = with
        .get("values")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let decision = evaluate_threshold_policy(policy, values)
        .map_err(|e| StepError::new(format!("policy.apply: {e}")).not_retriable())?;
    Ok(decision.output)
}

/// `dsl.emit`: returns its resolved `with`, which become the flow's outputs.
pub async fn dsl_emit(_ctx: StepContext, with: Map<String, Value>) -> StepResult {
    Ok(Value::Object(with))
}

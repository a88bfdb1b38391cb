//! The `pdl/v0` threshold rule baked into Flow IR by the reference compiler
//! (`constants.policy.policy`, see docs/flow-ir.md, "The dialect the compiler emits").
//!
//! The active arm is `params.arms.default`. The reading is the first numeric value of
//! `values` (numbers or numeric strings, in order). With a `threshold`, the action is the
//! arm's `action_on_violation` when reading ≥ threshold, else `NONE`; without one, it is
//! `action_on_violation` (or `NONE`). The output follows `params.emit`, whose expressions may
//! be `action`, `temp`, `arms.active.<key>` / `arms.default.<key>`, a number, a quoted string,
//! or an object literal `{ k: expr, … }` of those. The exploration branch (`choose … explore`
//! with probability `epsilon`) is not simulated: the mock is deterministic.

use serde_json::{Map, Value, json};

/// The outcome of the policy for one set of readings.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyDecision {
    /// The chosen action, e.g. `WRITE_BACK` or `NONE`.
    pub action: String,
    /// The reading the rule compared, when there was a numeric one.
    pub temp: Option<f64>,
    /// The step output, shaped by `params.emit`.
    pub output: Value,
}

/// Evaluates `policy` (the object at `constants.policy.policy`) on `values`.
///
/// # Errors
/// A message when the policy is not a `pdl/v0` object or its `params` are missing.
pub fn evaluate_threshold_policy(
    policy: &Value,
    values: &Map<String, Value>,
) -> Result<PolicyDecision, String> {
    let policy = policy
        .as_object()
        .ok_or("constants.policy.policy is missing or not an object")?;
    match policy.get("strategy").and_then(Value::as_str) {
        Some("pdl/v0") => {}
        other => {
            return Err(format!(
                "unsupported policy strategy {other:?}, expected \"pdl/v0\""
            ));
        }
    }
    let params = policy
        .get("params")
        .and_then(Value::as_object)
        .ok_or("policy params are missing")?;
    let empty = Map::new();
    let arm = params
        .get("arms")
        .and_then(|a| a.get("default"))
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let temp = values.values().find_map(number);
    let violation = arm
        .get("action_on_violation")
        .and_then(Value::as_str)
        .unwrap_or("NONE");
    let action = match arm.get("threshold").and_then(number) {
        Some(threshold) => match temp {
            Some(t) if t >= threshold => violation,
            _ => "NONE",
        },
        None => violation,
    }
    .to_owned();
    let scope = EmitScope {
        action: &action,
        temp,
        arm,
    };
    let output = match params.get("emit").and_then(Value::as_object) {
        Some(emit) => Value::Object(
            emit.iter()
                .map(|(k, v)| (k.clone(), scope.eval_value(v)))
                .collect(),
        ),
        None => json!({"action": action}),
    };
    Ok(PolicyDecision {
        action,
        temp,
        output,
    })
}

/// A number, or a string that parses as one.
fn number(value: &Value) -> Option<f64> {
    match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

struct EmitScope<'a> {
    action: &'a str,
    temp: Option<f64>,
    arm: &'a Map<String, Value>,
}

impl EmitScope<'_> {
    fn eval_value(&self, expr: &Value) -> Value {
        match expr {
            Value::String(s) => self.eval(s),
            other => other.clone(),
        }
    }

    fn eval(&self, expr: &str) -> Value {
        let expr = expr.trim();
        if let Some(inner) = expr.strip_prefix('{').and_then(|e| e.strip_suffix('}')) {
            let mut object = Map::new();
            for part in split_top_level(inner) {
                if let Some((key, value)) = part.split_once(':') {
                    object.insert(key.trim().trim_matches('"').to_owned(), self.eval(value));
                }
            }
            return Value::Object(object);
        }
        if let Some(text) = expr.strip_prefix('"').and_then(|e| e.strip_suffix('"')) {
            return Value::from(text);
        }
        if let Ok(int) = expr.parse::<i64>() {
            return Value::from(int);
        }
        if let Ok(float) = expr.parse::<f64>() {
            return json!(float);
        }
        match expr {
            "action" => return Value::from(self.action),
            "temp" => return self.temp.map_or(Value::Null, |t| json!(t)),
            _ => {}
        }
        let key = expr
            .strip_prefix("arms.active.")
            .or_else(|| expr.strip_prefix("arms.default."));
        match key.and_then(|k| self.arm.get(k)) {
            Some(Value::String(s)) => s
                .trim()
                .parse::<f64>()
                .map_or_else(|_| Value::from(s.as_str()), |n| json!(n)),
            Some(other) => other.clone(),
            None if key.is_some() => Value::Null,
            None => Value::from(expr),
        }
    }
}

/// Splits `a: x, b: { c: y, d: z }` at the commas outside braces.
fn split_top_level(s: &str) -> Vec<&str> {
    let (mut parts, mut depth, mut start) = (Vec::new(), 0usize, 0);
    for (i, c) in s.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                parts.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&s[start..]);
    parts.into_iter().filter(|p| !p.trim().is_empty()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plant_policy() -> Value {
        json!({
            "id": "plant-monitor", "strategy": "pdl/v0",
            "params": {
                "arms": {"default": {"threshold": "75.0", "action_on_violation": "WRITE_BACK", "target_node": "ns=2;i=5001"}},
                "emit": {"action": "action", "target_node": "arms.active.target_node", "value": "1",
                          "reason": "{ temp: temp, threshold: arms.active.threshold }"}
            }
        })
    }

    fn values(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn reading_at_or_above_threshold_triggers_the_violation_action() {
        let d = evaluate_threshold_policy(
            &plant_policy(),
            &values(json!({"ns=2;i=2": 80.0, "ns=2;i=5001": 80.0})),
        )
        .unwrap();
        assert_eq!(d.action, "WRITE_BACK");
        assert_eq!(
            d.output,
            json!({"action": "WRITE_BACK", "target_node": "ns=2;i=5001", "value": 1, "reason": {"temp": 80.0, "threshold": 75.0}})
        );
        let d = evaluate_threshold_policy(&plant_policy(), &values(json!({"a": "75"}))).unwrap();
        assert_eq!(d.action, "WRITE_BACK");
    }

    #[test]
    fn reading_below_threshold_or_missing_means_none() {
        let d =
            evaluate_threshold_policy(&plant_policy(), &values(json!({"ns=2;i=2": 70.5}))).unwrap();
        assert_eq!(d.action, "NONE");
        let d = evaluate_threshold_policy(&plant_policy(), &Map::new()).unwrap();
        assert_eq!(d.action, "NONE");
        assert_eq!(d.output["reason"]["temp"], Value::Null);
    }

    #[test]
    fn without_threshold_the_arm_action_applies() {
        let policy = json!({"strategy": "pdl/v0", "params": {"arms": {"default": {"action_on_violation": "PASS"}}, "emit": {"action": "action"}}});
        let d = evaluate_threshold_policy(&policy, &values(json!({"temperature": "72"}))).unwrap();
        assert_eq!(d.output, json!({"action": "PASS"}));
    }

    #[test]
    fn a_policy_that_is_not_pdl_v0_is_an_error() {
        assert!(
            evaluate_threshold_policy(&json!({"strategy": "other"}), &Map::new())
                .unwrap_err()
                .contains("other")
        );
        assert!(evaluate_threshold_policy(&json!(null), &Map::new()).is_err());
    }
}

//! The built-in control kinds and what a node's end does to the graph (Flow IR dialect,
//! "Control kinds"), in one place: `switch` picks its case and takes only that case's edges,
//! `finish` ends the flow, `dsl.emit` gives the flow's outputs, and every other kind takes all
//! its `success` edges after a success and its `failure` edges after a failure.

use flow_ir::{Edge, EdgeOn};
use serde_json::{Map, Value, json};

use crate::handler::{StepError, StepResult};
use crate::{BUILTIN_FINISH, BUILTIN_SWITCH, OUTPUT_STEP_KIND};

/// A node's part in routing, from its `type`. A handler registered for `switch` or `finish`
/// replaces the built-in's attempt, not its routing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Control {
    /// Any step kind: a success takes every `success` edge.
    Step,
    /// `dsl.emit`: routed like [`Control::Step`]; its output becomes the run's
    /// `summary.outputs`.
    Emit,
    /// `switch`: a success takes only the `success` edges of the case it chose.
    Switch,
    /// `finish`: a success ends the flow; no step starts after it.
    Finish,
}

impl Control {
    /// The control of a node whose `type` is `kind`.
    pub(crate) fn of(kind: &str) -> Control {
        match kind {
            BUILTIN_SWITCH => Control::Switch,
            BUILTIN_FINISH => Control::Finish,
            OUTPUT_STEP_KIND => Control::Emit,
            _ => Control::Step,
        }
    }

    /// The built-in attempt of a kind no handler is registered for: `switch` picks its case
    /// (output `{ value, case, target }`), `finish` outputs `{}`. `None` for other kinds.
    pub(crate) fn builtin(self, with: &Map<String, Value>) -> Option<StepResult> {
        match self {
            Control::Switch => Some(switch(with)),
            Control::Finish => Some(Ok(json!({}))),
            Control::Step | Control::Emit => None,
        }
    }

    /// Which outgoing edges a success with `output` takes.
    pub(crate) fn route(self, output: &Value) -> Route<'_> {
        match self {
            Control::Switch => Route::Case {
                case: output.get("case").and_then(Value::as_str),
                target: output.get("target").and_then(Value::as_str),
            },
            Control::Step | Control::Emit | Control::Finish => Route::Success,
        }
    }

    /// Whether a success ends the flow (`finish`).
    pub(crate) fn ends_flow(self) -> bool {
        self == Control::Finish
    }

    /// Whether a success's output is added to the run's `summary.outputs` (`dsl.emit`).
    pub(crate) fn emits_outputs(self) -> bool {
        self == Control::Emit
    }
}

/// Which outgoing edges a node's end takes; the others are decided "not taken".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Route<'a> {
    /// After a failure: the `failure` edges.
    Failure,
    /// After a success: every `success` edge.
    Success,
    /// After a `switch`'s success: the `success` edges of the chosen case, that is, an edge
    /// whose `case` names it or, for an edge without `case`, one leading to the case's node.
    Case {
        /// The chosen case key (`output.case`).
        case: Option<&'a str>,
        /// The chosen node id (`output.target`).
        target: Option<&'a str>,
    },
}

impl Route<'_> {
    /// Whether `edge`, leaving the node that ended, is taken.
    pub(crate) fn takes(self, edge: &Edge) -> bool {
        match self {
            Route::Failure => edge.on == EdgeOn::Failure,
            Route::Success => edge.on == EdgeOn::Success,
            Route::Case { case, target } => {
                edge.on == EdgeOn::Success
                    && match &edge.case {
                        Some(edge_case) => case == Some(edge_case.as_str()),
                        None => target == Some(edge.to.as_str()),
                    }
            }
        }
    }
}

/// The built-in `switch`: `with = { key_from, cases: { value: node id }, default }`, with
/// `key_from` already resolved. Output: `{ value, case, target }`; no case and no usable
/// default is a failure, not retriable.
fn switch(with: &Map<String, Value>) -> StepResult {
    let value = with.get("key_from").cloned().unwrap_or(Value::Null);
    let cases = with
        .get("cases")
        .and_then(Value::as_object)
        .ok_or_else(|| {
            StepError::new("switch: with.cases is missing or not an object").not_retriable()
        })?;
    let key = match &value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    };
    let case = match key {
        Some(key) if cases.contains_key(&key) => key,
        _ => match with.get("default").and_then(Value::as_str) {
            Some(default) if cases.contains_key(default) => default.to_owned(),
            _ => {
                return Err(StepError::new(format!(
                    "switch: no case matches {value} and there is no usable default"
                ))
                .not_retriable());
            }
        },
    };
    let target = cases.get(&case).cloned().unwrap_or(Value::Null);
    Ok(json!({"value": value, "case": case, "target": target}))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edge(to: &str, on: EdgeOn, case: Option<&str>) -> Edge {
        serde_json::from_value(json!({"from": "sw", "to": to, "on": on, "case": case}))
            .unwrap_or_else(|e| panic!("{e}"))
    }

    fn with(key: Value) -> Map<String, Value> {
        let with = json!({"key_from": key, "cases": {"HIGH": "high", "7": "seven", "_D": "low"},
                          "default": "_D"});
        with.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn switch_picks_the_case_of_its_key_else_the_default() {
        let pick = |key: Value| {
            let output = Control::Switch.builtin(&with(key)).and_then(Result::ok);
            output.map(|o| (o["case"].clone(), o["target"].clone()))
        };
        assert_eq!(pick(json!("HIGH")), Some((json!("HIGH"), json!("high"))));
        assert_eq!(pick(json!(7)), Some((json!("7"), json!("seven"))));
        assert_eq!(pick(json!("other")), Some((json!("_D"), json!("low"))));
        assert_eq!(pick(Value::Null), Some((json!("_D"), json!("low"))));
        let mut no_default = with(json!("other"));
        no_default.remove("default");
        let error = Control::Switch.builtin(&no_default).and_then(Result::err);
        assert_eq!(error.and_then(|e| e.retriable), Some(false));
        assert_eq!(Control::Finish.builtin(&Map::new()), Some(Ok(json!({}))));
        assert_eq!(Control::Step.builtin(&Map::new()), None);
    }

    #[test]
    fn a_switch_takes_only_the_edges_of_its_case() {
        let output = json!({"value": "HIGH", "case": "HIGH", "target": "high"});
        let route = Control::Switch.route(&output);
        assert!(route.takes(&edge("high", EdgeOn::Success, Some("HIGH"))));
        assert!(!route.takes(&edge("low", EdgeOn::Success, Some("_D"))));
        // Without `case`, the edge to the chosen node.
        assert!(route.takes(&edge("high", EdgeOn::Success, None)));
        assert!(!route.takes(&edge("low", EdgeOn::Success, None)));
        assert!(!route.takes(&edge("high", EdgeOn::Failure, Some("HIGH"))));
    }

    #[test]
    fn other_kinds_take_success_edges_after_a_success_and_failure_edges_after_a_failure() {
        let output = json!({"case": "HIGH"});
        for control in [Control::Step, Control::Emit, Control::Finish] {
            let route = control.route(&output);
            assert!(route.takes(&edge("a", EdgeOn::Success, Some("x"))));
            assert!(!route.takes(&edge("a", EdgeOn::Failure, None)));
        }
        assert!(Route::Failure.takes(&edge("a", EdgeOn::Failure, None)));
        assert!(!Route::Failure.takes(&edge("a", EdgeOn::Success, None)));
        assert!(Control::of("finish").ends_flow() && !Control::of("switch").ends_flow());
        assert!(Control::of("dsl.emit").emits_outputs() && !Control::of("x").emits_outputs());
    }
}

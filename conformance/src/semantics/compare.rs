//! Comparing a run with the model: final status, each step's outcome and number of attempts,
//! `summary.outputs`, and the rules of [`observe`](crate::semantics::observe).

use serde_json::{Map, Value};

use crate::checks::runs::subset;
use crate::semantics::case::{Case, EMIT};
use crate::semantics::model::{EndedBy, Expected, Outcome, Status};
use crate::semantics::observe::{Aspect, Observed};

/// One way a run differs from the model or breaks a rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Difference {
    /// What it concerns.
    pub aspect: Aspect,
    /// One line naming the step, the expected and the observed.
    pub message: String,
}

impl Difference {
    /// A difference about `aspect`.
    pub fn new(aspect: Aspect, message: impl Into<String>) -> Difference {
        Difference {
            aspect,
            message: message.into(),
        }
    }
}

impl std::fmt::Display for Difference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.aspect.name(), self.message)
    }
}

/// How the run ended, as read from its final Poll.
#[derive(Debug, Clone, PartialEq)]
pub struct Ending {
    /// `completed` or `failed`.
    pub status: Status,
    /// `summary.outputs`, when the summary has it.
    pub outputs: Option<Value>,
}

/// Every difference between `expected` and the run (`observed`, ending with `ending`).
pub fn compare(
    case: &Case,
    expected: &Expected,
    observed: &Observed,
    ending: &Ending,
) -> Vec<Difference> {
    let mut differences = Vec::new();
    if ending.status != expected.status {
        let why = match &expected.ended_by {
            EndedBy::Completion => "every step that runs succeeds or has a failure edge".to_owned(),
            EndedBy::Finish(id) => format!("{id} (finish) ends it"),
            EndedBy::Failure(id) => format!("{id} fails without a failure edge"),
            EndedBy::Cancel(id) => format!("it is cancelled while {id} runs"),
        };
        differences.push(Difference::new(
            Aspect::Status,
            format!(
                "the run ended {}, expected {} ({why})",
                ending.status.as_str(),
                expected.status.as_str()
            ),
        ));
    }
    for (id, want) in &expected.steps {
        let got = observed.steps.get(id).copied().unwrap_or(Outcome::NotRun);
        if got != *want {
            differences.push(Difference::new(
                Aspect::Step,
                format!("{id} {got}, expected {}", expected_outcome(case, id, *want)),
            ));
        }
    }
    let emits = case.nodes.iter().any(|n| n.kind == EMIT);
    if emits || !expected.outputs.is_empty() {
        let want = Value::Object(expected.outputs.clone());
        let got = ending
            .outputs
            .clone()
            .unwrap_or_else(|| Value::Object(Map::new()));
        if let Err(at) = subset(&want, &got, "").and_then(|()| subset(&got, &want, "")) {
            differences.push(Difference::new(
                Aspect::Outputs,
                format!("summary.outputs is {got}, expected {want} (first difference: {at})"),
            ));
        }
    }
    differences.extend(
        observed
            .violations
            .iter()
            .map(|v| Difference::new(v.aspect, v.message.clone())),
    );
    differences
}

/// The expected outcome, with the reason when it is the `retry` policy at work.
fn expected_outcome(case: &Case, id: &str, want: Outcome) -> String {
    let Some(node) = case.node(id) else {
        return want.to_string();
    };
    match want {
        Outcome::Failed { attempts } if attempts > 1 => {
            format!("{want} (retry.max {} allows {attempts})", node.retry.max)
        }
        Outcome::Succeeded { attempts } if attempts > 1 => format!(
            "{want} (with.fail_times {})",
            node.with.get("fail_times").cloned().unwrap_or(Value::Null)
        ),
        _ => want.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::semantics::case::{node, probe, retried, success};
    use crate::semantics::model::expect;
    use crate::semantics::observe::observe;
    use serde_json::json;

    #[test]
    fn status_outcomes_and_outputs_are_compared() {
        let case = Case::new(
            "t",
            vec![
                retried(
                    probe("a", json!({"fail_times": 2, "output": {"v": 1}})),
                    2,
                    0,
                ),
                node("e", EMIT, json!({"e_v": "$step.a.v"})),
            ],
            vec![success("a", "e")],
        );
        let expected = expect(&case).unwrap();
        let event = |id: &str, state: &str, attempt: u64| json!({"type": "step", "step_id": id, "state": state, "attempt": attempt});
        // One retry short: a fails on its second attempt, e never runs.
        let events = vec![
            event("a", "started", 1),
            event("a", "failed", 1),
            event("a", "started", 2),
            event("a", "failed", 2),
        ];
        let observed = observe(&case, &events, None);
        let ending = Ending {
            status: Status::Failed,
            outputs: Some(json!({})),
        };
        let found: Vec<String> = compare(&case, &expected, &observed, &ending)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            found,
            [
                "status: the run ended failed, expected completed (every step that runs succeeds or has a failure edge)",
                "step: a failed after 2 attempts, expected succeeded after 3 attempts (with.fail_times 2)",
                "step: e not run, expected succeeded after 1 attempt",
                "outputs: summary.outputs is {}, expected {\"e_v\":1} (first difference: /e_v is missing)",
            ]
        );
        // 1.0 equals 1.
        let events = vec![
            event("a", "started", 1),
            event("a", "failed", 1),
            event("a", "started", 2),
            event("a", "failed", 2),
            event("a", "started", 3),
            event("a", "succeeded", 3),
            event("e", "started", 1),
            event("e", "succeeded", 1),
        ];
        let ending = Ending {
            status: Status::Completed,
            outputs: Some(json!({"e_v": 1.0})),
        };
        let observed = observe(&case, &events, None);
        assert_eq!(compare(&case, &expected, &observed, &ending), []);
    }
}

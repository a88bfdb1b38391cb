//! What a run did, read from its `step` events and final Poll, and the rules every run obeys
//! whatever the graph:
//!
//! - **order**: each step's events are `started`, then `succeeded` or `failed`, attempt after
//!   attempt, carrying `attempt` 1, 2, 3, … (the `rep.probe` contract, REP v0.1 §4
//!   \[clarified\]); a step starts only after every predecessor that ran has ended (Flow IR
//!   edges; joins \[clarified\]); no events for steps the graph does not have;
//! - **concurrency**: at no point of the event stream are more attempts running than
//!   `limits.concurrency` (REP v0.1 §3);
//! - **backoff**: attempt n + 1 starts no sooner than `retry.backoff_ms` after attempt n
//!   ended, by the events' timestamps (a lower bound: a slow machine only lengthens it).
//!
//! Every rule reads the order of the events or a lower bound on their timestamps, so none
//! depends on how fast the machine is.

use std::collections::BTreeMap;

use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::semantics::case::Case;
use crate::semantics::model::{Graph, Outcome};

/// Slack allowed on the backoff lower bound, for timestamps rounded to the millisecond.
const BACKOFF_SLACK_MS: i128 = 1;

/// Which rule a [`Violation`] or a difference concerns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Aspect {
    /// The final status.
    Status,
    /// A step's outcome or number of attempts.
    Step,
    /// `summary.outputs`.
    Outputs,
    /// The order of one step's events: started before its end, attempts 1, 2, 3, ….
    Order,
    /// A step started before a predecessor ended.
    Precedence,
    /// `limits.concurrency`.
    Concurrency,
    /// `retry.backoff_ms`.
    Backoff,
    /// Cancelling a running run.
    Cancel,
    /// The run could not be observed to its end (transport, time budget).
    Transport,
}

impl Aspect {
    /// A short lowercase name, e.g. `status`.
    pub fn name(self) -> &'static str {
        match self {
            Aspect::Status => "status",
            Aspect::Step => "step",
            Aspect::Outputs => "outputs",
            Aspect::Order => "order",
            Aspect::Precedence => "precedence",
            Aspect::Concurrency => "concurrency",
            Aspect::Backoff => "backoff",
            Aspect::Cancel => "cancel",
            Aspect::Transport => "transport",
        }
    }
}

/// A rule a run broke.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// The rule.
    pub aspect: Aspect,
    /// What happened, naming the step and event.
    pub message: String,
}

/// One `step` event, as read.
#[derive(Debug, Clone, PartialEq)]
struct StepEvent {
    /// Position in the run's event stream.
    index: usize,
    step_id: String,
    state: String,
    attempt: Option<u64>,
    at: Option<OffsetDateTime>,
}

/// What a run did.
#[derive(Debug, Clone, PartialEq)]
pub struct Observed {
    /// Every node's outcome by its `step` events (`NotRun` without events).
    pub steps: BTreeMap<String, Outcome>,
    /// The rules the event stream broke.
    pub violations: Vec<Violation>,
    /// The highest number of attempts running at once.
    pub peak_concurrency: usize,
    /// Every measured pause between a failed attempt and the next: step id, the attempt
    /// after the pause, and the pause in ms by the events' timestamps.
    pub pauses: Vec<(String, u32, i128)>,
}

/// Reads the `step` events of a run of `case` (every event of every Poll, in order).
/// `concurrency` is the executor's `limits.concurrency`, when known.
pub fn observe(case: &Case, events: &[Value], concurrency: Option<u64>) -> Observed {
    let mut violations = Vec::new();
    let mut violate = |aspect, message: String| violations.push(Violation { aspect, message });
    let steps: Vec<StepEvent> = events
        .iter()
        .enumerate()
        .filter(|(_, e)| e.get("type").and_then(Value::as_str) == Some("step"))
        .filter_map(|(index, e)| {
            Some(StepEvent {
                index,
                step_id: e.get("step_id")?.as_str()?.to_owned(),
                state: e.get("state")?.as_str()?.to_owned(),
                attempt: e.get("attempt").and_then(Value::as_u64),
                at: e
                    .get("timestamp")
                    .and_then(Value::as_str)
                    .and_then(|t| OffsetDateTime::parse(t, &Rfc3339).ok()),
            })
        })
        .collect();
    let mut by_step: BTreeMap<&str, Vec<&StepEvent>> = BTreeMap::new();
    for event in &steps {
        if case.node(&event.step_id).is_none() {
            violate(
                Aspect::Order,
                format!(
                    "event {}: a step event for {:?}, which is not a node of the graph",
                    event.index, event.step_id
                ),
            );
            continue;
        }
        by_step.entry(&event.step_id).or_default().push(event);
    }
    let mut outcomes = BTreeMap::new();
    let mut pauses = Vec::new();
    for node in &case.nodes {
        let events = by_step.get(node.id.as_str()).map_or(&[][..], Vec::as_slice);
        outcomes.insert(
            node.id.clone(),
            step_outcome(
                &node.id,
                events,
                node.retry.backoff_ms,
                &mut violate,
                &mut pauses,
            ),
        );
    }
    if let Ok(graph) = Graph::new(case) {
        check_predecessors(case, &graph, &by_step, &mut violate);
    }
    let peak = check_concurrency(&steps, concurrency, &mut violate);
    Observed {
        steps: outcomes,
        violations,
        peak_concurrency: peak,
        pauses,
    }
}

/// One step's outcome from its events, checking their order, attempt numbers and backoff.
fn step_outcome(
    id: &str,
    events: &[&StepEvent],
    backoff_ms: u64,
    violate: &mut impl FnMut(Aspect, String),
    pauses: &mut Vec<(String, u32, i128)>,
) -> Outcome {
    let mut attempts = 0u32;
    let mut open: Option<&StepEvent> = None;
    let mut last: Option<&StepEvent> = None;
    for &event in events {
        let at = event.index;
        match (event.state.as_str(), open) {
            ("started", None) => {
                attempts += 1;
                if event.attempt != Some(u64::from(attempts)) {
                    violate(
                        Aspect::Order,
                        format!(
                            "event {at}: {id} started attempt {} where attempt {attempts} was due",
                            shown(event.attempt)
                        ),
                    );
                }
                if let (Some(prev), Some(now)) = (last.and_then(|l| l.at), event.at) {
                    let gap = (now - prev).whole_milliseconds();
                    pauses.push((id.to_owned(), attempts, gap));
                    if gap + BACKOFF_SLACK_MS < i128::from(backoff_ms) {
                        violate(
                            Aspect::Backoff,
                            format!(
                                "event {at}: {id} attempt {attempts} started {gap} ms after attempt {} ended; retry.backoff_ms is {backoff_ms}",
                                attempts - 1
                            ),
                        );
                    }
                }
                if last.is_some_and(|l| l.state == "succeeded") {
                    violate(
                        Aspect::Order,
                        format!("event {at}: {id} started again after it succeeded"),
                    );
                }
                open = Some(event);
            }
            ("started", Some(_)) => violate(
                Aspect::Order,
                format!("event {at}: {id} started again before attempt {attempts} ended"),
            ),
            ("succeeded" | "failed", Some(started)) => {
                if event.attempt != started.attempt {
                    violate(
                        Aspect::Order,
                        format!(
                            "event {at}: {id} {} attempt {} while attempt {} ran",
                            event.state,
                            shown(event.attempt),
                            shown(started.attempt)
                        ),
                    );
                }
                open = None;
                last = Some(event);
            }
            ("succeeded" | "failed", None) => violate(
                Aspect::Order,
                format!(
                    "event {at}: {id} {} without a started event before it",
                    event.state
                ),
            ),
            (other, _) => violate(
                Aspect::Order,
                format!("event {at}: {id} has state {other:?}"),
            ),
        }
    }
    if let Some(started) = open {
        violate(
            Aspect::Order,
            format!(
                "event {}: attempt {} of {id} started and never ended",
                started.index,
                shown(started.attempt)
            ),
        );
        return Outcome::Failed { attempts };
    }
    match last.map(|l| l.state.as_str()) {
        None => Outcome::NotRun,
        Some("succeeded") => Outcome::Succeeded { attempts },
        Some(_) => Outcome::Failed { attempts },
    }
}

fn shown(attempt: Option<u64>) -> String {
    attempt.map_or_else(|| "(none)".to_owned(), |a| a.to_string())
}

/// A step must not start before every predecessor that ran has ended.
fn check_predecessors(
    case: &Case,
    graph: &Graph<'_>,
    by_step: &BTreeMap<&str, Vec<&StepEvent>>,
    violate: &mut impl FnMut(Aspect, String),
) {
    for (i, node) in case.nodes.iter().enumerate() {
        let Some(first) = by_step.get(node.id.as_str()).and_then(|e| e.first()) else {
            continue;
        };
        for &e in &graph.incoming[i] {
            let from = &case.edges[e].from;
            let Some(events) = by_step.get(from.as_str()) else {
                continue;
            };
            if let Some(last) = events.last()
                && last.index > first.index
            {
                violate(
                    Aspect::Precedence,
                    format!(
                        "event {}: {} started before its predecessor {from} ended (event {})",
                        first.index, node.id, last.index
                    ),
                );
            }
        }
    }
}

/// The peak number of attempts running at once; a violation when above `limit`.
fn check_concurrency(
    steps: &[StepEvent],
    limit: Option<u64>,
    violate: &mut impl FnMut(Aspect, String),
) -> usize {
    let mut running: Vec<&str> = Vec::new();
    let mut peak = 0;
    let mut reported = false;
    for event in steps {
        match event.state.as_str() {
            "started" => {
                running.push(&event.step_id);
                peak = peak.max(running.len());
                if let Some(limit) = limit
                    && running.len() as u64 > limit
                    && !reported
                {
                    reported = true;
                    violate(
                        Aspect::Concurrency,
                        format!(
                            "event {}: {} attempts running at once ({}), limits.concurrency is {limit}",
                            event.index,
                            running.len(),
                            running.join(", ")
                        ),
                    );
                }
            }
            _ => {
                if let Some(at) = running.iter().position(|s| *s == event.step_id) {
                    running.remove(at);
                }
            }
        }
    }
    peak
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::semantics::case::{probe, retried, success};
    use serde_json::json;

    fn step(id: &str, state: &str, attempt: u64, ms: u64) -> Value {
        let at = OffsetDateTime::UNIX_EPOCH + time::Duration::milliseconds(ms as i64);
        json!({"type": "step", "step_id": id, "state": state, "attempt": attempt,
               "timestamp": at.format(&Rfc3339).unwrap()})
    }

    fn case() -> Case {
        Case::new(
            "t",
            vec![
                retried(probe("a", json!({})), 2, 10),
                probe("b", json!({})),
                probe("c", json!({})),
            ],
            vec![success("a", "b"), success("a", "c")],
        )
    }

    #[test]
    fn outcomes_and_attempts_come_from_the_step_events() {
        let events = vec![
            json!({"type": "log", "level": "info", "message": "x", "timestamp": "2026-01-01T00:00:00Z"}),
            step("a", "started", 1, 0),
            step("a", "failed", 1, 1),
            step("a", "started", 2, 11),
            step("a", "succeeded", 2, 12),
            step("b", "started", 1, 13),
            step("c", "started", 1, 13),
            step("b", "failed", 1, 14),
            step("c", "succeeded", 1, 15),
        ];
        let observed = observe(&case(), &events, Some(2));
        assert!(observed.violations.is_empty(), "{:?}", observed.violations);
        assert_eq!(observed.steps["a"], Outcome::Succeeded { attempts: 2 });
        assert_eq!(observed.steps["b"], Outcome::Failed { attempts: 1 });
        assert_eq!(observed.peak_concurrency, 2);
        let observed = observe(&case(), &events, Some(1));
        assert_eq!(observed.violations.len(), 1);
        assert_eq!(observed.violations[0].aspect, Aspect::Concurrency);
    }

    #[test]
    fn broken_orders_short_backoffs_and_early_starts_are_violations() {
        let events = vec![
            step("a", "started", 1, 0),
            step("a", "failed", 1, 1),
            step("a", "started", 1, 3),
            step("b", "started", 1, 4),
            step("a", "succeeded", 1, 5),
            step("b", "succeeded", 1, 6),
            step("zz", "started", 1, 6),
            step("c", "succeeded", 1, 7),
        ];
        let observed = observe(&case(), &events, None);
        let aspects: Vec<(Aspect, &str)> = observed
            .violations
            .iter()
            .map(|v| (v.aspect, v.message.as_str()))
            .collect();
        let has = |aspect: Aspect, text: &str| {
            aspects
                .iter()
                .any(|(a, m)| *a == aspect && m.contains(text))
        };
        assert!(has(Aspect::Order, "zz"), "{aspects:#?}");
        assert!(
            has(Aspect::Order, "started attempt 1 where attempt 2 was due"),
            "{aspects:#?}"
        );
        assert!(
            has(
                Aspect::Backoff,
                "attempt 2 started 2 ms after attempt 1 ended"
            ),
            "{aspects:#?}"
        );
        assert!(
            has(
                Aspect::Precedence,
                "b started before its predecessor a ended"
            ),
            "{aspects:#?}"
        );
        assert!(
            has(Aspect::Order, "c succeeded without a started event"),
            "{aspects:#?}"
        );
    }
}

//! Run events returned by `Runtime.Poll` (REP v0.1 §4).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The event types REP v0.1 §4 defines. Consumers ignore any other type.
pub mod event_type {
    /// `log`: `level`, `message`, optional `step_id`.
    pub const LOG: &str = "log";
    /// `step`: `step_id`, `state`, optional metrics (`attempt`, `duration_ms`, `error`).
    pub const STEP: &str = "step";
}

/// One event: `{ "type": string, "timestamp": RFC 3339, ...fields }` (REP v0.1 §4).
///
/// Any type and any field survive a round trip unchanged: fields other than `type` and
/// `timestamp` live in [`Event::fields`] in their original order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// The event type, e.g. [`event_type::LOG`] or [`event_type::STEP`].
    #[serde(rename = "type")]
    pub kind: String,
    /// When the event happened, RFC 3339 (e.g. `2026-11-20T22:58:45.123Z`).
    pub timestamp: String,
    /// Every other field of the event.
    #[serde(flatten)]
    pub fields: Map<String, Value>,
}

/// The `state` of a `step` event (REP v0.1 §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StepState {
    /// The step (attempt) started.
    Started,
    /// The step succeeded.
    Succeeded,
    /// The step (attempt) failed.
    Failed,
}

impl StepState {
    /// The wire spelling: `started`, `succeeded` or `failed`.
    pub fn as_str(self) -> &'static str {
        match self {
            StepState::Started => "started",
            StepState::Succeeded => "succeeded",
            StepState::Failed => "failed",
        }
    }
}

impl Event {
    /// A `log` event: `level` (e.g. `info`), `message`, and `step_id` when given.
    pub fn log(
        timestamp: String,
        level: &str,
        message: impl Into<String>,
        step_id: Option<&str>,
    ) -> Event {
        let mut fields = Map::new();
        fields.insert("level".into(), Value::from(level));
        fields.insert("message".into(), Value::String(message.into()));
        if let Some(step_id) = step_id {
            fields.insert("step_id".into(), Value::from(step_id));
        }
        Event {
            kind: event_type::LOG.into(),
            timestamp,
            fields,
        }
    }

    /// A `step` event for `step_id` in `state`; add metrics with [`Event::with`].
    pub fn step(timestamp: String, step_id: &str, state: StepState) -> Event {
        let mut fields = Map::new();
        fields.insert("step_id".into(), Value::from(step_id));
        fields.insert("state".into(), Value::from(state.as_str()));
        Event {
            kind: event_type::STEP.into(),
            timestamp,
            fields,
        }
    }

    /// The same event with one more field (e.g. `attempt`, `duration_ms`, `error`).
    pub fn with(mut self, key: &str, value: impl Into<Value>) -> Event {
        self.fields.insert(key.into(), value.into());
        self
    }

    /// The `step_id` field, when present and a string.
    pub fn step_id(&self) -> Option<&str> {
        self.fields.get("step_id").and_then(Value::as_str)
    }

    /// The `state` of a `step` event, when present and valid.
    pub fn step_state(&self) -> Option<StepState> {
        match self.fields.get("state").and_then(Value::as_str)? {
            "started" => Some(StepState::Started),
            "succeeded" => Some(StepState::Succeeded),
            "failed" => Some(StepState::Failed),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn unknown_event_types_and_fields_survive_a_round_trip() {
        let wire = json!({"type": "metric", "timestamp": "2026-01-01T00:00:00Z", "zeta": 1, "alpha": {"x": [1, 2]}});
        let event: Event = serde_json::from_value(wire.clone()).unwrap();
        assert_eq!(event.kind, "metric");
        assert_eq!(serde_json::to_value(&event).unwrap(), wire);
        let text = serde_json::to_string(&event).unwrap();
        assert!(
            text.find("zeta").unwrap() < text.find("alpha").unwrap(),
            "field order kept: {text}"
        );
    }

    #[test]
    fn step_event_carries_its_state_and_metrics() {
        let event = Event::step("t".into(), "read", StepState::Succeeded).with("attempt", 1);
        let wire = serde_json::to_value(&event).unwrap();
        assert_eq!(
            wire,
            json!({"type": "step", "timestamp": "t", "step_id": "read", "state": "succeeded", "attempt": 1})
        );
        assert_eq!(event.step_state(), Some(StepState::Succeeded));
        assert_eq!(event.step_id(), Some("read"));
    }

    #[test]
    fn log_event_without_step_id_has_no_step_id_field() {
        let event = Event::log("t".into(), "info", "hello", None);
        assert_eq!(
            serde_json::to_value(&event).unwrap(),
            json!({"type": "log", "timestamp": "t", "level": "info", "message": "hello"})
        );
    }

    #[test]
    fn an_event_without_timestamp_is_rejected() {
        assert!(serde_json::from_value::<Event>(json!({"type": "log"})).is_err());
    }
}

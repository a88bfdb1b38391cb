//! Events as wire JSON, serialized once, when they happen (REP v0.1 §4).
//!
//! A run of 10k steps produces 20k events; building each as a map of fields and serializing
//! it again at Poll time cost more than the steps themselves. Each event is written straight
//! from a struct into its final JSON text, and Poll copies the text.

use rep_spec::{StepState, event_type};
use serde::Serialize;
use serde_json::Value;
use serde_json::value::RawValue;

use crate::clock::now_rfc3339;

/// One event, as the JSON text Poll will send.
pub(crate) type WireEvent = Box<RawValue>;

#[derive(Serialize)]
struct Log<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    timestamp: &'a str,
    level: &'a str,
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    step_id: Option<&'a str>,
}

#[derive(Serialize)]
struct Step<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    timestamp: &'a str,
    step_id: &'a str,
    state: &'static str,
    attempt: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    duration_ms: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a Value>,
}

/// A `log` event now: `{ type, timestamp, level, message, step_id? }`.
pub(crate) fn log(level: &str, message: &str, step_id: Option<&str>) -> WireEvent {
    let timestamp = now_rfc3339();
    raw(&Log {
        kind: event_type::LOG,
        timestamp: &timestamp,
        level,
        message,
        step_id,
    })
}

/// A `step` event now: `{ type, timestamp, step_id, state, attempt, duration_ms?, error? }`
/// (`duration_ms` in milliseconds).
pub(crate) fn step(
    step_id: &str,
    state: StepState,
    attempt: u32,
    duration_ms: Option<u64>,
    error: Option<&Value>,
) -> WireEvent {
    let timestamp = now_rfc3339();
    raw(&Step {
        kind: event_type::STEP,
        timestamp: &timestamp,
        step_id,
        state: state.as_str(),
        attempt,
        duration_ms,
        error,
    })
}

/// Structs of strings and numbers always serialize; the fallback (`null`) is unreachable.
fn raw<T: Serialize>(event: &T) -> WireEvent {
    serde_json::value::to_raw_value(event).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_have_the_spec_fields_in_order() {
        let event: Value = serde_json::from_str(log("info", "hi", Some("s")).get()).unwrap();
        let keys: Vec<&str> = event
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(keys, ["type", "timestamp", "level", "message", "step_id"]);
        let error = serde_json::json!({"code": 2001, "message": "boom"});
        let event: Value =
            serde_json::from_str(step("s", StepState::Failed, 2, Some(7), Some(&error)).get())
                .unwrap();
        assert_eq!(event["type"], "step");
        assert_eq!(event["state"], "failed");
        assert_eq!(event["attempt"], 2);
        assert_eq!(event["duration_ms"], 7);
        assert_eq!(event["error"], error);
        let parsed: rep_spec::Event = serde_json::from_value(event).unwrap();
        assert!(
            time::OffsetDateTime::parse(
                &parsed.timestamp,
                &time::format_description::well_known::Rfc3339
            )
            .is_ok()
        );
        let started: Value =
            serde_json::from_str(step("s", StepState::Started, 1, None, None).get()).unwrap();
        assert!(started.get("duration_ms").is_none() && started.get("error").is_none());
    }
}

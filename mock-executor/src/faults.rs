//! Fault injection for tests: a node's `with._mock` object changes how any mock step behaves.
//!
//! ```json
//! "with": { "endpoint": "…", "_mock": { "delay_ms": 300, "fail_times": 2, "output": { "v": 1 } } }
//! ```
//!
//! | key | effect |
//! | --- | --- |
//! | `delay_ms` | wait this long (ms) before anything else; a cancelled step stops waiting at once and fails with cause `cancelled` |
//! | `fail_times` | attempts 1..=N fail (code 2001, retriable), later attempts go on |
//! | `fail` | `true`: every attempt fails (code 2001, retriable) |
//! | `retriable` | `false`: the injected failures are not retriable |
//! | `output` | an object used as the step's output instead of calling the handler |
//! | `panic` | `true`: the handler panics (the kit records a failed step, 3002) |
//!
//! Numbers may also be numeric strings (the DSL bakes scalars as strings). `_mock` is
//! removed before the wrapped handler sees `with`; a `_mock` that is not an object, or an
//! unknown key in it, fails the step (not retriable) so that a typo never passes silently.

use std::time::Duration;

use rep_executor_kit::{StepContext, StepError, StepFuture, StepHandler};
use serde_json::{Map, Value};

/// The key in `with` that holds the fault injection.
pub const MOCK_KEY: &str = "_mock";

/// The parsed `with._mock` object.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Faults {
    /// Wait before completing, in ms.
    pub delay_ms: u64,
    /// Fail the first N attempts.
    pub fail_times: u32,
    /// Fail every attempt.
    pub fail: bool,
    /// Whether the injected failures may be retried (default true).
    pub retriable: bool,
    /// The step's output, replacing the handler's.
    pub output: Option<Value>,
    /// Panic instead of completing.
    pub panic: bool,
}

impl Faults {
    /// Parses a `_mock` value.
    ///
    /// # Errors
    /// A message naming the offending key when `value` is not an object, a key is unknown,
    /// or a value has the wrong type.
    pub fn parse(value: &Value) -> Result<Faults, String> {
        let Value::Object(map) = value else {
            return Err(format!("{MOCK_KEY} must be an object, got {value}"));
        };
        let mut faults = Faults {
            retriable: true,
            ..Faults::default()
        };
        for (key, value) in map {
            match key.as_str() {
                "delay_ms" => faults.delay_ms = number(key, value)?,
                "fail_times" => {
                    faults.fail_times = u32::try_from(number(key, value)?)
                        .map_err(|_| format!("{MOCK_KEY}.fail_times is too large"))?;
                }
                "fail" => faults.fail = boolean(key, value)?,
                "retriable" => faults.retriable = boolean(key, value)?,
                "panic" => faults.panic = boolean(key, value)?,
                "output" if value.is_object() => faults.output = Some(value.clone()),
                "output" => return Err(format!("{MOCK_KEY}.output must be an object")),
                other => return Err(format!("unknown key {MOCK_KEY}.{other}")),
            }
        }
        Ok(faults)
    }
}

fn number(key: &str, value: &Value) -> Result<u64, String> {
    value
        .as_u64()
        .or_else(|| value.as_str().and_then(|s| s.trim().parse().ok()))
        .ok_or_else(|| format!("{MOCK_KEY}.{key} must be a non-negative integer, got {value}"))
}

fn boolean(key: &str, value: &Value) -> Result<bool, String> {
    value
        .as_bool()
        .or_else(|| value.as_str().and_then(|s| s.parse().ok()))
        .ok_or_else(|| format!("{MOCK_KEY}.{key} must be a boolean, got {value}"))
}

/// Wraps `handler` so that it honours `with._mock` (see the module documentation).
pub fn with_faults(handler: impl StepHandler) -> impl StepHandler {
    Faulty { inner: handler }
}

struct Faulty<H> {
    inner: H,
}

impl<H: StepHandler> StepHandler for Faulty<H> {
    fn call(&self, ctx: StepContext, mut with: Map<String, Value>) -> StepFuture {
        let Some(raw) = with.remove(MOCK_KEY) else {
            return self.inner.call(ctx, with);
        };
        let faults = match Faults::parse(&raw) {
            Ok(faults) => faults,
            Err(message) => {
                return Box::pin(async move { Err(StepError::new(message).not_retriable()) });
            }
        };
        // Called now, awaited only when the faults let the step go on: nothing of the inner
        // handler runs before it is polled.
        let inner =
            (faults.output.is_none() && !faults.panic).then(|| self.inner.call(ctx.clone(), with));
        Box::pin(async move {
            if faults.delay_ms > 0 {
                tokio::select! {
                    () = ctx.cancelled() => {
                        return Err(StepError::cancelled(format!(
                            "{MOCK_KEY}: cancelled during delay_ms {}", faults.delay_ms
                        )));
                    }
                    () = tokio::time::sleep(Duration::from_millis(faults.delay_ms)) => {}
                }
            }
            if faults.fail || ctx.attempt() <= faults.fail_times {
                let why = if faults.fail {
                    "fail: true".to_owned()
                } else {
                    format!("fail_times: {}", faults.fail_times)
                };
                let error = StepError::new(format!(
                    "{MOCK_KEY}: injected failure of attempt {} ({why})",
                    ctx.attempt()
                ));
                return Err(if faults.retriable {
                    error
                } else {
                    error.not_retriable()
                });
            }
            if faults.panic {
                panic!("{MOCK_KEY}: injected panic");
            }
            match (faults.output, inner) {
                (Some(output), _) => Ok(output),
                (None, Some(inner)) => inner.await,
                (None, None) => Ok(Value::Object(Map::new())),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_every_key_and_refuses_typos() {
        let faults = Faults::parse(&json!({
            "delay_ms": "250", "fail_times": 2, "fail": false, "retriable": false,
            "output": {"v": 1}, "panic": false
        }))
        .unwrap();
        assert_eq!(faults.delay_ms, 250);
        assert_eq!(faults.fail_times, 2);
        assert!(!faults.retriable);
        assert_eq!(faults.output, Some(json!({"v": 1})));
        assert!(Faults::parse(&json!({})).unwrap().retriable);
        for bad in [
            json!("x"),
            json!({"delay": 1}),
            json!({"delay_ms": -1}),
            json!({"fail": "maybe"}),
            json!({"output": 3}),
        ] {
            assert!(Faults::parse(&bad).is_err(), "{bad}");
        }
    }
}

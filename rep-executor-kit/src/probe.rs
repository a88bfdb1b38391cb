//! `rep.probe`: the probe step kind of the conformance suite's semantic tests — a conformance
//! extension, not part of REP v0.1 (docs/protocol.md, "Conformance extension: `rep.probe`").
//!
//! An executor that registers it (`.step(PROBE_STEP_KIND, ProbeStep)`) and so lists it in
//! `step_kinds` gets the `REP-SEM-*` tests and `rep-conformance fuzz`: they drive the kit's
//! scheduler (retries, timeouts, edges, `switch`, `finish`, joins, concurrency, cancellation)
//! with steps whose behaviour they choose.

use std::time::Duration;

use serde_json::{Map, Value};

use crate::handler::{StepContext, StepError, StepFuture, StepHandler, StepResult};

/// The step kind of [`ProbeStep`]: `rep.probe`.
pub const PROBE_STEP_KIND: &str = "rep.probe";

/// The `rep.probe` step: an attempt that lasts `with.delay_ms`, fails as `with` says, and
/// otherwise outputs `with.output`.
///
/// `with` (after the kit resolved its references):
///
/// | key | type, default | effect |
/// | --- | --- | --- |
/// | `delay_ms` | integer ≥ 0, `0` | every attempt lasts this long (ms); it ends at once, failed with cause `cancelled`, when its cancellation token fires (`Runtime.Cancel`, the node's `timeout_ms`, the run stopping) |
/// | `fail_times` | integer ≥ 0, `0` | attempts 1 … `fail_times` fail with a retriable step failure (2001) |
/// | `fail` | boolean, `false` | every attempt fails with a step failure that is not retriable |
/// | `output` | any JSON, `{}` | the step's output when the attempt succeeds |
///
/// A key that is absent or `null` takes its default; other keys are ignored. A value of the
/// wrong type fails the attempt, not retriable, naming the key.
///
/// ```no_run
/// use rep_executor_kit::{Executor, PROBE_STEP_KIND, ProbeStep};
///
/// # async fn serve() -> std::io::Result<()> {
/// Executor::builder().step(PROBE_STEP_KIND, ProbeStep).build().serve_stdio().await
/// # }
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProbeStep;

impl StepHandler for ProbeStep {
    fn call(&self, ctx: StepContext, with: Map<String, Value>) -> StepFuture {
        Box::pin(attempt(ctx, with))
    }
}

/// The parsed `with` of a probe.
#[derive(Debug, Clone, PartialEq)]
struct Probe {
    delay_ms: u64,
    fail_times: u64,
    fail: bool,
    output: Value,
}

impl Probe {
    /// Reads `with`; a wrong type is an error naming the key.
    fn parse(mut with: Map<String, Value>) -> Result<Probe, String> {
        let mut take = |key: &str| with.remove(key).filter(|v| !v.is_null());
        let count = |key: &str, value: Option<Value>| -> Result<u64, String> {
            match value {
                None => Ok(0),
                Some(value) => value
                    .as_u64()
                    .ok_or_else(|| format!("with.{key} must be an integer ≥ 0, got {value}")),
            }
        };
        let delay_ms = count("delay_ms", take("delay_ms"))?;
        let fail_times = count("fail_times", take("fail_times"))?;
        let fail = match take("fail") {
            None => false,
            Some(Value::Bool(fail)) => fail,
            Some(other) => return Err(format!("with.fail must be a boolean, got {other}")),
        };
        let output = take("output").unwrap_or_else(|| Value::Object(Map::new()));
        Ok(Probe {
            delay_ms,
            fail_times,
            fail,
            output,
        })
    }
}

async fn attempt(ctx: StepContext, with: Map<String, Value>) -> StepResult {
    let probe = Probe::parse(with)
        .map_err(|e| StepError::new(format!("rep.probe: {e}")).not_retriable())?;
    if probe.delay_ms > 0 {
        tokio::select! {
            biased;
            () = ctx.cancelled() => {
                return Err(StepError::cancelled(format!(
                    "rep.probe: attempt {} cancelled during its {} ms delay",
                    ctx.attempt(),
                    probe.delay_ms
                )));
            }
            () = tokio::time::sleep(Duration::from_millis(probe.delay_ms)) => {}
        }
    }
    if probe.fail {
        return Err(StepError::new("rep.probe: with.fail is true").not_retriable());
    }
    if u64::from(ctx.attempt()) <= probe.fail_times {
        return Err(StepError::new(format!(
            "rep.probe: attempt {} of the first {} that fail",
            ctx.attempt(),
            probe.fail_times
        )));
    }
    Ok(probe.output)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(with: Value) -> Result<Probe, String> {
        match with {
            Value::Object(map) => Probe::parse(map),
            _ => unreachable!("tests pass objects"),
        }
    }

    #[test]
    fn absent_and_null_keys_take_their_defaults_and_unknown_keys_are_ignored() {
        let probe = parse(json!({"delay_ms": null, "note": "x"})).unwrap();
        assert_eq!(
            probe,
            Probe {
                delay_ms: 0,
                fail_times: 0,
                fail: false,
                output: json!({})
            }
        );
        let probe = parse(json!({"delay_ms": 5, "fail_times": 2, "fail": true, "output": [1]}));
        assert_eq!(probe.unwrap().output, json!([1]));
    }

    #[test]
    fn a_wrong_type_names_its_key() {
        for (with, key) in [
            (json!({"delay_ms": -1}), "with.delay_ms"),
            (json!({"delay_ms": "5"}), "with.delay_ms"),
            (json!({"fail_times": 1.5}), "with.fail_times"),
            (json!({"fail": "yes"}), "with.fail"),
        ] {
            let error = parse(with).unwrap_err();
            assert!(error.starts_with(key), "{error}");
        }
    }
}

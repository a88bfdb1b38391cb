//! Params and results of the `Runtime.*` methods (REP v0.1 §3).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::Event;

/// Result of `Runtime.Capabilities`: `{ version, step_kinds, limits: { concurrency } }` — all
/// three required (REP v0.1 §3). Unknown fields are kept.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Capabilities {
    /// The executor's version, semver (e.g. `0.1.0`).
    pub version: String,
    /// The step kinds (Flow IR `graph.nodes[].type`) the executor can run.
    pub step_kinds: Vec<String>,
    /// The executor's limits.
    pub limits: Limits,
    /// Fields not named by the spec.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `Capabilities.limits` (REP v0.1 §3).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Limits {
    /// How many steps the executor runs at once.
    pub concurrency: u32,
    /// Fields not named by the spec.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Params of `Runtime.StartRun`: `{ ir, inputs, options }` (REP v0.1 §3).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StartRunParams {
    /// The Flow IR document, sent unchanged as the compiler wrote it.
    pub ir: Value,
    /// The run inputs (a JSON object).
    #[serde(default)]
    pub inputs: Map<String, Value>,
    /// Run options.
    #[serde(default)]
    pub options: RunOptions,
}

impl StartRunParams {
    /// Takes the params out of an already parsed JSON value, moving `ir` and `inputs`
    /// instead of re-building them (`serde_json::from_value` would copy a large IR node by
    /// node). Same rules as deserializing: `ir` required, `inputs` an object (default `{}`),
    /// `options` an object of [`RunOptions`] (default).
    ///
    /// # Errors
    /// A message naming the member that is missing or of the wrong type.
    pub fn from_value(params: Value) -> Result<StartRunParams, String> {
        let Value::Object(mut params) = params else {
            return Err("params must be an object".to_owned());
        };
        let ir = params.remove("ir").ok_or("missing field `ir`")?;
        let inputs = match params.remove("inputs") {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(inputs)) => inputs,
            Some(_) => return Err("`inputs` must be an object".to_owned()),
        };
        let options = match params.remove("options") {
            None | Some(Value::Null) => RunOptions::default(),
            Some(options) => {
                serde_json::from_value(options).map_err(|e| format!("`options`: {e}"))?
            }
        };
        Ok(StartRunParams {
            ir,
            inputs,
            options,
        })
    }
}

/// `StartRunParams` by reference, for sending without copying the IR.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct StartRunParamsRef<'a> {
    /// The Flow IR document.
    pub ir: &'a Value,
    /// The run inputs.
    pub inputs: &'a Map<String, Value>,
    /// Run options.
    pub options: &'a RunOptions,
}

/// `StartRun.options`: `{ run_id, trace_id, allow_shell }` (REP v0.1 §3).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RunOptions {
    /// The run id chosen by the host; the executor uses it when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_id: Option<String>,
    /// The trace id chosen by the host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace_id: Option<String>,
    /// Whether shell steps may run.
    #[serde(default)]
    pub allow_shell: bool,
    /// Fields not named by the spec.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Result of `Runtime.StartRun`: `{ run_id }`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StartRunResult {
    /// The id of the started run, used by Poll and Cancel.
    pub run_id: String,
}

/// Params of `Runtime.Poll` and `Runtime.Cancel`: `{ run_id }`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunIdParams {
    /// The run to poll or cancel.
    pub run_id: String,
}

/// The status of a run (REP v0.1 §3). `completed` and `failed` are final.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunStatus {
    /// Accepted, not started yet.
    Pending,
    /// Executing.
    Running,
    /// Finished successfully (final).
    Completed,
    /// Finished unsuccessfully, or cancelled (final).
    Failed,
}

impl RunStatus {
    /// Whether the status is final (`completed` or `failed`).
    pub fn is_final(self) -> bool {
        matches!(self, RunStatus::Completed | RunStatus::Failed)
    }

    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Pending => "pending",
            RunStatus::Running => "running",
            RunStatus::Completed => "completed",
            RunStatus::Failed => "failed",
        }
    }
}

/// Result of `Runtime.Poll`: `{ status, events?, summary? }` (REP v0.1 §3).
///
/// Each Poll returns the events produced since the previous Poll: every event is delivered
/// exactly once. `E` is the event representation: [`Event`] for typed producers, or
/// `serde_json::Value` for consumers that must keep events they cannot type. `S` is the
/// summary's: a map, or JSON text (`Box<RawValue>`) for a host that passes it on with every
/// number exactly as sent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PollResult<E = Event, S = Map<String, Value>> {
    /// The run's status.
    pub status: RunStatus,
    /// The events since the previous Poll, oldest first.
    #[serde(default = "Vec::new")]
    pub events: Vec<E>,
    /// The run summary: `completed_steps`, `failed_steps`, and any other fields (kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<S>,
}

/// Result of `Runtime.Cancel`: `{ ok }` — `true` also for an already finished run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CancelResult {
    /// Whether the run is (now) stopped.
    pub ok: bool,
}

/// Result of `Runtime.Health`: `{ ok, details }` (optional method).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HealthResult {
    /// Whether the executor is healthy.
    pub ok: bool,
    /// Free-form details.
    #[serde(default)]
    pub details: Map<String, Value>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn capabilities_require_all_three_fields() {
        let ok = json!({"version": "0.1.0", "step_kinds": ["a"], "limits": {"concurrency": 4}});
        assert!(serde_json::from_value::<Capabilities>(ok).is_ok());
        for missing in ["version", "step_kinds", "limits"] {
            let mut doc =
                json!({"version": "0.1.0", "step_kinds": ["a"], "limits": {"concurrency": 4}});
            doc.as_object_mut().unwrap().remove(missing);
            assert!(
                serde_json::from_value::<Capabilities>(doc).is_err(),
                "{missing} is required"
            );
        }
    }

    #[test]
    fn poll_result_defaults_events_and_keeps_unknown_summary_fields() {
        let poll: PollResult = serde_json::from_value(json!({"status": "running"})).unwrap();
        assert!(poll.events.is_empty());
        let poll: PollResult<Value> =
            serde_json::from_value(json!({"status": "completed", "events": [{"odd": true}], "summary": {"completed_steps": 2, "extra": "x"}})).unwrap();
        assert_eq!(poll.events, vec![json!({"odd": true})]);
        assert_eq!(poll.summary.unwrap()["extra"], "x");
        assert!(serde_json::from_value::<PollResult>(json!({"status": "done"})).is_err());
    }

    #[test]
    fn start_run_params_from_value_match_deserializing() {
        let params =
            json!({"ir": {"version": "1.0.0"}, "inputs": {"a": 1}, "options": {"run_id": "r"}});
        let direct: StartRunParams = serde_json::from_value(params.clone()).unwrap();
        assert_eq!(StartRunParams::from_value(params).unwrap(), direct);
        let minimal = StartRunParams::from_value(json!({"ir": {}})).unwrap();
        assert!(minimal.inputs.is_empty() && minimal.options == RunOptions::default());
        assert!(
            StartRunParams::from_value(json!({"inputs": {}}))
                .unwrap_err()
                .contains("ir")
        );
        assert!(
            StartRunParams::from_value(json!({"ir": {}, "inputs": 3}))
                .unwrap_err()
                .contains("inputs")
        );
        assert!(
            StartRunParams::from_value(json!({"ir": {}, "options": {"allow_shell": "x"}})).is_err()
        );
    }

    #[test]
    fn start_run_options_serialize_as_the_spec_names_them() {
        let params = StartRunParams {
            ir: json!({}),
            inputs: Map::new(),
            options: RunOptions {
                run_id: Some("r".into()),
                trace_id: Some("t".into()),
                allow_shell: false,
                extra: Map::new(),
            },
        };
        assert_eq!(
            serde_json::to_value(&params).unwrap(),
            json!({"ir": {}, "inputs": {}, "options": {"run_id": "r", "trace_id": "t", "allow_shell": false}})
        );
    }
}

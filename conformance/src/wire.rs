//! Every frame the executor wrote during a suite run, and the JSON Schema of REP v0.1
//! messages (docs/rep-v0.1.schema.json, embedded) they are checked against by REP-WIRE-001.
//!
//! Connections of the tests record the lines they receive into one [`FrameLog`] through a
//! [`FrameTap`], with the method of the request each line answered when one was waited for.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::OnceLock;

use rep_spec::{METHOD_CANCEL, METHOD_CAPABILITIES, METHOD_HEALTH, METHOD_POLL, METHOD_START_RUN};
use serde_json::Value;

/// The JSON Schema of REP v0.1 messages.
pub const SCHEMA_JSON: &str = include_str!("../../docs/rep-v0.1.schema.json");

/// One line an executor wrote on stdout during a test.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WireFrame {
    /// The test whose connection read it.
    pub test: &'static str,
    /// The method of the request it answered, when the test waited for an answer.
    pub method: Option<String>,
    /// The line, without its `\n`.
    pub line: Vec<u8>,
}

/// The frames of a suite run, shared by its connections (one thread: the suite runs tests one
/// after another).
#[derive(Debug, Clone, Default)]
pub struct FrameLog(Rc<RefCell<Vec<WireFrame>>>);

impl FrameLog {
    /// Every frame so far, oldest first.
    pub fn frames(&self) -> Vec<WireFrame> {
        self.0.borrow().clone()
    }

    /// A tap recording into this log for `test`.
    pub fn tap(&self, test: &'static str) -> FrameTap {
        FrameTap {
            log: self.clone(),
            test,
        }
    }
}

/// What a connection records its received lines with.
#[derive(Debug, Clone)]
pub struct FrameTap {
    log: FrameLog,
    test: &'static str,
}

impl FrameTap {
    /// Records `line`, the answer to `method` when known.
    pub fn record(&self, method: Option<&str>, line: &[u8]) {
        self.log.0.borrow_mut().push(WireFrame {
            test: self.test,
            method: method.map(str::to_owned),
            line: line.to_vec(),
        });
    }
}

/// The schema definitions a frame is checked against.
struct Validators {
    response: jsonschema::Validator,
    results: HashMap<&'static str, jsonschema::Validator>,
}

fn validators() -> Result<&'static Validators, String> {
    static COMPILED: OnceLock<Result<Validators, String>> = OnceLock::new();
    COMPILED
        .get_or_init(|| {
            let document: Value = serde_json::from_str(SCHEMA_JSON)
                .map_err(|e| format!("docs/rep-v0.1.schema.json is not JSON: {e}"))?;
            let compile = |def: &str| -> Result<jsonschema::Validator, String> {
                let mut schema = document.clone();
                if let Value::Object(root) = &mut schema {
                    root.remove("anyOf");
                    root.insert("$ref".into(), Value::String(format!("#/$defs/{def}")));
                }
                jsonschema::validator_for(&schema).map_err(|e| format!("#/$defs/{def}: {e}"))
            };
            let mut results = HashMap::new();
            for (method, def) in [
                (METHOD_CAPABILITIES, "CapabilitiesResult"),
                (METHOD_START_RUN, "StartRunResult"),
                (METHOD_POLL, "PollResult"),
                (METHOD_CANCEL, "CancelResult"),
                (METHOD_HEALTH, "HealthResult"),
            ] {
                results.insert(method, compile(def)?);
            }
            Ok(Validators {
                response: compile("response")?,
                results,
            })
        })
        .as_ref()
        .map_err(Clone::clone)
}

/// Checks one executor frame: a JSON-RPC response of REP v0.1, whose `result` (if it is one)
/// matches the result of `method` (when known).
///
/// # Errors
/// The first problems found, each with its JSON pointer (`/result/limits/concurrency: "4" is
/// not of type "integer"`).
pub fn check_frame(method: Option<&str>, line: &[u8]) -> Result<(), String> {
    let validators = validators()?;
    let value: Value = serde_json::from_slice(line).map_err(|e| format!("not JSON: {e}"))?;
    let errors = |validator: &jsonschema::Validator, value: &Value, prefix: &str| -> Vec<String> {
        validator
            .iter_errors(value)
            .take(3)
            .map(|e| format!("{prefix}{}: {e}", e.instance_path()))
            .collect()
    };
    let mut problems = errors(&validators.response, &value, "");
    if problems.is_empty()
        && let (Some(method), Some(result)) = (method, value.get("result"))
        && let Some(validator) = validators.results.get(method)
    {
        problems = errors(validator, result, "/result");
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("; "))
    }
}

/// Checks a frame the host sends (for the suite's own requests and the docs' examples).
///
/// # Errors
/// As [`check_frame`].
pub fn check_request(frame: &Value) -> Result<(), String> {
    static REQUEST: OnceLock<Result<jsonschema::Validator, String>> = OnceLock::new();
    let validator = REQUEST
        .get_or_init(|| {
            let mut schema: Value = serde_json::from_str(SCHEMA_JSON).map_err(|e| e.to_string())?;
            if let Value::Object(root) = &mut schema {
                root.remove("anyOf");
                root.insert("$ref".into(), Value::String("#/$defs/request".into()));
            }
            jsonschema::validator_for(&schema).map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(Clone::clone)?;
    let problems: Vec<String> = validator
        .iter_errors(frame)
        .take(3)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect();
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("; "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_protocol_examples_match_and_broken_frames_do_not() {
        let ok =
            |method: Option<&str>, frame: Value| check_frame(method, frame.to_string().as_bytes());
        let caps = json!({"jsonrpc":"2.0","id":1,"result":{"version":"0.1.0","step_kinds":["finish"],"limits":{"concurrency":4}}});
        assert_eq!(ok(Some(METHOD_CAPABILITIES), caps.clone()), Ok(()));
        let poll = json!({"jsonrpc":"2.0","id":3,"result":{"status":"completed","events":[
            {"type":"log","timestamp":"2026-11-22T05:20:54.907932046Z","level":"info","message":"run started"},
            {"type":"step","timestamp":"2026-11-22T05:20:54.908092365Z","step_id":"decide","state":"started","attempt":1},
            {"type":"custom","timestamp":"2026-11-22T05:20:54Z","anything":1}],
            "summary":{"completed_steps":4,"failed_steps":0,"outputs":{}}}});
        assert_eq!(ok(Some(METHOD_POLL), poll), Ok(()));
        let error =
            json!({"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"Parse error"}});
        assert_eq!(ok(None, error), Ok(()));

        let mut bad = caps.clone();
        bad["result"]["limits"]["concurrency"] = json!("4");
        let problem = ok(Some(METHOD_CAPABILITIES), bad).unwrap_err();
        assert!(problem.contains("/result/limits/concurrency"), "{problem}");
        let both = json!({"jsonrpc":"2.0","id":1,"result":{},"error":{"code":1,"message":"x"}});
        assert!(ok(None, both).is_err());
        let step = json!({"jsonrpc":"2.0","id":3,"result":{"status":"running","events":[
            {"type":"step","timestamp":"2026-11-22T05:20:54Z","step_id":"a","state":"done"}]}});
        let problem = ok(Some(METHOD_POLL), step).unwrap_err();
        assert!(problem.contains("/result/events/0/state"), "{problem}");
        assert!(
            ok(
                Some(METHOD_CANCEL),
                json!({"jsonrpc":"2.0","id":1,"result":{"ok":"yes"}})
            )
            .is_err()
        );
        assert!(
            check_frame(None, b"{\"jsonrpc\":")
                .unwrap_err()
                .starts_with("not JSON")
        );
        let notification = json!({"jsonrpc":"2.0","method":"log","params":{}});
        assert!(ok(None, notification).is_err());
    }

    #[test]
    fn the_suites_own_requests_match_the_request_schema() {
        let start = json!({"jsonrpc":"2.0","id":2,"method":"Runtime.StartRun","params":{"ir":{},"inputs":{},"options":{"run_id":"r-1","trace_id":"t-1","allow_shell":false}}});
        assert_eq!(check_request(&start), Ok(()));
        for method in [METHOD_CAPABILITIES, METHOD_HEALTH] {
            let request =
                serde_json::to_value(rep_spec::Request::new(1, method, json!({}))).unwrap();
            assert_eq!(check_request(&request), Ok(()), "{request}");
        }
        let poll = serde_json::to_value(rep_spec::Request::new(
            4,
            METHOD_POLL,
            json!({"run_id": "r"}),
        ))
        .unwrap();
        assert_eq!(check_request(&poll), Ok(()));
        assert!(
            check_request(&json!({"jsonrpc":"2.0","id":0,"method":"Runtime.Poll","params":{}}))
                .is_err()
        );
    }
}

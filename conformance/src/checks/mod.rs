//! The bodies of the catalogue's tests, one module per area, and what they share.

mod cancel;
mod framing;
mod lifecycle;
mod process;
mod rpc;
mod runs;
mod start;

use serde_json::{Map, Value};
use tokio::time::Instant;

use crate::conn::{Connection, Target};
use crate::flows::{Expect, Flow};
use crate::verdict::{Check, Failure};

/// What the suite learnt before the tests: the executor's capabilities and the flows it can
/// be asked to run.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Plan {
    /// The `Runtime.Capabilities` result of a first probe, when it answered with an object.
    pub capabilities: Option<Map<String, Value>>,
    /// The advertised step kinds (empty when unknown).
    pub step_kinds: Vec<String>,
    /// The built-in flows the advertised kinds allow, then the fixtures.
    pub flows: Vec<Flow>,
}

impl Plan {
    /// Flows that run to their end quickly (every flow but the long-running ones).
    pub fn runnable(&self) -> Vec<&Flow> {
        self.flows.iter().filter(|f| !f.long_running).collect()
    }

    /// Runnable flows expected to end with `expect`.
    pub fn expecting(&self, expect: Expect) -> Vec<&Flow> {
        self.runnable()
            .into_iter()
            .filter(|f| f.expect == expect)
            .collect()
    }

    /// The first runnable flow expected to complete.
    ///
    /// # Errors
    /// "not testable" when there is none.
    pub fn completing(&self) -> Result<&Flow, Failure> {
        self.expecting(Expect::Completed)
            .into_iter()
            .next()
            .ok_or_else(|| no_flow("a flow that completes"))
    }

    /// Every runnable flow, or "not testable" when there is none.
    ///
    /// # Errors
    /// "not testable" when there is no runnable flow.
    pub fn all_runnable(&self) -> Result<Vec<&Flow>, Failure> {
        let flows = self.runnable();
        if flows.is_empty() {
            return Err(no_flow("a flow to run"));
        }
        Ok(flows)
    }

    /// A step kind the executor advertises (`finish` when none is known).
    pub fn advertised_kind(&self) -> &str {
        if self.step_kinds.iter().any(|k| k == "finish") {
            return "finish";
        }
        self.step_kinds.first().map_or("finish", String::as_str)
    }
}

fn no_flow(what: &str) -> Failure {
    Failure::not_testable(format!(
        "needs {what}, but the executor does not advertise `finish` and no --fixtures flow fits"
    ))
}

/// What a test body sees: the executor, the plan, and its deadline.
pub struct Ctx<'a> {
    /// The executor under test.
    pub target: &'a Target,
    /// What the probe learnt.
    pub plan: &'a Plan,
    /// When the test's time budget ends.
    pub deadline: Instant,
}

impl Ctx<'_> {
    /// A fresh executor process for this test.
    ///
    /// # Errors
    /// When it cannot be started.
    pub fn connect(&self) -> Result<Connection, Failure> {
        Connection::spawn(self.target, self.deadline)
    }
}

/// Runs the body of test `id`; `None` when the catalogue id has no body (a bug of the suite,
/// caught by its self-test).
pub async fn run_body(id: &str, ctx: &Ctx<'_>) -> Option<Check> {
    Some(match id {
        "REP-FRM-001" => framing::one_object_per_line(ctx).await,
        "REP-FRM-002" => framing::only_frames_on_stdout(ctx).await,
        "REP-FRM-003" => framing::jsonrpc_version(ctx).await,
        "REP-FRM-004" => framing::ids_echoed(ctx).await,
        "REP-RPC-001" => rpc::parse_error(ctx).await,
        "REP-RPC-002" => rpc::invalid_request(ctx).await,
        "REP-RPC-003" => rpc::method_not_found(ctx).await,
        "REP-RPC-004" => rpc::invalid_params(ctx).await,
        "REP-ERR-001" => rpc::error_objects(ctx).await,
        "REP-CAP-001" => start::capabilities_shape(ctx).await,
        "REP-RUN-001" => start::unsupported_version(ctx).await,
        "REP-RUN-002" => start::version_checked_first(ctx).await,
        "REP-RUN-003" => start::unknown_kind(ctx).await,
        "REP-RUN-004" => start::schema_invalid_ir(ctx).await,
        "REP-RUN-005" => start::start_result(ctx).await,
        "REP-RUN-006" => start::run_id_from_options(ctx).await,
        "REP-LIF-001" => lifecycle::status_values(ctx).await,
        "REP-LIF-002" => lifecycle::completes(ctx).await,
        "REP-LIF-003" => lifecycle::fails(ctx).await,
        "REP-LIF-004" => lifecycle::events_once(ctx).await,
        "REP-LIF-005" => lifecycle::unknown_run(ctx).await,
        "REP-EVT-001" => lifecycle::event_shape(ctx).await,
        "REP-EVT-002" => lifecycle::step_event_shape(ctx).await,
        "REP-SUM-001" => lifecycle::summary_counts(ctx).await,
        "REP-CAN-001" => cancel::finished(ctx).await,
        "REP-CAN-002" => cancel::idempotent(ctx).await,
        "REP-CAN-003" => cancel::running(ctx).await,
        "REP-HLT-001" => cancel::health(ctx).await,
        "REP-PRC-001" => process::stdin_eof(ctx).await,
        "REP-PRC-002" => process::sigterm(ctx).await,
        _ => return None,
    })
}

/// Checks an `error` member: `{code: integer, message: string, data?: object}` with, in
/// `data`, `step_id` a string, `attempt` an integer, `retriable` a boolean when present
/// (REP v0.1 §5). Returns the code.
///
/// # Errors
/// What is wrong, as a reason (the caller adds the frame).
pub fn error_object(error: &Value) -> Result<i64, String> {
    let Some(object) = error.as_object() else {
        return Err("the error member is not an object".into());
    };
    let code = object
        .get("code")
        .and_then(Value::as_i64)
        .ok_or("error.code is missing or not an integer")?;
    if !object.get("message").is_some_and(Value::is_string) {
        return Err("error.message is missing or not a string".into());
    }
    match object.get("data") {
        None => {}
        Some(Value::Object(data)) => {
            let typed = [
                ("step_id", Value::is_string as fn(&Value) -> bool),
                ("attempt", Value::is_u64),
                ("retriable", Value::is_boolean),
            ];
            for (field, ok) in typed {
                if data.get(field).is_some_and(|v| !ok(v)) {
                    return Err(format!("error.data.{field} has the wrong type"));
                }
            }
        }
        Some(_) => return Err("error.data is not an object".into()),
    }
    Ok(code)
}

/// An IR the executor could run but for what a test changes: the first runnable flow's, else
/// a one-node flow of an advertised kind.
pub fn flows_for_errors(plan: &Plan) -> Value {
    plan.runnable().first().map_or_else(
        || crate::flows::single(plan.advertised_kind()),
        |f| f.ir.clone(),
    )
}

/// `1 flow`, `2 flows`: a count with its noun.
pub fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

//! JSON-RPC 2.0 dispatch of the `Runtime.*` methods (REP v0.1 §3, JSON-RPC 2.0 §4–§5).

use std::sync::Arc;

use rep_spec::{
    CancelResult, ErrorData, ErrorObject, Frame, HealthResult, Id, IncomingRequest, METHOD_CANCEL,
    METHOD_CAPABILITIES, METHOD_HEALTH, METHOD_POLL, METHOD_START_RUN, Response, RunIdParams,
    StartRunParams, StartRunResult, codes, parse_request,
};
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;
use serde_json::{Map, Value, json};

use crate::executor::{Executor, UNKNOWN_RUN};
use crate::scheduler::{RunJob, execute};

/// A method's result as the JSON text to send: serialized once, straight from its type.
type MethodResult = Result<Box<RawValue>, ErrorObject>;

impl Executor {
    /// Answers one frame read from the host: `Some(response)` for a request or a malformed
    /// frame, `None` for a notification or an empty line. Must run inside a tokio runtime
    /// (`Runtime.StartRun` spawns the run).
    ///
    /// Malformed frames get the JSON-RPC 2.0 codes: -32700 (not JSON), -32600 (not a request
    /// object, or longer than the request bound), -32601 (unknown method), -32602 (bad params).
    pub fn handle_frame(&self, frame: &Frame) -> Option<Response<Box<RawValue>>> {
        let line = match frame {
            Frame::Line(line) => line,
            Frame::TooLong { len } => {
                let message = format!(
                    "request exceeds the limit of {} bytes ({len} bytes read without a newline)",
                    self.max_request_bytes
                );
                return Some(Response::error(
                    Id::Null,
                    ErrorObject::new(codes::INVALID_REQUEST, message),
                ));
            }
        };
        if line.iter().all(u8::is_ascii_whitespace) {
            return None;
        }
        let IncomingRequest { id, method, params } = match parse_request(line) {
            Ok(request) => request,
            Err(error) => return Some(error.response()),
        };
        let Some(id) = id else {
            tracing::warn!(%method, "ignoring notification: REP v0.1 uses none");
            return None;
        };
        let result = match method.as_str() {
            METHOD_CAPABILITIES => to_raw(self.capabilities()).map_err(internal),
            METHOD_START_RUN => StartRunParams::from_value(params)
                .map_err(invalid_params)
                .and_then(|p| self.start_run(p)),
            METHOD_POLL => parse_params(params).and_then(|p| self.poll(p)),
            METHOD_CANCEL => parse_params(params).and_then(|p| self.cancel(p)),
            METHOD_HEALTH => {
                let mut details = Map::new();
                details.insert("runs".into(), self.registry.len().into());
                to_raw(HealthResult { ok: true, details }).map_err(internal)
            }
            other => Err(ErrorObject::new(
                codes::METHOD_NOT_FOUND,
                format!("Method not found: {other}"),
            )),
        };
        Some(Response {
            id,
            payload: result,
        })
    }

    fn start_run(&self, params: StartRunParams) -> MethodResult {
        let flow = self.runnable_flow(&params)?;
        let run_id = params
            .options
            .run_id
            .clone()
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        let Some(run) = self.registry.insert(run_id.clone()) else {
            return Err(validation(
                UNKNOWN_RUN,
                format!("run id {run_id:?} is already in use"),
                Value::Null,
            ));
        };
        tokio::spawn(execute(RunJob {
            run,
            flow: Arc::new(flow),
            inputs: Arc::new(params.inputs),
            handlers: self.handlers.clone(),
            concurrency: self.concurrency as usize,
            grace: self.cancel_grace,
        }));
        to_raw(StartRunResult { run_id }).map_err(internal)
    }

    /// The flow of a StartRun, checked in order: the IR version (1001), the schema and the
    /// semantic rules (1003), the step kinds (1002), the run inputs (1004).
    fn runnable_flow(&self, params: &StartRunParams) -> Result<flow_ir::FlowIr, ErrorObject> {
        if let Err(problem) = flow_ir::check_version(&params.ir) {
            return Err(validation(
                codes::UNSUPPORTED_IR_VERSION,
                problem.message.clone(),
                json!([problem_json(&problem)]),
            ));
        }
        let flow = match flow_ir::validate_document(&params.ir) {
            Ok(flow) => flow,
            Err(error) => {
                let details: Vec<Value> = error.problems.iter().map(problem_json).collect();
                let message = match error.problems.first() {
                    Some(first) if error.problems.len() == 1 => format!("invalid Flow IR: {first}"),
                    Some(first) => format!(
                        "invalid Flow IR: {first} (and {} more)",
                        error.problems.len() - 1
                    ),
                    None => "invalid Flow IR".to_owned(),
                };
                return Err(validation(
                    codes::INVALID_IR,
                    message,
                    Value::Array(details),
                ));
            }
        };
        let missing: Vec<String> = flow
            .required_step_kinds()
            .into_iter()
            .filter(|k| !self.supports(k))
            .collect();
        if !missing.is_empty() {
            let message = format!("unsupported step kind(s): {}", missing.join(", "));
            return Err(validation(
                codes::UNSUPPORTED_STEP_KIND,
                message,
                json!({"missing": missing}),
            ));
        }
        if let Err(error) = flow_ir::check_inputs(&flow.inputs_schema, &params.inputs) {
            return Err(invalid_inputs(&error));
        }
        Ok(flow)
    }

    fn poll(&self, params: RunIdParams) -> MethodResult {
        let run = self
            .registry
            .get(&params.run_id)
            .ok_or_else(|| unknown_run(&params.run_id))?;
        to_raw(run.poll()).map_err(internal)
    }

    fn cancel(&self, params: RunIdParams) -> MethodResult {
        let run = self
            .registry
            .get(&params.run_id)
            .ok_or_else(|| unknown_run(&params.run_id))?;
        run.cancel();
        to_raw(CancelResult { ok: true }).map_err(internal)
    }
}

fn invalid_params(why: String) -> ErrorObject {
    ErrorObject::new(codes::INVALID_PARAMS, format!("Invalid params: {why}"))
}

fn parse_params<T: DeserializeOwned>(params: Value) -> Result<T, ErrorObject> {
    serde_json::from_value(params)
        .map_err(|e| ErrorObject::new(codes::INVALID_PARAMS, format!("Invalid params: {e}")))
}

fn to_raw<T: serde::Serialize>(result: T) -> Result<Box<RawValue>, serde_json::Error> {
    serde_json::value::to_raw_value(&result)
}

fn internal(e: serde_json::Error) -> ErrorObject {
    ErrorObject::new(codes::INTERNAL, format!("internal error: {e}"))
}

fn validation(code: i64, message: String, details: Value) -> ErrorObject {
    let data = ErrorData {
        retriable: Some(false),
        details: (!details.is_null()).then_some(details),
        ..ErrorData::default()
    };
    ErrorObject::new(code, message).with_data(data)
}

/// 1004 for inputs that do not match `inputs_schema`: the first problem in the message,
/// every problem in `data.details` as `{pointer, input, declared, message}`.
fn invalid_inputs(error: &flow_ir::InputsError) -> ErrorObject {
    let details: Vec<Value> = error
        .problems
        .iter()
        .map(|p| {
            json!({"pointer": p.pointer, "input": p.name, "declared": p.declared, "message": p.message})
        })
        .collect();
    let message = match error.problems.as_slice() {
        [only] => format!("invalid inputs: {only}"),
        [first, rest @ ..] => format!("invalid inputs: {first} (and {} more)", rest.len()),
        [] => "invalid inputs".to_owned(),
    };
    validation(codes::INVALID_INPUTS, message, Value::Array(details))
}

fn unknown_run(run_id: &str) -> ErrorObject {
    validation(
        UNKNOWN_RUN,
        format!("unknown run id {run_id:?}"),
        Value::Null,
    )
}

fn problem_json(problem: &flow_ir::Problem) -> Value {
    json!({"pointer": problem.pointer, "message": problem.message})
}

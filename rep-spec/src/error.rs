//! The JSON-RPC error object and REP error classes (REP v0.1 §5).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Error codes defined by REP v0.1 §5 and JSON-RPC 2.0 §5.1.
pub mod codes {
    /// 1001: the IR's `version` is not supported (Validation).
    pub const UNSUPPORTED_IR_VERSION: i64 = 1001;
    /// 1002: the flow needs a step kind the executor does not support (Validation).
    pub const UNSUPPORTED_STEP_KIND: i64 = 1002;
    /// 1003: the IR payload is invalid (schema or semantic rules) (Validation).
    pub const INVALID_IR: i64 = 1003;
    /// 1004: the run inputs do not match the IR's `inputs_schema` (Validation; REP v0.1 §3
    /// \[clarified\]: "bad inputs").
    pub const INVALID_INPUTS: i64 = 1004;
    /// 2001: a step failed to execute (StepFailure).
    pub const STEP_FAILED: i64 = 2001;
    /// 3001: broken transport, EOF, invalid JSON or timeout (RuntimeInternal).
    pub const TRANSPORT: i64 = 3001;
    /// 3002: the executor panicked or hit an unhandled error (RuntimeInternal).
    pub const INTERNAL: i64 = 3002;
    /// -32700: the request was not valid JSON.
    pub const PARSE_ERROR: i64 = -32700;
    /// -32600: the JSON was not a valid JSON-RPC 2.0 request object.
    pub const INVALID_REQUEST: i64 = -32600;
    /// -32601: the method does not exist.
    pub const METHOD_NOT_FOUND: i64 = -32601;
    /// -32602: the params are invalid for the method.
    pub const INVALID_PARAMS: i64 = -32602;
    /// -32603: internal JSON-RPC error.
    pub const INTERNAL_ERROR: i64 = -32603;
}

/// The class of an error code (REP v0.1 §5). Decides retry defaults and the host's exit code
/// (`tm` maps it with its other failures: docs/exit-codes.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ErrorClass {
    /// 1000–1999: IR incompatible, bad inputs, unsupported step kind. Exit code 3.
    Validation,
    /// 2000–2999: downstream or business failure. Exit code 1.
    StepFailure,
    /// 3000–3999: transport, crash, timeout. Exit code 4.
    RuntimeInternal,
    /// The standard JSON-RPC codes (-32768..=-32000): the executor could not understand the
    /// host's request. Treated like RuntimeInternal (exit code 4).
    Protocol,
    /// Any other code: not defined by REP v0.1. Treated like RuntimeInternal (exit code 4).
    Unknown,
}

impl ErrorClass {
    /// The class of `code` (REP v0.1 §5 table).
    pub fn of(code: i64) -> ErrorClass {
        match code {
            1000..=1999 => ErrorClass::Validation,
            2000..=2999 => ErrorClass::StepFailure,
            3000..=3999 => ErrorClass::RuntimeInternal,
            -32768..=-32000 => ErrorClass::Protocol,
            _ => ErrorClass::Unknown,
        }
    }

    /// Whether errors of this class are retriable by default (REP v0.1 §5). StepFailure
    /// depends on the IR's retry policy, which this answer does not know: `None`.
    pub fn default_retriable(self) -> Option<bool> {
        match self {
            ErrorClass::StepFailure => None,
            _ => Some(false),
        }
    }

    /// The class name as written in reports: `Validation`, `StepFailure`, `RuntimeInternal`,
    /// `Protocol` or `Unknown`.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorClass::Validation => "Validation",
            ErrorClass::StepFailure => "StepFailure",
            ErrorClass::RuntimeInternal => "RuntimeInternal",
            ErrorClass::Protocol => "Protocol",
            ErrorClass::Unknown => "Unknown",
        }
    }
}

impl std::fmt::Display for ErrorClass {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The JSON-RPC `error` member: `{ code, message, data? }` (REP v0.1 §5).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorObject {
    /// The error code; see [`codes`] and [`ErrorClass::of`].
    pub code: i64,
    /// A one-line human-readable description.
    pub message: String,
    /// Structured details, when the executor gives them (boxed: most errors have none, and
    /// results carrying an error stay small).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<Box<ErrorData>>,
}

impl ErrorObject {
    /// An error with `code` and `message` and no data.
    pub fn new(code: i64, message: impl Into<String>) -> Self {
        ErrorObject {
            code,
            message: message.into(),
            data: None,
        }
    }

    /// The same error with `data` attached.
    pub fn with_data(mut self, data: ErrorData) -> Self {
        self.data = Some(Box::new(data));
        self
    }

    /// The class of this error's code.
    pub fn class(&self) -> ErrorClass {
        ErrorClass::of(self.code)
    }
}

impl std::fmt::Display for ErrorObject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({} {})", self.message, self.class(), self.code)
    }
}

/// The error object's `data`: `{ step_id?, attempt?, retriable?, details? }` (REP v0.1 §5),
/// plus any other fields, which are kept.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ErrorData {
    /// The step that failed, if the error concerns one step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step_id: Option<String>,
    /// The attempt number (1-based) that failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attempt: Option<u32>,
    /// Whether retrying may help.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retriable: Option<bool>,
    /// Free-form details (e.g. the list of validation problems).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<Value>,
    /// Fields not named by the spec, kept as received.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_map_to_classes_as_the_spec_table_says() {
        let table = [
            (1001, ErrorClass::Validation),
            (1999, ErrorClass::Validation),
            (2001, ErrorClass::StepFailure),
            (3001, ErrorClass::RuntimeInternal),
            (3002, ErrorClass::RuntimeInternal),
            (-32601, ErrorClass::Protocol),
            (42, ErrorClass::Unknown),
        ];
        for (code, class) in table {
            assert_eq!(ErrorClass::of(code), class, "{code}");
        }
    }

    #[test]
    fn validation_and_internal_errors_are_not_retriable_by_default() {
        assert_eq!(ErrorClass::Validation.default_retriable(), Some(false));
        assert_eq!(ErrorClass::RuntimeInternal.default_retriable(), Some(false));
        assert_eq!(ErrorClass::StepFailure.default_retriable(), None);
    }

    #[test]
    fn error_data_keeps_unknown_fields() {
        let wire = serde_json::json!({"code": 2001, "message": "boom", "data": {"step_id": "s", "cause": "Timeout"}});
        let error: ErrorObject = serde_json::from_value(wire.clone()).unwrap();
        assert_eq!(error.data.as_ref().unwrap().extra["cause"], "Timeout");
        assert_eq!(serde_json::to_value(&error).unwrap(), wire);
    }
}

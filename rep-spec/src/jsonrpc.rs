//! JSON-RPC 2.0 framing objects as REP v0.1 §1 uses them: one object per line, no batches,
//! numeric request ids starting at 1, no notifications from the executor.

use serde::ser::SerializeMap;
use serde::{Deserialize, Serialize, Serializer};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::ErrorObject;

/// The only accepted value of the `jsonrpc` member.
pub const JSONRPC_VERSION: &str = "2.0";

/// A request or response id: a number, a string, or `null` (JSON-RPC 2.0 §4). REP hosts send
/// numbers 1, 2, 3, …
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Id {
    /// A numeric id (what REP hosts send).
    Number(serde_json::Number),
    /// A string id.
    String(String),
    /// `null`: used in error responses when the request's id could not be read.
    Null,
}

impl From<u64> for Id {
    fn from(n: u64) -> Id {
        Id::Number(n.into())
    }
}

impl Id {
    /// Reads an id from a request's `id` member; `None` when the value is not a valid id type
    /// (object, array, boolean).
    pub fn from_value(value: &Value) -> Option<Id> {
        match value {
            Value::Number(n) => Some(Id::Number(n.clone())),
            Value::String(s) => Some(Id::String(s.clone())),
            Value::Null => Some(Id::Null),
            _ => None,
        }
    }
}

impl std::fmt::Display for Id {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Id::Number(n) => write!(f, "{n}"),
            Id::String(s) => write!(f, "{s:?}"),
            Id::Null => f.write_str("null"),
        }
    }
}

/// A JSON-RPC 2.0 request: `{ "jsonrpc": "2.0", "id", "method", "params" }`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Request<'a, P: Serialize> {
    /// Always `"2.0"`.
    pub jsonrpc: &'static str,
    /// The request id (REP hosts: 1, 2, 3, …).
    pub id: u64,
    /// The method name, e.g. [`METHOD_POLL`](crate::METHOD_POLL).
    pub method: &'a str,
    /// The params object.
    pub params: P,
}

impl<'a, P: Serialize> Request<'a, P> {
    /// A request with `"jsonrpc": "2.0"`.
    pub fn new(id: u64, method: &'a str, params: P) -> Self {
        Request {
            jsonrpc: JSONRPC_VERSION,
            id,
            method,
            params,
        }
    }
}

/// A JSON-RPC 2.0 response: `{ "jsonrpc": "2.0", "id", "result" }` or `{ …, "error" }`.
///
/// `R` is the result's representation: a `Value` tree, or JSON text (`Box<RawValue>`) that an
/// executor writes out without building a tree. `E` is the error object's: an
/// [`ErrorObject`], or a [`RawErrorObject`] for a host that passes it on exactly.
#[derive(Debug, Clone, PartialEq)]
pub struct Response<R = Value, E = ErrorObject> {
    /// The id of the request answered (`null` when it could not be read).
    pub id: Id,
    /// `Ok(result)` or `Err(error object)`.
    pub payload: Result<R, E>,
}

impl<R> Response<R> {
    /// A success response.
    pub fn ok(id: Id, result: R) -> Response<R> {
        Response {
            id,
            payload: Ok(result),
        }
    }

    /// An error response.
    pub fn error(id: Id, error: ErrorObject) -> Response<R> {
        Response {
            id,
            payload: Err(error),
        }
    }
}

impl<R: Serialize, E: Serialize> Serialize for Response<R, E> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(3))?;
        map.serialize_entry("jsonrpc", JSONRPC_VERSION)?;
        map.serialize_entry("id", &self.id)?;
        match &self.payload {
            Ok(result) => map.serialize_entry("result", result)?,
            Err(error) => map.serialize_entry("error", error)?,
        }
        map.end()
    }
}

/// Why a frame received from an executor is not a usable JSON-RPC 2.0 response
/// (a transport error 3001 for a host, REP v0.1 §1).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum FrameError {
    /// The frame is JSON but not an object (e.g. an array: batches are not used).
    #[error("frame is not a JSON object (found {found})")]
    NotAnObject {
        /// The JSON type found: `array`, `string`, …
        found: &'static str,
    },
    /// `jsonrpc` is missing or not `"2.0"`.
    #[error("frame has jsonrpc {found}, expected \"2.0\"")]
    BadVersion {
        /// What was found, as JSON (`missing` when absent).
        found: String,
    },
    /// The frame has a `method`: it is a notification (no `id`) sent by the executor.
    #[error("unexpected notification {method:?} from the executor")]
    Notification {
        /// The notification's method.
        method: String,
    },
    /// The frame has both `method` and `id`: the executor sent a request, which REP never does.
    #[error("unexpected request {method:?} from the executor")]
    UnexpectedRequest {
        /// The request's method.
        method: String,
    },
    /// The response has no `id`, or an id of an invalid type.
    #[error("response has no valid id")]
    MissingId,
    /// The response has neither `result` nor `error`.
    #[error("response has neither result nor error")]
    NeitherResultNorError,
    /// The response has both `result` and `error`.
    #[error("response has both result and error")]
    BothResultAndError,
    /// The `error` member is not `{ code: integer, message: string, data? }`.
    #[error("malformed error object: {reason}")]
    BadErrorObject {
        /// What is wrong with it.
        reason: String,
    },
    /// The frame is not valid JSON (only from [`parse_response_text`]).
    #[error("invalid JSON: {message}")]
    InvalidJson {
        /// The parser's message, with line and column.
        message: String,
    },
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Reads a parsed frame from an executor as a response (REP v0.1 §1). Notifications and
/// requests from the executor, and every shape JSON-RPC 2.0 §5 forbids, are [`FrameError`]s.
pub fn parse_response(frame: Value) -> Result<Response, FrameError> {
    let Value::Object(mut object) = frame else {
        return Err(FrameError::NotAnObject {
            found: json_type(&frame),
        });
    };
    let members = Members {
        jsonrpc: object.remove("jsonrpc"),
        id: object.remove("id"),
        method: object.remove("method"),
        result: object.remove("result"),
        error: object.remove("error"),
    };
    members.into_response(parse_error_object)
}

/// The members of a frame that decide what it is, each `Some` when present (`null` too).
struct Members<R, E> {
    jsonrpc: Option<Value>,
    id: Option<Value>,
    method: Option<Value>,
    result: Option<R>,
    error: Option<E>,
}

impl<R, E> Members<R, E> {
    /// The one set of JSON-RPC 2.0 §5 rules both parsers apply; `parse_error` reads the
    /// `error` member (by [`RawErrorObject::parse`]'s rules, in both).
    fn into_response<O>(
        self,
        parse_error: impl FnOnce(E) -> Result<O, FrameError>,
    ) -> Result<Response<R, O>, FrameError> {
        match &self.jsonrpc {
            Some(Value::String(v)) if v == JSONRPC_VERSION => {}
            Some(other) => {
                return Err(FrameError::BadVersion {
                    found: other.to_string(),
                });
            }
            None => {
                return Err(FrameError::BadVersion {
                    found: "missing".into(),
                });
            }
        }
        if let Some(method) = self.method {
            let method = method.as_str().unwrap_or("<not a string>").to_owned();
            return Err(if self.id.is_some() {
                FrameError::UnexpectedRequest { method }
            } else {
                FrameError::Notification { method }
            });
        }
        let id = self
            .id
            .as_ref()
            .and_then(Id::from_value)
            .ok_or(FrameError::MissingId)?;
        let payload = match (self.result, self.error) {
            (Some(_), Some(_)) => return Err(FrameError::BothResultAndError),
            (None, None) => return Err(FrameError::NeitherResultNorError),
            (Some(result), None) => Ok(result),
            (None, Some(error)) => Err(parse_error(error)?),
        };
        Ok(Response { id, payload })
    }
}

/// A response whose `result` is kept as JSON text, to be parsed straight into its type: no
/// intermediate `Value` tree for a large result (a Poll carrying thousands of events); its
/// error object is kept as JSON text too, every number in its `data` exactly as sent.
pub type RawResponse<'a> = Response<&'a RawValue, RawErrorObject>;

/// An error object as an executor sent it (REP v0.1 §5): its code, message and
/// `data.step_id` read, the whole object kept as JSON text, so that passing it on changes
/// nothing (a 30-digit integer or `1e400` in `data` stays as written). Serializes as that
/// text.
#[derive(Debug, Clone)]
pub struct RawErrorObject {
    /// The error code.
    pub code: i64,
    /// The message.
    pub message: String,
    /// `data.step_id`, when given.
    pub step_id: Option<String>,
    json: Box<RawValue>,
}

impl RawErrorObject {
    /// Reads an error object by the rules every error object of a response must meet: an
    /// object with an integer `code` and a string `message`; `data`, when present and not
    /// `null`, an object whose `step_id` is a string, `attempt` an integer ≥ 0 and
    /// `retriable` a boolean (each when present and not `null`). Other members are kept, not
    /// read.
    ///
    /// # Errors
    /// [`FrameError::BadErrorObject`] naming the rule broken.
    pub fn parse(json: &RawValue) -> Result<RawErrorObject, FrameError> {
        #[derive(Deserialize)]
        struct Members<'a> {
            #[serde(default, borrow)]
            code: Option<&'a RawValue>,
            #[serde(default, borrow)]
            message: Option<&'a RawValue>,
            #[serde(default, borrow)]
            data: Option<&'a RawValue>,
        }
        #[derive(Deserialize)]
        struct Data<'a> {
            #[serde(default, borrow)]
            step_id: Option<&'a RawValue>,
            #[serde(default, borrow)]
            attempt: Option<&'a RawValue>,
            #[serde(default, borrow)]
            retriable: Option<&'a RawValue>,
        }
        let bad = |reason: &str| FrameError::BadErrorObject {
            reason: reason.to_owned(),
        };
        if !json.get().trim_start().starts_with('{') {
            return Err(bad("not an object"));
        }
        let members: Members<'_> =
            serde_json::from_str(json.get()).map_err(|e| bad(&e.to_string()))?;
        let code = members
            .code
            .and_then(|c| serde_json::from_str::<i64>(c.get()).ok())
            .ok_or_else(|| bad("code is missing or not an integer"))?;
        let message = members
            .message
            .and_then(|m| serde_json::from_str::<String>(m.get()).ok())
            .ok_or_else(|| bad("message is missing or not a string"))?;
        let mut step_id = None;
        match members.data.map(|d| d.get().trim_start()) {
            None => {}
            Some(text) if text.starts_with('{') => {
                let data: Data<'_> = serde_json::from_str(text).map_err(|e| bad(&e.to_string()))?;
                // `null` reads as absent.
                fn typed<'a, T: Deserialize<'a>>(
                    value: Option<&'a RawValue>,
                    field: &str,
                    what: &str,
                ) -> Result<Option<T>, FrameError> {
                    value
                        .map(|v| {
                            serde_json::from_str::<T>(v.get()).map_err(|_| {
                                FrameError::BadErrorObject {
                                    reason: format!("data.{field} is not {what}"),
                                }
                            })
                        })
                        .transpose()
                }
                step_id = typed::<String>(data.step_id, "step_id", "a string")?;
                typed::<u32>(data.attempt, "attempt", "an integer ≥ 0")?;
                typed::<bool>(data.retriable, "retriable", "a boolean")?;
            }
            Some(_) => return Err(bad("data is not an object")),
        }
        Ok(RawErrorObject {
            code,
            message,
            step_id,
            json: json.to_owned(),
        })
    }

    /// The class of this error's code.
    pub fn class(&self) -> crate::ErrorClass {
        crate::ErrorClass::of(self.code)
    }

    /// The error object as the executor sent it.
    pub fn json(&self) -> &RawValue {
        &self.json
    }
}

impl PartialEq for RawErrorObject {
    fn eq(&self, other: &Self) -> bool {
        self.json.get() == other.json.get()
    }
}

impl Serialize for RawErrorObject {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.json.serialize(serializer)
    }
}

impl std::fmt::Display for RawErrorObject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({} {})", self.message, self.class(), self.code)
    }
}

#[derive(Deserialize)]
struct WireResponse<'a> {
    #[serde(default, deserialize_with = "present")]
    jsonrpc: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    id: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    method: Option<Value>,
    #[serde(default, borrow, deserialize_with = "present_raw")]
    result: Option<&'a RawValue>,
    #[serde(default, borrow, deserialize_with = "present_raw")]
    error: Option<&'a RawValue>,
}

/// `Some` for a member that is present, `null` included (plain `Option` maps `null` to `None`).
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(d).map(Some)
}

fn present_raw<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<&'de RawValue>, D::Error> {
    <&RawValue>::deserialize(d).map(Some)
}

/// Reads one frame's text as a response, like [`parse_response`] but keeping `result` as raw
/// JSON (REP v0.1 §1). Invalid JSON is [`FrameError::InvalidJson`].
pub fn parse_response_text(text: &str) -> Result<RawResponse<'_>, FrameError> {
    let found = match text.trim_start().as_bytes().first() {
        Some(b'{') => None,
        Some(b'[') => Some("array"),
        Some(b'"') => Some("string"),
        Some(b't' | b'f') => Some("boolean"),
        Some(b'n') => Some("null"),
        Some(_) => Some("number"),
        None => None,
    };
    if let Some(found) = found {
        // Not an object: say so when it is valid JSON (a struct would also accept an array).
        return Err(match serde_json::from_str::<serde::de::IgnoredAny>(text) {
            Ok(_) => FrameError::NotAnObject { found },
            Err(e) => FrameError::InvalidJson {
                message: e.to_string(),
            },
        });
    }
    let wire: WireResponse<'_> =
        serde_json::from_str(text).map_err(|e| FrameError::InvalidJson {
            message: e.to_string(),
        })?;
    Members {
        jsonrpc: wire.jsonrpc,
        id: wire.id,
        method: wire.method,
        result: wire.result,
        error: wire.error,
    }
    .into_response(RawErrorObject::parse)
}

/// A request (or notification) an executor read from the host, once the JSON-RPC 2.0 §4
/// envelope rules hold: an object with `"jsonrpc": "2.0"`, a string `method`, `params` an
/// object or an array (`{}` when absent), and an `id` that is a number, a string or `null`.
#[derive(Debug, Clone, PartialEq)]
pub struct IncomingRequest {
    /// The request id; `None` for a notification (no `id` member), which gets no answer.
    pub id: Option<Id>,
    /// The method name, e.g. [`METHOD_POLL`](crate::METHOD_POLL).
    pub method: String,
    /// The params: an object or an array; `{}` when the member is absent.
    pub params: Value,
}

/// Why a frame from the host is not a request, and how JSON-RPC 2.0 §5.1 says to answer it:
/// -32700 with id `null` for invalid JSON, -32600 for everything else, with the request's id
/// when it could be read and `null` when not.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RequestError {
    /// The frame is not valid JSON (-32700, id `null`).
    #[error("Parse error: {message}")]
    Parse {
        /// The parser's message, with line and column.
        message: String,
    },
    /// The frame is JSON but not a valid request object (-32600).
    #[error("Invalid Request: {reason}")]
    Invalid {
        /// The id to answer with: the request's own when it could be read, else `null`.
        id: Id,
        /// What is wrong, e.g. `jsonrpc must be "2.0"`.
        reason: &'static str,
    },
}

impl RequestError {
    /// The JSON-RPC error code: -32700 or -32600.
    pub fn code(&self) -> i64 {
        match self {
            RequestError::Parse { .. } => crate::codes::PARSE_ERROR,
            RequestError::Invalid { .. } => crate::codes::INVALID_REQUEST,
        }
    }

    /// The id the error response carries (JSON-RPC 2.0 §5: `null` when the id could not be
    /// read).
    pub fn id(&self) -> Id {
        match self {
            RequestError::Parse { .. } => Id::Null,
            RequestError::Invalid { id, .. } => id.clone(),
        }
    }

    /// The error response an executor sends for this frame.
    pub fn response<R>(&self) -> Response<R> {
        Response::error(self.id(), ErrorObject::new(self.code(), self.to_string()))
    }
}

/// Reads one frame from the host as a JSON-RPC 2.0 request (REP v0.1 §1, JSON-RPC 2.0 §4),
/// checking, in order: JSON (else -32700), an object (batches are not used), the `id` type,
/// `"jsonrpc": "2.0"`, a string `method`, and `params` an object or an array (each -32600).
///
/// # Errors
/// [`RequestError`], which says the code and id of the error response to send.
pub fn parse_request(frame: &[u8]) -> Result<IncomingRequest, RequestError> {
    let value: Value = serde_json::from_slice(frame).map_err(|e| RequestError::Parse {
        message: e.to_string(),
    })?;
    let invalid = |id: &Option<Id>, reason| RequestError::Invalid {
        id: id.clone().unwrap_or(Id::Null),
        reason,
    };
    let Value::Object(mut request) = value else {
        return Err(invalid(
            &None,
            "a request must be a JSON object (batches are not used)",
        ));
    };
    let id = match request.get("id") {
        None => None,
        Some(raw) => Some(
            Id::from_value(raw)
                .ok_or_else(|| invalid(&None, "id must be a string, a number or null"))?,
        ),
    };
    if request.get("jsonrpc").and_then(Value::as_str) != Some(JSONRPC_VERSION) {
        return Err(invalid(&id, "jsonrpc must be \"2.0\""));
    }
    let Some(Value::String(method)) = request.remove("method") else {
        return Err(invalid(&id, "method must be a string"));
    };
    let params = match request.remove("params") {
        None => Value::Object(Map::new()),
        Some(p @ (Value::Object(_) | Value::Array(_))) => p,
        Some(_) => return Err(invalid(&id, "params must be an object or an array")),
    };
    Ok(IncomingRequest { id, method, params })
}

/// An error object of a parsed frame, checked by [`RawErrorObject::parse`]'s rules.
fn parse_error_object(error: Value) -> Result<ErrorObject, FrameError> {
    let text = serde_json::value::to_raw_value(&error).map_err(|e| FrameError::BadErrorObject {
        reason: e.to_string(),
    })?;
    RawErrorObject::parse(&text)?;
    serde_json::from_value(error).map_err(|e| FrameError::BadErrorObject {
        reason: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codes;
    use serde_json::json;

    #[test]
    fn request_serializes_with_version_and_numeric_id() {
        let text =
            serde_json::to_string(&Request::new(1, "Runtime.Capabilities", json!({}))).unwrap();
        assert_eq!(
            text,
            r#"{"jsonrpc":"2.0","id":1,"method":"Runtime.Capabilities","params":{}}"#
        );
    }

    #[test]
    fn responses_serialize_with_result_or_error() {
        let ok = serde_json::to_value(Response::ok(Id::from(3), json!({"ok": true}))).unwrap();
        assert_eq!(
            ok,
            json!({"jsonrpc": "2.0", "id": 3, "result": {"ok": true}})
        );
        let err = serde_json::to_value(Response::<Value>::error(
            Id::Null,
            ErrorObject::new(codes::PARSE_ERROR, "Parse error"),
        ))
        .unwrap();
        assert_eq!(
            err,
            json!({"jsonrpc": "2.0", "id": null, "error": {"code": -32700, "message": "Parse error"}})
        );
    }

    #[test]
    fn parse_request_follows_json_rpc_rules_in_order() {
        let cases: [(&str, i64, Id); 8] = [
            ("{not json", codes::PARSE_ERROR, Id::Null),
            ("[1, 2]", codes::INVALID_REQUEST, Id::Null),
            ("42", codes::INVALID_REQUEST, Id::Null),
            (
                r#"{"jsonrpc": "2.0", "id": {"x": 1}, "method": "m"}"#,
                codes::INVALID_REQUEST,
                Id::Null,
            ),
            (
                r#"{"id": 1, "method": "m"}"#,
                codes::INVALID_REQUEST,
                Id::from(1),
            ),
            (
                r#"{"jsonrpc": "2.0", "id": 7}"#,
                codes::INVALID_REQUEST,
                Id::from(7),
            ),
            (
                r#"{"jsonrpc": "2.0", "id": "s", "method": 7}"#,
                codes::INVALID_REQUEST,
                Id::String("s".into()),
            ),
            (
                r#"{"jsonrpc": "2.0", "id": 4, "method": "m", "params": 5}"#,
                codes::INVALID_REQUEST,
                Id::from(4),
            ),
        ];
        for (frame, code, id) in cases {
            let error = parse_request(frame.as_bytes()).unwrap_err();
            assert_eq!((error.code(), error.id()), (code, id.clone()), "{frame}");
            let response = serde_json::to_value(error.response::<Value>()).unwrap();
            assert_eq!(response["error"]["code"], code, "{frame}");
            assert_eq!(
                serde_json::to_value(&id).unwrap(),
                response["id"],
                "{frame}"
            );
        }
        let request =
            parse_request(br#"{"jsonrpc": "2.0", "id": 3, "method": "Runtime.Poll"}"#).unwrap();
        assert_eq!(request.id, Some(Id::from(3)));
        assert_eq!(request.method, "Runtime.Poll");
        assert_eq!(request.params, json!({}));
        let notification =
            parse_request(br#"{"jsonrpc": "2.0", "method": "m", "params": [1]}"#).unwrap();
        assert_eq!(notification.id, None);
        assert_eq!(notification.params, json!([1]));
        let null_id = parse_request(br#"{"jsonrpc": "2.0", "id": null, "method": "m"}"#).unwrap();
        assert_eq!(null_id.id, Some(Id::Null));
    }

    #[test]
    fn error_objects_name_the_mistyped_data_field() {
        let reason = |data: Value| match parse_response(
            json!({"jsonrpc": "2.0", "id": 1, "error": {"code": 1, "message": "m", "data": data}}),
        ) {
            Err(FrameError::BadErrorObject { reason }) => reason,
            other => panic!("{other:?}"),
        };
        assert_eq!(reason(json!("see stderr")), "data is not an object");
        assert_eq!(
            reason(json!({"step_id": 3})),
            "data.step_id is not a string"
        );
        assert_eq!(
            reason(json!({"attempt": -1})),
            "data.attempt is not an integer ≥ 0"
        );
        assert_eq!(
            reason(json!({"retriable": "no"})),
            "data.retriable is not a boolean"
        );
        let ok = parse_response(
            json!({"jsonrpc": "2.0", "id": 1, "error": {"code": 1, "message": "m", "data": null}}),
        );
        assert!(ok.is_ok(), "{ok:?}");
    }

    #[test]
    fn parse_response_accepts_result_and_error() {
        let r = parse_response(json!({"jsonrpc": "2.0", "id": 1, "result": {"a": 1}})).unwrap();
        assert_eq!(r.id, Id::from(1));
        assert_eq!(r.payload, Ok(json!({"a": 1})));
        let r = parse_response(json!({"jsonrpc": "2.0", "id": 2, "error": {"code": 1001, "message": "m", "data": {"retriable": false}}})).unwrap();
        let error = r.payload.unwrap_err();
        assert_eq!(error.code, 1001);
        assert_eq!(error.data.unwrap().retriable, Some(false));
    }

    #[test]
    fn parse_response_text_agrees_with_parse_response() {
        let frames = [
            r#"{"jsonrpc":"2.0","id":1,"result":{"a":[1,2]}}"#,
            r#"{"jsonrpc":"2.0","id":"x","result":null}"#,
            r#"{"jsonrpc":"2.0","id":2,"error":{"code":1001,"message":"m","data":{"retriable":false}}}"#,
            r#"[1]"#,
            r#"42"#,
            r#""s""#,
            r#"{"id":1,"result":{}}"#,
            r#"{"jsonrpc":"1.0","id":1,"result":{}}"#,
            r#"{"jsonrpc":"2.0","method":"x"}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"x"}"#,
            r#"{"jsonrpc":"2.0","result":{}}"#,
            r#"{"jsonrpc":"2.0","id":null,"result":{}}"#,
            r#"{"jsonrpc":"2.0","id":[1],"result":{}}"#,
            r#"{"jsonrpc":"2.0","id":1}"#,
            r#"{"jsonrpc":"2.0","id":1,"result":1,"error":{}}"#,
            r#"{"jsonrpc":"2.0","id":1,"error":{"code":"x","message":"m"}}"#,
        ];
        for frame in frames {
            let by_value = parse_response(serde_json::from_str(frame).unwrap());
            let by_text = parse_response_text(frame);
            match (by_value, by_text) {
                (Ok(v), Ok(t)) => {
                    assert_eq!(v.id, t.id, "{frame}");
                    let t_payload = t
                        .payload
                        .map(|raw| serde_json::from_str::<Value>(raw.get()).unwrap())
                        .map_err(|raw| serde_json::from_str(raw.json().get()).unwrap());
                    assert_eq!(v.payload, t_payload, "{frame}");
                }
                (Err(v), Err(t)) => assert_eq!(v, t, "{frame}"),
                (v, t) => panic!("{frame}: by value {v:?}, by text {t:?}"),
            }
        }
        assert!(matches!(
            parse_response_text("{not json"),
            Err(FrameError::InvalidJson { .. })
        ));
        assert!(matches!(
            parse_response_text("[1, "),
            Err(FrameError::InvalidJson { .. })
        ));
    }

    #[test]
    fn a_raw_error_object_keeps_its_numbers_exactly() {
        let frame = r#"{"jsonrpc":"2.0","id":1,"error":{"code":2001,"message":"m","data":{"step_id":"s","big":123456789012345678901234567890,"huge":1e400}}}"#;
        let error = parse_response_text(frame).unwrap().payload.unwrap_err();
        assert_eq!((error.code, error.step_id.as_deref()), (2001, Some("s")));
        let text = serde_json::to_string(&error).unwrap();
        assert!(
            text.contains(r#""big":123456789012345678901234567890,"huge":1e400"#),
            "{text}"
        );
    }

    #[test]
    fn parse_response_rejects_every_forbidden_shape() {
        let cases = [
            (json!([1]), FrameError::NotAnObject { found: "array" }),
            (
                json!({"id": 1, "result": {}}),
                FrameError::BadVersion {
                    found: "missing".into(),
                },
            ),
            (
                json!({"jsonrpc": "1.0", "id": 1, "result": {}}),
                FrameError::BadVersion {
                    found: "\"1.0\"".into(),
                },
            ),
            (
                json!({"jsonrpc": "2.0", "method": "x"}),
                FrameError::Notification { method: "x".into() },
            ),
            (
                json!({"jsonrpc": "2.0", "id": 1, "method": "x"}),
                FrameError::UnexpectedRequest { method: "x".into() },
            ),
            (
                json!({"jsonrpc": "2.0", "result": {}}),
                FrameError::MissingId,
            ),
            (
                json!({"jsonrpc": "2.0", "id": [1], "result": {}}),
                FrameError::MissingId,
            ),
            (
                json!({"jsonrpc": "2.0", "id": 1}),
                FrameError::NeitherResultNorError,
            ),
            (
                json!({"jsonrpc": "2.0", "id": 1, "result": 1, "error": {}}),
                FrameError::BothResultAndError,
            ),
        ];
        for (frame, expected) in cases {
            assert_eq!(parse_response(frame.clone()), Err(expected), "{frame}");
        }
        assert!(matches!(
            parse_response(
                json!({"jsonrpc": "2.0", "id": 1, "error": {"code": "x", "message": "m"}})
            ),
            Err(FrameError::BadErrorObject { .. })
        ));
    }
}

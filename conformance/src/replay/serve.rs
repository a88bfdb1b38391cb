//! `rep-replay FILE`: an executor that answers a host with a recorded session. A request
//! gets the answers recorded for the request of the same method and rank (the 2nd Poll gets
//! the 2nd recorded Poll's), with its own id; a Poll beyond the recorded ones gets the last
//! one's again. Everything else the executor wrote after that request — notifications,
//! garbage, stderr lines — is written too, in order; with `timing`, at the recorded delays.
//! An executor that died after a request without answering dies the same way (the recorded
//! exit code), so a recorded failure replays as it happened.
//!
//! The host's frames are read as an executor reads them, by rep-spec's rules: framed by its
//! [`FrameReader`] (a line over the frame bound is refused with -32600 as soon as it passes
//! the bound, never split), read by [`parse_request`] (anything that is not a request gets
//! the JSON-RPC 2.0 error response, a notification nothing). Stdout is written
//! asynchronously; stderr lines go through rep-process's non-blocking sink.

use std::collections::BTreeMap;
use std::time::Duration;

use rep_spec::{
    DEFAULT_MAX_FRAME_BYTES, ErrorObject, Frame, FrameReader, Id, METHOD_POLL, METHOD_START_RUN,
    Response, codes, parse_request,
};
use serde_json::Value;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::time::Instant;

use super::compare::first_difference;
use super::{Output, Session};

/// Serves `session` on `input`/`output` (this process's stdin/stdout) until `input` ends;
/// returns the exit code (the recorded one, else 0).
pub async fn serve(
    session: &Session,
    timing: bool,
    input: impl AsyncRead + Unpin,
    mut output: impl AsyncWrite + Unpin,
) -> i32 {
    let exit_code = session.exit_code.unwrap_or(0);
    let start = Instant::now();
    let mut out = Out {
        writer: &mut output,
    };
    if !out
        .write_all(&session.before, None, timing.then_some((start, 0.0)))
        .await
    {
        return exit_code;
    }
    let mut by_method: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, exchange) in session.exchanges.iter().enumerate() {
        by_method
            .entry(exchange.method.as_str())
            .or_default()
            .push(i);
    }
    let mut served: BTreeMap<String, usize> = BTreeMap::new();
    let mut frames = FrameReader::new(input, DEFAULT_MAX_FRAME_BYTES);
    // A read error ends the session as the end of stdin does.
    while let Ok(Some(frame)) = frames.next_frame().await {
        let received = Instant::now();
        let request = match frame {
            Frame::Line(bytes) if bytes.iter().all(u8::is_ascii_whitespace) => continue,
            Frame::Line(bytes) => parse_request(&bytes),
            Frame::TooLong { len } => {
                let error = ErrorObject::new(
                    codes::INVALID_REQUEST,
                    format!(
                        "Invalid Request: a frame of {len}+ bytes, over the bound of \
                         {DEFAULT_MAX_FRAME_BYTES} bytes"
                    ),
                );
                if !out.response(Response::error(Id::Null, error)).await {
                    return exit_code;
                }
                continue;
            }
        };
        let request = match request {
            Ok(request) => request,
            Err(error) => {
                if !out.response(error.response()).await {
                    return exit_code;
                }
                continue;
            }
        };
        // A notification gets no answer.
        let Some(id) = request.id else {
            continue;
        };
        let method = request.method.as_str();
        let rank = served.entry(method.to_owned()).or_default();
        let recorded = by_method.get(method).and_then(|all| match all.get(*rank) {
            Some(&index) => Some(index),
            // Beyond the recorded ones: only a Poll repeats the last.
            None if method == METHOD_POLL => all.last().copied(),
            None => None,
        });
        *rank += 1;
        let Some(index) = recorded else {
            let error = ErrorObject::new(
                codes::METHOD_NOT_FOUND,
                format!("rep-replay: the transcript has no more {method} requests to answer with"),
            );
            if !out.response(Response::error(id, error)).await {
                return exit_code;
            }
            continue;
        };
        let exchange = &session.exchanges[index];
        if method == METHOD_START_RUN {
            for difference in start_run_differences(&exchange.params, &request.params) {
                rep_process::stderr_sink().own_line(&format!(
                    "rep-replay: warning: {difference}; the answers are the recording's \
                     (`rep-replay --print-inputs {}` prints its inputs)",
                    session.path
                ));
            }
        }
        let clock = timing.then_some((received, exchange.sent_ms));
        let answered = exchange.response.map(|r| (r, &id));
        if !out.write_all(&exchange.outputs, answered, clock).await {
            return exit_code;
        }
        // The recorded executor died here without answering: so does the replay.
        if exchange.response.is_none()
            && index + 1 == session.exchanges.len()
            && let Some(code) = session.exit_code
        {
            return code;
        }
    }
    exit_code
}

/// What differs between the recorded StartRun's `params` and the live one's, one sentence
/// each, naming the field: the flow (the IR's `name`, else the first IR field that
/// differs), then the inputs (the first field that differs, or that the live run has
/// none). Empty when both ran the same flow on the same inputs (REP v0.1 §3: `{ ir,
/// inputs, options }`; options carry run and trace ids, which differ by design).
pub fn start_run_differences(recorded: &Value, live: &Value) -> Vec<String> {
    let mut differences = Vec::new();
    let (recorded_ir, live_ir) = (&recorded["ir"], &live["ir"]);
    let name = |ir: &Value| ir["name"].as_str().unwrap_or("(unnamed)").to_owned();
    if name(recorded_ir) != name(live_ir) {
        differences.push(format!(
            "the live run's flow is {:?}, the recording's {:?}",
            name(live_ir),
            name(recorded_ir)
        ));
    } else if let Some(field) = first_difference("ir", recorded_ir, live_ir, "live") {
        differences.push(format!(
            "the live run's Flow IR of {:?} differs from the recording's at {field}",
            name(live_ir)
        ));
    }
    let empty = Value::Object(serde_json::Map::new());
    let inputs = |params: &Value| match &params["inputs"] {
        Value::Null => empty.clone(),
        inputs => inputs.clone(),
    };
    let (recorded_inputs, live_inputs) = (inputs(recorded), inputs(live));
    if live_inputs == empty && recorded_inputs != empty {
        differences.push(format!(
            "the live run has no inputs, the recording's are {recorded_inputs}"
        ));
    } else if let Some(field) = first_difference("inputs", &recorded_inputs, &live_inputs, "live") {
        differences.push(format!("the live run's inputs differ at {field}"));
    }
    differences
}

/// The replay's stdout.
struct Out<'a, W> {
    writer: &'a mut W,
}

impl<W: AsyncWrite + Unpin> Out<'_, W> {
    /// Writes one line and flushes it; false when stdout is closed.
    async fn line(&mut self, text: &str) -> bool {
        let mut bytes = Vec::with_capacity(text.len() + 1);
        bytes.extend_from_slice(text.as_bytes());
        bytes.push(b'\n');
        self.writer.write_all(&bytes).await.is_ok() && self.writer.flush().await.is_ok()
    }

    /// Writes a response of the replay's own.
    async fn response(&mut self, response: Response) -> bool {
        // Serializing a response cannot fail: every key is a string.
        let text = serde_json::to_string(&response).unwrap_or_default();
        self.line(&text).await
    }

    /// Writes `outputs` (the response, at index `answered.0`, with the id `answered.1`);
    /// with a clock `(instant, ms)`, each output waits until its recorded time relative to
    /// `ms` has passed since `instant`. Returns false when stdout is closed.
    async fn write_all(
        &mut self,
        outputs: &[Output],
        answered: Option<(usize, &Id)>,
        clock: Option<(Instant, f64)>,
    ) -> bool {
        for (i, output) in outputs.iter().enumerate() {
            let ms = match output {
                Output::Frame { ms, .. } | Output::Stderr { ms, .. } => *ms,
            };
            if let Some((since, base)) = clock {
                let delay = Duration::from_secs_f64((ms - base).max(0.0) / 1000.0);
                tokio::time::sleep_until(since + delay).await;
            }
            match output {
                Output::Stderr { line, .. } => {
                    rep_process::stderr_sink().foreign_line(line.as_bytes());
                }
                Output::Frame { text, .. } => {
                    let text = match answered {
                        Some((index, id)) if index == i => with_id(text, id),
                        _ => text.clone(),
                    };
                    if !self.line(&text).await {
                        return false;
                    }
                }
            }
        }
        true
    }
}

/// The response `text` with its `id` replaced by `id` (key order kept).
fn with_id(text: &str, id: &Id) -> String {
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(mut response)) => {
            response.insert("id".into(), serde_json::to_value(id).unwrap_or(Value::Null));
            Value::Object(response).to_string()
        }
        _ => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use rep_spec::parse_transcript;
    use tokio::io::AsyncReadExt;

    use super::*;

    #[test]
    fn the_id_is_replaced_and_nothing_else_changes() {
        let text = r#"{"jsonrpc":"2.0","id":7,"result":{"b":1,"a":[2.5]}}"#;
        assert_eq!(
            with_id(text, &Id::from(3)),
            r#"{"jsonrpc":"2.0","id":3,"result":{"b":1,"a":[2.5]}}"#
        );
    }

    fn session() -> Session {
        let text = concat!(
            r#"{"type":"header","format":"rep-transcript/1","tool":"tm","version":"0","rep_version":"0.1","executor":["x"],"started_at":"2026-01-01T00:00:00Z"}"#,
            "\n",
            r#"{"type":"frame","dir":"host→executor","ms":1,"frame":{"jsonrpc":"2.0","id":1,"method":"Runtime.Capabilities","params":{}}}"#,
            "\n",
            r#"{"type":"frame","dir":"executor→host","ms":2,"frame":{"jsonrpc":"2.0","id":1,"result":{"version":"0.1.0"}}}"#,
            "\n",
        );
        Session::from_transcript(parse_transcript(text).unwrap(), "t.jsonl").unwrap()
    }

    /// Replays `input` and returns what was written and the exit code.
    async fn replay(input: Vec<u8>) -> (String, i32) {
        let (mut host, executor) = tokio::io::duplex(1 << 16);
        let (read, write) = tokio::io::split(executor);
        let serving = tokio::spawn(async move { serve(&session(), false, read, write).await });
        host.write_all(&input).await.unwrap();
        host.shutdown().await.unwrap();
        let mut written = String::new();
        host.read_to_string(&mut written).await.unwrap();
        (written, serving.await.unwrap())
    }

    #[tokio::test]
    async fn requests_are_read_by_the_json_rpc_rules() {
        let input = concat!(
            "{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"Runtime.Capabilities\",\"params\":{}}\n",
            "{\"jsonrpc\":\"2.0\",\"method\":\"Runtime.Capabilities\"}\n",
            "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}\n",
            "not json\n",
            "{\"jsonrpc\":\"2.0\",\"id\":10,\"method\":\"Runtime.Capabilities\"}\n",
        );
        let (written, code) = replay(input.as_bytes().to_vec()).await;
        let lines: Vec<Value> = written
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(code, 0);
        assert_eq!(lines[0]["id"], 9, "the recorded answer, with the live id");
        assert_eq!(lines[0]["result"]["version"], "0.1.0");
        // The notification gets nothing; the response and the garbage are refused.
        assert_eq!(lines[1]["error"]["code"], codes::INVALID_REQUEST);
        assert_eq!(lines[2]["error"]["code"], codes::PARSE_ERROR);
        assert_eq!(lines[3]["id"], 10);
        assert_eq!(lines[3]["error"]["code"], codes::METHOD_NOT_FOUND);
        assert_eq!(lines.len(), 4, "{written}");
    }

    /// Regression (issue 20): an over-long line was read in two pieces, the second one
    /// answered as if it were a request.
    #[tokio::test]
    async fn an_over_long_line_is_refused_whole_never_split() {
        let mut input =
            br#"{"jsonrpc":"2.0","id":1,"method":"Runtime.Capabilities","params":{"pad":""#
                .to_vec();
        input.extend(std::iter::repeat_n(b'x', DEFAULT_MAX_FRAME_BYTES));
        input.extend_from_slice(b"\"}}\n");
        input.extend_from_slice(
            b"{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"Runtime.Capabilities\"}\n",
        );
        let (written, _) = replay(input).await;
        let lines: Vec<Value> = written
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 2, "{written}");
        assert_eq!(lines[0]["id"], Value::Null);
        assert_eq!(lines[0]["error"]["code"], codes::INVALID_REQUEST);
        assert_eq!(lines[1]["id"], 2);
        assert_eq!(lines[1]["result"]["version"], "0.1.0");
    }

    #[test]
    fn start_run_differences_name_the_flow_and_the_first_differing_input() {
        use serde_json::json;
        let recorded = json!({"ir": {"name": "a", "nodes": [1]}, "inputs": {"x": 1, "y": [2]}});
        assert!(start_run_differences(&recorded, &recorded.clone()).is_empty());
        let renamed = json!({"ir": {"name": "b"}, "inputs": {"x": 1, "y": [2]}});
        assert_eq!(
            start_run_differences(&recorded, &renamed),
            [r#"the live run's flow is "b", the recording's "a""#]
        );
        let edited = json!({"ir": {"name": "a", "nodes": [3]}, "inputs": {"x": 1, "y": [5]}});
        assert_eq!(
            start_run_differences(&recorded, &edited),
            [
                r#"the live run's Flow IR of "a" differs from the recording's at ir.nodes[0]: recorded 1, live 3"#,
                "the live run's inputs differ at inputs.y[0]: recorded 2, live 5"
            ]
        );
        let bare = json!({"ir": {"name": "a", "nodes": [1]}});
        assert_eq!(
            start_run_differences(&recorded, &bare),
            [r#"the live run has no inputs, the recording's are {"x":1,"y":[2]}"#]
        );
    }
}

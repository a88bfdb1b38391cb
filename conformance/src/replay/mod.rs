//! Replaying transcripts (docs/transcripts.md): [`Session`] reads a transcript as the
//! requests a host sent and what the executor wrote after each; [`serve`] answers a live host
//! with them (`rep-replay`, an executor), [`compare`] re-sends them to a live executor and
//! compares the answers semantically (`rep-conformance replay`).

pub mod compare;
pub mod serve;

use std::path::Path;

use rep_files::{ReadError, caps};
use rep_spec::{
    Direction, ErrorObject, Id, Record, Response, Transcript, parse_request, parse_response,
    read_transcript,
};
use serde_json::Value;

/// Why a transcript cannot be replayed (exit code 2).
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    /// The file cannot be read: missing, not a regular file, over
    /// [`caps::TRANSCRIPT`].
    #[error("cannot read the transcript {path}")]
    Read {
        /// The file.
        path: String,
        /// What was wrong with it.
        source: ReadError,
    },
    /// The file is not a transcript.
    #[error("{path} is not a replayable transcript")]
    Parse {
        /// The file.
        path: String,
        /// What is wrong, with the line.
        source: rep_spec::TranscriptError,
    },
    /// A host frame that is not a JSON-RPC request with an id, which cannot be replayed.
    #[error(
        "{path}: frame {n} from the host is not a JSON-RPC request with an id ({reason}); \
         only sessions of well-formed requests can be replayed"
    )]
    NotARequest {
        /// The file.
        path: String,
        /// 1-based index of the frame among the host's frames.
        n: usize,
        /// Why not, by JSON-RPC 2.0's rules (rep-spec's `parse_request`).
        reason: String,
    },
    /// `rep-replay --print-inputs`: the session has no `Runtime.StartRun` request.
    #[error("{path}: the recorded session started no run (no Runtime.StartRun request)")]
    NoRun {
        /// The file.
        path: String,
    },
}

/// Something the executor wrote.
#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    /// A line on stdout: its text (a JSON frame as recorded, or the raw text).
    Frame {
        /// Milliseconds since the session started.
        ms: f64,
        /// The line, without its `\n`.
        text: String,
    },
    /// A line on stderr.
    Stderr {
        /// Milliseconds since the session started.
        ms: f64,
        /// The line.
        line: String,
    },
}

/// One request of the host and what the executor wrote until the next one.
#[derive(Debug, Clone, PartialEq)]
pub struct Exchange {
    /// `method`.
    pub method: String,
    /// The request's `id`.
    pub id: Id,
    /// `params` (`{}` when absent).
    pub params: Value,
    /// When it was sent, in ms since the session started.
    pub sent_ms: f64,
    /// Everything the executor wrote after it, until the next request.
    pub outputs: Vec<Output>,
    /// The index in `outputs` of the response to this request (same id), if one came.
    pub response: Option<usize>,
}

impl Exchange {
    /// The response, read by JSON-RPC 2.0's rules (rep-spec's `parse_response`):
    /// `Ok(result)` or `Err(error object)`; `None` when no response came.
    pub fn payload(&self) -> Option<Result<Value, ErrorObject>> {
        let Output::Frame { text, .. } = &self.outputs[self.response?] else {
            return None;
        };
        response(text).map(|response| response.payload)
    }
}

/// The line `text` as a JSON-RPC 2.0 response, if it is one.
fn response(text: &str) -> Option<Response> {
    serde_json::from_str(text)
        .ok()
        .and_then(|value| parse_response(value).ok())
}

/// A transcript as a replay sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Session {
    /// The transcript's path as given, for messages.
    pub path: String,
    /// The transcript read.
    pub transcript: Transcript,
    /// What the executor wrote before the first request.
    pub before: Vec<Output>,
    /// The host's requests in order.
    pub exchanges: Vec<Exchange>,
    /// The executor's exit code, when recorded (128 + N for a signal N).
    pub exit_code: Option<i32>,
}

impl Session {
    /// Reads the transcript at `path`: a regular file of at most [`caps::TRANSCRIPT`], read
    /// as a stream of lines of at most [`caps::TRANSCRIPT_LINE`] each (rep-spec's
    /// [`read_transcript`]), so that memory stays bounded by what is kept.
    ///
    /// # Errors
    /// [`ReplayError`] naming the file and, where it applies, the line or frame.
    pub fn load(path: &Path) -> Result<Session, ReplayError> {
        let shown = path.display().to_string();
        let read_error = |source| ReplayError::Read {
            path: shown.clone(),
            source,
        };
        let (file, size) = rep_files::open_regular(path).map_err(read_error)?;
        if size > caps::TRANSCRIPT.bytes {
            return Err(read_error(ReadError::TooLarge {
                cap: caps::TRANSCRIPT,
                size: Some(size),
            }));
        }
        let line_cap = usize::try_from(caps::TRANSCRIPT_LINE.bytes).unwrap_or(usize::MAX);
        let reader = std::io::Read::take(file, caps::TRANSCRIPT.bytes);
        let transcript =
            read_transcript(reader, line_cap).map_err(|source| ReplayError::Parse {
                path: shown.clone(),
                source,
            })?;
        Session::from_transcript(transcript, &shown)
    }

    /// The session of `transcript` (`path` names it in errors).
    ///
    /// # Errors
    /// [`ReplayError::NotARequest`] for a host frame that is not a request.
    pub fn from_transcript(transcript: Transcript, path: &str) -> Result<Session, ReplayError> {
        let mut before = Vec::new();
        let mut exchanges: Vec<Exchange> = Vec::new();
        let mut exit_code = None;
        let mut host_frames = 0;
        for record in &transcript.records {
            let output = match record {
                Record::Header(_) => continue,
                Record::Exit { code, signal, .. } => {
                    exit_code = code.or(signal.map(|s| 128 + s));
                    continue;
                }
                Record::Stderr { ms, line } => Output::Stderr {
                    ms: *ms,
                    line: line.clone(),
                },
                Record::Frame(frame) if frame.dir == Direction::HostToExecutor => {
                    host_frames += 1;
                    let not_a_request = |reason: String| ReplayError::NotARequest {
                        path: path.to_owned(),
                        n: host_frames,
                        reason,
                    };
                    let Some(json) = &frame.frame else {
                        return Err(not_a_request(frame.note.clone().unwrap_or_default()));
                    };
                    let request = parse_request(json.get().as_bytes())
                        .map_err(|e| not_a_request(e.to_string()))?;
                    let Some(id) = request.id else {
                        return Err(not_a_request("a notification".into()));
                    };
                    exchanges.push(Exchange {
                        method: request.method,
                        id,
                        params: request.params,
                        sent_ms: frame.ms,
                        outputs: Vec::new(),
                        response: None,
                    });
                    continue;
                }
                Record::Frame(frame) => Output::Frame {
                    ms: frame.ms,
                    text: match &frame.frame {
                        Some(json) => json.get().to_owned(),
                        None => frame.raw.clone().unwrap_or_default(),
                    },
                },
            };
            match exchanges.last_mut() {
                None => before.push(output),
                Some(exchange) => {
                    if let Output::Frame { text, .. } = &output
                        && exchange.response.is_none()
                        && answers(text, &exchange.id)
                    {
                        exchange.response = Some(exchange.outputs.len());
                    }
                    exchange.outputs.push(output);
                }
            }
        }
        Ok(Session {
            path: path.to_owned(),
            transcript,
            before,
            exchanges,
            exit_code,
        })
    }
}

impl Session {
    /// The `inputs` of the first recorded `Runtime.StartRun` (REP v0.1 §3), `{}` when it had
    /// none; `None` when the session started no run.
    pub fn start_run_inputs(&self) -> Option<Value> {
        let exchange = self
            .exchanges
            .iter()
            .find(|e| e.method == rep_spec::METHOD_START_RUN)?;
        Some(match &exchange.params["inputs"] {
            Value::Null => Value::Object(serde_json::Map::new()),
            inputs => inputs.clone(),
        })
    }
}

/// Whether the line `text` is a response carrying `id`.
fn answers(text: &str, id: &Id) -> bool {
    response(text).is_some_and(|response| response.id == *id)
}

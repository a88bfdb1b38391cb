//! REP v0.1 wire types — the Runtime Execution Protocol spoken between a TraceMind host and an
//! out-of-process executor over JSON-RPC 2.0 on stdio.
//!
//! Pure data: method names (§3), params and results (§3), run status, events (§4), the error
//! object and the code → class → exit-code mapping (§5), and the `TRACE_MIND_*` environment
//! names (§6), bounded newline framing (§1), the hosts' poll cadence (§3), the transcript
//! format of recorded sessions, and the spelling of a remote executor's [`Endpoint`]. No
//! async runtime, no process or file I/O.
//!
//! Feature `tokio` adds `FrameReader`, the bounded frame reader over any tokio
//! `AsyncRead` (tokio's I/O traits only, no runtime).

#![deny(missing_docs)]

mod cadence;
mod endpoint;
mod env;
mod error;
mod event;
mod exit;
mod framing;
mod jsonrpc;
mod methods;
#[cfg(feature = "tokio")]
mod reader;
mod transcript;
mod types;

pub use cadence::{PollBackoff, PollCadence};
pub use endpoint::{Endpoint, EndpointError};
pub use env::*;
pub use error::{ErrorClass, ErrorData, ErrorObject, codes};
pub use event::{Event, StepState, event_type};
pub use exit::ExitCode;
pub use framing::{DEFAULT_MAX_FRAME_BYTES, Frame, LineFramer};
pub use jsonrpc::{
    FrameError, Id, IncomingRequest, JSONRPC_VERSION, RawErrorObject, RawResponse, Request,
    RequestError, Response, parse_request, parse_response, parse_response_text,
};
pub use methods::*;
#[cfg(feature = "tokio")]
pub use reader::FrameReader;
pub use transcript::{
    Direction, FrameRecord, Header, REP_VERSION, Record, TRANSCRIPT_FORMAT, Transcript,
    TranscriptError, parse_transcript, read_transcript,
};
pub use types::{
    CancelResult, Capabilities, HealthResult, Limits, PollResult, RunIdParams, RunOptions,
    RunStatus, StartRunParams, StartRunParamsRef, StartRunResult,
};

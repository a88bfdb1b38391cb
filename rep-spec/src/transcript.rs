//! The transcript of one REP session: every frame both ways, the executor's stderr lines and
//! its exit status, as JSON Lines (docs/transcripts.md; schema docs/transcript.schema.json).
//!
//! One [`Record`] per line; the first is a [`Header`]. Frames are kept whole: a frame that is
//! valid JSON is embedded as it was sent (`frame`, byte for byte), anything else as its text
//! (`raw`, lossily decoded when it was not UTF-8) with a `note` saying why. Times are
//! milliseconds since the session started (fractions allowed).
//!
//! [`Record::frame`] builds a record from the bytes of a frame, [`Record::to_line`]
//! serializes one, [`parse_transcript`] reads a transcript's text back and
//! [`read_transcript`] reads one as a stream of lines, each bounded (rep-spec's
//! [`LineFramer`]), with errors naming the line. Opening and writing files is the binaries'
//! business (rep-host's `Recorder`, rep-files).

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::framing::{Frame, LineFramer};

/// The value of [`Header::format`]: this version of the transcript format.
pub const TRANSCRIPT_FORMAT: &str = "rep-transcript/1";

/// The REP version the transcripts of this crate record.
pub const REP_VERSION: &str = "0.1";

/// Which way a frame went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Direction {
    /// A frame the host wrote to the executor's stdin (a request).
    #[serde(rename = "host→executor")]
    HostToExecutor,
    /// A frame the executor wrote to its stdout (a response, a notification, or garbage).
    #[serde(rename = "executor→host")]
    ExecutorToHost,
}

/// The first record of a transcript: who recorded what.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Header {
    /// [`TRANSCRIPT_FORMAT`].
    pub format: String,
    /// The recording program (`tm`, `rep-conformance`).
    pub tool: String,
    /// Its version.
    pub version: String,
    /// The REP version spoken ([`REP_VERSION`]).
    pub rep_version: String,
    /// The executor command: the program, then its arguments.
    pub executor: Vec<String>,
    /// The flow run (`tm`), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flow: Option<String>,
    /// The conformance test id (`rep-conformance run --record`), when recorded by one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test: Option<String>,
    /// When the session started, RFC 3339 UTC.
    pub started_at: String,
}

/// One frame (one line, without its `\n`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FrameRecord {
    /// Which way it went.
    pub dir: Direction,
    /// Milliseconds since the session started.
    pub ms: f64,
    /// The frame, when it was valid JSON: exactly the bytes sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frame: Option<Box<RawValue>>,
    /// The frame's text, when it was not valid JSON (lossy UTF-8 when it was not UTF-8).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw: Option<String>,
    /// Why `raw` is used (not JSON, not UTF-8, over the frame bound).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl PartialEq for FrameRecord {
    fn eq(&self, other: &Self) -> bool {
        self.dir == other.dir
            && self.ms == other.ms
            && self.frame.as_ref().map(|f| f.get()) == other.frame.as_ref().map(|f| f.get())
            && self.raw == other.raw
            && self.note == other.note
    }
}

/// One record (one line) of a transcript, tagged by `type`. Deserializing one keeps a
/// frame's JSON byte for byte (see [`Record::from_line`]).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Record {
    /// The first record.
    Header(Header),
    /// A frame.
    Frame(FrameRecord),
    /// One line the executor wrote to stderr.
    Stderr {
        /// Milliseconds since the session started.
        ms: f64,
        /// The line, without its `\n` (lossy UTF-8).
        line: String,
    },
    /// The executor's exit, once it was reaped.
    Exit {
        /// Milliseconds since the session started.
        ms: f64,
        /// Its exit code, when it exited normally.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        code: Option<i32>,
        /// The signal that ended it, when one did.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        signal: Option<i32>,
    },
}

/// The records other than frames, as serde reads internally tagged enums (which buffer their
/// content, so they cannot hold a [`RawValue`]: frames are read on their own).
#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum NotAFrame {
    Header(Header),
    Stderr {
        ms: f64,
        line: String,
    },
    Exit {
        ms: f64,
        #[serde(default)]
        code: Option<i32>,
        #[serde(default)]
        signal: Option<i32>,
    },
}

impl<'de> Deserialize<'de> for Record {
    /// Through [`Record::from_line`]: the record is taken as raw JSON first.
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Record, D::Error> {
        let raw = Box::<RawValue>::deserialize(deserializer)?;
        Record::from_line(raw.get()).map_err(serde::de::Error::custom)
    }
}

impl Record {
    /// The record of a frame's bytes: `frame` when they are one valid JSON value, else `raw`
    /// with a note.
    pub fn frame(dir: Direction, ms: f64, bytes: &[u8]) -> Record {
        let text = std::str::from_utf8(bytes);
        let (frame, raw, note) = match text {
            Ok(text) => match serde_json::from_str::<Box<RawValue>>(text) {
                Ok(value) => (Some(value), None, None),
                Err(e) => (None, Some(text.to_owned()), Some(format!("not JSON: {e}"))),
            },
            Err(_) => (
                None,
                Some(String::from_utf8_lossy(bytes).into_owned()),
                Some("not UTF-8 (shown lossily)".to_owned()),
            ),
        };
        Record::Frame(FrameRecord {
            dir,
            ms,
            frame,
            raw,
            note,
        })
    }

    /// The record of a frame longer than the reader's bound, of which nothing was kept.
    pub fn frame_too_long(dir: Direction, ms: f64, len: usize, bound: usize) -> Record {
        Record::Frame(FrameRecord {
            dir,
            ms,
            frame: None,
            raw: Some(String::new()),
            note: Some(format!(
                "a frame of more than {len} bytes, over the {bound} byte bound: not kept"
            )),
        })
    }

    /// Reads one line of a transcript.
    ///
    /// # Errors
    /// serde_json's error when the line is not a record.
    pub fn from_line(line: &str) -> Result<Record, serde_json::Error> {
        #[derive(Deserialize)]
        struct Kind {
            #[serde(rename = "type")]
            kind: String,
        }
        if serde_json::from_str::<Kind>(line)?.kind == "frame" {
            return serde_json::from_str::<FrameRecord>(line).map(Record::Frame);
        }
        Ok(match serde_json::from_str::<NotAFrame>(line)? {
            NotAFrame::Header(header) => Record::Header(header),
            NotAFrame::Stderr { ms, line } => Record::Stderr { ms, line },
            NotAFrame::Exit { ms, code, signal } => Record::Exit { ms, code, signal },
        })
    }

    /// The record as one line of JSON, with its `\n`.
    pub fn to_line(&self) -> Vec<u8> {
        // Serializing these types cannot fail: every map key is a string.
        let mut line = serde_json::to_vec(self).unwrap_or_default();
        line.push(b'\n');
        line
    }
}

/// Why a transcript cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum TranscriptError {
    /// A line is not a record.
    #[error("line {line}: not a transcript record: {message}")]
    BadRecord {
        /// 1-based line number.
        line: usize,
        /// What is wrong with it.
        message: String,
    },
    /// The first record is not a header, or names another format.
    #[error("line 1: {0}")]
    BadHeader(String),
    /// A line is longer than the reader's bound.
    #[error("line {line} is longer than the {max}-byte cap on a transcript line")]
    LineTooLong {
        /// 1-based line number.
        line: usize,
        /// The bound, in bytes.
        max: usize,
    },
    /// The stream could not be read.
    #[error("{0}")]
    Read(std::io::Error),
}

/// A transcript read back: its header and the records after it.
#[derive(Debug, Clone, PartialEq)]
pub struct Transcript {
    /// The first record.
    pub header: Header,
    /// Every other record, in order.
    pub records: Vec<Record>,
}

/// Reads a whole transcript's text (JSON Lines; blank lines are skipped).
///
/// # Errors
/// [`TranscriptError::BadHeader`] when the first record is not a header of
/// [`TRANSCRIPT_FORMAT`]; [`TranscriptError::BadRecord`] naming the first line that is not a
/// record.
pub fn parse_transcript(text: &str) -> Result<Transcript, TranscriptError> {
    let mut collected = Collector::default();
    for (n, line) in text.lines().enumerate() {
        collected.line(n + 1, line)?;
    }
    collected.finish()
}

/// Reads a transcript from `reader` as a stream of lines of at most `max_line` bytes each:
/// memory is bounded by the records kept plus one line, whatever the stream holds (a line
/// without end is refused when it passes the bound).
///
/// # Errors
/// As [`parse_transcript`]; [`TranscriptError::LineTooLong`];
/// [`TranscriptError::Read`].
pub fn read_transcript(
    mut reader: impl std::io::Read,
    max_line: usize,
) -> Result<Transcript, TranscriptError> {
    let mut framer = LineFramer::new(max_line);
    let mut collected = Collector::default();
    let mut frames = Vec::new();
    let mut chunk = vec![0u8; 64 * 1024];
    let mut n = 0;
    let mut take = |frames: &mut Vec<Frame>, collected: &mut Collector| {
        for frame in frames.drain(..) {
            n += 1;
            match frame {
                Frame::Line(bytes) => {
                    let line =
                        std::str::from_utf8(&bytes).map_err(|_| TranscriptError::BadRecord {
                            line: n,
                            message: "not UTF-8".into(),
                        })?;
                    collected.line(n, line)?;
                }
                Frame::TooLong { .. } => {
                    return Err(TranscriptError::LineTooLong {
                        line: n,
                        max: max_line,
                    });
                }
            }
        }
        Ok(())
    };
    loop {
        let read = match reader.read(&mut chunk) {
            Ok(0) => break,
            Ok(read) => read,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(TranscriptError::Read(e)),
        };
        framer.feed(&chunk[..read], &mut frames);
        take(&mut frames, &mut collected)?;
    }
    frames.extend(framer.finish());
    take(&mut frames, &mut collected)?;
    collected.finish()
}

/// The header and records of a transcript, line by line.
#[derive(Default)]
struct Collector {
    header: Option<Header>,
    records: Vec<Record>,
}

impl Collector {
    /// Takes line `n` (1-based).
    fn line(&mut self, n: usize, line: &str) -> Result<(), TranscriptError> {
        if line.trim().is_empty() {
            return Ok(());
        }
        let record = Record::from_line(line).map_err(|e| TranscriptError::BadRecord {
            line: n,
            message: e.to_string(),
        })?;
        match (record, self.header.is_some()) {
            (Record::Header(h), false) => {
                if h.format != TRANSCRIPT_FORMAT {
                    return Err(TranscriptError::BadHeader(format!(
                        "format {:?}, expected {TRANSCRIPT_FORMAT:?}",
                        h.format
                    )));
                }
                self.header = Some(h);
            }
            (Record::Header(_), true) => {
                return Err(TranscriptError::BadRecord {
                    line: n,
                    message: "a second header".into(),
                });
            }
            (_, false) => {
                return Err(TranscriptError::BadHeader(
                    "the first record is not a header".into(),
                ));
            }
            (record, true) => self.records.push(record),
        }
        Ok(())
    }

    fn finish(self) -> Result<Transcript, TranscriptError> {
        let header = self
            .header
            .ok_or_else(|| TranscriptError::BadHeader("empty transcript: no header".into()))?;
        Ok(Transcript {
            header,
            records: self.records,
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn header() -> Header {
        Header {
            format: TRANSCRIPT_FORMAT.into(),
            tool: "tm".into(),
            version: "0.1.0".into(),
            rep_version: REP_VERSION.into(),
            executor: vec!["mock-executor".into()],
            flow: Some("plant-monitor".into()),
            test: None,
            started_at: "2026-11-22T00:00:00Z".into(),
        }
    }

    #[test]
    fn records_round_trip_and_json_frames_are_kept_byte_for_byte() {
        let frame = br#"{"jsonrpc":"2.0", "id":1,"result":{"a":[1, 2.50]}}"#;
        let records = [
            Record::Header(header()),
            Record::frame(Direction::ExecutorToHost, 1.5, frame),
            Record::frame(Direction::HostToExecutor, 2.0, b"not json {"),
            Record::frame(Direction::ExecutorToHost, 3.0, b"\xff\xfe"),
            Record::Stderr {
                ms: 4.0,
                line: "hello".into(),
            },
            Record::Exit {
                ms: 5.0,
                code: Some(0),
                signal: None,
            },
        ];
        let text: Vec<u8> = records.iter().flat_map(Record::to_line).collect();
        let text = String::from_utf8(text).unwrap();
        assert!(text.contains(r#""frame":{"jsonrpc":"2.0", "id":1,"result":{"a":[1, 2.50]}}"#));
        assert!(text.contains(r#""dir":"executor→host""#));
        let read = parse_transcript(&text).unwrap();
        assert_eq!(read.header, header());
        assert_eq!(read.records, records[1..]);
        // serde's way reads the same (the frame's JSON kept as sent).
        let first_frame = text.lines().nth(1).unwrap();
        let record: Record = serde_json::from_str(first_frame).unwrap();
        assert_eq!(record, records[1]);
        let Record::Frame(garbage) = &read.records[1] else {
            panic!("a frame")
        };
        assert_eq!(garbage.raw.as_deref(), Some("not json {"));
        assert!(garbage.note.as_deref().unwrap().starts_with("not JSON"));
    }

    #[test]
    fn a_stream_reads_as_the_text_does_and_a_line_past_the_bound_is_refused() {
        let head = String::from_utf8(Record::Header(header()).to_line()).unwrap();
        let stderr = String::from_utf8(
            Record::Stderr {
                ms: 1.0,
                line: "x".into(),
            }
            .to_line(),
        )
        .unwrap();
        let text = format!("{head}\r\n{stderr}");
        assert_eq!(
            read_transcript(text.as_bytes(), 1 << 20).unwrap(),
            parse_transcript(&text).unwrap()
        );
        let endless = format!("{head}{}", "x".repeat(10_000));
        assert!(matches!(
            read_transcript(endless.as_bytes(), 1000),
            Err(TranscriptError::LineTooLong { line: 2, max: 1000 })
        ));
    }

    #[test]
    fn bad_transcripts_name_the_line() {
        let head = String::from_utf8(Record::Header(header()).to_line()).unwrap();
        let err = parse_transcript(&format!("{head}\n{{\"type\":\"nope\"}}\n")).unwrap_err();
        assert!(
            matches!(err, TranscriptError::BadRecord { line: 3, .. }),
            "{err}"
        );
        let err = parse_transcript("{\"type\":\"stderr\",\"ms\":1,\"line\":\"x\"}").unwrap_err();
        assert!(matches!(err, TranscriptError::BadHeader(_)), "{err}");
        assert!(parse_transcript("").is_err());
        let other = head.replace(TRANSCRIPT_FORMAT, "rep-transcript/9");
        assert!(matches!(
            parse_transcript(&other),
            Err(TranscriptError::BadHeader(_))
        ));
    }
}

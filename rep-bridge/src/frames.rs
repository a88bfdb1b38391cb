//! Framing for both directions (REP v0.1 §1): rep-spec's [`LineFramer`], reporting an
//! over-long line as soon as the bound is passed, and what a line from the remote is.
//!
//! The early report is ours only until rep-spec's framer reports the bound itself; then
//! [`Framer`] shrinks to a pass-through.

use rep_spec::{Frame, LineFramer};
use serde_json::value::RawValue;

/// A line that passed the frame bound: its length so far in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooLong(pub usize);

/// Splits a byte stream into lines of at most `max` bytes.
#[derive(Debug)]
pub struct Framer {
    lines: LineFramer,
    /// Scratch space for the frames of one chunk.
    frames: Vec<Frame>,
    /// Bytes of the line in progress (since the last `\n`).
    open_line: usize,
}

impl Framer {
    /// A framer for lines of at most `max` bytes (the `\n` not counted).
    pub fn new(max: usize) -> Framer {
        Framer {
            lines: LineFramer::new(max),
            frames: Vec::new(),
            open_line: 0,
        }
    }

    /// Feeds `chunk`, appending the lines it completes to `out` (without their `\n`).
    ///
    /// # Errors
    /// [`TooLong`] as soon as a line passes the bound, newline or not.
    pub fn feed(&mut self, chunk: &[u8], out: &mut Vec<Vec<u8>>) -> Result<(), TooLong> {
        self.lines.feed(chunk, &mut self.frames);
        for frame in self.frames.drain(..) {
            match frame {
                Frame::Line(line) => out.push(line),
                Frame::TooLong { len } => return Err(TooLong(len)),
            }
        }
        self.open_line = match chunk.iter().rposition(|&b| b == b'\n') {
            Some(i) => chunk.len() - i - 1,
            None => self.open_line + chunk.len(),
        };
        if self.open_line > self.lines.max_bytes() {
            return Err(TooLong(self.open_line));
        }
        Ok(())
    }

    /// Ends the stream or drops the line in progress: that partial line, if any.
    pub fn take_partial(&mut self) -> Option<Vec<u8>> {
        self.open_line = 0;
        match self.lines.finish() {
            Some(Frame::Line(line)) => Some(line),
            Some(Frame::TooLong { .. }) | None => None,
        }
    }
}

/// How far into a line a frame may start after noise glued to it (see [`classify`]); it bounds
/// the attempts to parse one line.
pub const MAX_NOISE_PREFIX: usize = 64;

/// What a line from the remote is.
#[derive(Debug, PartialEq, Eq)]
pub enum RemoteLine {
    /// A JSON object from byte `start` on: a frame for the host. A non-blank `line[..start]`
    /// is noise that arrived without a newline before the frame (a prompt, a byte of UART
    /// garbage at reset), logged apart.
    Frame {
        /// Where the object starts.
        start: usize,
    },
    /// Empty or whitespace only (a keep-alive, the `\r\n` of a serial console): dropped.
    Blank,
    /// Anything else — a boot banner, printf debugging on a shared UART: a log line for
    /// stderr, never a frame.
    Log,
}

/// Classifies one line from the remote (without its `\n`). Only a complete, valid JSON
/// object is a frame (the check builds no value); it may follow up to
/// [`MAX_NOISE_PREFIX`] bytes of noise.
pub fn classify(line: &[u8]) -> RemoteLine {
    let Some(first) = line.iter().position(|b| !b.is_ascii_whitespace()) else {
        return RemoteLine::Blank;
    };
    let limit = line.len().min(first + MAX_NOISE_PREFIX + 1);
    line[..limit]
        .iter()
        .enumerate()
        .skip(first)
        .filter(|&(_, &b)| b == b'{')
        .find(|&(start, _)| serde_json::from_slice::<&RawValue>(&line[start..]).is_ok())
        .map_or(RemoteLine::Log, |(start, _)| RemoteLine::Frame { start })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed_all(max: usize, chunks: &[&[u8]]) -> (Vec<Vec<u8>>, Result<(), TooLong>) {
        let mut framer = Framer::new(max);
        let mut lines = Vec::new();
        for chunk in chunks {
            if let Err(e) = framer.feed(chunk, &mut lines) {
                return (lines, Err(e));
            }
        }
        (lines, Ok(()))
    }

    #[test]
    fn whole_lines_come_out_whatever_the_chunks() {
        let (lines, end) = feed_all(10, &[b"{\"a\"", b":1}\r\n{}", b"\n"]);
        assert_eq!(lines, vec![b"{\"a\":1}".to_vec(), b"{}".to_vec()]);
        assert_eq!(end, Ok(()));
    }

    #[test]
    fn an_over_long_line_is_reported_before_its_newline() {
        assert_eq!(feed_all(4, &[b"ok\n12", b"345"]).1, Err(TooLong(5)));
        assert_eq!(feed_all(4, &[b"123456"]).1, Err(TooLong(6)));
        // The bound itself is fine.
        assert_eq!(feed_all(4, &[b"1234", b"\n"]).1, Ok(()));
    }

    #[test]
    fn an_over_long_line_with_its_newline_in_one_chunk_is_reported() {
        assert_eq!(feed_all(4, &[b"123456\nok\n"]).1, Err(TooLong(6)));
    }

    #[test]
    fn the_partial_line_can_be_dropped() {
        let mut framer = Framer::new(100);
        let mut lines = Vec::new();
        framer.feed(b"U-Boot> ", &mut lines).unwrap_or_default();
        assert_eq!(framer.take_partial(), Some(b"U-Boot> ".to_vec()));
        framer.feed(b"{}\n", &mut lines).unwrap_or_default();
        assert_eq!(lines, vec![b"{}".to_vec()]);
    }

    #[test]
    fn a_frame_glued_to_noise_is_found() {
        assert_eq!(classify(b"rep> {\"id\":1}"), RemoteLine::Frame { start: 5 });
        assert_eq!(
            classify(b"\xff\x00{\"id\":1}"),
            RemoteLine::Frame { start: 2 }
        );
        assert_eq!(
            classify(b"a {b} {\"id\":1}"),
            RemoteLine::Frame { start: 6 }
        );
        let mut far = vec![b'.'; MAX_NOISE_PREFIX + 1];
        far.extend_from_slice(b"{}");
        assert_eq!(classify(&far), RemoteLine::Log);
    }

    #[test]
    fn only_json_objects_are_frames() {
        assert_eq!(
            classify(br#"{"jsonrpc":"2.0","id":1,"result":{}}"#),
            RemoteLine::Frame { start: 0 }
        );
        assert_eq!(
            classify(br#"  {"a": [1, "}"]} "#),
            RemoteLine::Frame { start: 2 }
        );
        assert_eq!(classify(b""), RemoteLine::Blank);
        assert_eq!(classify(b" \t"), RemoteLine::Blank);
        for log in [
            &b"U-Boot 2024.01 (Jan 01 2024)"[..],
            b"{x=1}",
            b"state {x} {y=2}",
            b"{\"unterminated\": ",
            b"[1,2]",
            b"42",
            b"\xff\xfe",
        ] {
            assert_eq!(
                classify(log),
                RemoteLine::Log,
                "{:?}",
                String::from_utf8_lossy(log)
            );
        }
    }
}

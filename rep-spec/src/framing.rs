//! Newline framing with a hard bound (REP v0.1 §1 and its [clarified] frame limit).
//!
//! Pure: bytes in, frames out, no I/O. A line longer than the bound is reported as
//! [`Frame::TooLong`] **as soon as the bound is passed**, without waiting for its newline
//! ([clarified]: a peer writing 200 MB without a newline is noticed at the bound, not at a
//! timeout); the rest of that line is discarded as it arrives, so memory stays bounded by the
//! limit whatever the peer sends, and framing resumes after the next `\n`. A reader that
//! treats an over-long frame as fatal (a host) stops there; one that resynchronises (an
//! executor) keeps reading.

/// Default bound on one frame: 16 MiB.
pub const DEFAULT_MAX_FRAME_BYTES: usize = 16 * 1024 * 1024;

/// One unit read off a newline-framed stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// A complete line, without its `\n` (and without a trailing `\r`).
    Line(Vec<u8>),
    /// A line longer than the bound, reported once, when the bound was passed; `len` is the
    /// number of its bytes seen at that moment (more than the bound; the line may be longer).
    TooLong {
        /// Bytes of the over-long line seen when the bound was passed.
        len: usize,
    },
}

/// Splits a byte stream into [`Frame`]s of at most `max_bytes` each.
#[derive(Debug)]
pub struct LineFramer {
    max_bytes: usize,
    buf: Vec<u8>,
    /// True while discarding the rest of an over-long line (already reported).
    discarding: bool,
}

impl LineFramer {
    /// A framer whose frames hold at most `max_bytes` bytes (the `\n` not counted).
    pub fn new(max_bytes: usize) -> Self {
        LineFramer {
            max_bytes,
            buf: Vec::new(),
            discarding: false,
        }
    }

    /// The bound in bytes.
    pub fn max_bytes(&self) -> usize {
        self.max_bytes
    }

    /// Feeds `bytes` and appends every frame they complete to `out`, in order. An over-long
    /// line yields its [`Frame::TooLong`] in the call that passes the bound.
    pub fn feed(&mut self, mut bytes: &[u8], out: &mut Vec<Frame>) {
        while !bytes.is_empty() {
            let newline = memchr::memchr(b'\n', bytes);
            let (chunk, rest, complete) = match newline {
                Some(i) => (&bytes[..i], &bytes[i + 1..], true),
                None => (bytes, &[][..], false),
            };
            bytes = rest;
            if self.discarding {
                self.discarding = !complete;
                continue;
            }
            if self.buf.len() + chunk.len() > self.max_bytes {
                out.push(Frame::TooLong {
                    len: self.buf.len() + chunk.len(),
                });
                self.buf = Vec::new();
                self.discarding = !complete;
                continue;
            }
            self.buf.extend_from_slice(chunk);
            if complete {
                let mut line = std::mem::take(&mut self.buf);
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                out.push(Frame::Line(line));
            }
        }
    }

    /// Ends the stream: the unterminated last line, if any, as a frame. (An over-long last
    /// line was already reported by [`LineFramer::feed`].)
    pub fn finish(&mut self) -> Option<Frame> {
        self.discarding = false;
        if self.buf.is_empty() {
            return None;
        }
        Some(Frame::Line(std::mem::take(&mut self.buf)))
    }

    /// Bytes currently buffered for an incomplete line (never more than the bound).
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(max: usize, chunks: &[&[u8]]) -> Vec<Frame> {
        let mut framer = LineFramer::new(max);
        let mut out = Vec::new();
        for chunk in chunks {
            framer.feed(chunk, &mut out);
            assert!(framer.buffered() <= max);
        }
        out.extend(framer.finish());
        out
    }

    #[test]
    fn splits_lines_across_chunk_boundaries() {
        assert_eq!(
            frames(100, &[b"ab", b"c\nde", b"f\r\n", b"\n"]),
            vec![
                Frame::Line(b"abc".to_vec()),
                Frame::Line(b"def".to_vec()),
                Frame::Line(vec![])
            ]
        );
    }

    #[test]
    fn over_long_line_is_reported_once_and_framing_resumes() {
        assert_eq!(
            frames(4, &[b"12", b"345", b"67\nok\n"]),
            vec![Frame::TooLong { len: 5 }, Frame::Line(b"ok".to_vec())]
        );
        assert_eq!(
            frames(4, &[b"123456\nab"]),
            vec![Frame::TooLong { len: 6 }, Frame::Line(b"ab".to_vec())]
        );
    }

    /// Regression (issue 9, finding 6): an over-long frame was only reported at its newline,
    /// so a peer writing without one was noticed at the engine timeout.
    #[test]
    fn over_long_line_is_reported_when_the_bound_is_passed_not_at_its_newline() {
        let mut framer = LineFramer::new(4);
        let mut out = Vec::new();
        framer.feed(b"1234", &mut out);
        assert!(out.is_empty());
        framer.feed(b"5", &mut out);
        assert_eq!(out, vec![Frame::TooLong { len: 5 }]);
        for _ in 0..1000 {
            framer.feed(b"more bytes, still no newline", &mut out);
        }
        assert_eq!(out.len(), 1, "reported once");
        assert_eq!(framer.buffered(), 0, "nothing kept of it");
        assert_eq!(framer.finish(), None);
    }

    #[test]
    fn a_line_of_exactly_the_bound_is_accepted() {
        assert_eq!(frames(3, &[b"abc\n"]), vec![Frame::Line(b"abc".to_vec())]);
    }

    #[test]
    fn stream_ending_inside_an_over_long_line_reports_it_once() {
        assert_eq!(frames(2, &[b"abcdef"]), vec![Frame::TooLong { len: 6 }]);
    }

    #[test]
    fn an_unterminated_last_line_is_a_frame() {
        assert_eq!(
            frames(10, &[b"a\nbc"]),
            vec![Frame::Line(b"a".to_vec()), Frame::Line(b"bc".to_vec())]
        );
    }
}

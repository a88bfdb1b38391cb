//! Newline framing with a hard bound (REP v0.1 §1 and its [clarified] frame limit).
//!
//! Pure: bytes in, frames out, no I/O. A line longer than the bound is reported as
//! [`Frame::TooLong`] and its bytes are discarded as they arrive, so memory stays bounded by
//! the limit whatever the peer sends; framing then resumes at the next `\n`.

/// Default bound on one frame: 16 MiB.
pub const DEFAULT_MAX_FRAME_BYTES: usize = 16 * 1024 * 1024;

/// One unit read off a newline-framed stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// A complete line, without its `\n` (and without a trailing `\r`).
    Line(Vec<u8>),
    /// A line longer than the bound; `len` is its length in bytes (without the `\n`), or the
    /// length read so far when the stream ended inside it.
    TooLong {
        /// Bytes in the over-long line.
        len: usize,
    },
}

/// Splits a byte stream into [`Frame`]s of at most `max_bytes` each.
#[derive(Debug)]
pub struct LineFramer {
    max_bytes: usize,
    buf: Vec<u8>,
    /// `Some(n)` while discarding an over-long line of which `n` bytes were seen.
    discarding: Option<usize>,
}

impl LineFramer {
    /// A framer whose frames hold at most `max_bytes` bytes (the `\n` not counted).
    pub fn new(max_bytes: usize) -> Self {
        LineFramer {
            max_bytes,
            buf: Vec::new(),
            discarding: None,
        }
    }

    /// The bound in bytes.
    pub fn max_bytes(&self) -> usize {
        self.max_bytes
    }

    /// Feeds `bytes` and appends every frame they complete to `out`, in order.
    pub fn feed(&mut self, mut bytes: &[u8], out: &mut Vec<Frame>) {
        while !bytes.is_empty() {
            let newline = bytes.iter().position(|&b| b == b'\n');
            let (chunk, rest, complete) = match newline {
                Some(i) => (&bytes[..i], &bytes[i + 1..], true),
                None => (bytes, &[][..], false),
            };
            bytes = rest;
            if let Some(seen) = self.discarding.as_mut() {
                *seen += chunk.len();
                if complete {
                    out.push(Frame::TooLong { len: *seen });
                    self.discarding = None;
                }
                continue;
            }
            if self.buf.len() + chunk.len() > self.max_bytes {
                let seen = self.buf.len() + chunk.len();
                self.buf = Vec::new();
                if complete {
                    out.push(Frame::TooLong { len: seen });
                } else {
                    self.discarding = Some(seen);
                }
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

    /// Ends the stream: the unterminated last line, if any, as a frame.
    pub fn finish(&mut self) -> Option<Frame> {
        if let Some(len) = self.discarding.take() {
            return Some(Frame::TooLong { len });
        }
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
    fn over_long_line_is_reported_and_framing_resumes() {
        assert_eq!(
            frames(4, &[b"12", b"345", b"67\nok\n"]),
            vec![Frame::TooLong { len: 7 }, Frame::Line(b"ok".to_vec())]
        );
        assert_eq!(
            frames(4, &[b"123456\nab"]),
            vec![Frame::TooLong { len: 6 }, Frame::Line(b"ab".to_vec())]
        );
    }

    #[test]
    fn a_line_of_exactly_the_bound_is_accepted() {
        assert_eq!(frames(3, &[b"abc\n"]), vec![Frame::Line(b"abc".to_vec())]);
    }

    #[test]
    fn stream_ending_inside_an_over_long_line_reports_it() {
        assert_eq!(frames(2, &[b"abcdef"]), vec![Frame::TooLong { len: 6 }]);
    }
}

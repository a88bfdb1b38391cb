//! The frame reader and the response parser on arbitrary executor output: the first byte
//! picks the read size (1–64 bytes, so frames straddle reads), the rest is the stream. The
//! frames must equal those of one `LineFramer` fed the whole stream at once (an over-long
//! frame's `len` counts the bytes seen when the bound was passed, which depends on the read
//! sizes: only its place is compared), stay within the bound, and every line must parse (or
//! fail to parse) without a panic.

#![no_main]

use std::pin::Pin;
use std::task::{Context, Poll};

use libfuzzer_sys::fuzz_target;
use rep_spec::{Frame, FrameReader, LineFramer, parse_response_text};
use tokio::io::{AsyncRead, ReadBuf};

/// Small, so that over-long frames are common.
const MAX: usize = 256;

/// Yields `data` in reads of at most `step` bytes.
struct Chunked<'a> {
    data: &'a [u8],
    step: usize,
}

impl AsyncRead for Chunked<'_> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let n = self.step.min(self.data.len()).min(buf.remaining());
        buf.put_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Poll::Ready(Ok(()))
    }
}

/// A frame without the read-size-dependent length of an over-long one.
fn shape(frame: &Frame) -> Option<&[u8]> {
    match frame {
        Frame::Line(line) => Some(line),
        Frame::TooLong { .. } => None,
    }
}

fuzz_target!(|input: &[u8]| {
    let Some((&step, data)) = input.split_first() else {
        return;
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let read = runtime.block_on(async {
        let mut reader = FrameReader::new(
            Chunked {
                data,
                step: usize::from(step % 64) + 1,
            },
            MAX,
        );
        let mut frames = Vec::new();
        while let Some(frame) = reader.next_frame().await.expect("in-memory reads never fail") {
            frames.push(frame);
        }
        frames
    });
    let mut framer = LineFramer::new(MAX);
    let mut whole = Vec::new();
    framer.feed(data, &mut whole);
    whole.extend(framer.finish());
    assert_eq!(
        read.iter().map(shape).collect::<Vec<_>>(),
        whole.iter().map(shape).collect::<Vec<_>>(),
        "framing must not depend on read sizes"
    );
    for frame in read {
        match frame {
            Frame::Line(line) => {
                assert!(line.len() <= MAX);
                if let Ok(text) = std::str::from_utf8(&line) {
                    let _ = parse_response_text(text);
                }
            }
            Frame::TooLong { len } => assert!(len > MAX),
        }
    }
});

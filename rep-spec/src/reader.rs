//! The bounded async frame reader: [`LineFramer`] over any tokio [`AsyncRead`] (REP v0.1 §1).
//!
//! One reader serves every place that reads newline frames off a peer: the host's client
//! (the executor's stdout), the executor kit's server (its stdin), the conformance
//! connection and the host's reader of the executor's stderr. Memory is bounded by the frame
//! bound plus one read buffer; time is bounded by the caller, who wraps
//! [`FrameReader::next_frame`] in a deadline (it is cancel-safe).

use std::collections::VecDeque;

use tokio::io::{AsyncRead, AsyncReadExt};

use crate::framing::{Frame, LineFramer};

/// Bytes asked for per read.
const READ_CHUNK: usize = 64 * 1024;

/// Reads [`Frame`]s of at most `max_frame_bytes` from `R`.
#[derive(Debug)]
pub struct FrameReader<R> {
    reader: R,
    framer: LineFramer,
    ready: VecDeque<Frame>,
    scratch: Vec<Frame>,
    chunk: Box<[u8]>,
    ended: bool,
}

impl<R: AsyncRead + Unpin> FrameReader<R> {
    /// A reader of frames of at most `max_frame_bytes` bytes (REP hosts default to
    /// [`crate::DEFAULT_MAX_FRAME_BYTES`], 16 MiB).
    pub fn new(reader: R, max_frame_bytes: usize) -> FrameReader<R> {
        FrameReader {
            reader,
            framer: LineFramer::new(max_frame_bytes),
            ready: VecDeque::new(),
            scratch: Vec::new(),
            chunk: vec![0; READ_CHUNK].into_boxed_slice(),
            ended: false,
        }
    }

    /// The frame bound in bytes.
    pub fn max_frame_bytes(&self) -> usize {
        self.framer.max_bytes()
    }

    /// The next frame; `Ok(None)` once the stream has ended. An over-long line is reported
    /// as [`Frame::TooLong`] as soon as its bytes pass the bound; reading on skips the rest of
    /// it. A read error ends the stream: it is returned once, then `Ok(None)`.
    ///
    /// Cancel-safe: bytes are consumed only when a read completes and every frame they
    /// complete is kept for the next call, so this can be raced against a deadline or
    /// another future without losing data.
    ///
    /// # Errors
    /// The I/O error of the underlying read.
    pub async fn next_frame(&mut self) -> std::io::Result<Option<Frame>> {
        loop {
            if let Some(frame) = self.ready.pop_front() {
                return Ok(Some(frame));
            }
            if self.ended {
                return Ok(None);
            }
            let n = match self.reader.read(&mut self.chunk).await {
                Ok(n) => n,
                Err(error) => {
                    self.ended = true;
                    return Err(error);
                }
            };
            if n == 0 {
                self.ended = true;
                self.ready.extend(self.framer.finish());
            } else {
                self.framer.feed(&self.chunk[..n], &mut self.scratch);
                self.ready.extend(self.scratch.drain(..));
            }
        }
    }

    /// Whether the stream has ended (EOF or a read error). A [`Frame::Line`] returned after
    /// this became true was the stream's last line and had no terminating `\n`.
    pub fn ended(&self) -> bool {
        self.ended
    }

    /// The underlying reader.
    pub fn get_mut(&mut self) -> &mut R {
        &mut self.reader
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::time::Duration;

    use tokio::io::AsyncWriteExt;

    use super::*;

    #[tokio::test]
    async fn frames_arrive_in_order_and_the_unterminated_last_line_is_marked() {
        let (mut tx, rx) = tokio::io::duplex(8);
        let mut reader = FrameReader::new(rx, 100);
        tokio::spawn(async move {
            tx.write_all(b"one\ntwo\r\nthr").await.unwrap();
            tx.write_all(b"ee").await.unwrap();
        });
        assert_eq!(
            reader.next_frame().await.unwrap(),
            Some(Frame::Line(b"one".to_vec()))
        );
        assert_eq!(
            reader.next_frame().await.unwrap(),
            Some(Frame::Line(b"two".to_vec()))
        );
        assert!(!reader.ended());
        assert_eq!(
            reader.next_frame().await.unwrap(),
            Some(Frame::Line(b"three".to_vec()))
        );
        assert!(reader.ended(), "the last line had no newline");
        assert_eq!(reader.next_frame().await.unwrap(), None);
    }

    /// Regression (issue 9, finding 6): a peer that writes without a newline is reported at
    /// the bound, while it is still writing.
    #[tokio::test(start_paused = true)]
    async fn an_endless_line_is_reported_while_the_peer_still_writes() {
        let (mut tx, rx) = tokio::io::duplex(1024);
        let writer = tokio::spawn(async move {
            loop {
                if tx.write_all(&[b'x'; 512]).await.is_err() {
                    return;
                }
            }
        });
        let mut reader = FrameReader::new(rx, 10_000);
        let frame = tokio::time::timeout(Duration::from_secs(1), reader.next_frame())
            .await
            .expect("reported without waiting for a newline")
            .unwrap();
        assert!(matches!(frame, Some(Frame::TooLong { len }) if len > 10_000));
        drop(reader);
        writer.await.unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn next_frame_is_cancel_safe() {
        let (mut tx, rx) = tokio::io::duplex(64);
        let mut reader = FrameReader::new(rx, 100);
        tx.write_all(b"par").await.unwrap();
        let timed_out = tokio::time::timeout(Duration::from_millis(10), reader.next_frame()).await;
        assert!(timed_out.is_err());
        tx.write_all(b"tial\n").await.unwrap();
        assert_eq!(
            reader.next_frame().await.unwrap(),
            Some(Frame::Line(b"partial".to_vec()))
        );
    }
}

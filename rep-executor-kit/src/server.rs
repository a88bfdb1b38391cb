//! The stdio loop: frames in, responses out (REP v0.1 §1).

use rep_spec::LineFramer;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::executor::Executor;

impl Executor {
    /// Serves REP on this process's stdin/stdout until stdin reaches EOF, then returns.
    /// Nothing but JSON-RPC responses is ever written to stdout.
    ///
    /// # Errors
    /// An I/O error reading stdin or writing stdout (e.g. the host went away).
    pub async fn serve_stdio(self) -> std::io::Result<()> {
        self.serve(tokio::io::stdin(), tokio::io::stdout()).await
    }

    /// Serves REP over any reader/writer pair (a pipe, a socket, an in-memory duplex) until
    /// the reader reaches EOF. Requests are answered one at a time, in order; one response
    /// line per request, flushed at once.
    ///
    /// # Errors
    /// An I/O error on either side.
    pub async fn serve<R, W>(&self, mut reader: R, mut writer: W) -> std::io::Result<()>
    where
        R: AsyncRead + Unpin,
        W: AsyncWrite + Unpin,
    {
        let mut framer = LineFramer::new(self.max_request_bytes);
        let mut frames = Vec::new();
        let mut chunk = vec![0u8; 64 * 1024];
        let mut out = Vec::new();
        loop {
            let n = reader.read(&mut chunk).await?;
            if n == 0 {
                frames.extend(framer.finish());
            } else {
                framer.feed(&chunk[..n], &mut frames);
            }
            for frame in frames.drain(..) {
                if let Some(response) = self.handle_frame(&frame) {
                    out.clear();
                    serde_json::to_writer(&mut out, &response).map_err(std::io::Error::other)?;
                    out.push(b'\n');
                    writer.write_all(&out).await?;
                    writer.flush().await?;
                }
            }
            if n == 0 {
                return Ok(());
            }
        }
    }
}

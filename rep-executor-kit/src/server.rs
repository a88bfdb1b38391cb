//! The stdio loop: frames in, responses out (REP v0.1 §1).

use std::os::fd::AsFd;
use std::os::unix::fs::FileTypeExt;

use rep_spec::FrameReader;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::net::unix::pipe;

use crate::executor::Executor;

impl Executor {
    /// Serves REP on this process's stdin/stdout until stdin reaches EOF, then returns.
    /// Nothing but JSON-RPC responses is ever written to stdout.
    ///
    /// When stdin and stdout are pipes (as a host starts an executor) they are driven by the
    /// runtime's reactor directly, in non-blocking mode: a request costs no thread hop, which
    /// keeps a round trip close to the pipe's own latency. Anything else (a terminal, a file)
    /// goes through tokio's blocking stdio.
    ///
    /// # Errors
    /// An I/O error reading stdin or writing stdout (e.g. the host went away).
    pub async fn serve_stdio(&self) -> std::io::Result<()> {
        // Both or neither: converting one of them sets O_NONBLOCK on a file description that
        // blocking stdio would then use (and fail on with EAGAIN). So look before touching.
        if is_fifo(&std::io::stdin()) && is_fifo(&std::io::stdout()) {
            let stdin =
                pipe::Receiver::from_owned_fd(std::io::stdin().as_fd().try_clone_to_owned()?)?;
            let stdout =
                pipe::Sender::from_owned_fd(std::io::stdout().as_fd().try_clone_to_owned()?)?;
            self.serve(stdin, stdout).await
        } else {
            self.serve(tokio::io::stdin(), tokio::io::stdout()).await
        }
    }

    /// Serves REP over any reader/writer pair (a pipe, a socket, an in-memory duplex) until
    /// the reader reaches EOF. Requests are answered one at a time, in order; one response
    /// line per request, flushed at once.
    ///
    /// # Errors
    /// An I/O error on either side.
    pub async fn serve<R, W>(&self, reader: R, mut writer: W) -> std::io::Result<()>
    where
        R: AsyncRead + Unpin,
        W: AsyncWrite + Unpin,
    {
        // An over-long request is answered (-32600) as soon as it passes the bound; the rest
        // of its line is skipped and serving resumes at the next request.
        let mut frames = FrameReader::new(reader, self.max_request_bytes);
        let mut out = Vec::new();
        while let Some(frame) = frames.next_frame().await? {
            if let Some(response) = self.handle_frame(&frame) {
                out.clear();
                serde_json::to_writer(&mut out, &response).map_err(std::io::Error::other)?;
                out.push(b'\n');
                writer.write_all(&out).await?;
                writer.flush().await?;
            }
        }
        Ok(())
    }
}

/// Whether `stream` (stdin or stdout) is a pipe (FIFO), without changing its flags.
fn is_fifo(stream: &impl AsFd) -> bool {
    stream
        .as_fd()
        .try_clone_to_owned()
        .map(std::fs::File::from)
        .and_then(|file| file.metadata())
        .is_ok_and(|meta| meta.file_type().is_fifo())
}

//! Serving REP on a TCP or Unix-socket listener instead of stdio, for executors reached
//! through `rep-bridge` (another machine, a container, a simulator's host side).
//!
//! Each accepted connection is one host session, exactly as one executor process is over
//! stdio (REP v0.1 §1): it gets a fresh executor state (no runs of other connections), its
//! requests are answered in order by [`Executor::serve`], and when it closes, its runs are
//! cancelled as if the process had exited. REP v0.1 has no authentication: listen on
//! loopback, or tunnel the port (ssh), never on an open network.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use rep_spec::Endpoint;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, UnixListener, UnixStream};
use tokio::sync::Semaphore;

use crate::executor::Executor;

/// Connections served at once by [`Executor::serve_listener`]; more wait in the listen
/// backlog until one closes.
pub const MAX_CONNECTIONS: usize = 64;

/// A bound listener, ready for [`Executor::serve_listener`].
pub struct Listener {
    inner: Inner,
    /// The bound address (for TCP port 0, the port the OS picked).
    local: Endpoint,
}

enum Inner {
    Tcp(TcpListener),
    Unix(UnixListener),
}

impl Listener {
    /// Binds `addr`: `tcp:HOST:PORT` (port 0 picks a free port) or `unix:PATH`. A Unix
    /// socket path left behind by a server that is no longer running (nothing accepts on it)
    /// is replaced; a live one is an error.
    ///
    /// # Errors
    /// The bind error, naming the address; a `serial:` endpoint (nothing listens on a serial
    /// line: `rep-bridge` opens it) is `InvalidInput`.
    pub async fn bind(addr: &Endpoint) -> std::io::Result<Listener> {
        let named = |e: std::io::Error| std::io::Error::new(e.kind(), format!("{addr}: {e}"));
        match addr {
            Endpoint::Tcp(host_port) => {
                let listener = TcpListener::bind(host_port.as_str()).await.map_err(named)?;
                let local = Endpoint::Tcp(listener.local_addr().map_err(named)?.to_string());
                Ok(Listener {
                    inner: Inner::Tcp(listener),
                    local,
                })
            }
            Endpoint::Unix(path) => {
                let listener = bind_unix(path).await.map_err(named)?;
                Ok(Listener {
                    inner: Inner::Unix(listener),
                    local: addr.clone(),
                })
            }
            Endpoint::Serial(_) => Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("{addr}: cannot listen on a serial line: give tcp:HOST:PORT or unix:PATH"),
            )),
        }
    }

    /// The bound address, e.g. `tcp:127.0.0.1:41237` after binding `tcp:127.0.0.1:0`.
    pub fn local_addr(&self) -> &Endpoint {
        &self.local
    }

    /// The next connection, as its two halves.
    async fn accept(&self) -> std::io::Result<(Reader, Writer)> {
        match &self.inner {
            Inner::Tcp(tcp) => {
                let (stream, peer) = tcp.accept().await?;
                // Requests and responses are single small writes: never wait for more.
                let _ = stream.set_nodelay(true);
                tracing::debug!(%peer, "connection accepted");
                let (reader, writer) = stream.into_split();
                Ok((Box::new(reader), Box::new(writer)))
            }
            Inner::Unix(unix) => {
                let (stream, _) = unix.accept().await?;
                tracing::debug!("connection accepted");
                let (reader, writer) = stream.into_split();
                Ok((Box::new(reader), Box::new(writer)))
            }
        }
    }
}

type Reader = Box<dyn AsyncRead + Unpin + Send>;
type Writer = Box<dyn AsyncWrite + Unpin + Send>;

/// Binds a Unix socket, replacing a stale socket file nobody accepts on.
async fn bind_unix(path: &Path) -> std::io::Result<UnixListener> {
    match UnixListener::bind(path) {
        Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => {
            let refused = matches!(
                UnixStream::connect(path).await,
                Err(c) if c.kind() == std::io::ErrorKind::ConnectionRefused
            );
            if !refused {
                return Err(e);
            }
            std::fs::remove_file(path)?;
            UnixListener::bind(path)
        }
        other => other,
    }
}

impl Executor {
    /// Binds `addr`, writes `listening on ADDR` (the bound address) as one line on stderr,
    /// and serves every connection as [`Executor::serve_listener`] does. Returns only on a
    /// fatal error.
    ///
    /// # Errors
    /// The bind error, or a fatal accept error.
    pub async fn listen(&self, addr: &Endpoint) -> std::io::Result<()> {
        let listener = Listener::bind(addr).await?;
        // A closed or full stderr must not stop the server: the line is best effort.
        let _ = writeln!(std::io::stderr(), "listening on {}", listener.local_addr());
        self.serve_listener(listener).await
    }

    /// Serves REP v0.1 on every connection `listener` accepts, at most [`MAX_CONNECTIONS`] at
    /// once. Each connection is one host session: a fresh executor state with this executor's
    /// handlers and settings, answered by [`Executor::serve`] until the peer closes; its runs
    /// are then cancelled. A failing connection ends only itself. Returns only on a fatal
    /// error.
    ///
    /// # Errors
    /// An accept error other than a per-connection one (e.g. the socket was closed).
    pub async fn serve_listener(&self, listener: Listener) -> std::io::Result<()> {
        let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
        loop {
            let Ok(slot) = slots.clone().acquire_owned().await else {
                return Ok(());
            };
            let (reader, writer) = match listener.accept().await {
                Ok(connection) => connection,
                Err(e) if transient(&e) => continue,
                Err(e) => return Err(e),
            };
            let session = self.fresh();
            tokio::spawn(async move {
                session.serve_session(reader, writer).await;
                drop(slot);
            });
        }
    }

    /// One connection: serve until the peer closes, then cancel what is still running.
    async fn serve_session(self, reader: Reader, writer: Writer) {
        if let Err(error) = self.serve(reader, writer).await {
            tracing::debug!(%error, "connection failed");
        }
        self.registry.cancel_all();
        tracing::debug!("connection closed");
    }
}

/// Accept errors that concern one connection (it was reset before we took it) or a passing
/// shortage (descriptors): keep serving.
fn transient(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionReset, Interrupted, WouldBlock};
    matches!(
        e.kind(),
        ConnectionAborted | ConnectionReset | Interrupted | WouldBlock
    ) || matches!(e.raw_os_error(), Some(23 | 24)) // ENFILE, EMFILE
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_serial_line_is_not_listened_on() {
        let error = Listener::bind(&Endpoint::Serial("/dev/ttyACM0".into()))
            .await
            .err()
            .map(|e| (e.kind(), e.to_string()));
        assert_eq!(
            error,
            Some((
                std::io::ErrorKind::InvalidInput,
                "serial:/dev/ttyACM0: cannot listen on a serial line: give tcp:HOST:PORT or \
                 unix:PATH"
                    .into()
            ))
        );
    }
}

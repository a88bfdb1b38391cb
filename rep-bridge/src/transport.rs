//! The three ways to reach a remote executor, and connecting to one within a deadline.

use std::fmt;
use std::io;
use std::time::Duration;

use rep_spec::Endpoint;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpStream, UnixStream};
use tokio::time::Instant;

use crate::error::BridgeError;
use crate::serial;
use crate::spawn::Spawned;

/// First pause between two connection attempts while `-- CMD` starts; doubled up to
/// [`RETRY_MAX`].
const RETRY_FIRST: Duration = Duration::from_millis(10);
/// Longest pause between two connection attempts.
const RETRY_MAX: Duration = Duration::from_millis(200);

/// Where the remote executor is: its endpoint (`tcp:HOST:PORT`, `unix:PATH`,
/// `serial:DEVICE`, rep-spec's one spelling), and the speed of a serial line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transport {
    /// The endpoint.
    pub endpoint: Endpoint,
    /// Bits per second, for `serial:`.
    pub baud: u32,
}

impl fmt::Display for Transport {
    /// The endpoint as typed, e.g. `tcp:127.0.0.1:7000`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.endpoint.fmt(f)
    }
}

/// Bytes from the remote.
pub type RemoteReader = Box<dyn AsyncRead + Unpin + Send>;
/// Bytes to the remote.
pub type RemoteWriter = Box<dyn AsyncWrite + Unpin + Send>;

/// An open connection to the remote executor; dropping both halves closes it.
pub struct Connection {
    /// What the remote sends.
    pub reader: RemoteReader,
    /// What the remote receives.
    pub writer: RemoteWriter,
}

impl Transport {
    /// One attempt.
    async fn connect_once(&self) -> io::Result<Connection> {
        match &self.endpoint {
            Endpoint::Tcp(addr) => {
                let stream = TcpStream::connect(addr.as_str()).await?;
                // Frames are single writes answered by the peer: never hold one back.
                stream.set_nodelay(true)?;
                let (reader, writer) = stream.into_split();
                Ok(Connection {
                    reader: Box::new(reader),
                    writer: Box::new(writer),
                })
            }
            Endpoint::Unix(path) => {
                let (reader, writer) = UnixStream::connect(path).await?.into_split();
                Ok(Connection {
                    reader: Box::new(reader),
                    writer: Box::new(writer),
                })
            }
            Endpoint::Serial(device) => serial::open(device, self.baud),
        }
    }

    /// Whether `error` means "not there yet" while `-- CMD` starts (a port or socket not
    /// listening, a socket file or device not created, a device still held by a reset tool).
    fn not_there_yet(&self, error: &io::Error) -> bool {
        use io::ErrorKind::{
            AddrNotAvailable, ConnectionAborted, ConnectionRefused, ConnectionReset, NotFound,
            ResourceBusy, TimedOut,
        };
        match self.endpoint {
            Endpoint::Tcp(_) => matches!(
                error.kind(),
                ConnectionRefused
                    | ConnectionReset
                    | ConnectionAborted
                    | AddrNotAvailable
                    | TimedOut
            ),
            Endpoint::Unix(_) => matches!(error.kind(), ConnectionRefused | NotFound),
            Endpoint::Serial(_) => matches!(error.kind(), NotFound | ResourceBusy),
        }
    }
}

/// Connects within `timeout`.
///
/// Without a spawned command one attempt is made: a refusal fails at once. With one
/// (`spawned`), attempts are retried while the error means the remote is not there yet,
/// until the timeout, or until the command exits with a failure.
///
/// # Errors
/// [`BridgeError::Connect`], [`BridgeError::ConnectTimeout`] or
/// [`BridgeError::CommandExited`], each naming the transport.
pub async fn connect(
    transport: &Transport,
    timeout: Duration,
    mut spawned: Option<&mut Spawned>,
) -> Result<Connection, BridgeError> {
    let deadline = Instant::now() + timeout;
    let timed_out = |last: Option<io::Error>| BridgeError::ConnectTimeout {
        transport: transport.to_string(),
        timeout,
        last,
    };
    let mut pause = RETRY_FIRST;
    loop {
        let error = match tokio::time::timeout_at(deadline, transport.connect_once()).await {
            Ok(Ok(connection)) => return Ok(connection),
            Ok(Err(error)) => error,
            Err(_) => return Err(timed_out(None)),
        };
        let Some(command) = spawned.as_deref_mut() else {
            return Err(BridgeError::Connect {
                transport: transport.to_string(),
                error,
            });
        };
        if !transport.not_there_yet(&error) {
            return Err(BridgeError::Connect {
                transport: transport.to_string(),
                error,
            });
        }
        if let Some(status) = command.failed() {
            return Err(BridgeError::CommandExited {
                program: command.program().to_owned(),
                status,
                transport: transport.to_string(),
            });
        }
        if Instant::now() + pause >= deadline {
            tokio::time::sleep_until(deadline).await;
            return Err(timed_out(Some(error)));
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(RETRY_MAX);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn transport(endpoint: &str) -> Transport {
        Transport {
            endpoint: endpoint.parse().unwrap_or_else(|e| panic!("{e}")),
            baud: 115_200,
        }
    }

    #[test]
    fn transports_are_named_as_typed() {
        for endpoint in [
            "tcp:127.0.0.1:7000",
            "unix:/run/x.sock",
            "serial:/dev/ttyACM0",
        ] {
            assert_eq!(transport(endpoint).to_string(), endpoint);
        }
    }

    /// Without `-- CMD` a refusal is final: one attempt, no retry until the timeout.
    #[tokio::test]
    async fn a_refused_connection_fails_at_once_naming_the_address() {
        // Bind, then close: the port is (almost certainly) free and refuses.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .unwrap_or(1);
        let transport = transport(&format!("tcp:127.0.0.1:{port}"));
        let Err(error) = connect(&transport, Duration::from_secs(10), None).await else {
            panic!("connected to a closed port");
        };
        assert!(matches!(error, BridgeError::Connect { .. }), "{error:?}");
        let message = error.to_string();
        assert!(
            message.contains(&format!("tcp:127.0.0.1:{port}")),
            "{message}"
        );
        assert!(message.contains("refused"), "{message}");
    }

    #[tokio::test]
    async fn a_missing_unix_socket_fails_naming_the_path() {
        let transport = transport("unix:/nonexistent/rep-bridge.sock");
        let Err(error) = connect(&transport, Duration::from_secs(10), None).await else {
            panic!("connected to nothing");
        };
        assert!(
            error.to_string().contains("/nonexistent/rep-bridge.sock"),
            "{error}"
        );
    }
}

//! Every way the bridge ends, the table of its exit codes and the one mapping from an ending
//! to its code (docs/exit-codes.md documents them with the other binaries').
//!
//! Each message is one line naming what failed and where (the transport, the command, the
//! host side): the host shows the executor's last stderr lines with its 3001 error.

use std::io;
use std::process::ExitStatus;
use std::time::Duration;

use rep_process::Interrupt;

/// Exit code: the host closed stdin (REP v0.1 §1 "shut down"); the connection was closed.
pub const EXIT_OK: u8 = 0;
/// Exit code: the connection could not be made, broke, or carried something the bridge
/// cannot forward; or the spawned command could not start.
pub const EXIT_FAILED: u8 = 1;
/// Exit code: usage error (clap's own, before anything starts).
pub const EXIT_USAGE: u8 = 2;
// 128 + N: signal N (130 SIGINT, 143 SIGTERM, 129 SIGHUP): rep-process's
// `Interrupt::exit_code`.

/// Why the bridge stopped, other than the host closing stdin.
#[derive(Debug, thiserror::Error)]
pub enum BridgeError {
    /// `-- CMD` could not be started.
    #[error("cannot start {program}: {error}")]
    Spawn {
        /// The program.
        program: String,
        /// Why.
        error: io::Error,
    },
    /// `-- CMD` exited with a failure before the remote accepted a connection.
    #[error("{program} exited ({status}) before {transport} accepted a connection")]
    CommandExited {
        /// The program.
        program: String,
        /// Its exit status.
        status: ExitStatus,
        /// The transport, e.g. `tcp 127.0.0.1:4000`.
        transport: String,
    },
    /// Connecting failed for good (refused without `-- CMD`, no such device, permission).
    #[error("cannot connect to {transport}: {error}")]
    Connect {
        /// The transport.
        transport: String,
        /// Why.
        error: io::Error,
    },
    /// No connection within `--connect-timeout`.
    #[error("cannot connect to {transport}: no connection within {}s (--connect-timeout){}",
        .timeout.as_secs_f64(), .last.as_ref().map(|e| format!("; last error: {e}")).unwrap_or_default())]
    ConnectTimeout {
        /// The transport.
        transport: String,
        /// The timeout.
        timeout: Duration,
        /// The last attempt's error, when attempts were retried.
        last: Option<io::Error>,
    },
    /// The remote closed the connection.
    #[error("{transport}: connection closed by the remote")]
    RemoteClosed {
        /// The transport.
        transport: String,
    },
    /// Reading from the remote failed (reset, device gone).
    #[error("{transport}: read failed: {error}")]
    RemoteRead {
        /// The transport.
        transport: String,
        /// Why.
        error: io::Error,
    },
    /// Writing to the remote failed.
    #[error("{transport}: write failed: {error}")]
    RemoteWrite {
        /// The transport.
        transport: String,
        /// Why.
        error: io::Error,
    },
    /// The remote sent a line longer than `--max-frame-bytes`.
    #[error(
        "{transport}: the remote sent a line of {len}+ bytes, over the frame bound of {max} bytes (--max-frame-bytes)"
    )]
    RemoteTooLong {
        /// The transport.
        transport: String,
        /// Bytes of the line when the bound was passed.
        len: usize,
        /// The bound.
        max: usize,
    },
    /// The host sent a line longer than `--max-frame-bytes`.
    #[error(
        "stdin: the host sent a frame of {len}+ bytes, over the frame bound of {max} bytes (--max-frame-bytes)"
    )]
    HostTooLong {
        /// Bytes of the line when the bound was passed.
        len: usize,
        /// The bound.
        max: usize,
    },
    /// Reading the host's frames from stdin failed.
    #[error("reading stdin: {0}")]
    HostRead(io::Error),
    /// Writing frames to the host on stdout failed (the host went away).
    #[error("writing stdout: {0}")]
    HostWrite(io::Error),
    /// The async runtime could not be set up.
    #[error("cannot start: {0}")]
    Setup(io::Error),
}

/// How the bridge ended.
#[derive(Debug)]
pub enum Ending {
    /// The host closed stdin.
    HostClosed,
    /// SIGINT, SIGTERM or SIGHUP arrived.
    Signal(Interrupt),
    /// Something failed.
    Failed(BridgeError),
}

impl Ending {
    /// The exit code: 0 host closed stdin, 1 failure, 128 + N for signal N (130 SIGINT,
    /// 143 SIGTERM, 129 SIGHUP), as a shell reports it.
    pub fn exit_code(&self) -> u8 {
        match self {
            Ending::HostClosed => EXIT_OK,
            Ending::Signal(interrupt) => interrupt.exit_code(),
            Ending::Failed(_) => EXIT_FAILED,
        }
    }
}

impl From<Result<(), BridgeError>> for Ending {
    fn from(result: Result<(), BridgeError>) -> Ending {
        match result {
            Ok(()) => Ending::HostClosed,
            Err(error) => Ending::Failed(error),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_ending_has_its_exit_code() {
        assert_eq!(Ending::HostClosed.exit_code(), 0);
        assert_eq!(Ending::Signal(Interrupt::Sigterm).exit_code(), 143);
        assert_eq!(Ending::Signal(Interrupt::Sigint).exit_code(), 130);
        assert_eq!(Ending::Signal(Interrupt::Sighup).exit_code(), 129);
        let failed = Ending::Failed(BridgeError::RemoteClosed {
            transport: "tcp 127.0.0.1:1".into(),
        });
        assert_eq!(failed.exit_code(), 1);
    }

    #[test]
    fn a_timeout_names_the_address_and_the_last_error() {
        let error = BridgeError::ConnectTimeout {
            transport: "tcp 127.0.0.1:7000".into(),
            timeout: Duration::from_millis(1500),
            last: Some(io::Error::from(io::ErrorKind::ConnectionRefused)),
        };
        assert_eq!(
            error.to_string(),
            "cannot connect to tcp 127.0.0.1:7000: no connection within 1.5s (--connect-timeout); last error: connection refused"
        );
    }
}

//! The command line: `rep-bridge [OPTIONS] <TRANSPORT> [-- CMD ARGS…]`.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, Subcommand};
use rep_spec::DEFAULT_MAX_FRAME_BYTES;

use crate::forward;
use crate::run::Config;
use crate::transport::Transport;

const EXAMPLES: &str = "\
Examples:
  rep-bridge tcp 127.0.0.1:7000                  # an executor serving on a local port
  rep-bridge unix /run/rep/executor.sock
  rep-bridge --settle-ms 2000 serial /dev/ttyACM0 --baud 115200
  rep-bridge tcp 127.0.0.1:7000 -- qemu-system-arm -M lm3s6965evb -nographic \\
      -kernel firmware.elf -serial tcp::7000,server=on,wait=off

As the executor of tm (runtime.yaml):
  runtime:
    executor_path: rep-bridge
    executor_args: [tcp, \"127.0.0.1:7000\"]

Frames from the host (stdin) go to the remote; JSON objects from the remote go to stdout;
any other line from the remote (a boot banner, debug output) is logged on stderr, as are
CMD's stdout and stderr. REP v0.1 has no authentication: keep TCP on loopback or tunnel it
(docs/remote-executors.md).

Exit codes: 0 the host closed stdin; 1 the connection was refused, timed out, closed or
broke, a line exceeded --max-frame-bytes, or CMD could not start; 2 usage error; 128+N on
signal N (130 SIGINT, 143 SIGTERM, 129 SIGHUP), CMD stopped within 1 s (at once on a
second signal).";

/// An executor process for a REP v0.1 host that forwards whole frames to an executor on TCP,
/// a Unix socket or a serial line, optionally starting it first (`-- CMD`: a simulator, a
/// container, a board reset tool).
#[derive(Debug, Parser)]
#[command(
    name = "rep-bridge",
    version,
    after_help = EXAMPLES,
    subcommand_value_name = "TRANSPORT",
    subcommand_help_heading = "Transports"
)]
pub struct Cli {
    /// How long to try to connect, in seconds. With `-- CMD`, attempts are retried until
    /// then while the remote is not listening yet; without it, a refusal fails at once.
    #[arg(long, global = true, value_name = "SECS", default_value = "10", value_parser = parse_secs)]
    pub connect_timeout: Duration,
    /// After connecting, wait this many milliseconds before forwarding the host's frames
    /// (many boards reset when their serial port is opened). What the remote prints
    /// meanwhile is logged.
    #[arg(long, global = true, value_name = "MS", default_value_t = 0)]
    pub settle_ms: u64,
    /// Longest frame (line) accepted from either side, in bytes; a longer one ends the
    /// bridge with exit 1.
    #[arg(long, global = true, value_name = "BYTES", default_value_t = DEFAULT_MAX_FRAME_BYTES, value_parser = parse_bytes)]
    pub max_frame_bytes: usize,
    /// Where the executor is.
    #[command(subcommand)]
    pub transport: TransportArgs,
}

/// The transports.
#[derive(Debug, Subcommand)]
pub enum TransportArgs {
    /// TCP to HOST:PORT.
    #[command(after_help = EXAMPLES)]
    Tcp {
        /// The executor's address, e.g. 127.0.0.1:7000 or [::1]:7000.
        #[arg(value_name = "HOST:PORT")]
        address: String,
        /// A command to start first, in its own process group; stopped on exit.
        #[arg(last = true, value_name = "CMD")]
        command: Vec<String>,
    },
    /// A Unix-domain socket.
    #[command(after_help = EXAMPLES)]
    Unix {
        /// The socket's path.
        path: PathBuf,
        /// A command to start first, in its own process group; stopped on exit.
        #[arg(last = true, value_name = "CMD")]
        command: Vec<String>,
    },
    /// A serial line, raw 8N1 without flow control.
    #[command(after_help = EXAMPLES)]
    Serial {
        /// The device, e.g. /dev/ttyUSB0 or /dev/ttyACM0.
        device: PathBuf,
        /// Line speed in bits per second.
        #[arg(long, value_name = "N", default_value_t = 115_200)]
        baud: u32,
        /// A command to start first, in its own process group; stopped on exit.
        #[arg(last = true, value_name = "CMD")]
        command: Vec<String>,
    },
}

impl Cli {
    /// The run's configuration.
    pub fn into_config(self) -> Config {
        let (transport, command) = match self.transport {
            TransportArgs::Tcp { address, command } => (Transport::Tcp(address), command),
            TransportArgs::Unix { path, command } => (Transport::Unix(path), command),
            TransportArgs::Serial {
                device,
                baud,
                command,
            } => (Transport::Serial { device, baud }, command),
        };
        Config {
            transport,
            command,
            connect_timeout: self.connect_timeout,
            forward: forward::Options {
                max_frame_bytes: self.max_frame_bytes,
                settle: Duration::from_millis(self.settle_ms),
            },
        }
    }
}

fn parse_bytes(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(bytes) if bytes > 0 => Ok(bytes),
        _ => Err(format!("{text:?} is not a positive number of bytes")),
    }
}

fn parse_secs(text: &str) -> Result<Duration, String> {
    let secs: f64 = text
        .parse()
        .map_err(|_| format!("{text:?} is not a number of seconds"))?;
    if !(secs.is_finite() && secs > 0.0 && secs <= 86_400.0) {
        return Err(format!(
            "{text} must be more than 0 and at most 86400 seconds"
        ));
    }
    Ok(Duration::from_secs_f64(secs))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // tests unwrap: a failure is the report

    use super::*;

    fn config(args: &[&str]) -> Result<Config, clap::Error> {
        Cli::try_parse_from(std::iter::once("rep-bridge").chain(args.iter().copied()))
            .map(Cli::into_config)
    }

    #[test]
    fn defaults() {
        let config = config(&["tcp", "127.0.0.1:7000"]).unwrap();
        assert_eq!(config.transport, Transport::Tcp("127.0.0.1:7000".into()));
        assert!(config.command.is_empty());
        assert_eq!(config.connect_timeout, Duration::from_secs(10));
        assert_eq!(config.forward.settle, Duration::ZERO);
        assert_eq!(config.forward.max_frame_bytes, DEFAULT_MAX_FRAME_BYTES);
    }

    #[test]
    fn options_before_the_transport_and_a_command_after_double_dash() {
        let config = config(&[
            "--connect-timeout",
            "2.5",
            "--settle-ms",
            "1500",
            "--max-frame-bytes",
            "4096",
            "serial",
            "/dev/ttyACM0",
            "--baud",
            "9600",
            "--",
            "reset-board",
            "--serial",
            "-x",
        ])
        .unwrap();
        assert_eq!(
            config.transport,
            Transport::Serial {
                device: "/dev/ttyACM0".into(),
                baud: 9600
            }
        );
        assert_eq!(config.command, ["reset-board", "--serial", "-x"]);
        assert_eq!(config.connect_timeout, Duration::from_millis(2500));
        assert_eq!(config.forward.settle, Duration::from_millis(1500));
        assert_eq!(config.forward.max_frame_bytes, 4096);
    }

    #[test]
    fn the_qemu_shape_parses() {
        let config = config(&[
            "tcp",
            "127.0.0.1:7000",
            "--",
            "qemu-system-arm",
            "-M",
            "lm3s6965evb",
            "-serial",
            "tcp::7000,server=on,wait=off",
        ])
        .unwrap();
        assert_eq!(config.command[0], "qemu-system-arm");
        assert_eq!(config.command.len(), 5);
    }

    #[test]
    fn bad_values_are_usage_errors() {
        for args in [
            &["tcp"][..],
            &["udp", "x:1"],
            &["--connect-timeout", "0", "tcp", "h:1"],
            &["--connect-timeout", "soon", "tcp", "h:1"],
            &["--max-frame-bytes", "0", "tcp", "h:1"],
            &["serial", "/dev/x", "--baud", "fast"],
        ] {
            let error = config(args).unwrap_err();
            assert_eq!(error.exit_code(), 2, "{args:?}");
        }
    }
}

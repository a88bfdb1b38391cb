//! The command line: `rep-bridge [OPTIONS] <ENDPOINT> [-- CMD ARGS…]`.

use std::time::Duration;

use clap::{CommandFactory, Parser};
use rep_spec::{DEFAULT_MAX_FRAME_BYTES, Endpoint};

use crate::forward;
use crate::run::Config;
use crate::transport::Transport;

const EXAMPLES: &str = "\
Examples:
  rep-bridge tcp:127.0.0.1:7000                  # an executor serving on a local port
  rep-bridge unix:/run/rep/executor.sock
  rep-bridge --settle-ms 2000 --baud 115200 serial:/dev/ttyACM0
  rep-bridge tcp:127.0.0.1:7000 -- qemu-system-arm -M lm3s6965evb -nographic \\
      -kernel firmware.elf -serial tcp::7000,server=on,wait=off

As the executor of tm (runtime.yaml):
  runtime:
    executor_path: rep-bridge
    executor_args: [\"tcp:127.0.0.1:7000\"]

ENDPOINT is spelled as an executor's --listen is: tcp:HOST:PORT, unix:PATH or serial:DEVICE.
The spelling of rep-bridge 0.1 (`tcp HOST:PORT`, `unix PATH`, `serial DEVICE`) is still
accepted, with a note on stderr.

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
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true,
    disable_help_subcommand = true
)]
pub struct Cli {
    /// How long to try to connect, in seconds. With `-- CMD`, attempts are retried until
    /// then while the remote is not listening yet; without it, a refusal fails at once.
    #[arg(long, value_name = "SECS", default_value = "10", value_parser = parse_secs)]
    pub connect_timeout: Duration,
    /// After connecting, wait this many milliseconds before forwarding the host's frames
    /// (many boards reset when their serial port is opened). What the remote prints
    /// meanwhile is logged.
    #[arg(long, value_name = "MS", default_value_t = 0)]
    pub settle_ms: u64,
    /// Longest frame (line) accepted from either side, in bytes; a longer one ends the
    /// bridge with exit 1.
    #[arg(long, value_name = "BYTES", default_value_t = DEFAULT_MAX_FRAME_BYTES, value_parser = parse_bytes)]
    pub max_frame_bytes: usize,
    /// Line speed of a serial ENDPOINT, in bits per second (raw 8N1, no flow control).
    #[arg(long, value_name = "N", default_value_t = 115_200)]
    pub baud: u32,
    /// Where the executor is: tcp:HOST:PORT, unix:PATH or serial:DEVICE.
    #[arg(value_name = "ENDPOINT", required = true)]
    pub endpoint: Option<String>,
    /// The address after `tcp`, `unix` or `serial`, in the old spelling.
    #[arg(value_name = "ADDRESS", hide = true)]
    pub old_address: Option<String>,
    /// A command to start first, in its own process group; stopped on exit.
    #[arg(last = true, value_name = "CMD")]
    pub command: Vec<String>,
    /// Shell completions and manual pages.
    #[command(subcommand)]
    pub shell: Option<rep_cli::ShellCommand>,
}

impl Cli {
    /// The run's configuration, and a note when the endpoint was given in the old spelling.
    ///
    /// # Errors
    /// A usage error (exit 2) for an endpoint that is neither spelling.
    pub fn into_config(self) -> Result<(Config, Option<String>), clap::Error> {
        // clap requires ENDPOINT unless a subcommand was given.
        let given = self.endpoint.as_deref().ok_or_else(|| {
            Cli::command().error(clap::error::ErrorKind::MissingRequiredArgument, "ENDPOINT")
        })?;
        let (endpoint, note) =
            endpoint(given, self.old_address.as_deref()).map_err(|message: String| {
                Cli::command().error(clap::error::ErrorKind::ValueValidation, message)
            })?;
        let config = Config {
            transport: Transport {
                endpoint,
                baud: self.baud,
            },
            command: self.command,
            connect_timeout: self.connect_timeout,
            forward: forward::Options {
                max_frame_bytes: self.max_frame_bytes,
                settle: Duration::from_millis(self.settle_ms),
            },
        };
        Ok((config, note))
    }
}

/// `tcp:HOST:PORT`, `unix:PATH`, `serial:DEVICE`; or the old spelling, the transport's name
/// then its address as two arguments, with a note saying the new one.
fn endpoint(given: &str, old_address: Option<&str>) -> Result<(Endpoint, Option<String>), String> {
    let Some(address) = old_address else {
        return given
            .parse::<Endpoint>()
            .map(|e| (e, None))
            .map_err(|e| e.to_string());
    };
    if !matches!(given, "tcp" | "unix" | "serial") {
        return Err(format!(
            "unexpected argument {address:?} after the endpoint {given:?} (a command to start \
             goes after --)"
        ));
    }
    let endpoint: Endpoint = format!("{given}:{address}")
        .parse()
        .map_err(|e: rep_spec::EndpointError| e.to_string())?;
    let note = format!(
        "note: `{given} {address}` is the old spelling of the endpoint; write `{endpoint}` (the \
         old one will go in a later version)"
    );
    Ok((endpoint, Some(note)))
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

    fn config(args: &[&str]) -> Result<(Config, Option<String>), clap::Error> {
        Cli::try_parse_from(std::iter::once("rep-bridge").chain(args.iter().copied()))
            .and_then(Cli::into_config)
    }

    fn endpoint(text: &str) -> Endpoint {
        text.parse().unwrap()
    }

    #[test]
    fn defaults() {
        let (config, note) = config(&["tcp:127.0.0.1:7000"]).unwrap();
        assert_eq!(config.transport.endpoint, endpoint("tcp:127.0.0.1:7000"));
        assert_eq!(note, None);
        assert!(config.command.is_empty());
        assert_eq!(config.connect_timeout, Duration::from_secs(10));
        assert_eq!(config.forward.settle, Duration::ZERO);
        assert_eq!(config.forward.max_frame_bytes, DEFAULT_MAX_FRAME_BYTES);
        assert_eq!(config.transport.baud, 115_200);
    }

    #[test]
    fn options_before_the_endpoint_and_a_command_after_double_dash() {
        let (config, _) = config(&[
            "--connect-timeout",
            "2.5",
            "--settle-ms",
            "1500",
            "--max-frame-bytes",
            "4096",
            "--baud",
            "9600",
            "serial:/dev/ttyACM0",
            "--",
            "reset-board",
            "--serial",
            "-x",
        ])
        .unwrap();
        assert_eq!(config.transport.endpoint, endpoint("serial:/dev/ttyACM0"));
        assert_eq!(config.transport.baud, 9600);
        assert_eq!(config.command, ["reset-board", "--serial", "-x"]);
        assert_eq!(config.connect_timeout, Duration::from_millis(2500));
        assert_eq!(config.forward.settle, Duration::from_millis(1500));
        assert_eq!(config.forward.max_frame_bytes, 4096);
    }

    #[test]
    fn the_qemu_shape_parses() {
        let (config, _) = config(&[
            "tcp:127.0.0.1:7000",
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

    /// rep-bridge 0.1's spelling, as runtime.yaml files have it (`executor_args: [tcp,
    /// "127.0.0.1:7000"]`), still works, with a note naming the new one.
    #[test]
    fn the_old_spelling_is_accepted_with_a_note() {
        for (args, new) in [
            (&["tcp", "127.0.0.1:7000"][..], "tcp:127.0.0.1:7000"),
            (&["unix", "/run/x.sock"], "unix:/run/x.sock"),
            (
                &["serial", "/dev/ttyACM0", "--baud", "9600"],
                "serial:/dev/ttyACM0",
            ),
            (
                &["tcp", "127.0.0.1:7000", "--", "sim"],
                "tcp:127.0.0.1:7000",
            ),
        ] {
            let (config, note) = config(args).unwrap();
            assert_eq!(config.transport.endpoint, endpoint(new), "{args:?}");
            let note = note.unwrap();
            assert!(note.contains(&format!("write `{new}`")), "{note}");
        }
    }

    #[test]
    fn bad_values_are_usage_errors() {
        for args in [
            &["tcp"][..],
            &["udp:x:1"],
            &["udp", "x:1"],
            &["127.0.0.1:7000"],
            &["tcp:h:1", "extra"],
            &["--connect-timeout", "0", "tcp:h:1"],
            &["--connect-timeout", "soon", "tcp:h:1"],
            &["--max-frame-bytes", "0", "tcp:h:1"],
            &["--baud", "fast", "serial:/dev/x"],
        ] {
            let error = config(args).unwrap_err();
            assert_eq!(error.exit_code(), 2, "{args:?}");
        }
    }
}

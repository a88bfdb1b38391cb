//! One bridge run: signals, `-- CMD`, connecting, forwarding, and stopping CMD.

use std::time::Duration;

use tokio::signal::unix::{Signal, SignalKind, signal};

use crate::error::{BridgeError, Ending};
use crate::forward::{self, forward};
use crate::spawn::Spawned;
use crate::stdio;
use crate::transport::{self, Transport};

/// What the command line asked for.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where the remote executor is.
    pub transport: Transport,
    /// `-- CMD ARGS…` to start first; empty for none.
    pub command: Vec<String>,
    /// How long to keep trying to connect.
    pub connect_timeout: Duration,
    /// How frames are forwarded.
    pub forward: forward::Options,
}

/// Runs the bridge to its end. Every way out closes the connection first, then stops the
/// spawned command's process group.
pub fn run(config: &Config) -> Ending {
    // One thread: the main thread forks CMD, and the kernel's parent-death signal follows
    // the thread that forked, so it must live as long as the bridge.
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => return Ending::Failed(BridgeError::Setup(error)),
    };
    let mut spawned = None;
    let ending = runtime.block_on(bridge(config, &mut spawned));
    // The connection is closed: it was dropped with the future. A blocking stdin read
    // (stdin not a pipe) must not hold the exit up.
    runtime.shutdown_background();
    if let Some(mut command) = spawned {
        command.stop();
    }
    ending
}

async fn bridge(config: &Config, spawned: &mut Option<Spawned>) -> Ending {
    let mut signals = match Signals::install() {
        Ok(signals) => signals,
        Err(error) => return Ending::Failed(BridgeError::Setup(error)),
    };
    let work = async {
        if let Some(program) = config.command.first() {
            let command = Spawned::start(&config.command).map_err(|error| BridgeError::Spawn {
                program: program.clone(),
                error,
            })?;
            *spawned = Some(command);
        }
        let connection =
            transport::connect(&config.transport, config.connect_timeout, spawned.as_mut()).await?;
        let name = config.transport.to_string();
        forward(
            stdio::stdin(),
            stdio::stdout(),
            connection,
            &name,
            &config.forward,
        )
        .await
    };
    tokio::select! {
        signal = signals.next() => Ending::Signal(signal),
        result = work => result.into(),
    }
}

/// SIGTERM, SIGINT and SIGHUP: each ends the bridge (the host's process-group kill sends
/// SIGTERM).
struct Signals {
    term: Signal,
    int: Signal,
    hup: Signal,
}

impl Signals {
    fn install() -> std::io::Result<Signals> {
        Ok(Signals {
            term: signal(SignalKind::terminate())?,
            int: signal(SignalKind::interrupt())?,
            hup: signal(SignalKind::hangup())?,
        })
    }

    /// The number of the next signal.
    async fn next(&mut self) -> i32 {
        tokio::select! {
            _ = self.term.recv() => SignalKind::terminate().as_raw_value(),
            _ = self.int.recv() => SignalKind::interrupt().as_raw_value(),
            _ = self.hup.recv() => SignalKind::hangup().as_raw_value(),
        }
    }
}

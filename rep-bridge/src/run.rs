//! One bridge run: signals, `-- CMD`, connecting, forwarding, and stopping CMD.

use std::time::Duration;

use rep_process::Interrupts;

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
/// spawned command's process group. SIGINT, SIGTERM and SIGHUP (the host's process-group
/// kill sends SIGTERM) end it, a second one cutting the stop of CMD short.
pub fn run(config: &Config) -> Ending {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => return Ending::Failed(BridgeError::Setup(error)),
    };
    let mut interrupts = {
        let _entered = runtime.enter();
        Interrupts::from_signals()
    };
    let mut spawned = None;
    let ending = runtime.block_on(async {
        let ending = tokio::select! {
            interrupt = interrupts.next() => Ending::Signal(interrupt),
            result = bridge(config, &mut spawned) => result.into(),
        };
        // The connection is closed: it was dropped with the future.
        if let Some(command) = spawned.as_mut() {
            command
                .stop(async {
                    interrupts.next().await;
                })
                .await;
        }
        ending
    });
    // A blocking stdin read (stdin not a pipe) must not hold the exit up.
    runtime.shutdown_background();
    ending
}

async fn bridge(config: &Config, spawned: &mut Option<Spawned>) -> Result<(), BridgeError> {
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
}

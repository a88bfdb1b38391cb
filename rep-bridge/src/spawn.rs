//! Spawn mode: `-- CMD ARGS…` (a simulator, a container runtime publishing a port, a board
//! reset tool) started before connecting, and stopped on every way out.
//!
//! CMD is a rep-process [`Group`]: its own process group, stdin closed, a parent-death
//! signal (SIGKILL from the kernel if the bridge itself is killed). Its stdout and stderr are
//! copied line by line to the bridge's stderr (never to stdout, which carries frames only).
//! [`Spawned`] owns it: [`Spawned::stop`] sends SIGTERM to the group, waits up to
//! [`STOP_GRACE`] for CMD (a second signal to the bridge cuts that short), then SIGKILL to
//! the group; dropping it kills the group at once.

use std::io;
use std::process::ExitStatus;
use std::time::Duration;

use rep_process::{Group, Ladder, Spec, Stdio};
use rep_spec::{Frame, FrameReader};
use tokio::io::AsyncRead;

use crate::log;

/// How long CMD gets to exit after SIGTERM before its group is killed.
pub const STOP_GRACE: Duration = Duration::from_secs(1);
/// Longest line of CMD's output copied whole; longer ones are noted, not copied.
const MAX_OUTPUT_LINE: usize = 64 * 1024;

/// The running `-- CMD`.
pub struct Spawned {
    group: Group,
    program: String,
}

impl Spawned {
    /// Starts `command` (program and arguments) in a new process group. Must be called
    /// inside the bridge's runtime (CMD's output is copied by tasks of it).
    ///
    /// # Errors
    /// The program cannot be started (missing, not executable).
    pub fn start(command: &[String]) -> io::Result<Spawned> {
        let (program, args) = command
            .split_first()
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "empty command"))?;
        let spec = Spec::new(program)
            .args(args)
            .stdin(Stdio::Null)
            .stdout(Stdio::Piped)
            .stderr(Stdio::Piped);
        let mut group = rep_process::spawn(&spec)?;
        if let Some(stdout) = group.take_stdout() {
            tokio::spawn(copy_lines(stdout));
        }
        if let Some(stderr) = group.take_stderr() {
            tokio::spawn(copy_lines(stderr));
        }
        Ok(Spawned {
            group,
            program: program.clone(),
        })
    }

    /// The program's name as given.
    pub fn program(&self) -> &str {
        &self.program
    }

    /// CMD's exit status if it has exited with a failure (killed, non-zero). A command that
    /// exited successfully (a reset tool that did its job) is not a failure. Does not reap, so
    /// the group id stays CMD's until [`Spawned::stop`].
    pub fn failed(&self) -> Option<ExitStatus> {
        self.group.peek().filter(|status| !status.success())
    }

    /// Stops CMD and everything in its group: SIGTERM, up to [`STOP_GRACE`] for CMD to exit
    /// (less if `skip` resolves first: a second signal), SIGKILL to the group, reap.
    pub async fn stop(&mut self, skip: impl Future<Output = ()>) {
        self.group
            .stop(Ladder::new(Duration::ZERO, STOP_GRACE), skip)
            .await;
    }
}

/// Copies CMD's output to the bridge's stderr, line by line, until the pipe closes.
async fn copy_lines(output: impl AsyncRead + Unpin) {
    let mut frames = FrameReader::new(output, MAX_OUTPUT_LINE);
    // A read error ends the copy, as EOF does.
    while let Ok(Some(frame)) = frames.next_frame().await {
        match frame {
            Frame::Line(line) => log::foreign("", &line),
            Frame::TooLong { len } => {
                log::foreign(
                    "",
                    format!("(a {len}-byte line of output omitted)").as_bytes(),
                );
            }
        }
    }
}

//! Spawn mode: `-- CMD ARGS…` (a simulator, a container runtime publishing a port, a board
//! reset tool) started before connecting, and stopped on every way out.
//!
//! CMD is a rep-process [`Group`]: its own process group, stdin closed, a parent-death
//! signal (SIGKILL from the kernel if the bridge itself is killed). Its stdout and stderr are
//! copied line by line to the bridge's stderr (never to stdout, which carries frames only).
//! [`Spawned`] owns it: [`Spawned::stop`] sends SIGTERM to the group, waits up to
//! [`STOP_GRACE`] for CMD (a second signal to the bridge cuts that short), then SIGKILL to
//! the group; dropping it kills the group at once. What CMD prints once it is being stopped
//! (QEMU's `terminating on signal 15 from pid …`) is expected: logged at debug level
//! ([`log::debug`]).

use std::io;
use std::process::ExitStatus;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use rep_process::{Group, Ladder, Spec, Stdio};
use rep_spec::{Frame, FrameReader};
use tokio::io::AsyncRead;

use crate::log;

/// How long CMD gets to exit after SIGTERM before its group is killed.
pub const STOP_GRACE: Duration = Duration::from_secs(1);
/// How long the stop waits for the last lines of CMD's output to be copied.
const OUTPUT_DRAIN: Duration = Duration::from_millis(500);
/// Longest line of CMD's output copied whole; longer ones are noted, not copied.
const MAX_OUTPUT_LINE: usize = 64 * 1024;

/// The running `-- CMD`.
pub struct Spawned {
    group: Group,
    program: String,
    /// Set when the bridge begins stopping CMD: its output is then expected noise.
    stopping: Arc<AtomicBool>,
    /// The tasks copying CMD's stdout and stderr.
    copies: Vec<tokio::task::JoinHandle<()>>,
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
        let stopping = Arc::new(AtomicBool::new(false));
        let mut copies = Vec::new();
        if let Some(stdout) = group.take_stdout() {
            copies.push(tokio::spawn(copy_lines(stdout, stopping.clone())));
        }
        if let Some(stderr) = group.take_stderr() {
            copies.push(tokio::spawn(copy_lines(stderr, stopping.clone())));
        }
        Ok(Spawned {
            group,
            program: program.clone(),
            stopping,
            copies,
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
    /// What CMD prints from then on is logged at debug level; its last lines are copied
    /// (for at most [`OUTPUT_DRAIN`]) before this returns.
    pub async fn stop(&mut self, skip: impl Future<Output = ()>) {
        self.stopping.store(true, Ordering::SeqCst);
        self.group
            .stop(Ladder::new(Duration::ZERO, STOP_GRACE), skip)
            .await;
        let copies = std::mem::take(&mut self.copies);
        let _ = tokio::time::timeout(OUTPUT_DRAIN, async {
            for copy in copies {
                let _ = copy.await;
            }
        })
        .await;
    }
}

/// Copies CMD's output to the bridge's stderr, line by line, until the pipe closes; at debug
/// level once `stopping` is set.
async fn copy_lines(output: impl AsyncRead + Unpin, stopping: Arc<AtomicBool>) {
    let mut frames = FrameReader::new(output, MAX_OUTPUT_LINE);
    // A read error ends the copy, as EOF does.
    while let Ok(Some(frame)) = frames.next_frame().await {
        let line = match frame {
            Frame::Line(line) => line,
            Frame::TooLong { len } => format!("(a {len}-byte line of output omitted)").into_bytes(),
        };
        if stopping.load(Ordering::SeqCst) {
            log::debug("", &line);
        } else {
            log::foreign("", &line);
        }
    }
}

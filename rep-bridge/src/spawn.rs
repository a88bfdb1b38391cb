//! Spawn mode: `-- CMD ARGS…` (a simulator, a container runtime publishing a port, a board
//! reset tool) started before connecting, and stopped on every way out.
//!
//! CMD runs in its own process group with stdin closed; its stdout and stderr are copied line
//! by line to the bridge's stderr (never to stdout, which carries frames only). [`Spawned`]
//! owns it: [`Spawned::stop`] — also run on drop — sends SIGTERM to the group, waits up to
//! [`STOP_GRACE`] for CMD, then sends SIGKILL to the group and reaps CMD. If the bridge itself
//! is killed, CMD gets SIGKILL from the kernel (parent-death signal).

use std::io::{self, Read};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, killpg};
use nix::sys::wait::{Id, WaitPidFlag, WaitStatus, waitid};
use nix::unistd::Pid;
use rep_spec::{Frame, LineFramer};

use crate::log;

/// How long CMD gets to exit after SIGTERM before its group is killed.
pub const STOP_GRACE: Duration = Duration::from_secs(1);
/// Longest line of CMD's output copied whole; longer ones are noted, not copied.
const MAX_OUTPUT_LINE: usize = 64 * 1024;

/// The running `-- CMD`.
pub struct Spawned {
    child: Child,
    pgid: Pid,
    program: String,
    stopped: bool,
}

impl Spawned {
    /// Starts `command` (program and arguments) in a new process group.
    ///
    /// Must be called on the thread that lives as long as the bridge (the main thread): the
    /// kernel sends the parent-death signal when the *thread* that forked exits.
    ///
    /// # Errors
    /// The program cannot be started (missing, not executable).
    pub fn start(command: &[String]) -> io::Result<Spawned> {
        let (program, args) = command
            .split_first()
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "empty command"))?;
        let mut cmd = Command::new(program);
        cmd.args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0);
        die_with_parent(&mut cmd);
        let mut child = cmd.spawn()?;
        let pid = i32::try_from(child.id()).map_err(io::Error::other)?;
        for output in [
            child
                .stdout
                .take()
                .map(|o| Box::new(o) as Box<dyn Read + Send>),
            child
                .stderr
                .take()
                .map(|o| Box::new(o) as Box<dyn Read + Send>),
        ]
        .into_iter()
        .flatten()
        {
            // If the thread cannot start, CMD's output pipe fills and CMD may block on it:
            // still no worse than losing the output, and the group is killed at the end.
            let _ = std::thread::Builder::new()
                .name("cmd-output".into())
                .spawn(move || copy_lines(output));
        }
        Ok(Spawned {
            child,
            pgid: Pid::from_raw(pid),
            program: program.clone(),
            stopped: false,
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
        self.exit_status().filter(|status| !status.success())
    }

    fn exit_status(&self) -> Option<ExitStatus> {
        let flags = WaitPidFlag::WEXITED | WaitPidFlag::WNOHANG | WaitPidFlag::WNOWAIT;
        match waitid(Id::Pid(self.pgid), flags) {
            Ok(WaitStatus::Exited(_, code)) => Some(ExitStatus::from_raw((code & 0xff) << 8)),
            Ok(WaitStatus::Signaled(_, signal, _)) => Some(ExitStatus::from_raw(signal as i32)),
            _ => None,
        }
    }

    /// Stops CMD and everything in its group: SIGTERM, up to [`STOP_GRACE`] for CMD to exit,
    /// SIGKILL to the group, reap. Idempotent.
    pub fn stop(&mut self) {
        if self.stopped {
            return;
        }
        self.stopped = true;
        // CMD is not reaped yet, so its pid (the group id) cannot have been reused.
        let _ = killpg(self.pgid, Signal::SIGTERM);
        let deadline = Instant::now() + STOP_GRACE;
        while self.exit_status().is_none() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        let _ = killpg(self.pgid, Signal::SIGKILL);
        let _ = self.child.wait();
    }
}

impl Drop for Spawned {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Sets a parent-death signal for the child: SIGKILL when the bridge dies, so a simulator
/// never outlives a bridge killed with SIGKILL (which no handler of ours can see).
#[allow(unsafe_code)]
fn die_with_parent(command: &mut Command) {
    let parent = nix::unistd::getpid();
    // SAFETY: `pre_exec` runs the closure in the forked child before `exec`, where only
    // async-signal-safe work is allowed. It makes two system calls (prctl, getppid), takes
    // no lock and allocates nothing (errors are raw OS errors). The re-check closes the race
    // where the bridge died between fork and prctl: then the child refuses to start.
    unsafe {
        command.pre_exec(move || {
            nix::sys::prctl::set_pdeathsig(Signal::SIGKILL)?;
            if nix::unistd::getppid() != parent {
                return Err(io::Error::from(nix::errno::Errno::ESRCH));
            }
            Ok(())
        });
    }
}

/// Copies CMD's output to the bridge's stderr, line by line, until the pipe closes.
fn copy_lines(mut output: Box<dyn Read + Send>) {
    let mut framer = LineFramer::new(MAX_OUTPUT_LINE);
    let mut frames = Vec::new();
    let mut buf = vec![0u8; 8 * 1024];
    loop {
        let n = match output.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => break,
        };
        framer.feed(&buf[..n], &mut frames);
        frames.drain(..).for_each(log_output);
    }
    framer.finish().into_iter().for_each(log_output);
}

fn log_output(frame: Frame) {
    match frame {
        Frame::Line(line) => log::foreign("", &line),
        Frame::TooLong { len } => log::line(format!("(a {len}-byte line of output omitted)")),
    }
}

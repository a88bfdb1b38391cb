//! A running child and the process group it leads: everything it started that did not leave
//! the group dies with it.
//!
//! Every live group is also in a process-wide registry, so that a binary ending at once (a
//! second interrupt: [`crate::exit_now`]) kills them all without unwinding.

use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;
use std::sync::Mutex;
use std::time::Duration;

use nix::sys::signal::{Signal, killpg};
use nix::sys::wait::{Id, WaitPidFlag, WaitStatus, waitid};
use nix::unistd::Pid;
use tokio::process::{Child, ChildStderr, ChildStdin, ChildStdout};
use tokio::time::Instant;

use crate::ladder::{Ladder, Stoppable, climb};

/// The process groups of this process's live children.
static LIVE: Mutex<Vec<Pid>> = Mutex::new(Vec::new());

/// SIGKILL to every process group this process started and still owns. For a binary
/// leaving at once; [`Group`]'s own methods are the normal way.
pub fn kill_all() {
    let live = LIVE.lock().unwrap_or_else(|p| p.into_inner());
    for &group in live.iter() {
        let _ = killpg(group, Signal::SIGKILL);
    }
}

/// A child leading its own process group (made by [`crate::spawn`]). Dropping it kills the
/// whole group (SIGKILL); the child is reaped by the runtime.
#[derive(Debug)]
pub struct Group {
    child: Child,
    /// The group id: the child's pid.
    pgid: Option<Pid>,
    status: Option<ExitStatus>,
}

impl Group {
    pub(crate) fn new(child: Child) -> Group {
        let pgid = child
            .id()
            .and_then(|id| i32::try_from(id).ok())
            .map(Pid::from_raw);
        if let Some(pgid) = pgid {
            LIVE.lock().unwrap_or_else(|p| p.into_inner()).push(pgid);
        }
        Group {
            child,
            pgid,
            status: None,
        }
    }

    /// The child's process id (also the group's id), `None` once it has been reaped.
    pub fn id(&self) -> Option<u32> {
        self.child.id()
    }

    /// The child's stdin pipe, once (dropping it closes the child's stdin).
    pub fn take_stdin(&mut self) -> Option<ChildStdin> {
        self.child.stdin.take()
    }

    /// The child's stdout pipe, once.
    pub fn take_stdout(&mut self) -> Option<ChildStdout> {
        self.child.stdout.take()
    }

    /// The child's stderr pipe, once.
    pub fn take_stderr(&mut self) -> Option<ChildStderr> {
        self.child.stderr.take()
    }

    /// SIGTERM to the whole group: asks it to stop.
    pub fn terminate(&mut self) {
        self.signal(Signal::SIGTERM);
    }

    /// SIGKILL to the whole group: the child and everything it started that stayed in its
    /// group.
    pub fn kill(&mut self) {
        self.signal(Signal::SIGKILL);
        let _ = self.child.start_kill();
    }

    fn signal(&self, signal: Signal) {
        if let Some(pgid) = self.pgid {
            // ESRCH (already gone) is the expected case after a clean exit. The group id
            // cannot have been reused while any member of the group is alive.
            let _ = killpg(pgid, signal);
        }
    }

    /// Waits until the child exits and returns its status (`None` if it cannot be known).
    /// Cancel-safe; once the child has exited, returns at once.
    pub async fn wait(&mut self) -> Option<ExitStatus> {
        if self.status.is_none() {
            self.status = self.child.wait().await.ok();
        }
        self.status
    }

    /// Waits up to `limit` for the child to exit; its status, or `None` if it still runs.
    pub async fn wait_for(&mut self, limit: Duration) -> Option<ExitStatus> {
        tokio::time::timeout(limit, self.wait())
            .await
            .ok()
            .flatten()
    }

    /// The exit status if the child has exited, without waiting.
    pub fn try_wait(&mut self) -> Option<ExitStatus> {
        if self.status.is_none() {
            self.status = self.child.try_wait().ok().flatten();
        }
        self.status
    }

    /// The exit status if the child has exited, without reaping it: its pid, the group id,
    /// stays reserved until [`Group::stop`] or the drop kills the group.
    pub fn peek(&self) -> Option<ExitStatus> {
        if self.status.is_some() {
            return self.status;
        }
        let pgid = self.pgid?;
        let flags = WaitPidFlag::WEXITED | WaitPidFlag::WNOHANG | WaitPidFlag::WNOWAIT;
        match waitid(Id::Pid(pgid), flags) {
            Ok(WaitStatus::Exited(_, code)) => Some(ExitStatus::from_raw((code & 0xff) << 8)),
            Ok(WaitStatus::Signaled(_, signal, _)) => Some(ExitStatus::from_raw(signal as i32)),
            _ => None,
        }
    }

    /// Stops the group by `ladder`, counted from now (see [`climb`]): SIGTERM, then SIGKILL,
    /// at once when `skip` resolves; returns the child's exit status.
    pub async fn stop(
        &mut self,
        ladder: Ladder,
        skip: impl Future<Output = ()>,
    ) -> Option<ExitStatus> {
        climb(self, ladder, Instant::now(), skip).await
    }
}

impl Stoppable for Group {
    async fn exited(&mut self) -> Option<ExitStatus> {
        self.wait().await
    }

    fn terminate_group(&mut self) {
        self.terminate();
    }

    fn kill_group(&mut self) {
        self.kill();
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        self.kill();
        if let Some(pgid) = self.pgid {
            let mut live = LIVE.lock().unwrap_or_else(|p| p.into_inner());
            live.retain(|&g| g != pgid);
        }
    }
}

//! Starting a child that dies with this process (architecture invariant 4: nothing outlives
//! `tm`, also when `tm` itself is SIGKILLed).
//!
//! The child asks the kernel for SIGKILL when its parent dies (`PR_SET_PDEATHSIG`). The trap:
//! Linux sends that signal when the *thread* that forked the child exits, not the process.
//! Forked from a tokio worker thread (or any thread that ends before the child), the executor
//! would be killed in the middle of a healthy run. So every child is forked by one dedicated
//! thread that lives as long as the process: [`spawn`] hands the command to it and waits for
//! the result.

use std::sync::OnceLock;
use std::sync::mpsc::{Sender, channel};

use nix::errno::Errno;
use nix::sys::prctl::set_pdeathsig;
use nix::sys::signal::Signal;
use nix::unistd::getppid;
use tokio::process::{Child, Command};

/// A spawn request for the forking thread.
struct Job {
    command: Command,
    runtime: tokio::runtime::Handle,
    reply: Sender<std::io::Result<Child>>,
}

/// Spawns `command` from the process's long-lived forking thread, with the parent-death
/// signal armed. Must be called inside a tokio runtime (the child is registered with it).
///
/// # Errors
/// The spawn error; `Interrupted`-kind errors when the forking thread cannot be reached.
pub fn spawn(mut command: Command) -> std::io::Result<Child> {
    die_with_parent(&mut command);
    let runtime = tokio::runtime::Handle::try_current().map_err(std::io::Error::other)?;
    let (reply, answer) = channel();
    let job = Job {
        command,
        runtime,
        reply,
    };
    forking_thread()
        .send(job)
        .map_err(|_| std::io::Error::other("the process-spawning thread is gone"))?;
    answer
        .recv()
        .map_err(|_| std::io::Error::other("the process-spawning thread did not answer"))?
}

/// The forking thread's queue; the thread starts on first use and is never joined.
fn forking_thread() -> &'static Sender<Job> {
    static QUEUE: OnceLock<Sender<Job>> = OnceLock::new();
    QUEUE.get_or_init(|| {
        let (queue, jobs) = channel::<Job>();
        let started = std::thread::Builder::new()
            .name("rep-spawner".into())
            .spawn(move || {
                for mut job in jobs {
                    let _runtime = job.runtime.enter();
                    let _ = job.reply.send(job.command.spawn());
                }
            });
        if let Err(error) = started {
            tracing::warn!("cannot start the process-spawning thread: {error}");
        }
        queue
    })
}

/// Arms `PR_SET_PDEATHSIG` = SIGKILL in the child, between fork and exec, and re-checks the
/// parent afterwards: if this process died before the signal was armed, the child has
/// already been re-parented and must not start (the spawn fails with ESRCH).
///
/// The only `unsafe` of the workspace (the workspace denies `unsafe_code`): `pre_exec` is
/// unsafe because its closure runs in the forked child of a multi-threaded process, where
/// only async-signal-safe operations are allowed. No safe API arms a parent-death signal.
#[allow(unsafe_code)]
fn die_with_parent(command: &mut Command) {
    let parent = nix::unistd::getpid();
    // SAFETY: the closure makes two system calls (prctl, getppid) and builds its errors from
    // raw errno values: no allocation, no lock, nothing that is unsafe after fork.
    unsafe {
        command.pre_exec(move || {
            set_pdeathsig(Signal::SIGKILL)?;
            if getppid() != parent {
                return Err(Errno::ESRCH.into());
            }
            Ok(())
        });
    }
}

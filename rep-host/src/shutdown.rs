//! The one shutdown sequence of an executor (REP v0.1 §2 [clarified]; the README's
//! "Shutdown sequence" tells users the same):
//!
//! - **Run ended** (completed, failed, or stopped cleanly before it started): close stdin,
//!   wait for the exit; SIGTERM to the group at 4 s, SIGKILL at 5 s. Frames still arriving
//!   meanwhile are judged: a second response or an unrequested frame is a 3001.
//! - **Cancel** (engine timeout, first SIGINT/SIGTERM): `Runtime.Cancel` once if a run is
//!   going and the transport is usable, its answer awaited at most [`CANCEL_TIMEOUT`]; close
//!   stdin; SIGTERM at 4 s, SIGKILL at [`SHUTDOWN_GRACE`] = 5 s, counted from the abort.
//! - **Broken** (a transport error, an executor already misbehaving, a request cut off
//!   mid-frame by a timeout or an interrupt): no Cancel; close stdin, SIGTERM after
//!   [`BROKEN_GRACE`] = 2 s, SIGKILL 1 s later.
//! - **Exited** (the executor exited on its own during the run): SIGKILL to what is left of
//!   its group at once.
//!
//! In every case an interrupt arriving during the sequence (the second one, for a
//! cancelled run) skips the waiting: SIGKILL at once. The executor's output is read all
//! along, so an executor blocked writing to a full stdout can still exit. The signals
//! themselves are rep-process's shutdown [`Ladder`]; this module adds what REP asks around
//! it (the Cancel, the judging of late frames).

use std::process::ExitStatus;
use std::time::Duration;

use rep_process::{Interrupts, Ladder, Stoppable, climb};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::time::Instant;

use crate::error::RunError;
use crate::session::Session;

/// How long the host waits for the answer to its one `Runtime.Cancel`, counted from the
/// abort.
pub const CANCEL_TIMEOUT: Duration = Duration::from_secs(2);
/// From the abort (or the end of the run) to SIGKILL of the executor's process group, at
/// most (REP v0.1 §2: 5 s).
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);
/// SIGTERM goes to the group this long before SIGKILL.
pub const TERM_BEFORE_KILL: Duration = Duration::from_secs(1);
/// After a broken transport, how long the executor may take to exit once stdin is closed
/// before SIGTERM (REP v0.1 §2 [clarified]: at most 2 s).
pub const BROKEN_GRACE: Duration = Duration::from_secs(2);
/// How long frames already written by an exited executor are still read.
const LATE_FRAMES_WAIT: Duration = Duration::from_millis(50);

/// What the runner needs from a running executor besides its byte streams: notice its exit
/// and signal it. Implemented by [`ExecutorProcess`](crate::ExecutorProcess); tests implement
/// it for in-memory executors.
pub trait ExecutorHandle {
    /// The executor, for messages (its path).
    fn name(&self) -> String;
    /// What the executor's exit `status` says beyond itself, e.g. the sandbox limit that
    /// stopped it (a SIGXCPU after `cpu_seconds`). None by default.
    fn explain_exit(&self, status: ExitStatus) -> Option<String> {
        let _ = status;
        None
    }
    /// Resolves when the executor has exited, with its status when known. Cancel-safe; once
    /// the executor has exited, resolves at once.
    fn exited(&mut self) -> impl Future<Output = Option<ExitStatus>>;
    /// Asks the executor (its whole process group) to stop: SIGTERM.
    fn terminate_group(&mut self);
    /// Stops the executor (its whole process group) at once: SIGKILL.
    fn kill_group(&mut self);
    /// Waits up to `limit` for the rest of the executor's stderr, then returns its last lines,
    /// oldest first.
    fn last_stderr(&mut self, limit: Duration) -> impl Future<Output = Vec<String>>;
}

/// How the run phase ended, which picks the shutdown path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ending {
    /// The run ended, or stopped cleanly before it started.
    RunEnded,
    /// Engine timeout or interrupt; `run_id` is the run to cancel, if one was started.
    Cancel {
        /// The executor's run id, when StartRun had been answered.
        run_id: Option<String>,
    },
    /// A broken transport or a misbehaving executor.
    Broken,
    /// The executor exited on its own.
    Exited,
}

/// Runs the shutdown sequence for `ending`; returns the 3001 error for a frame the
/// executor wrote after its run ended (only judged for [`Ending::RunEnded`]).
pub async fn shut_down<E, R, W>(
    session: &mut Session<R, W>,
    executor: &mut E,
    ending: Ending,
    interrupts: &mut Interrupts,
) -> Option<RunError>
where
    E: ExecutorHandle,
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let start = Instant::now();
    // A request cut off mid-frame (a timeout or an interrupt while the executor was not
    // reading) leaves a broken transport: no Cancel can follow, and nothing is left to wind
    // down gracefully.
    let ending = match ending {
        Ending::Cancel { .. } if !session.client().is_usable() => Ending::Broken,
        ending => ending,
    };
    let mut ladder = match &ending {
        Ending::RunEnded | Ending::Cancel { .. } => {
            Ladder::new(SHUTDOWN_GRACE - TERM_BEFORE_KILL, SHUTDOWN_GRACE)
        }
        Ending::Broken => Ladder::new(BROKEN_GRACE, BROKEN_GRACE + TERM_BEFORE_KILL),
        Ending::Exited => Ladder::NOW,
    };
    if let Ending::Cancel {
        run_id: Some(run_id),
    } = &ending
        && session.client().is_usable()
    {
        let cancel = session.cancel(run_id, start + CANCEL_TIMEOUT);
        tokio::select! {
            answer = cancel => {
                if let Err(error) = answer {
                    tracing::debug!("Runtime.Cancel: {error}");
                }
            }
            _ = executor.exited() => {}
            _ = interrupts.next() => ladder = Ladder::NOW,
        }
    }
    session.client().close().await;
    let judge = ending == Ending::RunEnded;
    let mut late = None;
    let mut draining = true;
    {
        let mut stoppable = AsStoppable(&mut *executor);
        let second = async {
            interrupts.next().await;
        };
        let stopped = climb(&mut stoppable, ladder, start, second);
        tokio::pin!(stopped);
        loop {
            tokio::select! {
                biased;
                _ = &mut stopped => break,
                drained = session.client().drain(), if draining => {
                    draining = false;
                    if judge && let Err(error) = drained {
                        late = Some(error);
                    }
                }
            }
        }
    }
    if judge
        && draining
        && let Ok(Err(error)) =
            tokio::time::timeout(LATE_FRAMES_WAIT, session.client().drain()).await
    {
        late = Some(error);
    }
    late
}

/// An [`ExecutorHandle`] as rep-process's ladder sees it.
struct AsStoppable<'a, E>(&'a mut E);

impl<E: ExecutorHandle> Stoppable for AsStoppable<'_, E> {
    fn exited(&mut self) -> impl Future<Output = Option<ExitStatus>> {
        self.0.exited()
    }

    fn terminate_group(&mut self) {
        tracing::debug!("executor still running: SIGTERM to its process group");
        self.0.terminate_group();
    }

    fn kill_group(&mut self) {
        self.0.kill_group();
    }
}

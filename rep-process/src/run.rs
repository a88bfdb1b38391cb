//! Helper commands run to their end, bounded in time and output: the TraceMind compiler, the
//! version probe of TraceMind's CLI, the checks of `tm executor check`.
//!
//! The command runs in its own process group with stdin closed; its stdout and stderr are
//! read as they come, the first `max_output` bytes of each kept and the rest read and
//! dropped, so a chatty command never blocks on a full pipe. When it exits, whatever is
//! left of its group is killed. At the timeout the group is killed. On an interrupt it gets
//! SIGTERM, and SIGKILL [`INTERRUPT_GRACE`] later or at a second interrupt.

use std::process::ExitStatus;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::task::JoinHandle;
use tokio::time::{Instant, timeout_at};

use crate::ladder::Ladder;
use crate::signals::{Interrupt, Interrupts};
use crate::spawn::{Spec, Stdio, spawn};

/// After an interrupt, how long a helper command has to exit on SIGTERM before SIGKILL:
/// enough for a `tm` child to end its own run (5 s).
pub const INTERRUPT_GRACE: Duration = Duration::from_secs(6);

/// Once the command has exited, how long its output is still read (a descendant that left
/// its group may hold the pipes open).
const OUTPUT_DRAIN_WAIT: Duration = Duration::from_millis(200);

/// What a helper command did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    /// Its exit status.
    pub status: ExitStatus,
    /// The first `max_output` bytes of its stdout.
    pub stdout: Vec<u8>,
    /// The first `max_output` bytes of its stderr.
    pub stderr: Vec<u8>,
}

/// Why a helper command gave no [`Output`].
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// It could not be started.
    #[error("{0}")]
    Spawn(std::io::Error),
    /// It did not finish in time (its group was killed).
    #[error("did not finish within {} s", .0.as_secs_f64())]
    TimedOut(Duration),
    /// An interrupt arrived (its group was stopped).
    #[error("interrupted ({})", .0.name())]
    Interrupted(Interrupt),
}

/// Runs `spec` (stdin `/dev/null`, stdout and stderr read by this function) to its end,
/// within `timeout`, keeping at most `max_output` bytes of each output; see the module.
///
/// # Errors
/// [`RunError`]: not startable, timed out, interrupted.
pub async fn run(
    spec: &Spec,
    timeout: Duration,
    max_output: usize,
    interrupts: &mut Interrupts,
) -> Result<Output, RunError> {
    let deadline = Instant::now() + timeout;
    let spec = spec
        .clone()
        .stdin(Stdio::Null)
        .stdout(Stdio::Piped)
        .stderr(Stdio::Piped);
    let mut group = spawn(&spec).map_err(RunError::Spawn)?;
    let stdout = read_bounded(group.take_stdout(), max_output);
    let stderr = read_bounded(group.take_stderr(), max_output);
    let status = tokio::select! {
        biased;
        status = group.wait() => status,
        () = tokio::time::sleep_until(deadline) => None,
        interrupt = interrupts.next() => {
            let second = async {
                interrupts.next().await;
            };
            group.stop(Ladder::new(Duration::ZERO, INTERRUPT_GRACE), second).await;
            stdout.abort();
            stderr.abort();
            return Err(RunError::Interrupted(interrupt));
        }
    };
    // Whatever it left in its group goes with it.
    group.kill();
    let Some(status) = status else {
        stdout.abort();
        stderr.abort();
        return Err(RunError::TimedOut(timeout));
    };
    let drained = (Instant::now() + OUTPUT_DRAIN_WAIT).min(deadline.max(Instant::now()));
    Ok(Output {
        status,
        stdout: collect(stdout, drained).await,
        stderr: collect(stderr, drained).await,
    })
}

/// [`run`] from synchronous code, on a runtime of its own, with no interrupts (the caller's
/// signals keep their default action).
///
/// # Errors
/// As [`run`]; the runtime cannot be started ([`RunError::Spawn`]).
pub fn run_blocking(spec: &Spec, timeout: Duration, max_output: usize) -> Result<Output, RunError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(RunError::Spawn)?;
    runtime.block_on(run(spec, timeout, max_output, &mut Interrupts::none()))
}

/// A pipe being read on a task: what was kept so far, and the task.
struct Reading {
    kept: Arc<Mutex<Vec<u8>>>,
    task: JoinHandle<()>,
}

impl Reading {
    fn abort(&self) {
        self.task.abort();
    }
}

/// Reads `pipe` to its end on a task, keeping its first `max` bytes as they come.
fn read_bounded<R>(pipe: Option<R>, max: usize) -> Reading
where
    R: AsyncRead + Unpin + Send + 'static,
{
    let kept = Arc::new(Mutex::new(Vec::new()));
    let shared = kept.clone();
    let task = tokio::spawn(async move {
        let Some(mut pipe) = pipe else { return };
        let mut chunk = vec![0u8; 16 * 1024];
        loop {
            let n = match pipe.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            let mut kept = shared.lock().unwrap_or_else(|p| p.into_inner());
            let room = max.saturating_sub(kept.len());
            kept.extend_from_slice(&chunk[..n.min(room)]);
        }
    });
    Reading { kept, task }
}

/// What `reading` kept, once it reached the end of its pipe or `until` passed.
async fn collect(reading: Reading, until: Instant) -> Vec<u8> {
    let Reading { kept, task } = reading;
    let abort = task.abort_handle();
    if timeout_at(until, task).await.is_err() {
        abort.abort();
    }
    std::mem::take(&mut *kept.lock().unwrap_or_else(|p| p.into_inner()))
}

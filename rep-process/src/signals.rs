//! Requests from outside to stop: SIGINT, SIGTERM and SIGHUP, the same way in every binary.
//! The first one cancels what runs (each binary says how, within its documented bound); a
//! second one stops the waiting: [`exit_now`] kills every process group this process
//! started and exits at once. The exit code is 128 + the signal: 130, 143, 129.

use std::collections::VecDeque;
use std::time::Duration;

use tokio::sync::mpsc;

use crate::group::kill_all;
use crate::sink::stderr_sink;

/// How long [`exit_now`] lets the stderr sink write its last lines.
const EXIT_FLUSH_WAIT: Duration = Duration::from_millis(200);

/// A request from outside to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interrupt {
    /// SIGINT (Ctrl-C): exit code 130.
    Sigint,
    /// SIGTERM (`kill`, a service manager, a container stopping): exit code 143.
    Sigterm,
    /// SIGHUP (the terminal closed, an ssh connection dropped): exit code 129.
    Sighup,
}

impl Interrupt {
    /// The exit code after this signal: 128 + its number (130, 143, 129), as a shell reports
    /// it.
    pub fn exit_code(self) -> u8 {
        match self {
            Interrupt::Sigint => 130,
            Interrupt::Sigterm => 143,
            Interrupt::Sighup => 129,
        }
    }

    /// `SIGINT`, `SIGTERM` or `SIGHUP`.
    pub fn name(self) -> &'static str {
        match self {
            Interrupt::Sigint => "SIGINT",
            Interrupt::Sigterm => "SIGTERM",
            Interrupt::Sighup => "SIGHUP",
        }
    }
}

/// The interrupts a task listens to: none, this process's signals, or a channel.
#[derive(Debug)]
pub struct Interrupts {
    rx: Option<mpsc::UnboundedReceiver<Interrupt>>,
    /// Arrived, not yet taken by [`Interrupts::next`].
    pending: VecDeque<Interrupt>,
    /// The first one that arrived.
    first: Option<Interrupt>,
}

/// Sends [`Interrupt`]s to the [`Interrupts`] made with it by [`Interrupts::channel`].
#[derive(Debug, Clone)]
pub struct InterruptSender(mpsc::UnboundedSender<Interrupt>);

impl InterruptSender {
    /// Delivers `interrupt` (ignored once nobody listens).
    pub fn send(&self, interrupt: Interrupt) {
        let _ = self.0.send(interrupt);
    }
}

impl Interrupts {
    /// No interrupt ever arrives.
    pub fn none() -> Interrupts {
        Interrupts {
            rx: None,
            pending: VecDeque::new(),
            first: None,
        }
    }

    /// Interrupts delivered by hand (tests, embedders with their own signal handling).
    pub fn channel() -> (InterruptSender, Interrupts) {
        let (tx, rx) = mpsc::unbounded_channel();
        let mut interrupts = Interrupts::none();
        interrupts.rx = Some(rx);
        (InterruptSender(tx), interrupts)
    }

    /// This process's SIGINT, SIGTERM and SIGHUP, every time they arrive. The handlers are
    /// installed now (a signal arriving at once is not lost); must be called inside a tokio
    /// runtime. When they cannot be installed, no interrupt ever arrives and the signals
    /// keep their default action (they end the process).
    pub fn from_signals() -> Interrupts {
        use tokio::signal::unix::{SignalKind, signal};
        let (sender, interrupts) = Interrupts::channel();
        let streams = (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
            signal(SignalKind::hangup()),
        );
        let (Ok(mut int), Ok(mut term), Ok(mut hup)) = streams else {
            stderr_sink().own_line("warning: cannot install signal handlers");
            return Interrupts::none();
        };
        tokio::spawn(async move {
            loop {
                let interrupt = tokio::select! {
                    Some(()) = int.recv() => Interrupt::Sigint,
                    Some(()) = term.recv() => Interrupt::Sigterm,
                    Some(()) = hup.recv() => Interrupt::Sighup,
                    else => return,
                };
                sender.send(interrupt);
            }
        });
        interrupts
    }

    /// The next interrupt; never resolves if none comes. Cancel-safe.
    pub async fn next(&mut self) -> Interrupt {
        if let Some(interrupt) = self.pending.pop_front() {
            return interrupt;
        }
        if let Some(rx) = self.rx.as_mut()
            && let Some(interrupt) = rx.recv().await
        {
            self.first.get_or_insert(interrupt);
            return interrupt;
        }
        self.rx = None;
        std::future::pending().await
    }

    /// The first interrupt that arrived so far, taken by [`Interrupts::next`] or not: once
    /// one has, nothing should wait long any more (a stalled reader of the last output).
    pub fn received(&mut self) -> Option<Interrupt> {
        if let Some(rx) = self.rx.as_mut() {
            while let Ok(interrupt) = rx.try_recv() {
                self.first.get_or_insert(interrupt);
                self.pending.push_back(interrupt);
            }
        }
        self.first
    }
}

/// Runs `work` (blocking: a write to a pipe whose reader may stall) on a thread of its own
/// and waits for it or for the next interrupt, whichever comes first: a stalled reader can
/// never make a signal wait. After an interrupt the work goes on in the background until it
/// ends or the process exits.
pub async fn unless_interrupted<T: Send + 'static>(
    interrupts: &mut Interrupts,
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, Interrupt> {
    let (done, finished) = tokio::sync::oneshot::channel();
    let work = std::sync::Arc::new(std::sync::Mutex::new(Some(work)));
    let theirs = work.clone();
    let spawned = std::thread::Builder::new()
        .name("blocking".into())
        .spawn(move || {
            let work = theirs.lock().ok().and_then(|mut w| w.take());
            if let Some(work) = work {
                let _ = done.send(work());
            }
        });
    if spawned.is_err() {
        // No thread to be had: the work runs here (still done, only not interruptible).
        let work = work.lock().ok().and_then(|mut w| w.take());
        if let Some(work) = work {
            return Ok(work());
        }
    }
    tokio::select! {
        result = finished => match result {
            Ok(value) => Ok(value),
            // The thread panicked: nothing will come but an interrupt.
            Err(_) => Err(interrupts.next().await),
        },
        interrupt = interrupts.next() => Err(interrupt),
    }
}

/// Ends this process at once after `interrupt`: SIGKILL to every process group it started
/// (their escaped descendants are swept by [`crate::sweep_orphans`] only on the normal way
/// out), the last stderr lines written (bounded), exit code 128 + the signal.
pub fn exit_now(interrupt: Interrupt) -> ! {
    kill_all();
    stderr_sink().flush(EXIT_FLUSH_WAIT);
    std::process::exit(i32::from(interrupt.exit_code()));
}

/// For a program without an async runtime of its own (`rep-replay`): a thread that waits for
/// SIGINT, SIGTERM or SIGHUP and then calls [`exit_now`]. The handlers are installed before
/// this returns.
///
/// # Errors
/// The thread or its runtime cannot be started, or the handlers cannot be installed.
pub fn exit_on_signals() -> std::io::Result<()> {
    let (ready_tx, ready) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build();
            let runtime = match runtime {
                Ok(runtime) => runtime,
                Err(e) => return drop(ready_tx.send(Err(e))),
            };
            runtime.block_on(async {
                use tokio::signal::unix::{SignalKind, signal};
                let streams = (
                    signal(SignalKind::interrupt()),
                    signal(SignalKind::terminate()),
                    signal(SignalKind::hangup()),
                );
                let (mut int, mut term, mut hup) = match streams {
                    (Ok(int), Ok(term), Ok(hup)) => (int, term, hup),
                    (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => {
                        return drop(ready_tx.send(Err(e)));
                    }
                };
                let _ = ready_tx.send(Ok(()));
                let interrupt = tokio::select! {
                    _ = int.recv() => Interrupt::Sigint,
                    _ = term.recv() => Interrupt::Sigterm,
                    _ = hup.recv() => Interrupt::Sighup,
                };
                exit_now(interrupt);
            });
        })?;
    ready
        .recv()
        .map_err(|_| std::io::Error::other("the signal thread did not start"))?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_interrupt_is_remembered_once_taken_and_seen_before() {
        let (sender, mut interrupts) = Interrupts::channel();
        assert_eq!(interrupts.received(), None);
        sender.send(Interrupt::Sighup);
        sender.send(Interrupt::Sigint);
        assert_eq!(interrupts.received(), Some(Interrupt::Sighup));
        assert_eq!(interrupts.next().await, Interrupt::Sighup);
        assert_eq!(interrupts.next().await, Interrupt::Sigint);
        assert_eq!(interrupts.received(), Some(Interrupt::Sighup));
    }

    #[test]
    fn exit_codes_follow_the_shell_convention() {
        assert_eq!(Interrupt::Sigint.exit_code(), 128 + 2);
        assert_eq!(Interrupt::Sigterm.exit_code(), 128 + 15);
        assert_eq!(Interrupt::Sighup.exit_code(), 128 + 1);
    }
}

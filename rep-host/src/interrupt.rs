//! Requests from outside to stop a run: SIGINT and SIGTERM, as a stream. The first one
//! cancels the run; a second one skips the waiting (the convention of cargo and most CLIs).

use tokio::sync::mpsc;

/// A request from outside to stop the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interrupt {
    /// SIGINT (Ctrl-C): exit code 130.
    Sigint,
    /// SIGTERM: exit code 143.
    Sigterm,
}

/// The interrupts a run listens to: none, the process's SIGINT/SIGTERM, or a channel.
#[derive(Debug)]
pub struct Interrupts {
    rx: Option<mpsc::UnboundedReceiver<Interrupt>>,
}

/// Sends [`Interrupt`]s to the [`Interrupts`] made with it by [`Interrupts::channel`].
#[derive(Debug, Clone)]
pub struct InterruptSender(mpsc::UnboundedSender<Interrupt>);

impl InterruptSender {
    /// Delivers `interrupt` (ignored once the run has ended).
    pub fn send(&self, interrupt: Interrupt) {
        let _ = self.0.send(interrupt);
    }
}

impl Interrupts {
    /// No interrupt ever arrives.
    pub fn none() -> Interrupts {
        Interrupts { rx: None }
    }

    /// Interrupts delivered by hand (tests, embedders with their own signal handling).
    pub fn channel() -> (InterruptSender, Interrupts) {
        let (tx, rx) = mpsc::unbounded_channel();
        (InterruptSender(tx), Interrupts { rx: Some(rx) })
    }

    /// This process's SIGINT and SIGTERM, every time they arrive. The handlers are installed
    /// now (so a signal arriving at once is not lost); must be called inside a tokio runtime.
    /// When they cannot be installed this warns and no interrupt ever arrives.
    pub fn from_signals() -> Interrupts {
        use tokio::signal::unix::{SignalKind, signal};
        let (sender, interrupts) = Interrupts::channel();
        match (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
        ) {
            (Ok(mut int), Ok(mut term)) => {
                tokio::spawn(async move {
                    loop {
                        let interrupt = tokio::select! {
                            Some(()) = int.recv() => Interrupt::Sigint,
                            Some(()) = term.recv() => Interrupt::Sigterm,
                            else => return,
                        };
                        sender.send(interrupt);
                    }
                });
                interrupts
            }
            _ => {
                tracing::warn!(
                    "cannot install signal handlers; SIGINT/SIGTERM will not cancel the run"
                );
                Interrupts::none()
            }
        }
    }

    /// The next interrupt; never resolves if none comes. Cancel-safe.
    pub async fn next(&mut self) -> Interrupt {
        if let Some(rx) = self.rx.as_mut()
            && let Some(interrupt) = rx.recv().await
        {
            return interrupt;
        }
        self.rx = None;
        std::future::pending().await
    }
}

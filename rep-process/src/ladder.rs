//! The shutdown ladder: from "please exit" to "gone", bounded in time whatever the process
//! does. Wait for it to exit; SIGTERM to its group at one rung, SIGKILL at the next; a
//! `skip` (a second interrupt) jumps to SIGKILL at once. Whatever is left of the group is
//! killed at the end in every case, and the child is reaped (waiting at most
//! [`REAP_WAIT`]).

use std::process::ExitStatus;
use std::time::Duration;

use tokio::time::{Instant, sleep_until};

/// How long a SIGKILLed process is waited for (it cannot refuse; this only bounds a process
/// stuck in the kernel).
pub const REAP_WAIT: Duration = Duration::from_secs(1);

/// When SIGTERM and SIGKILL go to the group, counted from the start of the shutdown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ladder {
    /// SIGTERM at this point (skipped when it is not before `kill_after`).
    pub term_after: Duration,
    /// SIGKILL at this point.
    pub kill_after: Duration,
}

impl Ladder {
    /// SIGTERM at `term_after`, SIGKILL at `kill_after`.
    pub const fn new(term_after: Duration, kill_after: Duration) -> Ladder {
        Ladder {
            term_after,
            kill_after,
        }
    }

    /// No SIGTERM: SIGKILL at `after` if the process has not exited by then.
    pub const fn kill_after(after: Duration) -> Ladder {
        Ladder::new(after, after)
    }

    /// SIGKILL at once.
    pub const NOW: Ladder = Ladder::kill_after(Duration::ZERO);
}

/// What a shutdown needs of a running process: notice its exit and signal it.
pub trait Stoppable {
    /// Resolves when the process has exited, with its status when known. Cancel-safe; once
    /// the process has exited, resolves at once.
    fn exited(&mut self) -> impl Future<Output = Option<ExitStatus>>;
    /// SIGTERM to its whole group.
    fn terminate_group(&mut self);
    /// SIGKILL to its whole group.
    fn kill_group(&mut self);
}

/// Climbs `ladder` from `start`: waits for `process` to exit, sends SIGTERM and SIGKILL when
/// their time comes, or SIGKILL as soon as `skip` resolves; then SIGKILL to what is left of
/// the group and a reap bounded by [`REAP_WAIT`]. Returns the exit status, when known.
pub async fn climb<S: Stoppable + ?Sized>(
    process: &mut S,
    ladder: Ladder,
    start: Instant,
    skip: impl Future<Output = ()>,
) -> Option<ExitStatus> {
    let term_at = start + ladder.term_after;
    let kill_at = start + ladder.kill_after;
    let mut terminated = ladder.term_after >= ladder.kill_after;
    tokio::pin!(skip);
    let mut status = None;
    loop {
        tokio::select! {
            biased;
            exited = process.exited() => {
                status = exited;
                break;
            }
            () = &mut skip => break,
            () = sleep_until(term_at), if !terminated => {
                process.terminate_group();
                terminated = true;
            }
            () = sleep_until(kill_at) => break,
        }
    }
    // Whatever is left of the group (the child, descendants holding its pipes) goes too.
    process.kill_group();
    match status {
        Some(status) => Some(status),
        None => tokio::time::timeout(REAP_WAIT, process.exited())
            .await
            .ok()
            .flatten(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A process that exits on the signals it honours.
    #[derive(Default)]
    struct Fake {
        honours_term: bool,
        signals: Vec<(&'static str, Duration)>,
        exited: bool,
        start: Option<Instant>,
    }

    impl Stoppable for Fake {
        async fn exited(&mut self) -> Option<ExitStatus> {
            if self.exited {
                return Some(std::os::unix::process::ExitStatusExt::from_raw(0));
            }
            std::future::pending().await
        }
        fn terminate_group(&mut self) {
            self.signals.push(("TERM", self.start.unwrap().elapsed()));
            self.exited |= self.honours_term;
        }
        fn kill_group(&mut self) {
            self.signals.push(("KILL", self.start.unwrap().elapsed()));
            self.exited = true;
        }
    }

    #[tokio::test(start_paused = true)]
    async fn term_then_kill_on_time() {
        let start = Instant::now();
        let mut fake = Fake {
            start: Some(start),
            ..Fake::default()
        };
        let ladder = Ladder::new(Duration::from_secs(4), Duration::from_secs(5));
        climb(&mut fake, ladder, start, std::future::pending()).await;
        assert_eq!(
            fake.signals,
            [
                ("TERM", Duration::from_secs(4)),
                ("KILL", Duration::from_secs(5))
            ]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_process_honouring_sigterm_is_not_killed_late() {
        let start = Instant::now();
        let mut fake = Fake {
            start: Some(start),
            honours_term: true,
            ..Fake::default()
        };
        climb(
            &mut fake,
            Ladder::new(Duration::from_secs(2), Duration::from_secs(3)),
            start,
            std::future::pending(),
        )
        .await;
        assert_eq!(
            fake.signals,
            [
                ("TERM", Duration::from_secs(2)),
                ("KILL", Duration::from_secs(2))
            ]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn skip_kills_at_once() {
        let start = Instant::now();
        let mut fake = Fake {
            start: Some(start),
            ..Fake::default()
        };
        let skip = tokio::time::sleep(Duration::from_millis(300));
        climb(
            &mut fake,
            Ladder::new(Duration::from_secs(4), Duration::from_secs(5)),
            start,
            skip,
        )
        .await;
        assert_eq!(fake.signals, [("KILL", Duration::from_millis(300))]);
    }
}

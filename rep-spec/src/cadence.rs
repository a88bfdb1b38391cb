//! How often a host polls a run (REP v0.1 §3 leaves the interval to the host): the one
//! back-off of every REP host in this workspace — `tm`'s runner, `rep-conformance`'s tests
//! and its replays.
//!
//! Polls follow each other at once while they return events (a busy run is drained as fast
//! as the executor answers); after a Poll without events the pause starts at
//! [`PollCadence::min`] and doubles up to [`PollCadence::max`] (a waiting run costs a few
//! Polls a second and its end is seen within `max`).

use std::time::Duration;

/// The pauses between the Polls of one run. Pure: it says how long to wait, the caller
/// waits (on its own clock, under its own deadline).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PollCadence {
    /// The first pause after a Poll without events.
    pub min: Duration,
    /// The longest pause.
    pub max: Duration,
}

impl PollCadence {
    /// The cadence of every host in this workspace: 0.5 ms doubling to 8 ms. A run's end is
    /// seen within about 8 ms, for about 1.3 % of one core while a step waits (measured in
    /// BENCHMARKS.md).
    pub const HOST: PollCadence = PollCadence {
        min: Duration::from_micros(500),
        max: Duration::from_millis(8),
    };

    /// A fresh back-off: the first Poll goes out at once.
    pub fn start(self) -> PollBackoff {
        PollBackoff {
            cadence: self,
            pause: Duration::ZERO,
        }
    }
}

impl Default for PollCadence {
    fn default() -> PollCadence {
        PollCadence::HOST
    }
}

/// The back-off state of one run's Polls ([`PollCadence::start`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PollBackoff {
    cadence: PollCadence,
    pause: Duration,
}

impl PollBackoff {
    /// The pause before the next Poll, given whether the last one returned events: none
    /// after events, else [`PollCadence::min`] doubling up to [`PollCadence::max`].
    pub fn after(&mut self, had_events: bool) -> Duration {
        self.pause = if had_events {
            Duration::ZERO
        } else if self.pause.is_zero() {
            self.cadence.min
        } else {
            (self.pause * 2).min(self.cadence.max)
        };
        self.pause
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_polls_back_off_and_events_reset_the_pause() {
        let ms = Duration::from_millis;
        let mut backoff = PollCadence {
            min: ms(1),
            max: ms(5),
        }
        .start();
        let pauses: Vec<Duration> = [false, false, false, false, true, false]
            .into_iter()
            .map(|had_events| backoff.after(had_events))
            .collect();
        assert_eq!(pauses, [ms(1), ms(2), ms(4), ms(5), ms(0), ms(1)]);
    }

    #[test]
    fn the_host_cadence_is_the_documented_one() {
        let mut backoff = PollCadence::HOST.start();
        assert_eq!(backoff.after(false), Duration::from_micros(500));
        let last = (0..10).map(|_| backoff.after(false)).last();
        assert_eq!(last, Some(Duration::from_millis(8)));
    }
}

//! Observers of a run: the `--events-jsonl` writer and the TTY progress line.

use std::borrow::Cow;
use std::collections::HashMap;
use std::io::IsTerminal;
use std::path::Path;
use std::time::{Duration, Instant};

use anstyle::{AnsiColor, Color, Style};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rep_files::{Mode, OutputFile, Report, WriteError};
use rep_process::{Interrupt, stderr_sink};
use rep_spec::{RunStatus, StepState};
use serde_json::value::RawValue;

use crate::error::Cause;
use crate::runner::{Observer, Outcome};

/// Bytes of events waiting for a slow `--events-jsonl` reader, at most: more are dropped
/// and counted, never waited for.
pub const EVENTS_QUEUE_BYTES: usize = 64 * 1024 * 1024;

/// How long the end of a run waits for an output file (`--events-jsonl`, `--record`) whose
/// writer makes no progress before what is left is reported as not written.
pub const OUTPUT_STALL: Duration = Duration::from_secs(2);

/// Appends every event to a file as JSON Lines as it arrives, so a killed host still leaves
/// on disk every event it had received. Each line is
/// `{"run_id": "<run id>", "event": <the event exactly as the executor sent it>}`, so that the
/// runs appended to one file can be told apart. Lines are written whole, by rep-files'
/// [`OutputFile`]: a reader that stalls (a FIFO, `/dev/stdout | sleep`) costs events, counted
/// by [`EventsJsonl::finish`], never the run's time. Clones share the file.
#[derive(Clone)]
pub struct EventsJsonl {
    out: OutputFile,
    /// `{"run_id":"…","event":` for the run being observed.
    prefix: Vec<u8>,
}

impl EventsJsonl {
    /// Opens `path` for appending (a regular file is created if missing; a FIFO or a
    /// character device is written in place, a FIFO nobody reads yet being waited for by
    /// the writer, not by the run).
    ///
    /// # Errors
    /// [`WriteError`]: no such folder, a directory, no permission.
    pub fn open(path: &Path) -> Result<EventsJsonl, WriteError> {
        Ok(EventsJsonl {
            out: OutputFile::open(path, Mode::Append, EVENTS_QUEUE_BYTES)?,
            prefix: line_prefix(""),
        })
    }

    /// Waits (while the writer makes progress, giving up after `stall` without) for every
    /// event to be written; reports how many were not.
    pub fn finish(&self, stall: Duration) -> Report {
        self.out.finish(stall)
    }

    /// Stops writing at once (a second interrupt while the run's outputs are finished).
    pub fn abandon(&self) {
        self.out.abandon();
    }
}

fn line_prefix(run_id: &str) -> Vec<u8> {
    let mut prefix = b"{\"run_id\":".to_vec();
    // A string always serializes.
    let _ = serde_json::to_writer(&mut prefix, run_id);
    prefix.extend_from_slice(b",\"event\":");
    prefix
}

impl Observer for EventsJsonl {
    fn on_run_started(&mut self, run_id: &str) {
        self.prefix = line_prefix(run_id);
    }

    fn on_events(&mut self, events: &[Box<RawValue>]) {
        // An event is one line of the executor's stdout: its text holds no newline.
        let size: usize = events
            .iter()
            .map(|e| self.prefix.len() + e.get().len() + 2)
            .sum();
        let mut lines = Vec::with_capacity(size);
        for event in events {
            lines.extend_from_slice(&self.prefix);
            lines.extend_from_slice(event.get().as_bytes());
            lines.extend_from_slice(b"}\n");
        }
        self.out.push(lines, events.len() as u64);
    }
}

/// A progress line on stderr, drawn only when stderr is a terminal: elapsed time, steps done
/// out of the flow's nodes, and the step running now with its attempt when the node may be
/// retried (`write (attempt 2/3)`). A step counts as done when its final event arrives: it
/// succeeded, or it failed for the last time (its last allowed attempt, or the run ended after
/// its failure) — event by event, also within one Poll's batch. The line
/// is cleared on interrupt and when the run ends; [`Progress::print_summary`] then writes one
/// summary line: `completed: 6 steps in 12 ms`.
pub struct Progress {
    bar: ProgressBar,
    /// Attempts each node may take (`retry.max + 1`), by node id.
    attempts: HashMap<String, u32>,
    /// The last state of each step seen, with its attempt.
    last: HashMap<String, (StepState, u32)>,
    /// Steps of `last` done ([`Progress::is_done`]), kept as events arrive.
    done: u64,
    started: Instant,
    color: bool,
    /// The summary line, once the run ended.
    summary: Option<String>,
}

impl Progress {
    /// A progress line for a flow whose nodes are `nodes` (`(id, attempts)`, attempts being
    /// `retry.max + 1`), with a colored summary when `color`; `None` when stderr is not a
    /// terminal.
    pub fn on_tty(nodes: impl IntoIterator<Item = (String, u32)>, color: bool) -> Option<Progress> {
        if !std::io::stderr().is_terminal() {
            return None;
        }
        let attempts: HashMap<String, u32> = nodes.into_iter().collect();
        let bar = ProgressBar::with_draw_target(
            Some(attempts.len() as u64),
            ProgressDrawTarget::stderr(),
        );
        bar.set_style(style());
        bar.enable_steady_tick(Duration::from_millis(120));
        Some(Progress {
            bar,
            attempts,
            last: HashMap::new(),
            done: 0,
            started: Instant::now(),
            color,
            summary: None,
        })
    }

    /// Writes the summary line (`completed: 6 steps in 12 ms`, colored when asked) to stderr,
    /// once the run ended; the caller picks the moment, e.g. after the result is printed.
    pub fn print_summary(&self) {
        if let Some(line) = &self.summary {
            stderr_sink().own_line(line);
        }
    }

    fn allowed(&self, step: &str) -> u32 {
        self.attempts.get(step).copied().unwrap_or(1).max(1)
    }

    /// `step`, or `step (attempt n/max)` for a node that may be retried.
    fn label(&self, step: &str, attempt: u32) -> String {
        match self.allowed(step) {
            1 => step.to_owned(),
            max => format!("{step} (attempt {attempt}/{max})"),
        }
    }

    /// Whether `step` is done while the run goes on in `state` after `attempt`: succeeded, or
    /// failed on its last allowed attempt.
    fn is_done(&self, step: &str, state: StepState, attempt: u32) -> bool {
        match state {
            StepState::Succeeded => true,
            StepState::Failed => attempt >= self.allowed(step),
            StepState::Started => false,
        }
    }

    /// `completed: 6 steps in 12 ms` (`, 1 failed` when steps failed).
    fn summary(&self, outcome: &Outcome) -> String {
        let succeeded = self
            .last
            .values()
            .filter(|(state, _)| *state == StepState::Succeeded)
            .count();
        let failed = self
            .last
            .values()
            .filter(|(state, _)| *state == StepState::Failed)
            .count();
        let (word, color) = match (outcome.error.as_ref().and_then(|e| e.cause), outcome.status) {
            (Some(Cause::Interrupted), _) => ("interrupted", YELLOW),
            (Some(Cause::Terminated), _) => ("terminated", YELLOW),
            (Some(Cause::HungUp), _) => ("hung up", YELLOW),
            (_, RunStatus::Completed) => ("completed", GREEN),
            _ => ("failed", RED),
        };
        let done = succeeded + failed;
        let noun = if done == 1 { "step" } else { "steps" };
        let mut line = rep_process::color::paint(word, color, self.color);
        line.push_str(&format!(
            ": {done} {noun} in {}",
            human(self.started.elapsed())
        ));
        if failed > 0 {
            line.push_str(&format!(", {failed} failed"));
        }
        line
    }
}

/// `⠁ [0s] step 2/6 write (attempt 1/3)`.
fn style() -> ProgressStyle {
    ProgressStyle::with_template("{spinner} [{elapsed}] step {pos}/{len} {msg}")
        .unwrap_or_else(|_| ProgressStyle::default_spinner())
}

const GREEN: Style = Style::new().fg_color(Some(Color::Ansi(AnsiColor::Green)));
const RED: Style = Style::new().fg_color(Some(Color::Ansi(AnsiColor::Red)));
const YELLOW: Style = Style::new().fg_color(Some(Color::Ansi(AnsiColor::Yellow)));

/// `12 ms` below a second, else `1.2 s`.
fn human(elapsed: Duration) -> String {
    if elapsed < Duration::from_secs(1) {
        format!("{} ms", elapsed.as_millis())
    } else {
        format!("{:.1} s", elapsed.as_secs_f64())
    }
}

impl Observer for Progress {
    fn on_events(&mut self, events: &[Box<RawValue>]) {
        /// The fields of a `step` event the progress line needs; others are skipped.
        #[derive(serde::Deserialize)]
        struct StepFields<'a> {
            #[serde(rename = "type", borrow)]
            kind: Option<Cow<'a, str>>,
            #[serde(borrow)]
            step_id: Option<Cow<'a, str>>,
            state: Option<StepState>,
            attempt: Option<u32>,
        }
        for event in events {
            let Ok(StepFields {
                kind: Some(kind),
                step_id: Some(step),
                state: Some(state),
                attempt,
            }) = serde_json::from_str::<StepFields<'_>>(event.get())
            else {
                continue;
            };
            if kind != "step" {
                continue;
            }
            let attempt = attempt.unwrap_or(1);
            let was_done = self
                .last
                .get(step.as_ref())
                .is_some_and(|&(state, attempt)| self.is_done(&step, state, attempt));
            let is_done = self.is_done(&step, state, attempt);
            match (was_done, is_done) {
                (false, true) => self.done += 1,
                (true, false) => self.done = self.done.saturating_sub(1),
                _ => {}
            }
            // The count before the message: a draw never shows a step running beside a
            // count that lags the events before it.
            self.bar.set_position(self.done);
            if state == StepState::Started {
                self.bar.set_message(self.label(&step, attempt));
            }
            self.last.insert(step.into_owned(), (state, attempt));
        }
    }

    fn on_interrupt(&mut self, _interrupt: Interrupt) {
        self.bar.finish_and_clear();
    }

    fn on_finish(&mut self, outcome: &Outcome) {
        self.bar.finish_and_clear();
        self.summary = Some(self.summary(outcome));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runner::RunIds;

    fn progress(nodes: &[(&str, u32)]) -> Progress {
        Progress {
            bar: ProgressBar::hidden(),
            attempts: nodes.iter().map(|(n, a)| ((*n).to_owned(), *a)).collect(),
            last: HashMap::new(),
            done: 0,
            started: Instant::now(),
            color: false,
            summary: None,
        }
    }

    /// A terminal that keeps every line drawn on it.
    #[derive(Debug, Default, Clone)]
    struct Screen(std::sync::Arc<std::sync::Mutex<Vec<String>>>);

    impl indicatif::TermLike for Screen {
        fn width(&self) -> u16 {
            100
        }
        fn move_cursor_up(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn move_cursor_down(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn move_cursor_right(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn move_cursor_left(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn write_line(&self, s: &str) -> std::io::Result<()> {
            self.write_str(s)
        }
        fn write_str(&self, s: &str) -> std::io::Result<()> {
            if !s.trim().is_empty()
                && let Ok(mut lines) = self.0.lock()
            {
                lines.push(s.trim_end().to_owned());
            }
            Ok(())
        }
        fn clear_line(&self) -> std::io::Result<()> {
            Ok(())
        }
        fn flush(&self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// Issue 21: a flow whose steps finish fast sends many final events in one Poll; the line
    /// showed `step 0/6 finish_2` after five steps had succeeded, the count being updated
    /// only at the end of the batch.
    #[test]
    fn the_count_includes_every_final_event_before_the_next_step_is_shown() {
        let screen = Screen::default();
        let mut p = progress(&[("a", 1), ("b", 1), ("c", 1)]);
        p.bar = ProgressBar::with_draw_target(
            Some(3),
            ProgressDrawTarget::term_like_with_hz(Box::new(screen.clone()), 255),
        );
        p.bar.set_style(style());
        p.on_events(&[
            step("a", "started", 1),
            step("a", "succeeded", 1),
            step("b", "started", 1),
            step("b", "succeeded", 1),
            step("c", "started", 1),
        ]);
        let lines = screen.0.lock().unwrap().clone();
        // The first frame naming each step: the steps before it are counted already.
        let shown = |name: &str| {
            lines
                .iter()
                .find(|l| l.ends_with(&format!(" {name}")))
                .unwrap_or_else(|| panic!("{name} never shown: {lines:?}"))
                .clone()
        };
        assert!(shown("b").contains("step 1/3 b"), "{lines:?}");
        assert!(shown("c").contains("step 2/3 c"), "{lines:?}");
        p.on_events(&[step("c", "succeeded", 1)]);
        assert_eq!(p.bar.position(), 3);
    }

    fn step(id: &str, state: &str, attempt: u32) -> Box<RawValue> {
        let text = format!(
            r#"{{"type":"step","timestamp":"t","step_id":"{id}","state":"{state}","attempt":{attempt}}}"#
        );
        RawValue::from_string(text).unwrap()
    }

    #[test]
    fn a_failed_attempt_that_will_be_retried_is_not_a_finished_step() {
        let mut p = progress(&[("read", 1), ("write", 3)]);
        p.on_events(&[step("read", "started", 1), step("read", "succeeded", 1)]);
        assert_eq!(p.bar.position(), 1);
        p.on_events(&[step("write", "started", 1)]);
        assert_eq!(p.bar.message(), "write (attempt 1/3)");
        p.on_events(&[step("write", "failed", 1), step("write", "started", 2)]);
        assert_eq!(
            (p.bar.position(), p.bar.message().as_str()),
            (1, "write (attempt 2/3)")
        );
        p.on_events(&[step("write", "failed", 2), step("write", "started", 3)]);
        p.on_events(&[step("write", "failed", 3)]);
        assert_eq!(p.bar.position(), 2, "the last allowed attempt failed: done");
        let mut outcome = Outcome::new(RunIds::random());
        outcome.status = RunStatus::Failed;
        assert!(
            p.summary(&outcome).starts_with("failed: 2 steps in "),
            "{}",
            p.summary(&outcome)
        );
        assert!(p.summary(&outcome).ends_with(", 1 failed"));
    }

    #[test]
    fn the_summary_counts_the_steps_that_ran() {
        let mut p = progress(&[("a", 1), ("b", 1), ("c", 1)]);
        p.on_events(&[step("a", "started", 1), step("a", "succeeded", 1)]);
        p.on_events(&[step("b", "started", 1), step("b", "succeeded", 1)]);
        let mut outcome = Outcome::new(RunIds::random());
        outcome.status = RunStatus::Completed;
        let line = p.summary(&outcome);
        assert!(line.starts_with("completed: 2 steps in "), "{line}");
        assert!(line.ends_with(" ms"), "{line}");
        outcome.error = Some(crate::error::RunError::transport(Cause::Interrupted, "x"));
        assert!(p.summary(&outcome).starts_with("interrupted: 2 steps"));
    }

    #[test]
    fn jsonl_lines_carry_the_run_id_beside_the_event_as_sent() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("events.jsonl");
        for run in ["run-1", "run-2"] {
            let mut jsonl = EventsJsonl::open(&path).unwrap();
            jsonl.on_run_started(run);
            jsonl.on_events(&[step("a", "started", 1)]);
            assert!(jsonl.finish(OUTPUT_STALL).complete());
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0]["run_id"], "run-1");
        assert_eq!(lines[1]["run_id"], "run-2");
        assert_eq!(
            serde_json::to_string(&lines[1]["event"]).unwrap(),
            step("a", "started", 1).get()
        );
    }
}

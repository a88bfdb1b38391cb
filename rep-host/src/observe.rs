//! Observers of a run: the `--events-jsonl` writer and the TTY progress line.

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::fs::File;
use std::io::{BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::value::RawValue;

use crate::runner::{Observer, Outcome};

/// Appends every event to a file as JSON Lines, flushed after each Poll, so a killed host
/// still leaves on disk every event it had received. Lines are written whole.
pub struct EventsJsonl {
    path: PathBuf,
    out: Option<BufWriter<File>>,
}

impl EventsJsonl {
    /// Opens `path` for appending (created if missing).
    ///
    /// # Errors
    /// The I/O error of opening the file.
    pub fn open(path: &Path) -> std::io::Result<EventsJsonl> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)?;
        Ok(EventsJsonl {
            path: path.to_owned(),
            out: Some(BufWriter::new(file)),
        })
    }
}

impl Observer for EventsJsonl {
    fn on_events(&mut self, events: &[Box<RawValue>]) {
        let Some(out) = self.out.as_mut() else { return };
        // An event is one line of the executor's stdout: its text holds no newline.
        let result = events.iter().try_for_each(|event| {
            out.write_all(event.get().as_bytes())
                .and_then(|()| out.write_all(b"\n"))
        });
        if let Err(error) = result.and_then(|()| out.flush()) {
            tracing::warn!(
                "--events-jsonl {}: {error}; no more events are written there",
                self.path.display()
            );
            self.out = None;
        }
    }
}

/// A progress line on stderr — step n of m, the current step, elapsed time — drawn only
/// when stderr is a terminal.
pub struct Progress {
    bar: ProgressBar,
    done: BTreeSet<String>,
}

impl Progress {
    /// A progress line for a flow of `steps` nodes; `None` when stderr is not a terminal.
    pub fn on_tty(steps: usize) -> Option<Progress> {
        if !std::io::stderr().is_terminal() {
            return None;
        }
        let bar = ProgressBar::with_draw_target(Some(steps as u64), ProgressDrawTarget::stderr());
        let style = ProgressStyle::with_template("{spinner} [{elapsed}] step {pos}/{len} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner());
        bar.set_style(style);
        bar.enable_steady_tick(Duration::from_millis(120));
        Some(Progress {
            bar,
            done: BTreeSet::new(),
        })
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
            #[serde(borrow)]
            state: Option<Cow<'a, str>>,
        }
        for event in events {
            let Ok(StepFields {
                kind: Some(kind),
                step_id: Some(step),
                state,
            }) = serde_json::from_str::<StepFields<'_>>(event.get())
            else {
                continue;
            };
            if kind != "step" {
                continue;
            }
            match state.as_deref() {
                Some("started") => self.bar.set_message(step.into_owned()),
                Some("succeeded" | "failed") => {
                    self.done.insert(step.into_owned());
                    self.bar.set_position(self.done.len() as u64);
                }
                _ => {}
            }
        }
    }

    fn on_finish(&mut self, _outcome: &Outcome) {
        self.bar.finish_and_clear();
    }
}

//! What `tm` writes on stdout, and the one rule for a stdout that fails: a closed stdout
//! (EPIPE: `| head`) ends `tm` quietly with its exit code; any other error (ENOSPC on
//! `/dev/full`, EIO on a vanished terminal) is an error on stderr and exit 4, the result not
//! having been delivered.
//!
//! The run's JSON document is the reference's `{flow, status, summary, events}` (verify
//! online adds `manifest`), plus `run_id` and, when something failed, `error`. Executor data
//! in it (events, summary, the executor's error object) is the executor's JSON text, every
//! number exactly as sent: events as they came (one per line), the summary and the error
//! object re-indented to the document's layout.

use std::io::Write;

use rep_host::{Cause, Interrupt, Interrupts, Outcome, RunError};
use rep_spec::ErrorClass;
use serde::Serialize;
use serde_json::value::RawValue;

use super::error::Failure;

/// The document, by reference: a large run's events are written, never copied.
#[derive(Serialize)]
struct Printed<'a> {
    flow: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    manifest: Option<&'a str>,
    run_id: &'a str,
    status: &'a str,
    summary: &'a RawValue,
    events: &'a [Box<RawValue>],
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<PrintedError<'a>>,
}

/// [`RunError`] as printed: its executor's error object re-indented.
#[derive(Serialize)]
struct PrintedError<'a> {
    code: i64,
    class: ErrorClass,
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    cause: Option<Cause>,
    #[serde(skip_serializing_if = "Option::is_none")]
    executor_error: Option<Box<RawValue>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    missing_step_kinds: Option<&'a [String]>,
}

impl<'a> PrintedError<'a> {
    fn of(error: &'a RunError) -> PrintedError<'a> {
        PrintedError {
            code: error.code,
            class: error.class,
            message: &error.message,
            cause: error.cause,
            executor_error: error
                .executor_error
                .as_ref()
                .map(|e| reindented(e.json().get(), 2)),
            missing_step_kinds: error.missing_step_kinds.as_deref(),
        }
    }
}

/// The outcome as pretty JSON, with its newline.
pub fn render_outcome(flow: &str, manifest: Option<&str>, outcome: &Outcome) -> Vec<u8> {
    let summary = reindented(outcome.summary.as_deref().map_or("{}", RawValue::get), 1);
    let printed = Printed {
        flow,
        manifest,
        run_id: &outcome.run_id,
        status: outcome.status.as_str(),
        summary: &summary,
        events: &outcome.events,
        error: outcome.error.as_ref().map(PrintedError::of),
    };
    // Serializing these types cannot fail: every key is a string, every number finite.
    let mut bytes = serde_json::to_vec_pretty(&printed).unwrap_or_default();
    bytes.push(b'\n');
    bytes
}

/// Writes `bytes` on stdout: `Ok` also when the reader is gone (EPIPE: the exit code still
/// tells).
///
/// # Errors
/// [`Failure::Stdout`] for any other write error (exit 4).
pub fn print_stdout(bytes: &[u8]) -> Result<(), Failure> {
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(bytes).and_then(|()| stdout.flush()) {
        Err(error) if error.kind() != std::io::ErrorKind::BrokenPipe => Err(Failure::Stdout(error)),
        _ => Ok(()),
    }
}

/// Why the result was not delivered by [`deliver`].
pub enum Undelivered {
    /// Stdout failed (not EPIPE).
    Failed(Failure),
    /// An interrupt arrived while a stalled reader held the write up.
    Interrupted(Interrupt),
    /// After an interrupt, the reader took nothing for `stall`: `tm` stops waiting.
    Stalled,
}

/// [`print_stdout`] on a thread of its own, so that an interrupt still ends `tm` while a
/// reader that stopped reading holds the write up; once an interrupt has arrived (the run
/// was cancelled, or its outputs abandoned), the reader gets at most `stall`.
pub fn deliver(
    runtime: &tokio::runtime::Runtime,
    interrupts: &mut Interrupts,
    bytes: Vec<u8>,
    stall: std::time::Duration,
) -> Result<(), Undelivered> {
    let bound = interrupts.received().map(|_| stall);
    let written = runtime.block_on(async {
        let write = rep_process::unless_interrupted(interrupts, move || print_stdout(&bytes));
        match bound {
            Some(stall) => tokio::time::timeout(stall, write).await.ok(),
            None => Some(write.await),
        }
    });
    match written {
        Some(Ok(result)) => result.map_err(Undelivered::Failed),
        Some(Err(interrupt)) => Err(Undelivered::Interrupted(interrupt)),
        None => Err(Undelivered::Stalled),
    }
}

/// The JSON text `json` laid out as serde_json's pretty printer lays out a value at `depth`
/// (two spaces a level, `"key": value`, `{}` and `[]` when empty), every token, numbers
/// included, kept byte for byte. `json` must be valid JSON (it was parsed as such).
fn reindented(json: &str, depth: usize) -> Box<RawValue> {
    let mut out = String::with_capacity(json.len() * 2);
    let newline = |out: &mut String, depth: usize| {
        out.push('\n');
        out.extend(std::iter::repeat_n("  ", depth));
    };
    let mut depth = depth;
    let mut chars = json.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                out.push('"');
                while let Some(c) = chars.next() {
                    out.push(c);
                    match c {
                        '\\' => out.extend(chars.next()),
                        '"' => break,
                        _ => {}
                    }
                }
            }
            '{' | '[' => {
                out.push(c);
                while chars.next_if(|c| c.is_ascii_whitespace()).is_some() {}
                if chars.next_if(|&next| next == '}' || next == ']').is_some() {
                    out.push(if c == '{' { '}' } else { ']' });
                } else {
                    depth += 1;
                    newline(&mut out, depth);
                }
            }
            '}' | ']' => {
                depth = depth.saturating_sub(1);
                newline(&mut out, depth);
                out.push(c);
            }
            ',' => {
                out.push(',');
                newline(&mut out, depth);
            }
            ':' => out.push_str(": "),
            c if c.is_ascii_whitespace() => {}
            c => out.push(c),
        }
    }
    // Re-laying valid JSON out keeps it valid.
    RawValue::from_string(out).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reindenting_matches_the_pretty_printer_and_keeps_numbers() {
        let text = r#"{ "a" : [1, 2.50, {"b":{}}, []], "s": "x, \"y\": {z}", "n": {"c": null} }"#;
        let value: serde_json::Value = serde_json::from_str(text).unwrap();
        let pretty = serde_json::to_string_pretty(&value).unwrap();
        assert_eq!(
            reindented(text, 0).get(),
            pretty.replace("2.5", "2.50"),
            "numbers as written"
        );
        let big = r#"{"big":123456789012345678901234567890,"huge":1e400}"#;
        assert_eq!(
            reindented(big, 1).get(),
            "{\n    \"big\": 123456789012345678901234567890,\n    \"huge\": 1e400\n  }"
        );
    }
}

//! The JSON printed on stdout: the reference's `{flow, status, summary, events}` (verify
//! online adds `manifest`), plus `run_id` and, when something failed, `error`.

use std::io::Write;

use rep_host::{Outcome, RunError};
use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

/// The document, by reference: a large run's events are written, never copied.
#[derive(Serialize)]
struct Printed<'a> {
    flow: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    manifest: Option<&'a str>,
    run_id: &'a str,
    status: &'a str,
    summary: &'a Map<String, Value>,
    events: &'a [Box<RawValue>],
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a RunError>,
}

/// Writes the outcome as pretty JSON on stdout, in one buffered stream.
pub fn print_outcome(flow: &str, manifest: Option<&str>, outcome: &Outcome) {
    let printed = Printed {
        flow,
        manifest,
        run_id: &outcome.run_id,
        status: outcome.status.as_str(),
        summary: &outcome.summary,
        events: &outcome.events,
        error: outcome.error.as_ref(),
    };
    let mut stdout = std::io::BufWriter::with_capacity(64 * 1024, std::io::stdout().lock());
    // A closed stdout (e.g. `| head`) is not worth a panic; the exit code still tells.
    let _ = serde_json::to_writer_pretty(&mut stdout, &printed);
    let _ = writeln!(stdout);
    let _ = stdout.flush();
}

/// Writes `bytes` on stdout. A closed stdout (`| head`) is ignored: the exit code still tells.
pub fn print_stdout(bytes: &[u8]) {
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(bytes).and_then(|()| stdout.flush());
}

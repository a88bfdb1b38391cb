//! The JSON printed on stdout: the reference's `{flow, status, summary, events}` (verify
//! online adds `manifest`), plus `run_id` and, when something failed, `error`.

use std::io::Write;

use rep_host::Outcome;
use serde_json::{Map, Value, json};

/// Writes the outcome as pretty JSON on stdout.
pub fn print_outcome(flow: &str, manifest: Option<&str>, outcome: &Outcome) {
    let mut doc = Map::new();
    doc.insert("flow".into(), json!(flow));
    if let Some(manifest) = manifest {
        doc.insert("manifest".into(), json!(manifest));
    }
    doc.insert("run_id".into(), json!(outcome.run_id));
    doc.insert("status".into(), json!(outcome.status.as_str()));
    doc.insert("summary".into(), Value::Object(outcome.summary.clone()));
    doc.insert("events".into(), Value::Array(outcome.events.clone()));
    if let Some(error) = &outcome.error {
        doc.insert(
            "error".into(),
            serde_json::to_value(error).unwrap_or(Value::Null),
        );
    }
    // One buffered write, not one syscall per line of pretty JSON.
    let mut stdout = std::io::BufWriter::with_capacity(64 * 1024, std::io::stdout().lock());
    // A closed stdout (e.g. `| head`) is not worth a panic; the exit code still tells.
    let _ = serde_json::to_writer_pretty(&mut stdout, &Value::Object(doc));
    let _ = writeln!(stdout);
    let _ = stdout.flush();
}

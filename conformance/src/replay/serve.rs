//! `rep-replay FILE`: an executor that answers a host with a recorded session. A request
//! gets the answers recorded for the request of the same method and rank (the 2nd Poll gets
//! the 2nd recorded Poll's), with its own id; a Poll beyond the recorded ones gets the last
//! one's again. Everything else the executor wrote after that request — notifications,
//! garbage, stderr lines — is written too, in order; with `timing`, at the recorded delays.
//! An executor that died after a request without answering dies the same way (the recorded
//! exit code), so a recorded failure replays as it happened.

use std::collections::BTreeMap;
use std::io::{BufRead, Write};
use std::time::{Duration, Instant};

use rep_spec::{DEFAULT_MAX_FRAME_BYTES, METHOD_POLL};
use serde_json::{Value, json};

use super::{Output, Session};

/// Serves `session` on this process's stdin/stdout until stdin ends; returns the exit code
/// (the recorded one, else 0).
pub fn serve(session: &Session, timing: bool) -> i32 {
    let stdin = std::io::stdin();
    let mut input = stdin.lock();
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let exit_code = session.exit_code.unwrap_or(0);
    let start = Instant::now();
    if !write_outputs(
        &mut out,
        &session.before,
        None,
        timing.then_some((start, 0.0)),
    ) {
        return exit_code;
    }
    let mut by_method: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, exchange) in session.exchanges.iter().enumerate() {
        by_method
            .entry(exchange.method.as_str())
            .or_default()
            .push(i);
    }
    let mut served: BTreeMap<String, usize> = BTreeMap::new();
    let mut line = Vec::new();
    loop {
        line.clear();
        let read = std::io::Read::take(&mut input, DEFAULT_MAX_FRAME_BYTES as u64 + 1)
            .read_until(b'\n', &mut line);
        match read {
            Ok(0) | Err(_) => return exit_code,
            Ok(_) => {}
        }
        let received = Instant::now();
        let Ok(request) = serde_json::from_slice::<Value>(&line) else {
            continue;
        };
        let (Some(method), Some(id)) = (
            request.get("method").and_then(Value::as_str),
            request.get("id"),
        ) else {
            continue;
        };
        let rank = served.entry(method.to_owned()).or_default();
        let recorded = by_method.get(method).and_then(|all| {
            let index = match all.get(*rank) {
                Some(&index) => index,
                // Beyond the recorded ones: only a Poll repeats the last.
                None if method == METHOD_POLL => *all.last()?,
                None => return None,
            };
            Some(index)
        });
        *rank += 1;
        let Some(index) = recorded else {
            let error = json!({"jsonrpc": "2.0", "id": id, "error": {
                "code": -32601,
                "message": format!("rep-replay: the transcript has no more {method} requests to answer with")
            }});
            if writeln!(out, "{error}").and_then(|()| out.flush()).is_err() {
                return exit_code;
            }
            continue;
        };
        let exchange = &session.exchanges[index];
        let clock = timing.then_some((received, exchange.sent_ms));
        let answered = exchange.response.map(|r| (r, id));
        if !write_outputs(&mut out, &exchange.outputs, answered, clock) {
            return exit_code;
        }
        // The recorded executor died here without answering: so does the replay.
        if exchange.response.is_none()
            && index + 1 == session.exchanges.len()
            && let Some(code) = session.exit_code
        {
            return code;
        }
    }
}

/// Writes `outputs` (the response, at index `answered.0`, with the id `answered.1`); with a
/// clock `(instant, ms)`, each output waits until its recorded time relative to `ms` has
/// passed since `instant`. Returns false when stdout is closed.
fn write_outputs(
    out: &mut impl Write,
    outputs: &[Output],
    answered: Option<(usize, &Value)>,
    clock: Option<(Instant, f64)>,
) -> bool {
    for (i, output) in outputs.iter().enumerate() {
        let ms = match output {
            Output::Frame { ms, .. } | Output::Stderr { ms, .. } => *ms,
        };
        if let Some((since, base)) = clock {
            let due = since + Duration::from_secs_f64(((ms - base).max(0.0)) / 1000.0);
            std::thread::sleep(due.saturating_duration_since(Instant::now()));
        }
        match output {
            Output::Stderr { line, .. } => {
                let _ = writeln!(std::io::stderr(), "{line}");
            }
            Output::Frame { text, .. } => {
                let text = match answered {
                    Some((index, id)) if index == i => with_id(text, id),
                    _ => text.clone(),
                };
                if writeln!(out, "{text}").and_then(|()| out.flush()).is_err() {
                    return false;
                }
            }
        }
    }
    true
}

/// The response `text` with its `id` replaced by `id` (key order kept).
fn with_id(text: &str, id: &Value) -> String {
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(mut response)) => {
            response.insert("id".into(), id.clone());
            Value::Object(response).to_string()
        }
        _ => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_id_is_replaced_and_nothing_else_changes() {
        let text = r#"{"jsonrpc":"2.0","id":7,"result":{"b":1,"a":[2.5]}}"#;
        assert_eq!(
            with_id(text, &json!(3)),
            r#"{"jsonrpc":"2.0","id":3,"result":{"b":1,"a":[2.5]}}"#
        );
    }
}

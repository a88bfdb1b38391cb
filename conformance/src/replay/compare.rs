//! `rep-conformance replay FILE --executor X`: re-sends a recorded session's requests to a
//! live executor and compares what matters about the answers, not their bytes:
//!
//! - the calls other than Poll, in order: method, and whether each answered a result or an
//!   error (with its code);
//! - the run's events, all Polls' concatenated (so how they were split across Polls does not
//!   matter), each without the fields that differ from run to run;
//! - the run's final status and its last summary, without those fields either.
//!
//! The fields left out everywhere are [`IGNORED_FIELDS`] (timestamps, durations, run and
//! trace ids) plus any the caller adds. A run of recorded Polls that ended in a final status
//! is replayed as "poll until final"; a run of Polls that did not (a run cancelled midway)
//! sends as many Polls as were recorded, at the cadence of every host
//! ([`PollCadence::HOST`]). The `run_id` in a Poll's or Cancel's params is mapped to the id
//! the live executor answered. Answers are read as rep-spec's types: a Poll's result as a
//! [`PollResult`], an error as an [`ErrorObject`].

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::time::Duration;

use rep_host::Tap;
use rep_spec::{ErrorObject, METHOD_POLL, METHOD_START_RUN, PollCadence, PollResult};
use serde_json::{Map, Value};
use tokio::time::Instant;

use super::Session;
use crate::conn::{Connection, Target};
use crate::verdict::Failure;

/// Fields removed (at any depth) from events and summaries before comparing.
pub const IGNORED_FIELDS: [&str; 5] = ["timestamp", "duration_ms", "run_id", "trace_id", "ts"];

/// An answer to a request: its result, or its error object.
pub type Answer = Result<Value, ErrorObject>;

/// A Poll result as compared: events and summary kept as JSON values.
type Poll = PollResult<Value, Value>;

/// A Poll answer read as a [`PollResult`], if it is a result and one.
fn poll_result(answer: &Answer) -> Option<Poll> {
    answer
        .as_ref()
        .ok()
        .and_then(|result| serde_json::from_value(result.clone()).ok())
}

/// What is compared of a session.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Semantics {
    /// Every call but the Polls that answered a valid result: `Runtime.StartRun: result`,
    /// `Runtime.Cancel: error 1004`, `Runtime.Poll: no answer`, `Runtime.Poll: invalid
    /// result`.
    pub calls: Vec<String>,
    /// The events of every Poll, in order, normalized.
    pub events: Vec<Value>,
    /// The status of the last Poll answered.
    pub status: Option<String>,
    /// The last summary a Poll returned, normalized.
    pub summary: Option<Value>,
}

impl Semantics {
    /// Adds one call and its answer (`None`: no answer).
    pub fn add(&mut self, method: &str, answer: Option<&Answer>, ignored: &Fields) {
        match answer {
            Some(answer @ Ok(_)) if method == METHOD_POLL => match poll_result(answer) {
                Some(poll) => self.add_poll(poll, ignored),
                None => self.calls.push(format!("{method}: invalid result")),
            },
            Some(Ok(_)) => self.calls.push(format!("{method}: result")),
            Some(Err(error)) => self.calls.push(format!("{method}: error {}", error.code)),
            None => self.calls.push(format!("{method}: no answer")),
        }
    }

    fn add_poll(&mut self, poll: Poll, ignored: &Fields) {
        self.events
            .extend(poll.events.iter().map(|e| normalize(e, ignored)));
        self.status = Some(poll.status.as_str().to_owned());
        if let Some(summary) = poll.summary.filter(|s| !s.is_null()) {
            self.summary = Some(normalize(&summary, ignored));
        }
    }
}

/// The set of ignored field names.
pub type Fields = BTreeSet<String>;

/// [`IGNORED_FIELDS`] plus `extra`.
pub fn ignored_fields(extra: &[String]) -> Fields {
    IGNORED_FIELDS
        .iter()
        .map(|f| (*f).to_owned())
        .chain(extra.iter().cloned())
        .collect()
}

/// `value` without the `ignored` fields, at any depth.
pub fn normalize(value: &Value, ignored: &Fields) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(k, _)| !ignored.contains(k.as_str()))
                .map(|(k, v)| (k.clone(), normalize(v, ignored)))
                .collect::<Map<String, Value>>(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(|v| normalize(v, ignored)).collect()),
        other => other.clone(),
    }
}

/// What the recording says, by the rules of this module.
pub fn recorded(session: &Session, ignored: &Fields) -> Semantics {
    let mut semantics = Semantics::default();
    for exchange in &session.exchanges {
        semantics.add(&exchange.method, exchange.payload().as_ref(), ignored);
    }
    semantics
}

/// Why a replay could not be compared: the live executor broke (exit code 4).
#[derive(Debug, Clone, PartialEq)]
pub struct Broken(pub String);

/// Re-sends `session`'s requests to a fresh process of `target`, within `timeout`; returns
/// what it answered.
///
/// # Errors
/// [`Broken`] when the executor cannot be started, or stops answering (exits, closes
/// stdout, answers garbage, times out) where the recorded one answered.
pub async fn replay(
    session: &Session,
    target: &Target,
    timeout: Duration,
    ignored: &Fields,
) -> Result<Semantics, Broken> {
    let deadline = Instant::now() + timeout;
    let mut conn =
        Connection::spawn(target, deadline, &Tap::none()).map_err(|f| Broken(f.reason))?;
    let mut live = Semantics::default();
    let mut run_ids: Option<(Value, Value)> = None;
    let exchanges = &session.exchanges;
    let mut i = 0;
    let result = loop {
        let Some(exchange) = exchanges.get(i) else {
            break Ok(());
        };
        let streak = exchanges[i..]
            .iter()
            .take_while(|e| e.method == METHOD_POLL)
            .count();
        let params = map_run_id(&exchange.params, run_ids.as_ref());
        if streak > 0 {
            let last = &exchanges[i + streak - 1];
            let until_final = last
                .payload()
                .as_ref()
                .and_then(poll_result)
                .is_some_and(|poll| poll.status.is_final());
            let polls = if until_final { usize::MAX } else { streak };
            if let Err(failure) = poll(&mut conn, &params, polls, &mut live, ignored).await {
                break Err((last, failure));
            }
            i += streak;
            continue;
        }
        match conn.request(&exchange.method, params).await {
            Ok(reply) => {
                let answer = reply.response.payload;
                if exchange.method == METHOD_START_RUN
                    && let (Ok(live_result), Some(Ok(recorded_result))) =
                        (&answer, exchange.payload())
                    && let (Some(old), Some(new)) =
                        (recorded_result.get("run_id"), live_result.get("run_id"))
                {
                    run_ids = Some((old.clone(), new.clone()));
                }
                live.add(&exchange.method, Some(&answer), ignored);
            }
            Err(failure) => break Err((exchange, failure)),
        }
        i += 1;
    };
    conn.close().await;
    match result {
        Ok(()) => Ok(live),
        // The recorded executor did not answer there either: that is the same behaviour.
        Err((exchange, _)) if exchange.response.is_none() => {
            live.add(&exchange.method, None, ignored);
            Ok(live)
        }
        Err((exchange, failure)) => Err(Broken(format!(
            "the executor did not answer {} as the recorded one did: {}",
            exchange.method, failure.reason
        ))),
    }
}

/// Polls `polls` times, or until a final status; events and the status go into `live`.
async fn poll(
    conn: &mut Connection,
    params: &Value,
    polls: usize,
    live: &mut Semantics,
    ignored: &Fields,
) -> Result<(), Failure> {
    let mut backoff = PollCadence::HOST.start();
    for _ in 0..polls {
        let answer = conn
            .request(METHOD_POLL, params.clone())
            .await?
            .response
            .payload;
        live.add(METHOD_POLL, Some(&answer), ignored);
        let Some(poll) = poll_result(&answer) else {
            return Ok(());
        };
        if poll.status.is_final() {
            return Ok(());
        }
        tokio::time::sleep(backoff.after(!poll.events.is_empty())).await;
    }
    Ok(())
}

/// `params` with a `run_id` equal to the recorded run id replaced by the live one.
fn map_run_id(params: &Value, run_ids: Option<&(Value, Value)>) -> Value {
    let mut params = params.clone();
    if let (Some((old, new)), Some(run_id)) = (run_ids, params.get_mut("run_id"))
        && run_id == old
    {
        *run_id = new.clone();
    }
    params
}

/// The first difference between the recording and the replay, readably; `None` when they
/// agree.
pub fn diff(recorded: &Semantics, replayed: &Semantics) -> Option<String> {
    if let Some(text) = diff_calls(&recorded.calls, &replayed.calls) {
        return Some(text);
    }
    if let Some(text) = diff_events(&recorded.events, &replayed.events) {
        return Some(text);
    }
    if recorded.status != replayed.status {
        return Some(format!(
            "final status: recorded {}, replayed {}",
            show_opt(recorded.status.as_deref()),
            show_opt(replayed.status.as_deref())
        ));
    }
    match (&recorded.summary, &replayed.summary) {
        (Some(a), Some(b)) => first_field_difference("summary", a, b),
        (None, None) => None,
        (a, b) => Some(format!(
            "summary: recorded {}, replayed {}",
            a.as_ref().map_or("none".into(), Value::to_string),
            b.as_ref().map_or("none".into(), Value::to_string)
        )),
    }
}

fn show_opt(text: Option<&str>) -> String {
    text.map_or("none (no Poll answered)".to_owned(), str::to_owned)
}

fn diff_calls(recorded: &[String], replayed: &[String]) -> Option<String> {
    let n = recorded
        .iter()
        .zip(replayed)
        .take_while(|(a, b)| a == b)
        .count();
    if n == recorded.len() && n == replayed.len() {
        return None;
    }
    Some(format!(
        "call {}: recorded {}, replayed {}",
        n + 1,
        recorded.get(n).map_or("nothing", String::as_str),
        replayed.get(n).map_or("nothing", String::as_str)
    ))
}

/// `step "read" started (attempt 1)`, `log "run started"`, or the event as JSON.
fn describe(event: &Value) -> String {
    let field = |k: &str| event.get(k).and_then(Value::as_str);
    match (field("type"), field("step_id"), field("state")) {
        (Some("step"), Some(step), Some(state)) => {
            let attempt = event
                .get("attempt")
                .map(|a| format!(" (attempt {a})"))
                .unwrap_or_default();
            format!("step {step:?} {state}{attempt}")
        }
        (Some(kind), _, _) => match field("message") {
            Some(message) => format!("{kind} {message:?}"),
            None => format!("{kind} {event}"),
        },
        _ => event.to_string(),
    }
}

fn diff_events(recorded: &[Value], replayed: &[Value]) -> Option<String> {
    let n = recorded
        .iter()
        .zip(replayed)
        .take_while(|(a, b)| a == b)
        .count();
    if n == recorded.len() && n == replayed.len() {
        return None;
    }
    let counts = format!(
        " ({} events recorded, {} replayed)",
        recorded.len(),
        replayed.len()
    );
    let mut text = String::new();
    match (recorded.get(n), replayed.get(n)) {
        (Some(expected), _) if recorded[n + 1..] == replayed[n..] => {
            let _ = write!(
                text,
                "event {}: the replay lacks {}{counts}",
                n + 1,
                describe(expected)
            );
        }
        (_, Some(extra)) if recorded[n..] == replayed[n + 1..] => {
            let _ = write!(
                text,
                "event {}: the replay has an extra {}{counts}",
                n + 1,
                describe(extra)
            );
        }
        (Some(expected), Some(got)) => {
            let what = first_field_difference(
                &format!("event {} ({})", n + 1, describe(expected)),
                expected,
                got,
            )
            .unwrap_or_default();
            let _ = write!(text, "{what}{counts}");
        }
        (Some(expected), None) => {
            let _ = write!(
                text,
                "event {}: the replay ends before {}{counts}",
                n + 1,
                describe(expected)
            );
        }
        (None, Some(extra)) => {
            let _ = write!(
                text,
                "event {}: the replay goes on with {}{counts}",
                n + 1,
                describe(extra)
            );
        }
        (None, None) => {}
    }
    Some(text)
}

/// The first field at which `a` and `b` differ, as `PATH: recorded A, replayed B` (PATH
/// dotted from `at`).
pub fn first_field_difference(at: &str, a: &Value, b: &Value) -> Option<String> {
    first_difference(at, a, b, "replayed")
}

/// The first field at which the recorded `a` and `b` differ, as `PATH: recorded A, WHO B`
/// (PATH dotted from `at`; `who` names `b`'s side: "replayed", "live").
pub fn first_difference(at: &str, a: &Value, b: &Value, who: &str) -> Option<String> {
    if a == b {
        return None;
    }
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for (key, value) in x {
                match y.get(key) {
                    Some(other) => {
                        if let Some(found) =
                            first_difference(&format!("{at}.{key}"), value, other, who)
                        {
                            return Some(found);
                        }
                    }
                    None => return Some(format!("{at}.{key}: recorded {value}, {who} absent")),
                }
            }
            let (key, value) = y.iter().find(|(k, _)| !x.contains_key(k.as_str()))?;
            Some(format!("{at}.{key}: recorded absent, {who} {value}"))
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => x
            .iter()
            .zip(y)
            .enumerate()
            .find_map(|(i, (p, q))| first_difference(&format!("{at}[{i}]"), p, q, who)),
        _ => Some(format!("{at}: recorded {a}, {who} {b}")),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use serde_json::json;

    use super::*;

    fn step(id: &str, state: &str) -> Value {
        json!({"type": "step", "step_id": id, "state": state, "attempt": 1})
    }

    fn run(events: Vec<Value>, summary: Value) -> Semantics {
        Semantics {
            calls: vec!["Runtime.StartRun: result".into()],
            events,
            status: Some("completed".into()),
            summary: Some(summary),
        }
    }

    #[test]
    fn a_dropped_an_extra_and_a_changed_event_are_named() {
        let recorded = run(
            vec![
                step("a", "started"),
                step("a", "succeeded"),
                step("b", "started"),
            ],
            json!({}),
        );
        let dropped = run(vec![step("a", "started"), step("b", "started")], json!({}));
        let text = diff(&recorded, &dropped).unwrap();
        assert!(
            text.starts_with("event 2: the replay lacks step \"a\" succeeded (attempt 1)"),
            "{text}"
        );
        let text = diff(&dropped, &recorded).unwrap();
        assert!(
            text.starts_with("event 2: the replay has an extra step \"a\" succeeded"),
            "{text}"
        );
        let changed = run(
            vec![
                step("a", "started"),
                step("a", "failed"),
                step("b", "started"),
            ],
            json!({}),
        );
        let text = diff(&recorded, &changed).unwrap();
        assert!(text.starts_with("event 2 (step \"a\" succeeded (attempt 1)).state: recorded \"succeeded\", replayed \"failed\""), "{text}");
        assert_eq!(diff(&recorded, &recorded.clone()), None);
    }

    #[test]
    fn outputs_are_compared_and_ignored_fields_are_not() {
        let ignored = ignored_fields(&[]);
        let a = normalize(
            &json!({"outputs": {"v": 1}, "duration_ms": 3, "x": [{"timestamp": "t"}]}),
            &ignored,
        );
        let b = normalize(
            &json!({"outputs": {"v": 2}, "duration_ms": 9, "x": [{"timestamp": "u"}]}),
            &ignored,
        );
        let text = diff(&run(vec![], a.clone()), &run(vec![], b)).unwrap();
        assert_eq!(text, "summary.outputs.v: recorded 1, replayed 2");
        assert_eq!(diff(&run(vec![], a.clone()), &run(vec![], a)), None);
    }
}

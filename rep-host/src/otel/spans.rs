//! The spans of one run, built from its step events ([`RunSpans`], an [`Observer`]): one
//! span for the run, one child per step attempt. Attribute names: docs/tracing.md.

use std::borrow::Cow;
use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, SystemTime};

use flow_ir::Node;
use opentelemetry::trace::{SpanContext, SpanId, SpanKind, Status, TraceState};
use opentelemetry::{InstrumentationScope, KeyValue};
use opentelemetry_sdk::trace::{SpanData, SpanEvents, SpanLinks};
use rep_spec::{ErrorClass, Event, RunStatus, StepState, event_type};
use serde_json::Value;
use serde_json::value::RawValue;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::TraceContext;
use super::export::SpanExport;
use crate::runner::{Observer, Outcome};

/// Builds the spans of one run from its events and hands them to a [`SpanExport`] when the
/// run ends (never before: nothing is sent while the run goes on).
pub struct RunSpans {
    trace: TraceContext,
    flow: String,
    /// Step kind by node id (`graph.nodes[].type`).
    kinds: HashMap<String, String>,
    executor: String,
    started: SystemTime,
    run_id: Option<String>,
    steps: Vec<Event>,
    export: SpanExport,
}

impl RunSpans {
    /// The spans of a run of `flow` (its Flow IR `graph.nodes`, for each step's kind) on the
    /// executor at `executor`, in `trace`; the run span starts now.
    pub fn new(
        trace: TraceContext,
        flow: &str,
        nodes: &[Node],
        executor: &Path,
        export: SpanExport,
    ) -> RunSpans {
        RunSpans {
            trace,
            flow: flow.to_owned(),
            kinds: nodes
                .iter()
                .map(|n| (n.id.clone(), n.kind.clone()))
                .collect(),
            executor: executor.display().to_string(),
            started: SystemTime::now(),
            run_id: None,
            steps: Vec::new(),
            export,
        }
    }

    /// Where the spans go.
    pub fn export(&self) -> SpanExport {
        self.export.clone()
    }

    fn context(&self, span: SpanId) -> SpanContext {
        SpanContext::new(
            self.trace.trace_id(),
            span,
            self.trace.flags(),
            false,
            self.trace
                .tracestate()
                .and_then(|state| state.parse().ok())
                .unwrap_or(TraceState::NONE),
        )
    }

    fn span(
        &self,
        span: SpanId,
        parent: SpanId,
        name: String,
        times: (SystemTime, SystemTime),
    ) -> SpanData {
        SpanData {
            span_context: self.context(span),
            parent_span_id: parent,
            parent_span_is_remote: false,
            span_kind: SpanKind::Internal,
            name: Cow::Owned(name),
            start_time: times.0,
            end_time: times.1.max(times.0),
            attributes: Vec::new(),
            dropped_attributes_count: 0,
            events: SpanEvents::default(),
            links: SpanLinks::default(),
            status: Status::Unset,
            instrumentation_scope: scope(),
        }
    }

    /// The run span and one span per step attempt, ended at `ended`.
    fn build(&self, outcome: &Outcome, ended: SystemTime) -> Vec<SpanData> {
        let run_span = self.trace.run_span();
        let mut run = self.span(
            run_span,
            self.trace.parent().unwrap_or(SpanId::INVALID),
            format!("run {}", self.flow),
            (self.started, ended),
        );
        run.parent_span_is_remote = self.trace.parent().is_some();
        run.attributes = vec![
            KeyValue::new("cicd.pipeline.name", self.flow.clone()),
            KeyValue::new(
                "cicd.pipeline.run.id",
                self.run_id
                    .clone()
                    .unwrap_or_else(|| outcome.run_id.clone()),
            ),
            KeyValue::new("cicd.pipeline.result", pipeline_result(outcome)),
            KeyValue::new("tracemind.run.status", outcome.status.as_str()),
            KeyValue::new("tracemind.trace_id", outcome.trace_id.clone()),
            KeyValue::new("process.executable.path", self.executor.clone()),
        ];
        if let Some(error) = &outcome.error {
            run.attributes
                .push(KeyValue::new("error.type", error.code.to_string()));
            run.attributes
                .push(KeyValue::new("tracemind.error.code", error.code));
            run.attributes.push(KeyValue::new(
                "tracemind.error.class",
                ErrorClass::of(error.code).as_str(),
            ));
            run.status = Status::error(error.to_string());
        } else if outcome.status == RunStatus::Failed {
            run.status = Status::error("the run failed");
        } else {
            run.status = Status::Ok;
        }
        let mut spans = vec![run];
        // Open attempts by (step, attempt): their span's index.
        let mut open: HashMap<(String, u64), usize> = HashMap::new();
        for event in &self.steps {
            let (Some(step), Some(state)) = (event.step_id(), event.step_state()) else {
                continue;
            };
            let attempt = event
                .fields
                .get("attempt")
                .and_then(Value::as_u64)
                .unwrap_or(1);
            let at = parse_time(&event.timestamp).unwrap_or(ended);
            let index = match (state, open.remove(&(step.to_owned(), attempt))) {
                (StepState::Started, _) | (_, None) => {
                    let start = match (
                        state,
                        event.fields.get("duration_ms").and_then(Value::as_u64),
                    ) {
                        (StepState::Started, _) | (_, None) => at,
                        (_, Some(ms)) => at.checked_sub(Duration::from_millis(ms)).unwrap_or(at),
                    };
                    spans.push(self.step_span(step, attempt, start, ended));
                    spans.len() - 1
                }
                (_, Some(index)) => index,
            };
            let span = &mut spans[index];
            match state {
                StepState::Started => {
                    open.insert((step.to_owned(), attempt), index);
                }
                StepState::Succeeded => {
                    span.end_time = at.max(span.start_time);
                    span.status = Status::Ok;
                    span.attributes
                        .push(KeyValue::new("cicd.pipeline.task.run.result", "success"));
                }
                StepState::Failed => {
                    span.end_time = at.max(span.start_time);
                    span.attributes
                        .push(KeyValue::new("cicd.pipeline.task.run.result", "failure"));
                    let error = event.fields.get("error");
                    let code = error.and_then(|e| e.get("code")).and_then(Value::as_i64);
                    let message = error
                        .and_then(|e| e.get("message"))
                        .and_then(Value::as_str)
                        .unwrap_or("the step failed");
                    if let Some(code) = code {
                        span.attributes
                            .push(KeyValue::new("error.type", code.to_string()));
                        span.attributes
                            .push(KeyValue::new("tracemind.error.code", code));
                        span.attributes.push(KeyValue::new(
                            "tracemind.error.class",
                            ErrorClass::of(code).as_str(),
                        ));
                    }
                    span.status = Status::error(message.to_owned());
                }
            }
        }
        // Attempts the run's end cut short: ended with the run, an error.
        for index in open.into_values() {
            let span = &mut spans[index];
            span.end_time = ended.max(span.start_time);
            span.attributes.push(KeyValue::new(
                "cicd.pipeline.task.run.result",
                "cancellation",
            ));
            span.status = Status::error("the run ended before this attempt finished");
        }
        spans
    }

    fn step_span(&self, step: &str, attempt: u64, start: SystemTime, end: SystemTime) -> SpanData {
        let mut span = self.span(
            super::new_span_id(),
            self.trace.run_span(),
            step.to_owned(),
            (start, end),
        );
        span.attributes = vec![
            KeyValue::new("cicd.pipeline.name", self.flow.clone()),
            KeyValue::new("cicd.pipeline.task.name", step.to_owned()),
            KeyValue::new("tracemind.step.id", step.to_owned()),
            KeyValue::new(
                "tracemind.step.attempt",
                i64::try_from(attempt).unwrap_or(i64::MAX),
            ),
        ];
        if let Some(kind) = self.kinds.get(step) {
            span.attributes
                .push(KeyValue::new("tracemind.step.kind", kind.clone()));
        }
        span
    }
}

impl Observer for RunSpans {
    fn on_run_started(&mut self, run_id: &str) {
        self.run_id = Some(run_id.to_owned());
    }

    fn on_events(&mut self, events: &[Box<RawValue>]) {
        if !self.trace.sampled() {
            return;
        }
        for raw in events {
            if let Ok(event) = serde_json::from_str::<Event>(raw.get())
                && event.kind == event_type::STEP
            {
                self.steps.push(event);
            }
        }
    }

    fn on_finish(&mut self, outcome: &Outcome) {
        if self.trace.sampled() {
            let spans = self.build(outcome, SystemTime::now());
            self.export.send(spans);
        }
    }
}

/// `cicd.pipeline.result` of a run: `success`, `failure` (a step failed), `error` (the run
/// broke), `timeout` or `cancellation`.
fn pipeline_result(outcome: &Outcome) -> &'static str {
    use crate::error::Cause;
    match (&outcome.error, outcome.status) {
        (None, RunStatus::Completed) => "success",
        (None, _) => "failure",
        (Some(error), _) => match error.cause {
            Some(cause) if cause.is_interrupt() => "cancellation",
            Some(Cause::Timeout) => "timeout",
            _ if ErrorClass::of(error.code) == ErrorClass::StepFailure => "failure",
            _ => "error",
        },
    }
}

/// The instrumentation scope of `tm`'s spans.
fn scope() -> InstrumentationScope {
    InstrumentationScope::builder("tm")
        .with_version(env!("CARGO_PKG_VERSION"))
        .build()
}

fn parse_time(text: &str) -> Option<SystemTime> {
    OffsetDateTime::parse(text, &Rfc3339)
        .ok()
        .map(SystemTime::from)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::runner::RunIds;

    fn spans_of(events: &[serde_json::Value], ended: &str) -> Vec<SpanData> {
        let dir = tempfile::tempdir().unwrap();
        let export = SpanExport::from_env(Some(&dir.path().join("spans.jsonl")))
            .unwrap()
            .unwrap();
        let trace = TraceContext::new_trace();
        let nodes: Vec<Node> = serde_json::from_value(serde_json::json!([
            {"id": "read", "type": "http.get", "with": {}, "timeout_ms": 0,
             "retry": {"max": 0, "backoff_ms": 0}}
        ]))
        .unwrap();
        let executor = Path::new("/bin/executor");
        let mut spans = RunSpans::new(trace, "flow", &nodes, executor, export);
        let raw: Vec<Box<RawValue>> = events
            .iter()
            .map(|e| RawValue::from_string(e.to_string()).unwrap())
            .collect();
        spans.on_events(&raw);
        spans.build(&Outcome::new(RunIds::random()), parse_time(ended).unwrap())
    }

    fn nanos(time: SystemTime) -> u128 {
        time.duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    }

    #[test]
    fn an_attempt_cut_short_ends_with_the_run_and_one_without_start_begins_duration_ms_early() {
        let spans = spans_of(
            &[
                serde_json::json!({"type": "step", "timestamp": "2026-01-01T00:00:01Z", "step_id": "read", "state": "started", "attempt": 1}),
                serde_json::json!({"type": "log", "timestamp": "2026-01-01T00:00:01Z", "level": "info", "message": "x"}),
                serde_json::json!({"type": "step", "timestamp": "2026-01-01T00:00:03Z", "step_id": "other", "state": "failed", "duration_ms": 500, "error": {"code": 2001, "message": "down"}}),
            ],
            "2026-01-01T00:00:05Z",
        );
        assert_eq!(
            spans.len(),
            3,
            "the run, two attempts; no span for a log event"
        );
        let read = spans.iter().find(|s| s.name == "read").unwrap();
        assert_eq!(nanos(read.start_time), 1_767_225_601_000_000_000);
        assert_eq!(
            nanos(read.end_time),
            1_767_225_605_000_000_000,
            "ended with the run"
        );
        assert!(read.attributes.contains(&KeyValue::new(
            "cicd.pipeline.task.run.result",
            "cancellation"
        )));
        assert!(
            read.attributes
                .contains(&KeyValue::new("tracemind.step.kind", "http.get"))
        );
        let other = spans.iter().find(|s| s.name == "other").unwrap();
        assert_eq!(nanos(other.start_time), 1_767_225_602_500_000_000);
        assert_eq!(nanos(other.end_time), 1_767_225_603_000_000_000);
        assert!(
            other
                .attributes
                .contains(&KeyValue::new("tracemind.error.class", "StepFailure"))
        );
        assert_eq!(other.status, Status::error("down"));
        for step in [read, other] {
            assert_eq!(step.parent_span_id, spans[0].span_context.span_id());
        }
    }
}

//! W3C Trace Context (`TRACEPARENT`/`TRACESTATE`) for one run: the caller's trace continued,
//! or a new one whose id is the run's REP `trace_id`.

use opentelemetry::trace::{SpanId, TraceFlags, TraceId};

/// The caller's trace context variable (W3C Trace Context `traceparent`, as the
/// OpenTelemetry environment-carrier convention spells it).
pub const ENV_TRACEPARENT: &str = "TRACEPARENT";
/// The caller's vendor trace state (W3C Trace Context `tracestate`).
pub const ENV_TRACESTATE: &str = "TRACESTATE";
/// W3C Trace Context: a `tracestate` longer than this is not passed on.
const MAX_TRACESTATE: usize = 512;

/// The trace one run belongs to, and the id of its run span: the parent of every step span,
/// and of the executor's own spans (it gets `TRACEPARENT` naming the run span).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceContext {
    trace_id: TraceId,
    /// The caller's span (`TRACEPARENT`'s parent-id), when a caller gave one.
    parent: Option<SpanId>,
    run_span: SpanId,
    flags: TraceFlags,
    state: Option<String>,
}

impl TraceContext {
    /// The context from this process's `TRACEPARENT` and `TRACESTATE`: the caller's trace
    /// continued under a new run span, or a new trace when `TRACEPARENT` is unset. A
    /// malformed `TRACEPARENT` starts a new trace too, with a warning (returned) naming it.
    pub fn from_env() -> (TraceContext, Option<String>) {
        let parent = std::env::var(ENV_TRACEPARENT).ok();
        let state = std::env::var(ENV_TRACESTATE).ok();
        match parent
            .as_deref()
            .map(|p| TraceContext::continuing(p, state.as_deref()))
        {
            None => (TraceContext::new_trace(), None),
            Some(Ok(context)) => (context, None),
            Some(Err(reason)) => (
                TraceContext::new_trace(),
                Some(format!(
                    "{ENV_TRACEPARENT} ignored ({reason}): the run starts a new trace"
                )),
            ),
        }
    }

    /// A new sampled trace with random ids (the trace id is a UUID v4's 16 bytes: the run's
    /// REP `trace_id`).
    pub fn new_trace() -> TraceContext {
        TraceContext {
            trace_id: TraceId::from_bytes(*uuid::Uuid::new_v4().as_bytes()),
            parent: None,
            run_span: new_span_id(),
            flags: TraceFlags::SAMPLED,
            state: None,
        }
    }

    /// The trace of `traceparent` (`00-<32 hex trace-id>-<16 hex parent-id>-<2 hex flags>`,
    /// W3C Trace Context §3.2; a later version's extra fields are ignored) continued under a
    /// new run span; `tracestate` is passed on when at most 512 bytes.
    ///
    /// # Errors
    /// What is wrong with `traceparent`: its shape, version `ff`, or an all-zero id.
    pub fn continuing(traceparent: &str, tracestate: Option<&str>) -> Result<TraceContext, String> {
        let fields: Vec<&str> = traceparent.trim().split('-').collect();
        let [version, trace_id, parent, flags, rest @ ..] = fields.as_slice() else {
            return Err("not version-traceid-parentid-flags".into());
        };
        let hex = |s: &str, len: usize| {
            s.len() == len
                && s.bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        };
        if !hex(version, 2) || *version == "ff" || (*version == "00" && !rest.is_empty()) {
            return Err(format!("version {version:?} is not a valid version"));
        }
        if !hex(trace_id, 32) || trace_id.bytes().all(|b| b == b'0') {
            return Err("the trace-id is not 32 lowercase hex digits, not all zero".into());
        }
        if !hex(parent, 16) || parent.bytes().all(|b| b == b'0') {
            return Err("the parent-id is not 16 lowercase hex digits, not all zero".into());
        }
        if !hex(flags, 2) {
            return Err("the trace-flags are not 2 lowercase hex digits".into());
        }
        let (Ok(trace_id), Ok(parent), Ok(flags)) = (
            TraceId::from_hex(trace_id),
            SpanId::from_hex(parent),
            u8::from_str_radix(flags, 16),
        ) else {
            return Err("not hex".into());
        };
        Ok(TraceContext {
            trace_id,
            parent: Some(parent),
            run_span: new_span_id(),
            flags: TraceFlags::new(flags & 1),
            state: tracestate
                .map(str::trim)
                .filter(|s| !s.is_empty() && s.len() <= MAX_TRACESTATE)
                .map(str::to_owned),
        })
    }

    /// The context of another run of the same command: the caller's trace under a new run
    /// span, or a new trace when no caller gave one (each run its own REP `trace_id`).
    pub fn next_run(&self) -> TraceContext {
        match self.parent {
            Some(_) => TraceContext {
                run_span: new_span_id(),
                ..self.clone()
            },
            None => TraceContext::new_trace(),
        }
    }

    /// The trace id.
    pub fn trace_id(&self) -> TraceId {
        self.trace_id
    }

    /// The caller's span, the run span's parent; `None` for a new trace.
    pub fn parent(&self) -> Option<SpanId> {
        self.parent
    }

    /// The run span's id.
    pub fn run_span(&self) -> SpanId {
        self.run_span
    }

    /// The trace flags (bit 0: sampled).
    pub fn flags(&self) -> TraceFlags {
        self.flags
    }

    /// Whether the caller asked for the trace to be recorded (or no caller said otherwise).
    pub fn sampled(&self) -> bool {
        self.flags.is_sampled()
    }

    /// The run's REP `trace_id` (`options.trace_id`, `TRACE_MIND_TRACE_ID`): the trace id's
    /// 16 bytes written as a UUID (`8-4-4-4-12` hex digits).
    pub fn rep_trace_id(&self) -> String {
        uuid::Uuid::from_bytes(self.trace_id.to_bytes()).to_string()
    }

    /// `TRACEPARENT` for the executor: this trace, the run span as the parent.
    pub fn traceparent(&self) -> String {
        format!(
            "00-{}-{}-{:02x}",
            self.trace_id,
            self.run_span,
            self.flags.to_u8()
        )
    }

    /// `TRACESTATE` for the executor: the caller's, when it gave one.
    pub fn tracestate(&self) -> Option<&str> {
        self.state.as_deref()
    }
}

/// A random, non-zero span id.
pub(crate) fn new_span_id() -> SpanId {
    loop {
        let bytes = uuid::Uuid::new_v4().into_bytes();
        let mut id = [0u8; 8];
        id.copy_from_slice(&bytes[..8]);
        if id != [0; 8] {
            return SpanId::from_bytes(id);
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    const PARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    #[test]
    fn a_callers_trace_is_continued_under_a_new_run_span() {
        let context = TraceContext::continuing(PARENT, Some("congo=t61rcWkgMzE")).unwrap();
        assert_eq!(
            context.trace_id().to_string(),
            "4bf92f3577b34da6a3ce929d0e0e4736"
        );
        assert_eq!(context.parent().unwrap().to_string(), "00f067aa0ba902b7");
        assert_eq!(
            context.rep_trace_id(),
            "4bf92f35-77b3-4da6-a3ce-929d0e0e4736"
        );
        let passed = context.traceparent();
        assert!(passed.starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-"));
        assert!(passed.ends_with("-01") && !passed.contains("00f067aa0ba902b7"));
        assert_eq!(context.tracestate(), Some("congo=t61rcWkgMzE"));
        assert_ne!(context.next_run().run_span(), context.run_span());
    }

    #[test]
    fn malformed_traceparents_are_refused() {
        for bad in [
            "",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
        ] {
            assert!(TraceContext::continuing(bad, None).is_err(), "{bad:?}");
        }
        let future = "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00-extra";
        assert!(!TraceContext::continuing(future, None).unwrap().sampled());
    }

    #[test]
    fn a_new_trace_id_is_the_rep_trace_id() {
        let context = TraceContext::new_trace();
        assert!(context.parent().is_none() && context.sampled());
        assert_ne!(context.next_run().trace_id(), context.trace_id());
        let hex: String = context.rep_trace_id().replace('-', "");
        assert_eq!(hex, context.trace_id().to_string());
    }
}

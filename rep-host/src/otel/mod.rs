//! OpenTelemetry traces of runs (docs/tracing.md): the W3C trace context a run belongs to
//! ([`TraceContext`], passed to the executor as `TRACEPARENT`), the spans built from its step
//! events ([`RunSpans`], an [`Observer`](crate::Observer)), and where they go
//! ([`SpanExport`]: OTLP/HTTP and OTLP JSON files).

mod context;
mod export;
mod spans;

pub use context::{ENV_TRACEPARENT, ENV_TRACESTATE, TraceContext};
pub use export::{ENV_ENDPOINT, ENV_TRACES_ENDPOINT, EXPORT_TIMEOUT, EXPORT_WAIT, SpanExport};
pub use spans::RunSpans;

pub(crate) use context::new_span_id;

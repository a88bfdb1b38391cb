//! Where a run's spans go: an OTLP/HTTP endpoint (protobuf, the standard
//! `OTEL_EXPORTER_OTLP_*` variables) and/or a `--trace-out` file of OTLP JSON lines. Off the
//! run's path: spans are handed over when a run has ended, sent by a thread of their own,
//! and the end of `tm` waits for them a bounded time.

use std::path::Path;
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use opentelemetry_otlp::{Protocol, WithExportConfig};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::transform::common::tonic::ResourceAttributesWithSchema;
use opentelemetry_proto::transform::trace::tonic::group_spans_by_resource_and_scope;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::{SpanData, SpanExporter};
use rep_files::{Mode, OutputFile, WriteError};

/// The endpoint of every signal, `/v1/traces` appended (OTLP exporter configuration).
pub const ENV_ENDPOINT: &str = "OTEL_EXPORTER_OTLP_ENDPOINT";
/// The traces endpoint, used as given.
pub const ENV_TRACES_ENDPOINT: &str = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT";
/// How long one export request may take, at most (the exporter's timeout; the standard
/// `OTEL_EXPORTER_OTLP_TIMEOUT` / `OTEL_EXPORTER_OTLP_TRACES_TIMEOUT` set it instead).
pub const EXPORT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long the end of `tm` waits for spans still being sent before giving them up.
pub const EXPORT_WAIT: Duration = Duration::from_secs(6);
/// Runs whose spans may wait for the exporter at once; more are dropped and counted.
const QUEUE_RUNS: usize = 1024;
/// Bytes of OTLP JSON waiting for a slow `--trace-out` reader, at most.
const FILE_QUEUE_BYTES: usize = 64 * 1024 * 1024;

/// Where spans go. Cheap to clone; clones share the exporter and the file.
#[derive(Clone)]
pub struct SpanExport {
    inner: Arc<Inner>,
}

struct Inner {
    resource: Resource,
    /// To the exporting thread, while spans are taken.
    sender: Mutex<Option<SyncSender<Vec<SpanData>>>>,
    /// The exporting thread's last word: a warning, or none.
    done: Mutex<Option<Receiver<Option<String>>>>,
    endpoint: Option<String>,
    file: Option<OutputFile>,
    dropped: Mutex<u64>,
}

impl SpanExport {
    /// Spans to the OTLP endpoint of the environment (when [`ENV_TRACES_ENDPOINT`] or
    /// [`ENV_ENDPOINT`] is set, unless `OTEL_SDK_DISABLED=true` or `OTEL_TRACES_EXPORTER=none`)
    /// and to `trace_out` (OTLP JSON, one `ExportTraceServiceRequest` a line, the file
    /// replaced whole when `tm` ends; a FIFO or a device written in place). `None` when
    /// spans go nowhere.
    ///
    /// # Errors
    /// [`WriteError`] when `trace_out` cannot be opened (no such folder, a directory, no
    /// permission).
    pub fn from_env(trace_out: Option<&Path>) -> Result<Option<SpanExport>, WriteError> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let disabled = var("OTEL_SDK_DISABLED").is_some_and(|v| v.eq_ignore_ascii_case("true"))
            || var("OTEL_TRACES_EXPORTER").is_some_and(|v| v.eq_ignore_ascii_case("none"));
        let endpoint = if disabled {
            None
        } else {
            var(ENV_TRACES_ENDPOINT).or_else(|| var(ENV_ENDPOINT))
        };
        let file = trace_out
            .map(|path| OutputFile::open(path, Mode::Replace, FILE_QUEUE_BYTES))
            .transpose()?;
        if endpoint.is_none() && file.is_none() {
            return Ok(None);
        }
        let resource = resource();
        let (sender, done) = match &endpoint {
            Some(_) => {
                let (sender, batches) = sync_channel(QUEUE_RUNS);
                let (report, done) = sync_channel(1);
                let thread_resource = resource.clone();
                let started = std::thread::Builder::new()
                    .name("otlp-export".into())
                    .spawn(move || {
                        let _ = report.send(export_all(&thread_resource, &batches));
                    });
                match started {
                    Ok(_) => (Some(sender), Some(done)),
                    Err(error) => {
                        tracing::warn!("spans not exported: no thread to send them ({error})");
                        (None, None)
                    }
                }
            }
            None => (None, None),
        };
        Ok(Some(SpanExport {
            inner: Arc::new(Inner {
                resource,
                sender: Mutex::new(sender),
                done: Mutex::new(done),
                endpoint,
                file,
                dropped: Mutex::new(0),
            }),
        }))
    }

    /// Hands over the spans of one run; never blocks (spans the exporter has no room for
    /// are dropped and counted).
    pub fn send(&self, spans: Vec<SpanData>) {
        if spans.is_empty() {
            return;
        }
        if let Some(file) = &self.inner.file {
            let attributes = ResourceAttributesWithSchema::from(&self.inner.resource);
            let request = ExportTraceServiceRequest {
                resource_spans: group_spans_by_resource_and_scope(spans.clone(), &attributes),
            };
            if let Ok(mut line) = serde_json::to_vec(&request) {
                line.push(b'\n');
                file.push(line, 1);
            }
        }
        let sender = lock(&self.inner.sender);
        if let Some(sender) = sender.as_ref() {
            let count = spans.len() as u64;
            if let Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) =
                sender.try_send(spans)
            {
                *lock(&self.inner.dropped) += count;
            }
        }
    }

    /// Waits (at most [`EXPORT_WAIT`] for the endpoint, `stall` without progress for the
    /// file) for every span handed over to be sent and written; what was not, as one
    /// warning.
    pub fn finish(&self, stall: Duration) -> Option<String> {
        let mut problems = Vec::new();
        self.stop_sending();
        let done = lock(&self.inner.done).take();
        let endpoint = self.inner.endpoint.as_deref().unwrap_or("");
        if let Some(done) = done {
            match done.recv_timeout(EXPORT_WAIT) {
                Ok(None) => {}
                Ok(Some(problem)) => problems.push(format!("{endpoint}: {problem}")),
                Err(_) => problems.push(format!(
                    "{endpoint}: not sent within {} s",
                    EXPORT_WAIT.as_secs()
                )),
            }
        }
        let dropped = *lock(&self.inner.dropped);
        if dropped > 0 {
            problems.push(format!(
                "{dropped} spans dropped: the exporter did not keep up"
            ));
        }
        if let Some(file) = &self.inner.file {
            let report = file.finish(stall);
            if !report.complete() {
                problems.push(format!(
                    "--trace-out: {} runs' spans not written ({})",
                    report.not_written,
                    report.reason.as_deref().unwrap_or("unknown")
                ));
            }
        }
        (!problems.is_empty()).then(|| format!("spans not exported: {}", problems.join("; ")))
    }

    /// Takes no more spans for the endpoint: the exporting thread ends once it sent what it
    /// has.
    fn stop_sending(&self) {
        drop(lock(&self.inner.sender).take());
    }

    /// Gives up at once: nothing more is sent or written.
    pub fn abandon(&self) {
        self.stop_sending();
        if let Some(file) = &self.inner.file {
            file.abandon();
        }
    }
}

/// `mutex`'s guard, also after a panic elsewhere (what it guards stays consistent: a
/// counter, an optional handle).
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Sends every batch received until the sender is dropped; the first failure, and how many
/// batches failed, as the warning.
fn export_all(resource: &Resource, batches: &Receiver<Vec<SpanData>>) -> Option<String> {
    let built = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_protocol(Protocol::HttpBinary)
        .with_timeout(EXPORT_TIMEOUT)
        .build();
    let mut exporter = match built {
        Ok(exporter) => exporter,
        Err(error) => return Some(error.to_string()),
    };
    exporter.set_resource(resource);
    let mut first = None;
    let mut failed = 0u64;
    let mut spans = 0u64;
    for batch in batches {
        let count = batch.len() as u64;
        if let Err(error) = futures_executor::block_on(exporter.export(batch)) {
            failed += count;
            first.get_or_insert_with(|| error.to_string());
        }
        spans += count;
    }
    let _ = exporter.shutdown();
    first.map(|error| format!("{failed} of {spans} spans not sent ({error})"))
}

/// The resource of `tm`'s spans: `service.name` `tm` unless `OTEL_SERVICE_NAME` says
/// otherwise, plus `OTEL_RESOURCE_ATTRIBUTES`.
fn resource() -> Resource {
    let builder = Resource::builder();
    if std::env::var_os("OTEL_SERVICE_NAME").is_some() {
        builder.build()
    } else {
        builder.with_service_name("tm").build()
    }
}

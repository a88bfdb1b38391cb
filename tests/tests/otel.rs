//! OpenTelemetry traces of runs (docs/tracing.md): a real OTLP/HTTP endpoint in the test
//! receives `tm`'s spans, decoded with the official OTLP protobuf definitions
//! (opentelemetry-proto): a run span under the caller's TRACEPARENT, one child per step
//! attempt; the executor gets TRACEPARENT naming the run span; an unreachable endpoint costs
//! one warning, never the run.

#![allow(clippy::unwrap_used)] // tests unwrap: a failure is the report

mod common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use common::{Run, mock_executor, tm, write_script};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message;

const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const CALLER_SPAN: &str = "00f067aa0ba902b7";

fn traceparent() -> String {
    format!("00-{TRACE_ID}-{CALLER_SPAN}-01")
}

fn project() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data/contract-project")
}

/// An OTLP/HTTP traces endpoint: every request body decoded as an
/// `ExportTraceServiceRequest`, its spans kept (with the request path).
struct Endpoint {
    url: String,
    spans: Arc<Mutex<Vec<Span>>>,
    paths: Arc<Mutex<Vec<String>>>,
}

impl Endpoint {
    fn start() -> Endpoint {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let spans = Arc::new(Mutex::new(Vec::new()));
        let paths = Arc::new(Mutex::new(Vec::new()));
        let (kept, seen) = (spans.clone(), paths.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (kept, seen) = (kept.clone(), seen.clone());
                std::thread::spawn(move || serve(stream, &kept, &seen));
            }
        });
        Endpoint { url, spans, paths }
    }

    fn spans(&self) -> Vec<Span> {
        self.spans.lock().unwrap().clone()
    }
}

/// Answers HTTP/1.1 requests on one connection until it closes.
fn serve(stream: TcpStream, spans: &Mutex<Vec<Span>>, paths: &Mutex<Vec<String>>) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut stream = stream;
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
            return;
        }
        let mut length = 0usize;
        loop {
            let mut header = String::new();
            reader.read_line(&mut header).unwrap();
            let header = header.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse().unwrap();
            }
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body).unwrap();
        let request = ExportTraceServiceRequest::decode(body.as_slice())
            .expect("the body is an OTLP ExportTraceServiceRequest");
        paths
            .lock()
            .unwrap()
            .push(request_line.split(' ').nth(1).unwrap_or("").to_owned());
        let mut kept = spans.lock().unwrap();
        for resource in request.resource_spans {
            for scope in resource.scope_spans {
                kept.extend(scope.spans);
            }
        }
        drop(kept);
        stream
            .write_all(
                b"HTTP/1.1 200 OK\r\ncontent-type: application/x-protobuf\r\ncontent-length: 0\r\n\r\n",
            )
            .unwrap();
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn attribute(span: &Span, key: &str) -> Option<String> {
    let value = span.attributes.iter().find(|kv| kv.key == key)?;
    match value.value.as_ref()?.value.as_ref()? {
        AnyValue::StringValue(s) => Some(s.clone()),
        AnyValue::IntValue(i) => Some(i.to_string()),
        other => Some(format!("{other:?}")),
    }
}

/// An executor that writes its TRACEPARENT, TRACESTATE and TRACE_MIND_TRACE_ID to `seen` and
/// becomes mock-executor.
fn recording_executor(dir: &Path) -> (PathBuf, PathBuf) {
    let seen = dir.join("traceparent");
    let script = write_script(
        dir,
        "executor",
        &format!(
            "#!/bin/sh\nprintf '%s %s %s' \"$TRACEPARENT\" \"$TRACESTATE\" \"$TRACE_MIND_TRACE_ID\" > '{}'\nexec '{}' \"$@\"\n",
            seen.display(),
            mock_executor().display()
        ),
    );
    (script, seen)
}

/// `tm runtime run` of the relay flow whose step fails `fail_times` times (3 attempts
/// allowed), with `env`.
fn relay(executor: &Path, fail_times: u32, extra: &[&str], env: &[(&str, &str)]) -> Run {
    let manifest = project().join("manifest.json").display().to_string();
    let executor = executor.display().to_string();
    let inputs = format!("{{\"value\": 42, \"fail_times\": {fail_times}, \"delay_ms\": 0}}");
    let mut args = vec![
        "--executor-path",
        &executor,
        "runtime",
        "run",
        "--manifest",
        &manifest,
        "--flow",
        "relay",
        "--inputs",
        &inputs,
    ];
    args.extend_from_slice(extra);
    tm(&args, env)
}

#[test]
fn an_otlp_endpoint_receives_a_run_span_with_a_child_per_step_attempt_under_the_callers_trace() {
    let endpoint = Endpoint::start();
    let dir = tempfile::tempdir().unwrap();
    let (executor, seen) = recording_executor(dir.path());
    let trace_out = dir.path().join("spans.jsonl");
    let parent = traceparent();
    let run = relay(
        &executor,
        2,
        &["--trace-out", trace_out.to_str().unwrap()],
        &[
            ("TRACEPARENT", &parent),
            ("TRACESTATE", "congo=t61rcWkgMzE"),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint.url),
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(!run.stderr.contains("spans not exported"), "{}", run.stderr);

    let spans = endpoint.spans();
    assert_eq!(*endpoint.paths.lock().unwrap(), ["/v1/traces"]);
    assert!(
        spans.iter().all(|s| hex(&s.trace_id) == TRACE_ID),
        "{spans:?}"
    );
    let runs: Vec<&Span> = spans.iter().filter(|s| s.name == "run relay").collect();
    assert_eq!(runs.len(), 1, "one run span: {spans:?}");
    let run_span = runs[0];
    assert_eq!(hex(&run_span.parent_span_id), CALLER_SPAN);
    assert_eq!(
        attribute(run_span, "cicd.pipeline.name").as_deref(),
        Some("relay")
    );
    assert_eq!(
        attribute(run_span, "cicd.pipeline.result").as_deref(),
        Some("success")
    );
    let run_id = run.json()["run_id"].as_str().unwrap().to_owned();
    assert_eq!(attribute(run_span, "cicd.pipeline.run.id"), Some(run_id));

    // The executor was told the run span as its parent, with the caller's trace state, and
    // the run's REP trace_id is the caller's trace id.
    let told = std::fs::read_to_string(&seen).unwrap();
    assert_eq!(
        told,
        format!(
            "00-{TRACE_ID}-{}-01 congo=t61rcWkgMzE 4bf92f35-77b3-4da6-a3ce-929d0e0e4736",
            hex(&run_span.span_id)
        )
    );

    // One child per step attempt: two failed, the third succeeded.
    let mut attempts: BTreeMap<String, &Span> = BTreeMap::new();
    for span in spans.iter().filter(|s| s.name == "send") {
        assert_eq!(span.parent_span_id, run_span.span_id, "{span:?}");
        assert_eq!(
            attribute(span, "tracemind.step.kind").as_deref(),
            Some("opcua.write")
        );
        assert!(span.start_time_unix_nano <= span.end_time_unix_nano);
        let attempt = attribute(span, "tracemind.step.attempt").unwrap();
        assert!(attempts.insert(attempt, span).is_none());
    }
    assert_eq!(attempts.keys().collect::<Vec<_>>(), ["1", "2", "3"]);
    // The flow's other steps, once each, children of the run span too.
    let mut others: Vec<&str> = spans
        .iter()
        .filter(|s| s.name != "send" && s.name != "run relay")
        .inspect(|s| assert_eq!(s.parent_span_id, run_span.span_id, "{s:?}"))
        .map(|s| s.name.as_str())
        .collect();
    others.sort_unstable();
    assert_eq!(others, ["emit", "end"]);
    let states: Vec<&str> = spans.iter().map(|s| s.trace_state.as_str()).collect();
    assert!(
        states.iter().all(|s| *s == "congo=t61rcWkgMzE"),
        "{states:?}"
    );
    for failed in ["1", "2"] {
        let span = attempts[failed];
        assert_eq!(
            attribute(span, "cicd.pipeline.task.run.result").as_deref(),
            Some("failure")
        );
        let code: i64 = attribute(span, "tracemind.error.code")
            .unwrap()
            .parse()
            .unwrap();
        assert!((2000..3000).contains(&code), "a step failure: {code}");
        assert_eq!(
            attribute(span, "tracemind.error.class").as_deref(),
            Some("StepFailure")
        );
        assert_eq!(span.status.as_ref().unwrap().code, 2, "status error");
    }
    assert_eq!(attempts["3"].status.as_ref().unwrap().code, 1, "status ok");

    // --trace-out holds the same spans as OTLP JSON.
    let text = std::fs::read_to_string(&trace_out).unwrap();
    let mut written = Vec::new();
    for line in text.lines() {
        let request: serde_json::Value = serde_json::from_str(line).unwrap();
        for resource in request["resourceSpans"].as_array().unwrap() {
            for scope in resource["scopeSpans"].as_array().unwrap() {
                for span in scope["spans"].as_array().unwrap() {
                    assert_eq!(span["traceId"], TRACE_ID);
                    written.push(span["spanId"].as_str().unwrap().to_owned());
                }
            }
        }
    }
    let mut received: Vec<String> = spans.iter().map(|s| hex(&s.span_id)).collect();
    written.sort();
    received.sort();
    assert_eq!(written, received);
}

#[test]
fn without_a_caller_the_rep_trace_id_is_the_trace_id_and_every_case_is_traced() {
    let endpoint = Endpoint::start();
    let manifest = project().join("manifest.json").display().to_string();
    let cases = project().join("cases/greet").display().to_string();
    let run = tm(
        &[
            "verify",
            "online",
            "--manifest",
            &manifest,
            "--cases",
            &cases,
            "--jobs",
            "2",
            "--json",
            "/dev/stderr",
        ],
        &[(
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
            &format!("{}/v1/traces", endpoint.url),
        )],
    );
    assert_eq!(run.code, 4, "the fixture's greet cases: {}", run.stderr);
    let spans = endpoint.spans();
    let runs: Vec<&Span> = spans.iter().filter(|s| s.name == "run greet").collect();
    assert_eq!(runs.len(), 4, "a run span per case: {spans:?}");
    for run_span in &runs {
        assert!(run_span.parent_span_id.is_empty(), "a root span");
        let children = spans
            .iter()
            .filter(|s| s.parent_span_id == run_span.span_id)
            .count();
        assert!(children >= 1, "each run has its step spans");
    }
    // Each case's REP trace_id (in the JSON report) is its trace's id.
    let start = run.stderr.find('{').unwrap();
    let report: serde_json::Value = serde_json::Deserializer::from_str(&run.stderr[start..])
        .into_iter()
        .next()
        .unwrap()
        .unwrap();
    let mut rep_ids: Vec<String> = report["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["trace_id"].as_str().unwrap().replace('-', ""))
        .collect();
    let mut trace_ids: Vec<String> = runs.iter().map(|s| hex(&s.trace_id)).collect();
    rep_ids.sort();
    trace_ids.sort();
    assert_eq!(rep_ids, trace_ids);
}

#[test]
fn an_unreachable_endpoint_costs_one_warning_and_never_the_run() {
    // A port nobody listens on.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}");
    let dir = tempfile::tempdir().unwrap();
    let (executor, _) = recording_executor(dir.path());
    for (fail_times, code) in [(0, 0), (3, 1)] {
        let run = relay(
            &executor,
            fail_times,
            &[],
            &[("OTEL_EXPORTER_OTLP_ENDPOINT", &url)],
        );
        assert_eq!(run.code, code, "{}", run.stderr);
        assert_eq!(
            run.json()["status"],
            if code == 0 { "completed" } else { "failed" }
        );
        let warnings: Vec<&str> = run
            .stderr
            .lines()
            .filter(|l| l.contains("spans not exported"))
            .collect();
        assert_eq!(warnings.len(), 1, "{}", run.stderr);
        assert!(warnings[0].contains(&url), "{}", warnings[0]);
    }
}

#[test]
fn a_trace_out_that_cannot_be_written_is_a_warning_and_a_missing_folder_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let (executor, _) = recording_executor(dir.path());
    let run = relay(&executor, 0, &["--trace-out", "/dev/full"], &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.contains("--trace-out"), "{}", run.stderr);
    let dir = tempfile::tempdir().unwrap();
    let (executor, seen) = recording_executor(dir.path());
    let missing = dir.path().join("no/such/spans.jsonl");
    let run = relay(
        &executor,
        0,
        &["--trace-out", missing.to_str().unwrap()],
        &[],
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("--trace-out"), "{}", run.stderr);
    assert!(!seen.exists(), "no executor started");
}

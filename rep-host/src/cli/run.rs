//! `tm runtime run` and `tm verify online`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use flow_ir::{LoadedFlow, Manifest};
use rep_host::otel::{RunSpans, SpanExport, TraceContext};
use rep_host::{
    Cause, CompileRequest, Engine, EventsJsonl, ExecutorCommand, Interrupt, Interrupts,
    OUTPUT_STALL, Observer, Outcome, Overrides, Progress, Recorder, ResolvedExecutor, RunRequest,
    RuntimeConfig, Tap, cache_dir, compile_sources, resolve_executor, run, stderr_sink,
    sweep_orphans, write_cache,
};
use rep_spec::{Header, REP_VERSION, TRANSCRIPT_FORMAT};
use serde_json::{Map, Value};

use super::args::{FlowArgs, GlobalArgs, OnlineArgs, RunArgs};
use super::error::Failure;
use super::inputs::parse_inputs;
use super::output::{Undelivered, deliver, render_outcome};
use super::{note, stderr_color};

/// How long `tm` spends killing descendants that escaped the executor's process group.
pub const ORPHAN_KILL_WAIT: Duration = Duration::from_secs(1);

/// How long `tm` waits, on a terminal, for its queued stderr lines before it draws or prints
/// something that must follow them.
const TERMINAL_FLUSH_WAIT: Duration = Duration::from_millis(200);

/// The Python that compiles `--sources` when neither `--python` nor runtime.yaml names one.
const DEFAULT_PYTHON: &str = "python3";

pub fn runtime_run(global: &GlobalArgs, args: &RunArgs) -> Result<(), Failure> {
    run_flow(
        global,
        &args.flow,
        &args.flow_name,
        Target::Manifest(&args.manifest),
        false,
    )
}

pub fn verify_online(global: &GlobalArgs, args: &OnlineArgs) -> Result<(), Failure> {
    let target = if args.sources.is_empty() {
        Target::Manifest(&args.manifest)
    } else {
        Target::Sources(args)
    };
    if let Some(dir) = &args.cases {
        return super::contract::verify_cases(global, args, dir, target);
    }
    let [flow] = args.flows.as_slice() else {
        return Err(Failure::Usage(
            "--flow names one flow, unless --cases DIR is given",
        ));
    };
    run_flow(global, &args.flow, flow, target, true)
}

/// Where the flow comes from.
pub enum Target<'a> {
    /// A compiled manifest.
    Manifest(&'a Path),
    /// Sources to compile first (`verify online --sources`).
    Sources(&'a OnlineArgs),
}

fn run_flow(
    global: &GlobalArgs,
    flow: &FlowArgs,
    name: &str,
    target: Target<'_>,
    show_manifest: bool,
) -> Result<(), Failure> {
    // Everything that can be checked without an executor comes first: exit 2 here.
    let config = load_config(global)?;
    let inputs = parse_inputs(flow.inputs.as_deref()).map_err(Failure::Inputs)?;
    // Interrupts installed now: an interrupt while compiling stops the compiler.
    let (runtime, mut interrupts) = start_runtime()?;
    let manifest_path = manifest_path(&target, &config, flow.timeout, &runtime, &mut interrupts)?;
    let loaded = Manifest::load(&manifest_path)
        .and_then(|m| m.load_flow(name))
        .map_err(Failure::Manifest)?;
    tracing::debug!(flow = %name, nodes = loaded.ir.graph.nodes.len(), "Flow IR loaded and valid");
    for warning in &loaded.warnings {
        tracing::warn!("{warning}");
    }
    if !flow.no_input_check {
        check_inputs(name, &loaded, &inputs)?;
    }
    let executor = resolve(global, &config)?;
    let jsonl = match &flow.events_jsonl {
        Some(path) => Some(
            EventsJsonl::open(path).map_err(|source| Failure::EventsJsonl {
                path: path.clone(),
                source,
            })?,
        ),
        None => None,
    };
    let mut progress = if global.quiet {
        None
    } else {
        // Warnings so far go out before the progress line is drawn.
        stderr_sink().flush(TERMINAL_FLUSH_WAIT);
        let nodes = loaded.ir.graph.nodes.iter();
        let attempts = nodes.map(|n| (n.id.clone(), n.retry.max.saturating_add(1)));
        Progress::on_tty(attempts, stderr_color(global.color))
    };
    let executor = ExecutorCommand::from(executor);
    let recorder = match &flow.record {
        Some(path) => Some(start_recording(path, name, &executor)?),
        None => None,
    };
    let (trace, warning) = TraceContext::from_env();
    if let Some(warning) = warning {
        tracing::warn!("{warning}");
    }
    let spans = open_span_export(flow.trace_out.as_deref())?.map(|export| {
        RunSpans::new(
            trace.clone(),
            name,
            &loaded.ir.graph.nodes,
            &executor.path,
            export,
        )
    });
    let export = spans.as_ref().map(RunSpans::export);
    let request = RunRequest {
        required_step_kinds: loaded.ir.required_step_kinds(),
        ir: loaded.document,
        inputs,
        executor,
        engine_timeout: Duration::from_secs_f64(flow.timeout),
        max_frame_bytes: global.max_frame_bytes,
        allow_shell: false,
        log_json: false,
        tap: recorder
            .clone()
            .map_or_else(Tap::none, Tap::from)
            .with_trace(trace),
    };
    let executor_path = request.executor.path.display().to_string();
    let mut jsonl_observer = jsonl.clone();
    let mut spans = spans;
    let mut observers: Vec<&mut dyn Observer> = Vec::new();
    if let Some(jsonl) = jsonl_observer.as_mut() {
        observers.push(jsonl);
    }
    if let Some(spans) = spans.as_mut() {
        observers.push(spans);
    }
    if let Some(progress) = progress.as_mut() {
        observers.push(progress);
    }
    let outcome = runtime.block_on(run(request, &mut observers, &mut interrupts));
    drop(observers);
    let sweep = std::time::Instant::now();
    let killed = sweep_orphans(ORPHAN_KILL_WAIT);
    tracing::debug!(
        killed,
        sweep_us = sweep.elapsed().as_micros(),
        "orphans swept"
    );
    let mut failure = outcome.error.clone().map(Failure::Run);
    // What the run's outputs could not take is reported; the run's result stands, unless an
    // interrupt arrives meanwhile.
    let mut outputs: Vec<Arc<dyn RunOutput>> = Vec::new();
    outputs.extend(jsonl.map(|jsonl| Arc::new(jsonl) as Arc<dyn RunOutput>));
    outputs.extend(recorder.map(|recorder| Arc::new(recorder) as Arc<dyn RunOutput>));
    outputs.extend(export.map(|export| Arc::new(export) as Arc<dyn RunOutput>));
    if let Some(interrupt) = finish_outputs(&runtime, &mut interrupts, outputs) {
        failure = after_signal(failure, interrupt);
    }
    if let Some(error) = &outcome.error {
        // Told here, before the result: on a terminal, the error, the result, the summary.
        stderr_sink().error(error);
        if error.cause == Some(Cause::CapabilitiesMismatch) {
            cache_mismatch(global, &config, &executor_path, &outcome);
        }
    }
    let manifest = show_manifest.then(|| manifest_path.display().to_string());
    let printed = render_outcome(name, manifest.as_deref(), &outcome);
    if progress.is_some() {
        // On a terminal: the error line, then the result, then the summary line, in order.
        stderr_sink().flush(TERMINAL_FLUSH_WAIT);
    }
    let delivered = deliver(&runtime, &mut interrupts, printed, OUTPUT_STALL);
    runtime.shutdown_background();
    match delivered {
        Ok(()) => {}
        Err(Undelivered::Interrupted(interrupt)) => failure = after_signal(failure, interrupt),
        Err(Undelivered::Stalled) => stderr_sink().error_line(&format!(
            "the reader of stdout took nothing for {} s after the signal: the result \
             was not delivered",
            OUTPUT_STALL.as_secs()
        )),
        // The run was ended by a signal: that stays its code; the lost result is said.
        Err(Undelivered::Failed(lost)) if ended_by_signal(failure.as_ref()) => {
            stderr_sink().error(&lost);
        }
        Err(Undelivered::Failed(lost)) => return Err(lost),
    }
    if let Some(progress) = &progress {
        progress.print_summary();
    }
    tracing::debug!(
        peak_rss_kib = peak_rss_kib(),
        cpu_us = cpu_us(),
        "outcome printed"
    );
    // The process ends right after this: freeing every event of a large run one by one
    // would only delay the exit (milliseconds on a 10k-node flow).
    std::mem::forget(outcome);
    failure.map_or(Ok(()), Err)
}

/// The manifest to run: `target`'s, compiled first from `--sources` (bounded by `timeout`
/// seconds).
pub fn manifest_path(
    target: &Target<'_>,
    config: &RuntimeConfig,
    timeout: f64,
    runtime: &tokio::runtime::Runtime,
    interrupts: &mut Interrupts,
) -> Result<PathBuf, Failure> {
    match target {
        Target::Manifest(path) => Ok(path.to_path_buf()),
        Target::Sources(args) => {
            let request = compile_request(args, config, timeout);
            let compiled = runtime
                .block_on(compile_sources(&request, interrupts))
                .map_err(Failure::Compile)?;
            Ok(compiled.manifest)
        }
    }
}

/// Whether `failure` is a signal's: the run was interrupted, or its outputs were.
pub fn ended_by_signal(failure: Option<&Failure>) -> bool {
    match failure {
        Some(Failure::Interrupted { .. }) => true,
        Some(Failure::Run(error)) => error.cause.is_some_and(Cause::is_interrupt),
        _ => false,
    }
}

/// The failure after `interrupt` arrived once the run was over: the run's own if a signal
/// already ended it, else the interrupt's.
fn after_signal(failure: Option<Failure>, interrupt: Interrupt) -> Option<Failure> {
    if ended_by_signal(failure.as_ref()) {
        failure
    } else {
        Some(Failure::Interrupted { interrupt })
    }
}

/// A file a run writes besides stdout (`--events-jsonl`, `--record`), finished once the run
/// is over.
trait RunOutput: Send + Sync {
    /// Waits until it is written (giving up after [`OUTPUT_STALL`] without progress); what
    /// was not, as a warning.
    fn finish(&self) -> Option<String>;
    /// Gives up at once: nothing more is written, nothing put in place.
    fn abandon(&self);
}

impl RunOutput for EventsJsonl {
    fn finish(&self) -> Option<String> {
        let report = EventsJsonl::finish(self, OUTPUT_STALL);
        (!report.complete()).then(|| {
            format!(
                "--events-jsonl: {} events not written ({})",
                report.not_written,
                report.reason.as_deref().unwrap_or("unknown")
            )
        })
    }

    fn abandon(&self) {
        EventsJsonl::abandon(self);
    }
}

impl RunOutput for Recorder {
    fn finish(&self) -> Option<String> {
        Recorder::finish(self, OUTPUT_STALL)
            .err()
            .map(|e| e.to_string())
    }

    fn abandon(&self) {
        Recorder::abandon(self);
    }
}

/// Waits for the run's `outputs` to be written, all at once, and warns about what was not;
/// an interrupt meanwhile abandons them (a transcript not finished is not put in place) and
/// is returned.
impl RunOutput for SpanExport {
    fn finish(&self) -> Option<String> {
        SpanExport::finish(self, OUTPUT_STALL)
    }

    fn abandon(&self) {
        SpanExport::abandon(self);
    }
}

/// Where the spans of `tm`'s runs go: `--trace-out`, the OTLP endpoint of the environment,
/// or nowhere (`None`).
pub fn open_span_export(trace_out: Option<&Path>) -> Result<Option<SpanExport>, Failure> {
    SpanExport::from_env(trace_out).map_err(|source| Failure::TraceOut {
        path: trace_out.map(Path::to_path_buf).unwrap_or_default(),
        source,
    })
}

fn finish_outputs(
    runtime: &tokio::runtime::Runtime,
    interrupts: &mut Interrupts,
    outputs: Vec<Arc<dyn RunOutput>>,
) -> Option<Interrupt> {
    if outputs.is_empty() {
        return None;
    }
    let finishing = outputs.clone();
    let finished = runtime.block_on(rep_process::unless_interrupted(interrupts, move || {
        // Each may wait out its stall bound: on threads of their own.
        std::thread::scope(|scope| {
            let threads: Vec<_> = finishing
                .iter()
                .map(|output| scope.spawn(|| output.finish()))
                .collect();
            threads
                .into_iter()
                .filter_map(|thread| thread.join().ok().flatten())
                .collect::<Vec<_>>()
        })
    }));
    match finished {
        Ok(warnings) => {
            for warning in warnings {
                tracing::warn!("{warning}");
            }
            None
        }
        Err(interrupt) => {
            for output in &outputs {
                output.abandon();
            }
            tracing::warn!(
                "{}: the run's outputs were not finished (--events-jsonl, --record, spans)",
                interrupt.name()
            );
            Some(interrupt)
        }
    }
}

/// Starts the `--record` transcript of a run of `flow` on `executor` (exit 2 when its file
/// cannot be created).
fn start_recording(
    path: &Path,
    flow: &str,
    executor: &ExecutorCommand,
) -> Result<Recorder, Failure> {
    let mut command = vec![executor.program.display().to_string()];
    command.extend(executor.args.iter().cloned());
    let header = Header {
        format: TRANSCRIPT_FORMAT.to_owned(),
        tool: "tm".to_owned(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
        rep_version: REP_VERSION.to_owned(),
        executor: command,
        flow: Some(flow.to_owned()),
        test: None,
        started_at: time::OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default(),
    };
    Recorder::create(path, &header).map_err(Failure::Record)
}

/// The compilation `verify online --sources` asks for: into `--out`, else the folder of
/// `--manifest` (as TraceMind's own `verify online` does), with `--python`, else
/// runtime.python, else python3.
fn compile_request(args: &OnlineArgs, config: &RuntimeConfig, timeout: f64) -> CompileRequest {
    let out_dir = args
        .out
        .clone()
        .unwrap_or_else(|| match args.manifest.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
            _ => PathBuf::from("."),
        });
    CompileRequest {
        python: compiler_python(args.python.as_ref(), config),
        sources: args.sources.clone(),
        out_dir,
        force: args.force,
        lint: !args.no_lint,
        timeout: Duration::from_secs_f64(timeout),
    }
}

/// The Python that runs TraceMind's compiler: `--python`, else runtime.python of the runtime
/// config, else python3 (on PATH).
pub fn compiler_python(flag: Option<&PathBuf>, config: &RuntimeConfig) -> PathBuf {
    flag.cloned()
        .or_else(|| config.runtime.python.clone())
        .unwrap_or_else(|| PathBuf::from(DEFAULT_PYTHON))
}

/// The inputs against the flow's `inputs_schema` (exit 2 when they do not match).
pub fn check_inputs(
    flow: &str,
    loaded: &LoadedFlow,
    inputs: &Map<String, Value>,
) -> Result<(), Failure> {
    let schema = &loaded.ir.inputs_schema;
    for (name, declared) in flow_ir::unknown_input_types(schema) {
        tracing::debug!("input {name}: type {declared:?} is not checked (unknown type name)");
    }
    flow_ir::check_inputs(schema, inputs).map_err(|problems| Failure::InputsMismatch {
        flow: flow.to_owned(),
        problems,
    })
}

/// This process's peak resident set size in KiB (`VmHWM`), for the debug log; Linux only.
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// The CPU time this process has used so far (user + system, all threads, not its children)
/// in µs, for the debug log.
fn cpu_us() -> Option<i64> {
    use nix::sys::resource::{UsageWho, getrusage};
    let usage = getrusage(UsageWho::RUSAGE_SELF).ok()?;
    let us = |t: nix::sys::time::TimeVal| t.tv_sec() * 1_000_000 + t.tv_usec();
    Some(us(usage.user_time()) + us(usage.system_time()))
}

/// The `--runtime-config` file, or the defaults.
pub fn load_config(global: &GlobalArgs) -> Result<RuntimeConfig, Failure> {
    match &global.runtime_config {
        Some(path) => RuntimeConfig::load(path).map_err(Failure::Config),
        None => Ok(RuntimeConfig::default()),
    }
}

/// The async runtime of a command (one thread: the work is waiting on child processes) and
/// its handler of SIGINT, SIGTERM and SIGHUP, installed from now on.
pub fn start_runtime() -> Result<(tokio::runtime::Runtime, Interrupts), Failure> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(Failure::Runtime)?;
    let interrupts = {
        let _entered = runtime.enter();
        Interrupts::from_signals()
    };
    Ok((runtime, interrupts))
}

/// Resolves runtime.yaml and the flags to the executor to run.
pub fn resolve(global: &GlobalArgs, config: &RuntimeConfig) -> Result<ResolvedExecutor, Failure> {
    let overrides = Overrides {
        engine: global.engine,
        executor_path: global.executor_path.clone(),
        executor_sha256: global.executor_sha256.clone(),
    };
    let tm_dir = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(Path::to_path_buf));
    resolve_executor(config, &overrides, tm_dir.as_deref()).map_err(Failure::Config)
}

/// The engine name used for the capability cache: `--engine`, else runtime.yaml, else proc.
pub fn engine_name(global: &GlobalArgs, config: &RuntimeConfig) -> &'static str {
    match global.engine.or(config.runtime.engine) {
        Some(Engine::Python) => "python",
        Some(Engine::Proc) | None => "proc",
    }
}

/// Records the executor's capabilities after a mismatch (REP v0.1 §7); failures only warn.
fn cache_mismatch(global: &GlobalArgs, config: &RuntimeConfig, executor: &str, outcome: &Outcome) {
    let Some(capabilities) = &outcome.capabilities else {
        return;
    };
    let missing: Vec<String> = outcome
        .error
        .as_ref()
        .and_then(|e| e.missing_step_kinds.clone())
        .unwrap_or_default();
    let written_at = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    let record = rep_host::CacheRecord {
        engine: engine_name(global, config),
        executor: executor.to_owned(),
        capabilities,
        missing_step_kinds: &missing,
        written_at,
    };
    match cache_dir().and_then(|dir| write_cache(&dir, &record)) {
        Ok(path) => {
            if !global.quiet {
                note(&format!(
                    "note: the executor's capabilities were cached at {}",
                    path.display()
                ));
            }
        }
        Err(error) => {
            let cause = std::error::Error::source(&error)
                .map(|cause| format!(": {cause}"))
                .unwrap_or_default();
            tracing::warn!("could not cache the executor's capabilities: {error}{cause}");
        }
    }
}

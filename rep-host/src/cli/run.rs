//! `tm runtime run` and `tm verify online`.

use std::path::Path;
use std::time::Duration;

use flow_ir::Manifest;
use rep_host::{
    Cause, Engine, EventsJsonl, ExecutorCommand, Interrupts, Observer, Outcome, Overrides,
    Progress, ResolvedExecutor, RunRequest, RuntimeConfig, cache_dir, kill_orphans,
    resolve_executor, run_with, write_cache,
};
use rep_spec::ExitCode;

use super::args::{FlowArgs, GlobalArgs, OnlineArgs, RunArgs};
use super::error::Failure;
use super::inputs::parse_inputs;
use super::note;
use super::output::print_outcome;

/// How long `tm` spends killing descendants that escaped the executor's process group.
const ORPHAN_KILL_WAIT: Duration = Duration::from_secs(1);

pub fn runtime_run(global: &GlobalArgs, args: &RunArgs) -> Result<ExitCode, Failure> {
    run_flow(global, &args.manifest, &args.flow, false)
}

pub fn verify_online(global: &GlobalArgs, args: &OnlineArgs) -> Result<ExitCode, Failure> {
    run_flow(global, &args.manifest, &args.flow, true)
}

fn run_flow(
    global: &GlobalArgs,
    manifest_path: &Path,
    flow: &FlowArgs,
    show_manifest: bool,
) -> Result<ExitCode, Failure> {
    // Everything that can be checked without an executor comes first: exit 2 here.
    let loaded = Manifest::load(manifest_path)
        .and_then(|m| m.load_flow(&flow.flow))
        .map_err(Failure::Manifest)?;
    tracing::debug!(flow = %flow.flow, nodes = loaded.ir.graph.nodes.len(), "Flow IR loaded and valid");
    for warning in &loaded.warnings {
        tracing::warn!("{warning}");
    }
    let inputs = parse_inputs(flow.inputs.as_deref()).map_err(Failure::Inputs)?;
    let (config, executor) = configured_executor(global)?;
    let mut jsonl = match &flow.events_jsonl {
        Some(path) => Some(
            EventsJsonl::open(path).map_err(|source| Failure::EventsJsonl {
                path: path.clone(),
                source,
            })?,
        ),
        None => None,
    };
    let mut progress = Progress::on_tty(loaded.ir.graph.nodes.len());
    let request = RunRequest {
        required_step_kinds: loaded.ir.required_step_kinds(),
        ir: loaded.document,
        inputs,
        executor: ExecutorCommand::for_path(&executor.path, &executor.args, executor.env),
        engine_timeout: Duration::from_secs_f64(flow.timeout),
        max_frame_bytes: global.max_frame_bytes,
        allow_shell: false,
        log_json: false,
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(Failure::Runtime)?;
    let executor_path = request.executor.path.display().to_string();
    let mut observers: Vec<&mut dyn Observer> = Vec::new();
    if let Some(jsonl) = jsonl.as_mut() {
        observers.push(jsonl);
    }
    if let Some(progress) = progress.as_mut() {
        observers.push(progress);
    }
    let outcome = runtime
        .block_on(async { run_with(request, &mut observers, Interrupts::from_signals()).await });
    kill_orphans(ORPHAN_KILL_WAIT);
    if let Some(error) = &outcome.error {
        note(&format!("error: {error}"));
        if error.cause == Some(Cause::CapabilitiesMismatch) {
            cache_mismatch(global, &config, &executor_path, &outcome);
        }
    }
    let manifest = show_manifest.then(|| manifest_path.display().to_string());
    print_outcome(&flow.flow, manifest.as_deref(), &outcome);
    tracing::debug!(peak_rss_kib = peak_rss_kib(), "outcome printed");
    let code = outcome.exit_code();
    // The process ends right after this: freeing every event of a large run one by one
    // would only delay the exit (milliseconds on a 10k-node flow).
    std::mem::forget(outcome);
    Ok(code)
}

/// This process's peak resident set size in KiB (`VmHWM`), for the debug log; Linux only.
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Resolves runtime.yaml and the flags to the executor to run.
pub fn configured_executor(
    global: &GlobalArgs,
) -> Result<(RuntimeConfig, ResolvedExecutor), Failure> {
    let config = match &global.runtime_config {
        Some(path) => RuntimeConfig::load(path).map_err(Failure::Config)?,
        None => RuntimeConfig::default(),
    };
    let overrides = Overrides {
        engine: global.engine,
        executor_path: global.executor_path.clone(),
    };
    let tm_dir = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(Path::to_path_buf));
    let executor =
        resolve_executor(&config, &overrides, tm_dir.as_deref()).map_err(Failure::Config)?;
    Ok((config, executor))
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
        Ok(path) => note(&format!(
            "note: the executor's capabilities were cached at {}",
            path.display()
        )),
        Err(error) => {
            let cause = std::error::Error::source(&error)
                .map(|cause| format!(": {cause}"))
                .unwrap_or_default();
            tracing::warn!("could not cache the executor's capabilities: {error}{cause}");
        }
    }
}

//! `tm runtime run` and `tm verify online`.

use std::path::Path;
use std::time::Duration;

use flow_ir::{Manifest, ManifestError};
use rep_host::cache::{self, CacheRecord};
use rep_host::config::{
    ConfigError, Engine, Overrides, ResolvedExecutor, RuntimeConfig, resolve_executor,
};
use rep_host::launcher::ExecutorCommand;
use rep_host::observe::{EventsJsonl, Progress};
use rep_host::{Cause, Interrupt, Observer, Outcome, RunRequest, run_with};
use rep_spec::ExitCode;

use super::args::{FlowArgs, GlobalArgs, OnlineArgs, RunArgs};
use super::fail;
use super::inputs::parse_inputs;
use super::output::print_outcome;

pub fn runtime_run(global: &GlobalArgs, args: &RunArgs) -> ExitCode {
    run_flow(global, &args.manifest, &args.flow, false)
}

pub fn verify_online(global: &GlobalArgs, args: &OnlineArgs) -> ExitCode {
    run_flow(global, &args.manifest, &args.flow, true)
}

fn run_flow(
    global: &GlobalArgs,
    manifest_path: &Path,
    flow: &FlowArgs,
    show_manifest: bool,
) -> ExitCode {
    // Everything that can be checked without an executor comes first: exit 2 here.
    let loaded = match Manifest::load(manifest_path).and_then(|m| m.load_flow(&flow.flow)) {
        Ok(loaded) => loaded,
        Err(error) => return fail_manifest(&error),
    };
    tracing::debug!(flow = %flow.flow, nodes = loaded.ir.graph.nodes.len(), "Flow IR loaded and valid");
    for warning in &loaded.warnings {
        tracing::warn!("{warning}");
    }
    let inputs = match parse_inputs(flow.inputs.as_deref()) {
        Ok(inputs) => inputs,
        Err(error) => return fail(&error, ExitCode::InvalidIr),
    };
    let (config, executor) = match configured_executor(global) {
        Ok(found) => found,
        Err(code) => return code,
    };
    let mut jsonl = match &flow.events_jsonl {
        Some(path) => match EventsJsonl::open(path) {
            Ok(writer) => Some(writer),
            Err(error) => {
                eprintln!(
                    "error: cannot open --events-jsonl file {}: {error}",
                    path.display()
                );
                return ExitCode::InvalidIr;
            }
        },
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
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => return fail(&error, ExitCode::RuntimeInternal),
    };
    let executor_path = request.executor.path.display().to_string();
    let mut observers: Vec<&mut dyn Observer> = Vec::new();
    if let Some(jsonl) = jsonl.as_mut() {
        observers.push(jsonl);
    }
    if let Some(progress) = progress.as_mut() {
        observers.push(progress);
    }
    let outcome = runtime.block_on(async { run_with(request, &mut observers, interrupt()).await });
    if let Some(error) = &outcome.error {
        eprintln!("error: {error}");
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
    code
}

/// This process's peak resident set size in KiB (`VmHWM`), for the debug log; Linux only.
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn fail_manifest(error: &ManifestError) -> ExitCode {
    if let ManifestError::InvalidIr { path, source } = error {
        eprintln!("error: invalid Flow IR in {}:", path.display());
        for problem in &source.problems {
            eprintln!("  - {problem}");
        }
        return ExitCode::InvalidIr;
    }
    fail(error, ExitCode::InvalidIr)
}

/// Resolves runtime.yaml and the flags to the executor to run (errors already reported).
pub fn configured_executor(
    global: &GlobalArgs,
) -> Result<(RuntimeConfig, ResolvedExecutor), ExitCode> {
    let config = match &global.runtime_config {
        Some(path) => RuntimeConfig::load(path).map_err(|e| fail_config(&e))?,
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
        resolve_executor(&config, &overrides, tm_dir.as_deref()).map_err(|e| fail_config(&e))?;
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
    let record = CacheRecord {
        engine: engine_name(global, config),
        executor: executor.to_owned(),
        capabilities,
        missing_step_kinds: &missing,
        written_at,
    };
    match cache::cache_dir().and_then(|dir| cache::write(&dir, &record)) {
        Ok(path) => eprintln!(
            "note: the executor's capabilities were cached at {}",
            path.display()
        ),
        Err(error) => tracing::warn!("could not cache the executor's capabilities: {error}"),
    }
}

/// Resolves on SIGINT or SIGTERM; never, if the handlers cannot be installed.
pub async fn interrupt() -> Interrupt {
    use tokio::signal::unix::{SignalKind, signal};
    match (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) {
        (Ok(mut int), Ok(mut term)) => tokio::select! {
            _ = int.recv() => Interrupt::Sigint,
            _ = term.recv() => Interrupt::Sigterm,
        },
        _ => {
            tracing::warn!(
                "cannot install signal handlers; SIGINT/SIGTERM will not cancel the run"
            );
            std::future::pending().await
        }
    }
}

fn fail_config(error: &ConfigError) -> ExitCode {
    let code = match error {
        ConfigError::LanguageMismatch { .. } => ExitCode::Validation,
        ConfigError::NoExecutor { .. } => ExitCode::RuntimeInternal,
        _ => ExitCode::InvalidIr,
    };
    fail(error, code)
}

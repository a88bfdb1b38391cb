//! `tm runtime run` and `tm verify online`.

use std::path::Path;
use std::time::Duration;

use flow_ir::{Manifest, ManifestError};
use rep_host::config::{ConfigError, Overrides, RuntimeConfig, resolve_executor};
use rep_host::launcher::ExecutorCommand;
use rep_host::{RunRequest, run};
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
    for warning in &loaded.warnings {
        tracing::warn!("{warning}");
    }
    let inputs = match parse_inputs(flow.inputs.as_deref()) {
        Ok(inputs) => inputs,
        Err(error) => return fail(&error, ExitCode::InvalidIr),
    };
    let config = match &global.runtime_config {
        Some(path) => match RuntimeConfig::load(path) {
            Ok(config) => config,
            Err(error) => return fail_config(&error),
        },
        None => RuntimeConfig::default(),
    };
    let overrides = Overrides {
        engine: global.engine,
        executor_path: global.executor_path.clone(),
    };
    let tm_dir = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(Path::to_path_buf));
    let executor = match resolve_executor(&config, &overrides, tm_dir.as_deref()) {
        Ok(executor) => executor,
        Err(error) => return fail_config(&error),
    };
    let request = RunRequest {
        required_step_kinds: loaded.ir.required_step_kinds(),
        ir: loaded.document,
        inputs,
        executor: ExecutorCommand::for_path(&executor.path, &executor.args),
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
    let outcome = runtime.block_on(run(request));
    if let Some(error) = &outcome.error {
        eprintln!("error: {error}");
    }
    let manifest = show_manifest.then(|| manifest_path.display().to_string());
    print_outcome(&flow.flow, manifest.as_deref(), &outcome);
    outcome.exit_code()
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

fn fail_config(error: &ConfigError) -> ExitCode {
    let code = match error {
        ConfigError::LanguageMismatch { .. } => ExitCode::Validation,
        ConfigError::NoExecutor { .. } => ExitCode::RuntimeInternal,
        _ => ExitCode::InvalidIr,
    };
    fail(error, code)
}

//! `tm runtime capabilities` and `tm runtime cache clear`.

use std::time::Duration;

use rep_host::{
    ExecutorCommand, OUTPUT_STALL, cache_dir, clear_cache, fetch_capabilities, sweep_orphans,
};

use super::args::{CacheClearArgs, CapabilitiesArgs, GlobalArgs};
use super::error::Failure;
use super::note;
use super::output::{Undelivered, deliver};
use super::run::{ORPHAN_KILL_WAIT, load_config, resolve};

pub fn capabilities(global: &GlobalArgs, args: &CapabilitiesArgs) -> Result<(), Failure> {
    let config = load_config(global)?;
    let command = ExecutorCommand::from(resolve(global, &config)?);
    if !global.quiet {
        describe_executor(&command);
    }
    let (runtime, mut interrupts) = super::run::start_runtime()?;
    let timeout = Duration::from_secs_f64(args.timeout);
    let result = runtime.block_on(fetch_capabilities(
        &command,
        timeout,
        global.max_frame_bytes,
        &mut interrupts,
    ));
    sweep_orphans(ORPHAN_KILL_WAIT);
    let capabilities = result.map_err(Failure::Capabilities)?;
    let text = serde_json::to_string_pretty(&capabilities).unwrap_or_default() + "\n";
    let delivered = deliver(&runtime, &mut interrupts, text.into_bytes(), OUTPUT_STALL);
    runtime.shutdown_background();
    match delivered {
        Ok(()) | Err(Undelivered::Stalled) => Ok(()),
        Err(Undelivered::Failed(failure)) => Err(failure),
        Err(Undelivered::Interrupted(interrupt)) => Err(Failure::Interrupted { interrupt }),
    }
}

/// On stderr: the pin and the sandbox in force on this kernel (`sandbox: …` lines, what
/// `best_effort` leaves out, or why the sandbox cannot be applied: the run then fails).
fn describe_executor(command: &ExecutorCommand) {
    if let Some(hash) = &command.sha256 {
        note(&format!(
            "executor: {} pinned (sha256 {hash})",
            command.path.display()
        ));
    }
    match &command.sandbox {
        None => tracing::info!("sandbox: none (the executor runs with this user's access)"),
        Some(sandbox) => match sandbox.prepare() {
            Ok(prepared) => {
                for line in prepared.plan().lines() {
                    note(&line);
                }
            }
            Err(error) => note(&format!("sandbox: {error}")),
        },
    }
}

pub fn cache_clear(global: &GlobalArgs, args: &CacheClearArgs) -> Result<(), Failure> {
    let engine = match (args.all, global.engine) {
        (true, _) => None,
        (false, Some(_)) => Some(super::run::engine_name(global, &Default::default())),
        (false, None) => {
            return Err(Failure::Usage(
                "say which cache to clear: --engine NAME or --all",
            ));
        }
    };
    let removed = cache_dir()
        .and_then(|dir| clear_cache(&dir, engine))
        .map_err(Failure::Cache)?;
    if removed.is_empty() {
        note("no cached capabilities to remove");
    }
    for path in removed {
        note(&format!("removed {}", path.display()));
    }
    Ok(())
}

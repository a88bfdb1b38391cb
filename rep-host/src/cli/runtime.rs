//! `tm runtime capabilities` and `tm runtime cache clear`.

use std::time::Duration;

use rep_host::cache;
use rep_host::fetch_capabilities;
use rep_host::launcher::ExecutorCommand;
use rep_spec::ExitCode;

use super::args::{CacheClearArgs, CapabilitiesArgs, GlobalArgs};
use super::fail;
use super::run::configured_executor;

pub fn capabilities(global: &GlobalArgs, args: &CapabilitiesArgs) -> ExitCode {
    let (_, executor) = match configured_executor(global) {
        Ok(found) => found,
        Err(code) => return code,
    };
    let command = ExecutorCommand::for_path(&executor.path, &executor.args, executor.env);
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => return fail(&error, ExitCode::RuntimeInternal),
    };
    let timeout = Duration::from_secs_f64(args.timeout);
    match runtime.block_on(fetch_capabilities(
        &command,
        timeout,
        global.max_frame_bytes,
    )) {
        Ok(capabilities) => {
            match serde_json::to_string_pretty(&capabilities) {
                Ok(text) => println!("{text}"),
                Err(error) => return fail(&error, ExitCode::RuntimeInternal),
            }
            ExitCode::Completed
        }
        Err(error) => {
            let code = error.exit_code();
            fail(&error, code)
        }
    }
}

pub fn cache_clear(global: &GlobalArgs, args: &CacheClearArgs) -> ExitCode {
    let engine = match (args.all, global.engine) {
        (true, _) => None,
        (false, Some(_)) => Some(super::run::engine_name(global, &Default::default())),
        (false, None) => {
            eprintln!("error: say which cache to clear: --engine NAME or --all");
            return ExitCode::InvalidIr;
        }
    };
    let result = cache::cache_dir().and_then(|dir| cache::clear(&dir, engine));
    match result {
        Ok(removed) if removed.is_empty() => {
            eprintln!("no cached capabilities to remove");
            ExitCode::Completed
        }
        Ok(removed) => {
            for path in removed {
                eprintln!("removed {}", path.display());
            }
            ExitCode::Completed
        }
        Err(error) => fail(&error, ExitCode::RuntimeInternal),
    }
}

//! `mock-executor`: the default REP v0.1 executor for demos and tests.
//!
//! Speaks REP on stdin/stdout until stdin closes. Logs go to stderr (`RUST_LOG` filters them).

use mock_executor::executor;

/// mimalloc: the kit's JSON handling is allocation-heavy, and glibc's malloc was ~40% of the
/// executor's instructions on large flows.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::process::ExitCode {
    mock_executor::init_logging();
    match executor().serve_stdio().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(%error, "stdio failed");
            std::process::ExitCode::FAILURE
        }
    }
}

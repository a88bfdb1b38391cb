//! `mock-executor`: the default REP v0.1 executor for demos and tests.
//!
//! Speaks REP on stdin/stdout until stdin closes. Logs go to stderr (`RUST_LOG` filters them).

use mock_executor::executor;

/// mimalloc, without transparent huge pages: ~20% faster than glibc's malloc on large flows
/// for the same footprint (huge pages were faster still but cost ~7 MB of RSS per process;
/// see BENCHMARKS.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main(flavor = "current_thread")]
async fn main() {
    mock_executor::init_logging();
    let executor = executor();
    let code = match executor.serve_stdio().await {
        Ok(()) => 0,
        Err(error) => {
            tracing::error!(%error, "stdio failed");
            1
        }
    };
    tracing::debug!(
        peak_rss_kib = mock_executor::peak_rss_kib(),
        "stdin closed, exiting"
    );
    // Stdin is closed: exit now. Dropping the runtime and every run's state first would only
    // delay the exit the host is waiting for (milliseconds after a 10k-node flow); responses
    // are already written (stdout is unbuffered here) and the OS reclaims the memory.
    std::process::exit(code);
}

//! `mock-executor`: the default REP v0.1 executor for demos and tests.
//!
//! Speaks REP on stdin/stdout until stdin closes, or with `--listen` on a TCP or Unix-socket
//! listener, one fresh executor per connection. Logs go to stderr (`RUST_LOG` filters them).

use clap::Parser;
use mock_executor::executor;
use rep_executor_kit::Endpoint;

/// mimalloc, without transparent huge pages: ~20% faster than glibc's malloc on large flows
/// for the same footprint (huge pages were faster still but cost ~7 MB of RSS per process;
/// see BENCHMARKS.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const EXAMPLES: &str = "\
Examples:
  mock-executor                                  # REP on stdin/stdout (how tm starts it)
  mock-executor --listen tcp:127.0.0.1:0         # prints 'listening on tcp:127.0.0.1:PORT'
  mock-executor --listen unix:/tmp/mock.sock     # then: rep-bridge unix:/tmp/mock.sock

REP v0.1 has no authentication: listen on loopback only, or reach the port through ssh.";

/// The default REP v0.1 executor: simulated opcua.read / opcua.write, the pdl/v0 policy,
/// dsl.emit, and fault injection through `with._mock`.
#[derive(Debug, Parser)]
#[command(name = "mock-executor", version, after_help = EXAMPLES)]
struct Cli {
    /// Serve REP on a listener instead of stdio: tcp:HOST:PORT (port 0 picks one) or
    /// unix:PATH. Each connection is one host session with its own runs; the bound address
    /// is printed on stderr as 'listening on ADDR'.
    #[arg(long, value_name = "ADDR")]
    listen: Option<Endpoint>,
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let cli = Cli::parse();
    mock_executor::init_logging();
    let executor = executor();
    let served = match &cli.listen {
        Some(addr) => executor.listen(addr).await,
        None => executor.serve_stdio().await,
    };
    let code = match served {
        Ok(()) => 0,
        Err(error) => {
            tracing::error!(%error, "serving failed");
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

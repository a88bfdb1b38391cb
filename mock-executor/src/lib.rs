//! The mock executor's step handlers: simulated OPC UA reads and writes, the baked `pdl/v0`
//! threshold policy, and `dsl.emit` — enough to run the reference compiler's output for real —
//! plus fault injection for tests: every step kind honours `with._mock` (see [`Faults`]).

#![deny(missing_docs)]

mod faults;
mod handlers;
mod policy;

use rep_executor_kit::{Executor, PROBE_STEP_KIND, ProbeStep};

pub use faults::{Faults, MOCK_KEY, with_faults};
pub use handlers::{DEFAULT_READING, dsl_emit, opcua_read, opcua_write, policy_apply};
pub use policy::{PolicyDecision, evaluate_threshold_policy};

/// Steps of one run executing at once (`limits.concurrency`).
pub const CONCURRENCY: u32 = 4;

/// The mock executor: `opcua.read`, `opcua.write`, `policy.apply`, `dsl.emit`, each wrapped
/// by [`with_faults`], plus the kit's built-in `switch` and `finish` (which ignore `_mock`)
/// and the kit's `rep.probe` (for rep-conformance's semantic tests); `limits.concurrency` is
/// [`CONCURRENCY`].
pub fn executor() -> Executor {
    Executor::builder()
        .version(env!("CARGO_PKG_VERSION"))
        .concurrency(CONCURRENCY)
        .step("opcua.read", with_faults(opcua_read))
        .step("opcua.write", with_faults(opcua_write))
        .step("policy.apply", with_faults(policy_apply))
        .step("dsl.emit", with_faults(dsl_emit))
        .step(PROBE_STEP_KIND, ProbeStep)
        .build()
}

/// Logs to stderr, never stdout (stdout carries protocol frames only). `RUST_LOG` sets the
/// filter; the default shows warnings and errors.
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .init();
}

/// This process's peak resident set size in KiB (`VmHWM`), for the debug log; Linux only.
pub fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

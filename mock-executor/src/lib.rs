//! The mock executor's step handlers: simulated OPC UA reads and writes, the baked `pdl/v0`
//! threshold policy, and `dsl.emit` — enough to run the reference compiler's output for real.

#![deny(missing_docs)]

mod handlers;
mod policy;

use rep_executor_kit::Executor;

pub use handlers::{DEFAULT_READING, dsl_emit, opcua_read, opcua_write, policy_apply};
pub use policy::{PolicyDecision, evaluate_threshold_policy};

/// The mock executor: `opcua.read`, `opcua.write`, `policy.apply`, `dsl.emit`, plus the kit's
/// built-in `switch` and `finish`; `limits.concurrency` is the kit default (4).
pub fn executor() -> Executor {
    Executor::builder()
        .version(env!("CARGO_PKG_VERSION"))
        .step("opcua.read", opcua_read)
        .step("opcua.write", opcua_write)
        .step("policy.apply", policy_apply)
        .step("dsl.emit", dsl_emit)
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

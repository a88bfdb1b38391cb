//! Everything a REP v0.1 executor needs but its step handlers.
//!
//! An executor author registers one async handler per step kind and calls
//! [`Executor::serve_stdio`]; the kit answers the JSON-RPC 2.0 requests of REP v0.1 on
//! stdin/stdout, validates Flow IR at `Runtime.StartRun` (version → 1001, schema and semantic
//! rules → 1003, step kinds → 1002, run inputs against `inputs_schema` → 1004), schedules the
//! graph (entry nodes, `success`/`failure` edges, the built-in `switch` and `finish`,
//! references in `with`, retries, timeouts), and delivers every `step` and `log` event exactly
//! once through `Runtime.Poll`.
//! [`Executor::listen`] serves the same protocol on a TCP or Unix-socket listener instead, one
//! fresh executor state per connection, for executors reached through `rep-bridge`.
//!
//! What the kit guarantees around a handler (the authoring guide, `docs/writing-an-executor.md`,
//! has the details):
//!
//! - **Retries**: `retry.max` extra attempts, `retry.backoff_ms` apart; every attempt has its
//!   own `started` and `succeeded`/`failed` events carrying `attempt` (1-based). A
//!   [`StepError`] with `retriable: false`, or of a class other than StepFailure, is not
//!   retried.
//! - **Timeouts**: a node's `timeout_ms` (0 = none) fails the attempt with cause `timeout`;
//!   `flow.timeout_ms` (0 = none) fails the run (2001, cause `timeout`).
//! - **Graph**: `failure` edges continue a failed step; several `success` edges run their
//!   targets concurrently, at most `limits.concurrency` steps at once; a join runs once after
//!   every predecessor on a taken path. A cyclic graph is refused at StartRun (1003).
//! - **Cancellation**: `Runtime.Cancel` cancels each running handler's token
//!   ([`StepContext::cancellation`]), drops handlers still running after the grace
//!   ([`DEFAULT_CANCEL_GRACE`]) and fails the run with 3001, cause `cancelled`.
//! - **Panics**: a panicking handler is a failed attempt (3002, cause `panic`), never a dead
//!   executor. Runs are independent: many per process, by run id.
//! - **Semantic conformance**: registering [`ProbeStep`] (`.step(PROBE_STEP_KIND, ProbeStep)`)
//!   advertises `rep.probe`, with which `rep-conformance` checks the scheduler's semantics
//!   (the `REP-SEM-*` tests and `rep-conformance fuzz`).
//!
//! ```no_run
//! use rep_executor_kit::{Executor, StepContext, StepResult};
//! use serde_json::{Map, Value};
//!
//! async fn greet(_ctx: StepContext, with: Map<String, Value>) -> StepResult {
//!     Ok(serde_json::json!({ "greeting": format!("hello {}", with["name"]) }))
//! }
//!
//! #[tokio::main(flavor = "current_thread")]
//! async fn main() -> std::io::Result<()> {
//!     Executor::builder().step("greet", greet).build().serve_stdio().await
//! }
//! ```

#![deny(missing_docs)]

mod clock;
mod control;
mod dispatch;
mod executor;
mod graph;
mod handler;
mod listen;
mod probe;
mod registry;
mod resolve;
mod run;
mod scheduler;
mod server;
mod step;
mod wire;

pub use executor::{
    BUILTIN_FINISH, BUILTIN_SWITCH, DEFAULT_CANCEL_GRACE, DEFAULT_CONCURRENCY,
    DEFAULT_MAX_REQUEST_BYTES, Executor, ExecutorBuilder, OUTPUT_STEP_KIND, UNKNOWN_RUN,
};
pub use handler::{FailureCause, StepContext, StepError, StepFuture, StepHandler, StepResult};
pub use listen::{Listener, MAX_CONNECTIONS};
pub use probe::{PROBE_STEP_KIND, ProbeStep};
pub use rep_spec::{Endpoint, EndpointError};
pub use resolve::{Scope, resolve, resolve_map};
pub use run::RunHandle;

pub(crate) use executor::HandlerTable;

//! Everything a REP v0.1 executor needs but its step handlers.
//!
//! An executor author registers one async handler per step kind and calls
//! [`Executor::serve_stdio`]; the kit answers the JSON-RPC 2.0 requests of REP v0.1 on
//! stdin/stdout, validates Flow IR at `Runtime.StartRun` (version → 1001, schema and semantic
//! rules → 1003, step kinds → 1002), schedules the graph (entry nodes, `success`/`failure`
//! edges, the built-in `switch` and `finish`, references in `with`, retries, timeouts), and
//! delivers every `step` and `log` event exactly once through `Runtime.Poll`.
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
mod dispatch;
mod executor;
mod handler;
mod registry;
mod resolve;
mod run;
mod scheduler;
mod server;
mod step;

pub use executor::{
    BUILTIN_FINISH, BUILTIN_SWITCH, DEFAULT_CANCEL_GRACE, DEFAULT_CONCURRENCY,
    DEFAULT_MAX_REQUEST_BYTES, Executor, ExecutorBuilder, OUTPUT_STEP_KIND, UNKNOWN_RUN,
};
pub use handler::{FailureCause, StepContext, StepError, StepFuture, StepHandler, StepResult};
pub use resolve::{Scope, resolve, resolve_map};
pub use run::RunHandle;

pub(crate) use executor::HandlerTable;

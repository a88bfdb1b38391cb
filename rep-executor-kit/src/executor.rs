//! The executor: handlers, capabilities, limits and the run registry.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use rep_spec::{Capabilities, Limits};
use serde_json::Map;

use crate::handler::StepHandler;
use crate::registry::RunRegistry;

/// The built-in control kind `switch` (Flow IR dialect): picks the next node from
/// `with.cases` by the resolved `with.key_from`, else `with.default`.
pub const BUILTIN_SWITCH: &str = "switch";
/// The built-in control kind `finish`: ends the flow successfully.
pub const BUILTIN_FINISH: &str = "finish";
/// The step kind whose outputs are the flow's outputs (`summary.outputs`).
pub const OUTPUT_STEP_KIND: &str = "dsl.emit";
/// Steps run at once per run unless [`ExecutorBuilder::concurrency`] says otherwise.
pub const DEFAULT_CONCURRENCY: u32 = 4;
/// How long a step handler may keep running after its cancellation token fired (run
/// cancelled or stopping, node timeout) before the kit drops it: 150 ms.
pub const DEFAULT_CANCEL_GRACE: Duration = Duration::from_millis(150);
/// Default bound on one request line: 256 MiB (a 100k-node IR is tens of MiB).
pub const DEFAULT_MAX_REQUEST_BYTES: usize = 256 * 1024 * 1024;
/// **[clarified]** Error code answered to Poll or Cancel of an unknown run id: a Validation
/// error (REP v0.1 §3 allows 1000–1999).
pub const UNKNOWN_RUN: i64 = 1000;

pub(crate) type HandlerTable = HashMap<String, Arc<dyn StepHandler>>;

/// Builds an [`Executor`]. No I/O happens until [`Executor::serve_stdio`] or
/// [`Executor::serve`].
pub struct ExecutorBuilder {
    handlers: HandlerTable,
    version: String,
    concurrency: u32,
    max_request_bytes: usize,
    cancel_grace: Duration,
}

impl ExecutorBuilder {
    /// Registers `handler` for step kind `kind` (a Flow IR `node.type`). A later registration
    /// of the same kind replaces the earlier one. Registering `switch` or `finish` replaces the
    /// built-in.
    pub fn step(mut self, kind: impl Into<String>, handler: impl StepHandler) -> Self {
        self.handlers.insert(kind.into(), Arc::new(handler));
        self
    }

    /// The executor version advertised by `Runtime.Capabilities` (semver). Default: this
    /// crate's version.
    pub fn version(mut self, version: impl Into<String>) -> Self {
        self.version = version.into();
        self
    }

    /// How many steps of one run may execute at once (`limits.concurrency`); at least 1.
    pub fn concurrency(mut self, concurrency: u32) -> Self {
        self.concurrency = concurrency.max(1);
        self
    }

    /// Bound on one request line in bytes; a longer line is answered with -32600 and skipped.
    pub fn max_request_bytes(mut self, bytes: usize) -> Self {
        self.max_request_bytes = bytes;
        self
    }

    /// How long a handler whose cancellation token fired may keep running before the kit
    /// drops its future (default [`DEFAULT_CANCEL_GRACE`]). Keep it well under the 5 s a host
    /// waits before killing the executor (REP v0.1 §2).
    pub fn cancel_grace(mut self, grace: Duration) -> Self {
        self.cancel_grace = grace;
        self
    }

    /// The executor.
    pub fn build(self) -> Executor {
        Executor {
            handlers: Arc::new(self.handlers),
            version: self.version,
            concurrency: self.concurrency,
            max_request_bytes: self.max_request_bytes,
            cancel_grace: self.cancel_grace,
            registry: RunRegistry::default(),
        }
    }
}

/// A REP v0.1 executor: step handlers plus everything else.
pub struct Executor {
    pub(crate) handlers: Arc<HandlerTable>,
    pub(crate) version: String,
    pub(crate) concurrency: u32,
    pub(crate) max_request_bytes: usize,
    pub(crate) cancel_grace: Duration,
    pub(crate) registry: RunRegistry,
}

impl Executor {
    /// A builder with no handlers, concurrency [`DEFAULT_CONCURRENCY`], request bound
    /// [`DEFAULT_MAX_REQUEST_BYTES`] and cancellation grace [`DEFAULT_CANCEL_GRACE`].
    pub fn builder() -> ExecutorBuilder {
        ExecutorBuilder {
            handlers: HashMap::new(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            concurrency: DEFAULT_CONCURRENCY,
            max_request_bytes: DEFAULT_MAX_REQUEST_BYTES,
            cancel_grace: DEFAULT_CANCEL_GRACE,
        }
    }

    /// An executor with the same handlers and settings and no runs: the state of one more
    /// host session (a connection of [`Executor::serve_listener`]).
    pub(crate) fn fresh(&self) -> Executor {
        Executor {
            handlers: self.handlers.clone(),
            version: self.version.clone(),
            concurrency: self.concurrency,
            max_request_bytes: self.max_request_bytes,
            cancel_grace: self.cancel_grace,
            registry: RunRegistry::default(),
        }
    }

    /// Whether a step kind can run here: a registered handler or a built-in control kind.
    pub fn supports(&self, kind: &str) -> bool {
        self.handlers.contains_key(kind) || kind == BUILTIN_SWITCH || kind == BUILTIN_FINISH
    }

    /// The `Runtime.Capabilities` result: registered kinds plus `switch` and `finish`, sorted.
    pub fn capabilities(&self) -> Capabilities {
        let mut step_kinds: Vec<String> = self.handlers.keys().cloned().collect();
        for builtin in [BUILTIN_SWITCH, BUILTIN_FINISH] {
            if !self.handlers.contains_key(builtin) {
                step_kinds.push(builtin.to_owned());
            }
        }
        step_kinds.sort();
        Capabilities {
            version: self.version.clone(),
            step_kinds,
            limits: Limits {
                concurrency: self.concurrency,
                extra: Map::new(),
            },
            extra: Map::new(),
        }
    }
}

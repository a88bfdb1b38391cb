//! Everything this binding uses of rep-host and flow-ir, in one module: what is checked
//! before an executor starts (the runtime config, the manifest or the IR, the inputs: exit
//! 2), the executor resolved as `tm` resolves it, a run or a Capabilities exchange on a
//! thread of its own, and their results as plain data ([`Ended`], [`Failure`]) for the
//! Python layer. Nothing here knows Python; nothing outside this module knows rep-host.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

use flow_ir::{FlowIr, IrFileError, LoadedFlow, Manifest, ManifestError, ValidationError};
use rep_host::{
    CacheRecord, Cause, ConfigError, ExecutorCommand, Interrupt, InterruptSender, Interrupts,
    Observer, Outcome, Overrides, RunError, RunRequest, RuntimeConfig, Tap, cache_dir,
    fetch_capabilities, missing_step_kinds, resolve_executor, run, write_cache,
};
use rep_spec::{Capabilities, DEFAULT_MAX_FRAME_BYTES, ErrorClass, ExitCode, RunStatus, codes};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

/// The engine name of the capability cache file (REP v0.1 §7): this host is TraceMind's
/// `proc` engine.
const CACHE_ENGINE: &str = "proc";

/// Where the executor comes from, as the Python caller names it.
#[derive(Debug, Clone, Default)]
pub struct Target {
    /// `executor_path=`: wins over the runtime config.
    pub executor_path: Option<PathBuf>,
    /// `runtime_config=`: a runtime.yaml (the `tm --runtime-config` file).
    pub runtime_config: Option<PathBuf>,
    /// Where the default executor (`mock-executor`) is looked for: the scripts folder the
    /// wheel installed it in.
    pub default_dir: Option<PathBuf>,
    /// The Python that runs a `.py` executor (the caller's interpreter).
    pub python: Option<PathBuf>,
    /// Extra arguments for the executor, after the configured ones.
    pub args: Vec<String>,
}

/// A run checked and ready to start: nothing has been spawned yet.
#[derive(Debug)]
pub struct Prepared {
    request: RunRequest,
    /// Disagreements between the manifest entry and the IR (not errors).
    pub warnings: Vec<String>,
}

/// Which error a [`Failure`] is, for the Python layer to pick the exception class.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The inputs are not an object or do not match the flow's `inputs_schema` (exit 2).
    Inputs,
    /// The manifest, the flow's entry or its Flow IR cannot be used (exit 2).
    Manifest,
    /// The runtime config or the executor's resolution (exit 2, 3 or 4).
    Config,
    /// The executor lacks step kinds the flow needs, or its Capabilities are invalid (exit 3).
    CapabilitiesMismatch,
    /// The executor answered a request with an error object (exit 3 for 1xxx, else 4).
    Executor,
    /// Transport, timeout, spawn, the executor's exit (3001, exit 4).
    Transport,
    /// The run was cancelled by an interrupt (exit 130).
    Interrupted,
    /// The executor reported the run as failed (exit 1): a result, not an exception.
    RunFailed,
}

/// Why something did not work: what `tm` prints as its `error` member, plus the exit code
/// `tm` would use.
#[derive(Debug, Clone)]
pub struct Failure {
    /// Which error.
    pub kind: Kind,
    /// What happened, for a person (causes joined with ": ").
    pub message: String,
    /// The REP error code (REP v0.1 §5), `None` for a problem found before any executor
    /// that has no code (a missing manifest, a config file).
    pub code: Option<i64>,
    /// The class of `code` (`Validation`, `StepFailure`, `RuntimeInternal`, …).
    pub class: Option<&'static str>,
    /// The exit code `tm runtime run` would use (REP v0.1 §5).
    pub exit_code: u8,
    /// The machine-readable cause (`Timeout`, `Eof`, `CapabilitiesMismatch`, …).
    pub cause: Option<String>,
    /// The executor's error object, JSON text exactly as sent.
    pub executor_error: Option<String>,
    /// The step kinds the executor lacks (CapabilitiesMismatch).
    pub missing_step_kinds: Option<Vec<String>>,
    /// The executor's Capabilities as JSON text, when the handshake got that far.
    pub capabilities: Option<String>,
    /// Every problem found, one line each (inputs, Flow IR).
    pub problems: Vec<String>,
    /// Where the executor's capabilities were cached after a mismatch (REP v0.1 §7).
    pub cache_path: Option<String>,
}

impl Failure {
    fn new(kind: Kind, exit_code: ExitCode, message: String) -> Failure {
        Failure {
            kind,
            message,
            code: None,
            class: None,
            exit_code: exit_code.code(),
            cause: None,
            executor_error: None,
            missing_step_kinds: None,
            capabilities: None,
            problems: Vec::new(),
            cache_path: None,
        }
    }

    fn with_code(mut self, code: i64) -> Failure {
        self.code = Some(code);
        self.class = Some(ErrorClass::of(code).as_str());
        self
    }

    fn inputs(message: String) -> Failure {
        Failure::new(Kind::Inputs, ExitCode::BadInput, message).with_code(codes::INVALID_INPUTS)
    }

    /// A failure of this binding itself (no thread, no runtime): RuntimeInternal, exit 4.
    fn internal(message: String) -> Failure {
        Failure::new(Kind::Transport, ExitCode::RuntimeInternal, message)
            .with_code(codes::TRANSPORT)
    }

    /// A host-side error of a run, by its cause (the exit code is rep-host's).
    fn of_run_error(error: &RunError) -> Failure {
        let kind = match error.cause {
            Some(Cause::CapabilitiesMismatch | Cause::InvalidCapabilities) => {
                Kind::CapabilitiesMismatch
            }
            Some(Cause::LanguageMismatch) => Kind::Config,
            Some(Cause::ExecutorError) => Kind::Executor,
            Some(Cause::RunFailed) => Kind::RunFailed,
            Some(Cause::Interrupted | Cause::Terminated | Cause::HungUp) => Kind::Interrupted,
            _ if error.class == ErrorClass::Validation => Kind::Executor,
            _ => Kind::Transport,
        };
        let mut failure = Failure::new(kind, error.exit_code(), error.message.clone());
        failure.code = Some(error.code);
        failure.class = Some(error.class.as_str());
        failure.cause = error.cause.map(cause_name);
        failure.executor_error = error
            .executor_error
            .as_ref()
            .map(|e| e.json().get().to_owned());
        failure.missing_step_kinds = error.missing_step_kinds.clone();
        failure
    }
}

/// How a run ended.
#[derive(Debug, Clone)]
pub struct Ended {
    /// The run id (the executor's answer to StartRun, else the host's).
    pub run_id: String,
    /// `completed` or `failed`.
    pub status: &'static str,
    /// The last summary, JSON text exactly as the executor wrote it.
    pub summary: Option<String>,
    /// Why the run did not complete: a step failure ([`Kind::RunFailed`]) or a host-side
    /// error.
    pub failure: Option<Failure>,
}

/// Loads the runtime config (when named) and resolves the executor as `tm` does:
/// `executor_path`, else the config's `runtime.executor_path`, else `mock-executor` in
/// `target.default_dir`. A `.py` executor runs with `target.python` when given.
fn executor_command(target: &Target) -> Result<ExecutorCommand, Box<Failure>> {
    let config = match &target.runtime_config {
        Some(path) => RuntimeConfig::load(path).map_err(|e| config_failure(&e))?,
        None => RuntimeConfig::default(),
    };
    let overrides = Overrides {
        engine: None,
        executor_path: target.executor_path.clone(),
        // A pin comes from the runtime config's `executor_sha256`, as for `tm` without
        // `--executor-sha256`.
        executor_sha256: None,
    };
    let resolved = resolve_executor(&config, &overrides, target.default_dir.as_deref())
        .map_err(|e| config_failure(&e))?;
    let mut command = ExecutorCommand::from(resolved);
    if let Some(python) = &target.python
        && command.program != command.path
    {
        command.program = python.clone();
    }
    command.args.extend(target.args.iter().cloned());
    Ok(command)
}

/// The run of `flow` of the manifest at `manifest`, with `inputs_json` (a JSON object),
/// checked as `tm runtime run` checks it before starting an executor.
///
/// # Errors
/// [`Kind::Config`], [`Kind::Manifest`] or [`Kind::Inputs`] failures.
pub fn prepare_flow(
    flow: &str,
    manifest: &Path,
    inputs_json: &str,
    target: &Target,
    timeout: Duration,
) -> Result<Prepared, Box<Failure>> {
    let command = executor_command(target)?;
    let inputs = parse_inputs(inputs_json)?;
    let loaded = Manifest::load(manifest)
        .and_then(|m| m.load_flow(flow))
        .map_err(|e| manifest_failure(&e))?;
    let LoadedFlow {
        document,
        ir,
        warnings,
        ..
    } = loaded;
    check_inputs(flow, &ir.inputs_schema, &inputs)?;
    let request = request(document, &ir, inputs, command, timeout, false);
    Ok(Prepared { request, warnings })
}

/// A run of the Flow IR document `ir_json` (what TraceMind's `ProcessEngine.start_run`
/// is given), validated (schema and rules) and its inputs checked.
///
/// # Errors
/// [`Kind::Config`], [`Kind::Manifest`] (the IR is invalid: 1003, or 1001 for its
/// version) or [`Kind::Inputs`] failures.
pub fn prepare_ir(
    ir_json: &str,
    inputs_json: &str,
    allow_shell: bool,
    target: &Target,
    timeout: Duration,
) -> Result<Prepared, Box<Failure>> {
    let command = executor_command(target)?;
    let inputs = parse_inputs(inputs_json)?;
    let document: Value = serde_json::from_str(ir_json).map_err(|e| {
        Failure::new(
            Kind::Manifest,
            ExitCode::BadInput,
            format!("the IR is not JSON: {e}"),
        )
        .with_code(codes::INVALID_IR)
    })?;
    let ir = flow_ir::validate(&document).map_err(|error| {
        invalid_ir(
            Failure::new(Kind::Manifest, ExitCode::BadInput, error.to_string()),
            &error,
        )
    })?;
    check_inputs(&ir.flow.name, &ir.inputs_schema, &inputs)?;
    let request = request(document, &ir, inputs, command, timeout, allow_shell);
    Ok(Prepared {
        request,
        warnings: Vec::new(),
    })
}

fn request(
    document: Value,
    ir: &FlowIr,
    inputs: Map<String, Value>,
    executor: ExecutorCommand,
    engine_timeout: Duration,
    allow_shell: bool,
) -> RunRequest {
    RunRequest {
        required_step_kinds: ir.required_step_kinds(),
        ir: document,
        inputs,
        executor,
        engine_timeout,
        max_frame_bytes: DEFAULT_MAX_FRAME_BYTES,
        allow_shell,
        log_json: false,
        tap: Tap::none(),
    }
}

fn parse_inputs(json: &str) -> Result<Map<String, Value>, Box<Failure>> {
    match serde_json::from_str::<Value>(json) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(other) => Err(Box::new(Failure::inputs(format!(
            "the inputs must be a JSON object (a dict), got {}",
            other.to_string().chars().take(60).collect::<String>()
        )))),
        Err(e) => Err(Box::new(Failure::inputs(format!(
            "the inputs are not JSON: {e}"
        )))),
    }
}

fn check_inputs(
    flow: &str,
    schema: &Value,
    inputs: &Map<String, Value>,
) -> Result<(), Box<Failure>> {
    flow_ir::check_inputs(schema, inputs).map_err(|error| {
        let mut failure = Failure::inputs(format!(
            "the inputs of flow {flow:?} do not match its inputs_schema: {error}"
        ));
        failure.problems = error.problems.iter().map(ToString::to_string).collect();
        Box::new(failure)
    })
}

/// The manifest error as a failure: every one is exit 2; an invalid IR carries 1003 (1001
/// for an unsupported version) and its problems.
fn manifest_failure(error: &ManifestError) -> Failure {
    let failure = Failure::new(Kind::Manifest, ExitCode::BadInput, chain(error));
    match error {
        ManifestError::Ir {
            source: IrFileError::Invalid { source, .. },
            ..
        } => invalid_ir(failure, source),
        _ => failure,
    }
}

/// `failure` for the invalid Flow IR of `error`: code 1003 (1001 for an unsupported
/// version, REP v0.1 §5) and every problem.
fn invalid_ir(failure: Failure, error: &ValidationError) -> Failure {
    let code = if error.is_unsupported_version() {
        codes::UNSUPPORTED_IR_VERSION
    } else {
        codes::INVALID_IR
    };
    let mut failure = failure.with_code(code);
    failure.problems = error.problems.iter().map(ToString::to_string).collect();
    failure
}

/// The config error as a failure, with `tm`'s exit code for it (rep-host's
/// `cli/error.rs`: a language mismatch is Validation, a missing default executor
/// RuntimeInternal, anything else bad input).
fn config_failure(error: &ConfigError) -> Failure {
    let exit = match error {
        ConfigError::LanguageMismatch { .. } => ExitCode::Validation,
        ConfigError::NoExecutor { .. } => ExitCode::RuntimeInternal,
        _ => ExitCode::BadInput,
    };
    let mut failure = Failure::new(Kind::Config, exit, chain(error));
    if matches!(error, ConfigError::LanguageMismatch { .. }) {
        failure.cause = Some(cause_name(Cause::LanguageMismatch));
    }
    failure
}

/// `error`'s message followed by its causes, joined with ": ".
fn chain(error: &dyn std::error::Error) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}

/// The cause as `tm` prints it (its serde name).
fn cause_name(cause: Cause) -> String {
    match serde_json::to_value(cause) {
        Ok(Value::String(name)) => name,
        _ => format!("{cause:?}"),
    }
}

/// What a background task has produced so far.
struct State<T> {
    /// The run id, once StartRun was answered.
    started: Option<String>,
    /// Every event so far, as the executor sent it.
    events: Vec<Box<RawValue>>,
    /// The task's result, once it ended.
    result: Option<T>,
}

struct Shared<T> {
    state: Mutex<State<T>>,
    changed: Condvar,
}

impl<T> Shared<T> {
    fn lock(&self) -> MutexGuard<'_, State<T>> {
        // A panic while the lock was held cannot leave the state half-updated (each update
        // is one push or one assignment): go on with it.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn update(&self, change: impl FnOnce(&mut State<T>)) {
        change(&mut self.lock());
        self.changed.notify_all();
    }
}

/// What a task is waited for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Until {
    /// The run started (StartRun answered), or the task ended.
    Started,
    /// The task ended.
    Ended,
}

/// A run, or a Capabilities exchange, on a thread of its own with its own async runtime:
/// the caller waits for it in slices (to look at Python's signals in between) and
/// interrupts it as SIGINT interrupts `tm`. Dropping it interrupts what still runs; the
/// thread then finishes the shutdown sequence on its own (nothing outlives the process:
/// the executor has a parent-death signal).
pub struct Task<T> {
    shared: Arc<Shared<T>>,
    interrupt: InterruptSender,
}

/// A run in progress.
pub type RunTask = Task<Ended>;

/// A Capabilities exchange: the Capabilities as JSON text, or why not.
pub type CapabilitiesTask = Task<Result<String, Failure>>;

impl<T: Send + 'static> Task<T> {
    /// Starts `work` on a new thread, in a current-thread tokio runtime, with the
    /// interrupts of this task. `failed` makes the result when the thread or the runtime
    /// cannot be started.
    fn spawn<F, Fut>(work: F, failed: fn(Failure) -> T) -> Task<T>
    where
        F: FnOnce(Interrupts, Arc<Shared<T>>) -> Fut + Send + 'static,
        Fut: Future<Output = T>,
    {
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                started: None,
                events: Vec::new(),
                result: None,
            }),
            changed: Condvar::new(),
        });
        let (interrupt, interrupts) = Interrupts::channel();
        let theirs = shared.clone();
        let spawned = std::thread::Builder::new()
            .name("rep-host-run".into())
            .spawn(move || {
                let result = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(runtime) => runtime.block_on(work(interrupts, theirs.clone())),
                    Err(e) => failed(Failure::internal(format!(
                        "cannot start the async runtime: {e}"
                    ))),
                };
                theirs.update(|state| state.result = Some(result));
            });
        if let Err(e) = spawned {
            let failure = Failure::internal(format!("cannot start the run's thread: {e}"));
            shared.update(|state| state.result = Some(failed(failure)));
        }
        Task { shared, interrupt }
    }

    /// Waits at most `slice` for `until`; true when it is reached.
    pub fn wait(&self, until: Until, slice: Duration) -> bool {
        let reached = |state: &mut State<T>| {
            state.result.is_some()
                || match until {
                    Until::Started => state.started.is_some(),
                    Until::Ended => false,
                }
        };
        let state = self.shared.lock();
        let (mut state, _) = self
            .shared
            .changed
            .wait_timeout_while(state, slice, |state| !reached(state))
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        reached(&mut state)
    }

    /// Interrupts the task as SIGINT interrupts `tm`: the first time the run is cancelled
    /// (`Runtime.Cancel`, then the shutdown sequence: at most about 5 s), the second time
    /// the executor is killed at once.
    pub fn interrupt(&self) {
        self.interrupt.send(Interrupt::Sigint);
    }

    /// Whether the task has ended.
    pub fn ended(&self) -> bool {
        self.shared.lock().result.is_some()
    }

    /// The run id once the run started.
    pub fn run_id(&self) -> Option<String> {
        self.shared.lock().started.clone()
    }

    /// How many events arrived so far.
    pub fn event_count(&self) -> usize {
        self.shared.lock().events.len()
    }

    /// The events from the `from`th on, as one JSON array (the events' text as sent).
    pub fn events_json(&self, from: usize) -> String {
        let state = self.shared.lock();
        let events = state.events.get(from..).unwrap_or_default();
        let mut json =
            String::with_capacity(2 + events.iter().map(|e| e.get().len() + 1).sum::<usize>());
        json.push('[');
        for (i, event) in events.iter().enumerate() {
            if i > 0 {
                json.push(',');
            }
            json.push_str(event.get());
        }
        json.push(']');
        json
    }
}

impl<T: Clone> Task<T> {
    /// The result, once the task ended.
    pub fn result(&self) -> Option<T> {
        self.shared.lock().result.clone()
    }
}

impl<T> Drop for Task<T> {
    fn drop(&mut self) {
        if self.shared.lock().result.is_none() {
            self.interrupt.send(Interrupt::Sigint);
        }
    }
}

/// Tells the task's waiters about the run's progress.
struct Progress(Arc<Shared<Ended>>);

impl Observer for Progress {
    fn on_run_started(&mut self, run_id: &str) {
        self.0
            .update(|state| state.started = Some(run_id.to_owned()));
    }

    fn on_events(&mut self, events: &[Box<RawValue>]) {
        self.0
            .update(|state| state.events.extend(events.iter().cloned()));
    }
}

/// Starts the prepared run on a thread of its own.
pub fn start_run(prepared: Prepared) -> RunTask {
    let request = prepared.request;
    Task::spawn(
        move |mut interrupts, shared| async move {
            let executor = request.executor.clone();
            let mut progress = Progress(shared.clone());
            let outcome = run(request, &mut [&mut progress], &mut interrupts).await;
            let (mut ended, events) = ended(outcome);
            if let Some(failure) = ended.failure.as_mut()
                && failure.kind == Kind::CapabilitiesMismatch
                && let (Some(capabilities), Some(missing)) =
                    (&failure.capabilities, &failure.missing_step_kinds)
                && let Ok(capabilities) = serde_json::from_str::<Capabilities>(capabilities)
            {
                failure.cache_path = cache_mismatch(&executor, &capabilities, missing);
            }
            // The outcome's events are every event of every Poll: the ones the observer saw.
            shared.update(|state| state.events = events);
            ended
        },
        |failure| Ended {
            run_id: String::new(),
            status: RunStatus::Failed.as_str(),
            summary: None,
            failure: Some(failure),
        },
    )
}

fn ended(outcome: Outcome) -> (Ended, Vec<Box<RawValue>>) {
    let mut failure = outcome.error.as_ref().map(Failure::of_run_error);
    if let Some(failure) = failure.as_mut() {
        failure.capabilities = outcome
            .capabilities
            .as_ref()
            .and_then(|c| serde_json::to_string(c).ok());
    }
    let ended = Ended {
        run_id: outcome.run_id,
        status: outcome.status.as_str(),
        summary: outcome.summary.map(|s| s.get().to_owned()),
        failure,
    };
    (ended, outcome.events)
}

/// Starts the executor `target` names, asks `Runtime.Capabilities` and shuts it down, on a
/// thread of its own, within `timeout`.
///
/// # Errors
/// In the task's result: a [`Kind::Config`] failure, or the exchange's (transport,
/// invalid Capabilities, interrupted).
pub fn start_capabilities(
    target: &Target,
    timeout: Duration,
    required: Vec<String>,
) -> CapabilitiesTask {
    let command = executor_command(target);
    Task::spawn(
        move |mut interrupts, _| async move {
            let command = command.map_err(|failure| *failure)?;
            let capabilities: Capabilities =
                fetch_capabilities(&command, timeout, DEFAULT_MAX_FRAME_BYTES, &mut interrupts)
                    .await
                    .map_err(|e| Failure::of_run_error(&e))?;
            let json = serde_json::to_string(&capabilities)
                .map_err(|e| Failure::internal(format!("cannot encode the Capabilities: {e}")))?;
            let missing = missing_step_kinds(&required.into_iter().collect(), &capabilities);
            if missing.is_empty() {
                return Ok(json);
            }
            let message = format!(
                "CapabilitiesMismatch: executor {} does not support step kind(s) {} (it \
                 advertises: {})",
                command.path.display(),
                missing.join(", "),
                capabilities.step_kinds.join(", ")
            );
            let mut failure =
                Failure::new(Kind::CapabilitiesMismatch, ExitCode::Validation, message)
                    .with_code(codes::UNSUPPORTED_STEP_KIND);
            failure.cause = Some(cause_name(Cause::CapabilitiesMismatch));
            failure.cache_path = cache_mismatch(&command, &capabilities, &missing);
            failure.missing_step_kinds = Some(missing);
            failure.capabilities = Some(json);
            Err(failure)
        },
        Err,
    )
}

/// Records the executor's capabilities after a mismatch at
/// `~/.trace_mind/runtime_capabilities/proc.json` (REP v0.1 §7), as `tm` does; returns the
/// file, or `None` when it could not be written (nothing else depends on it).
fn cache_mismatch(
    executor: &ExecutorCommand,
    capabilities: &Capabilities,
    missing: &[String],
) -> Option<String> {
    let written_at = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    let record = CacheRecord {
        engine: CACHE_ENGINE,
        executor: executor.path.display().to_string(),
        capabilities,
        missing_step_kinds: missing,
        written_at,
    };
    cache_dir()
        .and_then(|dir| write_cache(&dir, &record))
        .ok()
        .map(|path| path.display().to_string())
}

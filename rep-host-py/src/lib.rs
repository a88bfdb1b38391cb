//! `rep_host._native`: the Python extension module under the `rep_host` package (its public
//! API, exceptions and TraceMind integration are the pure-Python layer in
//! `python/rep_host/`; see docs/python.md).
//!
//! This module only moves data across: requests in (paths, JSON text), a [`Run`] handle
//! out, results and failures as dicts of plain values (JSON text left for the Python layer
//! to parse). Every wait releases the GIL and looks at Python's signals every
//! [`SIGNAL_CHECK`]: Ctrl-C cancels the run as SIGINT does in `tm` (a second one kills the
//! executor at once), and the exception is raised once the executor is gone. The host
//! itself is rep-host's, reached only through [`host`].

#![deny(missing_docs)]

mod host;

use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use pyo3::exceptions::{PyException, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use host::{Ended, Failure, RunTask, Target, Task, Until};

/// How often a wait looks at Python's signals (Ctrl-C reaches the run within this).
const SIGNAL_CHECK: Duration = Duration::from_millis(50);

pyo3::create_exception!(
    _native,
    NativeError,
    PyException,
    "A failure of the host, carrying a dict of plain values (the Python layer raises the \
     public exception for it)."
);

/// Where the executor comes from: the dict every entry point is given (keys as the
/// fields of [`Target`]).
#[derive(FromPyObject)]
#[pyo3(from_item_all)]
struct TargetArgs {
    executor_path: Option<PathBuf>,
    runtime_config: Option<PathBuf>,
    default_dir: Option<PathBuf>,
    python: Option<PathBuf>,
    args: Vec<String>,
}

impl From<TargetArgs> for Target {
    fn from(args: TargetArgs) -> Target {
        Target {
            executor_path: args.executor_path,
            runtime_config: args.runtime_config,
            default_dir: args.default_dir,
            python: args.python,
            args: args.args,
        }
    }
}

/// A run of a flow on an executor, started by [`start_flow`] or [`start_ir`]. Runs on a
/// thread of its own; dropping the handle cancels what still runs.
#[pyclass(module = "rep_host._native", frozen)]
struct Run {
    task: RunTask,
    /// How many events [`Run::poll`] handed out.
    delivered: Mutex<usize>,
    /// Whether [`Run::cancel`] was called while the run was running.
    cancelled: AtomicBool,
    /// Disagreements between the manifest entry and the IR.
    warnings: Vec<String>,
}

#[pymethods]
impl Run {
    /// Waits until the executor accepted the run (StartRun answered) or the run ended
    /// before that; returns the run id, or `None` when it ended first.
    fn wait_started(&self, py: Python<'_>) -> PyResult<Option<String>> {
        wait(py, &self.task, Until::Started, None)?;
        Ok(self.task.run_id())
    }

    /// Waits until the run ends or `timeout` seconds pass (`None`: until the run ends, which
    /// the engine timeout bounds), then returns `{"run_id", "status", "events_json",
    /// "summary_json", "failure", "ended", "cancelled"}`: the events since the previous
    /// call as one JSON array. `status` is `running` until the run ended.
    #[pyo3(signature = (timeout=None))]
    fn poll<'py>(&self, py: Python<'py>, timeout: Option<f64>) -> PyResult<Bound<'py, PyDict>> {
        let timeout = timeout.map(seconds).transpose()?;
        wait(py, &self.task, Until::Ended, timeout)?;
        let ended = self.task.result();
        let mut delivered = lock(&self.delivered);
        let events = self.task.events_json(*delivered);
        *delivered = self.task.event_count().max(*delivered);
        drop(delivered);
        self.report(py, ended.as_ref(), events)
    }

    /// Every event of the run so far as one JSON array, and the end if reached: the same
    /// dict as [`Run::poll`], without waiting and without changing what `poll` hands out.
    fn snapshot<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let ended = self.task.result();
        self.report(py, ended.as_ref(), self.task.events_json(0))
    }

    /// Cancels the run as SIGINT cancels `tm runtime run` (`Runtime.Cancel`, then the
    /// shutdown sequence: at most about 5 s; a Ctrl-C meanwhile kills the executor at
    /// once) and waits until the executor is gone. Returns whether the run was still
    /// running. Idempotent.
    fn cancel(&self, py: Python<'_>) -> PyResult<bool> {
        let running = !self.task.ended();
        if running {
            self.cancelled.store(true, Ordering::SeqCst);
            self.task.interrupt();
        }
        wait(py, &self.task, Until::Ended, None)?;
        Ok(running)
    }

    /// The run id once the executor accepted the run, else `None`.
    #[getter]
    fn run_id(&self) -> Option<String> {
        self.task.run_id()
    }

    /// Whether the run has ended (the executor is gone).
    #[getter]
    fn ended(&self) -> bool {
        self.task.ended()
    }

    /// Disagreements between the manifest entry and the flow's IR (not errors).
    #[getter]
    fn warnings(&self) -> Vec<String> {
        self.warnings.clone()
    }
}

impl Run {
    fn new(task: RunTask, warnings: Vec<String>) -> Run {
        Run {
            task,
            delivered: Mutex::new(0),
            cancelled: AtomicBool::new(false),
            warnings,
        }
    }

    fn report<'py>(
        &self,
        py: Python<'py>,
        ended: Option<&Ended>,
        events_json: String,
    ) -> PyResult<Bound<'py, PyDict>> {
        let report = PyDict::new(py);
        report.set_item("events_json", events_json)?;
        report.set_item("ended", ended.is_some())?;
        report.set_item("cancelled", self.cancelled.load(Ordering::SeqCst))?;
        match ended {
            Some(ended) => {
                let run_id = Some(ended.run_id.clone()).filter(|id| !id.is_empty());
                report.set_item("run_id", run_id.or_else(|| self.task.run_id()))?;
                report.set_item("status", ended.status)?;
                report.set_item("summary_json", ended.summary.as_deref())?;
                let failure = ended
                    .failure
                    .as_ref()
                    .map(|f| failure_dict(py, f))
                    .transpose()?;
                report.set_item("failure", failure)?;
            }
            None => {
                report.set_item("run_id", self.task.run_id())?;
                report.set_item("status", "running")?;
                report.set_item("summary_json", py.None())?;
                report.set_item("failure", py.None())?;
            }
        }
        Ok(report)
    }
}

/// Checks and starts the run of `flow` from the manifest at `manifest` (what
/// `tm runtime run --manifest M --flow F --inputs JSON` does), returning at once with its
/// [`Run`].
///
/// Raises `NativeError` for what is found before any executor starts: the runtime config,
/// the manifest or IR, the inputs (`tm` exits 2 for these; 3 for a language mismatch, 4
/// when no executor is installed). `timeout` (seconds) is the engine timeout over the whole
/// run.
#[pyfunction]
fn start_flow(
    py: Python<'_>,
    flow: String,
    manifest: PathBuf,
    inputs_json: String,
    target: TargetArgs,
    timeout: f64,
) -> PyResult<Run> {
    start(py, target, timeout, |target, timeout| {
        host::prepare_flow(&flow, &manifest, &inputs_json, target, timeout)
    })
}

/// Validates the Flow IR document `ir_json`, checks `inputs_json` against its
/// `inputs_schema`, and starts the run (what TraceMind's `ProcessEngine.start_run` is
/// given), returning at once with its [`Run`]. Raises `NativeError` as [`start_flow`] does.
#[pyfunction]
fn start_ir(
    py: Python<'_>,
    ir_json: String,
    inputs_json: String,
    allow_shell: bool,
    target: TargetArgs,
    timeout: f64,
) -> PyResult<Run> {
    start(py, target, timeout, |target, timeout| {
        host::prepare_ir(&ir_json, &inputs_json, allow_shell, target, timeout)
    })
}

/// Checks a run with `prepare` (the GIL released: it reads files) and starts it.
fn start(
    py: Python<'_>,
    target: TargetArgs,
    timeout: f64,
    prepare: impl FnOnce(&Target, Duration) -> Result<host::Prepared, Box<Failure>> + Send,
) -> PyResult<Run> {
    let timeout = seconds(timeout)?;
    let target = Target::from(target);
    let prepared = py
        .detach(|| prepare(&target, timeout))
        .map_err(|f| native_error(py, &f))?;
    let warnings = prepared.warnings.clone();
    Ok(Run::new(host::start_run(prepared), warnings))
}

/// Starts the executor, asks `Runtime.Capabilities` (within `timeout` seconds), shuts the
/// executor down, and returns the Capabilities as JSON text. When `required` step kinds
/// are missing from them, raises `NativeError` for a capabilities mismatch (1002, exit 3).
#[pyfunction]
fn capabilities(
    py: Python<'_>,
    target: TargetArgs,
    timeout: f64,
    required: Vec<String>,
) -> PyResult<String> {
    let timeout = seconds(timeout)?;
    let task = host::start_capabilities(&Target::from(target), timeout, required);
    wait(py, &task, Until::Ended, None)?;
    match task.result() {
        Some(Ok(json)) => Ok(json),
        Some(Err(failure)) => Err(native_error(py, &failure)),
        None => Err(PyException::new_err(
            "the Capabilities exchange did not end",
        )),
    }
}

/// Waits for `until` (at most `timeout`), the GIL released, looking at Python's signals
/// every [`SIGNAL_CHECK`]. A signal handler's exception (KeyboardInterrupt) interrupts the
/// task and is raised once the task has ended; another one meanwhile kills the executor
/// at once. Returns whether `until` was reached.
fn wait<T: Send + 'static>(
    py: Python<'_>,
    task: &Task<T>,
    until: Until,
    timeout: Option<Duration>,
) -> PyResult<bool> {
    let deadline = timeout.map(|t| Instant::now() + t);
    let mut until = until;
    let mut raised: Option<PyErr> = None;
    loop {
        let slice = match deadline {
            Some(deadline) if raised.is_none() => deadline
                .saturating_duration_since(Instant::now())
                .min(SIGNAL_CHECK),
            _ => SIGNAL_CHECK,
        };
        if py.detach(|| task.wait(until, slice)) {
            break;
        }
        if let Err(error) = py.check_signals() {
            task.interrupt();
            raised.get_or_insert(error);
            until = Until::Ended;
        } else if raised.is_none() && deadline.is_some_and(|d| Instant::now() >= d) {
            return Ok(false);
        }
    }
    match raised {
        Some(error) => Err(error),
        None => Ok(true),
    }
}

/// A duration in seconds from Python: finite and not negative.
fn seconds(value: f64) -> PyResult<Duration> {
    Duration::try_from_secs_f64(value).map_err(|_| {
        PyValueError::new_err(format!(
            "a timeout is a finite, non-negative number of seconds, got {value}"
        ))
    })
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The failure as the dict `NativeError` carries and `poll` reports.
fn failure_dict<'py>(py: Python<'py>, failure: &Failure) -> PyResult<Bound<'py, PyDict>> {
    let dict = PyDict::new(py);
    let kind = match failure.kind {
        host::Kind::Inputs => "inputs",
        host::Kind::Manifest => "manifest",
        host::Kind::Config => "config",
        host::Kind::CapabilitiesMismatch => "capabilities_mismatch",
        host::Kind::Executor => "executor",
        host::Kind::Transport => "transport",
        host::Kind::Interrupted => "interrupted",
        host::Kind::RunFailed => "run_failed",
    };
    dict.set_item("kind", kind)?;
    dict.set_item("message", &failure.message)?;
    dict.set_item("code", failure.code)?;
    dict.set_item("class", failure.class)?;
    dict.set_item("exit_code", failure.exit_code)?;
    dict.set_item("cause", failure.cause.as_deref())?;
    dict.set_item("executor_error_json", failure.executor_error.as_deref())?;
    dict.set_item("missing_step_kinds", failure.missing_step_kinds.clone())?;
    dict.set_item("capabilities_json", failure.capabilities.as_deref())?;
    dict.set_item("cache_path", failure.cache_path.as_deref())?;
    dict.set_item("problems", failure.problems.clone())?;
    Ok(dict)
}

fn native_error(py: Python<'_>, failure: &Failure) -> PyErr {
    match failure_dict(py, failure) {
        Ok(dict) => NativeError::new_err(dict.unbind()),
        Err(error) => error,
    }
}

/// The module: [`start_flow`], [`start_ir`], [`capabilities`], [`Run`], `NativeError`.
#[pymodule]
#[pyo3(name = "_native")]
fn native(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add_function(wrap_pyfunction!(start_flow, module)?)?;
    module.add_function(wrap_pyfunction!(start_ir, module)?)?;
    module.add_function(wrap_pyfunction!(capabilities, module)?)?;
    module.add_class::<Run>()?;
    module.add("NativeError", module.py().get_type::<NativeError>())?;
    Ok(())
}

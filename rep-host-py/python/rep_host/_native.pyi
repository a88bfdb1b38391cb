"""Type stubs of ``rep_host._native``, the extension module under ``rep_host`` (built from
rep-host-py/src with PyO3). Private: the public API is ``rep_host``'s. Failures are
``NativeError`` carrying one ``Failure`` dict, which ``rep_host._errors.from_failure``
turns into the public exception."""

from typing import List, Optional, TypedDict

class Target(TypedDict):
    """Where the executor comes from (``rep_host._run.target`` builds it)."""

    executor_path: Optional[str]
    runtime_config: Optional[str]
    default_dir: Optional[str]
    python: Optional[str]
    args: List[str]

#: Why a run or a check failed: ``tm``'s ``error`` member plus its exit code. ``kind`` is
#: inputs, manifest, config, capabilities_mismatch, executor, transport, interrupted or
#: run_failed; ``class`` is the class of ``code`` (Validation, StepFailure, RuntimeInternal,
#: Protocol, Unknown).
Failure = TypedDict(
    "Failure",
    {
        "kind": str,
        "message": str,
        "code": Optional[int],
        "class": Optional[str],
        "exit_code": int,
        "cause": Optional[str],
        "executor_error_json": Optional[str],
        "missing_step_kinds": Optional[List[str]],
        "capabilities_json": Optional[str],
        "cache_path": Optional[str],
        "problems": List[str],
    },
)

class Report(TypedDict):
    """What ``Run.poll`` and ``Run.snapshot`` return."""

    run_id: Optional[str]
    status: str  # running | completed | failed
    events_json: str  # a JSON array of events
    summary_json: Optional[str]
    failure: Optional[Failure]
    ended: bool
    cancelled: bool

class NativeError(Exception):
    """A failure of the host; ``args[0]`` is its ``Failure`` dict."""

class Run:
    """A run on a thread of its own; dropping it cancels what still runs."""

    @property
    def run_id(self) -> Optional[str]: ...
    @property
    def ended(self) -> bool: ...
    @property
    def warnings(self) -> List[str]: ...
    def wait_started(self) -> Optional[str]:
        """The run id once StartRun was answered, or None when the run ended first.
        The GIL is released while waiting; Ctrl-C cancels the run."""
    def poll(self, timeout: Optional[float] = None) -> Report:
        """Waits for the end (at most ``timeout`` seconds); the events since the last poll."""
    def snapshot(self) -> Report:
        """Every event so far, and the end if reached, without waiting."""
    def cancel(self) -> bool:
        """Cancels as SIGINT cancels ``tm``; waits until the executor is gone. True if the
        run was still running."""

def start_flow(
    flow: str, manifest: str, inputs_json: str, target: Target, timeout: float
) -> Run:
    """Checks and starts a run of ``flow`` from the manifest (raises NativeError first)."""

def start_ir(
    ir_json: str, inputs_json: str, allow_shell: bool, target: Target, timeout: float
) -> Run:
    """Validates the Flow IR, checks the inputs and starts a run."""

def capabilities(target: Target, timeout: float, required: List[str]) -> str:
    """The executor's Runtime.Capabilities as JSON text; NativeError on a mismatch."""

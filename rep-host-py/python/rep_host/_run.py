"""``run_flow`` and what it shares with the engine: the executor target, inputs as JSON,
the native run's report turned into a result or an exception."""

from __future__ import annotations

import functools
import json
import os
import sys
import sysconfig
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterable, Mapping, Optional, Tuple, Union

from . import _errors, _native

PathLike = Union[str, "os.PathLike[str]"]

#: The engine timeout's default, in seconds (REP v0.1 §2).
DEFAULT_TIMEOUT = 120.0

_DISTRIBUTION = "rep-host"
_DEFAULT_EXECUTOR = "mock-executor"


@dataclass(frozen=True)
class RunResult:
    """How a run ended: TraceMind's ``RunResult`` (``status``, ``state``, ``events``,
    ``summary``) plus what ``tm runtime run`` prints besides.

    Attributes:
        status: "completed" or "failed" (a step failed: see ``error``).
        state: ``{"inputs": inputs}``, as TraceMind's process engine reports it.
        events: every event of the run, in order, as the executor sent them.
        summary: the executor's last summary (``completed_steps``, ``failed_steps``,
            ``outputs``, …), or None if it sent none.
        run_id: the run's id.
        exit_code: what ``tm runtime run`` would exit with: 0 completed, 1 failed.
        error: for a failed run, ``tm``'s ``error`` member: ``{code, class, message,
            cause, executor_error}`` (the executor's error object as sent).
    """

    status: str
    state: Dict[str, Any]
    events: Tuple[Dict[str, Any], ...] = ()
    summary: Optional[Dict[str, Any]] = None
    run_id: Optional[str] = None
    exit_code: int = 0
    error: Optional[Dict[str, Any]] = field(default=None)


@functools.lru_cache(maxsize=1)
def default_executor_dir() -> str:
    """The folder where this wheel installed its programs (``mock-executor``, the default
    executor, among them): found through the installed files' record, else the Python's
    scripts folder."""
    try:
        from importlib import metadata

        distribution = metadata.distribution(_DISTRIBUTION)
        for file in distribution.files or ():
            if file.name == _DEFAULT_EXECUTOR:
                return str(Path(str(distribution.locate_file(file))).resolve().parent)
    except Exception:  # noqa: BLE001 - no metadata (a source tree): the scripts folder
        pass
    return sysconfig.get_path("scripts")


def target(
    executor_path: Optional[PathLike] = None,
    runtime_config: Optional[PathLike] = None,
    *,
    python: Optional[PathLike] = None,
    args: Iterable[str] = (),
) -> Dict[str, Any]:
    """The executor target the native module resolves: ``executor_path``, else the
    config's ``runtime.executor_path``, else ``mock-executor`` from this wheel. A ``.py``
    executor runs with ``python`` (default: this interpreter)."""
    return {
        "executor_path": None if executor_path is None else os.fspath(executor_path),
        "runtime_config": None if runtime_config is None else os.fspath(runtime_config),
        "default_dir": default_executor_dir(),
        "python": os.fspath(python) if python is not None else sys.executable,
        "args": [str(arg) for arg in args],
    }


def json_text(value: Any, what: str, error: "type[_errors.RepHostError]", code: int) -> str:
    """``value`` as JSON text; what JSON cannot hold (NaN, a set, an object) is ``error``
    with ``code`` (a Validation error, exit code 2), naming ``what``."""
    try:
        return json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as cause:
        raise error(
            f"{what} cannot be sent as JSON: {cause}",
            code=code,
            error_class="Validation",
            exit_code=2,
        ) from None


def inputs_json(inputs: Optional[Mapping[str, Any]]) -> str:
    """``inputs`` as JSON text: InputsError (1004, exit code 2) for what JSON cannot hold,
    as for anything but a mapping (checked natively)."""
    return json_text({} if inputs is None else inputs, "the inputs", _errors.InputsError, 1004)


def events_of(report: Mapping[str, Any]) -> Tuple[Dict[str, Any], ...]:
    return tuple(json.loads(report["events_json"]))


def summary_of(report: Mapping[str, Any]) -> Optional[Dict[str, Any]]:
    text = report["summary_json"]
    return None if text is None else json.loads(text)


def raise_failure(report: Mapping[str, Any], events: Tuple[Dict[str, Any], ...]) -> None:
    """Raises the exception for a report's host-side failure (not for a failed run)."""
    failure = report["failure"]
    if failure is None or failure["kind"] == "run_failed":
        return
    if failure["kind"] == "interrupted":
        raise _errors.RunInterrupted(
            failure["message"],
            run_id=report["run_id"],
            events=events,
            summary=summary_of(report),
        )
    raise _errors.from_failure(
        failure, run_id=report["run_id"], events=events, summary=summary_of(report)
    )


def interrupted(run: "_native.Run") -> "_errors.RunInterrupted":
    """The RunInterrupted for a Ctrl-C that cancelled ``run`` (already ended)."""
    report = run.snapshot()
    failure = report["failure"]
    message = failure["message"] if failure else "interrupted: the run was cancelled"
    return _errors.RunInterrupted(
        message, run_id=report["run_id"], events=events_of(report), summary=summary_of(report)
    )


def native_call(function: Any, *args: Any) -> Any:
    """Calls a native entry point, raising the public exception for its failure."""
    try:
        return function(*args)
    except _native.NativeError as error:
        raise _errors.from_failure(error.args[0]) from None


def run_flow(
    flow_name: str,
    manifest_path: PathLike,
    inputs: Optional[Mapping[str, Any]] = None,
    *,
    executor_path: Optional[PathLike] = None,
    runtime_config: Optional[PathLike] = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> RunResult:
    """Runs the flow ``flow_name`` of the manifest at ``manifest_path`` on an executor,
    as ``tm runtime run --manifest M --flow F --inputs JSON`` does, and returns its
    RunResult with every event.

    Args:
        flow_name: the flow's name in the manifest (``plant-monitor``).
        manifest_path: the compiler's ``manifest.json``.
        inputs: the run inputs (a JSON-like mapping), checked against the flow's
            ``inputs_schema`` before any executor starts.
        executor_path: the executor to run; wins over ``runtime_config``. Default: the
            config's ``runtime.executor_path``, else the ``mock-executor`` of this wheel.
        runtime_config: a ``runtime.yaml`` (executor path, arguments, environment).
        timeout: the engine timeout in seconds over the whole run, handshake included.

    Returns:
        RunResult: ``status`` "completed", or "failed" when a step failed (``error``
        then says why, ``exit_code`` is 1).

    Raises:
        InputsError, ManifestError, ConfigError: before any executor started (exit 2;
            ConfigError 3 or 4, see its doc).
        CapabilitiesMismatch: the executor lacks a step kind the flow needs (exit 3).
        ExecutorError: the executor rejected the run (exit 3) or failed internally (4).
        TransportError: engine timeout, the executor missing, exiting or speaking
            garbage (exit 4).
        RunInterrupted: Ctrl-C cancelled the run (a KeyboardInterrupt).

    The GIL is released while the run goes on; the executor is gone when this returns
    or raises.
    """
    run = native_call(
        _native.start_flow,
        str(flow_name),
        os.fspath(manifest_path),
        inputs_json(inputs),
        target(executor_path, runtime_config),
        float(timeout),
    )
    for warning in run.warnings:
        warnings.warn(warning, RuntimeWarning, stacklevel=2)
    try:
        report = run.poll(None)
    except KeyboardInterrupt as error:
        raise interrupted(run) from error
    finally:
        run.cancel()
    events = events_of(report)
    raise_failure(report, events)
    failure = report["failure"]
    return RunResult(
        status=report["status"],
        state={"inputs": dict(inputs or {})},
        events=events,
        summary=summary_of(report),
        run_id=report["run_id"],
        exit_code=0 if failure is None else failure["exit_code"],
        error=None if failure is None else _errors.error_member(failure),
    )

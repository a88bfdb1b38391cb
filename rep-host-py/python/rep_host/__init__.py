"""rep_host: the REP v0.1 host of ``rep`` for Python, a drop-in for TraceMind's process
engine.

- ``run_flow(flow_name, manifest_path, inputs=None, *, executor_path=None,
  runtime_config=None, timeout=120.0)`` runs a compiled flow on an executor and returns a
  ``RunResult`` (``status``, ``state``, ``events``, ``summary``) with every event.
- ``ProcessEngine`` has the method names of TraceMind's (``start_run``, ``poll``,
  ``cancel``, ``close``, ``ensure_capabilities``); ``use_with_tracemind()`` makes it
  TraceMind's engine for ``engine: proc`` configurations.
- Failures are typed: ``InputsError``, ``ManifestError``, ``ConfigError``,
  ``CapabilitiesMismatch``, ``ExecutorError``, ``TransportError`` (all ``RepHostError``,
  and TraceMind's ``ProcessEngineError`` when trace-mind is installed), each with the REP
  error code and the exit code ``tm`` would use; Ctrl-C cancels the run and raises
  ``RunInterrupted``, a ``KeyboardInterrupt``.

The GIL is released while a run goes on. See docs/python.md.
"""

from __future__ import annotations

from ._engine import ProcessEngine, ProcessRun, use_with_tracemind
from ._errors import (
    CapabilitiesMismatch,
    ConfigError,
    ExecutorError,
    InputsError,
    ManifestError,
    RepHostError,
    RunInterrupted,
    TransportError,
)
from ._run import DEFAULT_TIMEOUT, RunResult, default_executor_dir, run_flow


def _version() -> str:
    try:
        from importlib import metadata

        return metadata.version("rep-host")
    except Exception:  # noqa: BLE001 - not installed (a source tree)
        return "0+unknown"


__version__ = _version()

__all__ = [
    "DEFAULT_TIMEOUT",
    "CapabilitiesMismatch",
    "ConfigError",
    "ExecutorError",
    "InputsError",
    "ManifestError",
    "ProcessEngine",
    "ProcessRun",
    "RepHostError",
    "RunInterrupted",
    "RunResult",
    "TransportError",
    "default_executor_dir",
    "run_flow",
    "use_with_tracemind",
]

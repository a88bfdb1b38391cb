"""``ProcessEngine``: TraceMind's process engine, on this host.

It keeps the reference's method names (``start_run``, ``poll``, ``cancel``, ``close``,
``ensure_capabilities``) so that ``tm.runtime.engine`` and ``tm.runtime.ir_runner`` run
on it; when trace-mind is importable it is a subclass of TraceMind's ``ProcessEngine``
(which ``ir_runner`` checks for). ``use_with_tracemind`` installs it as TraceMind's engine
for ``engine: proc`` configurations.
"""

from __future__ import annotations

import json
import threading
import weakref
from typing import Any, Dict, Iterable, Mapping, Optional

from . import _errors, _native, _run
from ._run import DEFAULT_TIMEOUT, PathLike

_ENGINE_BASES = () if _errors.TRACEMIND_ENGINE is None else (_errors.TRACEMIND_ENGINE,)


class ProcessRun:
    """One run started by ``ProcessEngine.start_run``; the executor is a process of its
    own, driven on a thread of this host's. Also a context manager (``close`` on exit).

    Attributes:
        run_id: the run's id (the executor's answer to ``Runtime.StartRun``).
    """

    def __init__(self, run: "_native.Run", run_id: str) -> None:
        self._run = run
        self.run_id = run_id

    def poll(self, timeout: Optional[float] = None) -> Dict[str, Any]:
        """Waits until the run ends, or ``timeout`` seconds pass, and returns
        ``{"run_id", "status", "events", "summary"}`` with the events since the previous
        ``poll`` (REP v0.1 §3: each event once). ``timeout=None`` waits for the end, so
        the first poll returns every event of the run; ``0`` returns at once.

        ``status`` is "running" until the run ended, then "completed" or "failed" (a step
        failed; a cancelled run is "failed" with ``"cancelled": True``).

        Raises:
            CapabilitiesMismatch, ExecutorError, TransportError: the run ended for a
                reason of the host's (the engine timeout, the executor gone, …).
            RunInterrupted: Ctrl-C arrived while waiting: the run was cancelled.
        """
        try:
            report = self._run.poll(None if timeout is None else float(timeout))
        except KeyboardInterrupt as error:
            raise _run.interrupted(self._run) from error
        events = _run.events_of(report)
        if not report["cancelled"]:
            _run.raise_failure(report, events)
        payload: Dict[str, Any] = {
            "run_id": report["run_id"],
            "status": report["status"],
            "events": list(events),
            "summary": _run.summary_of(report),
        }
        if report["cancelled"]:
            payload["cancelled"] = True
        return payload

    def cancel(self) -> Dict[str, Any]:
        """Cancels the run as SIGINT cancels ``tm`` (``Runtime.Cancel``, then the shutdown
        sequence, at most about 5 s) and waits until the executor is gone. Returns
        ``{"ok": True}`` if the run was still running, ``{"ok": False}`` if it had ended."""
        return {"ok": self._run.cancel()}

    def close(self) -> None:
        """Ends the run: cancels it if it still runs (see ``cancel``). Idempotent."""
        self._run.cancel()

    @property
    def ended(self) -> bool:
        """Whether the run has ended and its executor is gone."""
        return self._run.ended

    def __enter__(self) -> "ProcessRun":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"ProcessRun(run_id={self.run_id!r}, ended={self.ended})"


class ProcessEngine(*_ENGINE_BASES):  # type: ignore[misc]
    """Runs flows on an out-of-process REP v0.1 executor: TraceMind's ``ProcessEngine``
    (``tm.runtime.process_engine``), on this host.

    Args:
        options: TraceMind's ``ProcessEngineOptions`` (or any object with its attributes:
            ``executor_path``, ``python_path``, ``required_steps``); its ``timeout`` (5 s
            per request) is not used: ``timeout`` below bounds each run.
        executor_path: the executor; wins over ``options`` and ``runtime_config``. Any
            program (a native executor included); a ``.py`` file runs with
            ``python_path`` (default: this interpreter).
        runtime_config: a ``runtime.yaml`` (executor path, arguments, environment).
        timeout: the engine timeout of each run, in seconds (REP v0.1 §2: 120).
        required_steps: step kinds the executor must advertise: checked now, as the
            reference does (CapabilitiesMismatch).
        python_path: the Python for a ``.py`` executor.
    """

    name: str = "proc"

    def __init__(
        self,
        options: Any = None,
        *,
        executor_path: Optional[PathLike] = None,
        runtime_config: Optional[PathLike] = None,
        timeout: float = DEFAULT_TIMEOUT,
        required_steps: Optional[Iterable[str]] = None,
        python_path: Optional[PathLike] = None,
    ) -> None:
        # TraceMind's own __init__ is not called: it starts `python executor_path`.
        if executor_path is None and options is not None:
            executor_path = getattr(options, "executor_path", None)
        if python_path is None and options is not None:
            python_path = getattr(options, "python_path", None)
        if required_steps is None and options is not None:
            required_steps = getattr(options, "required_steps", None)
        self._options = options
        self._timeout = float(timeout)
        self._target = _run.target(executor_path, runtime_config, python=python_path)
        self._required = sorted(set(required_steps or ()))
        self._capabilities: Optional[Dict[str, Any]] = None
        self._runs: "weakref.WeakSet[ProcessRun]" = weakref.WeakSet()
        self._lock = threading.Lock()
        if self._required:
            self.ensure_capabilities()

    @property
    def executor_path(self) -> Optional[str]:
        """The executor as configured (None: the runtime config's, or the default)."""
        return self._target["executor_path"]

    def ensure_capabilities(self) -> Dict[str, Any]:
        """The executor's ``Runtime.Capabilities`` (``version``, ``step_kinds``,
        ``limits``), asked once and kept: the executor is started, asked, and shut down.

        Raises:
            CapabilitiesMismatch: ``required_steps`` are missing (cached as REP v0.1 §7
                says), or the Capabilities are invalid.
            TransportError: the executor cannot be started or does not answer in time.
        """
        with self._lock:
            if self._capabilities is None:
                text = _run.native_call(
                    _native.capabilities, self._target, self._timeout, self._required
                )
                self._capabilities = json.loads(text)
            return self._capabilities

    def start_run(
        self,
        ir: Mapping[str, Any],
        inputs: Optional[Mapping[str, Any]] = None,
        *,
        options: Optional[Mapping[str, Any]] = None,
    ) -> ProcessRun:
        """Starts a run of the Flow IR document ``ir`` with ``inputs`` and returns once
        the executor accepted it (``Runtime.StartRun`` answered).

        The IR is validated (schema and rules) and the inputs checked against its
        ``inputs_schema`` before any executor starts. Of ``options``, ``allow_shell`` is
        sent; the run and trace ids are the host's (fresh UUIDs).

        Raises:
            ManifestError: the IR is invalid (1003, or 1001 for its version; exit 2).
            InputsError: the inputs do not match the IR's ``inputs_schema`` (exit 2).
            CapabilitiesMismatch, ExecutorError, TransportError: as for ``run_flow``.
            RunInterrupted: Ctrl-C while the run was being started.
        """
        allow_shell = bool((options or {}).get("allow_shell", False))
        run = _run.native_call(
            _native.start_ir,
            _run.json_text(ir, "the IR", _errors.ManifestError, 1003),
            _run.inputs_json(inputs),
            allow_shell,
            self._target,
            self._timeout,
        )
        try:
            run_id = run.wait_started()
        except KeyboardInterrupt as error:
            raise _run.interrupted(run) from error
        if run_id is None:
            report = run.poll(None)
            _run.raise_failure(report, _run.events_of(report))
            raise _errors.TransportError("the run ended before it started", code=3001)
        process_run = ProcessRun(run, run_id)
        self._runs.add(process_run)
        return process_run

    def poll(self, run: ProcessRun, timeout: Optional[float] = None) -> Dict[str, Any]:
        """``run.poll(timeout)``."""
        return run.poll(timeout)

    def cancel(self, run: ProcessRun) -> Dict[str, Any]:
        """``run.cancel()``."""
        return run.cancel()

    def close(self) -> None:
        """Ends every run of this engine that still runs (cancelling it)."""
        for run in list(self._runs):
            run.close()

    def run_step(self, ctx: Dict[str, Any], state: Dict[str, Any]) -> Dict[str, Any]:
        """Not supported, as in the reference: a process engine runs whole flows."""
        raise _errors.RepHostError(
            "ProcessEngine does not implement incremental step execution", exit_code=2
        )

    def __enter__(self) -> "ProcessEngine":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"rep_host.ProcessEngine(executor_path={self.executor_path!r})"


def use_with_tracemind() -> None:
    """Makes this host TraceMind's engine for ``engine: proc`` configurations: from now on
    ``tm.runtime.engine.configure_engine`` (and so ``refresh_engine``, TraceMind's CLI
    and ``tm.runtime.ir_runner.run_flow``) builds a ``rep_host.ProcessEngine`` where it
    built its own. An engine already configured for ``proc`` is rebuilt now.
    Idempotent.

    Raises:
        ImportError: trace-mind is not installed, or cannot be imported.
    """
    if _errors.TRACEMIND_ENGINE is None:
        raise ImportError(
            "rep_host.use_with_tracemind() needs TraceMind's package, which cannot be "
            f"imported ({_errors.TRACEMIND_ERROR!r}); install it: pip install "
            "'trace-mind[yaml]==1.2.0'"
        )
    import tm.runtime.engine as engine

    engine.ProcessEngine = ProcessEngine  # type: ignore[attr-defined]
    current = engine.get_engine()
    if isinstance(current, _errors.TRACEMIND_ENGINE) and not isinstance(current, ProcessEngine):
        engine.configure_engine(engine.runtime_config())


__all__ = ["ProcessEngine", "ProcessRun", "use_with_tracemind"]

"""The exceptions of rep_host, and the one place where a host failure becomes one.

Each exception carries the REP error code (REP v0.1 §5; ``None`` for a problem found
before any executor that has no code, such as a missing manifest) and ``exit_code``, the
code ``tm runtime run`` would exit with for the same failure. When TraceMind's package
(``trace-mind``) can be imported, the classes also derive from its ``ProcessEngineError``
family, so that code written against TraceMind's ``ProcessEngine`` (and TraceMind's own
``tm.runtime.ir_runner``) catches them unchanged.
"""

from __future__ import annotations

import json
from typing import Any, Dict, List, Mapping, Optional, Tuple

try:  # TraceMind's exception family; any failure to import it means "not usable".
    from tm.runtime.process_engine import (
        CapabilitiesMismatch as _TmCapabilitiesMismatch,
        ProcessEngine as _TmProcessEngine,
        ProcessEngineError as _TmProcessEngineError,
        TransportError as _TmTransportError,
    )

    TRACEMIND_ERROR: Optional[BaseException] = None
    _BASE: Tuple[type, ...] = (_TmProcessEngineError,)
    _MISMATCH_BASES: Tuple[type, ...] = (_TmCapabilitiesMismatch,)
    _TRANSPORT_BASES: Tuple[type, ...] = (_TmTransportError,)
    TRACEMIND_ENGINE: Optional[type] = _TmProcessEngine
except Exception as error:  # noqa: BLE001 - not installed, or a release that fails to import
    TRACEMIND_ERROR = error
    _BASE = (RuntimeError,)
    _MISMATCH_BASES = ()
    _TRANSPORT_BASES = ()
    TRACEMIND_ENGINE = None


class RepHostError(*_BASE):  # type: ignore[misc]
    """A run could not be done or did not complete for a reason of the host's.

    Attributes:
        message: what happened, naming the file, executor, frame or step involved.
        code: the REP error code (1002, 3001, …), or None when there is none.
        error_class: the class of ``code``: "Validation", "StepFailure",
            "RuntimeInternal", "Protocol" or "Unknown" (None without a code).
        exit_code: what ``tm runtime run`` would exit with (2, 3, 4; REP v0.1 §5).
        cause: the machine-readable cause ("Timeout", "Eof", "Spawn",
            "CapabilitiesMismatch", "ExecutorError", …) or None.
        run_id: the run's id when the run had started, else None.
        events: every event received before the failure, in order.
        summary: the last summary the executor returned, or None.
        problems: every problem found before the run, one line each (InputsError,
            ManifestError); else empty.
        missing_step_kinds, capabilities, cache_path: see CapabilitiesMismatch.
        executor_error: see ExecutorError.
    """

    def __init__(
        self,
        message: str,
        *,
        code: Optional[int] = None,
        error_class: Optional[str] = None,
        exit_code: int = 4,
        cause: Optional[str] = None,
        run_id: Optional[str] = None,
        events: Tuple[Dict[str, Any], ...] = (),
        summary: Optional[Dict[str, Any]] = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.error_class = error_class
        self.exit_code = exit_code
        self.cause = cause
        self.run_id = run_id
        self.events = events
        self.summary = summary
        self.problems: List[str] = []
        self.missing_step_kinds: Optional[List[str]] = None
        self.capabilities: Optional[Dict[str, Any]] = None
        self.cache_path: Optional[str] = None
        self.executor_error: Optional[Dict[str, Any]] = None

    def __str__(self) -> str:
        return self.message


class InputsError(RepHostError):
    """The inputs are not a JSON object or do not match the flow's ``inputs_schema``.

    Found before any executor starts: code 1004, exit code 2. ``problems`` lists each
    missing or mistyped input with its declared type and a JSON pointer.
    """


class ManifestError(RepHostError):
    """The manifest, the flow's entry or its Flow IR cannot be used (exit code 2).

    An invalid Flow IR carries code 1003 (1001 for an unsupported version) and every
    problem, with its JSON pointer, in ``problems``; a missing manifest or an unknown flow
    has no code.
    """


class ConfigError(RepHostError):
    """The runtime config (``runtime_config=``) or the executor's resolution failed.

    Exit code 2 for a file that cannot be read or parsed, 3 for a ``plugins_language``
    that differs from ``language``, 4 when no executor is given and none is installed.
    """


class CapabilitiesMismatch(RepHostError, *_MISMATCH_BASES):  # type: ignore[misc]
    """The executor lacks step kinds the flow needs (code 1002), or its
    ``Runtime.Capabilities`` result is invalid (code 1000); exit code 3.

    Attributes:
        missing_step_kinds: the step kinds the executor lacks, sorted (None for an
            invalid Capabilities result).
        capabilities: the executor's Capabilities, when it sent valid ones.
        cache_path: where they were cached (REP v0.1 §7), or None.
    """


class ExecutorError(RepHostError):
    """The executor answered a request with an error object: the IR or the inputs
    rejected (1xxx, exit code 3), or an internal error of its own (3002, exit code 4).

    ``executor_error`` is its error object (``code``, ``message``, ``data``), every number
    as sent.
    """


class TransportError(RepHostError, *_TRANSPORT_BASES):  # type: ignore[misc]
    """The transport broke or timed out (code 3001, exit code 4): the engine timeout
    expired (cause "Timeout"), the executor could not be started ("Spawn"), exited or
    closed its stdout ("Eof"), or sent a frame that is not a usable JSON-RPC response
    ("InvalidJson", "FrameTooLong", "WrongId", …). The executor is gone when this is
    raised.
    """


class RunInterrupted(KeyboardInterrupt):
    """Ctrl-C arrived while the run was waited for: the run was cancelled as SIGINT
    cancels ``tm`` (``Runtime.Cancel``, then the shutdown sequence; a second Ctrl-C kills
    the executor at once), and the executor is gone.

    A KeyboardInterrupt: uncaught, it ends Python as Ctrl-C does (exit code 130).
    Carries ``run_id``, ``events`` (received before the interrupt), ``summary`` and
    ``exit_code`` (130).
    """

    def __init__(
        self,
        message: str,
        *,
        run_id: Optional[str] = None,
        events: Tuple[Dict[str, Any], ...] = (),
        summary: Optional[Dict[str, Any]] = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.run_id = run_id
        self.events = events
        self.summary = summary
        self.exit_code = 130


_CLASSES = {
    "inputs": InputsError,
    "manifest": ManifestError,
    "config": ConfigError,
    "capabilities_mismatch": CapabilitiesMismatch,
    "executor": ExecutorError,
    "transport": TransportError,
}


def _loads(text: Optional[str]) -> Any:
    return None if text is None else json.loads(text)


def from_failure(
    failure: Mapping[str, Any],
    *,
    run_id: Optional[str] = None,
    events: Tuple[Dict[str, Any], ...] = (),
    summary: Optional[Dict[str, Any]] = None,
) -> RepHostError:
    """The exception for a failure dict of the native module."""
    cls = _CLASSES.get(failure["kind"], TransportError)
    error = cls(
        failure["message"],
        code=failure["code"],
        error_class=failure["class"],
        exit_code=failure["exit_code"],
        cause=failure["cause"],
        run_id=run_id,
        events=events,
        summary=summary,
    )
    error.problems = list(failure["problems"])
    error.missing_step_kinds = failure["missing_step_kinds"]
    error.capabilities = _loads(failure["capabilities_json"])
    error.cache_path = failure["cache_path"]
    error.executor_error = _loads(failure["executor_error_json"])
    return error


def error_member(failure: Mapping[str, Any]) -> Dict[str, Any]:
    """The failure as ``tm`` prints it in the ``error`` member of its JSON output."""
    member: Dict[str, Any] = {
        "code": failure["code"],
        "class": failure["class"],
        "message": failure["message"],
    }
    if failure["cause"] is not None:
        member["cause"] = failure["cause"]
    if failure["executor_error_json"] is not None:
        member["executor_error"] = json.loads(failure["executor_error_json"])
    if failure["missing_step_kinds"] is not None:
        member["missing_step_kinds"] = list(failure["missing_step_kinds"])
    return member

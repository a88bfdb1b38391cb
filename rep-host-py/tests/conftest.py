"""Fixtures of the rep_host tests (run by .ci/run in a virtualenv holding the wheel and
trace-mind 1.2.0: see docs/python.md)."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any, Dict

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "plant-monitor"
MANIFEST = EXAMPLE / "out" / "dsl" / "manifest.json"
SCRIPTED = Path(__file__).resolve().parent / "executors" / "scripted.py"
#: The folder of this virtualenv's programs (the wheel's scripts among them).
BIN = Path(sys.executable).parent


@pytest.fixture
def inputs() -> Dict[str, Any]:
    """The plant-monitor example's inputs."""
    return json.loads((EXAMPLE / "input.json").read_text())


@pytest.fixture
def ir() -> Dict[str, Any]:
    """The plant-monitor example's Flow IR document."""
    return json.loads((EXAMPLE / "out" / "dsl" / "flows" / "plant-monitor.ir.json").read_text())


@pytest.fixture(autouse=True)
def private_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A HOME of the test's own: the capability cache (~/.trace_mind) is written there."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    return home


@pytest.fixture
def pid_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Where a scripted executor writes its process id."""
    path = tmp_path / "executor.pid"
    monkeypatch.setenv("REP_TEST_PID_FILE", str(path))
    return path


def scripted(tmp_path: Path, *args: str) -> Path:
    """A runtime.yaml that runs the scripted executor with `args` (see executors/scripted.py)."""
    config = tmp_path / "runtime.yaml"
    config.write_text(
        "runtime:\n"
        "  engine: proc\n"
        f"  executor_path: {json.dumps(str(SCRIPTED))}\n"
        f"  executor_args: {json.dumps(list(args))}\n"
        '  pass_env: ["REP_TEST_PID_FILE"]\n'
    )
    return config


def wait_for_pid(path: Path, within: float = 30.0) -> int:
    """The process id a scripted executor wrote, once it is there."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        text = path.read_text() if path.exists() else ""
        if text:
            return int(text)
        time.sleep(0.02)
    raise AssertionError(f"no executor wrote {path} within {within} s")


def gone(pid: int, within: float = 10.0) -> bool:
    """Whether process `pid` has exited (and been reaped) within `within` seconds."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except FileNotFoundError:
            return True
        if stat.rsplit(")", 1)[1].split()[0] == "Z":
            return True
        time.sleep(0.02)
    return False


def without_times(events: Any) -> Any:
    """Events with their timestamps (which differ between two runs) taken out."""
    return [{k: v for k, v in event.items() if k != "timestamp"} for event in events]

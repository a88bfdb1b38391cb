"""The wheel in fresh virtualenvs beside trace-mind 1.2.0, installed in either order: both
CLIs stay usable (TraceMind's `tm`, this wheel's `rep-tm` and the other programs) and
`rep_host` runs plant-monitor.

Needs the wheel (`$REP_HOST_WHEEL`, else the newest target/wheels/rep_host-*.whl) and
PyPI (or pip's cache) for trace-mind, as .ci/run has them.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import MANIFEST, ROOT

TRACEMIND = "trace-mind[yaml]==1.2.0"
PROGRAMS = ["rep-tm", "rep-conformance", "rep-replay", "rep-bridge", "mock-executor"]

RUN = f"""
import json, rep_host
inputs = {{"endpoint": "opc.tcp://localhost:4840", "nodes": ["ns=2;i=2", "ns=2;i=5001"]}}
result = rep_host.run_flow("plant-monitor", {str(MANIFEST)!r}, inputs)
print(json.dumps({{"status": result.status, "events": len(result.events)}}))
"""


def wheel() -> Path:
    named = os.environ.get("REP_HOST_WHEEL")
    if named:
        return Path(named)
    built = sorted((ROOT / "target" / "wheels").glob("rep_host-*.whl"), key=os.path.getmtime)
    if not built:
        pytest.fail("no wheel: build it with `bash rep-host-py/build-wheel.sh --dev`")
    return built[-1]


def run(*command: object, env=None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(part) for part in command],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
        env=env,
        stdin=subprocess.DEVNULL,
    )


@pytest.mark.parametrize("order", ["tracemind-first", "rep-host-first"])
def test_both_clis_usable_whichever_package_is_installed_first(tmp_path, order):
    venv = tmp_path / "venv"
    # Without pip in it: this Python's pip installs into it (`pip --python`), which is faster.
    run(sys.executable, "-m", "venv", "--without-pip", venv)
    python = venv / "bin" / "python"
    packages = [TRACEMIND, wheel()]
    if order == "rep-host-first":
        packages.reverse()
    for package in packages:
        run(sys.executable, "-m", "pip", "--python", python, "install", "-q",
            "--disable-pip-version-check", package)

    env = {"PATH": f"{venv / 'bin'}:/usr/bin:/bin", "HOME": str(tmp_path)}
    # TraceMind's `tm` is TraceMind's: the wheel installs no file of that name.
    tracemind = run(venv / "bin" / "tm", "--version", env=env)
    assert tracemind.stdout.strip() == "tm 1.2.0"
    # Ours is `rep-tm`, and it finds TraceMind's CLI for the commands it forwards.
    # Its version is read from trace-mind's installed metadata, without starting Python.
    ours = run(venv / "bin" / "rep-tm", "--version", env=env).stdout
    assert ours.startswith("tm 0.1.0") and f"{venv / 'bin' / 'tm'} (trace-mind 1.2.0)" in ours
    for program in PROGRAMS[1:]:
        assert run(venv / "bin" / program, "--version", env=env).stdout.strip()
    result = run(python, "-c", RUN, env=env)
    assert '"status": "completed"' in result.stdout

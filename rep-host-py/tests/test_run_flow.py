"""rep_host.run_flow: the CLI's run, its result, and every exception path."""

from __future__ import annotations

import json
import math
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

import rep_host
from conftest import BIN, MANIFEST, SCRIPTED, gone, scripted, wait_for_pid, without_times


def test_run_flow_equals_the_cli_json(inputs):
    cli = subprocess.run(
        [
            str(BIN / "rep-tm"),
            "runtime",
            "run",
            "--manifest",
            str(MANIFEST),
            "--flow",
            "plant-monitor",
            "--inputs",
            json.dumps(inputs),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    expected = json.loads(cli.stdout)

    result = rep_host.run_flow("plant-monitor", MANIFEST, inputs)

    assert isinstance(result, rep_host.RunResult)
    assert result.status == expected["status"] == "completed"
    assert result.exit_code == 0 and result.error is None
    assert result.summary == expected["summary"]
    assert result.summary["failed_steps"] == 0
    assert without_times(result.events) == without_times(expected["events"])
    assert result.state == {"inputs": inputs}
    assert result.run_id and result.run_id != expected["run_id"]


def test_a_failed_step_is_a_failed_result_with_the_cli_exit_code(tmp_path, inputs):
    ir_path = MANIFEST.parent / "flows" / "plant-monitor.ir.json"
    ir = json.loads(ir_path.read_text())
    for node in ir["graph"]["nodes"]:
        if node["type"] == "opcua.read":
            node.setdefault("with", {})["_mock"] = {"fail": True, "retriable": False}
    flows = tmp_path / "flows"
    flows.mkdir()
    (flows / "plant-monitor.ir.json").write_text(json.dumps(ir))
    manifest = json.loads(MANIFEST.read_text())
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))

    result = rep_host.run_flow("plant-monitor", tmp_path / "manifest.json", inputs)

    assert result.status == "failed"
    assert result.exit_code == 1
    assert (result.error["code"], result.error["class"]) == (2001, "StepFailure")
    assert result.error["executor_error"]["data"]["step_id"] == "read"
    failed = [e for e in result.events if e["type"] == "step" and e["state"] == "failed"]
    assert [e["step_id"] for e in failed] == ["read"]


@pytest.mark.parametrize(
    "bad, problem",
    [
        ({"endpoint": "opc.tcp://localhost:4840"}, "nodes"),
        ({"endpoint": 7, "nodes": []}, "endpoint"),
        ([1, 2], "object"),
        ({"endpoint": math.nan, "nodes": []}, "JSON"),
    ],
)
def test_inputs_error_before_any_executor(bad, problem, pid_file, tmp_path):
    with pytest.raises(rep_host.InputsError) as caught:
        rep_host.run_flow(
            "plant-monitor", MANIFEST, bad, runtime_config=scripted(tmp_path, "silent")
        )
    error = caught.value
    assert (error.code, error.error_class, error.exit_code) == (1004, "Validation", 2)
    assert problem in str(error) + " ".join(error.problems)
    assert not pid_file.exists(), "an executor was started for bad inputs"


def test_manifest_errors(tmp_path, inputs):
    with pytest.raises(rep_host.ManifestError) as missing:
        rep_host.run_flow("plant-monitor", tmp_path / "nope.json", inputs)
    assert missing.value.exit_code == 2 and "nope.json" in str(missing.value)

    with pytest.raises(rep_host.ManifestError) as unknown:
        rep_host.run_flow("no-such-flow", MANIFEST, inputs)
    assert unknown.value.exit_code == 2 and "no-such-flow" in str(unknown.value)


def test_config_error(tmp_path, inputs):
    config = tmp_path / "runtime.yaml"
    config.write_text("runtime: [not, a, mapping\n")
    with pytest.raises(rep_host.ConfigError) as caught:
        rep_host.run_flow("plant-monitor", MANIFEST, inputs, runtime_config=config)
    assert caught.value.exit_code == 2 and "runtime.yaml" in str(caught.value)


def test_capabilities_mismatch_is_code_1002_exit_3_and_cached(tmp_path, inputs, private_home):
    config = scripted(tmp_path, "kinds", "finish,switch")
    with pytest.raises(rep_host.CapabilitiesMismatch) as caught:
        rep_host.run_flow("plant-monitor", MANIFEST, inputs, runtime_config=config)
    error = caught.value
    assert (error.code, error.exit_code, error.cause) == (1002, 3, "CapabilitiesMismatch")
    assert error.missing_step_kinds == [
        "dsl.emit",
        "opcua.read",
        "opcua.write",
        "policy.apply",
    ]
    assert error.capabilities["step_kinds"] == ["finish", "switch"]
    cache = Path(error.cache_path)
    assert cache.is_relative_to(private_home) and cache.is_file()
    assert json.loads(cache.read_text())["missing_step_kinds"] == error.missing_step_kinds


def test_executor_error_carries_the_executor_error_object(tmp_path, inputs):
    config = scripted(tmp_path, "reject-run")
    with pytest.raises(rep_host.ExecutorError) as caught:
        rep_host.run_flow("plant-monitor", MANIFEST, inputs, runtime_config=config)
    error = caught.value
    assert (error.code, error.exit_code) == (1003, 3)
    assert error.executor_error == {
        "code": 1003,
        "message": "scripted: IR rejected",
        "data": {"at": "/graph"},
    }


def test_transport_error_for_an_executor_that_cannot_start(tmp_path, inputs):
    with pytest.raises(rep_host.TransportError) as caught:
        rep_host.run_flow(
            "plant-monitor", MANIFEST, inputs, executor_path=tmp_path / "no-such-executor"
        )
    error = caught.value
    assert (error.code, error.exit_code) == (3001, 4)
    assert "no-such-executor" in str(error)


def test_a_hostile_executor_ends_at_the_timeout_and_is_gone(tmp_path, inputs, pid_file):
    config = scripted(tmp_path, "silent")
    started = time.monotonic()
    with pytest.raises(rep_host.TransportError) as caught:
        rep_host.run_flow("plant-monitor", MANIFEST, inputs, runtime_config=config, timeout=1.0)
    elapsed = time.monotonic() - started
    error = caught.value
    assert (error.code, error.exit_code, error.cause) == (3001, 4, "Timeout")
    # The timeout, then at most the shutdown sequence (REP v0.1 §2: 5 s), generously bounded.
    assert 1.0 <= elapsed < 15.0, elapsed
    assert gone(wait_for_pid(pid_file)), "the executor outlived the run"


def test_the_gil_is_released_while_a_run_waits(tmp_path, inputs):
    config = scripted(tmp_path, "silent")
    done = threading.Event()

    def run():
        try:
            rep_host.run_flow(
                "plant-monitor", MANIFEST, inputs, runtime_config=config, timeout=1.5
            )
        except rep_host.TransportError:
            pass
        finally:
            done.set()

    thread = threading.Thread(target=run)
    thread.start()
    ticks = 0
    deadline = time.monotonic() + 1.0
    while time.monotonic() < deadline:
        ticks += 1
    thread.join(30)
    assert done.is_set()
    # Holding the GIL for the run's 1.5 s would have left this loop a handful of ticks.
    assert ticks > 10_000, ticks


CTRL_C = """
import json, signal, sys, rep_host
# Python's own Ctrl-C handler, even when this test runs where SIGINT is ignored (a
# background job of a non-interactive shell starts so, and Python then keeps it ignored).
signal.signal(signal.SIGINT, signal.default_int_handler)
try:
    rep_host.run_flow("plant-monitor", sys.argv[1], {"endpoint": "e", "nodes": []},
                      runtime_config=sys.argv[2], timeout=60)
except rep_host.RunInterrupted as error:
    print(json.dumps({"exit_code": error.exit_code,
                      "keyboard": isinstance(error, KeyboardInterrupt),
                      "message": error.message}))
"""


def test_ctrl_c_cancels_the_run_as_sigint_does_in_tm(tmp_path, pid_file):
    config = scripted(tmp_path, "silent")
    child = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(CTRL_C), str(MANIFEST), str(config)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        executor = wait_for_pid(pid_file)
        started = time.monotonic()
        child.send_signal(2)  # SIGINT, as Ctrl-C in a terminal
        out, _ = child.communicate(timeout=30)
    finally:
        child.kill()
    # Cancel, then the shutdown sequence: within the 5 s of REP v0.1 §2, far from the 60 s.
    assert time.monotonic() - started < 15
    assert child.returncode == 0
    report = json.loads(out)
    assert report["exit_code"] == 130 and report["keyboard"]
    assert "interrupt" in report["message"].lower()
    assert gone(executor), "the executor outlived the interrupted run"


def test_a_bad_timeout_is_a_value_error(inputs):
    with pytest.raises(ValueError, match="timeout"):
        rep_host.run_flow("plant-monitor", MANIFEST, inputs, timeout=-1)

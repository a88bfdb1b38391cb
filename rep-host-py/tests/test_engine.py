"""rep_host.ProcessEngine and TraceMind's own engine layer running on it."""

from __future__ import annotations

import copy
import json

import pytest

import rep_host
from conftest import BIN, MANIFEST, SCRIPTED, scripted, without_times

# trace-mind 1.2.0 is part of the test virtualenv (docs/python.md): not optional here.
import tm.runtime.engine as tm_engine
import tm.runtime.ir_runner as ir_runner
import tm.runtime.process_engine as tm_process

MOCK = BIN / "mock-executor"


@pytest.fixture
def restore_tracemind_engine():
    """Puts TraceMind's engine layer back as it was after the test."""
    engine_class = tm_engine.ProcessEngine
    config = tm_engine.runtime_config()
    yield
    tm_engine.ProcessEngine = engine_class
    tm_engine.configure_engine(config)


def test_the_exceptions_are_tracemind_process_engine_errors():
    for cls in (
        rep_host.InputsError,
        rep_host.ManifestError,
        rep_host.ConfigError,
        rep_host.CapabilitiesMismatch,
        rep_host.ExecutorError,
        rep_host.TransportError,
    ):
        assert issubclass(cls, tm_process.ProcessEngineError), cls
    assert issubclass(rep_host.CapabilitiesMismatch, tm_process.CapabilitiesMismatch)
    assert issubclass(rep_host.TransportError, tm_process.TransportError)
    assert issubclass(rep_host.ProcessEngine, tm_process.ProcessEngine)


def test_tracemind_run_flow_on_our_engine_runs_plant_monitor(
    tmp_path, inputs, restore_tracemind_engine
):
    config = tmp_path / "runtime.yaml"
    config.write_text(f"runtime:\n  engine: proc\n  executor_path: {json.dumps(str(MOCK))}\n")

    rep_host.use_with_tracemind()
    engine = tm_engine.refresh_engine(config)
    assert isinstance(engine, rep_host.ProcessEngine)

    result = ir_runner.run_flow("plant-monitor", manifest_path=MANIFEST, inputs=inputs)

    ours = rep_host.run_flow("plant-monitor", MANIFEST, inputs, executor_path=MOCK)
    assert result.status == "completed"
    assert result.summary == ours.summary
    assert without_times(result.events) == without_times(ours.events)
    assert [e["type"] for e in result.events][-1] == "log"


def test_use_with_tracemind_rebuilds_an_engine_already_configured(
    tmp_path, restore_tracemind_engine
):
    # TraceMind's own engine, configured before ours was installed (it runs only Python
    # executors: `python executor_path`).
    config = tmp_path / "runtime.yaml"
    config.write_text(f"runtime:\n  engine: proc\n  executor_path: {json.dumps(str(SCRIPTED))}\n")
    before = tm_engine.refresh_engine(config)
    assert not isinstance(before, rep_host.ProcessEngine)
    rep_host.use_with_tracemind()
    rep_host.use_with_tracemind()  # idempotent
    assert isinstance(tm_engine.get_engine(), rep_host.ProcessEngine)


def test_code_catching_tracemind_errors_catches_ours(tmp_path, inputs):
    engine = rep_host.ProcessEngine(runtime_config=scripted(tmp_path, "reject-run"))
    # TraceMind's run_flow lets start_run's errors through: its callers catch the family.
    with pytest.raises(tm_process.ProcessEngineError, match="IR rejected") as caught:
        ir_runner.run_flow(
            "plant-monitor", manifest_path=MANIFEST, inputs=inputs, engine=engine
        )
    assert isinstance(caught.value, rep_host.ExecutorError)
    assert (caught.value.code, caught.value.exit_code) == (1003, 3)


def test_engine_from_tracemind_options(ir, inputs):
    options = tm_process.ProcessEngineOptions(executor_path=MOCK, required_steps=["switch"])
    engine = rep_host.ProcessEngine(options)
    assert "opcua.read" in engine.ensure_capabilities()["step_kinds"]
    with engine:
        run = engine.start_run(ir, inputs)
        payload = engine.poll(run)
    assert payload["status"] == "completed"
    assert payload["run_id"] == run.run_id
    assert payload["summary"]["failed_steps"] == 0
    assert payload["events"][0]["message"] == "run started"
    # Every event is handed out once: the next poll of an ended run has none.
    again = run.poll(0)
    assert again["status"] == "completed" and again["events"] == []


def test_required_steps_missing_is_a_capabilities_mismatch():
    with pytest.raises(rep_host.CapabilitiesMismatch) as caught:
        rep_host.ProcessEngine(executor_path=MOCK, required_steps=["no.such.kind"])
    assert caught.value.missing_step_kinds == ["no.such.kind"]
    assert caught.value.exit_code == 3


def test_cancel_ends_a_running_run(ir, inputs):
    slow = copy.deepcopy(ir)
    for node in slow["graph"]["nodes"]:
        if node["type"] == "opcua.read":
            node.setdefault("with", {})["_mock"] = {"delay_ms": 60_000}
    engine = rep_host.ProcessEngine(executor_path=MOCK)
    run = engine.start_run(slow, inputs)
    assert run.poll(0.2)["status"] == "running"
    assert engine.cancel(run) == {"ok": True}
    assert run.ended
    payload = run.poll()
    assert payload["status"] == "failed" and payload["cancelled"] is True
    assert engine.cancel(run) == {"ok": False}


def test_start_run_checks_the_ir_and_the_inputs(ir, inputs):
    engine = rep_host.ProcessEngine(executor_path=MOCK)
    broken = copy.deepcopy(ir)
    broken["graph"]["nodes"][0]["type"] = 7
    with pytest.raises(rep_host.ManifestError) as invalid:
        engine.start_run(broken, inputs)
    assert (invalid.value.code, invalid.value.exit_code) == (1003, 2)
    assert invalid.value.problems
    with pytest.raises(rep_host.InputsError):
        engine.start_run(ir, {"endpoint": 1})

#!/usr/bin/env python3
"""Whole-process benchmarks of rep (issue: benchmarks with budgets).

Build first:  cargo build --release --workspace   (and bash native/build.sh for `native`)
Then:         python3 bench/scripts/bench.py all    (or one of: e2e startup host-cpu sweep record compare large memory
                                                  idle bridge native native-poll; `bash native/build.sh` builds the
                                                  C executor of host-cpu, `bash native/build.sh bench` native-poll's
                                                  program)

Every figure is printed as min / median / max over the runs, with its budget. Only the
standard library is used; `compare` installs trace-mind 1.2.0 from PyPI into a temporary
virtualenv (or uses --venv DIR if given).
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RELEASE = ROOT / "target" / "release"
TM = RELEASE / "tm"
MOCK = RELEASE / "mock-executor"
BRIDGE = RELEASE / "rep-bridge"
PLANT = ROOT / "examples" / "plant-monitor"
PLANT_MANIFEST = PLANT / "out" / "dsl" / "manifest.json"
PLANT_INPUTS = PLANT / "input.json"
NATIVE = ROOT / "target" / "native"


def stats(samples):
    return min(samples), statistics.median(samples), max(samples)


def fmt_ms(samples):
    lo, med, hi = stats(samples)
    return f"{lo * 1e3:8.2f} / {med * 1e3:8.2f} / {hi * 1e3:8.2f} ms"


def check(name, ok, detail):
    print(f"  budget {name}: {'MET' if ok else 'MISSED'} ({detail})")
    return ok


def run_tm(args, env=None):
    """Runs tm, returns (seconds, completed process)."""
    start = time.perf_counter()
    proc = subprocess.run([str(TM), *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"tm failed ({proc.returncode}): {proc.stderr.decode()[-2000:]}")
    return elapsed, proc


def plant_args():
    return ["runtime", "run", "--manifest", str(PLANT_MANIFEST), "--flow", "plant-monitor", "--inputs", f"@{PLANT_INPUTS}"]


def bench_e2e(runs):
    print(f"\n== end to end: tm runtime run examples/plant-monitor with the mock executor ({runs} runs)")
    for _ in range(5):
        run_tm(plant_args())
    samples = [run_tm(plant_args())[0] for _ in range(runs)]
    print(f"  rep tm + mock-executor: {fmt_ms(samples)}")
    check("median <= 4 ms", statistics.median(samples) <= 0.004, f"median {statistics.median(samples) * 1e3:.2f} ms")
    return samples


def bench_startup(runs):
    """Start-up (issue 26): `tm --version` (no Python started) and `tm ir validate` of plant-monitor."""
    print(f"\n== start-up: tm --version, tm ir validate examples/plant-monitor ({runs} runs each, interleaved)")
    ir = PLANT / "out" / "dsl" / "flows" / "plant-monitor.ir.json"
    version, validate = [], []
    for i in range(runs + 3):
        a = run_tm(["--version"])[0]
        b = run_tm(["ir", "validate", str(ir)])[0]
        if i >= 3:
            version.append(a)
            validate.append(b)
    print(f"  tm --version:            {fmt_ms(version)}")
    print(f"  tm ir validate:          {fmt_ms(validate)}")
    check("tm --version median <= 5 ms", statistics.median(version) <= 0.005,
          f"median {statistics.median(version) * 1e3:.2f} ms")
    check("tm ir validate median <= 1.5 ms", statistics.median(validate) <= 0.0015,
          f"median {statistics.median(validate) * 1e3:.2f} ms")


def debug_field(stderr, message, field):
    """The value of `field=` on the debug line holding `message`, as an int (None if absent)."""
    for line in stderr.splitlines():
        if message in line and f"{field}=" in line:
            return int(line.split(f"{field}=")[1].split()[0].strip("Some()"))
    return None


def bench_host_cpu(runs):
    """tm's own CPU (getrusage of tm alone, from its debug log) with the C executor, whose own
    cost is small, so that the host's shows."""
    print(f"\n== tm's own CPU: examples/plant-monitor with c-executor ({runs} runs)")
    executor = NATIVE / "c-executor"
    if not executor.is_file():
        print(f"  skipped: {executor} is missing (bash native/build.sh)")
        return
    env = dict(os.environ, RUST_LOG="tm=debug")
    cpu, wall = [], []
    for i in range(runs + 3):
        elapsed, proc = run_tm(["--executor-path", str(executor)] + plant_args(), env=env)
        us = debug_field(proc.stderr.decode(), "outcome printed", "cpu_us")
        if us is None:
            sys.exit(f"no cpu_us in tm's debug log:\n{proc.stderr.decode()[-2000:]}")
        if i >= 3:
            cpu.append(us / 1e6)
            wall.append(elapsed)
    print(f"  wall (tm + c-executor):  {fmt_ms(wall)}")
    print(f"  tm's own CPU:            {fmt_ms(cpu)}")
    check("tm's own CPU median <= 2 ms", statistics.median(cpu) <= 0.002, f"median {statistics.median(cpu) * 1e3:.2f} ms")


def bench_sweep(runs):
    """The end-of-run orphan sweep (issue 26) must cost what tm's own descendants cost, not
    the machine's process count: the sweep's own time (tm's debug log) in plant-monitor runs
    with and without 1,000 unrelated idle processes on the machine."""
    print(f"\n== orphan sweep: its own time in plant-monitor runs, 0 and 1,000 other processes on the machine ({runs} runs each)")
    env = dict(os.environ, RUST_LOG="tm=debug")

    def sweeps():
        samples = []
        for _ in range(runs):
            proc = run_tm(plant_args(), env=env)[1]
            us = debug_field(proc.stderr.decode(), "orphans swept", "sweep_us")
            if us is None:
                sys.exit(f"no sweep_us in tm's debug log:\n{proc.stderr.decode()[-2000:]}")
            samples.append(us / 1e6)
        return samples

    for _ in range(3):
        run_tm(plant_args())
    quiet = sweeps()
    others = []
    try:
        for _ in range(1000):
            others.append(subprocess.Popen(["sleep", "600"], stdin=subprocess.DEVNULL,
                                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        crowded = sweeps()
    finally:
        for other in others:
            other.kill()
        for other in others:
            other.wait()
    print(f"  0 other processes:       {fmt_us(quiet)}")
    print(f"  1,000 other processes:   {fmt_us(crowded)}")
    check("the sweep with 1,000 other processes <= 100 us", statistics.median(crowded) <= 100e-6,
          f"median {statistics.median(crowded) * 1e6:.0f} us (without them {statistics.median(quiet) * 1e6:.0f} us)")


def bench_record(runs):
    """The cost of `--record FILE` (issue 15): plain and recorded runs interleaved, pair by pair."""
    print(f"\n== recording: tm runtime run examples/plant-monitor, plain vs --record ({runs} runs each, interleaved)")
    with tempfile.TemporaryDirectory() as tmp:
        transcript = str(Path(tmp) / "session.jsonl")
        for _ in range(5):
            run_tm(plant_args())
            run_tm(plant_args() + ["--record", transcript])
        plain, recorded = [], []
        for _ in range(runs):
            plain.append(run_tm(plant_args())[0])
            recorded.append(run_tm(plant_args() + ["--record", transcript])[0])
        size = os.path.getsize(transcript)
    print(f"  plain:       {fmt_ms(plain)}")
    print(f"  --record:    {fmt_ms(recorded)}  (transcript {size} bytes)")
    ratio = statistics.median(recorded) / statistics.median(plain)
    check("recording overhead <= 10 %", ratio <= 1.10, f"median ratio {ratio:.3f}")
    return plain, recorded


def section_sizes(elf):
    """{section: bytes} of an ELF file, from arm-none-eabi-size -A."""
    out = subprocess.run(["arm-none-eabi-size", "-A", str(elf)], stdout=subprocess.PIPE, check=True, text=True).stdout
    sizes = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0].startswith(".") and parts[1].isdigit():
            sizes[parts[0]] = int(parts[1])
    return sizes


def bench_native(runs):
    """The native executors (issue 12): the firmware's flash and RAM, and plant-monitor end to
    end on each native executor next to the mock executor."""
    print(f"\n== native executors: firmware size, tm runtime run examples/plant-monitor ({runs} runs each)")
    elf = NATIVE / "firmware.elf"
    if not elf.is_file():
        sys.exit(f"{elf} is missing: run `bash native/build.sh` first")
    sizes = section_sizes(elf)
    flash = sizes.get(".text", 0) + sizes.get(".data", 0)
    ram = sizes.get(".data", 0) + sizes.get(".bss", 0)
    print(f"  firmware.elf: flash {flash} B ({flash / 1024:.1f} KiB of 256), RAM {ram} B ({ram / 1024:.1f} KiB of 64, "
          f"plus the 8 KiB stack)")
    check("flash <= 128 KiB", flash <= 128 * 1024, f"{flash / 1024:.1f} KiB")
    check("static RAM <= 48 KiB", ram <= 48 * 1024, f"{ram / 1024:.1f} KiB")
    executors = [("mock-executor", MOCK), ("c-executor", NATIVE / "c-executor"),
                 ("cpp-executor", NATIVE / "cpp-executor"), ("qemu-executor", NATIVE / "qemu-executor")]
    for name, path in executors:
        if not path.is_file():
            sys.exit(f"{path} is missing: run `bash native/build.sh` first")
        args = ["--executor-path", str(path)] + plant_args()
        for _ in range(2):
            run_tm(args)
        count = runs if name != "qemu-executor" else max(5, min(runs, 30))
        samples = [run_tm(args)[0] for _ in range(count)]
        print(f"  tm + {name:14}: {fmt_ms(samples)}  ({count} runs)")
        if name == "qemu-executor":
            check("median <= 1 s (boot QEMU, run, stop it)", statistics.median(samples) <= 1.0,
                  f"median {statistics.median(samples) * 1e3:.0f} ms")


def poll_samples(mode, emitted, polls):
    """Runs target/native/bench/poll-bench: (bytes per Poll, [seconds per Poll])."""
    out = subprocess.run([str(NATIVE / "bench" / "poll-bench"), mode, str(emitted), str(polls)],
                         check=True, stdout=subprocess.PIPE, text=True).stdout
    head, times = out.split("us:")
    size = int(head.split(":")[1].split()[0])
    return size, [float(t) / 1e6 for t in times.split()]


def fmt_us(samples):
    lo, med, hi = stats(samples)
    return f"{lo * 1e6:9.2f} / {med * 1e6:9.2f} / {hi * 1e6:9.2f} us"


def bench_native_poll(polls):
    """Issue 23, finding 1: one Runtime.Poll of a finished run of the C library, in-process
    (native/c/bench/poll_bench.c), against how many dsl.emit keys the run emitted. `history`:
    EMITTED keys by EMITTED/16 steps emitting the same 16 keys (the answer stays 16 keys);
    `distinct`: EMITTED distinct keys by 4 steps (the answer grows with them)."""
    print(f"\n== native: one Poll after N emitted keys, C library in-process ({polls} Polls each)")
    if not (NATIVE / "bench" / "poll-bench").is_file():
        sys.exit("target/native/bench/poll-bench is missing: run `bash native/build.sh bench` first")
    medians = {}
    for mode in ("history", "distinct"):
        for emitted in (16, 160, 1600, 16000):
            size, samples = poll_samples(mode, emitted, polls)
            medians[(mode, emitted)] = statistics.median(samples)
            print(f"  {mode:8} {emitted:6} keys emitted: {fmt_us(samples)}  ({size} B answer)")
    ratio = medians[("history", 16000)] / medians[("history", 16)]
    check("Poll after 16,000 emitted keys < 2x a Poll after 16", ratio < 2.0,
          f"{ratio:.2f}x (medians, same 16-key answer)")
    per_byte = medians[("distinct", 16000)] / poll_samples("distinct", 16000, 1)[0]
    print(f"  distinct keys: the answer's size sets the cost, {per_byte * 1e9:.1f} ns per byte at 16,000 keys")


def reference_venv(venv):
    if venv:
        return Path(venv)
    path = Path(tempfile.mkdtemp(prefix="tm-ref-"))
    print(f"  installing trace-mind==1.2.0 into {path} ...")
    subprocess.run([sys.executable, "-m", "venv", str(path)], check=True)
    subprocess.run([str(path / "bin" / "pip"), "install", "--quiet", "trace-mind==1.2.0"], check=True)
    return path


def bench_compare(runs, venv):
    print(f"\n== side by side with the reference (trace-mind 1.2.0 host + its Python mock executor)")
    venv = reference_venv(venv)
    ref_tm = venv / "bin" / "tm"
    site = subprocess.run([str(venv / "bin" / "python"), "-c", "import tm, os; print(os.path.dirname(tm.__file__))"],
                          check=True, stdout=subprocess.PIPE, text=True).stdout.strip()
    ref_mock = Path(site) / "executors" / "mock_process_engine.py"
    ref_args = [str(ref_tm), "--engine", "proc", "--executor-path", str(ref_mock), "runtime", "run",
                "--manifest", str(PLANT_MANIFEST), "--flow", "plant-monitor", "--inputs", f"@{PLANT_INPUTS}"]
    ref = []
    for _ in range(runs):
        start = time.perf_counter()
        proc = subprocess.run(ref_args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        ref.append(time.perf_counter() - start)
        if proc.returncode != 0:
            sys.exit(f"reference tm failed ({proc.returncode}): {proc.stderr.decode()[-2000:]}")
    ours = [run_tm(plant_args())[0] for _ in range(max(runs, 50))]
    print(f"  reference (Python):     {fmt_ms(ref)}")
    print(f"  rep (Rust):             {fmt_ms(ours)}")
    ratio = statistics.median(ref) / statistics.median(ours)
    print(f"  ratio of medians: the reference takes {ratio:.0f}x as long")
    check(">= 120x the reference", ratio >= 120, f"{ratio:.0f}x")


def node(i, kind="opcua.write"):
    return {"id": f"n{i}", "type": kind, "with": {"endpoint": "$input.endpoint", "node_id": f"ns=2;i={i}", "value": "1"},
            "timeout_ms": 0, "retry": {"max": 0, "backoff_ms": 0}}


def flow_doc(name, nodes, edges):
    return {
        "version": "1.0.0",
        "flow": {"name": name, "timeout_ms": 0},
        "constants": {"policyRef": name, "policy": {}},
        "inputs_schema": {},
        "graph": {"nodes": nodes, "edges": edges},
        "metadata": {"generated_at": "2026-11-20T00:00:00Z", "source_file": f"{name}.wdl"},
    }


def write_flow(dir_, name, doc):
    (dir_ / "flows").mkdir(parents=True, exist_ok=True)
    (dir_ / "flows" / f"{name}.ir.json").write_text(json.dumps(doc))
    kinds = sorted({n["type"] for n in doc["graph"]["nodes"]})
    (dir_ / "manifest.json").write_text(json.dumps([{"name": name, "step_kinds": kinds, "ir_path": f"flows/{name}.ir.json"}]))
    return dir_ / "manifest.json"


def chain(n):
    return flow_doc(f"chain-{n}", [node(i) for i in range(n)],
                    [{"from": f"n{i}", "to": f"n{i + 1}", "on": "success"} for i in range(n - 1)])


def fanout(n):
    return flow_doc(f"fanout-{n}", [node(i) for i in range(n)],
                    [{"from": "n0", "to": f"n{i}", "on": "success"} for i in range(1, n)])


def bench_large(runs):
    print("\n== large flows: whole tm process (validation + StartRun + execution + every event polled)")
    medians = {}
    with tempfile.TemporaryDirectory() as tmp:
        for shape, make in (("chain", chain), ("fanout", fanout)):
            for n in (1_000, 10_000, 100_000):
                manifest = write_flow(Path(tmp) / f"{shape}-{n}", f"{shape}-{n}", make(n))
                args = ["runtime", "run", "--manifest", str(manifest), "--flow", f"{shape}-{n}", "--timeout", "600"]
                count = runs if n < 100_000 else 3
                samples = []
                for _ in range(count):
                    elapsed, proc = run_tm(args)
                    out = json.loads(proc.stdout)
                    assert out["status"] == "completed" and len(out["events"]) >= 2 * n, (shape, n)
                    samples.append(elapsed)
                medians[(shape, n)] = statistics.median(samples)
                peaks = ""
                if shape == "chain" and n >= 10_000:
                    tm_kib, mock_kib = peak_rss_kib(args)
                    medians[(shape, n, "rss")] = (tm_kib, mock_kib)
                    peaks = f"  peak RSS tm {tm_kib / 1024:.1f} MiB, mock-executor {mock_kib / 1024:.1f} MiB"
                print(f"  {shape:6} {n:>7} nodes: {fmt_ms(samples)}{peaks}")
    ok = check("chain 10k <= 100 ms", medians[("chain", 10_000)] <= 0.100,
               f"median {medians[('chain', 10_000)] * 1e3:.1f} ms")
    ok &= check("chain 100k <= 1 s", medians[("chain", 100_000)] <= 1.0,
                f"median {medians[('chain', 100_000)] * 1e3:.0f} ms")
    tm_kib, mock_kib = medians[("chain", 100_000, "rss")]
    ok &= check("chain 100k peak RSS <= 100 MiB per process", max(tm_kib, mock_kib) <= 100 * 1024,
                f"tm {tm_kib / 1024:.1f} MiB, mock-executor {mock_kib / 1024:.1f} MiB")
    for shape in ("chain", "fanout"):
        ratio = medians[(shape, 100_000)] / medians[(shape, 10_000)]
        ok &= check(f"{shape} 100k <= 10x 10k", ratio <= 10, f"ratio {ratio:.1f}")
    return ok


def peak_rss_kib(args):
    """Peak RSS (KiB) of tm and of its executor, from their own debug logs (VmHWM).

    wait4's ru_maxrss cannot separate a process from its children, and a child inherits its
    parent's high-water mark across fork+exec, so each binary reports its own.
    """
    env = dict(os.environ, RUST_LOG="debug")
    with tempfile.TemporaryDirectory() as tmp:
        # tm passes only allowlisted variables to its executor: name RUST_LOG explicitly.
        config = Path(tmp) / "runtime.yaml"
        config.write_text(f"runtime:\n  executor_path: {MOCK}\n  pass_env: [RUST_LOG]\n")
        proc = subprocess.run([str(TM), "--runtime-config", str(config), *args],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    tm_kib = mock_kib = None
    for line in proc.stderr.decode().splitlines():
        if "peak_rss_kib=" in line:
            kib = int(line.split("peak_rss_kib=")[1].split()[0].strip("Some()"))
            if "outcome printed" in line:
                tm_kib = kib
            elif "stdin closed" in line:
                mock_kib = kib
    if tm_kib is None or mock_kib is None:
        sys.exit(f"no peak RSS in the debug logs:\n{proc.stderr.decode()[-2000:]}")
    return tm_kib, mock_kib


def bench_memory():
    print("\n== memory: peak RSS (VmHWM, reported by each process at its end)")
    plant = [peak_rss_kib(plant_args()) for _ in range(5)]
    tm_kib = [p[0] for p in plant]
    mock_kib = [p[1] for p in plant]
    print(f"  plant-monitor, tm:            {min(tm_kib)} / {statistics.median(tm_kib)} / {max(tm_kib)} KiB")
    print(f"  plant-monitor, mock-executor: {min(mock_kib)} / {statistics.median(mock_kib)} / {max(mock_kib)} KiB")
    check("tm <= 10 MB and mock-executor <= 10 MB", max(tm_kib) <= 10 * 1024 and max(mock_kib) <= 10 * 1024,
          f"max {max(tm_kib)} and {max(mock_kib)} KiB")
    print("  (the 100k-node chain's peaks: `large`)")


def cpu_ns(pid):
    total = 0
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/schedstat") as f:
                total += int(f.read().split()[0])
    except (FileNotFoundError, ProcessLookupError, ValueError):
        return None
    return total


def bench_idle(runs):
    print(f"\n== idle cost: one step lasting 2 s ({runs} runs)")
    doc = flow_doc("idle", [{"id": "wait", "type": "opcua.read",
                              "with": {"node_ids": [], "_mock": {"delay_ms": 2000}},
                              "timeout_ms": 0, "retry": {"max": 0, "backoff_ms": 0}}], [])
    shares, lags = [], []
    with tempfile.TemporaryDirectory() as tmp:
        manifest = write_flow(Path(tmp), "idle", doc)
        for _ in range(runs):
            start = time.perf_counter()
            env = dict(os.environ, RUST_LOG="rep_host=debug")
            proc = subprocess.Popen([str(TM), "runtime", "run", "--manifest", str(manifest), "--flow", "idle"],
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
            last = [0]

            def sample():
                while proc.returncode is None:
                    ns = cpu_ns(proc.pid)
                    if ns is not None:
                        last[0] = ns
                    time.sleep(0.005)

            sampler = threading.Thread(target=sample)
            sampler.start()
            stdout, stderr = proc.communicate()
            wall = time.perf_counter() - start
            sampler.join()
            last = last[0]
            out = json.loads(stdout)
            done = [e for e in out["events"] if e.get("step_id") == "wait" and e.get("state") == "succeeded"][0]
            ended = parse_rfc3339(done["timestamp"])
            # tm's debug log says when its Poll saw the final status.
            noticed = [line for line in stderr.decode().splitlines() if "run ended" in line][0]
            noticed_at = parse_rfc3339(noticed.split()[0])
            shares.append(last / 1e9 / wall)
            lags.append(noticed_at - ended)
    print(f"  host CPU / wall: {min(shares) * 100:.2f} / {statistics.median(shares) * 100:.2f} / {max(shares) * 100:.2f} %")
    print(f"  step end -> tm's Poll sees the final status: {fmt_ms(lags)}")
    check("CPU <= 2 % of wall", max(shares) <= 0.02, f"max {max(shares) * 100:.2f} %")
    check("end noticed within 10 ms", max(lags) <= 0.010, f"max {max(lags) * 1e3:.1f} ms")


class Peer:
    """An executor process spoken to with pre-serialized request lines (no JSON work timed)."""

    def __init__(self, argv):
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)

    def call(self, line):
        self.proc.stdin.write(line)
        self.proc.stdin.flush()
        return self.proc.stdout.readline()

    def close(self):
        self.proc.stdin.close()
        self.proc.wait(timeout=10)


def request(id_, method, params):
    return (json.dumps({"jsonrpc": "2.0", "id": id_, "method": method, "params": params}) + "\n").encode()


def bench_bridge(rounds):
    print(f"\n== Poll round trip: direct stdio vs through rep-bridge ({rounds} rounds, interleaved)")
    if not BRIDGE.is_file():
        sys.exit(f"{BRIDGE} is missing: run `cargo build --release --workspace` first")
    ir = json.loads((PLANT / "out" / "dsl" / "flows" / "plant-monitor.ir.json").read_text())
    inputs = json.loads(PLANT_INPUTS.read_text())
    listeners, peers = [], {"direct": Peer([str(MOCK)])}
    sock = Path(tempfile.mkdtemp(prefix="rep-bridge-bench-")) / "mock.sock"
    for kind, listen in (("tcp", "tcp:127.0.0.1:0"), ("unix", f"unix:{sock}")):
        mock = subprocess.Popen([str(MOCK), "--listen", listen], stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        listeners.append(mock)
        endpoint = mock.stderr.readline().decode().strip().removeprefix("listening on ")
        peers[f"bridge {kind}"] = Peer([str(BRIDGE), endpoint])
    poll = request(3, "Runtime.Poll", {"run_id": "bench"})
    for peer in peers.values():
        peer.call(request(1, "Runtime.Capabilities", {}))
        peer.call(request(2, "Runtime.StartRun", {"ir": ir, "inputs": inputs, "options": {"run_id": "bench"}}))
        while b'"completed"' not in peer.call(poll):
            pass
    samples = {name: [] for name in peers}
    for _ in range(rounds):
        for name, peer in peers.items():
            start = time.perf_counter()
            peer.call(poll)
            samples[name].append(time.perf_counter() - start)
    for peer in peers.values():
        peer.close()
    for mock in listeners:
        mock.kill()
        mock.wait()
    direct = statistics.median(samples["direct"])
    for name, values in samples.items():
        lo, med, hi = stats(values)
        print(f"  {name:12}: {lo * 1e6:7.1f} / {med * 1e6:7.1f} / {hi * 1e6:8.1f} µs   ({med / direct:.2f}x direct)")
    # This raw client's direct round trip is ~3x faster than tm's own client (see
    # rep_poll_round_trip_via_bridge_tcp in `cargo bench -p rep-bench`), so the bridge's fixed
    # cost (two more process wake-ups per round trip) weighs more here than under tm.
    ratio = statistics.median(samples["bridge tcp"]) / direct
    check("bridge round trip <= 1.5x direct stdio (this raw client)", ratio <= 1.5, f"{ratio:.2f}x")


def parse_rfc3339(text):
    # 2026-11-20T23:14:42.952236926Z -> epoch seconds (nanoseconds kept as a fraction)
    base, _, frac = text.rstrip("Z").partition(".")
    seconds = time.mktime(time.strptime(base, "%Y-%m-%dT%H:%M:%S")) - time.timezone
    return seconds + (float("0." + frac) if frac else 0.0)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=["e2e", "startup", "host-cpu", "sweep", "record", "compare", "large", "memory",
                                         "idle", "bridge", "native", "native-poll", "all"])
    parser.add_argument("--runs", type=int, default=200, help="runs of the fast whole-process figures")
    parser.add_argument("--venv", help="an existing virtualenv with trace-mind 1.2.0 (compare)")
    args = parser.parse_args()
    needed = () if args.what == "native-poll" else (MOCK,) + (() if args.what == "bridge" else (TM,))
    for binary in needed:
        if not binary.is_file():
            sys.exit(f"{binary} is missing: run `cargo build --release --workspace` first")
    print(f"machine: {os.cpu_count()} cores, {os.uname().sysname} {os.uname().release}; python {sys.version.split()[0]}")
    if args.what in ("e2e", "all"):
        bench_e2e(args.runs)
    if args.what in ("startup", "all"):
        bench_startup(min(args.runs, 100))
    if args.what in ("host-cpu", "all"):
        bench_host_cpu(min(args.runs, 100))
    if args.what in ("sweep", "all"):
        bench_sweep(min(args.runs, 50))
    if args.what in ("record", "all"):
        bench_record(args.runs)
    if args.what in ("compare", "all"):
        bench_compare(min(args.runs, 20), args.venv)
    if args.what in ("large", "all"):
        bench_large(max(3, min(args.runs, 10)))
    if args.what in ("memory", "all"):
        bench_memory()
    if args.what in ("idle", "all"):
        bench_idle(max(3, min(args.runs, 5)))
    if args.what in ("bridge", "all"):
        bench_bridge(max(1000, args.runs * 10))
    if args.what in ("native", "all"):
        bench_native(min(args.runs, 50))
    if args.what in ("native-poll", "all"):
        bench_native_poll(max(100, args.runs))


if __name__ == "__main__":
    main()

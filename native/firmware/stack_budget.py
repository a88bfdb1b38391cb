#!/usr/bin/env python3
"""The stack gate of the firmware (native/build.sh lint): the worst stack each firmware's
stacks can reach, from GCC's call graph with each function's frame (-fcallgraph-info=su, the
.ci files native/Makefile leaves in target/native/callgraph/<firmware>/), against the budgets
of docs/native-executors.md ("Stack budgets"). It fails when a worst path exceeds its budget,
when a function's frame is not static (a VLA, alloca), when the graph has a cycle (recursion),
and when a function is reached by no call and is neither an entry nor a known target of a
function pointer (the table below must then say who calls it).

A stack's worst case is the deepest path from its threads' entries, plus, for a stack that
interrupts use, every interrupt handler's deepest path and an exception frame each (as if all
nested: an upper bound). A FreeRTOS task's stack also holds the context a switch saves; the
main stack of the FreeRTOS firmware serves main until the scheduler starts (interrupts masked),
then only interrupts: the larger of the two counts.

Usage: stack_budget.py DOCS CALLGRAPH_DIR ELF   (e.g. docs/native-executors.md
target/native/callgraph/firmware target/native/firmware.elf); prints each stack's worst path
on stdout. Needs arm-none-eabi-nm (the functions the link kept).
"""

import re
import subprocess
import sys
from pathlib import Path

# Function pointers: who an indirect call in a function may reach. GCC's graph shows an indirect
# call as an edge to "__indirect_call"; the names here are those targets in every firmware (a
# name a firmware lacks is ignored). Naked handlers that branch in assembly are here too.
INDIRECT = {
    "flush_io": ["uart_write"],  # rep_io.write
    "rep_now": ["now_ms"],  # rep_io.now_ms
    "rep_w_flush": ["flush_io"],  # the response writer's flush
    "rep_w_raw": ["flush_io"],
    "check_items": ["check_node", "check_edge"],
    "call_handler": ["read_step", "write_step", "policy_step", "emit_step", "diag_fault",
                     "blocking_handler", "rtos_ticks"],  # step handlers
    "with_faults": ["opcua_read", "opcua_write", "policy_apply", "dsl_emit"],
    "diag_fault": ["smash_canary"],
    "serial_feed": ["uart_write"],  # its log
    "serial_write": ["board_uart_tx_kick", "now_ms", "tx_now_ms", "pause_for_interrupt",
                     "tx_pause"],  # serial_tx_port
    "rep_task": ["each_loop", "rx_resume", "uart_write"],  # rep_rtos_port
    "handle_error": [],  # rep_rtos_port.eof: none on the board
    "worker_main": ["rtos_sleep"],  # blocking step handlers
    "event_begin": [],  # rep_io.unix_ms: none on the boards
    "rep_serve": [],  # rep_io.read: the firmware feeds bytes itself
    "cm3_fault_handler": ["fault_report"],  # naked: `b fault_report`
    "pendsv_handler": ["vTaskSwitchContext"],  # FreeRTOS's naked context switch
    "svc_handler": [],
    "vPortStartFirstTask": [],
}

# Library routines without a call graph of their own (newlib, libgcc): small leaves.
LIBRARY_FRAME = 64
# What an interrupt pushes (r0-r3, r12, lr, pc, xPSR; no FPU on a Cortex-M3).
EXCEPTION_FRAME = 32
# What a FreeRTOS context switch keeps on a task's stack: the exception frame and r4-r11.
TASK_CONTEXT = 64

# Per firmware, per stack: (thread entries, interrupt handlers, bytes a task switch keeps,
# whether the interrupts come on top of the threads' deepest path).
IRQS = ["systick_handler", "cm3_fault_handler", "cm3_default_handler"]
STACKS = {
    "firmware.elf": {
        "main": (["cm3_reset_handler"], IRQS + ["uart0_handler", "watchdog_handler"], 0, True),
    },
    "firmware-mps2-an385.elf": {
        "main": (["cm3_reset_handler"],
                 IRQS + ["uart0_rx_handler", "uart0_tx_handler", "nmi_handler"], 0, True),
    },
    "freertos.elf": {
        "REP task": (["rep_task"], [], TASK_CONTEXT, True),
        "worker": (["worker_main"], [], TASK_CONTEXT, True),
        "main": (["cm3_reset_handler"],
                 IRQS + ["uart0_handler", "watchdog_handler", "pendsv_handler", "svc_handler"],
                 0, False),
    },
}
# Reached by the hardware or the kernel, not by a call.
ENTRIES = {"cm3_reset_handler", "rep_task", "worker_main", "main", "uart0_handler",
           "watchdog_handler", "uart0_rx_handler", "uart0_tx_handler", "nmi_handler",
           "systick_handler", "cm3_fault_handler", "cm3_default_handler", "pendsv_handler",
           "svc_handler", "prvTaskExitError", "prvIdleTask", "vPortSVCHandler"}

NODE = re.compile(r'node: \{ title: "([^"]+)" label: "([^"]*)"')
EDGE = re.compile(r'edge: \{ sourcename: "([^"]+)" targetname: "([^"]+)"')
FRAME = re.compile(r"\\n(\d+) bytes \(([a-z,]+)\)")


def bare(title):
    """A node's function name: static functions are titled "file:name"; clones end in .part.N,
    .constprop.N, .isra.N."""
    return re.sub(r"\.(part|constprop|isra|cold)\.\d+$", "", title.rsplit(":", 1)[-1])


def load(folder):
    frames, calls, problems = {}, {}, []
    for ci in sorted(Path(folder).glob("*.ci")):
        for line in ci.read_text().splitlines():
            if m := NODE.match(line):
                if f := FRAME.search(m.group(2)):
                    if f.group(2) != "static":
                        problems.append(f"{bare(m.group(1))}: a {f.group(2)} stack frame "
                                        f"({f.group(1)} bytes and more): no VLA or alloca")
                    frames[m.group(1)] = int(f.group(1))
            elif m := EDGE.match(line):
                calls.setdefault(m.group(1), []).append(m.group(2))
    return frames, calls, problems


def budgets(docs, firmware):
    """{stack: bytes} from the rows `| \\`firmware\\` | stack | budget | …` of the docs."""
    rows = re.findall(r"^\| `" + re.escape(firmware) + r"` \| ([^|]+?) \| ([\d ,]+) B \|",
                      Path(docs).read_text(), re.MULTILINE)
    return {stack: int(re.sub(r"[ ,]", "", b)) for stack, b in rows}


def linked(elf):
    """The functions the link kept (--gc-sections dropped the others)."""
    out = subprocess.run(["arm-none-eabi-nm", elf], capture_output=True, text=True, check=True)
    return {line.split()[-1] for line in out.stdout.splitlines() if re.match(r"\S+ [Tt] ", line)}


def main(docs, folder, elf):
    firmware = Path(elf).name
    frames, calls, problems = load(folder)
    by_name = {}
    for title in frames:
        by_name.setdefault(bare(title), []).append(title)

    def callees(title):
        out = [t for t in calls.get(title, []) if t != "__indirect_call"]
        if "__indirect_call" in calls.get(title, []) or bare(title) in INDIRECT:
            if bare(title) not in INDIRECT:
                problems.append(f"{bare(title)} calls through a function pointer that "
                                f"stack_budget.py's INDIRECT table does not name targets for")
            for name in INDIRECT.get(bare(title), []):
                out.extend(by_name.get(name, []))
        return out

    memo, path = {}, []

    def worst(title):
        """(bytes, [functions]) of the deepest path from `title`."""
        if title in memo:
            return memo[title]
        if title in path:
            cycle = " → ".join(bare(t) for t in path[path.index(title):] + [title])
            problems.append(f"recursion: {cycle}")
            return 0, []
        path.append(title)
        deepest = (0, [])
        for callee in callees(title):
            deepest = max(deepest, worst(callee), key=lambda w: w[0])
        path.pop()
        own = frames.get(title, LIBRARY_FRAME)
        memo[title] = (own + deepest[0], [bare(title)] + deepest[1])
        return memo[title]

    stacks = STACKS[firmware]
    results = {}
    for stack, (threads, irqs, context, on_top) in stacks.items():
        thread = max((worst(t) for name in threads for t in by_name.get(name, [])),
                     key=lambda w: w[0], default=(0, []))
        interrupts, detail = 0, []
        for name in irqs:
            for t in by_name.get(name, []):
                w = worst(t)
                interrupts += w[0] + EXCEPTION_FRAME
                detail.append(f"{bare(t)} {w[0]} B")
        base = thread[0] + context
        total = base + interrupts if on_top else max(base, interrupts)
        results[stack] = (total, thread, detail)
    # A function the link kept that no call reaches is reached through its address: it must
    # be an entry or a target the INDIRECT table names.
    targets = {n for names in INDIRECT.values() for n in names}
    called = {t for ts in calls.values() for t in ts}
    kept = linked(elf)
    for title in frames:
        name = bare(title)
        if name in kept and title not in called and name not in ENTRIES and name not in targets:
            problems.append(f"{name} is called by no function: whose function pointer reaches "
                            "it? (name it in stack_budget.py's INDIRECT table)")

    limits = budgets(docs, firmware)
    for stack, (total, thread, detail) in results.items():
        budget = limits.get(stack)
        chain = " → ".join(thread[1])
        extra = f" + interrupts ({', '.join(detail)})" if detail else ""
        print(f"{firmware} {stack}: {total} B worst (budget "
              f"{budget if budget is not None else '?'} B): {chain} {thread[0]} B{extra}")
        if budget is None:
            problems.append(f"docs/native-executors.md has no budget for {firmware}'s {stack} "
                            f"stack (a row `| \\`{firmware}\\` | {stack} | <bytes> B |`)")
        elif total > budget:
            problems.append(f"{firmware}'s {stack} stack can reach {total} B, over its budget "
                            f"of {budget} B (docs/native-executors.md)")
    for problem in dict.fromkeys(problems):
        print(f"stack_budget.py: {firmware}: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    sys.exit(main(*sys.argv[1:]))

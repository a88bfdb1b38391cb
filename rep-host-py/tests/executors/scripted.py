"""A REP v0.1 executor for the tests of rep_host, scripted by its first argument.

    scripted.py silent         reads requests and never answers (a hostile executor)
    scripted.py reject-run     advertises every step kind, answers Runtime.StartRun with a
                               JSON-RPC error (1003, the IR rejected)
    scripted.py kinds K,K…     advertises only the step kinds K…; a run is never asked for
    scripted.py                answers Runtime.Capabilities with every step kind (how
                               TraceMind's own engine starts it: no arguments)

Each writes its process id to the file named by $REP_TEST_PID_FILE, when set, so that a
test can check the executor is gone afterwards.
"""

import json
import os
import sys
import time

KINDS = ["dsl.emit", "finish", "opcua.read", "opcua.write", "policy.apply", "switch"]


def send(frame):
    sys.stdout.write(json.dumps(frame) + "\n")
    sys.stdout.flush()


def main():
    mode = sys.argv[1] if len(sys.argv) > 1 else "capabilities"
    pid_file = os.environ.get("REP_TEST_PID_FILE")
    if pid_file:
        with open(pid_file, "w") as out:
            out.write(str(os.getpid()))
    if mode == "silent":
        while True:
            time.sleep(60)
    kinds = sys.argv[2].split(",") if mode == "kinds" else KINDS
    for line in sys.stdin:
        request = json.loads(line)
        method, ident = request.get("method"), request.get("id")
        if ident is None:
            continue
        if method == "Runtime.Capabilities":
            result = {"version": "0.1.0", "step_kinds": kinds, "limits": {"concurrency": 1}}
            send({"jsonrpc": "2.0", "id": ident, "result": result})
        elif method == "Runtime.StartRun" and mode == "reject-run":
            error = {"code": 1003, "message": "scripted: IR rejected", "data": {"at": "/graph"}}
            send({"jsonrpc": "2.0", "id": ident, "error": error})
        else:
            error = {"code": -32601, "message": f"scripted: {method} not expected"}
            send({"jsonrpc": "2.0", "id": ident, "error": error})


if __name__ == "__main__":
    main()

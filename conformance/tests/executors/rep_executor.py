#!/usr/bin/env python3
"""A small REP v0.1 executor in Python (standard library only), written from the spec.

Test data for rep-conformance: an independent, correct executor in another language, so the
suite can prove it certifies one it has never seen with `rep-conformance run --executor
rep_executor.py` and no other flag. It runs the Flow IR control kinds `finish` and `switch`
(the kinds it advertises); a run executes at StartRun (control kinds take no time) and its
events are handed out by the next Poll.

Protocol: JSON-RPC 2.0, one object per line on stdin/stdout; logs go to stderr; exits on EOF.
"""

import json
import sys
import uuid
from datetime import datetime, timezone

VERSION = "0.1.0"
STEP_KINDS = ["finish", "switch"]
SUPPORTED_IR_MAJOR = "1"

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
VALIDATION = 1000
UNSUPPORTED_IR_VERSION = 1001
UNSUPPORTED_STEP_KIND = 1002
INVALID_IR = 1003


class RpcError(Exception):
    def __init__(self, code, message, data=None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data


def log(message):
    print(f"rep_executor.py: {message}", file=sys.stderr, flush=True)


def now():
    stamp = datetime.now(timezone.utc).isoformat(timespec="milliseconds")
    return stamp.replace("+00:00", "Z")


def validation(code, message):
    return RpcError(code, message, {"retriable": False})


class Run:
    def __init__(self, run_id):
        self.run_id = run_id
        self.status = "running"
        self.events = []
        self.completed_steps = 0
        self.failed_steps = 0
        self.outputs = {}

    def event(self, kind, **fields):
        self.events.append({"type": kind, "timestamp": now(), **fields})


def resolve(reference, inputs, steps):
    """`$input.a.b`, `$step.id.a` and `$.vars.id.a`; anything else is a literal."""
    if not isinstance(reference, str):
        return reference
    if reference.startswith("$input."):
        value, path = inputs, reference[len("$input."):].split(".")
    elif reference.startswith("$step."):
        value, path = steps, reference[len("$step."):].split(".")
    elif reference.startswith("$.vars."):
        value, path = steps, reference[len("$.vars."):].split(".")
    else:
        return reference
    for key in path:
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return value


def check_schema(ir):
    """The parts of the Flow IR v1.0.0 schema this executor relies on; raises 1003."""
    def bad(why):
        return validation(INVALID_IR, f"invalid Flow IR: {why}")

    flow = ir.get("flow")
    if not isinstance(flow, dict) or not isinstance(flow.get("name"), str) or not flow["name"]:
        raise bad("/flow/name must be a non-empty string")
    graph = ir.get("graph")
    if not isinstance(graph, dict):
        raise bad("/graph must be an object")
    nodes, edges = graph.get("nodes"), graph.get("edges")
    if not isinstance(nodes, list) or not nodes:
        raise bad("/graph/nodes must be a non-empty array")
    if not isinstance(edges, list):
        raise bad("/graph/edges must be an array")
    ids = set()
    for i, node in enumerate(nodes):
        if not isinstance(node, dict):
            raise bad(f"/graph/nodes/{i} must be an object")
        for field in ("id", "type"):
            if not isinstance(node.get(field), str) or not node[field]:
                raise bad(f"/graph/nodes/{i}/{field} must be a non-empty string")
        if node["id"] in ids:
            raise bad(f"/graph/nodes/{i}/id {node['id']!r} is not unique")
        ids.add(node["id"])
    for i, edge in enumerate(edges):
        if not isinstance(edge, dict):
            raise bad(f"/graph/edges/{i} must be an object")
        for field in ("from", "to"):
            if edge.get(field) not in ids:
                raise bad(f"/graph/edges/{i}/{field} names no node")
        if edge.get("on") not in ("success", "failure"):
            raise bad(f"/graph/edges/{i}/on must be success or failure")


def check_inputs(ir, inputs):
    """Inputs against `inputs_schema` ({name: {type: <WDL type>}}); raises a Validation error."""
    schema = ir.get("inputs_schema")
    if not isinstance(schema, dict):
        return
    for name, spec in schema.items():
        if name not in inputs or not isinstance(spec, dict):
            continue
        kind, value = spec.get("type"), inputs[name]
        checks = {
            "int": lambda v: isinstance(v, int) and not isinstance(v, bool),
            "float": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
            "string": lambda v: isinstance(v, str),
            "bool": lambda v: isinstance(v, bool),
        }
        check = checks.get(kind)
        if isinstance(kind, str) and kind.startswith("list"):
            check = lambda v: isinstance(v, list)  # noqa: E731
        if check is not None and not check(value):
            raise validation(VALIDATION, f"bad inputs: {name} = {json.dumps(value)} is not {kind}")


class Executor:
    def __init__(self):
        self.runs = {}

    def capabilities(self, _params):
        return {"version": VERSION, "step_kinds": STEP_KINDS, "limits": {"concurrency": 1}}

    def start_run(self, params):
        ir = params.get("ir")
        if not isinstance(ir, dict):
            raise RpcError(INVALID_PARAMS, "Invalid params: ir must be an object")
        version = ir.get("version")
        if not isinstance(version, str) or version.split(".")[0] != SUPPORTED_IR_MAJOR:
            raise validation(UNSUPPORTED_IR_VERSION,
                             f"unsupported IR version {version!r}; supported: 1.x")
        check_schema(ir)
        missing = sorted({n["type"] for n in ir["graph"]["nodes"]} - set(STEP_KINDS))
        if missing:
            raise validation(UNSUPPORTED_STEP_KIND, f"unsupported step kind(s): {', '.join(missing)}")
        inputs = params.get("inputs", {})
        if not isinstance(inputs, dict):
            raise RpcError(INVALID_PARAMS, "Invalid params: inputs must be an object")
        check_inputs(ir, inputs)
        options = params.get("options") or {}
        run_id = options.get("run_id") if isinstance(options, dict) else None
        if not isinstance(run_id, str) or not run_id:
            run_id = str(uuid.uuid4())
        if run_id in self.runs:
            raise validation(VALIDATION, f"run id {run_id!r} is already in use")
        run = Run(run_id)
        self.runs[run_id] = run
        self.execute(run, ir, inputs)
        return {"run_id": run_id}

    def execute(self, run, ir, inputs):
        nodes = {n["id"]: n for n in ir["graph"]["nodes"]}
        edges = ir["graph"]["edges"]
        targets = {e["to"] for e in edges}
        entry = next((n for n in ir["graph"]["nodes"] if n["id"] not in targets), None)
        run.event("log", level="info", message=f"run {run.run_id} started")
        steps, current, visited = {}, entry, 0
        while current is not None and visited <= len(nodes):
            visited += 1
            step_id, kind = current["id"], current["type"]
            run.event("step", step_id=step_id, state="started", attempt=1)
            with_ = current.get("with") if isinstance(current.get("with"), dict) else {}
            following, ok = None, True
            if kind == "switch":
                key = resolve(with_.get("key_from"), inputs, steps)
                cases = with_.get("cases") if isinstance(with_.get("cases"), dict) else {}
                key = key if isinstance(key, str) else json.dumps(key)
                following = cases.get(key, cases.get(with_.get("default")))
                ok = following in nodes
                steps[step_id] = {"case": key}
            if not ok:
                run.failed_steps += 1
                run.event("step", step_id=step_id, state="failed", attempt=1,
                          error="no case matches and there is no default")
                on = "failure"
            else:
                run.completed_steps += 1
                run.event("step", step_id=step_id, state="succeeded", attempt=1, duration_ms=0)
                on = "success"
            if kind == "finish" and ok:
                run.status = "completed"
                break
            if following is None:
                following = next((e["to"] for e in edges
                                  if e["from"] == step_id and e.get("on") == on), None)
            if following is None:
                run.status = "completed" if ok else "failed"
                break
            current = nodes.get(following)
        if run.status == "running":
            run.status = "failed"
        run.event("log", level="info", message=f"run {run.run_id} {run.status}")

    def run_for(self, params):
        run_id = params.get("run_id")
        if not isinstance(run_id, str):
            raise RpcError(INVALID_PARAMS, "Invalid params: run_id must be a string")
        run = self.runs.get(run_id)
        if run is None:
            raise validation(VALIDATION, f"unknown run id {run_id!r}")
        return run

    def poll(self, params):
        run = self.run_for(params)
        events, run.events = run.events, []
        summary = {"completed_steps": run.completed_steps, "failed_steps": run.failed_steps,
                   "outputs": run.outputs}
        return {"status": run.status, "events": events, "summary": summary}

    def cancel(self, params):
        run = self.run_for(params)
        if run.status not in ("completed", "failed"):
            run.status = "failed"
            run.event("log", level="info", message=f"run {run.run_id} cancelled")
        return {"ok": True}

    def health(self, _params):
        return {"ok": True, "details": {"runs": len(self.runs)}}

    METHODS = {
        "Runtime.Capabilities": capabilities,
        "Runtime.StartRun": start_run,
        "Runtime.Poll": poll,
        "Runtime.Cancel": cancel,
        "Runtime.Health": health,
    }

    def handle(self, line):
        """The response to one line, or None (a notification or a blank line)."""
        if not line.strip():
            return None
        try:
            request = json.loads(line.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as error:
            return error_response(None, PARSE_ERROR, f"Parse error: {error}")
        if not isinstance(request, dict):
            return error_response(None, INVALID_REQUEST, "Invalid Request: not an object")
        request_id = request.get("id")
        if isinstance(request_id, bool) or not isinstance(request_id, (str, int, float, type(None))):
            return error_response(None, INVALID_REQUEST, "Invalid Request: bad id")
        if request.get("jsonrpc") != "2.0":
            return error_response(request_id, INVALID_REQUEST, 'Invalid Request: jsonrpc must be "2.0"')
        method = request.get("method")
        if not isinstance(method, str):
            return error_response(request_id, INVALID_REQUEST, "Invalid Request: method must be a string")
        params = request.get("params", {})
        if not isinstance(params, (dict, list)):
            return error_response(request_id, INVALID_REQUEST, "Invalid Request: bad params")
        if "id" not in request:
            log(f"ignoring notification {method}")
            return None
        handler = self.METHODS.get(method)
        if handler is None:
            return error_response(request_id, METHOD_NOT_FOUND, f"Method not found: {method}")
        if not isinstance(params, dict):
            return error_response(request_id, INVALID_PARAMS, "Invalid params: expected an object")
        try:
            return {"jsonrpc": "2.0", "id": request_id, "result": handler(self, params)}
        except RpcError as error:
            return error_response(request_id, error.code, error.message, error.data)


def error_response(request_id, code, message, data=None):
    error = {"code": code, "message": message}
    if data is not None:
        error["data"] = data
    return {"jsonrpc": "2.0", "id": request_id, "error": error}


def main():
    executor = Executor()
    log("ready")
    for line in sys.stdin.buffer:
        response = executor.handle(line)
        if response is not None:
            sys.stdout.write(json.dumps(response, separators=(",", ":")) + "\n")
            sys.stdout.flush()
    log("stdin closed, exiting")


if __name__ == "__main__":
    main()

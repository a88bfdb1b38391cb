//! `broken-executor`: a small, synchronous REP v0.1 executor written from the spec alone (no
//! executor kit, no rep-spec), used by rep-conformance's self-test. Without arguments it
//! passes every test of the catalogue; `--fault REP-XXX-NNN` breaks exactly the behaviour that
//! test checks; `--fault echo` writes every line it reads back to stdout instead of answering
//! (as `/bin/cat` would), and `--fault silent` never answers. `--require-env NAME=VALUE` makes
//! it exit at once unless its environment holds that variable.
//!
//! Step kinds: `finish` (ends the run completed) and `switch` (`key_from` `$input.<key>`,
//! `cases`, `default`). Any node may carry `with._mock: {"fail": true}` (the step fails) or
//! `{"delay_ms": N}` (the step takes N ms), as the mock executor's fault injection does.
//! Time is simulated: a run's events are planned at StartRun and released by Poll as their
//! time comes.

use std::collections::HashMap;
use std::io::{BufRead, Write};
use std::time::{Duration, Instant};

use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

const KINDS: [&str; 2] = ["finish", "switch"];

struct Planned {
    at: Duration,
    event: Value,
}

struct Run {
    started: Instant,
    events: Vec<Planned>,
    delivered: usize,
    end: Duration,
    status: &'static str,
    completed_steps: u64,
    failed_steps: u64,
    reported_final: bool,
    cancels: u32,
}

impl Run {
    fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    fn is_done(&self) -> bool {
        self.elapsed() >= self.end
    }
}

struct Executor {
    fault: String,
    runs: HashMap<String, Run>,
    requests: u64,
}

type Reply = Result<Value, (i64, String)>;

fn stamp(at: OffsetDateTime) -> String {
    at.format(&Rfc3339).unwrap_or_default()
}

impl Executor {
    fn is(&self, id: &str) -> bool {
        self.fault == id
    }

    fn handle_line(&mut self, line: &str, out: &mut impl Write) {
        if self.is("echo") {
            let _ = writeln!(out, "{line}");
            let _ = out.flush();
            return;
        }
        if line.trim().is_empty() || self.is("silent") {
            return;
        }
        let value: Value = match serde_json::from_str(line) {
            Ok(value) => value,
            Err(e) => {
                if !self.is("REP-RPC-001") {
                    self.respond(out, Value::Null, Err((-32700, format!("Parse error: {e}"))));
                }
                return;
            }
        };
        let Value::Object(request) = value else {
            self.respond(
                out,
                Value::Null,
                Err((-32600, "Invalid Request: not an object".into())),
            );
            return;
        };
        let id = match request.get("id") {
            Some(v @ (Value::Number(_) | Value::String(_))) => v.clone(),
            _ => Value::Null,
        };
        let Some(Value::String(method)) = request.get("method") else {
            let code = if self.is("REP-RPC-002") {
                -32700
            } else {
                -32600
            };
            self.respond(out, id, Err((code, "Invalid Request: no method".into())));
            return;
        };
        if request.get("jsonrpc") != Some(&json!("2.0")) {
            self.respond(
                out,
                id,
                Err((-32600, "Invalid Request: jsonrpc must be \"2.0\"".into())),
            );
            return;
        }
        if !request.contains_key("id") {
            return; // a notification: no answer
        }
        self.requests += 1;
        let params = request.get("params").cloned().unwrap_or(json!({}));
        let reply = match params {
            Value::Object(params) => self.dispatch(method, &params),
            _ => Err((-32602, "Invalid params: params must be an object".into())),
        };
        self.respond(out, id, reply);
        if method == "Runtime.StartRun" && self.is("REP-FRM-002") {
            let _ = writeln!(out, "broken-executor: run started");
            let _ = out.flush();
        }
    }

    fn dispatch(&mut self, method: &str, params: &Map<String, Value>) -> Reply {
        match method {
            "Runtime.Capabilities" => Ok(json!({
                "version": if self.is("REP-CAP-001") { "0.1" } else { "0.1.0" },
                "step_kinds": KINDS,
                "limits": {"concurrency": 1}
            })),
            "Runtime.StartRun" => self.start_run(params),
            "Runtime.Poll" => self.poll(params),
            "Runtime.Cancel" => self.cancel(params),
            "Runtime.Health" if self.is("REP-HLT-001") => Ok(json!({"ok": true})),
            "Runtime.Health" => Ok(json!({"ok": true, "details": {"runs": self.runs.len()}})),
            _ if self.is("REP-RPC-003") => Err((3002, format!("unsupported method {method}"))),
            _ => Err((-32601, format!("Method not found: {method}"))),
        }
    }

    fn respond(&self, out: &mut impl Write, id: Value, reply: Reply) {
        let id = match id {
            Value::Number(n) if self.is("REP-FRM-004") && self.requests >= 3 => {
                json!(n.to_string())
            }
            other => other,
        };
        let mut frame = Map::new();
        let is_error = reply.is_err();
        if !(is_error && self.is("REP-FRM-003")) {
            frame.insert("jsonrpc".into(), json!("2.0"));
        }
        frame.insert("id".into(), id);
        match reply {
            Ok(result) => {
                frame.insert("result".into(), result);
            }
            Err((code, message)) => {
                let data = if self.is("REP-ERR-001") {
                    json!("see stderr")
                } else {
                    json!({"retriable": false})
                };
                frame.insert(
                    "error".into(),
                    json!({"code": code, "message": message, "data": data}),
                );
            }
        }
        let frame = Value::Object(frame);
        let text = if self.is("REP-FRM-001") {
            serde_json::to_string_pretty(&frame)
        } else {
            serde_json::to_string(&frame)
        };
        let _ = writeln!(out, "{}", text.unwrap_or_default());
        let _ = out.flush();
    }

    fn run_id(&self, params: &Map<String, Value>) -> Result<String, (i64, String)> {
        match params.get("run_id") {
            Some(Value::String(id)) => Ok(id.clone()),
            _ if self.is("REP-RPC-004") => Err((1000, "unknown run id".into())),
            _ => Err((-32602, "Invalid params: run_id must be a string".into())),
        }
    }

    fn start_run(&mut self, params: &Map<String, Value>) -> Reply {
        let Some(Value::Object(ir)) = params.get("ir") else {
            return Err((-32602, "Invalid params: ir must be an object".into()));
        };
        let kinds_ok = || -> Result<(), (i64, String)> {
            let nodes = ir
                .get("graph")
                .and_then(|g| g.get("nodes"))
                .and_then(Value::as_array);
            for node in nodes.into_iter().flatten() {
                let kind = node.get("type").and_then(Value::as_str).unwrap_or("");
                if !KINDS.contains(&kind) && !self.is("REP-RUN-003") {
                    return Err((1002, format!("unsupported step kind {kind}")));
                }
            }
            Ok(())
        };
        if self.is("REP-RUN-002") {
            kinds_ok()?;
        }
        if ir.get("version") != Some(&json!("1.0.0")) && !self.is("REP-RUN-001") {
            return Err((1001, "unsupported IR version; supported: 1.0.0".into()));
        }
        if !self.is("REP-RUN-004") {
            schema_check(ir).map_err(|why| (1003, format!("invalid Flow IR: {why}")))?;
        }
        kinds_ok()?;
        let inputs = params.get("inputs").cloned().unwrap_or(json!({}));
        if !self.is("REP-RUN-007") {
            inputs_check(ir, &inputs).map_err(|why| (1000, format!("bad inputs: {why}")))?;
        }
        let run_id = match params.get("options").and_then(|o| o.get("run_id")) {
            Some(Value::String(id)) if !self.is("REP-RUN-006") => id.clone(),
            _ => format!("run-{}", self.runs.len() + 1),
        };
        let run = self.plan(ir, &inputs);
        self.runs.insert(run_id.clone(), run);
        if self.is("REP-RUN-005") {
            return Ok(json!({"runId": run_id}));
        }
        Ok(json!({"run_id": run_id}))
    }

    /// Walks the graph now and plans every event at its simulated time.
    fn plan(&self, ir: &Map<String, Value>, inputs: &Value) -> Run {
        let empty = Vec::new();
        let nodes = ir
            .get("graph")
            .and_then(|g| g.get("nodes"))
            .and_then(Value::as_array)
            .unwrap_or(&empty);
        let edges = ir
            .get("graph")
            .and_then(|g| g.get("edges"))
            .and_then(Value::as_array)
            .unwrap_or(&empty);
        let node_id = |n: &Value| n.get("id").and_then(Value::as_str).unwrap_or("").to_owned();
        let now = OffsetDateTime::now_utc();
        let mut events = Vec::new();
        let mut push = |at: Duration, mut event: Value| {
            let ts = if self.is("REP-EVT-001") {
                json!(now.unix_timestamp())
            } else {
                json!(stamp(now + at))
            };
            event["timestamp"] = ts;
            events.push(Planned { at, event });
        };
        let message = if self.is("REP-EVT-003") {
            "msg"
        } else {
            "message"
        };
        push(
            Duration::ZERO,
            json!({"type": "log", "level": "info", message: "run started"}),
        );
        let entry = nodes.iter().find(|n| {
            !edges
                .iter()
                .any(|e| e.get("to").and_then(Value::as_str) == Some(&node_id(n)))
        });
        let (mut t, mut completed, mut failed) = (Duration::ZERO, 0, 0);
        let mut status = "completed";
        let mut current = entry.cloned();
        let mut guard = 0;
        while let Some(node) = current.take() {
            guard += 1;
            if guard > 1000 {
                status = "failed";
                break;
            }
            let id = node_id(&node);
            let kind = node.get("type").and_then(Value::as_str).unwrap_or("");
            let mock = node.pointer("/with/_mock");
            let delay = mock
                .and_then(|m| m.get("delay_ms"))
                .and_then(Value::as_u64)
                .unwrap_or(0);
            push(
                t,
                json!({"type": "step", "step_id": id, "state": "started", "attempt": 1}),
            );
            t += Duration::from_millis(delay);
            let mut next = None;
            let mut ok =
                mock.and_then(|m| m.get("fail")) != Some(&json!(true)) && KINDS.contains(&kind);
            if ok && kind == "switch" {
                if self.is("REP-LIF-002") {
                    ok = false;
                } else {
                    next = switch_target(&node, inputs);
                    ok = next.is_some();
                }
            }
            let succeeded = if self.is("REP-EVT-002") {
                "done"
            } else {
                "succeeded"
            };
            let state = if ok { succeeded } else { "failed" };
            push(
                t,
                json!({"type": "step", "step_id": id, "state": state, "attempt": 1, "duration_ms": delay}),
            );
            let on = if ok { "success" } else { "failure" };
            if ok {
                completed += 1;
            } else {
                failed += 1;
            }
            if kind == "finish" && ok {
                break;
            }
            if next.is_none() {
                next = edges
                    .iter()
                    .find(|e| {
                        e.get("from").and_then(Value::as_str) == Some(&id)
                            && e.get("on").and_then(Value::as_str) == Some(on)
                    })
                    .and_then(|e| e.get("to").and_then(Value::as_str))
                    .map(str::to_owned);
            }
            match next {
                Some(to) => current = nodes.iter().find(|n| node_id(n) == to).cloned(),
                None if !ok => status = "failed",
                None => {}
            }
        }
        if status == "failed" && self.is("REP-LIF-003") {
            status = "completed";
        }
        push(
            t,
            json!({"type": "log", "level": "info", message: format!("run {status}")}),
        );
        Run {
            started: Instant::now(),
            events,
            delivered: 0,
            end: t,
            status,
            completed_steps: completed,
            failed_steps: failed,
            reported_final: false,
            cancels: 0,
        }
    }

    fn poll(&mut self, params: &Map<String, Value>) -> Reply {
        let run_id = self.run_id(params)?;
        let lif_001 = self.is("REP-LIF-001");
        let lif_004 = self.is("REP-LIF-004");
        let lif_006 = self.is("REP-LIF-006");
        let sum_001 = self.is("REP-SUM-001");
        let Some(run) = self.runs.get_mut(&run_id) else {
            if self.is("REP-LIF-005") {
                std::process::exit(70);
            }
            return Err((1000, format!("unknown run id {run_id:?}")));
        };
        let elapsed = run.elapsed();
        let due = run.events.iter().take_while(|p| p.at <= elapsed).count();
        let from = if lif_004 { 0 } else { run.delivered };
        let events: Vec<Value> = run.events[from..due]
            .iter()
            .map(|p| p.event.clone())
            .collect();
        run.delivered = due;
        let status = if run.is_done() {
            if run.reported_final && lif_006 {
                "running"
            } else {
                run.reported_final = true;
                if lif_001 && run.status == "completed" {
                    "done"
                } else {
                    run.status
                }
            }
        } else {
            "running"
        };
        let summary = if sum_001 {
            json!({"outputs": {}})
        } else {
            json!({"completed_steps": run.completed_steps, "failed_steps": run.failed_steps, "outputs": {}})
        };
        Ok(json!({"status": status, "events": events, "summary": summary}))
    }

    fn cancel(&mut self, params: &Map<String, Value>) -> Reply {
        let run_id = self.run_id(params)?;
        let (can_001, can_002) = (self.is("REP-CAN-001"), self.is("REP-CAN-002"));
        let can_003 = self.is("REP-CAN-003");
        let Some(run) = self.runs.get_mut(&run_id) else {
            return Err((1000, format!("unknown run id {run_id:?}")));
        };
        run.cancels += 1;
        if run.is_done() {
            let ok = !(can_001 || (can_002 && run.cancels > 1));
            return Ok(json!({"ok": ok}));
        }
        if can_003 {
            return Ok(json!({"ok": true}));
        }
        let now = run.elapsed();
        run.events.retain(|p| p.at <= now);
        let step = run
            .events
            .iter()
            .rev()
            .find(|p| p.event["state"] == "started")
            .and_then(|p| p.event.get("step_id").cloned());
        let ts = stamp(OffsetDateTime::now_utc());
        if let Some(step) = step {
            run.events.push(Planned {
                at: now,
                event: json!({"type": "step", "timestamp": ts, "step_id": step, "state": "failed", "attempt": 1, "error": "cancelled"}),
            });
            run.failed_steps += 1;
        }
        run.events.push(Planned {
            at: now,
            event: json!({"type": "log", "timestamp": ts, "level": "info", "message": "run cancelled"}),
        });
        run.end = now;
        run.status = "failed";
        Ok(json!({"ok": true}))
    }
}

fn switch_target(node: &Value, inputs: &Value) -> Option<String> {
    let with = node.get("with")?;
    let key_from = with.get("key_from").and_then(Value::as_str)?;
    let value = key_from
        .strip_prefix("$input.")
        .and_then(|path| path.split('.').try_fold(inputs, |v, k| v.get(k)));
    let key = match value {
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
        None => String::new(),
    };
    let cases = with.get("cases")?;
    let default = with.get("default").and_then(Value::as_str).unwrap_or("");
    cases
        .get(&key)
        .or_else(|| cases.get(default))
        .and_then(Value::as_str)
        .map(str::to_owned)
}

/// Checks `inputs` against the IR's `inputs_schema` (`{name: {type: "<WDL type>"}}`, as the
/// compiler writes it): a present input of the wrong type is bad.
fn inputs_check(ir: &Map<String, Value>, inputs: &Value) -> Result<(), String> {
    let Some(Value::Object(schema)) = ir.get("inputs_schema") else {
        return Ok(());
    };
    for (name, spec) in schema {
        let (Some(value), Some(kind)) =
            (inputs.get(name), spec.get("type").and_then(Value::as_str))
        else {
            continue;
        };
        let ok = match kind {
            "int" | "integer" => value.is_i64() || value.is_u64(),
            "float" | "number" => value.is_number(),
            "string" => value.is_string(),
            "bool" | "boolean" => value.is_boolean(),
            k if k.starts_with("list") => value.is_array(),
            _ => true,
        };
        if !ok {
            return Err(format!("input {name} is {value}, not {kind}"));
        }
    }
    Ok(())
}

fn schema_check(ir: &Map<String, Value>) -> Result<(), String> {
    let flow = ir
        .get("flow")
        .and_then(Value::as_object)
        .ok_or("/flow must be an object")?;
    if !flow.get("name").is_some_and(Value::is_string) {
        return Err("/flow/name must be a string".into());
    }
    let graph = ir
        .get("graph")
        .and_then(Value::as_object)
        .ok_or("/graph must be an object")?;
    let nodes = graph
        .get("nodes")
        .and_then(Value::as_array)
        .ok_or("/graph/nodes must be an array")?;
    if nodes.is_empty() {
        return Err("/graph/nodes must not be empty".into());
    }
    for (i, node) in nodes.iter().enumerate() {
        for field in ["id", "type"] {
            if !node.get(field).is_some_and(Value::is_string) {
                return Err(format!("/graph/nodes/{i}/{field} must be a string"));
            }
        }
    }
    if !graph.get("edges").is_some_and(Value::is_array) {
        return Err("/graph/edges must be an array".into());
    }
    Ok(())
}

/// Replaces SIGTERM's default action (exit) with a handler that does nothing: tokio installs
/// its handler for the life of the process once a listener is registered (no `unsafe`).
fn ignore_sigterm() -> Option<tokio::runtime::Runtime> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .ok()?;
    let listener = runtime.block_on(async {
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
    });
    listener.ok().map(|_| runtime)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let fault = args
        .iter()
        .position(|a| a == "--fault")
        .and_then(|i| args.get(i + 1))
        .cloned()
        .unwrap_or_default();
    // `--require-env NAME=VALUE` (repeatable): exit at once unless the environment has it,
    // as an executor that needs LD_LIBRARY_PATH or a port name would fail.
    for pair in args.windows(2).filter(|w| w[0] == "--require-env") {
        let (name, value) = pair[1].split_once('=').unwrap_or((&pair[1], ""));
        if std::env::var(name).ok().as_deref() != Some(value) {
            eprintln!("broken-executor: {name} must be {value:?} in my environment");
            std::process::exit(3);
        }
    }
    let _sigterm = if fault == "REP-PRC-002" {
        ignore_sigterm()
    } else {
        None
    };
    let mut executor = Executor {
        fault,
        runs: HashMap::new(),
        requests: 0,
    };
    if executor.is("silent") {
        eprintln!("broken-executor: silent: reading requests, answering none");
    }
    let stdin = std::io::stdin();
    let mut stdout = std::io::stdout().lock();
    for line in stdin.lock().lines() {
        let Ok(line) = line else { break };
        executor.handle_line(&line, &mut stdout);
    }
    if executor.is("REP-PRC-001") {
        loop {
            std::thread::sleep(Duration::from_secs(1));
        }
    }
}

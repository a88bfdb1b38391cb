//! `broken-executor`: a small, synchronous REP v0.1 executor written from the spec alone (no
//! executor kit, no rep-spec), used by rep-conformance's self-test. Without arguments it
//! passes every test of the catalogue; `--fault REP-XXX-NNN` breaks exactly the behaviour that
//! test checks; `--fault echo` writes every line it reads back to stdout instead of answering
//! (as `/bin/cat` would), and `--fault silent` never answers. `--require-env NAME=VALUE` makes
//! it exit at once unless its environment holds that variable; with `--once PATH` the fault
//! shows once (showing it creates PATH; while PATH exists the executor behaves), which makes a
//! flaky executor.
//!
//! Step kinds: `finish`, `switch`, `dsl.emit` and the conformance probe `rep.probe`
//! (docs/protocol.md), scheduled by [`sim`] with `limits.concurrency` 2. Any node may carry
//! `with._mock: {"fail": true}` (the step fails) or `{"delay_ms": N}` (the step takes N ms), as
//! the mock executor's fault injection does. Time is simulated: a run's events are planned at
//! StartRun and released by Poll as their time comes. The faults of the `REP-SEM-*` tests are
//! planted semantic bugs with names of their own (`retry-short`, `timeout-ignored`,
//! `failure-edge-on-success`, `concurrency-exceeded`, `cancel-ignored`, …; see [`sim::Bugs`]).

#[path = "broken-executor/sim.rs"]
mod sim;

use std::collections::HashMap;
use std::io::{BufRead, Write};
use std::time::{Duration, Instant};

use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

const KINDS: [&str; 4] = ["dsl.emit", "finish", "rep.probe", "switch"];

/// `limits.concurrency`.
const CONCURRENCY: usize = 2;

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
    /// What each emit wrote, and when.
    outputs: Vec<(Duration, Map<String, Value>)>,
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
    /// `--once PATH`: the fault shows only until PATH exists, and showing it creates PATH.
    once: Option<String>,
    runs: HashMap<String, Run>,
    requests: u64,
}

type Reply = Result<Value, (i64, String)>;

fn stamp(at: OffsetDateTime) -> String {
    at.format(&Rfc3339).unwrap_or_default()
}

impl Executor {
    fn is(&self, id: &str) -> bool {
        if self.fault != id {
            return false;
        }
        match &self.once {
            // The first behaviour that shows the fault creates the marker; from then on, in
            // this process and later ones, the executor behaves.
            Some(marker) => std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(marker)
                .is_ok(),
            None => true,
        }
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
                "limits": {"concurrency": CONCURRENCY}
            })),
            "Runtime.StartRun" => self.start_run(params),
            "Runtime.Poll" => self.poll(params),
            // REP-WIRE-001: a result the schema refuses (`ok` must be a boolean).
            "Runtime.Cancel" if self.is("REP-WIRE-001") => Ok(json!({"ok": "true"})),
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

    /// Plans every event of the run now, at its simulated time ([`sim::plan`]).
    fn plan(&self, ir: &Map<String, Value>, inputs: &Value) -> Run {
        let now = OffsetDateTime::now_utc();
        let planned = sim::plan(ir, inputs, CONCURRENCY, sim::Bugs::from_fault(&self.fault));
        let mut status = planned.status;
        if status == "failed" && self.is("REP-LIF-003") {
            status = "completed";
        }
        let message = if self.is("REP-EVT-003") {
            "msg"
        } else {
            "message"
        };
        let log = |text: String| json!({"type": "log", "level": "info", message: text});
        let end = Duration::from_millis(planned.end);
        let mut events = vec![Planned {
            at: Duration::ZERO,
            event: log("run started".into()),
        }];
        events.extend(planned.events.into_iter().map(|p| {
            let mut event = p.event;
            if self.is("REP-EVT-002") && event["state"] == "succeeded" {
                event["state"] = json!("done");
            }
            Planned {
                at: Duration::from_millis(p.at),
                event,
            }
        }));
        events.push(Planned {
            at: end,
            event: log(format!("run {status}")),
        });
        for planned in &mut events {
            planned.event["timestamp"] = if self.is("REP-EVT-001") {
                json!(now.unix_timestamp())
            } else {
                json!(stamp(now + planned.at))
            };
        }
        Run {
            started: Instant::now(),
            events,
            delivered: 0,
            end,
            status,
            completed_steps: planned.completed_steps,
            failed_steps: planned.failed_steps,
            outputs: planned
                .outputs
                .into_iter()
                .map(|(at, map)| (Duration::from_millis(at), map))
                .collect(),
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
        // One reading of the clock for the events and the status: a final status must come
        // with every event (a second reading could say done while events were held back).
        let status = if elapsed >= run.end {
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
        let mut outputs = Map::new();
        for (at, written) in &run.outputs {
            if *at <= elapsed.min(run.end) {
                outputs.extend(written.clone());
            }
        }
        let summary = if sum_001 {
            json!({"outputs": outputs})
        } else {
            json!({"completed_steps": run.completed_steps, "failed_steps": run.failed_steps, "outputs": outputs})
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
        let cancel_ignored = self.fault == "cancel-ignored" || self.fault == "REP-SEM-011";
        let ts = stamp(OffsetDateTime::now_utc());
        // The attempts running now: started at or before now, ending later.
        let mut running: Vec<(Value, u64)> = Vec::new();
        for planned in run.events.iter().filter(|p| p.at <= now) {
            let event = &planned.event;
            let key = (
                event["step_id"].clone(),
                event["attempt"].as_u64().unwrap_or(0),
            );
            match event["state"].as_str() {
                Some("started") => running.push(key),
                Some(_) => running.retain(|r| *r != key),
                None => {}
            }
        }
        let mut end = now;
        run.events.retain(|p| {
            let key = (
                p.event["step_id"].clone(),
                p.event["attempt"].as_u64().unwrap_or(0),
            );
            // A step that ignores the cancel still ends its attempt as planned.
            let keep = p.at <= now
                || (cancel_ignored && p.event["state"] != "started" && running.contains(&key));
            if keep && p.at > end {
                end = p.at;
            }
            keep
        });
        if !cancel_ignored {
            for (step, attempt) in &running {
                run.events.push(Planned {
                    at: now,
                    event: json!({"type": "step", "timestamp": ts, "step_id": step, "state": "failed", "attempt": attempt, "error": {"code": 2001, "message": "cancelled", "cause": "cancelled"}}),
                });
                run.failed_steps += 1;
            }
        }
        run.events.push(Planned {
            at: end,
            event: json!({"type": "log", "timestamp": ts, "level": "info", "message": "run cancelled"}),
        });
        run.outputs.retain(|(at, _)| *at <= now);
        run.end = end;
        run.status = "failed";
        Ok(json!({"ok": true}))
    }
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
    let flag = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let fault = flag("--fault").unwrap_or_default();
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
        once: flag("--once"),
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

//! The catalogue: every conformance test with its stable id, level, spec section and title.
//!
//! Ids never change meaning; a retired test keeps its id reserved. The order here is the
//! order of reports. Each entry carries its body, so an id without a body cannot compile.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use serde::Serialize;

use crate::checks::{Ctx, cancel, framing, lifecycle, process, rpc, semantics, start, wire};
use crate::verdict::Check;

/// How strongly REP v0.1 asks for the behaviour a test checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Level {
    /// Required: a failure makes `rep-conformance run` exit 1.
    Must,
    /// Recommended: a failure is a warning.
    Should,
}

impl Level {
    /// `MUST` or `SHOULD`.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Must => "MUST",
            Level::Should => "SHOULD",
        }
    }
}

/// The group a test belongs to in reports (the middle part of its id).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Area {
    /// `FRM`: transport and framing (§1).
    Framing,
    /// `RPC`: malformed requests and the standard JSON-RPC codes (§5).
    Rpc,
    /// `ERR`: the error object (§5).
    Errors,
    /// `CAP`: `Runtime.Capabilities` (§3).
    Capabilities,
    /// `RUN`: `Runtime.StartRun` (§3, §5).
    StartRun,
    /// `LIF`: the Poll lifecycle (§2, §3).
    Lifecycle,
    /// `EVT`: events (§4).
    Events,
    /// `SUM`: the run summary (§3).
    Summary,
    /// `CAN`: `Runtime.Cancel` (§3).
    Cancel,
    /// `HLT`: `Runtime.Health` (§3).
    Health,
    /// `PRC`: the executor process (§1, §2).
    Process,
    /// `SEM`: flow semantics, with the `rep.probe` conformance extension (Flow IR, §2–§4).
    Semantics,
    /// `WIRE`: every frame against the JSON Schema of REP v0.1 messages (§1, §3–§5).
    Wire,
}

impl Area {
    /// The heading used in reports, e.g. `Transport and framing`.
    pub fn title(self) -> &'static str {
        match self {
            Area::Framing => "Transport and framing",
            Area::Rpc => "Malformed requests",
            Area::Errors => "Error objects",
            Area::Capabilities => "Runtime.Capabilities",
            Area::StartRun => "Runtime.StartRun",
            Area::Lifecycle => "Poll lifecycle",
            Area::Events => "Events",
            Area::Summary => "Run summary",
            Area::Cancel => "Runtime.Cancel",
            Area::Health => "Runtime.Health",
            Area::Process => "Executor process",
            Area::Semantics => "Flow semantics (rep.probe)",
            Area::Wire => "Wire format",
        }
    }

    /// The lowercase name used in JUnit suite names and the JSON report, e.g. `framing`.
    pub fn name(self) -> &'static str {
        match self {
            Area::Framing => "framing",
            Area::Rpc => "rpc",
            Area::Errors => "errors",
            Area::Capabilities => "capabilities",
            Area::StartRun => "startrun",
            Area::Lifecycle => "lifecycle",
            Area::Events => "events",
            Area::Summary => "summary",
            Area::Cancel => "cancel",
            Area::Health => "health",
            Area::Process => "process",
            Area::Semantics => "semantics",
            Area::Wire => "wire",
        }
    }
}

/// The body of a test: runs it against the executor in `ctx` and concludes.
pub type Body = for<'a> fn(&'a Ctx<'a>) -> BoxCheck<'a>;

/// The future a [`Body`] returns.
pub type BoxCheck<'a> = Pin<Box<dyn Future<Output = Check> + 'a>>;

/// One entry of the catalogue: what the test checks, how strongly REP v0.1 asks for it, and
/// its body (so every id has a body by construction).
#[derive(Clone, Copy)]
pub struct TestInfo {
    /// The stable id, e.g. `REP-CAP-001`.
    pub id: &'static str,
    /// MUST or SHOULD, following the spec's wording (see the traceability table of
    /// docs/conformance.md).
    pub level: Level,
    /// The section(s) of REP v0.1 checked, e.g. `§3`.
    pub section: &'static str,
    /// The report group.
    pub area: Area,
    /// What the test checks, one line.
    pub title: &'static str,
    /// The test's default time budget (replaced by `--timeout`).
    pub timeout: Duration,
    /// The test itself.
    pub body: Body,
}

impl std::fmt::Debug for TestInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestInfo")
            .field("id", &self.id)
            .field("level", &self.level)
            .field("section", &self.section)
            .field("title", &self.title)
            .finish_non_exhaustive()
    }
}

/// A catalogue entry: `test!(id, level, section, area, title, budget_secs, body_fn)`.
macro_rules! test {
    ($id:literal, $level:ident, $section:literal, $area:ident, $title:literal, $secs:literal, $body:path $(,)?) => {
        TestInfo {
            id: $id,
            level: Level::$level,
            section: $section,
            area: Area::$area,
            title: $title,
            timeout: Duration::from_secs($secs),
            body: |ctx| Box::pin($body(ctx)),
        }
    };
}

/// Every test, in report order.
pub const CATALOGUE: &[TestInfo] = &[
    test!(
        "REP-FRM-001",
        Must,
        "§1",
        Framing,
        "responses are one JSON object per line, terminated by \\n",
        10,
        framing::one_object_per_line,
    ),
    test!(
        "REP-FRM-002",
        Must,
        "§1",
        Framing,
        "stdout carries only JSON-RPC responses, one per request (no logs, no notifications)",
        30,
        framing::only_responses_on_stdout,
    ),
    test!(
        "REP-FRM-003",
        Must,
        "§1",
        Framing,
        "every response has \"jsonrpc\": \"2.0\"",
        10,
        framing::jsonrpc_version,
    ),
    test!(
        "REP-FRM-004",
        Must,
        "§1",
        Framing,
        "the id of every request is echoed (ids 1, 2, 3, …)",
        10,
        framing::ids_echoed,
    ),
    test!(
        "REP-RPC-001",
        Must,
        "§5",
        Rpc,
        "invalid JSON is answered -32700 with id null",
        10,
        rpc::parse_error,
    ),
    test!(
        "REP-RPC-002",
        Must,
        "§5",
        Rpc,
        "an invalid request is answered -32600 with its id or null",
        10,
        rpc::invalid_request,
    ),
    test!(
        "REP-RPC-003",
        Must,
        "§5",
        Rpc,
        "an unknown method is answered -32601 with the request's id",
        10,
        rpc::method_not_found,
    ),
    test!(
        "REP-RPC-004",
        Should,
        "§3, §5",
        Rpc,
        "a mistyped or missing run_id is answered -32602",
        10,
        rpc::invalid_params,
    ),
    test!(
        "REP-ERR-001",
        Must,
        "§5",
        Errors,
        "error objects are {code: integer, message: string, data?: {step_id?, attempt?, retriable?}}",
        10,
        rpc::error_objects,
    ),
    test!(
        "REP-CAP-001",
        Must,
        "§3",
        Capabilities,
        "Capabilities has a semver version, string step_kinds and an integer limits.concurrency",
        10,
        start::capabilities_shape,
    ),
    test!(
        "REP-RUN-001",
        Must,
        "§3, §5",
        StartRun,
        "IR version 2.0.0 is rejected with 1001",
        10,
        start::unsupported_version,
    ),
    test!(
        "REP-RUN-002",
        Must,
        "§3",
        StartRun,
        "the IR version is checked first (2.0.0 with an unknown kind → 1001)",
        10,
        start::version_checked_first,
    ),
    test!(
        "REP-RUN-003",
        Should,
        "§5",
        StartRun,
        "an unknown step kind is rejected with 1002",
        10,
        start::unknown_kind,
    ),
    test!(
        "REP-RUN-004",
        Should,
        "§5",
        StartRun,
        "a schema-invalid IR is rejected with 1003",
        10,
        start::schema_invalid_ir,
    ),
    test!(
        "REP-RUN-005",
        Must,
        "§3",
        StartRun,
        "StartRun answers {run_id: non-empty string}",
        10,
        start::start_result,
    ),
    test!(
        "REP-RUN-006",
        Should,
        "§3, §6",
        StartRun,
        "the run id is options.run_id",
        10,
        start::run_id_from_options,
    ),
    test!(
        "REP-RUN-007",
        Should,
        "§3",
        StartRun,
        "inputs violating the IR's inputs_schema are rejected with a 1000–1999 error",
        10,
        start::bad_inputs,
    ),
    test!(
        "REP-LIF-001",
        Must,
        "§3",
        Lifecycle,
        "Poll answers {status: pending|running|completed|failed, events?: array, summary?: object}",
        30,
        lifecycle::poll_shape,
    ),
    test!(
        "REP-LIF-002",
        Must,
        "§2",
        Lifecycle,
        "a flow that should complete completes (with the expected outputs)",
        60,
        lifecycle::completes,
    ),
    test!(
        "REP-LIF-003",
        Must,
        "§2",
        Lifecycle,
        "a flow that should fail ends failed",
        60,
        lifecycle::fails,
    ),
    test!(
        "REP-LIF-004",
        Should,
        "§3",
        Lifecycle,
        "each event is delivered once; a Poll after the final one has no events",
        30,
        lifecycle::events_once,
    ),
    test!(
        "REP-LIF-005",
        Should,
        "§3",
        Lifecycle,
        "Poll/Cancel of an unknown run id are answered and the executor lives on",
        10,
        lifecycle::unknown_run,
    ),
    test!(
        "REP-LIF-006",
        Should,
        "§2, §3",
        Lifecycle,
        "statuses never go back, and a final status stays final",
        30,
        lifecycle::status_order,
    ),
    test!(
        "REP-EVT-001",
        Must,
        "§4",
        Events,
        "every event has a string type and an RFC 3339 timestamp",
        30,
        lifecycle::event_shape,
    ),
    test!(
        "REP-EVT-002",
        Must,
        "§4",
        Events,
        "step events have a string step_id and state started|succeeded|failed",
        30,
        lifecycle::step_event_shape,
    ),
    test!(
        "REP-EVT-003",
        Must,
        "§4",
        Events,
        "log events have a string level and message (and a string step_id when present)",
        30,
        lifecycle::log_event_shape,
    ),
    test!(
        "REP-SUM-001",
        Should,
        "§3",
        Summary,
        "the final summary has integer completed_steps and failed_steps",
        30,
        lifecycle::summary_counts,
    ),
    test!(
        "REP-CAN-001",
        Must,
        "§3",
        Cancel,
        "Cancel of a finished run answers {ok: true}",
        30,
        cancel::finished,
    ),
    test!(
        "REP-CAN-002",
        Should,
        "§3",
        Cancel,
        "Cancel is idempotent and leaves a finished run's status unchanged",
        30,
        cancel::idempotent,
    ),
    test!(
        "REP-CAN-003",
        Should,
        "§2, §3",
        Cancel,
        "Cancel of a running run ends it failed within 5 s",
        30,
        cancel::running,
    ),
    test!(
        "REP-HLT-001",
        Must,
        "§3",
        Health,
        "Health answers {ok: bool, details: object} (or -32601: skipped)",
        10,
        cancel::health,
    ),
    test!(
        "REP-PRC-001",
        Must,
        "§1, §2",
        Process,
        "the executor exits within 5 s of stdin EOF",
        15,
        process::stdin_eof,
    ),
    test!(
        "REP-PRC-002",
        Should,
        "§2",
        Process,
        "the executor exits within 2 s of SIGTERM",
        10,
        process::sigterm,
    ),
    test!(
        "REP-SEM-001",
        Must,
        "IR retry, §5",
        Semantics,
        "retry.max extra attempts while the failure is retriable; a not-retriable failure once",
        30,
        semantics::retries,
    ),
    test!(
        "REP-SEM-002",
        Must,
        "IR retry, §4",
        Semantics,
        "the next attempt starts no sooner than retry.backoff_ms after a failed one",
        30,
        semantics::backoff,
    ),
    test!(
        "REP-SEM-003",
        Must,
        "IR timeout_ms",
        Semantics,
        "timeout_ms ends an attempt, which counts as a failure (retried, failure edge)",
        30,
        semantics::timeout,
    ),
    test!(
        "REP-SEM-004",
        Must,
        "IR Edge.on",
        Semantics,
        "success edges after a success, failure edges after a failure, an unhandled failure fails the run",
        30,
        semantics::edges,
    ),
    test!(
        "REP-SEM-005",
        Must,
        "IR switch",
        Semantics,
        "a switch takes the case its key_from names, else its default",
        30,
        semantics::switches,
    ),
    test!(
        "REP-SEM-006",
        Must,
        "IR finish",
        Semantics,
        "finish ends the run completed and nothing after it starts",
        30,
        semantics::finish,
    ),
    test!(
        "REP-SEM-007",
        Must,
        "IR Edge",
        Semantics,
        "every taken success edge is followed (fan-out), after its source ended",
        30,
        semantics::fan_out,
    ),
    test!(
        "REP-SEM-008",
        Should,
        "IR joins",
        Semantics,
        "a join runs once after every predecessor on a taken path; dead paths are skipped",
        30,
        semantics::joins,
    ),
    test!(
        "REP-SEM-009",
        Should,
        "IR refs, §3",
        Semantics,
        "dsl.emit writes its resolved with to summary.outputs (unresolvable references null)",
        30,
        semantics::outputs,
    ),
    test!(
        "REP-SEM-010",
        Must,
        "§3 limits",
        Semantics,
        "no more attempts run at once than limits.concurrency",
        30,
        semantics::concurrency_limit,
    ),
    test!(
        "REP-SEM-011",
        Must,
        "§2, §3, probe",
        Semantics,
        "Cancel while a rep.probe step runs ends the step and the run failed within 5 s",
        30,
        semantics::cancel_running,
    ),
    test!(
        "REP-SEM-012",
        Must,
        "§4, probe",
        Semantics,
        "every attempt is reported: started, then succeeded or failed, attempts 1, 2, 3 in order",
        30,
        semantics::event_order,
    ),
    // Last: it checks the frames of every test before it.
    test!(
        "REP-WIRE-001",
        Must,
        "§1, §3, §4, §5",
        Wire,
        "every frame the executor wrote matches the JSON Schema of REP v0.1 messages",
        30,
        wire::frames_match_the_schema,
    ),
];

/// The catalogue entry with `id`, if any.
pub fn find(id: &str) -> Option<&'static TestInfo> {
    CATALOGUE.iter().find(|t| t.id == id)
}

#[cfg(test)]
mod tests {
    use super::*;

    use Area::*;
    use Level::Must;

    #[test]
    fn ids_are_unique_well_formed_and_match_their_area() {
        let mut seen = std::collections::HashSet::new();
        for t in CATALOGUE {
            assert!(seen.insert(t.id), "duplicate {}", t.id);
            let parts: Vec<&str> = t.id.split('-').collect();
            assert_eq!(parts.len(), 3, "{}", t.id);
            assert_eq!(parts[0], "REP");
            assert_eq!(parts[2].len(), 3, "{}", t.id);
            let area = match parts[1] {
                "FRM" => Framing,
                "RPC" => Rpc,
                "ERR" => Errors,
                "CAP" => Capabilities,
                "RUN" => StartRun,
                "LIF" => Lifecycle,
                "EVT" => Events,
                "SUM" => Summary,
                "CAN" => Cancel,
                "HLT" => Health,
                "PRC" => Process,
                "SEM" => Semantics,
                "WIRE" => Wire,
                other => panic!("unknown area {other}"),
            };
            assert_eq!(area, t.area, "{}", t.id);
            assert!(
                t.section.starts_with('§') || t.section.starts_with("IR "),
                "{}: a section of REP v0.1 (§N) or of Flow IR (IR …)",
                t.id
            );
        }
        assert_eq!(find("REP-CAP-001").map(|t| t.level), Some(Must));
        assert!(find("REP-XXX-000").is_none());
    }
}

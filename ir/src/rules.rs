//! The semantic rules beyond the schema (Flow IR v1.0.0, "Rules beyond the schema" 1–6), plus
//! the dialect checks (`switch` cases name existing nodes; no cycles).
//!
//! The rules work on the raw [`Value`] so that a document the schema rejects still reports all
//! of its problems. Where the schema states the same rule (non-empty strings, `on`, integer
//! ranges), a problem is dropped when the schema already reported at that pointer.

use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::graph::cycle_in;
use crate::pointer::join;
use crate::problem::{Problem, ProblemKind};

/// Largest integer allowed in `timeout_ms`, `retry.max`, `retry.backoff_ms` (rule 5): 2^31-1.
const MAX_INT: u64 = 2_147_483_647;

/// Every semantic problem in `doc`. `schema_pointers` are the pointers the schema already
/// reported at; rules the schema also states are not repeated there.
pub(crate) fn semantic_problems(doc: &Value, schema_pointers: &HashSet<String>) -> Vec<Problem> {
    let mut checker = Checker {
        doc,
        covered: schema_pointers,
        problems: Vec::new(),
    };
    checker.flow();
    checker.constants();
    checker.graph();
    checker.metadata();
    checker.problems
}

/// Collects problems while walking one document.
struct Checker<'a> {
    doc: &'a Value,
    covered: &'a HashSet<String>,
    problems: Vec<Problem>,
}

impl Checker<'_> {
    /// Records a semantic problem.
    fn report(&mut self, pointer: &str, message: String) {
        self.problems
            .push(Problem::new(ProblemKind::Semantic, pointer, message));
    }

    /// Records a problem for a rule the schema states too, unless the schema already
    /// reported at `pointer`.
    fn report_unless_covered(&mut self, pointer: &str, message: String) {
        if !self.covered.contains(pointer) {
            self.report(pointer, message);
        }
    }

    /// Rule 1: a string the model defines must not be empty. Non-strings are left to the schema.
    /// `pointer` is only built when there is something to report: validation walks every
    /// node, and formatting pointers for valid ones dominated its cost.
    fn non_empty(
        &mut self,
        value: Option<&Value>,
        pointer: impl FnOnce() -> String,
        covered_by_schema: bool,
    ) {
        if let Some(Value::String(s)) = value
            && s.is_empty()
        {
            let pointer = pointer();
            let field = pointer.rsplit('/').next().unwrap_or(&pointer);
            let message = format!("\"{field}\" must not be empty (rule 1)");
            if covered_by_schema {
                self.report_unless_covered(&pointer, message);
            } else {
                self.report(&pointer, message);
            }
        }
    }

    /// Rule 5: an integer within 0..=2^31-1, written as an integer.
    fn int_in_range(&mut self, value: Option<&Value>, pointer: impl FnOnce() -> String) {
        let Some(Value::Number(n)) = value else {
            return; // missing or not a number: the schema reports it
        };
        if n.as_u64().is_some_and(|u| u <= MAX_INT) {
            return; // the common case, with no pointer to build
        }
        let pointer = pointer();
        let pointer = pointer.as_str();
        let field = pointer.rsplit('/').next().unwrap_or(pointer);
        if let Some(u) = n.as_u64() {
            if u > MAX_INT {
                self.report_unless_covered(
                    pointer,
                    format!("\"{field}\" must be at most {MAX_INT}, found {u} (rule 5)"),
                );
            }
        } else if let Some(i) = n.as_i64() {
            self.report_unless_covered(
                pointer,
                format!("\"{field}\" must be at least 0, found {i} (rule 5)"),
            );
        } else if let Some(f) = n.as_f64() {
            if f.fract() != 0.0 || !(0.0..=MAX_INT as f64).contains(&f) {
                self.report_unless_covered(
                    pointer,
                    format!("\"{field}\" must be an integer in 0..={MAX_INT}, found {n} (rule 5)"),
                );
            } else {
                // The schema accepts 1.0 as an integer; the typed model does not.
                self.report(
                    pointer,
                    format!("\"{field}\" must be written as an integer, found {n} (rule 5)"),
                );
            }
        }
    }

    /// Rule 1 for the string at the fixed `pointer`.
    fn non_empty_at(&mut self, pointer: &'static str, covered_by_schema: bool) {
        let doc = self.doc;
        self.non_empty(
            doc.pointer(pointer),
            || pointer.to_owned(),
            covered_by_schema,
        );
    }

    fn flow(&mut self) {
        self.non_empty_at("/flow/name", true);
        let doc = self.doc;
        self.int_in_range(doc.pointer("/flow/timeout_ms"), || {
            "/flow/timeout_ms".to_owned()
        });
    }

    fn constants(&mut self) {
        self.non_empty_at("/constants/policyRef", true);
    }

    fn metadata(&mut self) {
        self.non_empty_at("/metadata/source_file", true);
        self.non_empty_at("/metadata/generated_at", false);
        // Rule 6.
        if let Some(Value::String(s)) = self.doc.pointer("/metadata/generated_at")
            && !s.is_empty()
            && let Err(e) = OffsetDateTime::parse(s, &Rfc3339)
        {
            self.report(
                "/metadata/generated_at",
                format!(
                    "\"generated_at\" must be an RFC 3339 date-time such as 2026-11-20T22:58:45Z, found {s:?}: {e} (rule 6)"
                ),
            );
        }
    }

    fn graph(&mut self) {
        let nodes = self
            .doc
            .pointer("/graph/nodes")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default();
        let edges = self
            .doc
            .pointer("/graph/edges")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default();

        // Rule 2 while collecting the ids: id → index of its first node.
        let mut first_index: HashMap<&str, usize> = HashMap::new();
        let mut ids_in_order: Vec<&str> = Vec::new();
        for (i, node) in nodes.iter().enumerate() {
            let base = || format!("/graph/nodes/{i}");
            self.non_empty(node.get("id"), || format!("{}/id", base()), true);
            self.non_empty(node.get("type"), || format!("{}/type", base()), true);
            self.int_in_range(node.get("timeout_ms"), || format!("{}/timeout_ms", base()));
            let retry = node.get("retry");
            let retry_max = retry.and_then(|r| r.get("max"));
            self.int_in_range(retry_max, || format!("{}/retry/max", base()));
            let backoff = retry.and_then(|r| r.get("backoff_ms"));
            self.int_in_range(backoff, || format!("{}/retry/backoff_ms", base()));
            let Some(id) = node.get("id").and_then(Value::as_str) else {
                continue;
            };
            if id.is_empty() {
                continue;
            }
            match first_index.get(id) {
                Some(first) => self.report(
                    &format!("{}/id", base()),
                    format!(
                        "duplicate node id {id:?}: already used by /graph/nodes/{first} (rule 2)"
                    ),
                ),
                None => {
                    first_index.insert(id, i);
                    ids_in_order.push(id);
                }
            }
        }

        for (i, edge) in edges.iter().enumerate() {
            self.edge(i, edge, &first_index);
        }
        for (i, node) in nodes.iter().enumerate() {
            if node.get("type").and_then(Value::as_str) == Some("switch")
                && let Some(with) = node.get("with").and_then(Value::as_object)
            {
                self.switch_cases(i, with, &first_index);
            }
        }

        let edge_pairs: Vec<(&str, &str)> = edges
            .iter()
            .filter_map(|e| {
                Some((
                    e.get("from").and_then(Value::as_str)?,
                    e.get("to").and_then(Value::as_str)?,
                ))
            })
            .collect();
        if let Some(cycle) = cycle_in(&ids_in_order, &edge_pairs) {
            let mut path = cycle.join(" → ");
            if let Some(first) = cycle.first() {
                path.push_str(" → ");
                path.push_str(first);
            }
            self.report("/graph/edges", format!("the graph has a cycle: {path}"));
        }
    }

    /// Rules 1, 3 and 4 for one edge, and its optional `case`.
    fn edge(&mut self, i: usize, edge: &Value, ids: &HashMap<&str, usize>) {
        let base = || format!("/graph/edges/{i}");
        for end in ["from", "to"] {
            let pointer = || format!("{}/{end}", base());
            self.non_empty(edge.get(end), pointer, true);
            if let Some(Value::String(id)) = edge.get(end)
                && !id.is_empty()
                && !ids.contains_key(id.as_str())
            {
                self.report(
                    &pointer(),
                    format!("edge \"{end}\" names node {id:?}, which does not exist (rule 3)"),
                );
            }
        }
        if let Some(Value::String(on)) = edge.get("on")
            && on != "success"
            && on != "failure"
        {
            self.report_unless_covered(
                &format!("{}/on", base()),
                format!("\"on\" must be \"success\" or \"failure\", found {on:?} (rule 4)"),
            );
        }
        match edge.get("case") {
            case @ (None | Some(Value::String(_))) => {
                self.non_empty(case, || format!("{}/case", base()), false);
            }
            Some(other) => self.report(
                &format!("{}/case", base()),
                format!(
                    "\"case\" must be a string naming a switch case, found {}",
                    crate::version::type_name(other)
                ),
            ),
        }
    }

    /// A `switch` node's `with.cases` values name existing nodes, and `with.default` (if a
    /// string) is one of the case keys (Flow IR v1.0.0, "The dialect the reference compiler emits").
    fn switch_cases(&mut self, i: usize, with: &Map<String, Value>, ids: &HashMap<&str, usize>) {
        let with_pointer = format!("/graph/nodes/{i}/with");
        let cases_pointer = format!("{with_pointer}/cases");
        let cases = match with.get("cases") {
            None => return,
            Some(Value::Object(cases)) => cases,
            Some(other) => {
                self.report(
                    &cases_pointer,
                    format!(
                        "switch \"cases\" must be an object mapping case keys to node ids, found {}",
                        crate::version::type_name(other)
                    ),
                );
                return;
            }
        };
        for (key, target) in cases {
            let pointer = join(&cases_pointer, key);
            match target {
                Value::String(id) if ids.contains_key(id.as_str()) => {}
                Value::String(id) => self.report(
                    &pointer,
                    format!("switch case {key:?} names node {id:?}, which does not exist"),
                ),
                other => self.report(
                    &pointer,
                    format!(
                        "switch case {key:?} must name a node id (a string), found {}",
                        crate::version::type_name(other)
                    ),
                ),
            }
        }
        if let Some(Value::String(default)) = with.get("default")
            && !cases.contains_key(default)
        {
            self.report(
                &format!("{with_pointer}/default"),
                format!("switch default {default:?} is not one of the case keys"),
            );
        }
    }
}

//! Whole-document validation: version, embedded JSON Schema, semantic rules, then the typed
//! model (Flow IR v1.0.0, "Rules beyond the schema"; REP v0.1 §3).

use std::collections::HashSet;

use serde_json::Value;

use crate::model::FlowIr;
use crate::pointer::document_position;
use crate::problem::{Problem, ProblemKind, ValidationError};
use crate::rules::semantic_problems;
use crate::schema::schema_problems;
use crate::version::check_version;

/// Validates a parsed JSON document: the version check ([`check_version`], REP v0.1 §3 → 1001),
/// then the embedded JSON Schema (Draft 2020-12) and the semantic rules of Flow IR v1.0.0
/// ("Rules beyond the schema" 1–7, switch cases, cycles) → 1003.
///
/// Returns the typed document, or every problem found. When the version is not supported, only
/// that problem is returned: the rules of 1.0.0 do not apply to another version's document.
pub fn validate(doc: &Value) -> Result<FlowIr, ValidationError> {
    check_version(doc).map_err(|problem| ValidationError {
        problems: vec![problem],
    })?;
    validate_document(doc)
}

/// Validates against the schema and the semantic rules only (no separate version check; the
/// schema still requires `"version": "1.0.0"`), for callers that ran [`check_version`] already.
///
/// Problems come in document order (schema before semantic at the same place). The document is
/// deserialized into [`FlowIr`] only when there are no problems.
pub fn validate_document(doc: &Value) -> Result<FlowIr, ValidationError> {
    let mut problems = schema_problems(doc);
    let covered: HashSet<String> = problems.iter().map(|p| p.pointer.clone()).collect();
    problems.extend(semantic_problems(doc, &covered));
    if !problems.is_empty() {
        // Stable sort: at the same place, schema problems stay ahead of semantic ones.
        problems.sort_by_cached_key(|p| document_position(doc, &p.pointer));
        return Err(ValidationError { problems });
    }
    FlowIr::deserialize_checked(doc)
}

impl FlowIr {
    /// Deserializes an already-checked document; a failure here means the schema and the rules
    /// missed something the model needs, reported as one schema problem at the root.
    fn deserialize_checked(doc: &Value) -> Result<FlowIr, ValidationError> {
        serde::Deserialize::deserialize(doc).map_err(|e: serde_json::Error| ValidationError {
            problems: vec![Problem::new(
                ProblemKind::Schema,
                "",
                format!("the document does not fit the Flow IR model: {e}"),
            )],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn valid() -> Value {
        use crate::build::{document, edge, node};
        let switch =
            json!({"key_from": "$.vars.a.action", "cases": {"X": "b", "_D": "c"}, "default": "_D"});
        document(
            "f",
            vec![
                node("a", "policy.apply", json!({})),
                node("s", "switch", switch),
                node("b", "opcua.write", json!({})),
                node("c", "finish", json!({})),
            ],
            vec![
                edge("a", "s"),
                json!({"from": "s", "to": "b", "on": "success", "case": "X"}),
                json!({"from": "s", "to": "c", "on": "success", "case": "_D"}),
                edge("b", "c"),
            ],
        )
    }

    /// The invalid document `tests/data/invalid/NAME.ir.json` (a [`valid`] document with one
    /// edit; `tm ir validate` is tested on the same files) and its problems.
    fn case(name: &str) -> Vec<Problem> {
        validate(&case_document(name)).unwrap_err().problems
    }

    fn case_document(name: &str) -> Value {
        let path = format!(
            "{}/tests/data/invalid/{name}.ir.json",
            env!("CARGO_MANIFEST_DIR")
        );
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
    }

    fn has(problems: &[Problem], pointer: &str, kind: ProblemKind) -> bool {
        problems
            .iter()
            .any(|p| p.pointer == pointer && p.kind == kind)
    }

    /// The only problem, asserted to be at `pointer` with `kind`.
    fn only(problems: Vec<Problem>, pointer: &str, kind: ProblemKind) -> Problem {
        assert_eq!(problems.len(), 1, "{problems:#?}");
        let p = problems.into_iter().next().unwrap();
        assert_eq!((p.pointer.as_str(), p.kind), (pointer, kind), "{p}");
        p
    }

    #[test]
    fn valid_document_validates() {
        let ir = validate(&valid()).unwrap();
        assert_eq!(ir.graph.nodes.len(), 4);
        assert!(validate_document(&valid()).is_ok());
    }

    #[test]
    fn rule1_empty_strings() {
        // Stated by the schema too (minLength): reported once, by the schema.
        let p = only(
            case("rule1-empty-node-type"),
            "/graph/nodes/0/type",
            ProblemKind::Schema,
        );
        assert!(p.message.contains("shorter than 1"), "{p}");
        // Not in the schema: reported by rule 1.
        let p = only(
            case("rule1-empty-edge-case"),
            "/graph/edges/1/case",
            ProblemKind::Semantic,
        );
        assert!(p.message.contains("must not be empty"), "{p}");
        let p = only(
            case("rule1-empty-generated-at"),
            "/metadata/generated_at",
            ProblemKind::Semantic,
        );
        assert!(p.message.contains("must not be empty"), "{p}");
    }

    #[test]
    fn rule1_on_its_own_covers_every_model_string() {
        let mut doc = valid();
        for pointer in [
            "/flow/name",
            "/constants/policyRef",
            "/graph/nodes/0/id",
            "/graph/nodes/0/type",
            "/graph/edges/3/from",
            "/graph/edges/3/to",
            "/metadata/source_file",
        ] {
            *doc.pointer_mut(pointer).unwrap() = json!("");
        }
        let problems = semantic_problems(&doc, &HashSet::new());
        for pointer in [
            "/flow/name",
            "/constants/policyRef",
            "/graph/nodes/0/id",
            "/graph/nodes/0/type",
            "/graph/edges/3/from",
            "/graph/edges/3/to",
            "/metadata/source_file",
        ] {
            assert!(
                has(&problems, pointer, ProblemKind::Semantic),
                "{pointer}: {problems:#?}"
            );
        }
    }

    #[test]
    fn rule2_duplicate_ids() {
        let problems = case("rule2-duplicate-id-of-a-used-node");
        let p = problems
            .iter()
            .find(|p| p.pointer == "/graph/nodes/2/id")
            .unwrap();
        assert_eq!(p.kind, ProblemKind::Semantic);
        assert!(p.message.contains("/graph/nodes/0"), "{p}");
        // With "b" gone, the edges and the switch case naming it are reported too.
        assert!(has(&problems, "/graph/edges/1/to", ProblemKind::Semantic));
        assert!(has(
            &problems,
            "/graph/nodes/1/with/cases/X",
            ProblemKind::Semantic
        ));
    }

    #[test]
    fn rule2_alone() {
        let problems = case("rule2-duplicate-id");
        let p = only(problems, "/graph/nodes/4/id", ProblemKind::Semantic);
        assert!(p.message.contains("duplicate node id \"c\""), "{p}");
        assert!(p.message.contains("/graph/nodes/3"), "{p}");
    }

    #[test]
    fn rule3_edges_name_existing_nodes() {
        let p = only(
            case("rule3-edge-to-unknown-node"),
            "/graph/edges/3/to",
            ProblemKind::Semantic,
        );
        assert!(p.message.contains("\"ghost\""), "{p}");
        let p = only(
            case("rule3-edge-from-unknown-node"),
            "/graph/edges/0/from",
            ProblemKind::Semantic,
        );
        assert!(p.message.contains("\"nobody\""), "{p}");
    }

    #[test]
    fn rule4_on() {
        only(
            case("rule4-edge-on-unknown"),
            "/graph/edges/0/on",
            ProblemKind::Schema,
        );
        let doc = case_document("rule4-edge-on-unknown");
        let p = only(
            semantic_problems(&doc, &HashSet::new()),
            "/graph/edges/0/on",
            ProblemKind::Semantic,
        );
        assert!(p.message.contains("\"always\""), "{p}");
    }

    #[test]
    fn rule5_integer_ranges() {
        only(
            case("rule5-node-timeout-too-large"),
            "/graph/nodes/1/timeout_ms",
            ProblemKind::Schema,
        );
        only(
            case("rule5-negative-retry-max"),
            "/graph/nodes/1/retry/max",
            ProblemKind::Schema,
        );
        // 1.0 passes the schema's "integer" but not the model: the rule says so.
        let p = only(
            case("rule5-timeout-written-as-float"),
            "/flow/timeout_ms",
            ProblemKind::Semantic,
        );
        assert!(p.message.contains("written as an integer"), "{p}");
        let mut doc = valid();
        doc["graph"]["nodes"][0]["retry"]["backoff_ms"] = json!(2_147_483_648_u64);
        doc["flow"]["timeout_ms"] = json!(-5);
        let problems = semantic_problems(&doc, &HashSet::new());
        assert!(has(
            &problems,
            "/graph/nodes/0/retry/backoff_ms",
            ProblemKind::Semantic
        ));
        assert!(has(&problems, "/flow/timeout_ms", ProblemKind::Semantic));
        assert_eq!(problems.len(), 2, "{problems:#?}");
    }

    #[test]
    fn rule6_generated_at() {
        let p = only(
            case("rule6-generated-at-not-rfc3339"),
            "/metadata/generated_at",
            ProblemKind::Semantic,
        );
        assert!(p.message.contains("RFC 3339"), "{p}");
        for ok in ["2026-11-20T22:58:45Z", "2026-11-20T22:58:45.123+02:00"] {
            let mut doc = valid();
            doc["metadata"]["generated_at"] = json!(ok);
            assert!(validate(&doc).is_ok(), "{ok}");
        }
    }

    #[test]
    fn rule7_newer_major_version() {
        let doc = case_document("rule7-newer-major-version");
        let e = validate(&doc).unwrap_err();
        assert!(e.is_unsupported_version());
        let p = only(e.problems, "/version", ProblemKind::UnsupportedVersion);
        assert!(p.message.contains("newer major"), "{p}");
        // Without the version check, the schema's const still catches it.
        let e = validate_document(&doc).unwrap_err();
        assert!(!e.is_unsupported_version());
        assert!(has(&e.problems, "/version", ProblemKind::Schema));
    }

    #[test]
    fn switch_cases_name_existing_nodes() {
        let p = only(
            case("switch-case-to-unknown-node"),
            "/graph/nodes/1/with/cases/X",
            ProblemKind::Semantic,
        );
        assert!(p.message.contains("\"nowhere\""), "{p}");
        only(
            case("switch-case-not-a-string"),
            "/graph/nodes/1/with/cases/a~1b",
            ProblemKind::Semantic,
        );
        only(
            case("switch-default-not-a-case"),
            "/graph/nodes/1/with/default",
            ProblemKind::Semantic,
        );
    }

    #[test]
    fn cycles_are_reported() {
        let p = only(case("cycle"), "/graph/edges", ProblemKind::Semantic);
        assert!(p.message.contains("a → s → b → c → a"), "{p}");
    }

    #[test]
    fn edge_case_must_be_a_string() {
        only(
            case("edge-case-not-a-string"),
            "/graph/edges/1/case",
            ProblemKind::Semantic,
        );
    }

    #[test]
    fn several_rules_at_once_in_document_order() {
        let problems = case("several-rules-at-once");
        let got: Vec<(&str, ProblemKind)> = problems
            .iter()
            .map(|p| (p.pointer.as_str(), p.kind))
            .collect();
        assert_eq!(
            got,
            [
                ("/graph/nodes/0/retry", ProblemKind::Schema),
                ("/graph/nodes/1/with/cases/_D", ProblemKind::Semantic),
                ("/graph/nodes/3/id", ProblemKind::Semantic),
                ("/graph/edges/0/to", ProblemKind::Semantic),
                ("/graph/edges/2/to", ProblemKind::Semantic),
                ("/graph/edges/3/to", ProblemKind::Semantic),
                ("/metadata/generated_at", ProblemKind::Semantic),
            ],
            "{problems:#?}"
        );
    }

    #[test]
    fn schema_invalid_documents_report_pointers() {
        let problems = case("schema-missing-graph");
        let p = only(problems, "", ProblemKind::Schema);
        assert!(p.message.contains("\"graph\""), "{p}");

        only(
            case("schema-empty-graph"),
            "/graph/nodes",
            ProblemKind::Schema,
        );
        let p = only(
            case("schema-unknown-retry-field"),
            "/graph/nodes/0/retry",
            ProblemKind::Schema,
        );
        assert!(p.message.contains("jitter"), "{p}");
        let problems = case("schema-bad-flow-name");
        let p = only(problems, "/flow/name", ProblemKind::Schema);
        assert!(p.message.contains("bad name!"), "{p}");
    }

    #[test]
    fn schema_failure_still_runs_semantic_rules() {
        let problems = case("schema-missing-constants-and-edge-to-unknown");
        assert!(has(&problems, "", ProblemKind::Schema), "{problems:#?}");
        assert!(
            has(&problems, "/graph/edges/0/to", ProblemKind::Semantic),
            "{problems:#?}"
        );
    }

    #[test]
    fn messages_read_well() {
        let problems = case("schema-five-problems");
        for p in &problems {
            println!("{p}");
        }
        assert_eq!(problems.len(), 5, "{problems:#?}");
    }

    #[test]
    fn non_object_documents() {
        let e = validate(&case_document("not-an-object-array")).unwrap_err();
        assert!(e.is_unsupported_version());
        let e = validate_document(&case_document("not-an-object-string")).unwrap_err();
        assert!(has(&e.problems, "", ProblemKind::Schema));
    }
}

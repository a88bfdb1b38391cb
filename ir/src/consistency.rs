//! Does a manifest entry agree with the IR it points at? (Flow IR v1.0.0, section "Manifest").

use std::collections::BTreeSet;

use crate::hash::inputs_schema_hash;
use crate::manifest::ManifestEntry;
use crate::model::FlowIr;

/// Warnings, one line each, where the manifest entry disagrees with its IR
/// (Flow IR v1.0.0, section "Manifest"): `inputs_schema_hash` ≠ the hash of the IR's
/// `inputs_schema`; `step_kinds` (as a set) ≠ the IR's required step kinds (naming the kinds that
/// differ); `name` ≠ `flow.name`; and, when given, `policyRef` ≠ `constants.policyRef` or
/// `source_file` ≠ `metadata.source_file`. Empty when they agree.
pub fn entry_warnings(entry: &ManifestEntry, ir: &FlowIr) -> Vec<String> {
    let mut warnings = Vec::new();
    if entry.name != ir.flow.name {
        warnings.push(format!(
            "manifest entry name {:?} differs from the IR's flow.name {:?}",
            entry.name, ir.flow.name
        ));
    }
    if let Some(expected) = &entry.inputs_schema_hash {
        let actual = inputs_schema_hash(&ir.inputs_schema);
        if *expected != actual {
            warnings.push(format!(
                "flow {:?}: manifest inputs_schema_hash {expected} differs from the IR's inputs_schema hash {actual}",
                entry.name
            ));
        }
    }
    let listed: BTreeSet<&str> = entry.step_kinds.iter().map(String::as_str).collect();
    let required = ir.required_step_kinds();
    let required: BTreeSet<&str> = required.iter().map(String::as_str).collect();
    if listed != required {
        let mut parts = Vec::new();
        let missing: Vec<&str> = required.difference(&listed).copied().collect();
        if !missing.is_empty() {
            parts.push(format!(
                "used by the IR but not listed: {}",
                missing.join(", ")
            ));
        }
        let unused: Vec<&str> = listed.difference(&required).copied().collect();
        if !unused.is_empty() {
            parts.push(format!(
                "listed but not used by the IR: {}",
                unused.join(", ")
            ));
        }
        warnings.push(format!(
            "flow {:?}: manifest step_kinds differ from the IR's node types ({})",
            entry.name,
            parts.join("; ")
        ));
    }
    if let Some(policy_ref) = &entry.policy_ref
        && *policy_ref != ir.constants.policy_ref
    {
        warnings.push(format!(
            "flow {:?}: manifest policyRef {policy_ref:?} differs from the IR's constants.policyRef {:?}",
            entry.name, ir.constants.policy_ref
        ));
    }
    if let Some(source_file) = &entry.source_file
        && *source_file != ir.metadata.source_file
    {
        warnings.push(format!(
            "flow {:?}: manifest source_file {source_file:?} differs from the IR's metadata.source_file {:?}",
            entry.name, ir.metadata.source_file
        ));
    }
    warnings
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ir() -> FlowIr {
        use crate::build::{document, edge, node};
        serde_json::from_value(document(
            "f",
            vec![
                node("a", "policy.apply", json!({})),
                node("b", "finish", json!({})),
            ],
            vec![edge("a", "b")],
        ))
        .unwrap()
    }

    fn entry() -> ManifestEntry {
        serde_json::from_value(json!({
            "name": "f",
            "source_file": "f.wdl",
            "policyRef": "f",
            "step_kinds": ["finish", "policy.apply"],
            "inputs_schema_hash": "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",
            "ir_path": "flows/f.ir.json"
        }))
        .unwrap()
    }

    #[test]
    fn agreeing_entry_has_no_warnings() {
        assert_eq!(entry_warnings(&entry(), &ir()), Vec::<String>::new());
        let mut bare = entry();
        bare.inputs_schema_hash = None;
        bare.policy_ref = None;
        bare.source_file = None;
        bare.step_kinds = vec!["policy.apply".into(), "finish".into(), "finish".into()];
        assert!(entry_warnings(&bare, &ir()).is_empty());
    }

    #[test]
    fn each_disagreement_is_named() {
        let mut e = entry();
        e.name = "g".into();
        e.inputs_schema_hash = Some("sha256:00".into());
        e.step_kinds = vec!["finish".into(), "dsl.emit".into()];
        e.policy_ref = Some("q".into());
        e.source_file = Some("g.wdl".into());
        let w = entry_warnings(&e, &ir());
        assert_eq!(w.len(), 5, "{w:#?}");
        assert!(w[0].contains("\"g\"") && w[0].contains("\"f\""), "{}", w[0]);
        assert!(
            w[1].contains("sha256:00") && w[1].contains("sha256:44136fa3"),
            "{}",
            w[1]
        );
        assert!(
            w[2].contains("used by the IR but not listed: policy.apply")
                && w[2].contains("listed but not used by the IR: dsl.emit"),
            "{}",
            w[2]
        );
        assert!(w[3].contains("policyRef"), "{}", w[3]);
        assert!(w[4].contains("source_file"), "{}", w[4]);
    }
}

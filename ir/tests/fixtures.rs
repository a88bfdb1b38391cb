//! The reference compiler's output (examples/*/out/dsl) and manifest error cases.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use flow_ir::{
    FlowIr, IrFileError, Manifest, ManifestEntry, ManifestError, ProblemKind, canonical_json,
    find_cycle, inputs_schema_hash, validate,
};
use serde_json::{Value, json};

fn example_manifest(example: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../examples")
        .join(example)
        .join("out/dsl/manifest.json")
}

/// (example folder, flow name, expected inputs_schema hash)
const EXAMPLES: [(&str, &str, &str); 2] = [
    (
        "plant-monitor",
        "plant-monitor",
        "sha256:0060349a96536cb59c97e68ff4f1aae8ec35f7545711f341b4a011ae0dd9f6e9",
    ),
    (
        "smoke-sample",
        "sample",
        "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",
    ),
];

#[test]
fn examples_load_without_warnings() {
    for (example, flow, hash) in EXAMPLES {
        let manifest = Manifest::load(&example_manifest(example)).unwrap();
        let loaded = manifest.load_flow(flow).unwrap();
        assert_eq!(loaded.warnings, Vec::<String>::new(), "{example}");
        assert_eq!(loaded.ir.flow.name, flow);
        assert_eq!(inputs_schema_hash(&loaded.ir.inputs_schema), hash);
        assert_eq!(loaded.entry.inputs_schema_hash.as_deref(), Some(hash));
        let listed: BTreeSet<String> = loaded.entry.step_kinds.iter().cloned().collect();
        assert_eq!(loaded.ir.required_step_kinds(), listed, "{example}");
        assert_eq!(find_cycle(&loaded.ir), None);
        // The document is kept exactly as read.
        let text = fs::read_to_string(&loaded.ir_path).unwrap();
        assert_eq!(
            loaded.document,
            serde_json::from_str::<Value>(&text).unwrap()
        );
        // And the typed model serializes back to the same document.
        assert_eq!(serde_json::to_value(&loaded.ir).unwrap(), loaded.document);
    }
}

/// An entry written for the compiler's IR is the compiler's entry, field for field and in
/// the compiler's field order.
#[test]
fn entries_written_for_the_examples_equal_the_compilers() {
    for (example, _, _) in EXAMPLES {
        let path = example_manifest(example);
        let manifest = Manifest::load(&path).unwrap();
        for entry in &manifest.entries {
            let loaded = manifest.load_flow(&entry.name).unwrap();
            let written = ManifestEntry::for_ir(&loaded.ir, entry.ir_path.clone());
            assert_eq!(&written, entry, "{example}");
        }
        let original: Value = serde_json::from_str(&fs::read_to_string(&path).unwrap()).unwrap();
        let rewritten = serde_json::to_value(&manifest.entries).unwrap();
        assert_eq!(
            serde_json::to_string(&rewritten).unwrap(),
            serde_json::to_string(&original).unwrap(),
            "{example}: field order"
        );
    }
}

#[test]
fn plant_monitor_shape() {
    let manifest = Manifest::load(&example_manifest("plant-monitor")).unwrap();
    let ir: FlowIr = manifest.load_flow("plant-monitor").unwrap().ir;
    let entries: Vec<&str> = ir.entry_nodes().iter().map(|n| n.id.as_str()).collect();
    assert_eq!(entries, ["read"]);
    assert_eq!(ir.node("when_0").unwrap().kind, "switch");
    let cases: Vec<_> = ir
        .edges_from("when_0")
        .filter_map(|e| e.case.clone())
        .collect();
    assert_eq!(cases, ["WRITE_BACK", "SHUTDOWN", "_DEFAULT"]);
    assert_eq!(
        canonical_json(&ir.inputs_schema),
        r#"{"endpoint":{"type":"string"},"nodes":{"type":"list<string>"}}"#
    );
}

#[test]
fn newer_major_version_of_a_fixture_is_unsupported() {
    let manifest = Manifest::load(&example_manifest("smoke-sample")).unwrap();
    let mut doc = manifest.load_flow("sample").unwrap().document;
    doc["version"] = json!("2.0.0");
    let e = validate(&doc).unwrap_err();
    assert!(e.is_unsupported_version());
    assert_eq!(e.problems[0].kind, ProblemKind::UnsupportedVersion);
}

// ---- manifest errors ------------------------------------------------------------------------

/// A temp folder with `manifest.json` (given text) and `flows/sample.ir.json` copied from the
/// smoke-sample example, edited by `edit_ir`.
fn project(manifest: &str, edit_ir: impl FnOnce(&mut Value)) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("manifest.json"), manifest).unwrap();
    let source = example_manifest("smoke-sample")
        .parent()
        .unwrap()
        .join("flows/sample.ir.json");
    let mut ir: Value = serde_json::from_str(&fs::read_to_string(source).unwrap()).unwrap();
    edit_ir(&mut ir);
    fs::create_dir(dir.path().join("flows")).unwrap();
    fs::write(
        dir.path().join("flows/sample.ir.json"),
        serde_json::to_string_pretty(&ir).unwrap(),
    )
    .unwrap();
    dir
}

const SAMPLE_ENTRY: &str = r#"[{"name": "sample", "source_file": "dsl/sample.wdl", "policyRef": "sample",
  "step_kinds": ["dsl.emit", "finish", "policy.apply"],
  "inputs_schema_hash": "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",
  "ir_path": "flows/sample.ir.json"}]"#;

#[test]
fn missing_manifest() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out/dsl/manifest.json");
    let e = Manifest::load(&path).unwrap_err();
    assert!(matches!(e, ManifestError::NotFound { .. }), "{e:?}");
    assert_eq!(
        e.to_string(),
        format!("manifest not found: {}", path.display())
    );
}

#[test]
fn manifest_not_an_array() {
    let dir = project(r#"{"name": "sample"}"#, |_| {});
    let e = Manifest::load(&dir.path().join("manifest.json")).unwrap_err();
    let ManifestError::Shape { message, .. } = &e else {
        panic!("{e:?}");
    };
    assert!(message.contains("expected a JSON array"), "{e}");
    assert!(e.to_string().contains("manifest.json"), "{e}");
}

#[test]
fn manifest_entry_missing_ir_path() {
    let dir = project(r#"[{"name": "sample"}]"#, |_| {});
    let e = Manifest::load(&dir.path().join("manifest.json")).unwrap_err();
    assert!(e.to_string().contains("/0/ir_path: missing"), "{e}");
}

#[test]
fn manifest_with_invalid_json() {
    let dir = project("[\n  {\"name\": }\n]", |_| {});
    let e = Manifest::load(&dir.path().join("manifest.json")).unwrap_err();
    let ManifestError::Parse { line, column, .. } = e else {
        panic!("{e:?}");
    };
    assert_eq!((line, column), (2, 12));
}

#[test]
fn unknown_flow_lists_known_flows() {
    let two = r#"[{"name": "plant-monitor", "ir_path": "a.json"}, {"name": "sample", "ir_path": "b.json"}]"#;
    let dir = project(two, |_| {});
    let path = dir.path().join("manifest.json");
    let manifest = Manifest::load(&path).unwrap();
    let e = manifest.load_flow("x").unwrap_err();
    let ManifestError::UnknownFlow { known, .. } = &e else {
        panic!("{e:?}");
    };
    assert_eq!(known, &["plant-monitor", "sample"]);
    assert_eq!(
        e.to_string(),
        format!(
            "flow \"x\" is not in {}; known flows: plant-monitor, sample",
            path.display()
        )
    );
}

#[test]
fn missing_ir_file() {
    let dir = project(
        r#"[{"name": "gone", "ir_path": "flows/gone.ir.json"}]"#,
        |_| {},
    );
    let manifest = Manifest::load(&dir.path().join("manifest.json")).unwrap();
    let e = manifest.load_flow("gone").unwrap_err();
    let ManifestError::Ir {
        flow,
        source: IrFileError::NotFound { path },
    } = &e
    else {
        panic!("{e:?}");
    };
    assert_eq!(flow, "gone");
    assert_eq!(path, &dir.path().join("flows/gone.ir.json"));
    assert!(e.to_string().contains("\"gone\""), "{e}");
    let cause = std::error::Error::source(&e).map(ToString::to_string);
    assert!(cause.is_some_and(|c| c.contains("gone.ir.json")), "{e:?}");
}

#[test]
fn ir_with_invalid_json_reports_line_and_column() {
    let dir = project(SAMPLE_ENTRY, |_| {});
    fs::write(
        dir.path().join("flows/sample.ir.json"),
        "{\n  \"version\": \"1.0.0\",\n  \"flow\": [,\n}",
    )
    .unwrap();
    let manifest = Manifest::load(&dir.path().join("manifest.json")).unwrap();
    let e = manifest.load_flow("sample").unwrap_err();
    let ManifestError::Ir { source, .. } = &e else {
        panic!("{e:?}");
    };
    let IrFileError::Parse {
        line,
        column,
        message,
        path,
    } = source
    else {
        panic!("{e:?}");
    };
    assert_eq!((*line, *column), (3, 12));
    assert!(!message.contains("at line"), "{message}");
    assert!(path.ends_with("flows/sample.ir.json"));
    assert!(source.to_string().contains("line 3, column 12"), "{e}");
}

#[test]
fn invalid_ir_carries_every_problem() {
    let dir = project(SAMPLE_ENTRY, |ir| {
        ir["graph"]["edges"][0]["to"] = json!("ghost");
        ir["metadata"]["generated_at"] = json!("soon");
    });
    let manifest = Manifest::load(&dir.path().join("manifest.json")).unwrap();
    let e = manifest.load_flow("sample").unwrap_err();
    let ManifestError::Ir {
        source: IrFileError::Invalid { source, .. },
        ..
    } = &e
    else {
        panic!("{e:?}");
    };
    let pointers: Vec<&str> = source.problems.iter().map(|p| p.pointer.as_str()).collect();
    assert_eq!(pointers, ["/graph/edges/0/to", "/metadata/generated_at"]);
    assert!(!source.is_unsupported_version());
}

#[test]
fn disagreeing_entry_gives_warnings() {
    let entry = SAMPLE_ENTRY
        .replace("44136fa3", "00000000")
        .replace("\"finish\", ", "\"opcua.read\", ");
    let dir = project(&entry, |_| {});
    let manifest = Manifest::load(&dir.path().join("manifest.json")).unwrap();
    let loaded = manifest.load_flow("sample").unwrap();
    assert_eq!(loaded.warnings.len(), 2, "{:#?}", loaded.warnings);
    assert!(
        loaded.warnings[0].contains("inputs_schema_hash"),
        "{}",
        loaded.warnings[0]
    );
    assert!(
        loaded.warnings[1].contains("not listed: finish")
            && loaded.warnings[1].contains("not used by the IR: opcua.read"),
        "{}",
        loaded.warnings[1]
    );
}

#[test]
fn flow_name_mismatch_warns() {
    let dir = project(SAMPLE_ENTRY, |ir| ir["flow"]["name"] = json!("renamed"));
    let manifest = Manifest::load(&dir.path().join("manifest.json")).unwrap();
    let loaded = manifest.load_flow("sample").unwrap();
    assert_eq!(loaded.warnings.len(), 1, "{:#?}", loaded.warnings);
    assert!(loaded.warnings[0].contains("\"renamed\""));
}

//! Every invalid Flow IR document of `tests/data/invalid/` gives exactly the problems listed
//! for it in `tests/data/invalid.expected.json` (JSON pointer and kind, in document order).
//! The validator's unit tests read the same documents, and `tm ir validate` is tested on them
//! (tests/tests/ir_cli.rs of the rep-e2e package).

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use serde_json::Value;

#[test]
fn every_invalid_document_gives_its_listed_problems() {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let expected: BTreeMap<String, Vec<(String, String)>> =
        serde_json::from_str(&fs::read_to_string(data.join("invalid.expected.json")).unwrap())
            .unwrap();
    let mut seen = Vec::new();
    let mut mismatches = Vec::new();
    for entry in fs::read_dir(data.join("invalid")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        let document: Value = serde_json::from_str(&fs::read_to_string(&path).unwrap()).unwrap();
        let problems = flow_ir::validate(&document).unwrap_err().problems;
        let got: Vec<(String, String)> = problems
            .iter()
            .map(|p| (p.pointer.clone(), p.kind.as_str().to_owned()))
            .collect();
        if expected.get(&name) != Some(&got) {
            mismatches.push(format!(
                "{name}: got {got:?}, listed {:?}",
                expected.get(&name)
            ));
        }
        seen.push(name);
    }
    assert!(mismatches.is_empty(), "{mismatches:#?}");
    seen.sort();
    let listed: Vec<&String> = expected.keys().collect();
    assert_eq!(
        seen.iter().collect::<Vec<_>>(),
        listed,
        "files and list differ"
    );
}

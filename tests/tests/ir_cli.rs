//! `tm ir validate` and `tm ir manifest` (issue 14) as a user runs them.

#![allow(clippy::unwrap_used)] // tests unwrap: a failure is the report

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use common::*;
use serde_json::Value;

fn invalid_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../ir/tests/data")
}

/// Every invalid document the ir crate tests is refused by `tm ir validate` with exit code 2,
/// every problem listed with its JSON pointer and kind (`--json`) and printed in the text
/// output.
#[test]
fn validate_reports_every_problem_of_every_invalid_document() {
    let expected: BTreeMap<String, Vec<(String, String)>> = serde_json::from_str(
        &fs::read_to_string(invalid_dir().join("invalid.expected.json")).unwrap(),
    )
    .unwrap();
    let files: Vec<String> = expected
        .keys()
        .map(|name| {
            invalid_dir()
                .join("invalid")
                .join(name)
                .display()
                .to_string()
        })
        .collect();
    let mut args = vec!["ir", "validate", "--json"];
    args.extend(files.iter().map(String::as_str));
    let run = tm(&args, &[]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    let report = run.json();
    assert_eq!(report["valid"], false);
    let reported = report["files"].as_array().unwrap();
    assert_eq!(reported.len(), expected.len());
    for (file, (name, problems)) in reported.iter().zip(&expected) {
        assert!(file["path"].as_str().unwrap().ends_with(name.as_str()));
        assert_eq!(file["valid"], false, "{name}");
        let got: Vec<(String, String)> = file["problems"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                assert!(!p["message"].as_str().unwrap().is_empty());
                (
                    p["pointer"].as_str().unwrap().to_owned(),
                    p["kind"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        assert_eq!(&got, problems, "{name}");
    }

    // The text output: one line per problem, `FILE: POINTER: message`, and a summary.
    let mut args = vec!["ir", "validate"];
    args.extend(files.iter().map(String::as_str));
    let text = tm(&args, &[]);
    assert_eq!(text.code, 2);
    let problem_count: usize = expected.values().map(Vec::len).sum();
    assert_eq!(
        text.stdout.lines().count(),
        problem_count,
        "{}",
        text.stdout
    );
    assert!(
        text.stdout
            .contains("cycle.ir.json: /graph/edges: the graph has a cycle")
    );
    let summary = format!(
        "{0} of {0} files invalid ({problem_count} problems)",
        files.len()
    );
    assert!(text.stderr.contains(&summary), "{}", text.stderr);
}

#[test]
fn validate_accepts_the_examples_and_names_unreadable_files() {
    let sample = examples().join("smoke-sample/out/dsl/flows/sample.ir.json");
    let run = tm(&["ir", "validate", sample.to_str().unwrap()], &[]);
    assert_eq!((run.code, run.stdout.as_str()), (0, ""), "{}", run.stderr);
    assert!(run.stderr.contains("1 file valid"), "{}", run.stderr);

    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("broken.ir.json");
    fs::write(&broken, "{\n  \"version\": [,\n}").unwrap();
    let missing = dir.path().join("missing.ir.json");
    let run = tm(
        &[
            "ir",
            "validate",
            "--json",
            sample.to_str().unwrap(),
            broken.to_str().unwrap(),
            missing.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(run.code, 2);
    let files = run.json()["files"].clone();
    assert_eq!(files[0]["valid"], true);
    assert_eq!(files[1]["problems"][0]["kind"], "json");
    assert_eq!(files[1]["problems"][0]["line"], 2);
    assert_eq!(files[2]["problems"][0]["kind"], "io");
    assert_eq!(files[2]["problems"][0]["message"], "file not found");
}

/// `tm ir manifest` of the reference compiler's IR is the reference compiler's manifest: names,
/// step kinds, hashes, ir_path, field order.
#[test]
fn manifest_equals_the_reference_compilers_for_both_examples() {
    for example in ["plant-monitor", "smoke-sample"] {
        let out = examples().join(example).join("out/dsl");
        let reference: Value =
            serde_json::from_str(&fs::read_to_string(out.join("manifest.json")).unwrap()).unwrap();
        let irs: Vec<PathBuf> = reference
            .as_array()
            .unwrap()
            .iter()
            .map(|e| out.join(e["ir_path"].as_str().unwrap()))
            .collect();

        // --out: written into a copy of the folder, ir_path relative to it.
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join("flows")).unwrap();
        let mut args = vec!["ir".to_owned(), "manifest".to_owned()];
        for ir in &irs {
            let copy = dir.path().join("flows").join(ir.file_name().unwrap());
            fs::copy(ir, &copy).unwrap();
            args.push(copy.display().to_string());
        }
        let manifest = dir.path().join("manifest.json");
        args.extend(["--out".to_owned(), manifest.display().to_string()]);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let run = tm(&args, &[]);
        assert_eq!((run.code, run.stdout.as_str()), (0, ""), "{}", run.stderr);
        let text = fs::read_to_string(&manifest).unwrap();
        let written: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(written, reference, "{example}");
        assert_eq!(
            serde_json::to_string(&written).unwrap(),
            serde_json::to_string(&reference).unwrap(),
            "{example}: field order"
        );
        // And tm runs the flow through it.
        let flow = reference[0]["name"].as_str().unwrap();
        let loaded = flow_ir::Manifest::load(&manifest).unwrap();
        assert!(loaded.load_flow(flow).unwrap().warnings.is_empty());

        // Without --out: on stdout, ir_path relative to the working directory.
        let run = tm_in(
            &out,
            &["ir", "manifest", &irs[0].display().to_string()],
            &[],
        );
        assert_eq!(run.code, 0, "{}", run.stderr);
        assert_eq!(run.json()[0], reference[0], "{example}");
    }
}

#[test]
fn manifest_writes_nothing_for_an_invalid_or_duplicate_flow() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = dir.path().join("manifest.json");
    fs::write(&manifest, "keep me").unwrap();
    let sample = examples().join("smoke-sample/out/dsl/flows/sample.ir.json");
    let invalid = invalid_dir().join("invalid/cycle.ir.json");
    let out = manifest.display().to_string();
    let run = tm(
        &[
            "ir",
            "manifest",
            sample.to_str().unwrap(),
            invalid.to_str().unwrap(),
            "--out",
            &out,
        ],
        &[],
    );
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("cycle.ir.json"), "{}", run.stderr);
    assert!(
        run.stderr.contains("/graph/edges: the graph has a cycle"),
        "{}",
        run.stderr
    );
    let twice = [sample.to_str().unwrap(); 2];
    let run = tm(&["ir", "manifest", twice[0], twice[1], "--out", &out], &[]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("flow \"sample\" is defined twice"),
        "{}",
        run.stderr
    );
    assert_eq!(fs::read_to_string(&manifest).unwrap(), "keep me");
}

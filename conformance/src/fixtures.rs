//! Implementer fixtures (`--fixtures DIR`): flows the executor can run, with inputs and the
//! expected final status and outputs.
//!
//! `DIR` holds `*.json` files (other files are ignored), read in name order, each:
//!
//! ```json
//! {
//!   "name": "plant-monitor",
//!   "ir_path": "../../../examples/plant-monitor/out/dsl/flows/plant-monitor.ir.json",
//!   "inputs": { "endpoint": "opc.tcp://localhost:4840", "nodes": ["ns=2;i=2"] },
//!   "expect": { "status": "completed", "outputs": { "decision": { "action": "WRITE_BACK" } } },
//!   "long_running": false
//! }
//! ```
//!
//! Exactly one of `ir` (the Flow IR document inline) and `ir_path` (relative to the fixture
//! file) is required; `inputs` defaults to `{}`; `expect.status` is `completed` or `failed`;
//! `expect.outputs`, when given, must be a recursive subset of the final `summary.outputs`;
//! `long_running: true` marks a flow that runs for several seconds, used only to test Cancel
//! of a running run (REP-CAN-003), never run to completion.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::flows::{Expect, Flow};

/// A fixture directory or file that cannot be used; names the file and what is wrong.
#[derive(Debug, thiserror::Error)]
#[error("fixture {path}: {message}")]
pub struct FixtureError {
    /// The directory or file.
    pub path: PathBuf,
    /// What is wrong with it.
    pub message: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FixtureFile {
    name: String,
    #[serde(default)]
    ir: Option<Value>,
    #[serde(default)]
    ir_path: Option<PathBuf>,
    #[serde(default)]
    inputs: Map<String, Value>,
    expect: ExpectFile,
    #[serde(default)]
    long_running: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExpectFile {
    status: StatusFile,
    #[serde(default)]
    outputs: Option<Value>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "lowercase")]
enum StatusFile {
    Completed,
    Failed,
}

/// Reads every `*.json` fixture of `dir`, in file-name order.
///
/// # Errors
/// [`FixtureError`] naming the directory or the first bad file.
pub fn load_dir(dir: &Path) -> Result<Vec<Flow>, FixtureError> {
    let error = |path: &Path, message: String| FixtureError {
        path: path.to_path_buf(),
        message,
    };
    let entries = std::fs::read_dir(dir).map_err(|e| error(dir, format!("cannot read: {e}")))?;
    let mut paths = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| error(dir, format!("cannot read: {e}")))?;
        let path = entry.path();
        if path.extension().is_some_and(|x| x == "json") && path.is_file() {
            paths.push(path);
        }
    }
    paths.sort();
    paths.iter().map(|p| load_file(p)).collect()
}

/// Reads one fixture file.
///
/// # Errors
/// [`FixtureError`] naming the file and what is wrong with it.
pub fn load_file(path: &Path) -> Result<Flow, FixtureError> {
    let error = |message: String| FixtureError {
        path: path.to_path_buf(),
        message,
    };
    let text = rep_files::read_to_string(path, rep_files::caps::FIXTURE)
        .map_err(|e| error(format!("cannot read: {e}")))?;
    let file: FixtureFile =
        serde_json::from_str(&text).map_err(|e| error(format!("invalid fixture: {e}")))?;
    let ir = match (file.ir, file.ir_path) {
        (Some(ir), None) => ir,
        (None, Some(rel)) => {
            let ir_path = path.parent().unwrap_or(Path::new(".")).join(&rel);
            let text = rep_files::read_to_string(&ir_path, rep_files::caps::FLOW_IR)
                .map_err(|e| error(format!("cannot read ir_path {}: {e}", ir_path.display())))?;
            serde_json::from_str(&text)
                .map_err(|e| error(format!("ir_path {} is not JSON: {e}", ir_path.display())))?
        }
        _ => return Err(error("give exactly one of \"ir\" and \"ir_path\"".into())),
    };
    if !ir.is_object() {
        return Err(error("the IR is not a JSON object".into()));
    }
    Ok(Flow {
        name: file.name,
        ir,
        inputs: file.inputs,
        expect: match file.expect.status {
            StatusFile::Completed => Expect::Completed,
            StatusFile::Failed => Expect::Failed,
        },
        outputs: file.expect.outputs,
        long_running: file.long_running,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loads_inline_and_referenced_ir_and_names_bad_files() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("flow.ir.data"), r#"{"version": "1.0.0"}"#).unwrap();
        std::fs::write(
            dir.path().join("a.json"),
            r#"{"name": "a", "ir_path": "flow.ir.data", "expect": {"status": "failed"}}"#,
        )
        .unwrap();
        std::fs::write(
            dir.path().join("b.json"),
            r#"{"name": "b", "ir": {"version": "1.0.0"}, "inputs": {"x": 1}, "expect": {"status": "completed", "outputs": {"y": 2}}, "long_running": true}"#,
        )
        .unwrap();
        let flows = load_dir(dir.path()).unwrap();
        assert_eq!(flows.len(), 2);
        assert_eq!(flows[0].expect, Expect::Failed);
        assert_eq!(flows[1].inputs["x"], 1);
        assert!(flows[1].long_running);

        std::fs::write(
            dir.path().join("c.json"),
            r#"{"name": "c", "expect": {"status": "done"}}"#,
        )
        .unwrap();
        let err = load_dir(dir.path()).unwrap_err();
        assert!(err.to_string().contains("c.json"), "{err}");
        assert!(load_dir(&dir.path().join("missing")).is_err());
    }
}

//! The compiler's `out/dsl/manifest.json`, loading a flow's IR through it (Flow IR v1.0.0,
//! section "Manifest"), and loading one IR file ([`load_ir_file`]). The only module of this
//! crate that does file I/O,
//! through rep-files: regular files only (a FIFO or a device named by the user or by an
//! `ir_path` is refused, never read), each bounded by its cap ([`rep_files::caps::MANIFEST`],
//! [`rep_files::caps::FLOW_IR`]).

use std::path::{Path, PathBuf};

use rep_files::{ReadError, caps};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::consistency::entry_warnings;
use crate::hash::inputs_schema_hash;
use crate::model::FlowIr;
use crate::problem::ValidationError;
use crate::validate::validate;
use crate::version::type_name;

/// One manifest entry: `{ name, source_file, policyRef, step_kinds: [..], inputs_schema_hash,
/// ir_path }` (Flow IR v1.0.0, section "Manifest"). Unknown fields are kept in `extra`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ManifestEntry {
    /// The flow's name, e.g. `"plant-monitor"`; what a user asks for.
    pub name: String,
    /// The DSL file the flow was compiled from, relative to the project.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_file: Option<String>,
    /// The policy the flow uses (JSON `policyRef`).
    #[serde(rename = "policyRef", default, skip_serializing_if = "Option::is_none")]
    pub policy_ref: Option<String>,
    /// The step kinds the flow needs, sorted by the compiler (empty when absent).
    #[serde(default)]
    pub step_kinds: Vec<String>,
    /// `"sha256:<64 hex>"` of the canonical JSON of the IR's `inputs_schema`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inputs_schema_hash: Option<String>,
    /// The IR file, relative to the manifest's folder, e.g. `"flows/plant-monitor.ir.json"`.
    pub ir_path: String,
    /// Unknown entry fields, kept in document order.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl ManifestEntry {
    /// The entry the reference compiler writes for `ir` stored at `ir_path` (relative to the
    /// manifest's folder, `/`-separated): `name` = `flow.name`, `source_file` =
    /// `metadata.source_file`, `policyRef` = `constants.policyRef`, `step_kinds` = the sorted
    /// set of `graph.nodes[].type`, `inputs_schema_hash` of `inputs_schema` (Flow IR v1.0.0,
    /// section "Manifest"). Serialized, its fields come in the compiler's order.
    pub fn for_ir(ir: &FlowIr, ir_path: impl Into<String>) -> ManifestEntry {
        ManifestEntry {
            name: ir.flow.name.clone(),
            source_file: Some(ir.metadata.source_file.clone()),
            policy_ref: Some(ir.constants.policy_ref.clone()),
            step_kinds: ir.required_step_kinds().into_iter().collect(),
            inputs_schema_hash: Some(inputs_schema_hash(&ir.inputs_schema)),
            ir_path: ir_path.into(),
            extra: Map::new(),
        }
    }
}

/// A loaded `manifest.json` (Flow IR v1.0.0, section "Manifest").
#[derive(Debug, Clone, PartialEq)]
pub struct Manifest {
    /// The manifest file, as given to [`Manifest::load`].
    pub path: PathBuf,
    /// The entries, in file order.
    pub entries: Vec<ManifestEntry>,
}

/// A flow loaded through the manifest: its entry, its IR (validated), and any disagreement
/// between the two as warnings.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadedFlow {
    /// The manifest entry the flow was found under.
    pub entry: ManifestEntry,
    /// The IR file, resolved against the manifest's folder.
    pub ir_path: PathBuf,
    /// The IR document exactly as read, to send unchanged in `Runtime.StartRun.ir` (REP v0.1 §3).
    pub document: Value,
    /// The typed, validated IR.
    pub ir: FlowIr,
    /// One line per disagreement between entry and IR (see [`crate::entry_warnings`]).
    pub warnings: Vec<String>,
}

/// Why a manifest or a flow could not be loaded (Flow IR v1.0.0, section "Manifest").
/// Messages name the file and what was wrong; causes are in `source`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ManifestError {
    /// The manifest file does not exist.
    #[error("manifest not found: {}", path.display())]
    NotFound {
        /// The manifest path as given.
        path: PathBuf,
    },
    /// The manifest file exists but could not be read: not a regular file, over its cap,
    /// not readable.
    #[error("cannot read manifest {}", path.display())]
    Read {
        /// The manifest path as given.
        path: PathBuf,
        /// What was wrong with it.
        #[source]
        source: ReadError,
    },
    /// The manifest is not valid JSON; `line` and `column` are 1-based.
    #[error("manifest {} is not valid JSON at line {line}, column {column}: {message}", path.display())]
    Parse {
        /// The manifest path as given.
        path: PathBuf,
        /// 1-based line of the error.
        line: usize,
        /// 1-based column of the error.
        column: usize,
        /// What the JSON parser said, without the position.
        message: String,
    },
    /// The manifest is JSON but not an array of entries; `message` starts with a JSON pointer
    /// such as `/0/ir_path`.
    #[error("manifest {} is malformed: {message}", path.display())]
    Shape {
        /// The manifest path as given.
        path: PathBuf,
        /// What is wrong and where, e.g. `/0/ir_path: missing (expected a string)`.
        message: String,
    },
    /// No entry has this flow name.
    #[error(
        "flow {flow:?} is not in {}; known flows: {}",
        path.display(),
        if known.is_empty() { "(none)".to_string() } else { known.join(", ") }
    )]
    UnknownFlow {
        /// The flow asked for.
        flow: String,
        /// The manifest path.
        path: PathBuf,
        /// The names the manifest does have, in file order.
        known: Vec<String>,
    },
    /// The entry's IR file cannot be loaded ([`load_ir_file`]): missing, unreadable, not
    /// JSON, or not valid Flow IR (host exit code 2; see
    /// [`ValidationError::is_unsupported_version`] for 1001 vs 1003).
    #[error("cannot load the IR of flow {flow:?}")]
    Ir {
        /// The flow asked for.
        flow: String,
        /// What was wrong with its IR file.
        #[source]
        source: IrFileError,
    },
}

/// A Flow IR file, read and validated ([`load_ir_file`]).
#[derive(Debug, Clone, PartialEq)]
pub struct IrFile {
    /// The document exactly as read, to send unchanged in `Runtime.StartRun.ir` (REP v0.1
    /// §3).
    pub document: Value,
    /// The typed, validated IR.
    pub ir: FlowIr,
}

/// Why a Flow IR file could not be loaded. Messages name the file; causes are in `source`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IrFileError {
    /// The file does not exist.
    #[error("IR file not found: {}", path.display())]
    NotFound {
        /// The path as given.
        path: PathBuf,
    },
    /// The file exists but could not be read: not a regular file, over its cap, not
    /// readable.
    #[error("cannot read IR file {}", path.display())]
    Read {
        /// The path as given.
        path: PathBuf,
        /// What was wrong with it.
        #[source]
        source: ReadError,
    },
    /// The file is not valid JSON; `line` and `column` are 1-based.
    #[error("IR file {} is not valid JSON at line {line}, column {column}: {message}", path.display())]
    Parse {
        /// The path as given.
        path: PathBuf,
        /// 1-based line of the error.
        line: usize,
        /// 1-based column of the error.
        column: usize,
        /// What the JSON parser said, without the position.
        message: String,
    },
    /// The file is JSON but not valid Flow IR.
    #[error("invalid Flow IR in {}", path.display())]
    Invalid {
        /// The path as given.
        path: PathBuf,
        /// Every problem found.
        #[source]
        source: ValidationError,
    },
}

impl IrFileError {
    /// The file the error is about.
    pub fn path(&self) -> &Path {
        match self {
            IrFileError::NotFound { path }
            | IrFileError::Read { path, .. }
            | IrFileError::Parse { path, .. }
            | IrFileError::Invalid { path, .. } => path,
        }
    }
}

/// Reads one Flow IR file (a regular file of at most [`caps::FLOW_IR`]), parses it and
/// [`validate`]s it: the one loader of IR files, behind [`Manifest::load_flow`] and
/// `tm ir validate`/`tm ir manifest`.
///
/// # Errors
/// [`IrFileError`] naming the file: missing, unreadable, not JSON (with line and column),
/// or every validation problem.
pub fn load_ir_file(path: &Path) -> Result<IrFile, IrFileError> {
    let text = rep_files::read_to_string(path, caps::FLOW_IR).map_err(|source| {
        if source.is_not_found() {
            IrFileError::NotFound {
                path: path.to_path_buf(),
            }
        } else {
            IrFileError::Read {
                path: path.to_path_buf(),
                source,
            }
        }
    })?;
    let document: Value = serde_json::from_str(&text).map_err(|e| {
        let (line, column, message) = position(&e);
        IrFileError::Parse {
            path: path.to_path_buf(),
            line,
            column,
            message,
        }
    })?;
    // The text is not needed once parsed: freed before validation, whose own memory makes
    // the peak (23 MB less for a 100k-node flow).
    drop(text);
    let ir = validate(&document).map_err(|source| IrFileError::Invalid {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(IrFile { document, ir })
}

impl Manifest {
    /// Reads and parses `manifest.json` (a JSON array of entries). Entry `i` must be an object
    /// with string `name` and `ir_path`; optional fields must have their documented types.
    pub fn load(path: &Path) -> Result<Manifest, ManifestError> {
        let text = rep_files::read_to_string(path, caps::MANIFEST).map_err(|source| {
            if source.is_not_found() {
                ManifestError::NotFound {
                    path: path.to_path_buf(),
                }
            } else {
                ManifestError::Read {
                    path: path.to_path_buf(),
                    source,
                }
            }
        })?;
        let value: Value = serde_json::from_str(&text).map_err(|e| {
            let (line, column, message) = position(&e);
            ManifestError::Parse {
                path: path.to_path_buf(),
                line,
                column,
                message,
            }
        })?;
        let entries = parse_entries(value).map_err(|message| ManifestError::Shape {
            path: path.to_path_buf(),
            message,
        })?;
        Ok(Manifest {
            path: path.to_path_buf(),
            entries,
        })
    }

    /// Looks a flow up by name (the first entry with that name); the error lists the known
    /// flow names.
    pub fn entry(&self, flow: &str) -> Result<&ManifestEntry, ManifestError> {
        self.entries
            .iter()
            .find(|e| e.name == flow)
            .ok_or_else(|| ManifestError::UnknownFlow {
                flow: flow.to_string(),
                path: self.path.clone(),
                known: self.entries.iter().map(|e| e.name.clone()).collect(),
            })
    }

    /// The entry's `ir_path` resolved relative to the manifest's folder.
    pub fn ir_path(&self, entry: &ManifestEntry) -> PathBuf {
        self.path
            .parent()
            .unwrap_or_else(|| Path::new(""))
            .join(&entry.ir_path)
    }

    /// Entry → [`load_ir_file`] (read, parse, [`validate`]) → [`LoadedFlow`] with
    /// [`crate::entry_warnings`]. An IR file that cannot be loaded is [`ManifestError::Ir`].
    pub fn load_flow(&self, flow: &str) -> Result<LoadedFlow, ManifestError> {
        let entry = self.entry(flow)?;
        let ir_path = self.ir_path(entry);
        let IrFile { document, ir } =
            load_ir_file(&ir_path).map_err(|source| ManifestError::Ir {
                flow: flow.to_string(),
                source,
            })?;
        let warnings = entry_warnings(entry, &ir);
        Ok(LoadedFlow {
            entry: entry.clone(),
            ir_path,
            document,
            ir,
            warnings,
        })
    }
}

/// Line, column and the parser's message without its " at line L column C" suffix.
fn position(e: &serde_json::Error) -> (usize, usize, String) {
    let (line, column) = (e.line(), e.column());
    let full = e.to_string();
    let suffix = format!(" at line {line} column {column}");
    let message = full.strip_suffix(&suffix).unwrap_or(&full).to_string();
    (line, column, message)
}

/// Checks the manifest's shape and deserializes its entries; `Err` is
/// `"<JSON pointer>: <what is wrong>"`.
fn parse_entries(value: Value) -> Result<Vec<ManifestEntry>, String> {
    let Value::Array(items) = value else {
        return Err(format!(
            "expected a JSON array of entries, found {}",
            type_name(&value)
        ));
    };
    let mut entries = Vec::with_capacity(items.len());
    for (i, item) in items.into_iter().enumerate() {
        check_entry(i, &item)?;
        let entry: ManifestEntry =
            serde_json::from_value(item).map_err(|e| format!("/{i}: {e}"))?;
        entries.push(entry);
    }
    Ok(entries)
}

/// Field-by-field shape check of entry `i`, so the error names the exact field.
fn check_entry(i: usize, item: &Value) -> Result<(), String> {
    let Value::Object(map) = item else {
        return Err(format!(
            "/{i}: expected an entry object, found {}",
            type_name(item)
        ));
    };
    for field in ["name", "ir_path"] {
        match map.get(field) {
            None => return Err(format!("/{i}/{field}: missing (expected a string)")),
            Some(Value::String(s)) if s.is_empty() => {
                return Err(format!("/{i}/{field}: must not be empty"));
            }
            Some(Value::String(_)) => {}
            Some(other) => {
                return Err(format!(
                    "/{i}/{field}: expected a string, found {}",
                    type_name(other)
                ));
            }
        }
    }
    for field in ["source_file", "policyRef", "inputs_schema_hash"] {
        if let Some(other) = map.get(field).filter(|v| !v.is_string() && !v.is_null()) {
            return Err(format!(
                "/{i}/{field}: expected a string, found {}",
                type_name(other)
            ));
        }
    }
    match map.get("step_kinds") {
        None => {}
        Some(Value::Array(kinds)) => {
            if let Some((k, other)) = kinds.iter().enumerate().find(|(_, v)| !v.is_string()) {
                return Err(format!(
                    "/{i}/step_kinds/{k}: expected a string, found {}",
                    type_name(other)
                ));
            }
        }
        Some(other) => {
            return Err(format!(
                "/{i}/step_kinds: expected an array of strings, found {}",
                type_name(other)
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn shape_err(value: Value) -> String {
        parse_entries(value).unwrap_err()
    }

    #[test]
    fn shape_errors_name_the_field() {
        assert_eq!(
            shape_err(json!({"name": "x"})),
            "expected a JSON array of entries, found an object"
        );
        assert_eq!(
            shape_err(json!([3])),
            "/0: expected an entry object, found a number"
        );
        assert_eq!(
            shape_err(json!([{"name": "a", "ir_path": "a"}, {"name": "b"}])),
            "/1/ir_path: missing (expected a string)"
        );
        assert_eq!(
            shape_err(json!([{"name": 1, "ir_path": "a"}])),
            "/0/name: expected a string, found a number"
        );
        assert_eq!(
            shape_err(json!([{"name": "a", "ir_path": "a", "step_kinds": ["x", 2]}])),
            "/0/step_kinds/1: expected a string, found a number"
        );
        assert_eq!(
            shape_err(json!([{"name": "a", "ir_path": "a", "policyRef": {}}])),
            "/0/policyRef: expected a string, found an object"
        );
    }

    #[test]
    fn entries_keep_unknown_fields() {
        let entries =
            parse_entries(json!([{"name": "a", "ir_path": "f/a.json", "hash_alg": "sha256"}]))
                .unwrap();
        assert_eq!(entries[0].extra["hash_alg"], json!("sha256"));
        assert!(entries[0].step_kinds.is_empty());
        assert_eq!(
            serde_json::to_value(&entries[0]).unwrap(),
            json!({"name": "a", "step_kinds": [], "ir_path": "f/a.json", "hash_alg": "sha256"})
        );
    }

    #[test]
    fn ir_path_is_relative_to_the_manifest() {
        let manifest = Manifest {
            path: PathBuf::from("out/dsl/manifest.json"),
            entries: parse_entries(json!([{"name": "a", "ir_path": "flows/a.ir.json"}])).unwrap(),
        };
        assert_eq!(
            manifest.ir_path(&manifest.entries[0]),
            PathBuf::from("out/dsl/flows/a.ir.json")
        );
        let bare = Manifest {
            path: PathBuf::from("manifest.json"),
            entries: manifest.entries.clone(),
        };
        assert_eq!(
            bare.ir_path(&bare.entries[0]),
            PathBuf::from("flows/a.ir.json")
        );
    }

    #[test]
    fn error_messages() {
        let e = ManifestError::NotFound {
            path: PathBuf::from("out/dsl/manifest.json"),
        };
        assert_eq!(e.to_string(), "manifest not found: out/dsl/manifest.json");
        let e = ManifestError::UnknownFlow {
            flow: "x".into(),
            path: PathBuf::from("out/dsl/manifest.json"),
            known: vec!["plant-monitor".into(), "sample".into()],
        };
        assert_eq!(
            e.to_string(),
            "flow \"x\" is not in out/dsl/manifest.json; known flows: plant-monitor, sample"
        );
    }
}

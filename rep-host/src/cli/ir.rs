//! `tm ir validate` and `tm ir manifest`: Flow IR for authors without TraceMind's compiler
//! (Flow IR v1.0.0, "Rules beyond the schema" and "Manifest"; docs/flow-ir.md).

use std::path::{Component, Path, PathBuf};

use flow_ir::{FlowIr, ManifestEntry, Problem, ValidationError};
use rep_spec::ExitCode;
use serde_json::{Value, json};

use super::args::{GlobalArgs, IrManifestArgs, IrValidateArgs};
use super::error::Failure;
use super::note;
use super::output::print_stdout;

/// Why one IR file could not be used. Messages name the file; the problems of an invalid
/// document are in `ValidationError`.
#[derive(Debug, thiserror::Error)]
pub enum IrFileError {
    /// The file cannot be read (missing, not a regular file, over its cap).
    #[error("cannot read {}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: rep_files::ReadError,
    },
    /// The file is not JSON; `line` and `column` are 1-based.
    #[error("{} is not valid JSON at line {line}, column {column}: {message}", path.display())]
    Parse {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    /// The document is not valid Flow IR v1.0.0.
    #[error("invalid Flow IR in {}", path.display())]
    Invalid {
        path: PathBuf,
        #[source]
        source: ValidationError,
    },
}

/// Why `tm ir manifest` wrote nothing.
#[derive(Debug, thiserror::Error)]
pub enum IrManifestError {
    /// An IR file cannot be read or is invalid.
    #[error(transparent)]
    File(IrFileError),
    /// Two files define the same flow name: a manifest looks flows up by name.
    #[error("flow {name:?} is defined twice: in {} and in {}", first.display(), second.display())]
    DuplicateName {
        name: String,
        first: PathBuf,
        second: PathBuf,
    },
    /// The manifest's folder or an IR file has no absolute path we can relate.
    #[error("cannot resolve {}", path.display())]
    Resolve {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The manifest cannot be written.
    #[error("cannot write the manifest {}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: rep_files::WriteError,
    },
}

impl IrManifestError {
    /// Bad input is exit code 2; a manifest that cannot be written is an internal failure.
    pub fn exit_code(&self) -> ExitCode {
        match self {
            IrManifestError::Write { .. } => ExitCode::RuntimeInternal,
            _ => ExitCode::BadInput,
        }
    }
}

/// Reads (a regular file, at most [`rep_files::caps::FLOW_IR`]), parses and validates one
/// IR file.
pub fn load_ir(path: &Path) -> Result<(Value, FlowIr), IrFileError> {
    let text = rep_files::read_to_string(path, rep_files::caps::FLOW_IR).map_err(|source| {
        IrFileError::Read {
            path: path.to_path_buf(),
            source,
        }
    })?;
    let document: Value = serde_json::from_str(&text).map_err(|e| {
        let (line, column) = (e.line(), e.column());
        let full = e.to_string();
        let suffix = format!(" at line {line} column {column}");
        IrFileError::Parse {
            path: path.to_path_buf(),
            line,
            column,
            message: full.strip_suffix(&suffix).unwrap_or(&full).to_owned(),
        }
    })?;
    let ir = flow_ir::validate(&document).map_err(|source| IrFileError::Invalid {
        path: path.to_path_buf(),
        source,
    })?;
    Ok((document, ir))
}

/// `tm ir validate FILE… [--json]`: every problem of every file, on stdout; exit code 2 when
/// any file has one.
pub fn validate(global: &GlobalArgs, args: &IrValidateArgs) -> Result<ExitCode, Failure> {
    let mut files = Vec::with_capacity(args.files.len());
    let mut invalid = 0;
    let mut problem_count = 0;
    for path in &args.files {
        let problems = match load_ir(path) {
            Ok(_) => Vec::new(),
            Err(error) => file_problems(&error),
        };
        if !problems.is_empty() {
            invalid += 1;
            problem_count += problems.len();
        }
        files.push((path, problems));
    }
    if args.json {
        let document = json!({
            "valid": invalid == 0,
            "files": files.iter().map(|(path, problems)| json!({
                "path": path.display().to_string(),
                "valid": problems.is_empty(),
                "problems": problems,
            })).collect::<Vec<_>>(),
        });
        let text = serde_json::to_string_pretty(&document).unwrap_or_default();
        print_stdout(format!("{text}\n").as_bytes())?;
    } else {
        let mut text = String::new();
        for (path, problems) in &files {
            for problem in problems {
                let pointer = problem["pointer"].as_str().unwrap_or_default();
                let message = problem["message"].as_str().unwrap_or_default();
                let pointer = if pointer.is_empty() { "/" } else { pointer };
                text.push_str(&format!("{}: {pointer}: {message}\n", path.display()));
            }
        }
        print_stdout(text.as_bytes())?;
        if !global.quiet {
            let n = files.len();
            note(&match invalid {
                0 => format!("{n} {} valid", plural(n, "file", "files")),
                _ => format!(
                    "{invalid} of {n} {} invalid ({problem_count} {})",
                    plural(n, "file", "files"),
                    plural(problem_count, "problem", "problems")
                ),
            });
        }
    }
    Ok(if invalid == 0 {
        ExitCode::Completed
    } else {
        ExitCode::BadInput
    })
}

fn plural<'a>(n: usize, one: &'a str, many: &'a str) -> &'a str {
    if n == 1 { one } else { many }
}

/// The problems of one file as `{pointer, kind, message}` objects (plus `line`/`column` for
/// JSON syntax errors). A file that cannot be read or parsed has one problem at `""`.
fn file_problems(error: &IrFileError) -> Vec<Value> {
    match error {
        IrFileError::Invalid { source, .. } => source.problems.iter().map(problem_json).collect(),
        IrFileError::Parse {
            line,
            column,
            message,
            ..
        } => vec![json!({
            "pointer": "",
            "kind": "json",
            "message": format!("not valid JSON at line {line}, column {column}: {message}"),
            "line": line,
            "column": column,
        })],
        IrFileError::Read { source, .. } => {
            let message = if source.is_not_found() {
                "file not found".to_owned()
            } else {
                format!("cannot read the file: {source}")
            };
            vec![json!({"pointer": "", "kind": "io", "message": message})]
        }
    }
}

fn problem_json(problem: &Problem) -> Value {
    json!({
        "pointer": problem.pointer,
        "kind": problem.kind.as_str(),
        "message": problem.message,
    })
}

/// `tm ir manifest FILE… [--out FILE]`: one entry per file, as TraceMind's compiler writes
/// them; nothing is written unless every file is valid.
pub fn manifest(args: &IrManifestArgs) -> Result<ExitCode, Failure> {
    let text = render_manifest(&args.files, args.out.as_deref()).map_err(Failure::IrManifest)?;
    match &args.out {
        Some(out) => rep_files::write_atomic(out, text.as_bytes()).map_err(|source| {
            Failure::IrManifest(IrManifestError::Write {
                path: out.clone(),
                source,
            })
        })?,
        None => print_stdout(text.as_bytes())?,
    }
    Ok(ExitCode::Completed)
}

/// The manifest's JSON text for `files`, with each `ir_path` relative to the folder of `out`
/// (the working directory without one).
pub fn render_manifest(files: &[PathBuf], out: Option<&Path>) -> Result<String, IrManifestError> {
    let base = match out.and_then(Path::parent) {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let base = absolute(&base)?;
    let mut entries: Vec<(ManifestEntry, &Path)> = Vec::with_capacity(files.len());
    for path in files {
        let (_, ir) = load_ir(path).map_err(IrManifestError::File)?;
        if let Some((_, first)) = entries.iter().find(|(e, _)| e.name == ir.flow.name) {
            return Err(IrManifestError::DuplicateName {
                name: ir.flow.name.clone(),
                first: first.to_path_buf(),
                second: path.clone(),
            });
        }
        let ir_path = relative_to(&absolute(path)?, &base);
        entries.push((ManifestEntry::for_ir(&ir, ir_path), path));
    }
    let entries: Vec<&ManifestEntry> = entries.iter().map(|(e, _)| e).collect();
    let text = serde_json::to_string_pretty(&entries).unwrap_or_default();
    Ok(text + "\n")
}

/// `path` made absolute against the working directory, `.` and `..` resolved (symbolic
/// links are kept, as the manifest's reader resolves `ir_path` textually).
fn absolute(path: &Path) -> Result<PathBuf, IrManifestError> {
    let joined = std::path::absolute(path).map_err(|source| IrManifestError::Resolve {
        path: path.to_path_buf(),
        source,
    })?;
    let mut clean = PathBuf::new();
    for component in joined.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                clean.pop();
            }
            other => clean.push(other),
        }
    }
    Ok(clean)
}

/// `path` relative to `base` (both absolute and clean), `/`-separated, with `..` as needed.
fn relative_to(path: &Path, base: &Path) -> String {
    let path: Vec<_> = path.components().collect();
    let base: Vec<_> = base.components().collect();
    let common = path.iter().zip(&base).take_while(|(a, b)| a == b).count();
    let mut parts: Vec<String> = vec!["..".to_owned(); base.len() - common];
    parts.extend(
        path[common..]
            .iter()
            .map(|c| c.as_os_str().to_string_lossy().into_owned()),
    );
    parts.join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_climb_as_needed() {
        let rel = |p: &str, b: &str| relative_to(Path::new(p), Path::new(b));
        assert_eq!(rel("/a/b/flows/x.json", "/a/b"), "flows/x.json");
        assert_eq!(rel("/a/flows/x.json", "/a/b/out"), "../../flows/x.json");
        assert_eq!(rel("/a/x.json", "/a"), "x.json");
    }

    #[test]
    fn absolute_resolves_dots() {
        let cwd = std::env::current_dir().unwrap_or_default();
        assert_eq!(
            absolute(Path::new("a/../b/./c")).ok(),
            Some(cwd.join("b/c"))
        );
    }
}

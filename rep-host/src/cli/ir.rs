//! `tm ir validate` and `tm ir manifest`: Flow IR for authors without TraceMind's compiler
//! (Flow IR v1.0.0, "Rules beyond the schema" and "Manifest"; docs/flow-ir.md); `tm ir
//! compile`: TraceMind's compiler, run as `tm verify online --sources` runs it
//! ([`rep_host::compile_sources`]), without a run.

use std::path::{Component, Path, PathBuf};

use flow_ir::{IrFileError, ManifestEntry, load_ir_file};
use serde::Serialize;

use super::args::{GlobalArgs, IrCompileArgs, IrManifestArgs, IrValidateArgs};
use super::error::Failure;
use super::note;
use super::output::print_stdout;

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

/// `tm ir validate --json`: every file and its problems.
#[derive(Debug, Serialize)]
struct Report {
    valid: bool,
    files: Vec<FileReport>,
}

/// One file of [`Report`].
#[derive(Debug, Serialize)]
struct FileReport {
    path: String,
    valid: bool,
    problems: Vec<FileProblem>,
}

/// One problem of a file: a validation problem at its JSON pointer (`kind`
/// `unsupported_version`, `schema` or `semantic`), or the one problem of a file that is not
/// JSON (`json`, at line and column) or cannot be read (`io`), at the root `""`.
#[derive(Debug, Serialize)]
struct FileProblem {
    pointer: String,
    kind: &'static str,
    message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    line: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    column: Option<usize>,
}

impl FileProblem {
    /// A problem of the whole file.
    fn at_root(kind: &'static str, message: String) -> FileProblem {
        FileProblem {
            pointer: String::new(),
            kind,
            message,
            line: None,
            column: None,
        }
    }

    /// The problems of a file that could not be loaded.
    fn of(error: &IrFileError) -> Vec<FileProblem> {
        match error {
            IrFileError::Invalid { source, .. } => source
                .problems
                .iter()
                .map(|problem| FileProblem {
                    pointer: problem.pointer.clone(),
                    kind: problem.kind.as_str(),
                    message: problem.message.clone(),
                    line: None,
                    column: None,
                })
                .collect(),
            IrFileError::Parse {
                line,
                column,
                message,
                ..
            } => vec![FileProblem {
                line: Some(*line),
                column: Some(*column),
                ..FileProblem::at_root(
                    "json",
                    format!("not valid JSON at line {line}, column {column}: {message}"),
                )
            }],
            IrFileError::NotFound { .. } => {
                vec![FileProblem::at_root("io", "file not found".to_owned())]
            }
            IrFileError::Read { source, .. } => vec![FileProblem::at_root(
                "io",
                format!("cannot read the file: {source}"),
            )],
            // A kind of failure added to flow-ir later: said as it says it.
            other => vec![FileProblem::at_root("io", other.to_string())],
        }
    }
}

/// `tm ir validate FILE… [--json]`: every problem of every file, on stdout; a failure (exit
/// code 2) when any file has one.
pub fn validate(global: &GlobalArgs, args: &IrValidateArgs) -> Result<(), Failure> {
    let files: Vec<FileReport> = args
        .files
        .iter()
        .map(|path| {
            let problems = load_ir_file(path)
                .err()
                .map_or_else(Vec::new, |error| FileProblem::of(&error));
            FileReport {
                path: path.display().to_string(),
                valid: problems.is_empty(),
                problems,
            }
        })
        .collect();
    let invalid = files.iter().filter(|f| !f.valid).count();
    let problems: usize = files.iter().map(|f| f.problems.len()).sum();
    if args.json {
        let report = Report {
            valid: invalid == 0,
            files,
        };
        // Serializing these types cannot fail: every key is a string.
        let text = serde_json::to_string_pretty(&report).unwrap_or_default();
        print_stdout(format!("{text}\n").as_bytes())?;
    } else {
        let mut text = String::new();
        for file in &files {
            for problem in &file.problems {
                let pointer = match problem.pointer.as_str() {
                    "" => "/",
                    pointer => pointer,
                };
                text.push_str(&format!("{}: {pointer}: {}\n", file.path, problem.message));
            }
        }
        print_stdout(text.as_bytes())?;
        if invalid == 0 && !global.quiet {
            let n = files.len();
            note(&format!("{n} {} valid", plural(n, "file", "files")));
        }
    }
    match invalid {
        0 => Ok(()),
        _ => Err(Failure::InvalidIrFiles {
            invalid,
            files: args.files.len(),
            problems,
        }),
    }
}

/// `tm ir compile SOURCES… --out DIR`: the artifacts in DIR, a line on stderr saying so.
pub fn compile(global: &GlobalArgs, args: &IrCompileArgs) -> Result<(), Failure> {
    let config = super::run::load_config(global)?;
    let request = rep_host::CompileRequest {
        python: super::run::compiler_python(args.python.as_ref(), &config),
        sources: args.sources.clone(),
        out_dir: args.out.clone(),
        force: args.force,
        lint: !args.no_lint,
        timeout: std::time::Duration::from_secs_f64(args.timeout),
    };
    let (runtime, mut interrupts) = super::run::start_runtime()?;
    let compiled = runtime
        .block_on(rep_host::compile_sources(&request, &mut interrupts))
        .map_err(Failure::Compile)?;
    if !global.quiet {
        let flows = compiled.artifacts.iter().filter(|a| a.kind == "ir").count();
        note(&format!(
            "compiled {flows} {} into {}",
            plural(flows, "flow", "flows"),
            compiled.manifest.display()
        ));
    }
    Ok(())
}

/// `file`/`files` after `n`.
pub fn plural<'a>(n: usize, one: &'a str, many: &'a str) -> &'a str {
    if n == 1 { one } else { many }
}

/// `tm ir manifest FILE… [--out FILE]`: one entry per file, as TraceMind's compiler writes
/// them; nothing is written unless every file is valid.
pub fn manifest(args: &IrManifestArgs) -> Result<(), Failure> {
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
    Ok(())
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
        let ir = load_ir_file(path).map_err(IrManifestError::File)?.ir;
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

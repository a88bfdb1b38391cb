//! TraceMind's DSL compiler, run in the user's Python (`tm verify online --sources`): WDL/PDL
//! sources → `out/flows/*.ir.json` and `out/manifest.json`, through TraceMind's
//! `tm.dsl.compile_paths(sources, out_dir=…, force=…, run_lint=…, emit_ir=True,
//! ir_schema_path=…)` — what TraceMind's own `tm verify online --sources` calls, given the
//! Flow IR schema embedded in this host (the trace-mind wheel lacks the file it would look
//! for). The compiler is a helper command of rep-process ([`rep_process::run`]): its own
//! process group, bounded in time and output, stopped on an interrupt.
//!
//! A compilation replaces the artifacts an earlier one wrote into the same folder (listed in
//! [`WRITTEN_LIST`] there, with their sha256: [`written`]); it needs `force` only to overwrite
//! a file tm did not write, or one edited since. A failed compilation leaves the folder as it
//! was.

mod written;

pub use written::{WRITTEN_LIST, WrittenError};

use std::path::{Path, PathBuf};
use std::process::ExitStatus;
use std::time::Duration;

use rep_process::{Interrupt, Interrupts, Spec};
use serde::Deserialize;

use crate::which::{find_on_path, is_bare_name};

/// The Python program that calls the compiler and reports on stdout as one JSON line.
const SHIM: &str = include_str!("compile_tracemind.py");

/// Bytes of the compiler's stdout and of its stderr kept, each; the rest is read and dropped.
pub const COMPILER_OUTPUT_BYTES: usize = 1024 * 1024;

/// Lines of the compiler's stderr quoted when it crashes.
const STDERR_TAIL: usize = 20;

/// What to compile, and with which Python.
#[derive(Debug, Clone, PartialEq)]
pub struct CompileRequest {
    /// The Python interpreter that has trace-mind installed; a bare name (`python3`) is looked
    /// up on PATH.
    pub python: PathBuf,
    /// WDL/PDL files or folders (searched recursively), as TraceMind's `--sources` takes them.
    pub sources: Vec<PathBuf>,
    /// Where the artifacts go: `manifest.json`, `flows/`, `policies/`.
    pub out_dir: PathBuf,
    /// Overwrite existing files tm did not write (tm's own earlier artifacts are replaced
    /// without it).
    pub force: bool,
    /// Run TraceMind's linter first (its errors stop the compilation).
    pub lint: bool,
    /// How long the compilation may take.
    pub timeout: Duration,
}

/// A successful compilation.
#[derive(Debug, Clone, PartialEq)]
pub struct Compiled {
    /// The fresh `manifest.json`.
    pub manifest: PathBuf,
    /// Every file written, as the compiler lists them.
    pub artifacts: Vec<Artifact>,
}

/// One file the compiler wrote.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Artifact {
    /// `flow`, `policy`, `trigger`, `manifest` or `ir`.
    pub kind: String,
    /// The flow or policy id.
    pub identifier: String,
    /// The source it came from.
    pub source: PathBuf,
    /// The file written.
    pub output: PathBuf,
}

/// Why the sources could not be compiled.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CompileError {
    /// A `--sources` path does not exist.
    #[error("source not found: {}", path.display())]
    SourceNotFound {
        /// The path as given.
        path: PathBuf,
    },
    /// The Python interpreter does not exist.
    #[error(
        "{} not found{}: TraceMind's compiler runs in Python; name the interpreter with \
         --python PATH or runtime.python in the runtime config",
        python.display(),
        if is_bare_name(python) { " on PATH" } else { "" }
    )]
    PythonNotFound {
        /// The interpreter as configured.
        python: PathBuf,
    },
    /// Python runs but cannot import `tm.dsl` (or PyYAML, which the compiler needs).
    #[error("TraceMind's compiler is not installed for {python} (pip install 'trace-mind[yaml]')")]
    NotInstalled {
        /// The interpreter, as configured (and where it was found, for a bare name).
        python: String,
        /// Python's import error.
        detail: String,
    },
    /// The compiler refused the sources: each problem with its file, line and column.
    #[error("TraceMind's compiler refused the sources:\n  {}", problems.join("\n  "))]
    Refused {
        /// One line per problem, e.g. `flows/x.wdl:3:3: Unexpected indentation`.
        problems: Vec<String>,
    },
    /// The compiler would overwrite a file that tm did not write (or that was edited since).
    #[error(
        "{} exists and was not written by tm (or was edited since): tm replaces only the \
         artifacts its own compilations wrote (listed in {WRITTEN_LIST}); pass --force to \
         overwrite it",
        path.display()
    )]
    NotOurs {
        /// The file.
        path: PathBuf,
    },
    /// tm's earlier artifacts could not be moved aside, put back or listed.
    #[error(transparent)]
    Artifacts(WrittenError),
    /// The compiler did not finish in time (it was killed).
    #[error("TraceMind's compiler did not finish within {} s (killed)", timeout.as_secs_f64())]
    Timeout {
        /// The bound.
        timeout: Duration,
    },
    /// The run was interrupted while compiling (the compiler was stopped).
    #[error("interrupted while compiling (the compiler was stopped)")]
    Interrupted(Interrupt),
    /// Python exited without a report: a crash inside the compiler.
    #[error(
        "TraceMind's compiler ({python}) failed ({status}){}",
        tail_text(stderr_tail)
    )]
    Crashed {
        /// The interpreter.
        python: String,
        /// Its exit status.
        status: String,
        /// The last lines it wrote to stderr.
        stderr_tail: Vec<String>,
    },
    /// Python could not be started, or its output could not be read.
    #[error("cannot run {}", python.display())]
    Io {
        /// The interpreter.
        python: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The embedded Flow IR schema could not be written for the compiler.
    #[error("cannot write the Flow IR schema for the compiler to a temporary file")]
    Schema(#[source] std::io::Error),
}

fn tail_text(lines: &[String]) -> String {
    if lines.is_empty() {
        String::new()
    } else {
        format!("; last stderr lines:\n  {}", lines.join("\n  "))
    }
}

/// The shim's report.
#[derive(Deserialize)]
struct Report {
    ok: bool,
    #[serde(default)]
    artifacts: Vec<Artifact>,
    #[serde(default)]
    error: String,
    #[serde(default)]
    detail: String,
    #[serde(default)]
    problems: Vec<String>,
    /// With `error: "exists"`: the file the compiler would not overwrite.
    #[serde(default)]
    path: Option<PathBuf>,
}

/// Compiles `request.sources` into `request.out_dir` with TraceMind's compiler, replacing the
/// artifacts tm wrote there before ([`written`]; their files are moved on a blocking thread).
/// The compiler's own stderr lines (warnings) are logged at warn level. Must be called inside
/// a tokio runtime; the first interrupt stops the compiler (SIGTERM; SIGKILL at a second
/// one).
///
/// # Errors
/// See [`CompileError`]: no Python, no TraceMind, problems in the sources (with file and
/// line), a file tm did not write in the way, timeout, interrupt, crash. The output folder is
/// then as it was.
pub async fn compile_sources(
    request: &CompileRequest,
    interrupts: &mut Interrupts,
) -> Result<Compiled, CompileError> {
    if let Some(path) = request.sources.iter().find(|p| !p.exists()) {
        return Err(CompileError::SourceNotFound { path: path.clone() });
    }
    let python = locate_python(&request.python)?;
    let shown = shown_python(&request.python, &python);
    let schema = schema_file()?;
    let out_dir = request.out_dir.clone();
    let stash = blocking(&request.out_dir, move || written::Stash::take(&out_dir)).await?;
    match compile(request, &python, shown, schema.path(), interrupts).await {
        Ok(compiled) => {
            let outputs: Vec<PathBuf> = compiled
                .artifacts
                .iter()
                .map(|a| a.output.clone())
                .collect();
            blocking(&request.out_dir, move || stash.commit(&outputs)).await?;
            Ok(compiled)
        }
        Err(error) => {
            if let Err(CompileError::Artifacts(restore)) =
                blocking(&request.out_dir, move || stash.restore()).await
            {
                tracing::warn!("{restore}: {}", restore.source);
            }
            Err(error)
        }
    }
}

/// Runs `work` (file moves in `out_dir`) on tokio's blocking threads.
async fn blocking<T: Send + 'static>(
    out_dir: &Path,
    work: impl FnOnce() -> Result<T, WrittenError> + Send + 'static,
) -> Result<T, CompileError> {
    match tokio::task::spawn_blocking(work).await {
        Ok(result) => result.map_err(CompileError::Artifacts),
        Err(join) => Err(CompileError::Artifacts(WrittenError {
            action: "update the artifacts in",
            path: out_dir.to_path_buf(),
            source: Box::new(join),
        })),
    }
}

/// One run of the compiler.
async fn compile(
    request: &CompileRequest,
    python: &Path,
    shown: String,
    schema: &Path,
    interrupts: &mut Interrupts,
) -> Result<Compiled, CompileError> {
    let job = serde_json::json!({
        "sources": request.sources,
        "out_dir": request.out_dir,
        "force": request.force,
        "lint": request.lint,
        "schema": schema,
    });
    let spec = Spec::new(python).arg("-c").arg(SHIM).arg(job.to_string());
    let io_error = |source| CompileError::Io {
        python: python.to_path_buf(),
        source,
    };
    tracing::debug!(python = %python.display(), sources = ?request.sources, "running TraceMind's compiler");
    let output = rep_process::run(&spec, request.timeout, COMPILER_OUTPUT_BYTES, interrupts)
        .await
        .map_err(|error| match error {
            rep_process::RunError::Spawn(source) => io_error(source),
            rep_process::RunError::TimedOut(timeout) => CompileError::Timeout { timeout },
            rep_process::RunError::Interrupted(interrupt) => CompileError::Interrupted(interrupt),
        })?;
    let (status, stdout, stderr) = (output.status, output.stdout, output.stderr);
    let stderr = String::from_utf8_lossy(&stderr);
    let report = last_line(&stdout).and_then(|line| serde_json::from_slice::<Report>(line).ok());
    match report {
        Some(report) if report.ok => {
            for line in stderr.lines().filter(|l| !l.trim().is_empty()) {
                tracing::warn!("TraceMind's compiler: {line}");
            }
            let manifest = request.out_dir.join("manifest.json");
            tracing::info!(
                artifacts = report.artifacts.len(),
                manifest = %manifest.display(),
                "sources compiled"
            );
            Ok(Compiled {
                manifest,
                artifacts: report.artifacts,
            })
        }
        Some(report) if report.error == "not-installed" => {
            tracing::debug!("{shown}: {}", report.detail);
            Err(CompileError::NotInstalled {
                python: shown,
                detail: report.detail,
            })
        }
        Some(Report {
            error,
            path: Some(path),
            ..
        }) if error == "exists" => Err(CompileError::NotOurs { path }),
        Some(report) if !report.problems.is_empty() => Err(CompileError::Refused {
            problems: report.problems,
        }),
        _ => Err(crashed(shown, status, &stderr)),
    }
}

fn crashed(python: String, status: ExitStatus, stderr: &str) -> CompileError {
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    let from = lines.len().saturating_sub(STDERR_TAIL);
    CompileError::Crashed {
        python,
        status: status.to_string(),
        stderr_tail: lines[from..].iter().map(|l| (*l).to_owned()).collect(),
    }
}

/// `python` itself, or the file a bare name names on PATH.
fn locate_python(python: &Path) -> Result<PathBuf, CompileError> {
    let found = if is_bare_name(python) {
        find_on_path(python.as_os_str(), std::env::var_os("PATH").as_deref())
    } else {
        python.is_file().then(|| python.to_path_buf())
    };
    found.ok_or_else(|| CompileError::PythonNotFound {
        python: python.to_path_buf(),
    })
}

/// `python3 (/usr/bin/python3)` for a bare name, else the path.
fn shown_python(configured: &Path, found: &Path) -> String {
    if configured == found {
        configured.display().to_string()
    } else {
        format!("{} ({})", configured.display(), found.display())
    }
}

/// The embedded Flow IR schema in a temporary file (removed when dropped).
fn schema_file() -> Result<tempfile::NamedTempFile, CompileError> {
    use std::io::Write;
    let mut file = tempfile::Builder::new()
        .prefix("tm-flow-ir-schema-")
        .suffix(".json")
        .tempfile()
        .map_err(CompileError::Schema)?;
    file.write_all(flow_ir::SCHEMA_JSON.as_bytes())
        .and_then(|()| file.flush())
        .map_err(CompileError::Schema)?;
    Ok(file)
}

/// The last non-empty line of `bytes`.
fn last_line(bytes: &[u8]) -> Option<&[u8]> {
    bytes
        .split(|b| *b == b'\n')
        .rev()
        .find(|line| !line.iter().all(u8::is_ascii_whitespace))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_report_is_the_last_line() {
        assert_eq!(
            last_line(b"noise\n{\"ok\":true}\n\n"),
            Some(&b"{\"ok\":true}"[..])
        );
        assert_eq!(last_line(b"\n \n"), None);
    }

    #[test]
    fn a_missing_python_is_named_with_the_way_to_name_another() {
        let error = locate_python(Path::new("no-such-python-for-tm")).unwrap_err();
        let text = error.to_string();
        assert!(
            text.starts_with("no-such-python-for-tm not found on PATH"),
            "{text}"
        );
        assert!(text.contains("--python"), "{text}");
        let error = locate_python(Path::new("/no/such/python")).unwrap_err();
        assert!(
            error.to_string().starts_with("/no/such/python not found:"),
            "{error}"
        );
    }

    #[test]
    fn a_crash_quotes_the_last_stderr_lines() {
        let stderr: String = (0..30).map(|i| format!("line {i}\n")).collect();
        let status = std::os::unix::process::ExitStatusExt::from_raw(256);
        let error = crashed("python3".into(), status, &stderr).to_string();
        assert!(
            error.contains("line 29") && error.contains("line 10"),
            "{error}"
        );
        assert!(!error.contains("line 9\n"), "{error}");
    }
}

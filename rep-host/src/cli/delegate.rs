//! Coexistence with TraceMind's own `tm` (the Python package's console script): a command
//! this `tm` does not have is TraceMind's, and is handed, with all its arguments (and the
//! global flags TraceMind has too: `super::route`), to
//! TraceMind's CLI — the next `tm` on PATH that is not this binary, else `<python> -m tm`.
//! The handing over replaces this process (exec): TraceMind's CLI gets the terminal, the
//! signals and the exit code as if it had been called directly.

use std::ffi::{OsStr, OsString};
use std::os::unix::fs::MetadataExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use rep_host::{RuntimeConfig, find_all_on_path, find_on_path, is_bare_name, stderr_sink};
use rep_process::Spec;

use super::args::GlobalArgs;
use super::error::Failure;
use super::output::print_stdout;

/// Set for TraceMind's CLI when a command is handed to it: the `tm` binaries of this project
/// the hand-over went through (PATH syntax). Another copy of this `tm` further down PATH
/// skips them, so a hand-over never loops back.
pub const DELEGATED_FROM_ENV: &str = "REP_TM_DELEGATED_FROM";

/// The Python that runs `-m tm` when runtime.yaml names none.
const DEFAULT_PYTHON: &str = "python3";

/// How long a version probe of TraceMind's CLI may take.
const PROBE_WAIT: Duration = Duration::from_secs(5);

/// Bytes of a version probe's output kept.
const PROBE_OUTPUT_BYTES: usize = 4096;

/// What is said when TraceMind's CLI is missing.
const INSTALL_HINT: &str = "pip install 'trace-mind[yaml]'";

/// TraceMind's CLI, as found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TraceMindCli {
    /// A `tm` program on PATH that is not this binary.
    Program(PathBuf),
    /// `python -m tm`: the trace-mind package (of `version`) is installed for `python`.
    Module { python: PathBuf, version: String },
}

/// Why a TraceMind command could not be handed over.
#[derive(Debug, thiserror::Error)]
pub enum DelegateError {
    /// Neither a TraceMind `tm` on PATH nor trace-mind for the Python.
    #[error(
        "`tm {command}` is not a command of this tm (rep), and TraceMind's CLI, which would run \
         it, is not installed: no other tm on PATH, and {python} has no trace-mind package \
         ({INSTALL_HINT}). This tm's own commands: {own}"
    )]
    NotInstalled {
        command: String,
        python: String,
        own: String,
    },
    /// The exec itself failed.
    #[error("cannot run TraceMind's CLI {program}")]
    Exec {
        program: String,
        source: std::io::Error,
    },
}

/// Hands `args` (the command line for TraceMind's CLI: [`super::route::tracemind_args`]) of
/// the TraceMind command `command` to TraceMind's CLI. Returns only if that is impossible.
pub fn hand_over(global: &GlobalArgs, args: &[OsString], command: &str, own: &[String]) -> Failure {
    let python = configured_python(global);
    let Some(cli) = find(&python) else {
        return Failure::Delegate(DelegateError::NotInstalled {
            command: command.to_owned(),
            python: python.display().to_string(),
            own: own.join(", "),
        });
    };
    let (mut command, program) = match &cli {
        TraceMindCli::Program(path) => (Command::new(path), path.display().to_string()),
        TraceMindCli::Module { python, .. } => {
            let mut command = Command::new(python);
            command.args(["-m", "tm"]);
            (command, format!("{} -m tm", python.display()))
        }
    };
    let mut passed = delegated_from();
    passed.extend(std::env::current_exe().ok());
    if let Ok(joined) = std::env::join_paths(&passed) {
        command.env(DELEGATED_FROM_ENV, joined);
    }
    tracing::debug!(%program, "handing the command to TraceMind's CLI");
    stderr_sink().flush(Duration::from_millis(200));
    // Only returns on failure; std resets SIGPIPE to its default for the new program.
    let source = command.args(args).exec();
    Failure::Delegate(DelegateError::Exec { program, source })
}

/// `tm --version`: this tm, then the TraceMind CLI other commands go to.
pub fn print_version(global: &GlobalArgs) -> Result<(), Failure> {
    let python = configured_python(global);
    let theirs = match find(&python) {
        Some(TraceMindCli::Program(path)) => {
            let version = probe(&Spec::new(&path).arg("--version"))
                .unwrap_or_else(|| "version unknown".to_owned());
            format!("{} ({version})", path.display())
        }
        Some(TraceMindCli::Module { python, version }) => {
            format!("{} -m tm (trace-mind {version})", python.display())
        }
        None => format!("not found ({INSTALL_HINT})"),
    };
    let text = format!(
        "tm {} (rep: REP v0.1 host, Flow IR {})\nTraceMind CLI for other commands: {theirs}\n",
        env!("CARGO_PKG_VERSION"),
        flow_ir::SUPPORTED_VERSION,
    );
    print_stdout(text.as_bytes())?;
    Ok(())
}

/// TraceMind's CLI: the first `tm` on PATH that is neither this binary nor one a hand-over
/// already went through, else `python -m tm` when trace-mind is installed for `python`.
pub fn find(python: &Path) -> Option<TraceMindCli> {
    let mut ours: Vec<PathBuf> = delegated_from();
    ours.extend(std::env::current_exe().ok());
    let ours: Vec<(u64, u64)> = ours.iter().filter_map(|p| identity(p)).collect();
    let program = find_all_on_path(OsStr::new("tm"), std::env::var_os("PATH").as_deref())
        .into_iter()
        .find(|candidate| identity(candidate).is_none_or(|id| !ours.contains(&id)));
    if let Some(program) = program {
        return Some(TraceMindCli::Program(program));
    }
    let python = if is_bare_name(python) {
        find_on_path(python.as_os_str(), std::env::var_os("PATH").as_deref())?
    } else {
        python.to_path_buf()
    };
    let version = probe(&Spec::new(&python).args([
        "-c",
        "import importlib.metadata as m; print(m.version('trace-mind'))",
    ]))?;
    Some(TraceMindCli::Module { python, version })
}

/// `runtime.python` of the `--runtime-config` file (if it loads), else `python3`.
fn configured_python(global: &GlobalArgs) -> PathBuf {
    let configured = global.runtime_config.as_deref().and_then(|path| {
        RuntimeConfig::load(path)
            .map_err(|e| tracing::debug!("{e}: looking for TraceMind with {DEFAULT_PYTHON}"))
            .ok()
            .and_then(|config| config.runtime.python)
    });
    configured.unwrap_or_else(|| PathBuf::from(DEFAULT_PYTHON))
}

/// The binaries of [`DELEGATED_FROM_ENV`].
fn delegated_from() -> Vec<PathBuf> {
    std::env::var_os(DELEGATED_FROM_ENV)
        .map(|paths| std::env::split_paths(&paths).collect())
        .unwrap_or_default()
}

/// The file a path names (device and inode, after symlinks): two paths to one binary, by
/// symlink or hard link, are the same program.
fn identity(path: &Path) -> Option<(u64, u64)> {
    std::fs::metadata(path).ok().map(|m| (m.dev(), m.ino()))
}

/// The first line `command` prints on stdout when it succeeds within [`PROBE_WAIT`]; `None`
/// when it fails, says nothing or takes longer (then its process group is killed).
fn probe(command: &Spec) -> Option<String> {
    let output = rep_process::run_blocking(command, PROBE_WAIT, PROBE_OUTPUT_BYTES).ok()?;
    let text = String::from_utf8_lossy(&output.stdout);
    let line = text.lines().next()?.trim().to_owned();
    (output.status.success() && !line.is_empty()).then_some(line)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_probe_takes_the_first_line_of_a_successful_program() {
        let command = Spec::new("sh").args(["-c", "echo 'tm 1.2.0'; echo more"]);
        assert_eq!(probe(&command).as_deref(), Some("tm 1.2.0"));
        let failing = Spec::new("sh").args(["-c", "echo x; exit 3"]);
        assert_eq!(probe(&failing), None);
        assert_eq!(probe(&Spec::new("/no/such/program")), None);
    }
}

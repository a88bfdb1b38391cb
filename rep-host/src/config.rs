//! Runtime configuration (REP v0.1 §7): `runtime.yaml` plus CLI overrides, resolved to the
//! executor to start, its pinned sha256 and its sandbox (docs/security.md). Pure except
//! [`RuntimeConfig::load`], which reads the file, and the environment variables a sandbox
//! path names.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rep_process::Sandbox;
use serde::Deserialize;

/// The file name of the mock executor looked for beside the `tm` binary.
pub const DEFAULT_EXECUTOR_NAME: &str = "mock-executor";

/// Which engine runs the flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Engine {
    /// An out-of-process executor speaking REP (what this host runs).
    Proc,
    /// TraceMind's in-process Python engine (not available here).
    Python,
}

/// `runtime.yaml` as written: `runtime: { engine, language, plugins_language, executor_path }`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuntimeSection {
    /// `proc` or `python`.
    pub engine: Option<Engine>,
    /// The executor's language family (e.g. `rust`).
    pub language: Option<String>,
    /// The plugins' language family; must equal `language`.
    pub plugins_language: Option<String>,
    /// The executor path; relative paths are relative to the working directory, as in the
    /// reference host; `~/` is the home directory.
    pub executor_path: Option<PathBuf>,
    /// Extra arguments for the executor.
    #[serde(default)]
    pub executor_args: Vec<String>,
    /// Environment variables set for the executor (name → value).
    #[serde(default)]
    pub executor_env: BTreeMap<String, String>,
    /// Names of host environment variables passed through to the executor, beyond the
    /// allowlist (PATH, HOME, LANG, LC_*, TMPDIR, TZ).
    #[serde(default)]
    pub pass_env: Vec<String>,
    /// Pass the host's whole environment (tokens and credentials included). Default false.
    #[serde(default)]
    pub inherit_env: bool,
    /// The Python interpreter that has TraceMind installed: it compiles `--sources` and runs
    /// TraceMind's commands as `python -m tm` when no TraceMind `tm` is on PATH. A bare name
    /// is looked up on PATH; default `python3`. (TraceMind's own loader ignores this key.)
    pub python: Option<PathBuf>,
    /// The executor file's sha256 (64 hex digits, stored lowercase): any other file is
    /// refused before it runs (`tm executor pin` writes it). For a `.py` or `#!` script, the
    /// script's; its interpreter is not pinned.
    pub executor_sha256: Option<String>,
}

/// `runtime.yaml`'s `sandbox:` block as written (docs/security.md): every key optional.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SandboxSection {
    /// `false`: no network (a network namespace of the executor's own).
    pub network: Option<bool>,
    /// Only these paths are readable (Landlock); `$VAR`, `${VAR}`, `~/` expanded, relative
    /// paths relative to the config file's folder.
    pub read: Option<Vec<String>>,
    /// Only these paths are writable (Landlock); expanded like `read`.
    pub write: Option<Vec<String>>,
    /// Address space in MiB (`RLIMIT_AS`).
    pub memory_mb: Option<u64>,
    /// CPU time in seconds (`RLIMIT_CPU`).
    pub cpu_seconds: Option<u64>,
    /// Processes at once (`RLIMIT_NPROC`).
    pub processes: Option<u64>,
    /// Open files (`RLIMIT_NOFILE`).
    pub open_files: Option<u64>,
    /// Apply what the kernel can and log the rest, instead of refusing to run.
    #[serde(default)]
    pub best_effort: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuntimeFile {
    runtime: RuntimeSection,
    sandbox: Option<SandboxSection>,
}

/// A loaded runtime configuration.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RuntimeConfig {
    /// The file it came from, if any.
    pub source: Option<PathBuf>,
    /// Its `runtime` section.
    pub runtime: RuntimeSection,
    /// Its `sandbox` block, paths resolved; `None` when absent.
    pub sandbox: Option<Sandbox>,
}

/// Configuration errors; each names the file (and line, for YAML errors).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file cannot be read: missing, not a regular file, or over
    /// [`rep_files::caps::RUNTIME_CONFIG`].
    #[error("cannot read runtime config {path}")]
    Read {
        /// The file.
        path: PathBuf,
        /// What was wrong with it.
        source: rep_files::ReadError,
    },
    /// The file is not valid YAML or has an unknown or mistyped key.
    #[error("invalid runtime config {path}{location}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// ` line L, column C` when known.
        location: String,
        /// The parser's message.
        message: String,
    },
    /// `plugins_language` differs from `language`.
    #[error(
        "runtime config {path}: plugins_language {plugins:?} does not match language {language:?}; \
         plugins must be written for the executor's language family: set runtime.language and \
         runtime.plugins_language to the same value"
    )]
    LanguageMismatch {
        /// The file.
        path: PathBuf,
        /// `language`.
        language: String,
        /// `plugins_language`.
        plugins: String,
    },
    /// `engine: python` was asked for.
    #[error(
        "the in-process Python engine belongs to TraceMind's Python package (`pip install trace-mind`); \
         this host runs flows on out-of-process executors: use --engine proc"
    )]
    PythonEngine,
    /// `executor_sha256` (or `--executor-sha256`) is not 64 hex digits.
    #[error("{origin}: {given:?} is not a sha256 (64 hex digits, as `tm executor pin` writes)")]
    BadSha256 {
        /// Where it was given: `runtime.executor_sha256 in FILE` or `--executor-sha256`.
        origin: String,
        /// What was given.
        given: String,
    },
    /// A value of the `sandbox:` block is unusable (a zero limit, an unset variable in a
    /// path).
    #[error("runtime config {path}: sandbox.{key}: {message}")]
    Sandbox {
        /// The file.
        path: PathBuf,
        /// The key.
        key: &'static str,
        /// What is wrong.
        message: String,
    },
    /// No executor was configured and none is installed beside `tm`.
    #[error(
        "no executor: pass --executor-path, set runtime.executor_path in a --runtime-config file, \
         or install {DEFAULT_EXECUTOR_NAME} beside tm (looked for {looked_for})"
    )]
    NoExecutor {
        /// Where the default executor was looked for.
        looked_for: String,
    },
}

impl RuntimeConfig {
    /// Reads (a regular file, at most [`rep_files::caps::RUNTIME_CONFIG`]) and checks
    /// `path`.
    ///
    /// # Errors
    /// [`ConfigError::Read`], [`ConfigError::Parse`] (with line and column), or
    /// [`ConfigError::LanguageMismatch`].
    pub fn load(path: &Path) -> Result<RuntimeConfig, ConfigError> {
        let text =
            rep_files::read_to_string(path, rep_files::caps::RUNTIME_CONFIG).map_err(|source| {
                ConfigError::Read {
                    path: path.to_owned(),
                    source,
                }
            })?;
        RuntimeConfig::parse(&text, path)
    }

    /// Parses YAML `text` read from `path` (named in errors).
    ///
    /// # Errors
    /// As [`RuntimeConfig::load`], without the read.
    pub fn parse(text: &str, path: &Path) -> Result<RuntimeConfig, ConfigError> {
        let file: RuntimeFile = serde_saphyr::from_str(text).map_err(|e| ConfigError::Parse {
            path: path.to_owned(),
            location: e
                .location()
                .map(|l| format!(" at line {}, column {}", l.line(), l.column()))
                .unwrap_or_default(),
            message: bare_message(&e),
        })?;
        let mut runtime = file.runtime;
        if let Some(given) = runtime.executor_sha256.take() {
            runtime.executor_sha256 = Some(parse_sha256(
                &given,
                &format!("runtime.executor_sha256 in {}", path.display()),
            )?);
        }
        let sandbox = file
            .sandbox
            .map(|section| resolve_sandbox(&section, path))
            .transpose()?;
        if let (Some(language), Some(plugins)) = (&runtime.language, &runtime.plugins_language)
            && language != plugins
        {
            return Err(ConfigError::LanguageMismatch {
                path: path.to_owned(),
                language: language.clone(),
                plugins: plugins.clone(),
            });
        }
        Ok(RuntimeConfig {
            source: Some(path.to_owned()),
            runtime,
            sandbox,
        })
    }
}

/// `given` as a sha256 in lowercase hex.
///
/// # Errors
/// [`ConfigError::BadSha256`] naming `origin` when it is not 64 hex digits.
pub fn parse_sha256(given: &str, origin: &str) -> Result<String, ConfigError> {
    let hex = given.trim();
    if hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(hex.to_ascii_lowercase())
    } else {
        Err(ConfigError::BadSha256 {
            origin: origin.to_owned(),
            given: given.to_owned(),
        })
    }
}

/// The `sandbox:` block of `file` as a policy: limits checked (at least 1), paths expanded
/// (`$VAR`, `${VAR}`, `~/`) and made absolute against the folder of `file`.
fn resolve_sandbox(section: &SandboxSection, file: &Path) -> Result<Sandbox, ConfigError> {
    let error = |key: &'static str, message: String| ConfigError::Sandbox {
        path: file.to_owned(),
        key,
        message,
    };
    let base = std::path::absolute(file)
        .ok()
        .and_then(|f| f.parent().map(Path::to_path_buf))
        .unwrap_or_default();
    let paths = |key: &'static str, given: &Option<Vec<String>>| {
        given
            .as_ref()
            .map(|list| {
                list.iter()
                    .map(|p| expand_path(p, &base).map_err(|m| error(key, m)))
                    .collect::<Result<Vec<_>, _>>()
            })
            .transpose()
    };
    let positive = |key: &'static str, value: Option<u64>| match value {
        Some(0) => Err(error(key, "must be at least 1".into())),
        other => Ok(other),
    };
    Ok(Sandbox {
        network: section.network.unwrap_or(true),
        read: paths("read", &section.read)?,
        write: paths("write", &section.write)?,
        memory_mb: positive("memory_mb", section.memory_mb)?,
        cpu_seconds: positive("cpu_seconds", section.cpu_seconds)?,
        processes: positive("processes", section.processes)?,
        open_files: positive("open_files", section.open_files)?,
        best_effort: section.best_effort,
    })
}

/// A sandbox path: `$NAME` and `${NAME}` replaced by the variable's value (`$TMPDIR` unset is
/// `/tmp`, any other unset variable an error), a leading `~/` by `$HOME`, then made
/// absolute against `base` and normalized (`.` and `..` removed lexically).
fn expand_path(given: &str, base: &Path) -> Result<PathBuf, String> {
    let mut out = String::new();
    let mut rest = given;
    if let Some(after) = rest.strip_prefix("~/").or((rest == "~").then_some("")) {
        out.push_str(&variable("HOME", given)?);
        out.push('/');
        rest = after;
    }
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        let (name, tail) = if let Some(braced) = after.strip_prefix('{') {
            let end = braced
                .find('}')
                .ok_or_else(|| format!("{given:?}: `${{` without a closing `}}`"))?;
            (&braced[..end], &braced[end + 1..])
        } else {
            let end = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            (&after[..end], &after[end..])
        };
        if name.is_empty() {
            return Err(format!("{given:?}: `$` without a variable name"));
        }
        out.push_str(&variable(name, given)?);
        rest = tail;
    }
    out.push_str(rest);
    if out.is_empty() {
        return Err(format!("{given:?} is empty"));
    }
    let mut path = PathBuf::new();
    for component in base.join(&out).components() {
        match component {
            std::path::Component::ParentDir => {
                path.pop();
            }
            std::path::Component::CurDir => {}
            other => path.push(other),
        }
    }
    Ok(path)
}

/// The value of the variable `name` in this environment, for the sandbox path `given`.
fn variable(name: &str, given: &str) -> Result<String, String> {
    match std::env::var(name) {
        Ok(value) if !value.is_empty() => Ok(value),
        _ if name == "TMPDIR" => Ok("/tmp".into()),
        Ok(_) => Err(format!("{given:?}: the variable {name} is empty")),
        Err(_) => Err(format!("{given:?}: the variable {name} is not set")),
    }
}

/// The parser's message without its location (the error names that once) or control
/// characters.
fn bare_message(error: &serde_saphyr::Error) -> String {
    use serde_saphyr::MessageFormatter;
    serde_saphyr::DefaultMessageFormatter
        .format_message(error.without_snippet())
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// Command-line overrides; flags win over the file (REP v0.1 §7).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Overrides {
    /// `--engine`.
    pub engine: Option<Engine>,
    /// `--executor-path`.
    pub executor_path: Option<PathBuf>,
    /// `--executor-sha256` (already checked, lowercase): wins over the file's.
    pub executor_sha256: Option<String>,
}

/// The executor to start, its arguments and its environment policy.
#[derive(Debug, Clone, PartialEq)]
pub struct ResolvedExecutor {
    /// The executor path as configured: a bare name is looked up on PATH when it is started,
    /// a relative path is relative to the working directory.
    pub path: PathBuf,
    /// Extra arguments from the configuration.
    pub args: Vec<String>,
    /// What the executor's environment holds besides `TRACE_MIND_*`.
    pub env: EnvPolicy,
    /// Where the path came from (named in messages about it).
    pub source: ExecutorSource,
    /// The sha256 the executor file must have (lowercase hex), if pinned.
    pub sha256: Option<String>,
    /// The sandbox to run it in, if any.
    pub sandbox: Option<Sandbox>,
}

/// Where the executor path came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExecutorSource {
    /// `--executor-path` (or the caller's own choice).
    Flag,
    /// `runtime.executor_path` of this runtime config file.
    ConfigFile(PathBuf),
    /// The default: the mock executor beside the `tm` binary.
    BesideTm,
}

/// The environment an executor gets (REP v0.1 §6 plus host policy): by default only the
/// allowlist [`ALLOWED_ENV`] (and `LC_*`) of the host's variables, the names in `pass`, and
/// the values in `set`; with `inherit`, everything.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EnvPolicy {
    /// Pass the whole host environment.
    pub inherit: bool,
    /// Host variables passed through by name.
    pub pass: Vec<String>,
    /// Variables set to fixed values (win over passed ones).
    pub set: BTreeMap<String, String>,
}

/// Host variables always passed to the executor (plus every `LC_*`).
pub const ALLOWED_ENV: [&str; 5] = ["PATH", "HOME", "LANG", "TMPDIR", "TZ"];

impl EnvPolicy {
    /// Whether the host variable `name` is passed through.
    pub fn passes(&self, name: &str) -> bool {
        self.inherit
            || ALLOWED_ENV.contains(&name)
            || name.starts_with("LC_")
            || self.pass.iter().any(|p| p == name)
    }
}

/// Picks the executor: `--executor-path` > `runtime.executor_path` > `mock-executor` in
/// `default_dir` (the folder of the `tm` binary).
///
/// # Errors
/// [`ConfigError::PythonEngine`] for `engine: python`; [`ConfigError::NoExecutor`] when
/// nothing is configured and no default executor exists.
pub fn resolve_executor(
    config: &RuntimeConfig,
    overrides: &Overrides,
    default_dir: Option<&Path>,
) -> Result<ResolvedExecutor, ConfigError> {
    if overrides.engine.or(config.runtime.engine) == Some(Engine::Python) {
        return Err(ConfigError::PythonEngine);
    }
    let args = config.runtime.executor_args.clone();
    let env = EnvPolicy {
        inherit: config.runtime.inherit_env,
        pass: config.runtime.pass_env.clone(),
        set: config.runtime.executor_env.clone(),
    };
    let resolved = |path, source| ResolvedExecutor {
        path,
        args: args.clone(),
        env: env.clone(),
        source,
        sha256: overrides
            .executor_sha256
            .clone()
            .or_else(|| config.runtime.executor_sha256.clone()),
        sandbox: config.sandbox.clone().filter(|s| !s.is_empty()),
    };
    if let Some(path) = overrides.executor_path.clone() {
        return Ok(resolved(expand_home(path), ExecutorSource::Flag));
    }
    if let Some(path) = config.runtime.executor_path.clone() {
        let source = match &config.source {
            Some(file) => ExecutorSource::ConfigFile(file.clone()),
            None => ExecutorSource::Flag,
        };
        return Ok(resolved(expand_home(path), source));
    }
    let candidate = default_dir.map(|dir| dir.join(DEFAULT_EXECUTOR_NAME));
    match candidate {
        Some(path) if path.is_file() => Ok(resolved(path, ExecutorSource::BesideTm)),
        Some(path) => Err(ConfigError::NoExecutor {
            looked_for: path.display().to_string(),
        }),
        None => Err(ConfigError::NoExecutor {
            looked_for: "the folder of tm (unknown)".into(),
        }),
    }
}

fn expand_home(path: PathBuf) -> PathBuf {
    match (path.strip_prefix("~"), std::env::var_os("HOME")) {
        (Ok(rest), Some(home)) => PathBuf::from(home).join(rest),
        _ => path,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<RuntimeConfig, ConfigError> {
        RuntimeConfig::parse(text, Path::new("runtime.yaml"))
    }

    #[test]
    fn reads_the_reference_layout() {
        let config = parse("runtime:\n  engine: proc\n  language: rust\n  plugins_language: rust\n  executor_path: target/release/mock-executor\n").unwrap();
        assert_eq!(config.runtime.engine, Some(Engine::Proc));
        assert_eq!(
            config.runtime.executor_path,
            Some(PathBuf::from("target/release/mock-executor"))
        );
    }

    #[test]
    fn unknown_key_is_an_error_naming_file_and_line() {
        let error = parse("runtime:\n  engine: proc\n  executor: x\n")
            .unwrap_err()
            .to_string();
        assert!(error.contains("runtime.yaml"), "{error}");
        assert!(error.contains("line 3"), "{error}");
        assert!(error.contains("executor"), "{error}");
    }

    #[test]
    fn malformed_yaml_is_an_error_naming_the_file() {
        let error = parse("runtime: [unclosed\n").unwrap_err();
        assert!(matches!(error, ConfigError::Parse { .. }), "{error}");
    }

    #[test]
    fn language_mismatch_gives_guidance() {
        let error = parse("runtime:\n  language: rust\n  plugins_language: python\n")
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("set runtime.language and runtime.plugins_language to the same value"),
            "{error}"
        );
    }

    #[test]
    fn parse_errors_name_their_location_once() {
        for yaml in [
            "runtime:\n  engine: proc\n  executor: x\n",
            "runtime: [unclosed\n",
        ] {
            let error = parse(yaml).unwrap_err().to_string();
            assert_eq!(error.matches("line").count(), 1, "{error}");
            assert!(!error.contains('\n'), "{error}");
        }
    }

    #[test]
    fn the_python_key_and_the_source_of_the_executor_path() {
        let config = parse("runtime:\n  python: /opt/tm/bin/python\n  executor_path: x\n").unwrap();
        assert_eq!(
            config.runtime.python,
            Some(PathBuf::from("/opt/tm/bin/python"))
        );
        let resolved = resolve_executor(&config, &Overrides::default(), None).unwrap();
        assert_eq!(
            resolved.source,
            ExecutorSource::ConfigFile(PathBuf::from("runtime.yaml"))
        );
    }

    #[test]
    fn flags_win_over_the_file_and_python_is_refused() {
        let config = parse("runtime:\n  engine: proc\n  executor_path: from-file\n").unwrap();
        let overrides = Overrides {
            executor_path: Some("from-flag".into()),
            ..Overrides::default()
        };
        assert_eq!(
            resolve_executor(&config, &overrides, None).unwrap().path,
            PathBuf::from("from-flag")
        );
        assert_eq!(
            resolve_executor(&config, &Overrides::default(), None)
                .unwrap()
                .path,
            PathBuf::from("from-file")
        );
        let python = Overrides {
            engine: Some(Engine::Python),
            ..Overrides::default()
        };
        assert!(matches!(
            resolve_executor(&config, &python, None),
            Err(ConfigError::PythonEngine)
        ));
    }

    #[test]
    fn environment_policy_allows_only_the_listed_variables() {
        let config = parse("runtime:\n  pass_env: [FAKE_MODE]\n  executor_env: {A: b}\n").unwrap();
        let env = resolve_executor(
            &config,
            &Overrides {
                executor_path: Some("x".into()),
                ..Overrides::default()
            },
            None,
        )
        .unwrap()
        .env;
        for name in [
            "PATH",
            "HOME",
            "LANG",
            "LC_ALL",
            "TMPDIR",
            "TZ",
            "FAKE_MODE",
        ] {
            assert!(env.passes(name), "{name}");
        }
        for name in ["AWS_SECRET_ACCESS_KEY", "GITHUB_TOKEN", "LD_PRELOAD"] {
            assert!(!env.passes(name), "{name}");
        }
        assert_eq!(env.set.get("A").map(String::as_str), Some("b"));
        let all = parse("runtime:\n  inherit_env: true\n").unwrap();
        let env = resolve_executor(
            &all,
            &Overrides {
                executor_path: Some("x".into()),
                ..Overrides::default()
            },
            None,
        )
        .unwrap()
        .env;
        assert!(env.passes("GITHUB_TOKEN"));
    }

    #[test]
    fn default_executor_is_looked_for_beside_tm() {
        let dir = tempfile::tempdir().unwrap();
        let error = resolve_executor(
            &RuntimeConfig::default(),
            &Overrides::default(),
            Some(dir.path()),
        )
        .unwrap_err();
        assert!(error.to_string().contains("mock-executor"), "{error}");
        std::fs::write(dir.path().join(DEFAULT_EXECUTOR_NAME), "").unwrap();
        let found = resolve_executor(
            &RuntimeConfig::default(),
            &Overrides::default(),
            Some(dir.path()),
        )
        .unwrap();
        assert_eq!(found.path, dir.path().join(DEFAULT_EXECUTOR_NAME));
    }
}

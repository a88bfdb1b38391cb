//! Helpers of the pinning and sandbox tests (tests/tests/sandbox.rs, native/sandbox.rs):
//! runtime.yaml files with a `sandbox:` block, pinning through `tm executor pin`, the
//! locked-down runtime.yaml of docs/security.md, and rep-conformance inside the sandbox.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::common::{Run, bin_dir, tm};

/// Whether the sandbox tests must run here (CI sets `REP_SANDBOX_REQUIRED=1`): then a
/// kernel feature or a privilege they need is a failure, not a skip.
pub fn sandbox_required() -> bool {
    std::env::var("REP_SANDBOX_REQUIRED").as_deref() == Ok("1")
}

/// Whether this process is root (fanotify permission events and the `processes` refusal
/// need it).
pub fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// Reports that `what` cannot be tested here: a failure under `REP_SANDBOX_REQUIRED=1`, else
/// a note on stderr (the test then returns early).
pub fn sandbox_unavailable(what: &str) {
    assert!(!sandbox_required(), "REP_SANDBOX_REQUIRED=1, but {what}");
    eprintln!("skipped: {what}");
}

/// A scratch folder every user may enter and read (0755), for tests that run `tm` as
/// another user too.
pub fn scratch() -> tempfile::TempDir {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    dir
}

/// The system folders a dynamically linked executor (and bash, python3) needs to start.
pub const SYSTEM_READ: &str = "/usr, /lib, /lib64, /bin, /etc";

/// Writes `dir/runtime.yaml` running `executor` with `env` (executor_env) and the `sandbox`
/// block's body (YAML lines without indentation; empty: no block).
pub fn sandbox_config(dir: &Path, executor: &Path, env: &[(&str, &str)], sandbox: &str) -> PathBuf {
    let mut yaml = format!(
        "# written by a test\nruntime:\n  engine: proc\n  executor_path: {}  # the executor\n",
        executor.display()
    );
    if !env.is_empty() {
        yaml.push_str("  executor_env:\n");
        for (k, v) in env {
            yaml.push_str(&format!("    {k}: {v:?}\n"));
        }
    }
    if !sandbox.is_empty() {
        yaml.push_str("sandbox:\n");
        for line in sandbox.lines() {
            yaml.push_str(&format!("  {line}\n"));
        }
    }
    let path = dir.join("runtime.yaml");
    std::fs::write(&path, yaml).expect("write runtime.yaml");
    path
}

/// `tm executor pin --runtime-config CONFIG`: the hash it printed (also written into
/// CONFIG).
pub fn pin(config: &Path) -> String {
    let run = tm(
        &[
            "executor",
            "pin",
            "--runtime-config",
            config.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(run.code, 0, "tm executor pin failed:\n{}", run.stderr);
    let hash = run
        .stdout
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_owned();
    assert_eq!(hash.len(), 64, "{}", run.stdout);
    let written = std::fs::read_to_string(config).unwrap();
    assert!(
        written.contains(&format!("executor_sha256: \"{hash}\"")),
        "{written}"
    );
    hash
}

/// The locked-down runtime.yaml of docs/security.md (the YAML block after the line
/// `<!-- locked-down runtime.yaml -->`), running `executor`, written into `dir`.
pub fn locked_down_config(dir: &Path, executor: &Path) -> PathBuf {
    let doc =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/security.md"))
            .expect("docs/security.md");
    let after = doc
        .split_once("<!-- locked-down runtime.yaml -->")
        .expect("docs/security.md marks its locked-down runtime.yaml")
        .1;
    let block = after
        .split_once("```yaml\n")
        .and_then(|(_, rest)| rest.split_once("```"))
        .expect("a yaml block")
        .0;
    let yaml: Vec<String> = block
        .lines()
        .map(|line| match line.split_once("executor_path:") {
            Some((indent, _)) => format!("{indent}executor_path: {}", executor.display()),
            None => line.to_owned(),
        })
        .collect();
    let path = dir.join("runtime.yaml");
    std::fs::write(&path, yaml.join("\n") + "\n").expect("write runtime.yaml");
    path
}

/// `rep-conformance run --config CONFIG --fixtures FIXTURES --json REPORT`: the run and its
/// JSON report (`Value::Null` when none was written).
pub fn conformance_with_config(config: &Path, fixtures: &Path, strict: bool) -> (Run, Value) {
    let dir = tempfile::tempdir().expect("tempdir");
    let report = dir.path().join("report.json");
    let mut command = Command::new(bin_dir().join("rep-conformance"));
    command
        .arg("run")
        .arg("--config")
        .arg(config)
        .arg("--fixtures")
        .arg(fixtures)
        .arg("--json")
        .arg(&report);
    if strict {
        command.arg("--strict");
    }
    let started = std::time::Instant::now();
    let run = Run::of(command.output().expect("rep-conformance runs"), started);
    let json = std::fs::read(&report)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .unwrap_or(Value::Null);
    (run, json)
}

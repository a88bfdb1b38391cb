//! What a certificate is about: the executor as run (its file's sha256, command line and the
//! names of the variables in its environment — never their values), the suite (version and
//! catalogue hash) and the fixtures (their hash). Recorded in the JSON report and recomputed by
//! `rep-conformance verify`.

use std::io::Read;
use std::path::Path;

use rep_spec::{ENV_ALLOW_SHELL, ENV_ENGINE_TIMEOUT, ENV_LOG_JSON, ENV_RUN_ID, ENV_TRACE_ID};
use serde::Serialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::conn::Target;
use crate::flows::Flow;
use crate::requirements::sha256_hex;

/// The variables of REP v0.1 §6 every executor gets.
pub const PROTOCOL_ENV: [&str; 5] = [
    ENV_RUN_ID,
    ENV_TRACE_ID,
    ENV_ENGINE_TIMEOUT,
    ENV_ALLOW_SHELL,
    ENV_LOG_JSON,
];

/// The names of the variables in the executor's environment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EnvNames {
    /// The whole environment of rep-conformance was passed (`inherit_env: true`).
    pub inherit: bool,
    /// Variables of rep-conformance's environment passed through (the allowlist, `--pass-env`,
    /// `pass_env`), sorted.
    pub passed: Vec<String>,
    /// Variables set to a value (`--env`, `executor_env`), sorted.
    pub set: Vec<String>,
    /// The `TRACE_MIND_*` variables of REP v0.1 §6.
    pub protocol: Vec<&'static str>,
}

/// The executor as the suite ran it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExecutorIdentity {
    /// The lowercase hex sha256 of the executor file (the script, for a `.py` executor), or
    /// `None` when it cannot be read. For a pinned executor (`runtime.executor_sha256` of
    /// `--config`), the pin: every process of the suite ran exactly those bytes.
    pub sha256: Option<String>,
    /// The command line as run: the program, then its arguments.
    pub command: Vec<String>,
    /// The names in its environment.
    pub env: EnvNames,
}

/// Identifies `target` now.
pub fn identify(target: &Target) -> ExecutorIdentity {
    let mut passed: Vec<String> = std::env::vars_os()
        .filter_map(|(name, _)| name.into_string().ok())
        .filter(|name| target.env.passes(name) && !target.env.set.contains_key(name))
        .collect();
    passed.sort();
    ExecutorIdentity {
        sha256: target
            .sha256
            .clone()
            .or_else(|| file_sha256(&target.path).ok()),
        command: target.command_line(),
        env: EnvNames {
            inherit: target.env.inherit,
            passed,
            set: target.env.set.keys().cloned().collect(),
            protocol: PROTOCOL_ENV.to_vec(),
        },
    }
}

/// The lowercase hex sha256 of the regular file `path`, read in blocks (a FIFO or a device is
/// refused without blocking, [`rep_files::open_regular`]).
///
/// # Errors
/// Not a regular file, or unreadable.
pub fn file_sha256(path: &Path) -> Result<String, rep_files::ReadError> {
    let (mut file, _) = rep_files::open_regular(path)?;
    let mut hasher = Sha256::new();
    let mut block = vec![0; 1 << 16];
    loop {
        let n = file.read(&mut block)?;
        if n == 0 {
            break;
        }
        hasher.update(&block[..n]);
    }
    Ok(hex::encode(hasher.finalize()))
}

/// The fixtures as a hash: sha256 of the canonical JSON of every loaded flow, in load order
/// (`{name, ir, inputs, expect, outputs, long_running}`; an `ir_path` counts by its content).
pub fn fixtures_sha256(flows: &[Flow]) -> String {
    let flows: Vec<Value> = flows
        .iter()
        .map(|f| {
            json!({
                "name": f.name,
                "ir": f.ir,
                "inputs": f.inputs,
                "expect": f.expect.as_str(),
                "outputs": f.outputs,
                "long_running": f.long_running,
            })
        })
        .collect();
    sha256_hex(flow_ir::canonical_json(&Value::Array(flows)).as_bytes())
}

/// The catalogue as a hash: sha256 of `rep-conformance list` (id, level, section, title of
/// every test), so two builds with the same version but other tests differ.
pub fn catalogue_sha256() -> String {
    sha256_hex(crate::report::human::catalogue().as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_identity_names_variables_without_values() {
        let dir = tempfile::tempdir().unwrap();
        let exe = dir.path().join("exe");
        std::fs::write(&exe, b"abc").unwrap();
        let mut target = Target::new(&exe);
        target.env.set.insert("SECRET".into(), "hunter2".into());
        target.env.pass.push("PATH".into());
        let id = identify(&target);
        assert_eq!(
            id.sha256.as_deref(),
            Some("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        );
        assert_eq!(id.env.set, ["SECRET"]);
        let text = serde_json::to_string(&id).unwrap();
        assert!(!text.contains("hunter2"), "{text}");
        assert!(identify(&Target::new(dir.path())).sha256.is_none());
    }

    #[test]
    fn fixture_hashes_change_with_the_fixtures() {
        let flows = crate::flows::builtin(&["finish".into(), "switch".into()]);
        let a = fixtures_sha256(&flows);
        assert_eq!(a, fixtures_sha256(&flows));
        assert_ne!(a, fixtures_sha256(&flows[..1]));
    }
}

//! Expected-failure baselines (`--baseline FILE`): known failures, each with a reason.
//!
//! The file is YAML (JSON works too): a mapping from test id to the reason it is expected to
//! fail.
//!
//! ```yaml
//! # Known failures of my-executor; remove an entry once its test passes.
//! REP-RPC-001: "the reader drops lines it cannot parse (issue #12)"
//! REP-PRC-002: "SIGTERM is handled by the supervisor, not by us"
//! ```
//!
//! A baselined test that fails (or warns) is reported but does not fail the run; a baselined
//! test that passes fails the run ("stale baseline entry: remove it"), so a baseline only
//! ever shrinks.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::catalogue;

/// A `--baseline` file that cannot be used; names the file and what is wrong.
#[derive(Debug, thiserror::Error)]
#[error("baseline {path}: {message}")]
pub struct BaselineError {
    /// The file.
    pub path: PathBuf,
    /// What is wrong with it.
    pub message: String,
}

/// A loaded baseline: test id → reason.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Baseline {
    /// The file it came from.
    pub path: PathBuf,
    /// Test id → the reason it is expected to fail.
    pub entries: BTreeMap<String, String>,
}

impl Baseline {
    /// Reads and checks `path`.
    ///
    /// # Errors
    /// [`BaselineError`]: unreadable file, invalid YAML (with line and column), not a mapping
    /// of strings, an id not in the catalogue, an empty reason.
    pub fn load(path: &Path) -> Result<Baseline, BaselineError> {
        let text = rep_files::read_to_string(path, rep_files::caps::BASELINE).map_err(|e| {
            BaselineError {
                path: path.to_path_buf(),
                message: format!("cannot read: {e}"),
            }
        })?;
        Baseline::parse(&text, path)
    }

    /// Parses `text` read from `path` (named in errors).
    ///
    /// # Errors
    /// As [`Baseline::load`], without the read.
    pub fn parse(text: &str, path: &Path) -> Result<Baseline, BaselineError> {
        let error = |message: String| BaselineError {
            path: path.to_path_buf(),
            message,
        };
        let entries: BTreeMap<String, String> = if text.trim().is_empty() {
            BTreeMap::new()
        } else {
            serde_saphyr::from_str(text).map_err(|e| {
                let location = e
                    .location()
                    .map(|l| format!(" at line {}, column {}", l.line(), l.column()))
                    .unwrap_or_default();
                let first = e.to_string();
                let first = first.lines().next().unwrap_or_default().to_owned();
                error(format!(
                    "expected a mapping of test id to reason{location}: {first}"
                ))
            })?
        };
        for (id, reason) in &entries {
            if catalogue::find(id).is_none() {
                return Err(error(format!(
                    "{id} is not a test id (`rep-conformance list` prints them)"
                )));
            }
            if reason.trim().is_empty() {
                return Err(error(format!(
                    "{id} has no reason: say why it is expected to fail"
                )));
            }
        }
        Ok(Baseline {
            path: path.to_path_buf(),
            entries,
        })
    }

    /// The reason `id` is expected to fail, if it is baselined.
    pub fn reason(&self, id: &str) -> Option<&str> {
        self.entries.get(id).map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Baseline, BaselineError> {
        Baseline::parse(text, Path::new("baseline.yaml"))
    }

    #[test]
    fn reads_ids_with_reasons_and_names_bad_entries() {
        let baseline =
            parse("# known\nREP-RPC-001: \"drops bad lines\"\nREP-PRC-002: supervisor\n").unwrap();
        assert_eq!(baseline.reason("REP-RPC-001"), Some("drops bad lines"));
        assert_eq!(baseline.reason("REP-FRM-001"), None);
        assert!(parse("").unwrap().entries.is_empty());
        assert!(parse("{\"REP-RPC-001\": \"json works\"}").is_ok());

        let unknown = parse("REP-NOPE-001: x\n").unwrap_err().to_string();
        assert!(
            unknown.contains("baseline.yaml") && unknown.contains("REP-NOPE-001"),
            "{unknown}"
        );
        let empty = parse("REP-RPC-001: \"\"\n").unwrap_err().to_string();
        assert!(empty.contains("no reason"), "{empty}");
        let list = parse("- REP-RPC-001\n").unwrap_err().to_string();
        assert!(list.contains("mapping of test id to reason"), "{list}");
    }
}

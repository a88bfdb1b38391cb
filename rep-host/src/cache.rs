//! The capability cache (REP v0.1 §7): on a capabilities mismatch the host records the
//! executor's capabilities at `~/.trace_mind/runtime_capabilities/<engine>.json`.

use std::path::{Path, PathBuf};

use rep_spec::Capabilities;
use serde::Serialize;

/// One cache file's content.
#[derive(Debug, Clone, Serialize)]
pub struct CacheRecord<'a> {
    /// The engine name (`proc`).
    pub engine: &'a str,
    /// The executor path as configured.
    pub executor: String,
    /// What the executor advertised.
    pub capabilities: &'a Capabilities,
    /// The step kinds the flow needed and the executor lacked.
    pub missing_step_kinds: &'a [String],
    /// When this was written, RFC 3339 UTC.
    pub written_at: String,
}

/// Errors of the cache; each names the file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CacheError {
    /// `HOME` is not set, so there is no cache folder.
    #[error("HOME is not set: no capability cache folder")]
    NoHome,
    /// Removing a cache file, or making its folder, failed.
    #[error("capability cache {path}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Writing a cache file failed.
    #[error("capability cache {path}")]
    Write {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        source: rep_files::WriteError,
    },
    /// An engine name that is not a plain file name.
    #[error("invalid engine name {0:?}: use letters, digits, '-', '_' or '.'")]
    BadEngine(String),
}

/// `$HOME/.trace_mind/runtime_capabilities`.
///
/// # Errors
/// [`CacheError::NoHome`].
pub fn cache_dir() -> Result<PathBuf, CacheError> {
    let home = std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .ok_or(CacheError::NoHome)?;
    Ok(Path::new(&home)
        .join(".trace_mind")
        .join("runtime_capabilities"))
}

fn file_for(dir: &Path, engine: &str) -> Result<PathBuf, CacheError> {
    let plain = !engine.is_empty()
        && engine != "."
        && engine != ".."
        && engine
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if !plain {
        return Err(CacheError::BadEngine(engine.to_owned()));
    }
    Ok(dir.join(format!("{engine}.json")))
}

/// Writes `record` to `<dir>/<engine>.json` atomically
/// ([`rep_files::write_atomic`]: a temporary file in the same folder, synced, renamed over
/// the old one). A reader sees the old file or the new one, never half of either. Returns the
/// path.
///
/// # Errors
/// [`CacheError::Io`] naming the folder, [`CacheError::Write`] the file.
pub fn write_cache(dir: &Path, record: &CacheRecord<'_>) -> Result<PathBuf, CacheError> {
    let path = file_for(dir, record.engine)?;
    std::fs::create_dir_all(dir).map_err(|source| CacheError::Io {
        path: dir.to_owned(),
        source,
    })?;
    // Serializing a record cannot fail: every key is a string.
    let mut text = serde_json::to_vec_pretty(record).unwrap_or_default();
    text.push(b'\n');
    rep_files::write_atomic(&path, &text).map_err(|source| CacheError::Write {
        path: path.clone(),
        source,
    })?;
    Ok(path)
}

/// Removes the cache file of `engine`, or every `*.json` in `dir` when `engine` is `None`.
/// Returns the files removed (none is not an error).
///
/// # Errors
/// [`CacheError::Io`] for a file that exists but cannot be removed.
pub fn clear_cache(dir: &Path, engine: Option<&str>) -> Result<Vec<PathBuf>, CacheError> {
    let candidates = match engine {
        Some(engine) => vec![file_for(dir, engine)?],
        None => match std::fs::read_dir(dir) {
            Ok(entries) => entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "json"))
                .collect(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(source) => {
                return Err(CacheError::Io {
                    path: dir.to_owned(),
                    source,
                });
            }
        },
    };
    let mut removed = Vec::new();
    for path in candidates {
        match std::fs::remove_file(&path) {
            Ok(()) => removed.push(path),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => return Err(CacheError::Io { path, source }),
        }
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Map;

    fn caps() -> Capabilities {
        Capabilities {
            version: "1.0.0".into(),
            step_kinds: vec!["a".into()],
            limits: rep_spec::Limits {
                concurrency: 1,
                extra: Map::new(),
            },
            extra: Map::new(),
        }
    }

    #[test]
    fn write_replaces_atomically_and_clear_removes() {
        let dir = tempfile::tempdir().unwrap();
        let caps = caps();
        let missing = vec!["b".to_owned()];
        let record = CacheRecord {
            engine: "proc",
            executor: "x".into(),
            capabilities: &caps,
            missing_step_kinds: &missing,
            written_at: "t".into(),
        };
        let path = write_cache(dir.path(), &record).unwrap();
        let path2 = write_cache(dir.path(), &record).unwrap();
        assert_eq!(path, path2);
        let saved: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        assert_eq!(
            saved["capabilities"]["step_kinds"],
            serde_json::json!(["a"])
        );
        assert_eq!(saved["missing_step_kinds"], serde_json::json!(["b"]));
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no temporary file left behind"
        );
        assert_eq!(clear_cache(dir.path(), Some("proc")).unwrap(), vec![path]);
        assert!(clear_cache(dir.path(), Some("proc")).unwrap().is_empty());
        assert!(
            clear_cache(&dir.path().join("absent"), None)
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn engine_names_cannot_escape_the_folder() {
        let dir = tempfile::tempdir().unwrap();
        for bad in ["../x", "a/b", "", ".."] {
            assert!(
                matches!(
                    clear_cache(dir.path(), Some(bad)),
                    Err(CacheError::BadEngine(_))
                ),
                "{bad}"
            );
        }
    }
}

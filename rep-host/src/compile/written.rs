//! The artifacts tm's compilations wrote into an output folder, so that a later compilation
//! replaces them without `--force` and refuses, without it, only files tm did not write (or
//! that were edited since): the list [`WRITTEN_LIST`] in the folder names each file (relative
//! to the folder) with the sha256 of the bytes tm's compilation left there.
//!
//! Before a compilation, tm's own unchanged files are moved aside into a temporary folder
//! inside the output folder ([`Stash`]), so that TraceMind's compiler, which refuses to
//! overwrite any file without `force`, finds them gone; after a success the moved-aside files
//! are deleted (the folder holds what the last compilation wrote) and the list rewritten;
//! after a failure every file the failed compilation created is deleted and the moved-aside
//! ones are put back: the folder is as it was.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The list of what tm's compilations wrote, in the output folder.
pub const WRITTEN_LIST: &str = ".tm-compiled.json";

/// The list's `format`.
const FORMAT: &str = "tm-compiled/1";

/// Where TraceMind's compiler writes in an output folder (`tm.dsl.compile_paths`): these
/// files, and anything in these folders.
const OUTPUT_FILES: [&str; 2] = ["manifest.json", "triggers.yaml"];
const OUTPUT_DIRS: [&str; 2] = ["flows", "policies"];

/// The list's contents.
#[derive(Debug, Default, Serialize, Deserialize)]
struct List {
    format: String,
    /// Relative path → sha256 (lowercase hex).
    files: BTreeMap<String, String>,
}

/// Why the artifacts could not be moved aside, put back or listed.
#[derive(Debug, thiserror::Error)]
#[error("cannot {action} {}", path.display())]
pub struct WrittenError {
    /// What was being done: "move aside", "put back", "write the list of artifacts", …
    pub action: &'static str,
    /// The file.
    pub path: PathBuf,
    /// The I/O error.
    #[source]
    pub source: Box<dyn std::error::Error + Send + Sync>,
}

fn error(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> WrittenError {
    let path = path.to_path_buf();
    move |source| WrittenError {
        action,
        path,
        source: Box::new(source),
    }
}

/// The sha256 of a regular file (never a FIFO or a device), or `None` when it cannot be read.
fn sha256_of(path: &Path) -> Option<String> {
    let (mut file, _) = rep_files::open_regular(path).ok()?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 64 * 1024];
    loop {
        match file.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => hasher.update(&buffer[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return None,
        }
    }
    Some(hex::encode(hasher.finalize()))
}

/// The files in `out_dir` where the compiler writes, relative to `out_dir`.
fn output_files(out_dir: &Path) -> BTreeSet<PathBuf> {
    let mut found: BTreeSet<PathBuf> = OUTPUT_FILES
        .iter()
        .map(PathBuf::from)
        .filter(|f| out_dir.join(f).symlink_metadata().is_ok())
        .collect();
    for dir in OUTPUT_DIRS {
        let mut pending = vec![PathBuf::from(dir)];
        while let Some(relative) = pending.pop() {
            let Ok(entries) = std::fs::read_dir(out_dir.join(&relative)) else {
                continue;
            };
            for entry in entries.flatten() {
                let path = relative.join(entry.file_name());
                match entry.file_type() {
                    Ok(kind) if kind.is_dir() => pending.push(path),
                    Ok(_) => {
                        found.insert(path);
                    }
                    Err(_) => {}
                }
            }
        }
    }
    found
}

/// tm's own files in `out_dir`: those of the list whose bytes are still the ones listed.
fn own_files(out_dir: &Path) -> Vec<PathBuf> {
    let list = rep_files::read(&out_dir.join(WRITTEN_LIST), rep_files::caps::MANIFEST)
        .ok()
        .and_then(|bytes| serde_json::from_slice::<List>(&bytes).ok())
        .filter(|list| list.format == FORMAT)
        .unwrap_or_default();
    list.files
        .into_iter()
        .map(|(path, sha256)| (PathBuf::from(path), sha256))
        .filter(|(path, _)| is_inside(path))
        .filter(|(path, sha256)| sha256_of(&out_dir.join(path)).as_deref() == Some(sha256))
        .map(|(path, _)| path)
        .collect()
}

/// A relative path that stays inside its folder (no `..`, not absolute).
fn is_inside(path: &Path) -> bool {
    path.components()
        .all(|c| matches!(c, std::path::Component::Normal(_)))
}

/// tm's earlier artifacts moved aside while the compiler runs, and what was there before it.
#[derive(Debug)]
pub struct Stash {
    out_dir: PathBuf,
    /// `None` when there was nothing to move aside.
    dir: Option<tempfile::TempDir>,
    /// Relative path → its name in `dir`.
    moved: Vec<(PathBuf, PathBuf)>,
    /// The compiler's files in the folder before it ran (the moved ones included).
    before: BTreeSet<PathBuf>,
}

impl Stash {
    /// Moves tm's own unchanged artifacts in `out_dir` aside.
    ///
    /// # Errors
    /// A file cannot be moved aside (the ones already moved are put back).
    pub fn take(out_dir: &Path) -> Result<Stash, WrittenError> {
        let mut stash = Stash {
            out_dir: out_dir.to_path_buf(),
            dir: None,
            moved: Vec::new(),
            before: output_files(out_dir),
        };
        let own = own_files(out_dir);
        if own.is_empty() {
            return Ok(stash);
        }
        let dir = tempfile::Builder::new()
            .prefix(".tm-previous-")
            .tempdir_in(out_dir)
            .map_err(error("create a folder in", out_dir))?;
        let aside = dir.path().to_path_buf();
        stash.dir = Some(dir);
        for (n, path) in own.into_iter().enumerate() {
            let name = PathBuf::from(n.to_string());
            let from = out_dir.join(&path);
            if let Err(e) = std::fs::rename(&from, aside.join(&name)) {
                // Best effort: the ones moved go back; the error is the first one.
                let _ = stash.restore();
                return Err(error("move aside", &from)(e));
            }
            stash.moved.push((path, name));
        }
        tracing::debug!(
            files = stash.moved.len(),
            "tm's earlier artifacts moved aside"
        );
        Ok(stash)
    }

    /// After a failed compilation: deletes the files it created and puts the moved-aside
    /// ones back.
    ///
    /// # Errors
    /// A file cannot be put back (the others are).
    pub fn restore(self) -> Result<(), WrittenError> {
        for created in output_files(&self.out_dir).difference(&self.before) {
            tracing::debug!(file = %created.display(), "removing a failed compilation's file");
            let _ = std::fs::remove_file(self.out_dir.join(created));
        }
        let mut first_error = None;
        if let Some(dir) = &self.dir {
            for (path, name) in &self.moved {
                let to = self.out_dir.join(path);
                if let Err(e) = std::fs::rename(dir.path().join(name), &to) {
                    first_error.get_or_insert_with(|| error("put back", &to)(e));
                }
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    /// After a successful compilation: lists `written` (the files it wrote, as the compiler
    /// names them) as tm's own, and deletes the moved-aside files (dropping the folder).
    ///
    /// # Errors
    /// The list cannot be written.
    pub fn commit(self, written: &[PathBuf]) -> Result<(), WrittenError> {
        let root = std::fs::canonicalize(&self.out_dir).unwrap_or_else(|_| self.out_dir.clone());
        let mut list = List {
            format: FORMAT.to_owned(),
            files: BTreeMap::new(),
        };
        for path in written {
            let relative = path
                .strip_prefix(&root)
                .or_else(|_| path.strip_prefix(&self.out_dir))
                .ok()
                .filter(|p| is_inside(p));
            let (Some(relative), Some(sha256)) = (relative, sha256_of(path)) else {
                continue;
            };
            list.files
                .insert(relative.to_string_lossy().into_owned(), sha256);
        }
        let mut text = serde_json::to_string_pretty(&list).unwrap_or_default();
        text.push('\n');
        let path = self.out_dir.join(WRITTEN_LIST);
        rep_files::write_atomic(&path, text.as_bytes()).map_err(|e| WrittenError {
            action: "write the list of artifacts",
            path,
            source: Box::new(e),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, path: &str, text: &str) {
        let path = dir.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    fn read(dir: &Path, path: &str) -> Option<String> {
        std::fs::read_to_string(dir.join(path)).ok()
    }

    #[test]
    fn own_unchanged_files_move_aside_and_come_back_after_a_failure() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path();
        write(out, "flows/a.ir.json", "a");
        write(out, "manifest.json", "m");
        write(out, "flows/hand.ir.json", "hand");
        Stash::take(out)
            .unwrap()
            .commit(&[out.join("flows/a.ir.json"), out.join("manifest.json")])
            .unwrap();
        write(out, "manifest.json", "edited");

        // Only a.ir.json is tm's and unchanged: it moves aside.
        let stash = Stash::take(out).unwrap();
        assert_eq!(read(out, "flows/a.ir.json"), None);
        assert_eq!(read(out, "manifest.json").as_deref(), Some("edited"));
        assert_eq!(read(out, "flows/hand.ir.json").as_deref(), Some("hand"));
        // A failed compilation created a file: it goes, and a.ir.json comes back.
        write(out, "flows/new.yaml", "half");
        stash.restore().unwrap();
        assert_eq!(read(out, "flows/new.yaml"), None);
        assert_eq!(read(out, "flows/a.ir.json").as_deref(), Some("a"));
        let names: Vec<_> = std::fs::read_dir(out)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| n.starts_with(".tm-previous"))
            .collect();
        assert!(names.is_empty(), "{names:?}");
    }

    #[test]
    fn a_list_naming_paths_outside_the_folder_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        write(dir.path(), "secret", "s");
        let sha = sha256_of(&dir.path().join("secret")).unwrap();
        write(
            &out,
            WRITTEN_LIST,
            &format!("{{\"format\":\"{FORMAT}\",\"files\":{{\"../secret\":\"{sha}\"}}}}"),
        );
        assert!(own_files(&out).is_empty());
        let _stash = Stash::take(&out).unwrap();
        assert_eq!(read(dir.path(), "secret").as_deref(), Some("s"));
    }
}

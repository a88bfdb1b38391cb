//! Finding programs on `PATH`, as a shell does: a bare name (no `/`) is looked up in the
//! directories of `PATH`, in order; anything with a `/` is a path.

use std::ffi::OsStr;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// Whether `program` is a bare name such as `mock-executor` or `python3` (no `/`): a shell
/// would look it up on `PATH`.
pub fn is_bare_name(program: &Path) -> bool {
    let text = program.as_os_str().as_encoded_bytes();
    !text.is_empty() && !text.contains(&b'/')
}

/// Every executable regular file named `name` in the directories of `path` (`PATH` syntax,
/// `:`-separated; an empty entry is the working directory, as POSIX says), in `PATH` order.
pub fn find_all_on_path(name: &OsStr, path: Option<&OsStr>) -> Vec<PathBuf> {
    let Some(path) = path else {
        return Vec::new();
    };
    std::env::split_paths(path)
        .map(|dir| {
            if dir.as_os_str().is_empty() {
                PathBuf::from(".").join(name)
            } else {
                dir.join(name)
            }
        })
        .filter(|candidate| is_executable_file(candidate))
        .collect()
}

/// The first executable regular file named `name` on `path` (see [`find_all_on_path`]).
pub fn find_on_path(name: &OsStr, path: Option<&OsStr>) -> Option<PathBuf> {
    find_all_on_path(name, path).into_iter().next()
}

/// Whether `path` is a regular file (after symlinks) with an execute bit set.
pub fn is_executable_file(path: &Path) -> bool {
    std::fs::metadata(path)
        .is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn touch(path: &Path, mode: u32) {
        std::fs::write(path, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    }

    #[test]
    fn bare_names_have_no_slash() {
        assert!(is_bare_name(Path::new("mock-executor")));
        assert!(!is_bare_name(Path::new("./mock-executor")));
        assert!(!is_bare_name(Path::new("bin/x")));
        assert!(!is_bare_name(Path::new("")));
    }

    #[test]
    fn finds_executables_in_path_order_and_skips_the_rest() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        touch(&a.path().join("tool"), 0o644); // not executable
        std::fs::create_dir(b.path().join("dir")).unwrap(); // not a file
        touch(&b.path().join("tool"), 0o755);
        let c = tempfile::tempdir().unwrap();
        touch(&c.path().join("tool"), 0o700);
        let path = std::env::join_paths([a.path(), b.path(), c.path()]).unwrap();
        assert_eq!(
            find_all_on_path("tool".as_ref(), Some(&path)),
            [b.path().join("tool"), c.path().join("tool")]
        );
        assert_eq!(
            find_on_path("tool".as_ref(), Some(&path)),
            Some(b.path().join("tool"))
        );
        assert_eq!(find_on_path("dir".as_ref(), Some(&path)), None);
        assert_eq!(find_on_path("tool".as_ref(), None), None);
    }
}

//! trace-mind's version as installed for a Python, read from the package's metadata
//! (`trace_mind-X.dist-info/METADATA`, the core metadata pip writes) without starting Python:
//! `tm --version` takes milliseconds, not the ~140 ms of a Python start.
//!
//! The search covers where a Python finds packages without a `.pth` file or site
//! customisation: `PYTHONPATH`, a virtualenv's `site-packages` (and the base installation's
//! when `pyvenv.cfg` includes system site packages), an installation's `site-packages` and
//! Debian's `dist-packages`, and the user's `~/.local`. A package only a Python itself can
//! find elsewhere is not seen here (`tm -v --version` asks the Python then).

use std::io::Read;
use std::path::{Path, PathBuf};

/// Bytes of a script read to find its `#!` line.
const SHEBANG_BYTES: u64 = 512;

/// Bytes of a `METADATA` file read: its headers come first and are short.
const METADATA_BYTES: u64 = 64 * 1024;

/// The distribution looked for, in its normalised file-name form.
const DISTRIBUTION: &str = "trace_mind";

/// The Python a script's `#!` line names when it is a Python (`#!/venv/bin/python3`; also
/// `#!/usr/bin/env python3`, found on `path`), as pip writes console scripts; `None` for any
/// other program.
pub fn script_python(script: &Path, path: Option<&std::ffi::OsStr>) -> Option<PathBuf> {
    let mut head = Vec::new();
    std::fs::File::open(script)
        .ok()?
        .take(SHEBANG_BYTES)
        .read_to_end(&mut head)
        .ok()?;
    let line = head.strip_prefix(b"#!")?.split(|&b| b == b'\n').next()?;
    let line = std::str::from_utf8(line).ok()?.trim();
    let mut words = line.split_whitespace();
    let mut interpreter = PathBuf::from(words.next()?);
    if interpreter.file_name()? == "env" {
        interpreter = rep_host::find_on_path(std::ffi::OsStr::new(words.next()?), path)?;
    }
    let name = interpreter.file_name()?.to_str()?;
    name.starts_with("python").then_some(interpreter)
}

/// trace-mind's `Version:` as installed for `python` (a path), if its metadata is found in
/// one of [`site_dirs`].
pub fn trace_mind_version(python: &Path) -> Option<String> {
    site_dirs(python).iter().find_map(|dir| version_in(dir))
}

/// The directories `python` imports installed packages from, most likely first.
fn site_dirs(python: &Path) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::env::var_os("PYTHONPATH")
        .map(|paths| std::env::split_paths(&paths).collect())
        .unwrap_or_default();
    // bin/python → the installation's prefix (not following symlinks: a virtualenv's python
    // is a link to the base one).
    let Some(prefix) = python.parent().and_then(Path::parent) else {
        return dirs;
    };
    let venv = std::fs::read_to_string(prefix.join("pyvenv.cfg")).ok();
    let version = match &venv {
        Some(cfg) => cfg_value(cfg, "version").and_then(|v| {
            v.rsplit_once('.')
                .map(|(major_minor, _)| major_minor.to_owned())
        }),
        None => std::fs::canonicalize(python).ok().and_then(|real| {
            let name = real
                .file_name()?
                .to_str()?
                .strip_prefix("python")?
                .to_owned();
            name.contains('.').then_some(name)
        }),
    };
    dirs.extend(versioned(prefix, version.as_deref(), "site-packages"));
    let system = match &venv {
        None => Some(prefix.to_path_buf()),
        Some(cfg) if cfg_value(cfg, "include-system-site-packages") == Some("true") => {
            cfg_value(cfg, "home").and_then(|home| Path::new(home).parent().map(Path::to_path_buf))
        }
        Some(_) => None,
    };
    if let Some(system) = system {
        if venv.is_some() {
            dirs.extend(versioned(&system, version.as_deref(), "site-packages"));
        }
        dirs.extend(versioned(&system, version.as_deref(), "dist-packages"));
        dirs.push(system.join("lib/python3/dist-packages"));
        dirs.extend(versioned(
            &system.join("local"),
            version.as_deref(),
            "dist-packages",
        ));
        if let Some(home) = std::env::var_os("HOME") {
            dirs.extend(versioned(
                &Path::new(&home).join(".local"),
                version.as_deref(),
                "site-packages",
            ));
        }
    }
    dirs
}

/// `PREFIX/lib/pythonX.Y/LEAF` (and `lib64`) for the Python version `X.Y`, or for each
/// `python3.*` there when the version is unknown.
fn versioned(prefix: &Path, version: Option<&str>, leaf: &str) -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    for lib in ["lib", "lib64"] {
        let lib = prefix.join(lib);
        match version {
            Some(version) => dirs.push(lib.join(format!("python{version}")).join(leaf)),
            None => {
                let Ok(entries) = std::fs::read_dir(&lib) else {
                    continue;
                };
                let mut found: Vec<PathBuf> = entries
                    .filter_map(|entry| {
                        let name = entry.ok()?.file_name();
                        let name = name.to_str()?;
                        name.starts_with("python3.")
                            .then(|| lib.join(name).join(leaf))
                    })
                    .collect();
                found.sort();
                dirs.extend(found);
            }
        }
    }
    dirs
}

/// The value of `key = value` in a `pyvenv.cfg`.
fn cfg_value<'a>(cfg: &'a str, key: &str) -> Option<&'a str> {
    cfg.lines().find_map(|line| {
        let (k, v) = line.split_once('=')?;
        (k.trim() == key).then(|| v.trim())
    })
}

/// The version of trace-mind installed in the package directory `dir`.
fn version_in(dir: &Path) -> Option<String> {
    let entries = std::fs::read_dir(dir).ok()?;
    entries.filter_map(Result::ok).find_map(|entry| {
        let name = entry.file_name();
        let name = name.to_str()?.strip_suffix(".dist-info")?;
        let (distribution, _) = name.split_once('-')?;
        if distribution.to_ascii_lowercase().replace(['-', '.'], "_") != DISTRIBUTION {
            return None;
        }
        metadata_version(&entry.path().join("METADATA"))
    })
}

/// The `Version:` header of a core metadata file.
fn metadata_version(path: &Path) -> Option<String> {
    let mut text = String::new();
    std::fs::File::open(path)
        .ok()?
        .take(METADATA_BYTES)
        .read_to_string(&mut text)
        .ok()?;
    text.lines()
        .take_while(|line| !line.is_empty())
        .find_map(|line| line.strip_prefix("Version:"))
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A virtualenv as `python -m venv` and pip leave it, with trace-mind `version` installed.
    fn venv(dir: &Path, version: &str) -> PathBuf {
        std::fs::create_dir_all(dir.join("bin")).unwrap();
        std::fs::write(
            dir.join("pyvenv.cfg"),
            "home = /nowhere/bin\ninclude-system-site-packages = false\nversion = 3.11.7\n",
        )
        .unwrap();
        let info = dir.join(format!(
            "lib/python3.11/site-packages/trace_mind-{version}.dist-info"
        ));
        std::fs::create_dir_all(&info).unwrap();
        std::fs::write(
            info.join("METADATA"),
            format!("Metadata-Version: 2.1\nName: trace-mind\nVersion: {version}\n\nVersion: 0\n"),
        )
        .unwrap();
        let python = dir.join("bin/python3");
        std::fs::write(&python, "").unwrap();
        python
    }

    #[test]
    fn a_virtualenvs_trace_mind_version_comes_from_its_metadata() {
        let dir = tempfile::tempdir().unwrap();
        let python = venv(dir.path(), "1.2.0");
        assert_eq!(trace_mind_version(&python).as_deref(), Some("1.2.0"));
        let script = dir.path().join("bin/tm");
        std::fs::write(&script, format!("#!{}\nimport sys\n", python.display())).unwrap();
        assert_eq!(script_python(&script, None), Some(python));
    }

    #[test]
    fn another_python_version_or_distribution_is_not_taken() {
        let dir = tempfile::tempdir().unwrap();
        let python = venv(dir.path(), "1.2.0");
        let cfg = dir.path().join("pyvenv.cfg");
        std::fs::write(&cfg, "version = 3.12.1\n").unwrap();
        assert_eq!(trace_mind_version(&python), None);
        std::fs::write(&cfg, "version = 3.11.7\n").unwrap();
        let site = dir.path().join("lib/python3.11/site-packages");
        std::fs::rename(
            site.join("trace_mind-1.2.0.dist-info"),
            site.join("trace_mindx-1.2.0.dist-info"),
        )
        .unwrap();
        assert_eq!(trace_mind_version(&python), None);
    }

    #[test]
    fn only_python_scripts_name_an_interpreter() {
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("tm");
        std::fs::write(&script, "#!/bin/sh\necho hi\n").unwrap();
        assert_eq!(script_python(&script, None), None);
        std::fs::write(&script, b"\x7fELF\x02\x01").unwrap();
        assert_eq!(script_python(&script, None), None);
        std::fs::write(&script, "#!/usr/bin/python3 -I\n").unwrap();
        assert_eq!(
            script_python(&script, None),
            Some(PathBuf::from("/usr/bin/python3"))
        );
    }
}

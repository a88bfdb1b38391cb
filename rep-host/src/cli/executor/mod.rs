//! `tm executor new` (a ready-to-run executor project, [`scaffold`]) and `tm executor check`
//! (its smoke test, [`check`]).

mod check;
mod pin;
mod report;
mod scaffold;

use std::path::{Path, PathBuf};

use super::args::{ExecutorNewArgs, GlobalArgs, Lang};
use super::error::Failure;
use super::note;
use scaffold::{KitSource, Spec};

pub use check::check;
pub use pin::pin;

/// Why `tm executor new` or `tm executor check` could not do its work.
#[derive(Debug, thiserror::Error)]
pub enum ExecutorError {
    /// A bad name, step kind or option.
    #[error("{0}")]
    Usage(String),
    /// The project folder exists and is not empty: nothing is overwritten.
    #[error("{} already exists and is not empty: choose another name, or remove it", path.display())]
    Exists { path: PathBuf },
    /// The kit to depend on is not where `--kit-path` (or this tm's build) says.
    #[error(
        "no rep-executor-kit in {}: give --kit-path a checkout of rep (or its rep-executor-kit \
         folder), or --kit-git URL",
        path.display()
    )]
    NoKit { path: PathBuf },
    /// A template of the project did not render (a bug of `tm`).
    #[error(transparent)]
    Template(#[from] scaffold::TemplateError),
    /// The executor file cannot be read to hash it (`tm executor pin`).
    #[error(transparent)]
    Unreadable(rep_host::ImageError),
    /// The hash cannot be placed in the runtime config (nothing was written).
    #[error("cannot write executor_sha256 into {}: {message}", path.display())]
    ConfigEdit { path: PathBuf, message: String },
    /// The runtime config cannot be written.
    #[error("cannot write {}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: rep_files::WriteError,
    },
    /// A file or folder cannot be read or written.
    #[error("cannot {what} {}", path.display())]
    Io {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

fn io(what: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> ExecutorError {
    let path = path.to_path_buf();
    move |source| ExecutorError::Io { what, path, source }
}

/// `tm executor new NAME …`: writes the project into a temporary folder beside NAME, then
/// renames it into place, so NAME is either absent, or complete.
pub fn new(global: &GlobalArgs, args: &ExecutorNewArgs) -> Result<(), Failure> {
    let spec = spec(args).map_err(Failure::Executor)?;
    let mut files =
        scaffold::files(&spec).map_err(|e| Failure::Executor(ExecutorError::Template(e)))?;
    if args.lang == Lang::Rust {
        files.extend(lockfile(&spec));
    }
    write_project(&args.name, &files).map_err(Failure::Executor)?;
    if !global.quiet {
        note(&format!(
            "created {} ({:?} executor for {}); next: cd {} && ./ci.sh (see its README.md)",
            args.name.display(),
            args.lang,
            spec.kinds.join(", "),
            args.name.display()
        ));
    }
    Ok(())
}

fn spec(args: &ExecutorNewArgs) -> Result<Spec, ExecutorError> {
    let name = args
        .name
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    scaffold::check_name(&name).map_err(ExecutorError::Usage)?;
    let kinds = scaffold::check_kinds(&name, &args.kinds).map_err(ExecutorError::Usage)?;
    if args.lang != Lang::Rust && (args.kit_path.is_some() || args.kit_git.is_some()) {
        return Err(ExecutorError::Usage(
            "--kit-path and --kit-git are for --lang rust: C and C++ projects vendor the \
             native library"
                .into(),
        ));
    }
    let kit = match (&args.kit_git, &args.kit_path) {
        (Some(url), _) => KitSource::Git(url.clone()),
        (None, given) => KitSource::Path(kit_dir(given.as_deref())?),
    };
    let generated_at = time::OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| "2026-01-01T00:00:00Z".to_owned());
    Ok(Spec {
        name,
        lang: args.lang,
        kinds,
        kit,
        generated_at,
    })
}

/// The kit's folder: `--kit-path` (a rep checkout or the kit itself), else the source tree
/// this tm was built from; absolute.
fn kit_dir(given: Option<&Path>) -> Result<PathBuf, ExecutorError> {
    let root = given.map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join(".."),
        Path::to_path_buf,
    );
    let candidates = [root.join("rep-executor-kit"), root.clone()];
    let found = candidates.into_iter().find(|dir| {
        std::fs::read_to_string(dir.join("Cargo.toml"))
            .is_ok_and(|toml| toml.contains("name = \"rep-executor-kit\""))
    });
    let found = found.ok_or(ExecutorError::NoKit { path: root })?;
    std::fs::canonicalize(&found).map_err(io("resolve", &found))
}

/// The workspace's Cargo.lock beside the kit, for a Rust project: the versions rep is tested
/// with, and a build that needs no network when they are in cargo's cache. Best effort.
fn lockfile(spec: &Spec) -> Option<scaffold::File> {
    let KitSource::Path(kit) = &spec.kit else {
        return None;
    };
    let lock = kit.join("../Cargo.lock");
    match std::fs::read_to_string(&lock) {
        Ok(text) => Some(scaffold::File {
            path: "Cargo.lock".into(),
            text,
            executable: false,
        }),
        Err(error) => {
            tracing::warn!(
                "no Cargo.lock copied into the project: {}: {error}",
                lock.display()
            );
            None
        }
    }
}

/// Writes `files` into a fresh temporary folder beside `target`, then renames it to `target`
/// (which must not exist, or be an empty folder).
fn write_project(target: &Path, files: &[scaffold::File]) -> Result<(), ExecutorError> {
    match std::fs::read_dir(target) {
        Ok(mut entries) => {
            if entries.next().is_some() {
                return Err(ExecutorError::Exists {
                    path: target.to_path_buf(),
                });
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) if target.exists() => {
            return Err(if target.is_dir() {
                ExecutorError::Io {
                    what: "read",
                    path: target.to_path_buf(),
                    source: e,
                }
            } else {
                ExecutorError::Exists {
                    path: target.to_path_buf(),
                }
            });
        }
        Err(e) => return Err(io("read", target)(e)),
    }
    let parent = match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let staging = tempfile::Builder::new()
        .prefix(".tm-executor-new.")
        .tempdir_in(parent)
        .map_err(io("create a folder in", parent))?;
    for file in files {
        let path = staging.path().join(&file.path);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(io("create", dir))?;
        }
        std::fs::write(&path, &file.text).map_err(io("write", &path))?;
        if file.executable {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
                .map_err(io("make executable", &path))?;
        }
    }
    // A temporary folder is private (0700); the project is an ordinary folder.
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(staging.path(), std::fs::Permissions::from_mode(0o755))
            .map_err(io("set the permissions of", staging.path()))?;
    }
    let staged = staging.keep();
    std::fs::rename(&staged, target).map_err(|source| {
        let _ = std::fs::remove_dir_all(&staged);
        ExecutorError::Io {
            what: "create",
            path: target.to_path_buf(),
            source,
        }
    })
}

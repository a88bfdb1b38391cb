//! Shared helpers of the benchmarks: where the built binaries are, and a raw line echo.

#![deny(missing_docs)]

use std::path::PathBuf;

/// The folder of the binaries built by the same `cargo` profile as the running benchmark
/// (`target/release` under `cargo bench`).
///
/// # Errors
/// A message when the benchmark's own path cannot be read.
pub fn profile_dir() -> Result<PathBuf, String> {
    let exe =
        std::env::current_exe().map_err(|e| format!("cannot locate the benchmark binary: {e}"))?;
    // target/<profile>/deps/<bench>-<hash>
    exe.parent()
        .and_then(|deps| deps.parent())
        .map(PathBuf::from)
        .ok_or_else(|| format!("unexpected benchmark path {}", exe.display()))
}

/// The path of workspace binary `name` built beside the benchmark, checked to exist.
///
/// # Errors
/// A message telling how to build it.
pub fn built_binary(name: &str) -> Result<PathBuf, String> {
    let path = profile_dir()?.join(name);
    if path.is_file() {
        Ok(path)
    } else {
        Err(format!(
            "{} is missing: run `cargo build --release --workspace` first",
            path.display()
        ))
    }
}

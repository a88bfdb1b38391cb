//! The binaries and test executors the integration tests of this crate run.

#![allow(dead_code)] // each test file uses its own subset

use std::path::{Path, PathBuf};

/// `rep-conformance`, as built for the tests.
pub fn suite() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_rep-conformance"))
}

/// The self-test's executor with one fault per test.
pub fn broken_executor() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_broken-executor"))
}

/// The mock executor, built beside this package's binaries by `cargo build --workspace`.
pub fn mock_executor() -> PathBuf {
    let path = suite()
        .parent()
        .map(|dir| dir.join("mock-executor"))
        .unwrap_or_default();
    assert!(
        path.is_file(),
        "{} is not built: run `cargo build --workspace` (or `cargo nextest run --workspace`)",
        path.display()
    );
    path
}

/// The independent executor in Python (standard library only), test data of this crate.
pub fn python_executor() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/executors/rep_executor.py")
}

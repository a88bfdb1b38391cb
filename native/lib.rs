//! The sources of rep's native library, as text, for tools that vendor them into a project:
//! `tm executor new --lang c|cpp` copies them into the project's `rep/` folder, where its
//! Makefile compiles every `rep/*.c`.
//!
//! The library lives beside this file (docs/native-executors.md): the portable C99 core in
//! `c/`, its Linux stdio port in `linux/`, the C++17 wrapper in `cpp/`. A file added to `c/`
//! must be added to [`C_LIBRARY`] too (a test says so).

#![deny(missing_docs)]

/// One file of the library: its name in the vendoring project's `rep/` folder and its text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct File {
    /// The file name, without a folder (e.g. `rep_json.c`).
    pub name: &'static str,
    /// The file's text.
    pub text: &'static str,
}

/// `files![dir: name, …]`: each `dir/name` beside this file as a [`File`] named `name`.
macro_rules! files {
    ($($dir:literal: $name:literal),* $(,)?) => {
        &[$(File { name: $name, text: include_str!(concat!($dir, "/", $name)) }),*]
    };
}

/// What a C executor on Linux compiles: the portable core (`c/*.c`, `c/*.h`) and the stdio
/// port (`linux/rep_stdio.*`).
pub const C_LIBRARY: &[File] = files![
    "c": "rep_config.h",
    "c": "rep_json.h",
    "c": "rep_executor.h",
    "c": "rep_layout.h",
    "c": "rep_internal.h",
    "c": "rep_json.c",
    "c": "rep_ir.c",
    "c": "rep_resolve.c",
    "c": "rep_run.c",
    "c": "rep_dispatch.c",
    "c": "rep_probe.c",
    "linux": "rep_stdio.c",
    "linux": "rep_stdio.h",
];

/// What a C++ executor adds to [`C_LIBRARY`]: the C++17 wrapper (`cpp/rep_executor.hpp`).
pub const CPP_WRAPPER: &[File] = files!["cpp": "rep_executor.hpp"];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_source_of_the_portable_core_is_vendored() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("c");
        let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
            .map(|entries| entries.filter_map(Result::ok).collect::<Vec<_>>())
            .unwrap_or_default()
            .iter()
            .map(|entry| entry.file_name().to_string_lossy().into_owned())
            .filter(|name| name.ends_with(".c") || name.ends_with(".h"))
            .collect();
        on_disk.sort();
        assert!(!on_disk.is_empty(), "no sources in {}", dir.display());
        for name in on_disk {
            assert!(
                C_LIBRARY.iter().any(|f| f.name == name),
                "native/c/{name} is not in C_LIBRARY (native/lib.rs): C projects made by \
                 `tm executor new` would not get it"
            );
        }
        let mut names: Vec<&str> = C_LIBRARY
            .iter()
            .chain(CPP_WRAPPER)
            .map(|f| f.name)
            .collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(
            names.len(),
            C_LIBRARY.len() + CPP_WRAPPER.len(),
            "two files, one name"
        );
    }
}

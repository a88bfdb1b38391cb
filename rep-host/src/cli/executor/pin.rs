//! `tm executor pin`: the executor file's sha256, printed, and written into runtime.yaml as
//! `runtime.executor_sha256`.
//!
//! The file is edited as text, every other byte kept: the YAML parser (serde-saphyr) gives
//! the location of the `runtime:` keys, the hash replaces an existing value or goes on a
//! line of its own after `executor_path` (else before the first key), indented like its
//! neighbours; the result is parsed again and must be the same configuration with only the
//! hash changed, else nothing is written. A format-preserving YAML library would do the same
//! for a one-key edit at the cost of a second YAML parser in `tm`; layouts this cannot place
//! (a flow mapping `runtime: {…}`) are refused with the line to add by hand.

use std::collections::BTreeMap;
use std::path::Path;

use rep_host::{ExecutorCommand, Image, RuntimeConfig};
use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_saphyr::Spanned;

use super::ExecutorError;
use crate::cli::args::GlobalArgs;
use crate::cli::error::Failure;
use crate::cli::note;
use crate::cli::output::print_stdout;
use crate::cli::run::{load_config, resolve};

/// The key written.
const KEY: &str = "executor_sha256";

/// `tm executor pin`: prints `SHA256  PATH` and, with `--runtime-config`, writes the hash.
pub fn pin(global: &GlobalArgs) -> Result<(), Failure> {
    let config = load_config(global)?;
    let command = ExecutorCommand::from(resolve(global, &config)?);
    let file = command.file_to_pin().map_err(Failure::Run)?;
    let image = Image::load(&file).map_err(|e| Failure::Executor(ExecutorError::Unreadable(e)))?;
    let hash = image.sha256();
    print_stdout(format!("{hash}  {}\n", file.display()).as_bytes())?;
    let Some(path) = &global.runtime_config else {
        if !global.quiet {
            note(
                "no --runtime-config: nothing written (give the hash to --executor-sha256, or \
                 write it into runtime.yaml with --runtime-config FILE)",
            );
        }
        return Ok(());
    };
    if config.runtime.executor_sha256.as_deref() == Some(hash) {
        if !global.quiet {
            note(&format!("{} already pins this file", path.display()));
        }
        return Ok(());
    }
    let text =
        rep_files::read_to_string(path, rep_files::caps::RUNTIME_CONFIG).map_err(|source| {
            Failure::Config(rep_host::ConfigError::Read {
                path: path.clone(),
                source,
            })
        })?;
    let edited = with_hash(&text, hash, path, &config).map_err(|message| {
        Failure::Executor(ExecutorError::ConfigEdit {
            path: path.clone(),
            message,
        })
    })?;
    rep_files::write_atomic(path, edited.as_bytes()).map_err(|source| {
        Failure::Executor(ExecutorError::Write {
            path: path.clone(),
            source,
        })
    })?;
    if !global.quiet {
        let was = config
            .runtime
            .executor_sha256
            .as_deref()
            .map(|old| format!(" (was {old})"))
            .unwrap_or_default();
        note(&format!(
            "pinned {} in {}: runtime.{KEY}: {hash}{was}",
            file.display(),
            path.display()
        ));
    }
    Ok(())
}

/// The `runtime:` mapping's keys and where their values are.
#[derive(Deserialize)]
struct Layout {
    runtime: BTreeMap<String, Spanned<IgnoredAny>>,
}

/// `text` (the runtime config `path`, parsed as `config`) with `runtime.executor_sha256`
/// set to `hash`, every other byte kept.
///
/// # Errors
/// A sentence saying why the key cannot be placed (then nothing is written).
pub fn with_hash(
    text: &str,
    hash: &str,
    path: &Path,
    config: &RuntimeConfig,
) -> Result<String, String> {
    let by_hand = format!("add `{KEY}: \"{hash}\"` under `runtime:` by hand");
    let layout: Layout = serde_saphyr::from_str(text)
        .map_err(|_| format!("the runtime: section is not a mapping; {by_hand}"))?;
    let quoted = format!("\"{hash}\"");
    let edited = match layout.runtime.get(KEY) {
        Some(value) => replace_value(text, value, &quoted),
        None => insert_key(text, &layout, &quoted),
    }
    .ok_or_else(|| format!("its layout is not one this edit knows; {by_hand}"))?;
    let reparsed = RuntimeConfig::parse(&edited, path).map_err(|e| format!("{e}; {by_hand}"))?;
    let mut expected = config.clone();
    expected.runtime.executor_sha256 = Some(hash.to_owned());
    if reparsed != expected {
        return Err(format!("the edit would change more than {KEY}; {by_hand}"));
    }
    Ok(edited)
}

/// The byte range of a value, when known.
fn byte_range(value: &Spanned<IgnoredAny>) -> Option<(usize, usize)> {
    let span = value.referenced.span();
    let start = usize::try_from(span.byte_offset()?).ok()?;
    let len = usize::try_from(span.byte_len()?).ok()?;
    Some((start, start.checked_add(len)?))
}

/// `text` with the scalar `value` replaced by `quoted` (its quotes too, if it had any).
fn replace_value(text: &str, value: &Spanned<IgnoredAny>, quoted: &str) -> Option<String> {
    let (mut start, mut end) = byte_range(value)?;
    let bytes = text.as_bytes();
    // A quoted scalar's span may or may not hold its quotes: take them either way.
    if start > 0
        && matches!(bytes.get(start - 1), Some(b'"' | b'\''))
        && bytes.get(end) == bytes.get(start - 1)
    {
        start -= 1;
        end += 1;
    }
    let old = text.get(start..end)?;
    if old.contains('\n') {
        return None;
    }
    Some(format!("{}{quoted}{}", &text[..start], &text[end..]))
}

/// `text` with a line `executor_sha256: "…"` after the `executor_path` line, else before
/// the first key of `runtime:`, indented like that key.
fn insert_key(text: &str, layout: &Layout, quoted: &str) -> Option<String> {
    let newline = if text.contains("\r\n") { "\r\n" } else { "\n" };
    let (anchor, after) = match layout.runtime.get("executor_path") {
        Some(value) => (("executor_path", value), true),
        None => {
            let first = layout
                .runtime
                .iter()
                .min_by_key(|(_, v)| byte_range(v).map(|(s, _)| s))?;
            ((first.0.as_str(), first.1), false)
        }
    };
    let (key, value) = anchor;
    let (value_start, value_end) = byte_range(value)?;
    let line_start = text[..value_start].rfind('\n').map_or(0, |i| i + 1);
    let line = &text[line_start..value_start];
    let indent = &line[..line.len() - line.trim_start().len()];
    // A block mapping's `key: value` on one line, nothing else: the only layout placed.
    if !line.trim_start().starts_with(&format!("{key}:"))
        || !indent.chars().all(|c| c == ' ')
        || indent.is_empty()
    {
        return None;
    }
    let entry = format!("{indent}{KEY}: {quoted}{newline}");
    let at = if after {
        match text[value_end..].find('\n') {
            Some(i) => value_end + i + 1,
            None => {
                return Some(format!(
                    "{text}{newline}{}",
                    entry.trim_end_matches(['\r', '\n'])
                ));
            }
        }
    } else {
        line_start
    };
    Some(format!("{}{entry}{}", &text[..at], &text[at..]))
}

/// The path a pin covers, for messages in tests.
#[cfg(test)]
fn config(text: &str) -> RuntimeConfig {
    RuntimeConfig::parse(text, Path::new("runtime.yaml")).unwrap()
}

#[cfg(test)]
mod tests {
    use super::*;

    const HASH: &str = "0123456789012345678901234567890123456789012345678901234567890123";

    fn pinned(text: &str) -> Result<String, String> {
        with_hash(text, HASH, Path::new("runtime.yaml"), &config(text))
    }

    #[test]
    fn the_hash_goes_after_executor_path_comments_and_order_kept() {
        let text = "# deployment\nruntime:\n  engine: proc   # the host\n  executor_path: bin/x  # ours\n  # env below\n  executor_env: {A: b}\nsandbox:\n  network: false\n";
        let edited = pinned(text).unwrap();
        assert_eq!(
            edited,
            format!(
                "# deployment\nruntime:\n  engine: proc   # the host\n  executor_path: bin/x  # ours\n  executor_sha256: \"{HASH}\"\n  # env below\n  executor_env: {{A: b}}\nsandbox:\n  network: false\n"
            )
        );
    }

    #[test]
    fn an_existing_hash_is_replaced_in_place() {
        for old in ["abc", "\"abc\"", "'abc'"] {
            let other = "f".repeat(64);
            let text = format!(
                "runtime:\n    executor_sha256: {}  # pinned\n    executor_path: x\n",
                old.replace("abc", &other)
            );
            let edited = pinned(&text).unwrap();
            assert_eq!(
                edited,
                format!(
                    "runtime:\n    executor_sha256: \"{HASH}\"  # pinned\n    executor_path: x\n"
                ),
                "{old}"
            );
        }
    }

    #[test]
    fn without_executor_path_the_hash_is_the_first_key() {
        let edited = pinned("runtime:\r\n  engine: proc\r\n").unwrap();
        assert_eq!(
            edited,
            format!("runtime:\r\n  executor_sha256: \"{HASH}\"\r\n  engine: proc\r\n")
        );
        let edited = pinned("runtime:\n  executor_path: x").unwrap();
        assert_eq!(
            edited,
            format!("runtime:\n  executor_path: x\n  executor_sha256: \"{HASH}\"")
        );
    }

    #[test]
    fn a_layout_it_cannot_place_is_refused_with_the_line_to_add() {
        for text in ["runtime: {executor_path: x}\n", "runtime: {}\n"] {
            let error = pinned(text).unwrap_err();
            assert!(
                error.contains(&format!("executor_sha256: \"{HASH}\"")),
                "{error}"
            );
        }
    }
}

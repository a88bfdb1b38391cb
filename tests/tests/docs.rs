//! The documentation stands alone: every link of README.md and docs/ points to a file (and
//! heading) of this repository, so does every document a source comment cites, and the
//! authoring guide's Rust project is what `tm executor new` generates.

#![allow(clippy::unwrap_used)] // tests unwrap: a failure is the report

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use common::*;

fn repo() -> PathBuf {
    fs::canonicalize(Path::new(env!("CARGO_MANIFEST_DIR")).join("..")).unwrap()
}

/// README.md, BENCHMARKS.md and every Markdown file of docs/.
fn documents() -> Vec<PathBuf> {
    let mut docs: Vec<PathBuf> = fs::read_dir(repo().join("docs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    docs.sort();
    docs.extend(["README.md", "BENCHMARKS.md"].map(|d| repo().join(d)));
    docs
}

/// The targets of the inline Markdown links `[text](target)` outside code blocks and spans.
fn links(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut in_block = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            in_block = !in_block;
            continue;
        }
        if in_block {
            continue;
        }
        // Drop code spans: `[a](b)` inside backticks is not a link.
        let prose: String = line
            .split('`')
            .enumerate()
            .filter(|(i, _)| i % 2 == 0)
            .map(|(_, part)| part)
            .collect::<Vec<_>>()
            .join(" ");
        let mut rest = prose.as_str();
        while let Some(start) = rest.find("](") {
            let after = &rest[start + 2..];
            let Some(end) = after.find(')') else { break };
            found.push(after[..end].trim().to_owned());
            rest = &after[end..];
        }
    }
    found
}

/// GitHub's anchor of a heading: lowercase, spaces to '-', punctuation dropped.
fn slug(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

fn anchors(text: &str) -> Vec<String> {
    let mut in_block = false;
    text.lines()
        .filter(|line| {
            if line.trim_start().starts_with("```") {
                in_block = !in_block;
            }
            !in_block && line.starts_with('#')
        })
        .map(|line| slug(line.trim_start_matches('#')))
        .collect()
}

#[test]
fn every_doc_link_points_into_the_repository() {
    let root = repo();
    let mut broken = Vec::new();
    for doc in documents() {
        let text = fs::read_to_string(&doc).unwrap();
        for link in links(&text) {
            let (path, anchor) = link.split_once('#').unwrap_or((&link, ""));
            let name = doc.strip_prefix(&root).unwrap().display().to_string();
            if path.contains("://") || path.starts_with("mailto:") || path.starts_with('/') {
                broken.push(format!("{name}: {link} points outside the repository"));
                continue;
            }
            let target = if path.is_empty() {
                doc.clone()
            } else {
                doc.parent().unwrap().join(path)
            };
            let Ok(resolved) = fs::canonicalize(&target) else {
                broken.push(format!("{name}: {link}: no such file in the repository"));
                continue;
            };
            if !resolved.starts_with(&root) {
                broken.push(format!("{name}: {link} points outside the repository"));
                continue;
            }
            if !anchor.is_empty() && resolved.extension().is_some_and(|e| e == "md") {
                let headings = anchors(&fs::read_to_string(&resolved).unwrap());
                if !headings.iter().any(|h| h == anchor) {
                    broken.push(format!("{name}: {link}: no heading #{anchor}"));
                }
            }
        }
    }
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
}

/// The Rust files of the repository (not build output).
fn rust_sources(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if path.is_dir() {
            if !matches!(name.as_str(), "target" | ".git" | "corpus" | "artifacts") {
                rust_sources(&path, found);
            }
        } else if name.ends_with(".rs") {
            found.push(path);
        }
    }
}

/// The Markdown files under docs/ cited in the comments of `source`, with their line numbers.
fn cited_docs(source: &str) -> Vec<(usize, String)> {
    let mut cited = Vec::new();
    for (n, line) in source.lines().enumerate() {
        let Some(at) = line.find("//") else { continue };
        let mut rest = &line[at..];
        while let Some(start) = rest.find("docs/") {
            let tail = &rest[start..];
            let end = tail
                .find(|c: char| !(c.is_ascii_alphanumeric() || "-_./".contains(c)))
                .unwrap_or(tail.len());
            let path = tail[..end].trim_end_matches('.');
            if path.ends_with(".md") {
                cited.push((n + 1, path.to_owned()));
            }
            rest = &tail[end..];
        }
    }
    cited
}

/// Regression (issue 20): comments cited the Flow IR and REP specifications under file names
/// that exist only outside the repository.
#[test]
fn every_doc_a_source_comment_cites_is_in_the_repository() {
    let mut sources = Vec::new();
    rust_sources(&repo(), &mut sources);
    assert!(sources.len() > 50, "{} Rust files found", sources.len());
    let mut missing = Vec::new();
    for file in sources {
        let text = fs::read_to_string(&file).unwrap();
        for (line, path) in cited_docs(&text) {
            if !repo().join(&path).is_file() {
                missing.push(format!("{}:{line}: {path}", file.display()));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "cited but not in the repository: {missing:#?}"
    );
}

#[test]
fn the_comment_checker_finds_cited_docs() {
    let source = "let a = 1; // see docs/protocol.md \"§5\".\n//! (docs/flow-ir.md, and docs/x/)\n\"docs/protocol.md\"";
    assert_eq!(
        cited_docs(source),
        [
            (1, "docs/protocol.md".to_owned()),
            (2, "docs/flow-ir.md".to_owned())
        ]
    );
}

#[test]
fn the_link_checker_sees_links_and_skips_code() {
    let text = "see [a](x.md#b) and `[c](not-a-link)`\n```\n[d](nor-this)\n```\n[e](../f)";
    assert_eq!(links(text), ["x.md#b", "../f"]);
    assert_eq!(slug(" §3 Methods"), "3-methods");
    assert_eq!(
        slug("From nothing to a certified executor"),
        "from-nothing-to-a-certified-executor"
    );
}

/// The text of the first fenced block of `lang` after `marker` in the guide.
fn block_after(guide: &str, marker: &str, lang: &str) -> String {
    let from = guide
        .find(marker)
        .unwrap_or_else(|| panic!("no {marker:?} in the guide"));
    let fence = format!("```{lang}\n");
    let start = from + guide[from..].find(&fence).unwrap() + fence.len();
    let end = start + guide[start..].find("\n```\n").unwrap();
    guide[start..end].to_owned() + "\n"
}

#[test]
fn the_guides_rust_project_is_what_tm_generates() {
    let guide = fs::read_to_string(repo().join("docs/writing-an-executor.md")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let run = tm_in(
        dir.path(),
        &["executor", "new", "demo", "--kind", "demo.hello"],
        &[],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let project = dir.path().join("demo");

    let main = fs::read_to_string(project.join("src/main.rs")).unwrap();
    assert_eq!(block_after(&guide, "`src/main.rs` of", "rust"), main);

    let kit = repo().join("rep-executor-kit");
    let cargo = fs::read_to_string(project.join("Cargo.toml"))
        .unwrap()
        .replace(&kit.display().to_string(), "/path/to/rep/rep-executor-kit");
    assert_eq!(block_after(&guide, "`Cargo.toml`, in full", "toml"), cargo);
}

/// The `tm` synopsis of README.md ("The `tm` command line") as `(command words, flags)`: a
/// line `tm WORDS… [--flag …]` and its indented continuation lines, comments cut.
fn readme_synopsis() -> Vec<(Vec<String>, Vec<String>)> {
    let readme = fs::read_to_string(repo().join("README.md")).unwrap();
    let block = block_after(&readme, "## The `tm` command line", "");
    let mut entries: Vec<(Vec<String>, Vec<String>)> = Vec::new();
    for line in block.lines() {
        let line = line.split(" #").next().unwrap_or_default();
        if let Some(rest) = line.strip_prefix("tm ") {
            let words = rest
                .split_whitespace()
                .take_while(|w| !w.is_empty() && w.chars().all(|c| c.is_ascii_lowercase()))
                .map(str::to_owned)
                .collect();
            entries.push((words, Vec::new()));
        }
        let Some((_, flags)) = entries.last_mut() else {
            continue;
        };
        for (at, _) in line.match_indices("--") {
            let flag: String = line[at + 2..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
                .collect();
            if !flag.is_empty() {
                flags.push(format!("--{flag}"));
            }
        }
    }
    entries
}

/// Issue 21: the README's `tm` synopsis cannot drift from the command line (it said `tm man
/// [--out DIR]` of a flag called --dir): every command it shows exists and every flag it
/// gives that command is in the command's --help.
#[test]
fn the_readme_synopsis_matches_tm_s_help() {
    let entries = readme_synopsis();
    assert!(entries.len() >= 10, "{entries:?}");
    for (words, flags) in entries {
        let mut args: Vec<&str> = words.iter().map(String::as_str).collect();
        args.push("--help");
        let help = tm(&args, &[]);
        assert_eq!(help.code, 0, "tm {}: {}", args.join(" "), help.stderr);
        for flag in flags {
            assert!(
                help.stdout
                    .split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
                    .any(|word| word == flag),
                "README.md shows `tm {} {flag}`, which `tm {}` does not have",
                words.join(" "),
                args.join(" ")
            );
        }
    }
}

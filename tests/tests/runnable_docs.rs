//! Every code block of README.md and docs/*.md marked `<!-- runnable -->` runs as written,
//! with the built binaries on PATH, so a recipe cannot drift from the command line
//! (issue 21: the replay recipe failed as written).
//!
//! The marker, on the line before a ```` ```sh ```` block, takes optional attributes:
//! `cwd=DIR` runs the block in DIR of the document's scratch folder; `file=NAME` (on any
//! block) writes the block into NAME there instead of running it. The blocks of one document
//! run in order in one scratch folder holding a copy of `examples/`, `conformance/` linked,
//! and `target/release` and `target/debug` linked to the built binaries; `cargo build` and
//! `cargo install` succeed without doing anything (the binaries are built), so `bash
//! install.sh` copies the built binaries (into the scratch folder's `.cargo-home/bin`). A block runs with
//! `bash -e -o pipefail` and must exit 0 within 120 s.

#![allow(clippy::unwrap_used)] // tests unwrap: a failure is the report

mod common;

use std::fs;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

/// How long one block may take.
const BLOCK_LIMIT: Duration = Duration::from_secs(120);

fn repo() -> PathBuf {
    fs::canonicalize(Path::new(env!("CARGO_MANIFEST_DIR")).join("..")).unwrap()
}

/// A marked block: where it is, its attributes, its text.
#[derive(Debug)]
struct Block {
    place: String,
    cwd: Option<String>,
    file: Option<String>,
    text: String,
}

/// The marked blocks of `text` (`name` in messages); a marker not followed by a fenced
/// block, or with an unknown attribute, fails the test naming its line.
fn blocks(name: &str, text: &str) -> Vec<Block> {
    let lines: Vec<&str> = text.lines().collect();
    let mut found = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i].trim();
        let Some(attributes) = line
            .strip_prefix("<!-- runnable")
            .and_then(|rest| rest.strip_suffix("-->"))
        else {
            i += 1;
            continue;
        };
        let place = format!("{name}:{}", i + 1);
        let (mut cwd, mut file) = (None, None);
        for attribute in attributes.split_whitespace() {
            match attribute.split_once('=') {
                Some(("cwd", dir)) => cwd = Some(dir.to_owned()),
                Some(("file", path)) => file = Some(path.to_owned()),
                _ => panic!("{place}: unknown attribute {attribute:?} of the runnable marker"),
            }
        }
        let fence = lines.get(i + 1).map(|l| l.trim()).unwrap_or_default();
        assert!(
            fence.starts_with("```"),
            "{place}: the runnable marker is not followed by a code block"
        );
        assert!(
            file.is_some() || fence == "```sh",
            "{place}: a runnable block to run is a ```sh block"
        );
        let end = (i + 2..lines.len())
            .find(|&j| lines[j].trim() == "```")
            .unwrap_or_else(|| panic!("{place}: the code block is not closed"));
        let mut text = lines[i + 2..end].join("\n");
        text.push('\n');
        found.push(Block {
            place,
            cwd,
            file,
            text,
        });
        i = end + 1;
    }
    found
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// A document's scratch folder and the PATH its blocks run with.
fn scratch(dir: &Path) -> String {
    let repo = repo();
    copy_dir(&repo.join("examples"), &dir.join("examples"));
    std::os::unix::fs::symlink(repo.join("conformance"), dir.join("conformance")).unwrap();
    // `bash install.sh`: its build is the stub below, its copies go to the scratch folder's
    // .cargo-home/bin (CARGO_HOME, set by `run`).
    std::os::unix::fs::symlink(repo.join("install.sh"), dir.join("install.sh")).unwrap();
    fs::create_dir_all(dir.join("target")).unwrap();
    for profile in ["release", "debug"] {
        std::os::unix::fs::symlink(bin_dir(), dir.join("target").join(profile)).unwrap();
    }
    let shim = dir.join(".shim");
    fs::create_dir_all(&shim).unwrap();
    let cargo = shim.join("cargo");
    fs::write(
        &cargo,
        "#!/bin/sh\ncase \"$1\" in build|install) exit 0;; esac\n\
         echo \"runnable docs: only cargo build and cargo install are stubbed\" >&2\nexit 97\n",
    )
    .unwrap();
    let mut permissions = fs::metadata(&cargo).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut permissions, 0o755);
    fs::set_permissions(&cargo, permissions).unwrap();
    format!(
        "{}:{}:{}",
        shim.display(),
        bin_dir().display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

/// Runs `block` in `dir` with `path`; fails the test with its output unless it exits 0 in
/// time.
fn run(block: &Block, dir: &Path, scratch: &Path, path: &str) {
    let mut child = Command::new("bash")
        .args(["-e", "-o", "pipefail", "-c", &block.text])
        .current_dir(dir)
        .env("PATH", path)
        .env("NO_COLOR", "1")
        .env("CARGO_HOME", scratch.join(".cargo-home"))
        .env_remove("CARGO")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .unwrap();
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if started.elapsed() > BLOCK_LIMIT {
            // The whole group: the block's background jobs too.
            let _ = Command::new("kill")
                .args(["-KILL", "--", &format!("-{}", child.id())])
                .status();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let output = child.wait_with_output().unwrap();
    assert!(
        status.is_some_and(|s| s.success()),
        "{}: the block {} in {}:\n{}\nstdout:\n{}\nstderr:\n{}",
        block.place,
        match status {
            Some(status) => format!("ended with {status}"),
            None => format!("took over {BLOCK_LIMIT:?}"),
        },
        dir.display(),
        block.text,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn every_runnable_block_of_the_docs_runs_as_written() {
    let repo = repo();
    let mut documents: Vec<PathBuf> = fs::read_dir(repo.join("docs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    documents.sort();
    documents.insert(0, repo.join("README.md"));
    let mut ran = 0;
    for document in documents {
        let name = document.strip_prefix(&repo).unwrap().display().to_string();
        let blocks = blocks(&name, &fs::read_to_string(&document).unwrap());
        if blocks.is_empty() {
            continue;
        }
        let dir = tempfile::tempdir().unwrap();
        let path = scratch(dir.path());
        for block in &blocks {
            let cwd = dir.path().join(block.cwd.as_deref().unwrap_or("."));
            match &block.file {
                Some(file) => fs::write(cwd.join(file), &block.text).unwrap(),
                None => {
                    run(block, &cwd, dir.path(), &path);
                    ran += 1;
                }
            }
        }
    }
    // The quick start, the replay recipe, conformance on the mock at least.
    assert!(ran >= 3, "only {ran} runnable blocks found");
}

/// `rep-replay --help`'s recipe (record, replay.yaml, replay with the recorded inputs) runs
/// as written in a folder of the reference compiler's output.
#[test]
fn rep_replay_help_recipe_runs_as_written() {
    let help = Command::new(rep_replay()).arg("--help").output().unwrap();
    let help = String::from_utf8_lossy(&help.stdout).into_owned();
    let recipe: String = help
        .lines()
        .skip_while(|l| !l.starts_with("Examples"))
        .skip(1)
        .take_while(|l| !l.is_empty())
        .map(|l| format!("{}\n", l.strip_prefix("  ").unwrap_or(l)))
        .collect();
    assert!(recipe.contains("--print-inputs bug.jsonl"), "{help}");
    let dir = tempfile::tempdir().unwrap();
    let path = scratch(dir.path());
    let block = Block {
        place: "rep-replay --help".into(),
        cwd: None,
        file: None,
        text: recipe,
    };
    run(
        &block,
        &dir.path().join("examples/plant-monitor"),
        dir.path(),
        &path,
    );
}

#[test]
fn a_marker_without_a_block_or_with_an_unknown_attribute_is_refused() {
    let marked = "<!-- runnable cwd=x -->\n```sh\necho hi\n```\n";
    let found = blocks("t.md", marked);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].cwd.as_deref(), Some("x"));
    assert_eq!(found[0].text, "echo hi\n");
    for bad in [
        "<!-- runnable -->\ntext\n",
        "<!-- runnable speed=fast -->\n```sh\n```\n",
        "<!-- runnable -->\n```yaml\na: 1\n```\n",
    ] {
        let refused = std::panic::catch_unwind(|| blocks("t.md", bad));
        assert!(refused.is_err(), "{bad:?} was accepted");
    }
}

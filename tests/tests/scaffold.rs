//! `tm executor new` (issue 14): for Rust, C and C++, the generated project builds, runs its
//! sample flow under `tm` and is certified by `rep-conformance` by its own `ci.sh` — the
//! commands of its README — with no edits; `tm executor check` agrees. Issue 22: every project
//! registers `rep.probe`, so its `ci.sh` passes the semantic tests and 500 fuzz cases of a fixed
//! seed, and `tm executor check` reads the JSON report and shows the semantic tests.
//!
//! The Rust project builds in the workspace's target folder (as `scaffold-e2e-rust`, a name no
//! workspace binary has), so it reuses the kit's dependencies already built for the workspace,
//! and offline: the project gets the workspace's Cargo.lock. The C and C++ projects need gcc,
//! g++, make and nlohmann-json3-dev: without them the test is skipped, unless
//! `REP_NATIVE_REQUIRED=1` (CI sets it) makes that a failure, as in tests/tests/native.rs.

#![allow(clippy::unwrap_used)] // tests unwrap: a failure is the report

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;

fn target_dir() -> PathBuf {
    bin_dir().parent().expect("target dir").to_path_buf()
}

fn has(program: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Generates `name` in a temp folder, runs its `ci.sh`, then `tm executor check` on it.
fn generate_build_certify(name: &str, lang: &str) {
    let dir = tempfile::tempdir().unwrap();
    let run = tm_in(
        dir.path(),
        &[
            "executor",
            "new",
            name,
            "--lang",
            lang,
            "--kind",
            "demo.hello",
        ],
        &[],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let project = dir.path().join(name);
    // tm and rep-conformance first, then the user's PATH (cargo, make, compilers).
    let user_path = std::env::var_os("PATH").unwrap_or_default();
    let dirs = std::iter::once(bin_dir()).chain(std::env::split_paths(&user_path));
    let path = std::env::join_paths(dirs).unwrap().into_string().unwrap();
    // What the README says to run, as CI runs it.
    let ci = Command::new("bash")
        .arg("ci.sh")
        .current_dir(&project)
        .env("PATH", &path)
        .env("CARGO_TARGET_DIR", target_dir())
        .env("CARGO_NET_OFFLINE", "true")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&ci.stdout);
    let stderr = String::from_utf8_lossy(&ci.stderr);
    assert!(
        ci.status.success(),
        "ci.sh of {lang} failed ({}):\n{stdout}\n{stderr}",
        ci.status
    );
    // The sample flow completed with its outputs, and the executor is certified.
    assert!(stdout.contains("\"status\": \"completed\""), "{stdout}");
    assert!(
        stdout.contains("\"demo_hello\": \"hello, world\""),
        "{stdout}"
    );
    assert!(
        stdout.contains("REP v0.1 core: certified + cancel + health + semantics"),
        "{stdout}"
    );
    assert!(
        stdout.contains("fuzz: 500 cases of seed 1 match the model"),
        "{stdout}"
    );

    // The smoke test, one line per check; the executor by the subcommand's own --executor
    // (it was accepted and ignored before issue 22).
    let executor = match lang {
        "rust" => target_dir().join("debug").join(name),
        _ => project.join("build").join(name),
    };
    // It builds the project first (issue 21): a no-op here, after ci.sh.
    let target = target_dir();
    let check = tm(
        &[
            "executor",
            "check",
            project.to_str().unwrap(),
            "--executor",
            executor.to_str().unwrap(),
        ],
        &[
            ("PATH", &path),
            ("CARGO_TARGET_DIR", target.to_str().unwrap()),
            ("CARGO_NET_OFFLINE", "true"),
        ],
    );
    assert_eq!(check.code, 0, "{}\n{}", check.stdout, check.stderr);
    let mut lines: Vec<&str> = check.stdout.lines().collect();
    let build = if lang == "rust" {
        "cargo build"
    } else {
        "make"
    };
    assert!(
        lines[0].starts_with(&format!("ok   build         `{build}` in ")),
        "{}",
        check.stdout
    );
    lines.remove(0);
    assert_eq!(lines.len(), 4, "{}", check.stdout);
    assert!(lines[0].starts_with("ok   capabilities  step kinds demo.hello, dsl.emit"));
    assert!(lines[0].contains("rep.probe"), "{}", lines[0]);
    assert!(lines[1].starts_with("ok   flow          sample completed"));
    assert!(
        lines[2].starts_with(
            "ok   conformance   REP v0.1 core: certified + cancel + health + semantics ("
        ),
        "{}",
        lines[2]
    );
    assert_eq!(
        lines[3],
        "ok   semantics     REP-SEM 12 tests: 12 passed, 0 failed, 0 warned, 0 skipped"
    );
}

#[test]
fn a_new_rust_executor_builds_runs_and_is_certified() {
    generate_build_certify("scaffold-e2e-rust", "rust");
}

fn native_available(compilers: &[&str], header: Option<&str>) -> bool {
    let mut missing: Vec<String> = compilers
        .iter()
        .filter(|c| !has(c))
        .map(|c| (*c).to_owned())
        .collect();
    if !has("make") {
        missing.push("make".into());
    }
    if let Some(header) = header.filter(|h| !Path::new(h).is_file()) {
        missing.push(header.to_owned());
    }
    if missing.is_empty() {
        return true;
    }
    let what = format!("the generated native project needs {}", missing.join(", "));
    assert!(
        std::env::var("REP_NATIVE_REQUIRED").as_deref() != Ok("1"),
        "REP_NATIVE_REQUIRED=1, but {what}"
    );
    eprintln!("skipped: {what}");
    false
}

#[test]
fn a_new_c_executor_builds_runs_and_is_certified() {
    if native_available(&["cc"], None) {
        generate_build_certify("scaffold-e2e-c", "c");
    }
}

#[test]
fn a_new_cpp_executor_builds_runs_and_is_certified() {
    if native_available(&["cc", "c++"], Some("/usr/include/nlohmann/json.hpp")) {
        generate_build_certify("scaffold-e2e-cpp", "cpp");
    }
}

#[test]
fn new_refuses_a_non_empty_folder_and_bad_kinds() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("taken")).unwrap();
    std::fs::write(dir.path().join("taken/notes.txt"), "mine").unwrap();
    let run = tm_in(dir.path(), &["executor", "new", "taken"], &[]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("already exists and is not empty"),
        "{}",
        run.stderr
    );
    assert_eq!(
        std::fs::read_dir(dir.path().join("taken")).unwrap().count(),
        1
    );
    let run = tm_in(
        dir.path(),
        &["executor", "new", "x", "--kind", "finish"],
        &[],
    );
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("--kind finish"), "{}", run.stderr);
    // An empty folder is fine; nothing else was left behind.
    std::fs::create_dir(dir.path().join("empty")).unwrap();
    let run = tm_in(
        dir.path(),
        &["executor", "new", "empty", "--lang", "c"],
        &[],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(dir.path().join("empty/src/main.c").is_file());
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["empty", "taken"]);
}

/// An executor that lacks the project's step kinds fails the smoke test, each check saying why.
#[test]
fn check_names_what_an_unfit_executor_lacks() {
    let dir = tempfile::tempdir().unwrap();
    let run = tm_in(
        dir.path(),
        &["executor", "new", "unfit", "--kind", "acme.read"],
        &[],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let project = dir.path().join("unfit");
    let mock = mock_executor();
    let check = tm(
        &[
            "executor",
            "check",
            project.to_str().unwrap(),
            "--executor-path",
            mock.to_str().unwrap(),
            "--no-build",
        ],
        &[],
    );
    assert_eq!(check.code, 1, "{}\n{}", check.stdout, check.stderr);
    let lines: Vec<&str> = check.stdout.lines().collect();
    assert_eq!(lines.len(), 4, "{}", check.stdout);
    assert!(
        lines[0].starts_with("FAIL capabilities")
            && lines[0].contains("step kinds acme.read are not advertised"),
        "{}",
        lines[0]
    );
    assert!(lines[1].starts_with("FAIL flow"), "{}", lines[1]);
    assert!(lines[2].starts_with("FAIL conformance"), "{}", lines[2]);
    // The report's reasons name the flow once (they said "flow sample: flow sample: …").
    assert!(
        lines[2].contains("(fail: flow sample: Runtime.StartRun answered an error: 1002"),
        "{}",
        lines[2]
    );
    // The command for the whole report works as written (issue 21: it said `rep-conformance
    // run` in DIR, which has no executor): rep-conformance reports (exit 1), no usage error.
    let (_, rerun) = lines[2].split_once("the whole report: `").unwrap();
    let rerun = rerun.trim_end_matches('`');
    assert!(
        rerun.contains("rep-conformance run --executor ")
            && rerun.ends_with("--fixtures conformance"),
        "{rerun}"
    );
    let shell = std::process::Command::new("sh")
        .args(["-c", rerun])
        .env("PATH", path_of(&[&bin_dir()]))
        .output()
        .unwrap();
    let shell_out = String::from_utf8_lossy(&shell.stdout);
    assert_eq!(shell.status.code(), Some(1), "{rerun}: {shell_out}");
    assert!(shell_out.contains("REP-LIF-002"), "{shell_out}");
    // The mock executor runs flows right: its semantic tests pass even so.
    assert!(
        lines[3].starts_with("ok   semantics     REP-SEM 12 tests: 12 passed"),
        "{}",
        lines[3]
    );

    let run = tm(&["executor", "check", dir.path().to_str().unwrap()], &[]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("has no flows/manifest.json"),
        "{}",
        run.stderr
    );
}

/// Issue 21: an unbuilt project is one FAIL with its fix (it was three, none naming the
/// build); a build that fails is one FAIL with the build's output, which is shown only then.
#[test]
fn check_builds_first_and_names_one_cause_with_its_fix() {
    let dir = tempfile::tempdir().unwrap();
    let run = tm_in(dir.path(), &["executor", "new", "unbuilt"], &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let project = dir.path().join("unbuilt");
    let check = tm(
        &["executor", "check", project.to_str().unwrap(), "--no-build"],
        &[],
    );
    assert_eq!(check.code, 1, "{}\n{}", check.stdout, check.stderr);
    let expected = format!(
        "FAIL executor      {}/target/debug/unbuilt does not exist: not built: run `cargo \
         build` in {} (or drop --no-build)\n",
        project.display(),
        project.display()
    );
    assert_eq!(check.stdout, expected);
    assert!(
        check.stderr.contains("1 of 1 checks failed"),
        "{}",
        check.stderr
    );

    // A C project's build is `make`: its failure is one FAIL quoting the build's output; a
    // build that succeeds says nothing of its output.
    let run = tm_in(
        dir.path(),
        &["executor", "new", "cbuild", "--lang", "c"],
        &[],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let project = dir.path().join("cbuild");
    std::fs::write(
        project.join("Makefile"),
        "all:\n\t@echo compiling handler.c\n\t@echo 'handler.c:3:1: error: expected ;' >&2\n\t@exit 2\n",
    )
    .unwrap();
    let check = tm(&["executor", "check", project.to_str().unwrap()], &[]);
    assert_eq!(check.code, 1, "{}\n{}", check.stdout, check.stderr);
    let lines: Vec<&str> = check.stdout.lines().collect();
    assert_eq!(
        lines,
        [
            format!(
                "FAIL build         `make` failed (exit code 2) in {}: fix the build, then check again",
                project.display()
            )
            .as_str(),
            "     handler.c:3:1: error: expected ;",
            "     make: *** [Makefile:4: all] Error 2",
        ],
        "{}",
        check.stdout
    );
    std::fs::write(
        project.join("Makefile"),
        "all:\n\t@echo compiling handler.c\n",
    )
    .unwrap();
    let check = tm(&["executor", "check", project.to_str().unwrap()], &[]);
    assert_eq!(check.code, 1, "{}\n{}", check.stdout, check.stderr);
    let lines: Vec<&str> = check.stdout.lines().collect();
    assert!(
        lines[0].starts_with("ok   build         `make` in "),
        "{}",
        check.stdout
    );
    assert!(!check.stdout.contains("compiling"), "{}", check.stdout);
    assert!(
        lines[1].starts_with("FAIL executor") && lines[1].contains("although `make` succeeded"),
        "{}",
        check.stdout
    );
    assert_eq!(lines.len(), 2, "{}", check.stdout);
}

/// Issue 21: the generated README installs the tools from the rep checkout `tm` knows (the
/// kit's), with its install.sh — not from a placeholder `REP/rep-host`.
#[test]
fn the_generated_readme_names_the_real_checkout_to_install_from() {
    let dir = tempfile::tempdir().unwrap();
    let run = tm_in(dir.path(), &["executor", "new", "named"], &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let readme = std::fs::read_to_string(dir.path().join("named/README.md")).unwrap();
    let checkout = std::fs::canonicalize(Path::new(env!("CARGO_MANIFEST_DIR")).join("..")).unwrap();
    assert!(
        readme.contains(&format!("\nbash {}/install.sh\n", checkout.display())),
        "{readme}"
    );
    assert!(!readme.contains("REP/"), "{readme}");
}

//! Issue 13 with TraceMind itself: `tm verify online --sources` compiling the example's
//! sources with the real trace-mind 1.2.0 (PyPI, in a virtualenv), and coexistence with
//! TraceMind's CLI — a fake TraceMind `tm` on PATH, the real one on PATH after ours, and a
//! virtualenv's `python -m tm`.

#![allow(clippy::unwrap_used)] // tests unwrap: a failure is the report

mod common;

use std::path::{Path, PathBuf};

use common::*;
use serde_json::Value;

/// A copy of the plant-monitor sources and inputs (WDL, PDL, input.json) in a new folder.
fn example_project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let example = examples().join("plant-monitor");
    for sub in ["flows", "policies"] {
        std::fs::create_dir(dir.path().join(sub)).unwrap();
        for entry in std::fs::read_dir(example.join(sub)).unwrap() {
            let entry = entry.unwrap();
            std::fs::copy(entry.path(), dir.path().join(sub).join(entry.file_name())).unwrap();
        }
    }
    std::fs::copy(example.join("input.json"), dir.path().join("input.json")).unwrap();
    dir
}

fn python_of(venv: &Path) -> String {
    venv.join("bin/python").to_str().unwrap().to_owned()
}

/// The IR with what differs between two compilations (the time, and the folder the sources
/// were compiled in) taken out.
fn comparable_ir(path: &Path, project: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap();
    let text = text.replace(&format!("{}/", project.display()), "");
    let mut ir: Value = serde_json::from_str(&text).unwrap();
    ir["metadata"]["generated_at"] = Value::Null;
    ir
}

/// Done when: `tm verify online --sources flows/ policies/ --out out/dsl --flow plant-monitor
/// --inputs @input.json` compiles and runs from the example's sources.
#[test]
fn verify_online_compiles_the_example_sources_with_tracemind_and_runs_them() {
    let Some(venv) = tracemind_venv() else { return };
    let project = example_project();
    let python = python_of(&venv);
    let args = [
        "verify",
        "online",
        "--sources",
        "flows/",
        "policies/",
        "--out",
        "out/dsl",
        "--flow",
        "plant-monitor",
        "--inputs",
        "@input.json",
        "--python",
        &python,
    ];
    let run = tm_in(project.path(), &args, &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let out = run.json();
    assert_eq!(out["manifest"], "out/dsl/manifest.json");
    assert_eq!(out["status"], "completed");
    assert_eq!(
        run.steps("succeeded"),
        ["read", "decide", "when_0", "write", "emit_1", "finish_2"]
    );
    // The compiler wrote what the reference compiler wrote for the committed example.
    let compiled = project.path().join("out/dsl/flows/plant-monitor.ir.json");
    let committed = examples().join("plant-monitor/out/dsl/flows/plant-monitor.ir.json");
    assert_eq!(
        comparable_ir(&compiled, project.path()),
        comparable_ir(&committed, project.path())
    );
    // The compiler refuses to overwrite without --force, as TraceMind's own verify does.
    let again = tm_in(project.path(), &args, &[]);
    assert_eq!(again.code, 2, "{}", again.stderr);
    assert!(again.stderr.contains("--force"), "{}", again.stderr);
    let mut forced = args.to_vec();
    forced.push("--force");
    let forced = tm_in(project.path(), &forced, &[]);
    assert_eq!(forced.code, 0, "{}", forced.stderr);
}

/// `--out` defaults to the folder of `--manifest`; the Python comes from runtime.python.
#[test]
fn sources_compile_next_to_the_manifest_with_the_python_of_runtime_yaml() {
    let Some(venv) = tracemind_venv() else { return };
    let project = example_project();
    let config = project.path().join("runtime.yaml");
    std::fs::write(
        &config,
        format!("runtime:\n  engine: proc\n  python: {}\n", python_of(&venv)),
    )
    .unwrap();
    let run = tm_in(
        project.path(),
        &[
            "--runtime-config",
            "runtime.yaml",
            "verify",
            "online",
            "--sources",
            "flows",
            "policies/plant-monitor.pdl",
            "--manifest",
            "build/manifest.json",
            "--flow",
            "plant-monitor",
            "--inputs",
            "@input.json",
        ],
        &[],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.json()["manifest"], "build/manifest.json");
    assert!(
        project
            .path()
            .join("build/flows/plant-monitor.ir.json")
            .is_file()
    );
}

/// Compiler errors are shown with their file and line, once, and exit 2 before any executor.
#[test]
fn compiler_errors_exit_2_with_their_file_and_line() {
    let Some(venv) = tracemind_venv() else { return };
    let project = example_project();
    std::fs::write(
        project.path().join("flows/broken.wdl"),
        "version: dsl/v0\nworkflow: broken\n  steps: [\n",
    )
    .unwrap();
    let python = python_of(&venv);
    for lint in [&[][..], &["--no-lint"][..]] {
        let mut args = vec![
            "verify",
            "online",
            "--sources",
            "flows",
            "policies",
            "--out",
            "out",
            "--flow",
            "plant-monitor",
            "--python",
            &python,
        ];
        args.extend_from_slice(lint);
        let run = tm_in(project.path(), &args, &[]);
        assert_eq!(run.code, 2, "{lint:?}: {}", run.stderr);
        assert!(run.stdout.is_empty(), "{}", run.stdout);
        assert!(
            run.stderr.contains("flows/broken.wdl:3:3: "),
            "{lint:?}: {}",
            run.stderr
        );
        assert_eq!(
            run.stderr.matches("broken.wdl").count(),
            1,
            "the location once: {}",
            run.stderr
        );
    }
}

/// Without TraceMind for the Python: exit 2 saying what to install. Without the Python: exit
/// 2 naming it and how to name another. A missing source: exit 2 naming it.
#[test]
fn a_python_without_tracemind_exits_2_saying_what_to_install() {
    let project = example_project();
    let bare = write_script(
        project.path(),
        "bare-python",
        "#!/bin/sh\n# Python without site-packages: no trace-mind.\nexec python3 -I -S \"$@\"\n",
    );
    let bare = bare.to_str().unwrap();
    let cases = [
        (
            vec!["--sources", "flows", "--python", bare],
            format!(
                "error: TraceMind's compiler is not installed for {bare} (pip install 'trace-mind[yaml]')"
            ),
        ),
        (
            vec!["--sources", "flows", "--python", "/no/such/python3"],
            "error: /no/such/python3 not found: TraceMind's compiler runs in Python; name the \
             interpreter with --python PATH or runtime.python in the runtime config"
                .to_owned(),
        ),
        (
            vec!["--sources", "flows", "no-such-dir", "--python", bare],
            "error: source not found: no-such-dir".to_owned(),
        ),
    ];
    for (extra, expected) in cases {
        let mut args = vec!["verify", "online", "--flow", "plant-monitor"];
        args.extend_from_slice(&extra);
        let run = tm_in(project.path(), &args, &[]);
        assert_eq!(run.code, 2, "{extra:?}: {}", run.stderr);
        assert_eq!(run.stderr.trim_end(), expected, "{extra:?}");
    }
}

/// A fake TraceMind `tm`: prints how it was called and exits 7.
fn fake_tracemind(dir: &Path) -> PathBuf {
    write_script(
        dir,
        "tm",
        "#!/bin/sh\n\
         if [ \"$1\" = --version ]; then echo 'tm 9.9.9 (fake)'; exit 0; fi\n\
         echo \"fake tracemind: $*\"\n\
         echo \"delegated from: $REP_TM_DELEGATED_FROM\" >&2\n\
         exit 7\n",
    )
}

/// Done when: our `tm` first on PATH, every TraceMind command still works — handed over with
/// all its arguments, TraceMind's exit code kept — and our own commands stay ours.
#[test]
fn tracemind_commands_go_to_the_next_tm_on_path_with_all_their_arguments() {
    let fake_dir = tempfile::tempdir().unwrap();
    fake_tracemind(fake_dir.path());
    let path = path_of(&[&bin_dir(), fake_dir.path()]);
    let env = [("PATH", path.as_str())];
    let cwd = fake_dir.path();
    let run = tm_in(
        cwd,
        &["dsl", "compile", "flows/", "--emit-ir", "--out", "x y"],
        &env,
    );
    assert_eq!(run.code, 7, "{}", run.stderr);
    assert_eq!(
        run.stdout,
        "fake tracemind: dsl compile flows/ --emit-ir --out x y\n"
    );
    // Global flags before the command go along, unchanged.
    let run = tm_in(cwd, &["--engine", "proc", "init", "demo"], &env);
    assert_eq!(run.stdout, "fake tracemind: --engine proc init demo\n");
    // `tm --version` names both.
    let run = tm_in(cwd, &["--version"], &env);
    assert_eq!(run.code, 0);
    let tm = fake_dir.path().join("tm");
    assert_eq!(
        run.stdout,
        format!(
            "tm {} (rep: REP v0.1 host, Flow IR 1.0.0)\nTraceMind CLI for other commands: {} (tm 9.9.9 (fake))\n",
            env!("CARGO_PKG_VERSION"),
            tm.display()
        )
    );
    // Our own commands win.
    let manifest = plant_monitor_manifest();
    let run = tm_in(
        cwd,
        &[
            "runtime",
            "run",
            "--manifest",
            manifest.to_str().unwrap(),
            "--flow",
            "plant-monitor",
            "--inputs",
            &plant_monitor_inputs(),
        ],
        &env,
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(!run.stdout.contains("fake tracemind"), "{}", run.stdout);
}

/// Another copy of this `tm` further up PATH (a symlink, or a copy of the file) is skipped,
/// never run in a loop.
#[test]
fn copies_of_this_tm_on_path_are_skipped() {
    let fake_dir = tempfile::tempdir().unwrap();
    fake_tracemind(fake_dir.path());
    let linked = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(tm_path(), linked.path().join("tm")).unwrap();
    let copied = tempfile::tempdir().unwrap();
    std::fs::copy(tm_path(), copied.path().join("tm")).unwrap();
    let path = path_of(&[linked.path(), copied.path(), fake_dir.path()]);
    let run = tm_in(
        fake_dir.path(),
        &["dsl", "lint"],
        &[("PATH", path.as_str())],
    );
    assert_eq!(run.code, 7, "{}", run.stderr);
    assert_eq!(run.stdout, "fake tracemind: dsl lint\n");
    // The copy was passed through: it is named to TraceMind's CLI as a hand-over.
    let from = run
        .stderr
        .lines()
        .find(|l| l.starts_with("delegated from: "))
        .unwrap();
    assert!(
        from.contains(copied.path().join("tm").to_str().unwrap()),
        "{from}"
    );
}

/// Issue 21: `tm`'s own global flags (`-v`, `-q`, `--color`, `--max-frame-bytes`,
/// `--executor-sha256`) are not TraceMind's and stay behind; TraceMind's own
/// (`--runtime-config`, `--engine`, `--executor-path`) and everything after the command go
/// along. `tm help X` asks TraceMind's X for its help.
#[test]
fn only_tracemind_s_own_global_flags_are_handed_over_and_help_x_is_x_help() {
    let fake_dir = tempfile::tempdir().unwrap();
    fake_tracemind(fake_dir.path());
    let path = path_of(&[&bin_dir(), fake_dir.path()]);
    let env = [("PATH", path.as_str())];
    let cwd = fake_dir.path();
    let cases: [(&[&str], &str); 5] = [
        (&["-v", "validate", "flows/"], "validate flows/"),
        (&["-q", "--color", "never", "dsl", "--help"], "dsl --help"),
        (
            &[
                "-vv",
                "--engine",
                "proc",
                "--max-frame-bytes=4096",
                "--runtime-config",
                "r.yaml",
                "--color=always",
                "init",
                "demo",
                "-v",
            ],
            "--engine proc --runtime-config r.yaml init demo -v",
        ),
        (
            &[
                "--executor-sha256",
                &"a".repeat(64),
                "--executor-path",
                "./e",
                "run",
                "x",
            ],
            "--executor-path ./e run x",
        ),
        (&["help", "dsl", "compile"], "dsl compile --help"),
    ];
    for (args, expected) in cases {
        let run = tm_in(cwd, args, &env);
        assert_eq!(run.code, 7, "{args:?}: {}", run.stderr);
        assert_eq!(
            run.stdout,
            format!("fake tracemind: {expected}\n"),
            "{args:?}"
        );
    }
    // Our own commands' help stays ours.
    let run = tm_in(cwd, &["help", "runtime"], &env);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.contains("Usage: tm runtime [OPTIONS] <COMMAND>"),
        "{}",
        run.stdout
    );
}

/// Issue 21: a near miss of one of `tm`'s own commands is a typo with a suggestion (exit 2),
/// at any level, and never reaches TraceMind's CLI; TraceMind's short commands (`run`) still do.
#[test]
fn typos_of_our_commands_get_did_you_mean_instead_of_a_hand_over() {
    let fake_dir = tempfile::tempdir().unwrap();
    fake_tracemind(fake_dir.path());
    let path = path_of(&[&bin_dir(), fake_dir.path()]);
    let env = [("PATH", path.as_str()), ("NO_COLOR", "1")];
    let cwd = fake_dir.path();
    for (args, word, suggestion) in [
        (&["runtme", "run"][..], "runtme", "runtime"),
        (&["-v", "verfy", "online"][..], "verfy", "verify"),
        (&["runtime", "rn"][..], "rn", "run"),
        (&["help", "exector"][..], "exector", "executor"),
    ] {
        let run = tm_in(cwd, args, &env);
        assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
        assert_eq!(run.stdout, "", "{args:?}");
        assert!(
            run.stderr.starts_with(&format!(
                "error: unrecognized subcommand '{word}'\n\n  tip: a similar subcommand exists: '{suggestion}'\n"
            )),
            "{args:?}: {}",
            run.stderr
        );
    }
    let run = tm_in(cwd, &["run", "recipe.yaml"], &env);
    assert_eq!(run.code, 7, "{}", run.stderr);
    assert_eq!(run.stdout, "fake tracemind: run recipe.yaml\n");
}

/// Without TraceMind anywhere: exit 2 naming the package that provides the command.
#[test]
fn without_tracemind_a_tracemind_command_names_the_package() {
    let dir = tempfile::tempdir().unwrap();
    let bare = write_script(
        dir.path(),
        "bare-python",
        "#!/bin/sh\nexec python3 -I -S \"$@\"\n",
    );
    std::fs::write(
        dir.path().join("runtime.yaml"),
        format!("runtime:\n  python: {}\n", bare.display()),
    )
    .unwrap();
    let path = path_of(&[&bin_dir()]);
    let env = [("PATH", path.as_str())];
    let run = tm_in(
        dir.path(),
        &["--runtime-config", "runtime.yaml", "dsl", "compile"],
        &env,
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert_eq!(
        run.stderr.trim_end(),
        format!(
            "error: `tm dsl` is not a command of this tm (rep), and TraceMind's CLI, which would \
             run it, is not installed: no other tm on PATH, and {} has no trace-mind package \
             (pip install 'trace-mind[yaml]'). This tm's own commands: runtime, verify, ir, \
             executor, completions, man",
            bare.display()
        )
    );
    let version = tm_in(
        dir.path(),
        &["--runtime-config", "runtime.yaml", "--version"],
        &env,
    );
    assert!(
        version.stdout.ends_with(
            "TraceMind CLI for other commands: not found (pip install 'trace-mind[yaml]')\n"
        ),
        "{}",
        version.stdout
    );
}

/// Done when: a TraceMind user with trace-mind 1.2.0 installed puts our `tm` first on PATH and
/// still uses TraceMind's commands (the real ones).
#[test]
fn the_real_tracemind_cli_runs_behind_ours_on_path() {
    let Some(venv) = tracemind_venv() else { return };
    let project = example_project();
    let path = path_of(&[&bin_dir(), &venv.join("bin")]);
    let env = [("PATH", path.as_str())];
    let run = tm_in(
        project.path(),
        &["dsl", "compile", "flows", "policies", "--out", "yaml-out"],
        &env,
    );
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(
        project
            .path()
            .join("yaml-out/flows/plant-monitor.yaml")
            .is_file()
    );
    let run = tm_in(project.path(), &["init", "demo"], &env);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(project.path().join("demo/trace-mind.toml").is_file());
    let run = tm_in(project.path(), &["--version"], &env);
    assert!(
        run.stdout.ends_with(&format!(
            "TraceMind CLI for other commands: {} (tm 1.2.0)\n",
            venv.join("bin/tm").display()
        )),
        "{}",
        run.stdout
    );
}

/// Issue 21 with trace-mind 1.2.0: what its CLI refused before (`-v`, `--color never`, `tm
/// help validate`) now works.
#[test]
fn the_real_tracemind_cli_gets_no_flags_it_does_not_know() {
    let Some(venv) = tracemind_venv() else { return };
    let project = example_project();
    let path = path_of(&[&bin_dir(), &venv.join("bin")]);
    let env = [("PATH", path.as_str())];
    for (args, usage) in [
        (&["-v", "validate", "--help"][..], "usage: tm validate"),
        (&["--color", "never", "dsl", "--help"][..], "usage: tm dsl"),
        (&["help", "validate"][..], "usage: tm validate"),
        (
            &["-q", "--engine", "proc", "init", "--help"][..],
            "usage: tm init",
        ),
    ] {
        let run = tm_in(project.path(), args, &env);
        assert_eq!(run.code, 0, "{args:?}: {}\n{}", run.stdout, run.stderr);
        assert!(run.stdout.starts_with(usage), "{args:?}: {}", run.stdout);
    }
}

/// With no TraceMind `tm` on PATH, a virtualenv's `python -m tm` (runtime.python) runs
/// TraceMind's commands.
#[test]
fn a_virtualenvs_python_dash_m_tm_runs_tracemind_commands() {
    let Some(venv) = tracemind_venv() else { return };
    let project = example_project();
    std::fs::write(
        project.path().join("runtime.yaml"),
        format!("runtime:\n  python: {}\n", python_of(&venv)),
    )
    .unwrap();
    let path = path_of(&[&bin_dir()]);
    let env = [("PATH", path.as_str())];
    let run = tm_in(
        project.path(),
        &[
            "--runtime-config",
            "runtime.yaml",
            "dsl",
            "compile",
            "--help",
        ],
        &env,
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.starts_with("usage: tm dsl compile"),
        "{}",
        run.stdout
    );
    let run = tm_in(
        project.path(),
        &["--runtime-config", "runtime.yaml", "--version"],
        &env,
    );
    assert!(
        run.stdout.ends_with(&format!(
            "TraceMind CLI for other commands: {} -m tm (trace-mind 1.2.0)\n",
            python_of(&venv)
        )),
        "{}",
        run.stdout
    );
}

//! Issue 13, the real `tm` as a TraceMind user meets it: inputs checked before any executor
//! starts, CLI conventions (-q/-v, --color, completions, man page, help that never wraps a
//! command, `--inputs @-`), executor resolution and its messages, and the observers
//! (`--events-jsonl` run ids, the progress line on a terminal).

#![allow(clippy::unwrap_used)] // tests unwrap: a failure is the report

mod common;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;
use serde_json::{Value, json};

/// An executor script that records being started in `marker` (and then fails).
fn marking_executor(dir: &Path) -> (String, std::path::PathBuf) {
    let marker = dir.join("executor-started");
    let script = write_script(
        dir,
        "executor.sh",
        &format!("#!/bin/sh\ntouch {}\nexit 1\n", marker.display()),
    );
    (script.to_str().unwrap().to_owned(), marker)
}

/// Deliver 1: missing inputs exit 2, each named with its declared type, before any executor
/// starts (the issue: no `--inputs` used to complete with `temp: null`).
#[test]
fn missing_inputs_exit_2_naming_each_before_any_executor_starts() {
    let dir = tempfile::tempdir().unwrap();
    let (executor, marker) = marking_executor(dir.path());
    let manifest = plant_monitor_manifest();
    for command in [&["runtime", "run"][..], &["verify", "online"][..]] {
        let mut args = command.to_vec();
        args.extend([
            "--manifest",
            manifest.to_str().unwrap(),
            "--flow",
            "plant-monitor",
            "--executor-path",
            &executor,
        ]);
        let run = tm(&args, &[]);
        assert_eq!(run.code, 2, "{}", run.stderr);
        assert!(run.stdout.is_empty(), "{}", run.stdout);
        assert_eq!(
            run.stderr,
            "error: the inputs of flow \"plant-monitor\" do not match its inputs_schema:\n  \
             - input endpoint (string): missing\n  \
             - input nodes (list<string>): missing\n\
             hint: give the inputs with --inputs JSON|@FILE|@-; --no-input-check skips this check\n"
        );
    }
    assert!(!marker.exists(), "no executor may start");
}

/// Deliver 1: mistyped inputs exit 2 naming the input, its type, what was given, and a JSON
/// pointer for list items; undeclared inputs are allowed.
#[test]
fn mistyped_inputs_exit_2_with_types_and_pointers() {
    let dir = tempfile::tempdir().unwrap();
    let (executor, marker) = marking_executor(dir.path());
    let run = tm_run(
        &plant_monitor_manifest(),
        "plant-monitor",
        &[
            "--inputs",
            r#"{"endpoint": 5, "nodes": ["ns=2;i=2", 7], "extra": "passed through"}"#,
            "--executor-path",
            &executor,
        ],
        &[],
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("  - input endpoint (string): expected a string, got number 5\n"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains(
            "  - input nodes (list<string>): /nodes/1: expected a string, got number 7\n"
        ),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("extra"), "{}", run.stderr);
    assert!(!marker.exists(), "no executor may start");
}

/// Deliver 1: `--no-input-check` leaves the inputs to the executor, whose kit refuses them at
/// StartRun with 1004 (exit 3).
#[test]
fn without_the_host_check_the_kit_refuses_bad_inputs_with_1004() {
    let run = tm_run(
        &plant_monitor_manifest(),
        "plant-monitor",
        &["--inputs", r#"{"endpoint": "e"}"#, "--no-input-check"],
        &[],
    );
    assert_eq!(run.code, 3, "{}", run.stderr);
    let error = &run.json()["error"];
    assert_eq!(error["code"], 1004, "{error}");
    assert_eq!(error["class"], "Validation");
    assert_eq!(
        error["executor_error"]["data"]["details"],
        json!([{"pointer": "/nodes", "input": "nodes", "declared": "list<string>", "message": "missing"}])
    );
}

/// Deliver 1: a type name the table does not know is accepted and logged at debug level.
#[test]
fn unknown_input_types_are_accepted_and_logged_at_debug() {
    let dir = tempfile::tempdir().unwrap();
    let mut ir = plant_monitor_ir();
    ir["inputs_schema"]["model"] = json!({"type": "Tensor<f32>"});
    let manifest = write_flow(dir.path(), "plant-monitor", &ir);
    let inputs = r#"{"endpoint": "e", "nodes": ["n"], "model": [1, 2]}"#;
    let run = tm_run(
        &manifest,
        "plant-monitor",
        &["--inputs", inputs, "-vv"],
        &[],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("input model: type \"Tensor<f32>\" is not checked (unknown type name)"),
        "{}",
        run.stderr
    );
}

/// Deliver 4: `--inputs @-` reads stdin.
#[test]
fn inputs_from_stdin() {
    let manifest = plant_monitor_manifest();
    let inputs = std::fs::read(examples().join("plant-monitor/input.json")).unwrap();
    let run_with_stdin = |stdin: &[u8]| {
        let mut child = Command::new(tm_path())
            .args([
                "runtime",
                "run",
                "--manifest",
                manifest.to_str().unwrap(),
                "--flow",
                "plant-monitor",
                "--inputs",
                "@-",
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(stdin).unwrap();
        child.wait_with_output().unwrap()
    };
    let output = run_with_stdin(&inputs);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let printed: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(printed["status"], "completed");
    let output = run_with_stdin(b"[1, 2]");
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        "error: --inputs from stdin must be a JSON object, got [1,2]\n"
    );
}

/// Deliver 4: `-q` prints errors only; `-v`/`-vv` log more and win over RUST_LOG.
#[test]
fn quiet_and_verbose_flags_win_over_rust_log() {
    let dir = tempfile::tempdir().unwrap();
    // A manifest entry that disagrees with its IR warns; the failing step is an error.
    let manifest = failing_flow(dir.path());
    let plain = tm_run(&manifest, "plant-monitor", &[], &[]);
    assert_eq!(plain.code, 1);
    assert!(plain.stderr.contains("WARN"), "{}", plain.stderr);
    let quiet = tm_run(
        &manifest,
        "plant-monitor",
        &["-q"],
        &[("RUST_LOG", "debug")],
    );
    assert_eq!(quiet.code, 1);
    assert_eq!(
        quiet.stderr.lines().collect::<Vec<_>>(),
        [r#"error: run failed at step "read": _mock: injected failure of attempt 1 (fail: true)"#],
        "{}",
        quiet.stderr
    );
    let verbose = tm_run(
        &manifest,
        "plant-monitor",
        &["-vv"],
        &[("RUST_LOG", "error")],
    );
    assert!(
        verbose.stderr.contains("Flow IR loaded and valid"),
        "{}",
        verbose.stderr
    );
    let info = tm_run(&manifest, "plant-monitor", &["-v"], &[]);
    assert!(!info.stderr.contains("DEBUG"), "{}", info.stderr);
    let usage = tm(&["-q", "-v", "runtime", "capabilities"], &[]);
    assert_eq!(usage.code, 2, "-q and -v conflict: {}", usage.stderr);
}

/// Deliver 4: `--color auto|always|never`, honouring NO_COLOR (an explicit `always` wins).
#[test]
fn color_follows_the_flag_and_no_color() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = failing_flow(dir.path());
    let colored = |run: &Run| run.stderr.contains("\x1b[");
    let always = tm_run(&manifest, "plant-monitor", &["--color", "always"], &[]);
    assert!(colored(&always), "{}", always.stderr);
    let forced = tm_run(
        &manifest,
        "plant-monitor",
        &["--color=always"],
        &[("NO_COLOR", "1")],
    );
    assert!(colored(&forced), "{}", forced.stderr);
    let never = tm_run(&manifest, "plant-monitor", &["--color", "never"], &[]);
    assert!(!colored(&never), "{}", never.stderr);
    let auto = tm_run(&manifest, "plant-monitor", &[], &[]);
    assert!(!colored(&auto), "not a terminal: {}", auto.stderr);
    // clap's usage errors too.
    let usage = tm(&["--color", "always", "runtime", "run"], &[]);
    assert_eq!(usage.code, 2);
    assert!(colored(&usage), "{}", usage.stderr);
    let usage = tm(&["--color", "never", "runtime", "run"], &[]);
    assert!(
        !colored(&usage) && usage.stderr.contains("--manifest"),
        "{}",
        usage.stderr
    );
}

/// Deliver 4: completion scripts for the usual shells.
#[test]
fn completions_for_every_shell() {
    for (shell, marker) in [
        ("bash", "_tm()"),
        ("zsh", "#compdef tm"),
        ("fish", "complete -c tm"),
        ("elvish", "edit:completion:arg-completer[tm]"),
        ("powershell", "Register-ArgumentCompleter"),
    ] {
        let run = tm(&["completions", shell], &[]);
        assert_eq!(run.code, 0, "{shell}: {}", run.stderr);
        assert!(run.stdout.contains(marker), "{shell}: {}", run.stdout);
        assert!(run.stdout.contains("verify"), "{shell}");
    }
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("tm.bash");
    std::fs::write(&script, tm(&["completions", "bash"], &[]).stdout).unwrap();
    let syntax = Command::new("bash")
        .arg("-n")
        .arg(&script)
        .status()
        .unwrap();
    assert!(syntax.success(), "the bash script parses");
}

/// Deliver 4: the manual page, on stdout or one page per command in a folder.
#[test]
fn the_manual_page() {
    let run = tm(&["man"], &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains(".TH tm 1"), "{}", run.stdout);
    for section in [
        ".SH EXAMPLES",
        ".SH \"EXIT STATUS\"",
        ".SH \"TRACEMIND COMMANDS\"",
    ] {
        assert!(run.stdout.contains(section), "{section}");
    }
    // Option dashes stay dashes (copy-paste), examples are not filled.
    assert!(
        run.stdout
            .contains("tm verify online \\-\\-sources flows/ policies/ \\-\\-out out/dsl \\e\n"),
        "{}",
        run.stdout
    );
    let dir = tempfile::tempdir().unwrap();
    let pages = dir.path().join("man1");
    let run = tm(&["man", "--dir", pages.to_str().unwrap()], &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    for page in [
        "tm.1",
        "tm-runtime-run.1",
        "tm-verify-online.1",
        "tm-completions.1",
    ] {
        assert!(pages.join(page).is_file(), "{page}");
    }
    assert_eq!(
        std::fs::read_to_string(pages.join("tm.1")).unwrap(),
        tm(&["man"], &[]).stdout
    );
}

/// Deliver 4: on an 80-column terminal no example of `tm --help` is wrapped inside a
/// command: every line is a comment, a command, or the continuation of a line ending in `\`.
#[test]
fn help_examples_never_wrap_inside_a_command() {
    let run = tm(&["--help"], &[("COLUMNS", "80")]);
    assert_eq!(run.code, 0);
    let examples: Vec<&str> = run
        .stdout
        .lines()
        .skip_while(|l| *l != "Examples:")
        .skip(1)
        .take_while(|l| l.is_empty() || l.starts_with("  "))
        .collect();
    assert!(examples.len() > 10, "{}", run.stdout);
    let mut previous = "";
    for line in examples {
        assert!(line.len() <= 80, "{line:?}");
        let ok = line.is_empty()
            || line.starts_with("  # ")
            || line.starts_with("  tm ")
            || (line.starts_with("      ") && previous.ends_with(" \\"));
        assert!(
            ok,
            "wrapped or broken example line {line:?} after {previous:?}"
        );
        previous = line;
    }
    assert!(run.stdout.contains("TraceMind's"), "names the hand-over");
}

/// Deliver 5: a bare executor name is looked up on PATH; a missing one says so.
#[test]
fn bare_executor_names_are_looked_up_on_path() {
    let path = path_of(&[&bin_dir()]);
    let run = tm_run(
        &plant_monitor_manifest(),
        "plant-monitor",
        &["--executor-path", "mock-executor"],
        &[("PATH", &path)],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let run = tm_run(
        &plant_monitor_manifest(),
        "plant-monitor",
        &["--executor-path", "no-such-executor"],
        &[],
    );
    assert_eq!(run.code, 4, "{}", run.stderr);
    assert_eq!(
        run.json()["error"]["message"],
        "executor no-such-executor not found on PATH"
    );
}

/// Deliver 5: a script without `#!` is explained, and not run by /bin/sh instead.
#[test]
fn a_script_without_a_shebang_is_explained_and_not_run() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("ran");
    let script = write_script(
        dir.path(),
        "executor.py",
        &format!("touch {}\nimport sys\n", marker.display()),
    );
    // Named in runtime.yaml as a program (not a .py path, which runs with python3).
    let config = dir.path().join("runtime.yaml");
    let program = dir.path().join("my-executor");
    std::fs::rename(&script, &program).unwrap();
    std::fs::write(
        &config,
        format!("runtime:\n  executor_path: {}\n", program.display()),
    )
    .unwrap();
    let run = tm_plant_with_config(&config, &[], &[]);
    assert_eq!(run.code, 4, "{}", run.stderr);
    assert_eq!(
        run.json()["error"]["message"],
        format!(
            "executor {} is a script without #! (runtime.executor_path in {}); add a #! line \
             (e.g. #!/usr/bin/env python3) or name the interpreter in runtime.yaml \
             executor_path/executor_args",
            program.display(),
            config.display()
        )
    );
    assert!(!marker.exists(), "the script must not run");
}

/// Deliver 5: a relative executor_path from runtime.yaml that is missing names the config
/// file and the working directory it was resolved against.
#[test]
fn a_missing_relative_executor_names_the_config_and_the_working_directory() {
    let project = tempfile::tempdir().unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    let config = project.path().join("runtime.yaml");
    std::fs::write(&config, "runtime:\n  executor_path: bin/my-executor\n").unwrap();
    let manifest = plant_monitor_manifest();
    let run = tm_in(
        elsewhere.path(),
        &[
            "--runtime-config",
            config.to_str().unwrap(),
            "runtime",
            "run",
            "--manifest",
            manifest.to_str().unwrap(),
            "--flow",
            "plant-monitor",
            "--inputs",
            &plant_monitor_inputs(),
        ],
        &[],
    );
    assert_eq!(run.code, 4, "{}", run.stderr);
    let cwd = std::fs::canonicalize(elsewhere.path()).unwrap();
    assert_eq!(
        run.json()["error"]["message"],
        format!(
            "executor not found: bin/my-executor (runtime.executor_path in {}, resolved against \
             the working directory {})",
            config.display(),
            cwd.display()
        )
    );
}

/// Deliver 5: a YAML error names its file and location once.
#[test]
fn yaml_errors_name_their_location_once() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("runtime.yaml");
    for (yaml, expected) in [
        (
            "runtime:\n  engine: proc\n  executor: x\n",
            "at line 3, column 3: unknown field `executor`",
        ),
        ("runtime: [unclosed\n", "at line 1, column 10: "),
    ] {
        std::fs::write(&config, yaml).unwrap();
        let run = tm_plant_with_config(&config, &[], &[]);
        assert_eq!(run.code, 2, "{}", run.stderr);
        assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
        assert!(
            run.stderr.starts_with(&format!(
                "error: invalid runtime config {} {expected}",
                config.display()
            )),
            "{}",
            run.stderr
        );
        assert_eq!(run.stderr.matches("line").count(), 1, "{}", run.stderr);
    }
}

/// Deliver 6: every `--events-jsonl` line carries the run id beside the event, so runs
/// appended to one file can be told apart.
#[test]
fn appended_runs_can_be_told_apart_in_events_jsonl() {
    let dir = tempfile::tempdir().unwrap();
    let jsonl = dir.path().join("events.jsonl");
    let jsonl_arg = jsonl.to_str().unwrap();
    let runs: Vec<Run> = (0..2)
        .map(|_| {
            tm_run(
                &plant_monitor_manifest(),
                "plant-monitor",
                &["--events-jsonl", jsonl_arg],
                &[],
            )
        })
        .collect();
    let lines: Vec<Value> = std::fs::read_to_string(&jsonl)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let mut expected = Vec::new();
    for run in &runs {
        assert_eq!(run.code, 0, "{}", run.stderr);
        let out = run.json();
        for event in out["events"].as_array().unwrap() {
            expected.push(json!({"run_id": out["run_id"], "event": event}));
        }
    }
    assert_ne!(runs[0].json()["run_id"], runs[1].json()["run_id"]);
    assert_eq!(lines, expected);
}

/// Deliver 6, on a terminal (a pseudo-terminal from `script`): the progress line shows the
/// attempt of a retried step, and the run ends with one summary line.
#[test]
fn on_a_terminal_progress_shows_attempts_and_ends_with_a_summary() {
    let dir = tempfile::tempdir().unwrap();
    let mut ir = plant_monitor_ir();
    // `write`: three attempts allowed, the first fails, each takes 400 ms (drawn at least once).
    ir["graph"]["nodes"][3]["retry"] = json!({"max": 2, "backoff_ms": 0});
    ir["graph"]["nodes"][3]["with"]["_mock"] = json!({"fail_times": 1, "delay_ms": 400});
    let manifest = write_flow(dir.path(), "plant-monitor", &ir);
    let screen = on_terminal(&[
        "runtime",
        "run",
        "--manifest",
        manifest.to_str().unwrap(),
        "--flow",
        "plant-monitor",
        "--inputs",
        &plant_monitor_inputs(),
    ]);
    assert!(screen.contains("write (attempt 1/3)"), "{screen:?}");
    assert!(screen.contains("write (attempt 2/3)"), "{screen:?}");
    let summary = screen
        .lines()
        .find(|l| l.contains("completed: 6 steps in "))
        .unwrap_or_else(|| panic!("no summary line: {screen:?}"));
    assert!(summary.trim_end().ends_with(" s") || summary.trim_end().ends_with(" ms"));
}

/// Deliver 6: an interrupt clears the progress line before the summary says `interrupted`.
#[test]
fn on_a_terminal_an_interrupt_clears_the_progress_line() {
    let dir = tempfile::tempdir().unwrap();
    let mut ir = plant_monitor_ir();
    ir["graph"]["nodes"][0]["with"]["_mock"] = json!({"delay_ms": 30000});
    let manifest = write_flow(dir.path(), "plant-monitor", &ir);
    let pid_file = dir.path().join("tm.pid");
    // The shell records tm's pid, then becomes tm; the test interrupts it once drawn.
    let command = format!(
        "echo $$ > {}; exec {} runtime run --manifest {} --flow plant-monitor --inputs {}",
        pid_file.display(),
        tm_path().display(),
        manifest.display(),
        plant_monitor_inputs()
    );
    let child = Command::new("script")
        .args(["-qefc", &command, "/dev/null"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    while !pid_file.is_file() && started.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(800));
    let pid = std::fs::read_to_string(&pid_file).unwrap();
    Command::new("kill")
        .args(["-INT", pid.trim()])
        .status()
        .unwrap();
    let output = child.wait_with_output().unwrap();
    let screen = without_colors(&String::from_utf8_lossy(&output.stdout));
    let drawn = screen
        .rfind("step 0/6")
        .unwrap_or_else(|| panic!("{screen:?}"));
    let summary = screen
        .find("interrupted: 0 steps in ")
        .unwrap_or_else(|| panic!("{screen:?}"));
    // indicatif clears its line with "erase line" (ESC [ 2 K) before the summary is written.
    let clear = screen[drawn..summary].find("\x1b[2K");
    assert!(
        clear.is_some(),
        "the line is cleared: {:?}",
        &screen[drawn..]
    );
}

/// Runs `tm args` with stdout and stderr on a pseudo-terminal; returns what it wrote.
fn on_terminal(args: &[&str]) -> String {
    let mut command = shell_quote(&tm_path().display().to_string());
    for arg in args {
        command.push(' ');
        command.push_str(&shell_quote(arg));
    }
    let output = Command::new("script")
        .args(["-qefc", &command, "/dev/null"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    without_colors(&String::from_utf8_lossy(&output.stdout))
}

/// `screen` without its SGR (color) escapes, `ESC [ … m`; other escapes stay.
fn without_colors(screen: &str) -> String {
    let mut plain = String::with_capacity(screen.len());
    let mut rest = screen;
    while let Some(start) = rest.find("\x1b[") {
        plain.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        match after.find(|c: char| !(c.is_ascii_digit() || c == ';')) {
            Some(end) if after[end..].starts_with('m') => rest = &after[end + 1..],
            _ => {
                plain.push_str("\x1b[");
                rest = after;
            }
        }
    }
    plain.push_str(rest);
    plain
}

fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// Issue 21: every binary has `completions SHELL` and `man [--dir DIR]`, generated in one
/// place (rep-cli): the bash script parses, the page is roff that `man -l` renders (where
/// man is installed; else its header is checked), `--dir` writes NAME.1.
#[test]
fn every_binary_has_completions_and_a_manual_page() {
    let dir = tempfile::tempdir().unwrap();
    let has_man = Command::new("man")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    for (name, binary) in [
        ("tm", tm_path()),
        ("rep-conformance", rep_conformance()),
        ("rep-replay", rep_replay()),
        ("rep-bridge", rep_bridge()),
    ] {
        let run = |args: &[&str]| Command::new(&binary).args(args).output().unwrap();
        let bash = run(&["completions", "bash"]);
        assert!(bash.status.success(), "{name}: {bash:?}");
        let script = dir.path().join(format!("{name}.bash"));
        std::fs::write(&script, &bash.stdout).unwrap();
        let parsed = Command::new("bash")
            .arg("-n")
            .arg(&script)
            .output()
            .unwrap();
        assert!(parsed.status.success(), "{name}: {parsed:?}");
        let zsh = run(&["completions", "zsh"]);
        assert!(
            String::from_utf8_lossy(&zsh.stdout).starts_with(&format!("#compdef {name}")),
            "{name}"
        );

        let page = run(&["man"]);
        assert!(page.status.success(), "{name}: {page:?}");
        let text = String::from_utf8_lossy(&page.stdout);
        assert!(text.contains(&format!(".TH {name} 1")), "{name}: {text}");
        assert!(text.contains(".SH EXAMPLES\n.nf\n"), "{name}: {text}");
        if has_man {
            let file = dir.path().join(format!("{name}.1"));
            std::fs::write(&file, &page.stdout).unwrap();
            let rendered = Command::new("man")
                .arg("-l")
                .arg(&file)
                .env("MANPAGER", "cat")
                .env("MANWIDTH", "80")
                .output()
                .unwrap();
            let shown = String::from_utf8_lossy(&rendered.stdout);
            assert!(rendered.status.success(), "{name}: {rendered:?}");
            assert!(
                shown.contains("NAME") && shown.contains("EXAMPLES"),
                "{shown}"
            );
            assert!(rendered.stderr.is_empty(), "{name}: {rendered:?}");
        }

        let pages = dir.path().join(format!("{name}-man1"));
        let written = run(&["man", "--dir", pages.to_str().unwrap()]);
        assert!(written.status.success(), "{name}: {written:?}");
        assert_eq!(
            std::fs::read(pages.join(format!("{name}.1"))).unwrap(),
            page.stdout,
            "{name}"
        );
    }
}

/// Issue 21: the global flags are listed once, in `tm --help`; a subcommand's help hides them
/// behind one line (as cargo does), and they still parse after the subcommand.
#[test]
fn global_flags_are_shown_once() {
    let root = tm(&["--help"], &[]);
    assert_eq!(root.code, 0);
    assert!(
        root.stdout.contains("--executor-path <PATH>"),
        "{}",
        root.stdout
    );
    for args in [
        &["man", "--help"][..],
        &["man", "-h"],
        &["runtime", "run", "--help"],
        &["runtime", "--help"],
        &["help", "verify", "online"],
    ] {
        let help = tm(args, &[]);
        assert_eq!(help.code, 0, "{args:?}: {}", help.stderr);
        for flag in [
            "--executor-path <PATH>",
            "--max-frame-bytes <BYTES>",
            "--color <WHEN>",
        ] {
            assert!(
                !help.stdout.contains(flag),
                "{args:?} lists {flag}:\n{}",
                help.stdout
            );
        }
        assert!(
            help.stdout.contains("Global options: --runtime-config")
                && help.stdout.contains("see `tm --help`."),
            "{args:?}:\n{}",
            help.stdout
        );
    }
    // Hidden from help, not from the parser.
    let dir = tempfile::tempdir().unwrap();
    let run = tm(
        &[
            "man",
            "--color",
            "never",
            "-q",
            "--dir",
            dir.path().to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(dir.path().join("tm.1").is_file());
}

/// Issue 21: `rep-bridge --help` lists its endpoints and options, no `help` command.
#[test]
fn rep_bridge_help_has_no_help_command() {
    let help = Command::new(rep_bridge()).arg("--help").output().unwrap();
    let text = String::from_utf8_lossy(&help.stdout);
    assert!(help.status.success());
    assert!(!text.contains("Transports:"), "{text}");
    assert!(
        !text.lines().any(|l| l.trim_start().starts_with("help ")),
        "{text}"
    );
    assert!(
        text.contains("tcp:HOST:PORT, unix:PATH or serial:DEVICE"),
        "{text}"
    );
}

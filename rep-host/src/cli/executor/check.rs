//! `tm executor check PATH`: the quick smoke test of a project made by `tm executor new`, one
//! line per check on stdout: the executor's capabilities cover the manifest's step kinds, the
//! sample flow completes, `rep-conformance` certifies the REP v0.1 core with the project's
//! fixtures, and the semantic tests pass when the executor registers `rep.probe` (both read
//! from rep-conformance's JSON report).
//!
//! Each check runs a real program, as the project's CI does: this `tm` itself (`runtime
//! capabilities`, `runtime run`) and the `rep-conformance` binary (beside `tm`, else on PATH).
//! The conformance crate depends on the host library, so the host cannot link it back; and a
//! child process bounds every check in time without any shared state. Each is a helper
//! command of rep-process ([`rep_process::run`]): its own process group, bounded in time and
//! output; a signal to `tm` stops the check running (SIGTERM to its group, which a `tm` or
//! `rep-conformance` child answers by ending its own run) and ends `tm` with 128 + N.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use flow_ir::Manifest;
use rep_host::conformance_report::Report;
use rep_process::{Interrupts, Spec};
use serde_json::Value;

use super::{ExecutorError, io, report};
use crate::cli::args::{ExecutorCheckArgs, GlobalArgs};
use crate::cli::error::Failure;
use crate::cli::output::print_stdout;

/// Bytes kept of a check's stdout or stderr (the rest is read and dropped).
const OUTPUT_BYTES: usize = 4 << 20;

/// The project's files the checks use.
const MANIFEST: &str = "flows/manifest.json";
const INPUTS: &str = "flows/sample.inputs.json";
const FIXTURES: &str = "conformance";
const RUNTIME_CONFIG: &str = "runtime.yaml";

/// One check's result.
struct Verdict {
    ok: bool,
    name: &'static str,
    detail: String,
}

/// Runs the checks in PATH; exit code 0 when all pass, 1 when one fails.
pub fn check(global: &GlobalArgs, args: &ExecutorCheckArgs) -> Result<(), Failure> {
    let project = &args.path;
    let manifest_path = project.join(MANIFEST);
    if !manifest_path.is_file() {
        return Err(Failure::Executor(ExecutorError::Usage(format!(
            "{} has no {MANIFEST}: give the folder of a project made by `tm executor new`",
            project.display()
        ))));
    }
    let manifest = Manifest::load(&manifest_path).map_err(Failure::Manifest)?;
    // The executor as the user names it (relative to here), else runtime.yaml's (relative to
    // the project, where the checks run).
    let executor = match args.executor.as_ref().or(global.executor_path.as_ref()) {
        Some(path) => {
            Some(std::path::absolute(path).map_err(|e| Failure::Executor(io("resolve", path)(e)))?)
        }
        None => None,
    };
    let timeout = Duration::from_secs_f64(args.timeout);
    let tm =
        std::env::current_exe().map_err(|e| Failure::Executor(io("find", Path::new("tm"))(e)))?;
    let mut host_flags: Vec<String> = Vec::new();
    if project.join(RUNTIME_CONFIG).is_file() {
        host_flags.extend(["--runtime-config".into(), RUNTIME_CONFIG.into()]);
    }
    if let Some(path) = &executor {
        host_flags.extend(["--executor-path".into(), path.display().to_string()]);
    }

    let mut runner = Runner::new()?;
    let mut verdicts = Vec::new();
    let kinds: Vec<String> = manifest
        .entries
        .iter()
        .flat_map(|e| e.step_kinds.iter().cloned())
        .collect();
    verdicts.push(capabilities(
        &mut runner,
        &tm,
        project,
        &host_flags,
        &kinds,
        timeout,
    ));
    for entry in &manifest.entries {
        verdicts.push(sample_run(
            &mut runner,
            &tm,
            project,
            &host_flags,
            &entry.name,
            timeout,
        ));
    }
    verdicts.extend(conformance(
        &mut runner,
        &tm,
        project,
        executor.as_deref(),
        timeout,
    ));

    let mut text = String::new();
    for v in &verdicts {
        let mark = if v.ok { "ok  " } else { "FAIL" };
        text.push_str(&format!("{mark} {:<13} {}\n", v.name, v.detail));
    }
    print_stdout(text.as_bytes())?;
    match verdicts.iter().filter(|v| !v.ok).count() {
        0 => Ok(()),
        failed => Err(Failure::ChecksFailed {
            failed,
            total: verdicts.len(),
        }),
    }
}

fn capabilities(
    runner: &mut Runner,
    tm: &Path,
    project: &Path,
    flags: &[String],
    kinds: &[String],
    timeout: Duration,
) -> Verdict {
    let name = "capabilities";
    let command = Spec::new(tm).args(flags).args(["runtime", "capabilities"]);
    let out = match runner.run(command, project, timeout) {
        Ok(out) if out.code == Some(0) => out,
        Ok(out) => return fail(name, &out),
        Err(detail) => {
            return Verdict {
                ok: false,
                name,
                detail,
            };
        }
    };
    let advertised: Vec<String> = serde_json::from_str::<Value>(&out.stdout)
        .ok()
        .and_then(|caps| serde_json::from_value(caps["step_kinds"].clone()).ok())
        .unwrap_or_default();
    let mut missing: Vec<&String> = kinds.iter().filter(|k| !advertised.contains(k)).collect();
    missing.sort();
    missing.dedup();
    if missing.is_empty() {
        Verdict {
            ok: true,
            name,
            detail: format!("step kinds {}", advertised.join(", ")),
        }
    } else {
        Verdict {
            ok: false,
            name,
            detail: format!(
                "the manifest's step kinds {} are not advertised (advertised: {})",
                missing
                    .iter()
                    .map(|k| k.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                advertised.join(", ")
            ),
        }
    }
}

fn sample_run(
    runner: &mut Runner,
    tm: &Path,
    project: &Path,
    flags: &[String],
    flow: &str,
    timeout: Duration,
) -> Verdict {
    let name = "flow";
    let mut command =
        Spec::new(tm)
            .args(flags)
            .args(["runtime", "run", "--manifest", MANIFEST, "--flow", flow]);
    if project.join(INPUTS).is_file() {
        command = command.args(["--inputs", &format!("@{INPUTS}")]);
    }
    let started = Instant::now();
    match runner.run(command, project, timeout) {
        Ok(out) if out.code == Some(0) => {
            let outputs = serde_json::from_str::<Value>(&out.stdout)
                .map(|v| v["summary"]["outputs"].to_string())
                .unwrap_or_default();
            Verdict {
                ok: true,
                name,
                detail: format!(
                    "{flow} completed in {} ms, outputs {outputs}",
                    started.elapsed().as_millis()
                ),
            }
        }
        Ok(out) => {
            let printed: Value = serde_json::from_str(&out.stdout).unwrap_or(Value::Null);
            match printed["status"].as_str() {
                Some(status) => Verdict {
                    ok: false,
                    name,
                    detail: format!(
                        "{flow} {status}: {}",
                        printed["error"]["message"]
                            .as_str()
                            .or(printed["summary"]["error"]["message"].as_str())
                            .unwrap_or("(no error message)")
                    ),
                },
                None => fail(name, &out),
            }
        }
        Err(detail) => Verdict {
            ok: false,
            name,
            detail,
        },
    }
}

/// `rep-conformance run` on the project's fixtures: the `conformance` verdict (the catalogue,
/// the certification line) and the `semantics` verdict (the `REP-SEM-*` tests, run when the
/// executor advertises `rep.probe`), both read from the JSON report.
fn conformance(
    runner: &mut Runner,
    tm: &Path,
    project: &Path,
    executor: Option<&Path>,
    timeout: Duration,
) -> Vec<Verdict> {
    let name = "conformance";
    let Some(binary) = rep_conformance(tm) else {
        return vec![Verdict {
            ok: false,
            name,
            detail: "rep-conformance is neither beside tm nor on PATH: cargo install --locked \
                     --path REP/conformance --bin rep-conformance"
                .into(),
        }];
    };
    let mut command = Spec::new(binary).arg("run");
    command = match executor {
        Some(path) => command.arg("--executor").arg(path),
        None => command.args(["--config", RUNTIME_CONFIG]),
    };
    if project.join(FIXTURES).is_dir() {
        command = command.args(["--fixtures", FIXTURES]);
    }
    // The verdicts come from the JSON report (report.rs), never from the human output.
    let report_dir = match tempfile::tempdir() {
        Ok(dir) => dir,
        Err(e) => {
            return vec![Verdict {
                ok: false,
                name,
                detail: format!("cannot create a folder for the report: {e}"),
            }];
        }
    };
    let report_path = report_dir.path().join("rep-conformance.json");
    command = command.arg("--json").arg(&report_path);
    // Many tests, each with its own budget: the whole catalogue gets a few timeouts.
    match runner.run(command, project, timeout * 5) {
        // No report: a usage error (exit 2), named on its stderr.
        Ok(out) if !report_path.exists() => vec![fail(name, &out)],
        Ok(out) => match Report::load(&report_path) {
            Ok(report) => {
                let (ok, detail) = report::conformance(&report, out.code, project);
                let (semantics_ok, semantics) = report::semantics(&report);
                vec![
                    Verdict { ok, name, detail },
                    Verdict {
                        ok: semantics_ok,
                        name: "semantics",
                        detail: semantics,
                    },
                ]
            }
            Err(e) => vec![Verdict {
                ok: false,
                name,
                detail: format!("the JSON report of rep-conformance is unusable: {e}"),
            }],
        },
        Err(detail) => vec![Verdict {
            ok: false,
            name,
            detail,
        }],
    }
}

/// `rep-conformance` beside this tm, else on PATH.
fn rep_conformance(tm: &Path) -> Option<PathBuf> {
    let beside = tm.with_file_name(format!("rep-conformance{}", std::env::consts::EXE_SUFFIX));
    if rep_host::is_executable_file(&beside) {
        return Some(beside);
    }
    let path = std::env::var_os("PATH");
    rep_host::find_on_path(std::ffi::OsStr::new("rep-conformance"), path.as_deref())
}

/// A failed program's verdict: its exit code and the last line of its stderr.
fn fail(name: &'static str, out: &Output) -> Verdict {
    let last = out
        .stderr
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("(no output)");
    Verdict {
        ok: false,
        name,
        detail: format!(
            "exit code {}: {last}",
            out.code.map_or("none".into(), |c| c.to_string())
        ),
    }
}

struct Output {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// The checks' programs: one runtime, and `tm`'s signals.
struct Runner {
    runtime: tokio::runtime::Runtime,
    interrupts: Interrupts,
}

impl Runner {
    fn new() -> Result<Runner, Failure> {
        let (runtime, interrupts) = crate::cli::run::start_runtime()?;
        Ok(Runner {
            runtime,
            interrupts,
        })
    }

    /// Runs `command` in `dir` to its end within `timeout`, keeping at most
    /// [`OUTPUT_BYTES`] of each output. An interrupt stops it and ends `tm` (128 + N).
    fn run(&mut self, command: Spec, dir: &Path, timeout: Duration) -> Result<Output, String> {
        let command = command.current_dir(dir);
        let run = rep_process::run(&command, timeout, OUTPUT_BYTES, &mut self.interrupts);
        match self.runtime.block_on(run) {
            Ok(out) => Ok(Output {
                code: out.status.code(),
                stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
                stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            }),
            Err(rep_process::RunError::Interrupted(interrupt)) => rep_process::exit_now(interrupt),
            Err(rep_process::RunError::TimedOut(_)) => Err(format!(
                "did not finish within {} s (--timeout)",
                timeout.as_secs_f64()
            )),
            Err(rep_process::RunError::Spawn(e)) => {
                Err(format!("cannot start {}: {e}", command.program().display()))
            }
        }
    }
}

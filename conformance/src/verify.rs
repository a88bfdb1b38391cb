//! `rep-conformance verify REPORT --executor X`: whether a JSON report (a certificate) applies
//! to this executor binary. Recomputes what it can — the executor's sha256, the report's own
//! consistency (counts, `fails_run`, exit code, levels by its requirement set), the fixtures'
//! hash when they are at hand — and compares what it cannot recompute (arguments, requirement
//! set, suite version and catalogue) with this build.
//!
//! The certificate applies when the report is consistent, certifies `core`, and names this
//! binary (same sha256, same arguments). Other differences are shown as notes.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::cli::{note, print, runtime};
use crate::exit;
use crate::identity::{catalogue_sha256, file_sha256, fixtures_sha256};
use crate::requirements::{REQUIREMENTS_SHA256, requirements};

/// Examples and exit codes, after `--help`.
pub const VERIFY_EXAMPLES: &str = "\
Examples:
  rep-conformance run --executor ./my-executor --json certificate.json
  rep-conformance verify certificate.json --executor ./my-executor
  rep-conformance verify certificate.json --executor ./my-executor --fixtures conformance-fixtures -- --port /dev/ttyUSB0

Exit codes: 0 the certificate applies to this executor, 1 it does not (another binary, other
arguments, a report that certifies nothing or was edited), 2 usage error or a file that is not
a rep-conformance report.";

/// `rep-conformance verify`.
#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    /// The JSON report (`rep-conformance run --json FILE`).
    #[arg(value_name = "REPORT")]
    pub report: PathBuf,
    /// The executor the certificate should apply to: a path, or a bare name looked up on
    /// PATH.
    #[arg(long, value_name = "PATH", value_parser = crate::cli::executor_arg())]
    pub executor: PathBuf,
    /// The fixtures directory, when not where the report says.
    #[arg(long, value_name = "DIR")]
    pub fixtures: Option<PathBuf>,
    /// The executor's arguments (after `--`), compared with the certified ones.
    #[arg(last = true, value_name = "ARGS")]
    pub args: Vec<String>,
}

/// One finding of `verify`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finding {
    /// Recomputed or compared, and it matches.
    Holds(String),
    /// It does not match: the certificate does not apply.
    Breaks(String),
    /// Worth knowing, but it does not decide (not recomputable here, or not about the binary).
    Note(String),
}

/// Why a file cannot be verified at all (exit code 2).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct VerifyError(pub String);

/// Runs `rep-conformance verify`; returns the exit code.
pub fn main(args: &VerifyArgs) -> u8 {
    match verify_files(args) {
        Ok(findings) => {
            let mut out = String::new();
            let mut applies = true;
            for finding in &findings {
                let (mark, text) = match finding {
                    Finding::Holds(text) => ("ok  ", text),
                    Finding::Breaks(text) => {
                        applies = false;
                        ("FAIL", text)
                    }
                    Finding::Note(text) => ("note", text),
                };
                out.push_str(&format!("  {mark} {text}\n"));
            }
            let executor = args.executor.display();
            if applies {
                out.push_str(&format!("the certificate applies to {executor}\n"));
            } else {
                out.push_str(&format!("the certificate does not apply to {executor}\n"));
            }
            // A stalled reader of stdout still lets a signal end us (no executor runs here).
            let code = if applies { exit::PASS } else { exit::FAILED };
            match runtime() {
                Ok((runtime, mut interrupts)) => {
                    match print(&runtime, &mut interrupts, out.into_bytes()) {
                        Ok(()) => code,
                        Err(interrupt) => interrupt.exit_code(),
                    }
                }
                Err(error) => {
                    note(&format!("cannot start the async runtime: {error}"));
                    exit::USAGE
                }
            }
        }
        Err(error) => {
            note(&error.to_string());
            exit::USAGE
        }
    }
}

fn verify_files(args: &VerifyArgs) -> Result<Vec<Finding>, VerifyError> {
    let name = args.report.display();
    let text = rep_files::read(&args.report, rep_files::caps::CONFORMANCE_REPORT)
        .map_err(|e| VerifyError(format!("cannot read the report {name}: {e}")))?;
    let report: Value = serde_json::from_slice(&text)
        .map_err(|e| VerifyError(format!("the report {name} is not JSON: {e}")))?;
    if !args.executor.is_file() {
        return Err(VerifyError(format!(
            "cannot read the executor {}: no such file",
            args.executor.display()
        )));
    }
    verify(
        &report,
        &args.executor,
        &args.args,
        args.fixtures.as_deref(),
    )
    .map_err(|e| VerifyError(format!("{name}: {e}")))
}

/// The findings of verifying `report` against `executor` run with `args`.
///
/// # Errors
/// A report of another format, or one that breaks the report schema.
pub fn verify(
    report: &Value,
    executor: &Path,
    args: &[String],
    fixtures: Option<&Path>,
) -> Result<Vec<Finding>, VerifyError> {
    rep_host::conformance_report::check(report).map_err(VerifyError)?;
    let mut findings = vec![consistency(report)];
    let line = report["certification"]["line"].as_str().unwrap_or("");
    findings.push(if report["certification"]["core"] == true {
        Finding::Holds(format!("it certifies: {line}"))
    } else {
        Finding::Breaks(format!("it certifies nothing: {line}"))
    });
    findings.push(
        match (file_sha256(executor), report["executor"]["sha256"].as_str()) {
            (Ok(actual), Some(certified)) if actual == certified => {
                Finding::Holds(format!("executor sha256 {actual} is the certified one"))
            }
            (Ok(actual), Some(certified)) => Finding::Breaks(format!(
                "executor sha256 {actual} is not the certified {certified} ({})",
                report["executor"]["path"].as_str().unwrap_or("?")
            )),
            (Ok(_), None) => Finding::Breaks(
                "the report has no executor sha256 (the file could not be read when it was tested)"
                    .into(),
            ),
            (Err(e), _) => Finding::Breaks(format!("cannot hash {}: {e}", executor.display())),
        },
    );
    let certified_args: Vec<&str> = report["executor"]["args"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    findings.push(if certified_args == args {
        Finding::Holds(format!(
            "arguments {certified_args:?} are the certified ones"
        ))
    } else {
        Finding::Breaks(format!(
            "arguments {args:?} are not the certified {certified_args:?} (give them after --)"
        ))
    });
    let env = &report["executor"]["env"];
    let names = |key: &str| -> String {
        let list: Vec<&str> = env[key]
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        if list.is_empty() {
            "none".into()
        } else {
            list.join(", ")
        }
    };
    findings.push(Finding::Note(format!(
        "certified with environment: passed {}; set {}; whole environment: {}",
        names("passed"),
        names("set"),
        env["inherit"]
    )));
    let set = &report["requirements"];
    let set_id = set["requirement_set"].as_str().unwrap_or("?");
    findings.push(if set["sha256"] == REQUIREMENTS_SHA256 {
        Finding::Holds(format!(
            "requirement set {set_id} is this suite's ({})",
            &REQUIREMENTS_SHA256[..12]
        ))
    } else {
        Finding::Note(format!(
            "requirement set {set_id} is not this suite's {}: the levels were checked by the report's own lists",
            requirements().requirement_set
        ))
    });
    let tool = &report["tool"];
    let version = tool["version"].as_str().unwrap_or("?");
    findings.push(
        if version == env!("CARGO_PKG_VERSION") && tool["catalogue_sha256"] == catalogue_sha256() {
            Finding::Holds(format!(
                "issued by rep-conformance {version} with this catalogue"
            ))
        } else {
            Finding::Note(format!(
                "issued by rep-conformance {version} with catalogue {}; this is {} with {}",
                tool["catalogue_sha256"].as_str().unwrap_or("?"),
                env!("CARGO_PKG_VERSION"),
                catalogue_sha256()
            ))
        },
    );
    findings.push(fixtures_finding(report, fixtures));
    Ok(findings)
}

fn fixtures_finding(report: &Value, fixtures: Option<&Path>) -> Finding {
    let certified = &report["fixtures"];
    let Some(sha256) = certified["sha256"].as_str() else {
        return Finding::Note("tested without --fixtures (built-in flows only)".into());
    };
    let dir = fixtures
        .map(Path::to_path_buf)
        .or_else(|| certified["dir"].as_str().map(PathBuf::from))
        .unwrap_or_default();
    match crate::fixtures::load_dir(&dir) {
        Ok(flows) if fixtures_sha256(&flows) == sha256 => Finding::Holds(format!(
            "fixtures {} are the certified ones ({} flows)",
            dir.display(),
            flows.len()
        )),
        Ok(_) => Finding::Note(format!(
            "fixtures {} differ from the certified ones (sha256 {sha256})",
            dir.display()
        )),
        Err(e) => Finding::Note(format!(
            "the certified fixtures could not be rehashed ({e}); give --fixtures DIR"
        )),
    }
}

/// Whether the report agrees with itself: summary counts, `fails_run`, the exit code and the
/// levels, recomputed from its tests and its own requirement set.
fn consistency(report: &Value) -> Finding {
    let tests: &[Value] = report["tests"].as_array().map_or(&[], Vec::as_slice);
    let verdict = |t: &Value| t["verdict"].as_str().unwrap_or("").to_owned();
    let count = |v: &str| tests.iter().filter(|t| verdict(t) == v).count();
    let summary = &report["summary"];
    let mut wrong = Vec::new();
    for (key, value) in [
        ("total", tests.len()),
        ("passed", count("pass")),
        ("failed", count("fail")),
        ("warned", count("warn")),
        ("skipped", count("skip")),
        ("flaky", tests.iter().filter(|t| t["flaky"] == true).count()),
    ] {
        if summary[key].as_u64() != Some(value as u64) {
            wrong.push(format!(
                "summary.{key} is {}, the tests say {value}",
                summary[key]
            ));
        }
    }
    let mut failing = false;
    for test in tests {
        let expected_failure = test["baseline"]["status"] == "expected-failure";
        let fails = verdict(test) == "fail" && !expected_failure;
        failing |= fails;
        if test["fails_run"] != fails {
            wrong.push(format!(
                "{}: fails_run disagrees with its verdict",
                test["id"]
            ));
        }
    }
    let aborted = !report["aborted"].is_null();
    let exit = u64::from(failing || aborted);
    if report["exit_code"].as_u64() != Some(exit) {
        wrong.push(format!(
            "exit_code is {}, the tests say {exit}",
            report["exit_code"]
        ));
    }
    let must_failed = tests.iter().any(|t| {
        t["level"] == "MUST" && verdict(t) == "fail" && t["baseline"]["status"] != "stale"
    });
    let not_selected = report["not_selected"]
        .as_array()
        .is_some_and(|a| !a.is_empty());
    let core = !aborted && !not_selected && !must_failed;
    let passed = |level: &str| {
        report["requirements"]["levels"][level]
            .as_array()
            .is_some_and(|ids| {
                ids.iter()
                    .all(|id| tests.iter().any(|t| &t["id"] == id && verdict(t) == "pass"))
            })
    };
    let certification = &report["certification"];
    for (level, value) in [
        ("core", core),
        ("cancel", core && passed("cancel")),
        ("health", core && passed("health")),
        ("semantics", core && passed("semantics")),
    ] {
        if certification[level] != value {
            wrong.push(format!(
                "certification.{level} is {}, the tests say {value}",
                certification[level]
            ));
        }
    }
    if wrong.is_empty() {
        Finding::Holds(format!(
            "the report is consistent: {} tests, exit code {exit}",
            tests.len()
        ))
    } else {
        Finding::Breaks(format!(
            "the report contradicts itself (edited?): {}",
            wrong.join("; ")
        ))
    }
}

//! The human summary: tests grouped by area, colored on a terminal, then the totals and the
//! certification line.

use std::fmt::Write;

use anstyle::AnsiColor;

use crate::catalogue::{Area, CATALOGUE};
use crate::checks::count;
use crate::suite::SuiteReport;
use crate::verdict::{BaselineStatus, TestResult, Verdict};

/// ANSI styling, or none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Style {
    /// Whether to emit ANSI color codes.
    pub color: bool,
}

impl Style {
    fn paint(self, style: anstyle::Style, text: &str) -> String {
        rep_process::color::paint(text, style, self.color)
    }
}

const BOLD: anstyle::Style = anstyle::Style::new().bold();
const GREEN: anstyle::Style =
    anstyle::Style::new().fg_color(Some(anstyle::Color::Ansi(AnsiColor::Green)));
const RED: anstyle::Style =
    anstyle::Style::new().fg_color(Some(anstyle::Color::Ansi(AnsiColor::Red)));
const YELLOW: anstyle::Style =
    anstyle::Style::new().fg_color(Some(anstyle::Color::Ansi(AnsiColor::Yellow)));
const GREY: anstyle::Style =
    anstyle::Style::new().fg_color(Some(anstyle::Color::Ansi(AnsiColor::BrightBlack)));

/// The verdict as a tag: `PASS`, `FAIL`, `WARN`, `SKIP`, or `XFAIL` for a failure the
/// baseline expects.
pub fn tag(result: &TestResult) -> &'static str {
    let expected = result
        .baseline
        .as_ref()
        .is_some_and(|b| b.status == BaselineStatus::ExpectedFailure);
    match result.verdict {
        _ if expected => "XFAIL",
        Verdict::Pass => "PASS",
        Verdict::Fail => "FAIL",
        Verdict::Warn => "WARN",
        Verdict::Skip => "SKIP",
    }
}

fn painted_tag(result: &TestResult, style: Style) -> String {
    let tag = tag(result);
    let painted = match tag {
        "PASS" => GREEN,
        "FAIL" => RED.bold(),
        "WARN" => YELLOW,
        _ => GREY,
    };
    style.paint(painted, &format!("{tag:<5}"))
}

/// The whole summary as text.
pub fn render(report: &SuiteReport, style: Style) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "rep-conformance: REP v0.1 against {}",
        report.target.path.display()
    );
    if let Some(caps) = &report.capabilities {
        let version = caps
            .get("version")
            .map_or("?".to_owned(), |v| v.to_string());
        let kinds = caps
            .get("step_kinds")
            .and_then(|k| k.as_array())
            .map(|k| {
                k.iter()
                    .filter_map(|v| v.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_default();
        let _ = writeln!(out, "executor version {version}; step kinds: {kinds}");
    } else {
        let _ = writeln!(out, "executor did not answer Runtime.Capabilities");
    }
    let mut area: Option<Area> = None;
    for result in &report.results {
        if area != Some(result.area) {
            area = Some(result.area);
            let _ = writeln!(out, "\n{}", style.paint(BOLD, result.area.title()));
        }
        let _ = writeln!(
            out,
            "  {} {} {:<6} {:<7} {}",
            painted_tag(result, style),
            result.id,
            result.level.as_str(),
            result.section,
            result.title
        );
        let _ = writeln!(out, "        {}", result.reason);
        if let Some(hint) = &result.hint {
            let _ = writeln!(out, "        to test it: {hint}");
        }
        if let Some(frame) = &result.frame {
            let _ = writeln!(out, "        frame: {frame}");
        }
        if let Some(baseline) = &result.baseline {
            let _ = writeln!(out, "        baseline: {}", baseline.reason);
        }
        if let Some(first) = result.reruns.first() {
            let runs = result.reruns.len() + 1;
            if result.flaky {
                let _ = writeln!(
                    out,
                    "        {}: passed on run {runs} of {runs}; run 1: {}",
                    style.paint(YELLOW, "flaky"),
                    first.reason
                );
            } else {
                let _ = writeln!(
                    out,
                    "        {} on each of {runs} runs",
                    result.verdict.as_str()
                );
            }
        }
    }
    if let Some(aborted) = &report.aborted {
        let _ = writeln!(
            out,
            "\nstopped after the probe: {} tests not run",
            aborted.not_run.len()
        );
    }
    let mut totals = format!(
        "\n{}: {} passed, {} failed, {}, {} skipped",
        count(report.results.len(), "test", "tests"),
        report.count(Verdict::Pass),
        report.count(Verdict::Fail),
        count(report.count(Verdict::Warn), "warning", "warnings"),
        report.count(Verdict::Skip),
    );
    let expected = report.baselined(BaselineStatus::ExpectedFailure);
    let stale = report.baselined(BaselineStatus::Stale);
    if expected + stale > 0 {
        let _ = write!(
            totals,
            " ({} expected by the baseline, {})",
            count(expected, "failure", "failures"),
            count(stale, "stale entry", "stale entries")
        );
    }
    if !report.not_selected.is_empty() {
        let _ = write!(totals, ", {} not selected", report.not_selected.len());
    }
    let flaky = report.results.iter().filter(|r| r.flaky).count();
    if flaky > 0 {
        let _ = write!(totals, ", {flaky} flaky");
    }
    if report.strict {
        totals.push_str(", --strict");
    }
    let _ = writeln!(out, "{totals} in {:.1} s", report.duration.as_secs_f64());
    let line = report.certification_line();
    let painted = if report.certification().core {
        style.paint(GREEN.bold(), &line)
    } else {
        style.paint(RED.bold(), &line)
    };
    let _ = writeln!(out, "{painted}");
    out
}

/// The catalogue as printed by `rep-conformance list`: id, level, section, title.
pub fn catalogue() -> String {
    let mut out = String::new();
    for t in CATALOGUE {
        let _ = writeln!(
            out,
            "{}  {:<6}  {:<7}  {}",
            t.id,
            t.level.as_str(),
            t.section,
            t.title
        );
    }
    out
}

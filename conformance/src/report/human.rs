//! The human summary: tests grouped by area, colored on a terminal, then the totals and the
//! certification line.

use std::fmt::Write;

use crate::catalogue::{Area, CATALOGUE, Level};
use crate::suite::SuiteReport;
use crate::verdict::{TestResult, Verdict};

/// ANSI styling, or none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Style {
    /// Whether to emit ANSI color codes.
    pub color: bool,
}

impl Style {
    fn paint(self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }
}

fn verdict_tag(result: &TestResult, style: Style) -> String {
    match (result.verdict, result.level) {
        (Verdict::Pass, _) => style.paint("32", "PASS"),
        (Verdict::Skip, _) => style.paint("90", "SKIP"),
        (Verdict::Fail, Level::Must) => style.paint("1;31", "FAIL"),
        (Verdict::Fail, Level::Should) => style.paint("33", "WARN"),
    }
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
            let _ = writeln!(out, "\n{}", style.paint("1", result.area.title()));
        }
        let _ = writeln!(
            out,
            "  {} {} {:<6} {:<7} {}",
            verdict_tag(result, style),
            result.id,
            result.level.as_str(),
            result.section,
            result.title
        );
        let _ = writeln!(out, "       {}", result.reason);
        if let Some(frame) = &result.frame {
            let _ = writeln!(out, "       frame: {frame}");
        }
    }
    let count = |v| report.results.iter().filter(|r| r.verdict == v).count();
    let _ = writeln!(
        out,
        "\n{} tests: {} passed, {} failed ({} MUST, {} SHOULD), {} skipped{} in {:.1} s",
        report.results.len(),
        count(Verdict::Pass),
        count(Verdict::Fail),
        report.count(Level::Must, Verdict::Fail),
        report.count(Level::Should, Verdict::Fail),
        count(Verdict::Skip),
        if report.not_run.is_empty() {
            String::new()
        } else {
            format!(", {} not selected", report.not_run.len())
        },
        report.duration.as_secs_f64()
    );
    let line = report.certification_line();
    let painted = if report.certification().core {
        style.paint("1;32", &line)
    } else {
        style.paint("1;31", &line)
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

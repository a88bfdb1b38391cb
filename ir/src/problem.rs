//! Validation problems and the error that carries all of them
//! (Flow IR v1.0.0, "Rules beyond the schema": failures → host exit code 2, executor error 1003;
//! unsupported version → 1001).

use std::fmt;

/// What kind of rule a [`Problem`] broke.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ProblemKind {
    /// `version` is missing, not a string, or not [`crate::SUPPORTED_VERSION`]
    /// (Flow IR v1.0.0, rule 7; REP v0.1 §3 → error 1001).
    UnsupportedVersion,
    /// The embedded JSON Schema (Draft 2020-12) rejected the document (→ error 1003).
    Schema,
    /// A rule beyond the schema (Flow IR v1.0.0, rules 1–6, switch cases, cycles) (→ error 1003).
    Semantic,
}

impl ProblemKind {
    /// The kind's name in machine-readable output: `"unsupported_version"`, `"schema"` or
    /// `"semantic"` (`tm ir validate --json`).
    pub fn as_str(self) -> &'static str {
        match self {
            ProblemKind::UnsupportedVersion => "unsupported_version",
            ProblemKind::Schema => "schema",
            ProblemKind::Semantic => "semantic",
        }
    }
}

/// One problem found in a Flow IR document.
///
/// `pointer` is an RFC 6901 JSON pointer into the document (`""` for the root), e.g.
/// `"/graph/edges/2/to"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Where the problem is: an RFC 6901 JSON pointer, `""` for the whole document.
    pub pointer: String,
    /// What is wrong, in one line.
    pub message: String,
    /// Which kind of rule was broken.
    pub kind: ProblemKind,
}

impl Problem {
    /// A problem at `pointer` (RFC 6901) of the given kind.
    pub fn new(kind: ProblemKind, pointer: impl Into<String>, message: impl Into<String>) -> Self {
        Problem {
            pointer: pointer.into(),
            message: message.into(),
            kind,
        }
    }
}

impl fmt::Display for Problem {
    /// `"<pointer or '/'>: <message>"`, e.g. `"/graph/edges/2/to: ..."`, `"/: ..."` for the root.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let pointer = if self.pointer.is_empty() {
            "/"
        } else {
            &self.pointer
        };
        write!(f, "{pointer}: {}", self.message)
    }
}

/// Validation failure holding every problem found: schema errors and semantic-rule errors
/// together, in document order (Flow IR v1.0.0, "Rules beyond the schema").
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ValidationError {
    /// Every problem found; never empty when returned by this crate.
    pub problems: Vec<Problem>,
}

impl ValidationError {
    /// True when any problem is [`ProblemKind::UnsupportedVersion`] (REP v0.1 §3 → error 1001
    /// rather than 1003).
    pub fn is_unsupported_version(&self) -> bool {
        self.problems
            .iter()
            .any(|p| p.kind == ProblemKind::UnsupportedVersion)
    }
}

impl fmt::Display for ValidationError {
    /// `"Flow IR is invalid (N problems):\n  - <problem>\n  - <problem>"`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.problems.len();
        let noun = if n == 1 { "problem" } else { "problems" };
        write!(f, "Flow IR is invalid ({n} {noun}):")?;
        for p in &self.problems {
            write!(f, "\n  - {p}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display() {
        let root = Problem::new(ProblemKind::Schema, "", "\"graph\" is a required property");
        assert_eq!(root.to_string(), "/: \"graph\" is a required property");
        let e = ValidationError {
            problems: vec![
                root,
                Problem::new(ProblemKind::Semantic, "/graph/edges/0/to", "no node \"x\""),
            ],
        };
        assert_eq!(
            e.to_string(),
            "Flow IR is invalid (2 problems):\n  - /: \"graph\" is a required property\n  - /graph/edges/0/to: no node \"x\""
        );
        assert!(!e.is_unsupported_version());
        let one = ValidationError {
            problems: vec![Problem::new(
                ProblemKind::UnsupportedVersion,
                "/version",
                "v",
            )],
        };
        assert!(
            one.to_string()
                .starts_with("Flow IR is invalid (1 problem):")
        );
        assert!(one.is_unsupported_version());
    }
}

//! The version check that comes before everything else (Flow IR v1.0.0, rule 7; REP v0.1 §3:
//! `StartRun` checks `ir.version` first → error 1001).

use serde_json::Value;

use crate::model::SUPPORTED_VERSION;
use crate::problem::{Problem, ProblemKind};

/// Checks only `version` (REP v0.1 §3: StartRun checks `ir.version` first → 1001).
///
/// Returns an [`ProblemKind::UnsupportedVersion`] problem at `/version` (or `""` when the
/// document is not an object or has no `version`) when `version` is missing, not a string, or
/// not [`SUPPORTED_VERSION`]. The message says what was found and what is supported; a newer
/// major version (Flow IR v1.0.0, rule 7) is called that.
pub fn check_version(doc: &Value) -> Result<(), Problem> {
    let unsupported = |pointer: &str, message: String| {
        Err(Problem::new(
            ProblemKind::UnsupportedVersion,
            pointer,
            message,
        ))
    };
    let Some(object) = doc.as_object() else {
        return unsupported(
            "",
            format!(
                "expected a Flow IR object with \"version\", found {}; supported version: {SUPPORTED_VERSION}",
                type_name(doc)
            ),
        );
    };
    let Some(version) = object.get("version") else {
        return unsupported(
            "",
            format!("\"version\" is missing; supported version: {SUPPORTED_VERSION}"),
        );
    };
    let Some(version) = version.as_str() else {
        return unsupported(
            "/version",
            format!(
                "\"version\" must be a string, found {}; supported version: {SUPPORTED_VERSION}",
                type_name(version)
            ),
        );
    };
    if version == SUPPORTED_VERSION {
        return Ok(());
    }
    let message = match (major_of(version), major_of(SUPPORTED_VERSION)) {
        (Some(found), Some(supported)) if found > supported => format!(
            "Flow IR version {version} is a newer major version ({found}.x) than supported; supported version: {SUPPORTED_VERSION}"
        ),
        (Some(_), Some(_)) => format!(
            "Flow IR version {version} is not supported; supported version: {SUPPORTED_VERSION}"
        ),
        _ => format!(
            "Flow IR version {version:?} is not a MAJOR.MINOR.PATCH version; supported version: {SUPPORTED_VERSION}"
        ),
    };
    unsupported("/version", message)
}

/// The major number of a `MAJOR.MINOR.PATCH` string, `None` if it is not that shape.
fn major_of(version: &str) -> Option<u64> {
    let mut parts = version.split('.');
    let (Some(major), Some(minor), Some(patch), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return None;
    };
    let numeric = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !(numeric(major) && numeric(minor) && numeric(patch)) {
        return None;
    }
    major.parse().ok()
}

/// A JSON type name for messages: `"null"`, `"a boolean"`, `"a number"`, ….
pub(crate) fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn err(doc: Value) -> Problem {
        check_version(&doc).unwrap_err()
    }

    #[test]
    fn supported_version_passes() {
        assert!(check_version(&json!({"version": "1.0.0"})).is_ok());
    }

    #[test]
    fn newer_major_is_named() {
        let p = err(json!({"version": "2.0.0"}));
        assert_eq!(p.kind, ProblemKind::UnsupportedVersion);
        assert_eq!(p.pointer, "/version");
        assert!(p.message.contains("2.0.0"), "{p}");
        assert!(p.message.contains("newer major"), "{p}");
        assert!(p.message.contains("supported version: 1.0.0"), "{p}");
    }

    #[test]
    fn other_versions() {
        let p = err(json!({"version": "1.1.0"}));
        assert!(p.message.contains("1.1.0 is not supported"), "{p}");
        let p = err(json!({"version": "v1"}));
        assert!(p.message.contains("not a MAJOR.MINOR.PATCH"), "{p}");
        let p = err(json!({"version": 1}));
        assert_eq!(p.pointer, "/version");
        assert!(p.message.contains("found a number"), "{p}");
        let p = err(json!({"flow": {}}));
        assert_eq!(p.pointer, "");
        assert!(p.message.contains("missing"), "{p}");
        let p = err(json!([]));
        assert_eq!(p.kind, ProblemKind::UnsupportedVersion);
        assert!(p.message.contains("found an array"), "{p}");
    }
}

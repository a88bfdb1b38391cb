//! The embedded normative JSON Schema (Draft 2020-12) and its errors as [`Problem`]s
//! (Flow IR v1.0.0, section "Document"; `schemas/flow-ir-1.0.0.schema.json`).

use std::sync::LazyLock;

use serde_json::Value;

use crate::problem::{Problem, ProblemKind};

/// The text of the normative Flow IR v1.0.0 JSON Schema (Draft 2020-12), embedded at build time.
pub const SCHEMA_JSON: &str = include_str!("../schema/flow-ir-1.0.0.schema.json");

/// The compiled schema, built once; `Err` holds why the embedded schema did not compile.
static VALIDATOR: LazyLock<Result<jsonschema::Validator, String>> = LazyLock::new(|| {
    let schema: Value = serde_json::from_str(SCHEMA_JSON)
        .map_err(|e| format!("the embedded Flow IR schema is not JSON: {e}"))?;
    // Format validation stays off: rule 6 checks `generated_at` with an RFC 3339 parser, and
    // reporting the same date twice helps nobody.
    jsonschema::draft202012::options()
        .should_validate_formats(false)
        .build(&schema)
        .map_err(|e| format!("the embedded Flow IR schema does not compile: {e}"))
});

/// Every schema error in `doc`, as [`ProblemKind::Schema`] problems at the failing instance's
/// JSON pointer. Messages mask instance values so a large subtree is not dumped into a line.
pub(crate) fn schema_problems(doc: &Value) -> Vec<Problem> {
    let validator = match &*VALIDATOR {
        Ok(v) => v,
        Err(message) => return vec![Problem::new(ProblemKind::Schema, "", message.clone())],
    };
    validator
        .iter_errors(doc)
        .map(|error| {
            let message = match error.instance() {
                // Scalars are short and worth showing; objects and arrays are masked.
                v if v.is_object() || v.is_array() => error.masked_with("the value").to_string(),
                _ => error.to_string(),
            };
            Problem::new(ProblemKind::Schema, error.instance_path().as_str(), message)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn embedded_schema_compiles() {
        assert!(VALIDATOR.is_ok(), "{:?}", VALIDATOR.as_ref().err());
    }

    #[test]
    fn reports_pointers() {
        let problems = schema_problems(
            &json!({"version": "1.0.0", "flow": {"name": "a b", "timeout_ms": -1}}),
        );
        let pointers: Vec<_> = problems.iter().map(|p| p.pointer.as_str()).collect();
        assert!(pointers.contains(&""), "{problems:?}");
        assert!(pointers.contains(&"/flow/name"), "{problems:?}");
        assert!(pointers.contains(&"/flow/timeout_ms"), "{problems:?}");
        assert!(problems.iter().all(|p| p.kind == ProblemKind::Schema));
    }
}

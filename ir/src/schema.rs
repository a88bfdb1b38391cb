//! The embedded normative JSON Schema (Draft 2020-12) and its errors as [`Problem`]s
//! (Flow IR v1.0.0, section "Document"; `schemas/flow-ir-1.0.0.schema.json`).

use std::sync::LazyLock;

use serde_json::Value;

use crate::problem::{Problem, ProblemKind};

/// The text of the normative Flow IR v1.0.0 JSON Schema (Draft 2020-12), embedded at build time.
pub const SCHEMA_JSON: &str = include_str!("../schema/flow-ir-1.0.0.schema.json");

/// The compiled schema, built once; `Err` holds why the embedded schema did not compile.
///
/// It is compiled as Draft 7, with its `$schema` (2020-12) removed: building the 2020-12
/// metaschema validator, which jsonschema always runs over the schema first, costs about 2 ms
/// of every `tm` and executor start, while every keyword the schema uses has the same meaning
/// in both drafts (a test keeps that true). The verdicts are the same; the text stays normative.
static VALIDATOR: LazyLock<Result<jsonschema::Validator, String>> = LazyLock::new(|| {
    let mut schema: Value = serde_json::from_str(SCHEMA_JSON)
        .map_err(|e| format!("the embedded Flow IR schema is not JSON: {e}"))?;
    if let Some(root) = schema.as_object_mut() {
        root.remove("$schema");
    }
    // Format validation stays off: rule 6 checks `generated_at` with an RFC 3339 parser, and
    // reporting the same date twice helps nobody.
    jsonschema::draft7::options()
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

    /// The keywords the embedded schema uses. Each means the same under Draft 7 and Draft
    /// 2020-12, which is what lets `VALIDATOR` compile it as Draft 7.
    const KEYWORDS: [&str; 16] = [
        "$id",
        "$schema",
        "additionalProperties",
        "const",
        "enum",
        "format",
        "items",
        "maximum",
        "minItems",
        "minLength",
        "minimum",
        "pattern",
        "properties",
        "required",
        "title",
        "type",
    ];
    use serde_json::json;

    /// Every keyword of the embedded schema (property names inside `properties` aside) must
    /// be one whose Draft 7 meaning equals its 2020-12 meaning, else compiling as Draft 7
    /// would change verdicts.
    #[test]
    fn embedded_schema_uses_only_keywords_shared_by_draft_7_and_2020_12() {
        fn walk(schema: &Value, found: &mut Vec<String>) {
            let Some(object) = schema.as_object() else {
                return;
            };
            for (key, value) in object {
                found.push(key.clone());
                match key.as_str() {
                    "properties" => value
                        .as_object()
                        .into_iter()
                        .flatten()
                        .for_each(|(_, s)| walk(s, found)),
                    "items" | "additionalProperties" => walk(value, found),
                    _ => {}
                }
            }
        }
        let schema: Value = serde_json::from_str(SCHEMA_JSON).unwrap();
        assert_eq!(
            schema["$schema"],
            "https://json-schema.org/draft/2020-12/schema"
        );
        let mut found = Vec::new();
        walk(&schema, &mut found);
        for keyword in found {
            assert!(
                KEYWORDS.contains(&keyword.as_str()),
                "keyword {keyword:?} is not known to mean the same in Draft 7"
            );
        }
    }

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

//! A check that can only say "valid": the embedded Flow IR schema interpreted keyword by
//! keyword, for the subset of JSON Schema it uses, without compiling anything.
//!
//! Compiling the schema with jsonschema costs more than validating a whole plant-monitor run
//! (about half of `tm`'s instructions, and as much in every executor built on the kit). Most
//! documents are valid, so [`proven_valid`] answers first; only when it cannot prove a document
//! valid does the caller compile jsonschema, which then finds and words the errors. Wherever
//! this check is unsure (a keyword, pattern or number it does not know) it answers `false`:
//! a wrong `false` costs time, never a verdict. The tests keep jsonschema as the oracle.

use serde_json::{Map, Value};

/// `true` only if `instance` is valid against `schema` (Draft 7 / 2020-12 meaning of the
/// keywords below, formats not asserted); `false` if it is invalid or this check cannot tell.
///
/// Known keywords: `type`, `required`, `properties`, `additionalProperties` (boolean or
/// schema), `items` (one schema), `minItems`, `minLength`, `maxLength`, `pattern` (the
/// patterns of [`pattern_holds`] only), `const`, `enum`, `minimum`, `maximum` (integers), and
/// the annotations `$schema`, `$id`, `title`, `description`, `format`.
pub(crate) fn proven_valid(schema: &Value, instance: &Value) -> bool {
    match schema {
        Value::Bool(accepts) => *accepts,
        Value::Object(keywords) => keywords
            .iter()
            .all(|(keyword, value)| keyword_holds(keywords, keyword, value, instance)),
        _ => false,
    }
}

/// Whether one keyword of `schema` holds for `instance`.
fn keyword_holds(
    schema: &Map<String, Value>,
    keyword: &str,
    value: &Value,
    instance: &Value,
) -> bool {
    match keyword {
        "$schema" | "$id" | "title" | "description" | "format" => true,
        "type" => match value {
            Value::String(name) => has_type(name, instance),
            Value::Array(names) => names
                .iter()
                .any(|name| name.as_str().is_some_and(|name| has_type(name, instance))),
            _ => false,
        },
        "required" => match (value, instance) {
            (Value::Array(names), Value::Object(object)) => names
                .iter()
                .all(|name| name.as_str().is_some_and(|name| object.contains_key(name))),
            (Value::Array(_), _) => true,
            _ => false,
        },
        "properties" => match (value, instance) {
            (Value::Object(properties), Value::Object(object)) => {
                properties.iter().all(|(name, subschema)| {
                    object
                        .get(name)
                        .is_none_or(|member| proven_valid(subschema, member))
                })
            }
            (Value::Object(_), _) => true,
            _ => false,
        },
        "additionalProperties" => {
            let Value::Object(object) = instance else {
                return true;
            };
            if value == &Value::Bool(true) {
                return true;
            }
            let properties = match schema.get("properties") {
                Some(Value::Object(properties)) => Some(properties),
                None => None,
                Some(_) => return false,
            };
            object
                .iter()
                .filter(|(name, _)| properties.is_none_or(|p| !p.contains_key(name.as_str())))
                .all(|(_, member)| proven_valid(value, member))
        }
        "items" => match (value, instance) {
            (Value::Object(_) | Value::Bool(_), Value::Array(elements)) => {
                elements.iter().all(|element| proven_valid(value, element))
            }
            (Value::Object(_) | Value::Bool(_), _) => true,
            _ => false,
        },
        "minItems" => match (value.as_u64(), instance) {
            (Some(min), Value::Array(elements)) => elements.len() as u64 >= min,
            (Some(_), _) => true,
            (None, _) => false,
        },
        "minLength" | "maxLength" => match (value.as_u64(), instance) {
            (Some(bound), Value::String(text)) => {
                // Lengths count code points (JSON Schema), not bytes.
                let length = text.chars().count() as u64;
                if keyword == "minLength" {
                    length >= bound
                } else {
                    length <= bound
                }
            }
            (Some(_), _) => true,
            (None, _) => false,
        },
        "pattern" => match (value, instance) {
            (Value::String(pattern), Value::String(text)) => pattern_holds(pattern, text),
            (Value::String(_), _) => true,
            _ => false,
        },
        // serde_json's equality: equal strings, booleans, integers and structures are equal
        // to jsonschema too (a `false` here, e.g. 1 against 1.0, only means "ask jsonschema").
        "const" => value == instance,
        "enum" => value
            .as_array()
            .is_some_and(|allowed| allowed.iter().any(|v| v == instance)),
        "minimum" | "maximum" => {
            if !instance.is_number() {
                return true;
            }
            match (integer(value), integer(instance)) {
                (Some(bound), Some(number)) if keyword == "minimum" => number >= bound,
                (Some(bound), Some(number)) => number <= bound,
                _ => false,
            }
        }
        _ => false,
    }
}

/// `instance` is of the JSON Schema type `name` (integers only as JSON integers: a float with
/// no fraction is left to jsonschema).
fn has_type(name: &str, instance: &Value) -> bool {
    match name {
        "object" => instance.is_object(),
        "array" => instance.is_array(),
        "string" => instance.is_string(),
        "integer" => integer(instance).is_some(),
        "number" => instance.is_number(),
        "boolean" => instance.is_boolean(),
        "null" => instance.is_null(),
        _ => false,
    }
}

/// A JSON integer, exactly.
fn integer(value: &Value) -> Option<i128> {
    value
        .as_i64()
        .map(i128::from)
        .or_else(|| value.as_u64().map(i128::from))
}

/// Whether `text` matches `pattern`, for the patterns of the embedded schema; `false` for any
/// other pattern. Each check accepts a subset of what the regular expression accepts (ASCII
/// digits are digits whatever `\d` means to the regex engine).
fn pattern_holds(pattern: &str, text: &str) -> bool {
    match pattern {
        r"^[A-Za-z0-9_.-]+$" => {
            !text.is_empty()
                && text
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
        }
        r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$" => {
            let parts: Vec<&str> = text.split('.').collect();
            parts.len() == 3
                && parts.iter().all(|part| {
                    part.bytes().all(|b| b.is_ascii_digit())
                        && (*part == "0" || (!part.is_empty() && !part.starts_with('0')))
                })
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::SCHEMA_JSON;

    fn schema() -> Value {
        serde_json::from_str(SCHEMA_JSON).unwrap()
    }

    /// jsonschema's verdict, the oracle (compiled the way `schema_problems` compiles it).
    fn oracle() -> jsonschema::Validator {
        let mut schema = schema();
        schema.as_object_mut().unwrap().remove("$schema");
        jsonschema::draft7::options()
            .should_validate_formats(false)
            .build(&schema)
            .unwrap()
    }

    fn examples() -> Vec<Value> {
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples");
        let mut docs = Vec::new();
        for flow in [
            "plant-monitor/out/dsl/flows/plant-monitor.ir.json",
            "smoke-sample/out/dsl/flows/sample.ir.json",
        ] {
            let text = std::fs::read_to_string(format!("{root}/{flow}")).unwrap();
            docs.push(serde_json::from_str(&text).unwrap());
        }
        docs
    }

    fn invalid_cases() -> Vec<Value> {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/invalid");
        let mut docs = Vec::new();
        for entry in std::fs::read_dir(dir).unwrap() {
            let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
            docs.push(serde_json::from_str(&text).unwrap());
        }
        assert!(docs.len() > 20, "{dir}: {} documents", docs.len());
        docs
    }

    /// Every JSON pointer into `value` (the root included).
    fn pointers(value: &Value, at: String, out: &mut Vec<String>) {
        match value {
            Value::Object(object) => {
                for (key, member) in object {
                    pointers(
                        member,
                        format!("{at}/{}", key.replace('~', "~0").replace('/', "~1")),
                        out,
                    );
                }
            }
            Value::Array(elements) => {
                for (i, element) in elements.iter().enumerate() {
                    pointers(element, format!("{at}/{i}"), out);
                }
            }
            _ => {}
        }
        out.push(at);
    }

    /// Documents one edit away from `doc`: each value replaced by each of a set of values
    /// chosen to cross the schema's bounds and types, each object member removed, and an
    /// extra member added to each object. Each comes with whether a float stands in for an
    /// integer (which jsonschema may accept and this check leaves to it).
    fn mutations(doc: &Value) -> Vec<(Value, bool)> {
        let replacements = [
            Value::Null,
            Value::Bool(true),
            serde_json::json!(0),
            serde_json::json!(-1),
            serde_json::json!(2_147_483_647),
            serde_json::json!(2_147_483_648_u64),
            serde_json::json!(u64::MAX),
            serde_json::json!(i64::MIN),
            serde_json::json!(1.0),
            serde_json::json!(1.5),
            serde_json::json!(""),
            serde_json::json!("x"),
            serde_json::json!("a b"),
            serde_json::json!("ü"),
            serde_json::json!("1.0.0"),
            serde_json::json!("01.0.0"),
            serde_json::json!("1.0.0\n"),
            serde_json::json!("success"),
            serde_json::json!("failure"),
            serde_json::json!("Success"),
            serde_json::json!([]),
            serde_json::json!({}),
        ];
        let mut all = Vec::new();
        let mut paths = Vec::new();
        pointers(doc, String::new(), &mut paths);
        for path in &paths {
            for replacement in &replacements {
                let mut edited = doc.clone();
                *edited.pointer_mut(path).unwrap() = replacement.clone();
                all.push((edited, replacement.is_f64()));
            }
            if let Some((parent, key)) = path.rsplit_once('/') {
                let mut edited = doc.clone();
                if let Some(object) = edited.pointer_mut(parent).and_then(Value::as_object_mut) {
                    object.remove(key);
                    all.push((edited, false));
                }
            }
            if doc.pointer(path).is_some_and(Value::is_object) {
                let mut edited = doc.clone();
                let object = edited.pointer_mut(path).unwrap().as_object_mut().unwrap();
                object.insert("extra".to_owned(), serde_json::json!(1));
                all.push((edited, false));
            }
        }
        all
    }

    #[test]
    fn the_examples_are_proven_valid_without_jsonschema() {
        let schema = schema();
        for doc in examples() {
            assert!(proven_valid(&schema, &doc), "{doc}");
        }
    }

    #[test]
    fn the_invalid_cases_are_never_proven_valid() {
        let schema = schema();
        let oracle = oracle();
        for doc in invalid_cases() {
            if proven_valid(&schema, &doc) {
                // Semantic cases are valid against the schema: the oracle must agree.
                assert!(oracle.is_valid(&doc), "{doc}");
            }
        }
    }

    /// The oracle: on every document one edit away from the examples, this check says
    /// "valid" exactly when jsonschema does, but for a float standing in for an integer
    /// (then it may only say "cannot tell").
    #[test]
    fn agrees_with_jsonschema_on_every_single_edit_of_the_examples() {
        let schema = schema();
        let oracle = oracle();
        let (mut valid, mut invalid) = (0, 0);
        for doc in examples() {
            for (edited, float) in mutations(&doc) {
                let proven = proven_valid(&schema, &edited);
                let expected = oracle.is_valid(&edited);
                if proven {
                    assert!(expected, "proven valid but jsonschema disagrees: {edited}");
                } else if !float {
                    assert!(
                        !expected,
                        "jsonschema accepts what was not proven: {edited}"
                    );
                }
                if expected { valid += 1 } else { invalid += 1 }
            }
        }
        // Both verdicts occur many times over: the comparison is not vacuous.
        assert!(
            valid > 500 && invalid > 500,
            "{valid} valid, {invalid} invalid"
        );
    }

    #[test]
    fn unknown_keywords_and_patterns_are_left_to_jsonschema() {
        let doc = serde_json::json!("abc");
        assert!(!proven_valid(&serde_json::json!({"maxItems": 3}), &doc));
        assert!(!proven_valid(&serde_json::json!({"pattern": "^a"}), &doc));
        assert!(!proven_valid(
            &serde_json::json!({"type": "integer"}),
            &serde_json::json!(1.0)
        ));
        assert!(proven_valid(
            &serde_json::json!({"type": "string", "minLength": 3}),
            &doc
        ));
        assert!(!proven_valid(&serde_json::json!({"maxLength": 2}), &doc));
        assert!(proven_valid(&serde_json::json!(true), &doc));
        assert!(!proven_valid(&serde_json::json!(false), &doc));
    }
}

//! The embedded normative JSON Schema (Draft 2020-12) and its errors as [`Problem`]s
//! (Flow IR v1.0.0, section "Document"; `schemas/flow-ir-1.0.0.schema.json`).

use serde_json::Value;

use crate::problem::{Problem, ProblemKind};

/// The text of the normative Flow IR v1.0.0 JSON Schema (Draft 2020-12), embedded at build time.
pub const SCHEMA_JSON: &str = include_str!("../schema/flow-ir-1.0.0.schema.json");

/// The same schema as a validator jsonschema generates at build time (its `validator` macro),
/// under the draft the schema declares: nothing is compiled when a process starts (compiling it
/// at run time was half of `tm`'s instructions on a small flow, and as much in every executor).
/// Its errors are jsonschema's, but that where an `enum` of strings fails on a value that is no
/// string, the implied "is not of type" error is not repeated.
/// Format validation stays off: rule 6 checks `generated_at` with an RFC 3339 parser, and
/// reporting the same date twice helps nobody. The tests keep jsonschema's run-time validator
/// as the oracle: the same errors, at the same pointers.
#[jsonschema::validator(path = "schema/flow-ir-1.0.0.schema.json", validate_formats = false)]
struct FlowIrSchema;

/// Every schema error in `doc`, as [`ProblemKind::Schema`] problems at the failing instance's
/// JSON pointer. Messages mask instance values so a large subtree is not dumped into a line.
pub(crate) fn schema_problems(doc: &Value) -> Vec<Problem> {
    if FlowIrSchema::is_valid(doc) {
        return Vec::new();
    }
    FlowIrSchema::iter_errors(doc)
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

    /// jsonschema's run-time validator of the embedded schema: the oracle.
    fn oracle() -> jsonschema::Validator {
        let schema: Value = serde_json::from_str(SCHEMA_JSON).unwrap();
        assert_eq!(
            schema["$schema"],
            "https://json-schema.org/draft/2020-12/schema"
        );
        jsonschema::options()
            .should_validate_formats(false)
            .build(&schema)
            .unwrap()
    }

    /// (pointer, message) of every error, sorted, from the generated validator and from the
    /// oracle.
    fn both(oracle: &jsonschema::Validator, doc: &Value) -> [Vec<(String, String)>; 2] {
        let listed = |errors: jsonschema::ErrorIterator<'_>| {
            let mut list: Vec<(String, String)> = errors
                .map(|e| (e.instance_path().as_str().to_owned(), e.to_string()))
                .collect();
            list.sort();
            list
        };
        [
            listed(FlowIrSchema::iter_errors(doc)),
            listed(oracle.iter_errors(doc)),
        ]
    }

    fn examples() -> Vec<Value> {
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples");
        [
            "plant-monitor/out/dsl/flows/plant-monitor.ir.json",
            "smoke-sample/out/dsl/flows/sample.ir.json",
        ]
        .iter()
        .map(|flow| {
            serde_json::from_str(&std::fs::read_to_string(format!("{root}/{flow}")).unwrap())
                .unwrap()
        })
        .collect()
    }

    /// Every JSON pointer into `value` (the root included).
    fn pointers(value: &Value, at: String, out: &mut Vec<String>) {
        match value {
            Value::Object(object) => {
                for (key, member) in object {
                    let key = key.replace('~', "~0").replace('/', "~1");
                    pointers(member, format!("{at}/{key}"), out);
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
    /// chosen to cross the schema's types and bounds, each object member removed, and a
    /// member added to each object.
    fn single_edits(doc: &Value) -> Vec<Value> {
        let replacements = [
            json!(null),
            json!(true),
            json!(0),
            json!(-1),
            json!(2_147_483_647),
            json!(2_147_483_648_u64),
            json!(1.0),
            json!(1.5),
            json!(""),
            json!("x"),
            json!("a b"),
            json!("ü"),
            json!("1.0.0"),
            json!("01.0.0"),
            json!("success"),
            json!("Success"),
            json!([]),
            json!({}),
        ];
        let mut paths = Vec::new();
        pointers(doc, String::new(), &mut paths);
        let mut edits = Vec::new();
        for path in &paths {
            for replacement in &replacements {
                let mut edited = doc.clone();
                *edited.pointer_mut(path).unwrap() = replacement.clone();
                edits.push(edited);
            }
            if let Some((parent, key)) = path.rsplit_once('/') {
                let mut edited = doc.clone();
                if let Some(object) = edited.pointer_mut(parent).and_then(Value::as_object_mut) {
                    object.remove(key);
                    edits.push(edited);
                }
            }
            if let Some(object) = doc.pointer(path).and_then(Value::as_object) {
                let mut edited = doc.clone();
                let mut object = object.clone();
                object.insert("extra".to_owned(), json!(1));
                *edited.pointer_mut(path).unwrap() = Value::Object(object);
                edits.push(edited);
            }
        }
        edits
    }

    /// The generated validator and jsonschema's run-time one give the same verdicts and the
    /// same errors (but one implied by another, see below) on the examples, on every invalid test document and on every document one edit away from the
    /// examples (valid and invalid ones both occur hundreds of times).
    #[test]
    fn the_generated_validator_agrees_with_jsonschemas_run_time_one() {
        let oracle = oracle();
        let invalid_dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/invalid");
        let mut docs = examples();
        for entry in std::fs::read_dir(invalid_dir).unwrap() {
            let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
            docs.push(serde_json::from_str(&text).unwrap());
        }
        for example in examples() {
            docs.extend(single_edits(&example));
        }
        let (mut valid, mut invalid, mut fewer) = (0, 0, 0);
        for doc in &docs {
            let [generated, expected] = both(&oracle, doc);
            assert_eq!(FlowIrSchema::is_valid(doc), expected.is_empty(), "{doc}");
            // The same places. Where an `enum` of strings fails on a value that is no string,
            // the generated validator leaves out the `type` error the `enum` error implies;
            // every other error is the same, word for word.
            let places = |list: &[(String, String)]| {
                list.iter()
                    .map(|(p, _)| p.clone())
                    .collect::<std::collections::BTreeSet<_>>()
            };
            assert_eq!(places(&generated), places(&expected), "{doc}");
            for error in &generated {
                assert!(
                    expected.contains(error),
                    "{error:?} not in {expected:?}: {doc}"
                );
            }
            for missing in expected.iter().filter(|e| !generated.contains(e)) {
                fewer += 1;
                assert!(
                    missing.1.contains("is not of type \"string\"")
                        && generated
                            .iter()
                            .any(|(p, m)| p == &missing.0 && m.contains("is not one of")),
                    "{missing:?} missing from {generated:?}: {doc}"
                );
            }
            if expected.is_empty() {
                valid += 1;
            } else {
                invalid += 1;
            }
        }
        assert!(
            valid > 300 && invalid > 300,
            "{valid} valid, {invalid} invalid"
        );
        assert!(
            fewer > 0,
            "no implied type error is left out any more: say so above"
        );
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

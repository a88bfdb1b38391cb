//! A check that can only say "valid": the embedded Flow IR schema compiled into a small tree
//! of the JSON Schema keywords it uses, and documents checked against that tree.
//!
//! Compiling the schema with jsonschema costs more than validating a whole plant-monitor run
//! (about half of `tm`'s instructions, and as much in every executor built on the kit). Most
//! documents are valid, so [`Subset::proven_valid`] answers first; only when it cannot prove a
//! document valid does the caller compile jsonschema, which then finds and words the errors.
//! Wherever this check is unsure (a float standing in for an integer, a value compared by
//! serde_json's equality) it answers `false`: a wrong `false` costs time, never a verdict.
//! A schema with a keyword or pattern it does not know does not compile at all. The tests keep
//! jsonschema as the oracle.

use serde_json::{Map, Value};

/// A schema of the known subset, compiled ([`Subset::compile`]).
///
/// Known keywords: `type`, `required`, `properties`, `additionalProperties` (boolean or
/// schema), `items` (one schema), `minItems`, `minLength`, `maxLength`, `pattern` (the
/// patterns of [`Pattern`] only), `const`, `enum`, `minimum`, `maximum` (integers), and the
/// annotations `$schema`, `$id`, `title`, `description`, `format` (formats are not asserted).
#[derive(Debug, Default)]
pub(crate) struct Subset {
    /// `false` schema: nothing is valid.
    rejects: bool,
    /// `type`: allowed types, none = any.
    types: Vec<Type>,
    required: Vec<String>,
    properties: Vec<(String, Subset)>,
    /// `additionalProperties`: `None` = anything.
    additional: Option<Box<Subset>>,
    items: Option<Box<Subset>>,
    min_items: Option<u64>,
    min_length: Option<u64>,
    max_length: Option<u64>,
    pattern: Option<Pattern>,
    constant: Option<Value>,
    allowed: Option<Vec<Value>>,
    minimum: Option<i128>,
    maximum: Option<i128>,
}

/// A JSON Schema type name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Type {
    Object,
    Array,
    String,
    Integer,
    Number,
    Boolean,
    Null,
}

/// The `pattern`s this check knows, each checked by accepting a subset of what the regular
/// expression accepts (ASCII digits are digits whatever `\d` means to a regex engine).
#[derive(Debug, Clone, Copy)]
enum Pattern {
    /// `^[A-Za-z0-9_.-]+$`
    Name,
    /// `^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$`
    SemVer,
}

impl Subset {
    /// Compiles `schema`; `None` when it uses a keyword, pattern or value this check does not
    /// know.
    pub(crate) fn compile(schema: &Value) -> Option<Subset> {
        let keywords = match schema {
            Value::Bool(accepts) => {
                return Some(Subset {
                    rejects: !accepts,
                    ..Subset::default()
                });
            }
            Value::Object(keywords) => keywords,
            _ => return None,
        };
        let mut subset = Subset::default();
        for (keyword, value) in keywords {
            subset.keyword(keyword, value)?;
        }
        Some(subset)
    }

    /// Adds one keyword; `None` when it is not known.
    fn keyword(&mut self, keyword: &str, value: &Value) -> Option<()> {
        match keyword {
            "$schema" | "$id" | "title" | "description" | "format" => {}
            "type" => {
                self.types = match value {
                    Value::String(name) => vec![Type::named(name)?],
                    Value::Array(names) => names
                        .iter()
                        .map(|name| Type::named(name.as_str()?))
                        .collect::<Option<_>>()?,
                    _ => return None,
                }
            }
            "required" => {
                self.required = value
                    .as_array()?
                    .iter()
                    .map(|name| name.as_str().map(str::to_owned))
                    .collect::<Option<_>>()?;
            }
            "properties" => {
                self.properties = value
                    .as_object()?
                    .iter()
                    .map(|(name, schema)| Some((name.clone(), Subset::compile(schema)?)))
                    .collect::<Option<_>>()?;
            }
            "additionalProperties" => {
                self.additional = match value {
                    Value::Bool(true) => None,
                    schema => Some(Box::new(Subset::compile(schema)?)),
                }
            }
            "items" if value.is_object() || value.is_boolean() => {
                self.items = Some(Box::new(Subset::compile(value)?));
            }
            "minItems" => self.min_items = Some(value.as_u64()?),
            "minLength" => self.min_length = Some(value.as_u64()?),
            "maxLength" => self.max_length = Some(value.as_u64()?),
            "pattern" => {
                self.pattern = Some(match value.as_str()? {
                    r"^[A-Za-z0-9_.-]+$" => Pattern::Name,
                    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$" => Pattern::SemVer,
                    _ => return None,
                })
            }
            "const" => self.constant = Some(value.clone()),
            "enum" => self.allowed = Some(value.as_array()?.clone()),
            "minimum" => self.minimum = Some(integer(value)?),
            "maximum" => self.maximum = Some(integer(value)?),
            _ => return None,
        }
        Some(())
    }

    /// `true` only if `instance` is valid against this schema; `false` if it is invalid or
    /// this check cannot tell.
    pub(crate) fn proven_valid(&self, instance: &Value) -> bool {
        if self.rejects {
            return false;
        }
        if !self.types.is_empty() && !self.types.iter().any(|t| t.holds(instance)) {
            return false;
        }
        // serde_json's equality: equal strings, booleans, integers and structures are equal
        // to jsonschema too (a `false` here, e.g. 1 against 1.0, only means "ask jsonschema").
        if self.constant.as_ref().is_some_and(|c| c != instance)
            || self.allowed.as_ref().is_some_and(|a| !a.contains(instance))
        {
            return false;
        }
        match instance {
            Value::Object(object) => self.object_holds(object),
            Value::Array(elements) => {
                self.min_items
                    .is_none_or(|min| elements.len() as u64 >= min)
                    && self
                        .items
                        .as_ref()
                        .is_none_or(|items| elements.iter().all(|e| items.proven_valid(e)))
            }
            Value::String(text) => self.string_holds(text),
            Value::Number(_) => {
                if self.minimum.is_none() && self.maximum.is_none() {
                    return true;
                }
                let Some(number) = integer(instance) else {
                    return false;
                };
                self.minimum.is_none_or(|min| number >= min)
                    && self.maximum.is_none_or(|max| number <= max)
            }
            Value::Bool(_) | Value::Null => true,
        }
    }

    /// `required`, `properties` and `additionalProperties`, in one pass over the members
    /// (objects of a Flow IR are small: a linear search beats hashing each name).
    fn object_holds(&self, object: &Map<String, Value>) -> bool {
        let members_hold = object.iter().all(|(name, member)| {
            match self.properties.iter().find(|(known, _)| known == name) {
                Some((_, schema)) => schema.proven_valid(member),
                None => self
                    .additional
                    .as_ref()
                    .is_none_or(|schema| schema.proven_valid(member)),
            }
        });
        members_hold
            && self
                .required
                .iter()
                .all(|name| object.iter().any(|(member, _)| member == name))
    }

    /// `minLength`, `maxLength` (code points, not bytes) and `pattern`.
    fn string_holds(&self, text: &str) -> bool {
        if self.min_length.is_some() || self.max_length.is_some() {
            let length = text.chars().count() as u64;
            if self.min_length.is_some_and(|min| length < min)
                || self.max_length.is_some_and(|max| length > max)
            {
                return false;
            }
        }
        self.pattern.is_none_or(|pattern| pattern.holds(text))
    }
}

impl Type {
    fn named(name: &str) -> Option<Type> {
        Some(match name {
            "object" => Type::Object,
            "array" => Type::Array,
            "string" => Type::String,
            "integer" => Type::Integer,
            "number" => Type::Number,
            "boolean" => Type::Boolean,
            "null" => Type::Null,
            _ => return None,
        })
    }

    /// `instance` is of this type (integers only as JSON integers: a float with no fraction
    /// is left to jsonschema).
    fn holds(self, instance: &Value) -> bool {
        match self {
            Type::Object => instance.is_object(),
            Type::Array => instance.is_array(),
            Type::String => instance.is_string(),
            Type::Integer => integer(instance).is_some(),
            Type::Number => instance.is_number(),
            Type::Boolean => instance.is_boolean(),
            Type::Null => instance.is_null(),
        }
    }
}

impl Pattern {
    fn holds(self, text: &str) -> bool {
        match self {
            Pattern::Name => {
                !text.is_empty()
                    && text
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
            }
            Pattern::SemVer => {
                let mut parts = 0;
                text.split('.').all(|part| {
                    parts += 1;
                    !part.is_empty()
                        && part.bytes().all(|b| b.is_ascii_digit())
                        && (part == "0" || !part.starts_with('0'))
                }) && parts == 3
            }
        }
    }
}

/// A JSON integer, exactly.
fn integer(value: &Value) -> Option<i128> {
    value
        .as_i64()
        .map(i128::from)
        .or_else(|| value.as_u64().map(i128::from))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::SCHEMA_JSON;

    fn schema() -> Value {
        serde_json::from_str(SCHEMA_JSON).unwrap()
    }

    fn subset() -> Subset {
        Subset::compile(&schema()).expect("the embedded schema uses only known keywords")
    }

    fn proven_valid(schema: &Value, instance: &Value) -> bool {
        Subset::compile(schema).is_some_and(|s| s.proven_valid(instance))
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
        let schema = subset();
        for doc in examples() {
            assert!(schema.proven_valid(&doc), "{doc}");
        }
    }

    #[test]
    fn the_invalid_cases_are_never_proven_valid() {
        let schema = subset();
        let oracle = oracle();
        for doc in invalid_cases() {
            if schema.proven_valid(&doc) {
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
        let schema = subset();
        let oracle = oracle();
        let (mut valid, mut invalid) = (0, 0);
        for doc in examples() {
            for (edited, float) in mutations(&doc) {
                let proven = schema.proven_valid(&edited);
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

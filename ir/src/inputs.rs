//! Run inputs checked against the IR's `inputs_schema` (Flow IR v1.0.0, "Document"; REP v0.1
//! §3 [clarified]: inputs that violate it are "bad inputs" of the Validation class).
//!
//! The compiler writes `inputs_schema` as `{name: {type: "<WDL type>"}}`, the type being
//! whatever the WDL `inputs:` block says. The types understood here (case-insensitive):
//!
//! | declared | accepted value |
//! | --- | --- |
//! | `string` | a string |
//! | `number`, `float`, `double` | a number |
//! | `int`, `integer` | a number without a fractional part |
//! | `bool`, `boolean` | `true` or `false` |
//! | `object`, `map`, `dict`, `map<K, V>` | an object (each value a `V`) |
//! | `list<T>`, `array<T>`, `list`, `array` | an array (each item a `T`) |
//! | `any` | anything but a missing input |
//! | `T?` | a `T`, `null`, or no input at all |
//!
//! Every declared input must be present. A type name not in this table is accepted as it is
//! (see [`unknown_input_types`]); an entry that is not `{type: "<string>"}` (a JSON Schema
//! fragment, metadata) declares nothing. Inputs the schema does not declare are allowed:
//! TraceMind passes them through.

use std::fmt;

use serde_json::{Map, Value};

use crate::pointer::{escape, join};

/// One input that does not match its declaration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputProblem {
    /// The input's name (a key of `inputs_schema`).
    pub name: String,
    /// Its declared type, as written in the IR.
    pub declared: String,
    /// RFC 6901 pointer into the inputs object: `/nodes` for the input, `/nodes/1` for an item.
    pub pointer: String,
    /// What was wrong, e.g. `missing` or `expected string, got number 5`.
    pub message: String,
}

impl fmt::Display for InputProblem {
    /// `"input nodes (list<string>): /nodes/1: expected string, got number 5"`; the pointer is
    /// left out when it names the input itself.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "input {} ({})", self.name, self.declared)?;
        if self.pointer != join("", &self.name) {
            write!(f, ": {}", self.pointer)?;
        }
        write!(f, ": {}", self.message)
    }
}

/// Run inputs that do not match the IR's `inputs_schema`: every problem found, in the schema's
/// key order.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct InputsError {
    /// Every problem; never empty when returned by [`check_inputs`].
    pub problems: Vec<InputProblem>,
}

impl fmt::Display for InputsError {
    /// `"the run inputs do not match the flow's inputs_schema (N problems):\n  - <problem>…"`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.problems.len();
        let noun = if n == 1 { "problem" } else { "problems" };
        write!(
            f,
            "the run inputs do not match the flow's inputs_schema ({n} {noun}):"
        )?;
        for problem in &self.problems {
            write!(f, "\n  - {problem}")?;
        }
        Ok(())
    }
}

/// Checks `inputs` against `inputs_schema` (the IR's field; anything but an object declares
/// nothing).
///
/// # Errors
/// [`InputsError`] listing every missing or mistyped input, with a JSON pointer into `inputs`
/// for nested list items and map values.
pub fn check_inputs(inputs_schema: &Value, inputs: &Map<String, Value>) -> Result<(), InputsError> {
    let mut problems = Vec::new();
    for (name, declared) in declarations(inputs_schema) {
        let ty = InputType::parse(declared);
        let mut pointer = join("", name);
        let mut report = |pointer: String, message: String| {
            problems.push(InputProblem {
                name: name.to_owned(),
                declared: declared.to_owned(),
                pointer,
                message,
            });
        };
        match inputs.get(name) {
            None if ty.optional => {}
            None => report(pointer, "missing".to_owned()),
            Some(Value::Null) if ty.optional => {}
            Some(value) => ty.kind.check(value, &mut pointer, &mut report),
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(InputsError { problems })
    }
}

/// The declared inputs whose type name this module does not know, as `(name, type)`: they
/// are accepted whatever their value, and a host may log them.
pub fn unknown_input_types(inputs_schema: &Value) -> Vec<(String, String)> {
    declarations(inputs_schema)
        .filter(|(_, declared)| InputType::parse(declared).kind.has_unknown())
        .map(|(name, declared)| (name.to_owned(), declared.to_owned()))
        .collect()
}

/// `(name, type)` of every `{name: {type: "<string>"}}` entry.
fn declarations(inputs_schema: &Value) -> impl Iterator<Item = (&str, &str)> {
    inputs_schema
        .as_object()
        .into_iter()
        .flatten()
        .filter_map(|(name, entry)| Some((name.as_str(), entry.get("type")?.as_str()?)))
}

/// A parsed declaration: the type and whether `?` made it optional.
struct InputType {
    kind: Kind,
    optional: bool,
}

enum Kind {
    String,
    Number,
    Integer,
    Bool,
    Object(Option<Box<Kind>>),
    List(Option<Box<Kind>>),
    Any,
    Unknown,
}

/// How deep `list<list<…>>` may nest before the rest is taken as unknown: a bound on the
/// recursion over an IR the host did not write.
const MAX_TYPE_DEPTH: usize = 32;

impl InputType {
    fn parse(declared: &str) -> InputType {
        let declared = declared.trim();
        match declared.strip_suffix('?') {
            Some(inner) => InputType {
                kind: Kind::parse(inner, 0),
                optional: true,
            },
            None => InputType {
                kind: Kind::parse(declared, 0),
                optional: false,
            },
        }
    }
}

impl Kind {
    fn parse(text: &str, depth: usize) -> Kind {
        let text = text.trim();
        if depth > MAX_TYPE_DEPTH {
            return Kind::Unknown;
        }
        let (name, args) = match text.split_once('<') {
            Some((name, rest)) => match rest.strip_suffix('>') {
                Some(args) => (name.trim(), Some(args)),
                None => return Kind::Unknown,
            },
            None => (text, None),
        };
        match (name.to_ascii_lowercase().as_str(), args) {
            ("string" | "str", None) => Kind::String,
            ("number" | "float" | "double", None) => Kind::Number,
            ("int" | "integer", None) => Kind::Integer,
            ("bool" | "boolean", None) => Kind::Bool,
            ("any", None) => Kind::Any,
            ("object" | "map" | "dict", None) => Kind::Object(None),
            ("list" | "array", None) => Kind::List(None),
            ("list" | "array", Some(item)) => {
                Kind::List(Some(Box::new(Kind::parse(item, depth + 1))))
            }
            ("map" | "dict", Some(args)) => match split_top_level_comma(args) {
                Some((_key, value)) => Kind::Object(Some(Box::new(Kind::parse(value, depth + 1)))),
                None => Kind::Unknown,
            },
            _ => Kind::Unknown,
        }
    }

    fn has_unknown(&self) -> bool {
        match self {
            Kind::Unknown => true,
            Kind::List(Some(inner)) | Kind::Object(Some(inner)) => inner.has_unknown(),
            _ => false,
        }
    }

    fn expected(&self) -> &'static str {
        match self {
            Kind::String => "a string",
            Kind::Number => "a number",
            Kind::Integer => "an integer",
            Kind::Bool => "a boolean",
            Kind::Object(_) => "an object",
            Kind::List(_) => "a list",
            Kind::Any | Kind::Unknown => "a value",
        }
    }

    /// Checks `value` at `pointer`, calling `report(pointer, message)` for each mismatch.
    fn check(&self, value: &Value, pointer: &mut String, report: &mut impl FnMut(String, String)) {
        let fits = match (self, value) {
            (Kind::Any | Kind::Unknown, _) => true,
            (Kind::String, Value::String(_)) => true,
            (Kind::Number, Value::Number(_)) => true,
            (Kind::Integer, Value::Number(n)) => {
                n.is_i64() || n.is_u64() || n.as_f64().is_some_and(|f| f.fract() == 0.0)
            }
            (Kind::Bool, Value::Bool(_)) => true,
            (Kind::Object(values), Value::Object(map)) => {
                if let Some(kind) = values {
                    for (key, item) in map {
                        let len = pointer.len();
                        pointer.push('/');
                        pointer.push_str(&escape(key));
                        kind.check(item, pointer, report);
                        pointer.truncate(len);
                    }
                }
                true
            }
            (Kind::List(items), Value::Array(list)) => {
                if let Some(kind) = items {
                    for (i, item) in list.iter().enumerate() {
                        let len = pointer.len();
                        pointer.push('/');
                        pointer.push_str(&i.to_string());
                        kind.check(item, pointer, report);
                        pointer.truncate(len);
                    }
                }
                true
            }
            _ => false,
        };
        if !fits {
            report(
                pointer.clone(),
                format!("expected {}, got {}", self.expected(), describe(value)),
            );
        }
    }
}

/// `"K, V"` split at its first comma outside `<…>`.
fn split_top_level_comma(args: &str) -> Option<(&str, &str)> {
    let mut depth = 0usize;
    for (i, c) in args.char_indices() {
        match c {
            '<' => depth += 1,
            '>' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => return Some((&args[..i], &args[i + 1..])),
            _ => {}
        }
    }
    None
}

/// A value's JSON type and, for scalars, the value itself (at most 40 characters).
fn describe(value: &Value) -> String {
    let (kind, shown) = match value {
        Value::Null => return "null".to_owned(),
        Value::Bool(b) => ("boolean", b.to_string()),
        Value::Number(n) => ("number", n.to_string()),
        Value::String(s) => ("string", format!("{s:?}")),
        Value::Array(items) => return format!("a list of {} items", items.len()),
        Value::Object(_) => return "an object".to_owned(),
    };
    let mut short: String = shown.chars().take(40).collect();
    if short.len() < shown.len() {
        short.push('…');
    }
    format!("{kind} {short}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check(schema: Value, inputs: Value) -> Vec<String> {
        let Value::Object(inputs) = inputs else {
            panic!("inputs must be an object")
        };
        match check_inputs(&schema, &inputs) {
            Ok(()) => Vec::new(),
            Err(e) => e.problems.iter().map(ToString::to_string).collect(),
        }
    }

    fn plant_monitor_schema() -> Value {
        json!({"endpoint": {"type": "string"}, "nodes": {"type": "list<string>"}})
    }

    #[test]
    fn the_example_inputs_pass() {
        let inputs = json!({"endpoint": "opc.tcp://localhost:4840", "nodes": ["ns=2;i=2"]});
        assert!(check(plant_monitor_schema(), inputs).is_empty());
    }

    #[test]
    fn missing_inputs_are_named_with_their_types() {
        assert_eq!(
            check(plant_monitor_schema(), json!({})),
            [
                "input endpoint (string): missing",
                "input nodes (list<string>): missing"
            ]
        );
    }

    #[test]
    fn mistyped_inputs_and_list_items_are_pointed_at() {
        assert_eq!(
            check(
                plant_monitor_schema(),
                json!({"endpoint": 5, "nodes": ["a", 7, null]})
            ),
            [
                "input endpoint (string): expected a string, got number 5",
                "input nodes (list<string>): /nodes/1: expected a string, got number 7",
                "input nodes (list<string>): /nodes/2: expected a string, got null",
            ]
        );
        assert_eq!(
            check(
                plant_monitor_schema(),
                json!({"endpoint": "e", "nodes": "x"})
            ),
            ["input nodes (list<string>): expected a list, got string \"x\""]
        );
    }

    #[test]
    fn every_type_name_of_the_table() {
        let schema = json!({
            "s": {"type": "String"}, "n": {"type": "number"}, "f": {"type": "float"},
            "i": {"type": "int"}, "j": {"type": "integer"}, "b": {"type": "bool"},
            "c": {"type": "boolean"}, "o": {"type": "object"}, "m": {"type": "map<string, int>"},
            "l": {"type": "list<list<int>>"}, "a": {"type": "any"}, "opt": {"type": "string?"},
        });
        let good = json!({
            "s": "x", "n": 1.5, "f": 2, "i": 3, "j": 4.0, "b": true, "c": false,
            "o": {"k": [1]}, "m": {"a": 1}, "l": [[1, 2], []], "a": null,
        });
        assert_eq!(check(schema.clone(), good), Vec::<String>::new());
        let bad = json!({
            "s": 1, "n": "1", "f": null, "i": 1.5, "j": "4", "b": 0, "c": "false",
            "o": [], "m": {"a": "1"}, "l": [[1, "2"]], "opt": 3,
        });
        assert_eq!(
            check(schema, bad),
            [
                "input s (String): expected a string, got number 1",
                "input n (number): expected a number, got string \"1\"",
                "input f (float): expected a number, got null",
                "input i (int): expected an integer, got number 1.5",
                "input j (integer): expected an integer, got string \"4\"",
                "input b (bool): expected a boolean, got number 0",
                "input c (boolean): expected a boolean, got string \"false\"",
                "input o (object): expected an object, got a list of 0 items",
                "input m (map<string, int>): /m/a: expected an integer, got string \"1\"",
                "input l (list<list<int>>): /l/0/1: expected an integer, got string \"2\"",
                "input a (any): missing",
                "input opt (string?): expected a string, got number 3",
            ]
        );
    }

    #[test]
    fn unknown_types_are_accepted_and_listed() {
        let schema =
            json!({"t": {"type": "Tensor"}, "l": {"type": "list<File>"}, "s": {"type": "string"}});
        assert!(check(schema.clone(), json!({"t": 1, "l": [{}], "s": "x"})).is_empty());
        assert_eq!(check(schema.clone(), json!({"l": 5, "s": "x"})).len(), 2);
        assert_eq!(
            unknown_input_types(&schema),
            [
                ("t".to_owned(), "Tensor".to_owned()),
                ("l".to_owned(), "list<File>".to_owned())
            ]
        );
    }

    #[test]
    fn entries_that_declare_nothing_and_extra_inputs_are_ignored() {
        let schema = json!({"type": "object", "properties": {"a": {"type": "string"}}});
        assert!(check(schema, json!({"b": 1})).is_empty());
        assert!(check(json!([]), json!({})).is_empty());
        assert!(check(json!({"a": {"type": "int"}}), json!({"a": 1, "extra": "x"})).is_empty());
    }

    #[test]
    fn long_values_are_cut_in_messages() {
        let long = "x".repeat(100);
        let problems = check(json!({"n": {"type": "int"}}), json!({"n": long}));
        assert_eq!(
            problems,
            [format!(
                "input n (int): expected an integer, got string \"{}…",
                "x".repeat(39)
            )]
        );
    }

    #[test]
    fn names_needing_pointer_escapes() {
        assert_eq!(
            check(json!({"a/b": {"type": "list<int>"}}), json!({"a/b": ["x"]})),
            ["input a/b (list<int>): /a~1b/0: expected an integer, got string \"x\""]
        );
    }

    #[test]
    fn deeply_nested_types_stay_bounded() {
        let declared = format!("{}int{}", "list<".repeat(1000), ">".repeat(1000));
        let schema = json!({"x": {"type": declared}});
        assert_eq!(unknown_input_types(&schema).len(), 1);
        assert!(check(schema, json!({"x": []})).is_empty());
    }
}

//! Reference resolution inside a node's `with` (Flow IR dialect, "References").
//!
//! `$input.<path>` reads the run inputs; `$step.<id>` and `$step.<id>.<path>` read the output
//! of an earlier step; `$.vars.<id>.<path>` is the same as `$step.<id>.<path>`. References are
//! whole string values, also nested in objects and arrays. A path walks object keys separated
//! by dots (and array indexes, when the value there is an array). Anything unresolvable yields
//! `null`. Node ids may themselves contain dots: the longest known step id wins.

use std::collections::HashMap;

use serde_json::{Map, Value};

/// What references can see.
pub struct Scope<'a> {
    /// The run inputs.
    pub inputs: &'a Map<String, Value>,
    /// Outputs of the steps finished so far, by node id.
    pub steps: &'a HashMap<String, Value>,
}

/// Resolves every reference in `with`, returning a new map.
pub fn resolve_map(with: &Map<String, Value>, scope: &Scope<'_>) -> Map<String, Value> {
    with.iter()
        .map(|(k, v)| (k.clone(), resolve(v, scope)))
        .collect()
}

/// Resolves every reference in `value` (strings, nested in objects and arrays).
pub fn resolve(value: &Value, scope: &Scope<'_>) -> Value {
    match value {
        Value::String(s) => resolve_str(s, scope).unwrap_or_else(|| value.clone()),
        Value::Array(items) => Value::Array(items.iter().map(|v| resolve(v, scope)).collect()),
        Value::Object(map) => Value::Object(resolve_map(map, scope)),
        other => other.clone(),
    }
}

/// `Some(resolved)` when `s` is a reference, `None` when it is a plain string.
fn resolve_str(s: &str, scope: &Scope<'_>) -> Option<Value> {
    let s = s.trim();
    if s == "$input" {
        return Some(Value::Object(scope.inputs.clone()));
    }
    if let Some(path) = s.strip_prefix("$input.") {
        return Some(walk_map(scope.inputs, path));
    }
    Some(resolve_step(step_path(s)?, scope.steps))
}

/// The path of a step reference (`$step.<path>`, `$.vars.<path>`, blanks around allowed).
fn step_path(s: &str) -> Option<&str> {
    let s = s.trim();
    s.strip_prefix("$step.")
        .or_else(|| s.strip_prefix("$.vars."))
}

/// Calls `found` with the path (`<id>` or `<id>.<path>`) of every step reference in `value`:
/// strings, nested in objects and arrays.
pub(crate) fn step_references<'a>(value: &'a Value, found: &mut impl FnMut(&'a str)) {
    match value {
        Value::String(s) => {
            if let Some(path) = step_path(s) {
                found(path);
            }
        }
        Value::Array(items) => items.iter().for_each(|v| step_references(v, found)),
        Value::Object(map) => map.values().for_each(|v| step_references(v, found)),
        _ => {}
    }
}

fn resolve_step(path: &str, steps: &HashMap<String, Value>) -> Value {
    // Longest step id that is a prefix of `path` on a segment boundary.
    let mut end = path.len();
    loop {
        let (id, rest) = (&path[..end], path.get(end + 1..).unwrap_or(""));
        if let Some(output) = steps.get(id) {
            return if rest.is_empty() {
                output.clone()
            } else {
                walk(output, rest)
            };
        }
        match path[..end].rfind('.') {
            Some(dot) => end = dot,
            None => return Value::Null,
        }
    }
}

fn walk_map(map: &Map<String, Value>, path: &str) -> Value {
    let (first, rest) = path.split_once('.').unwrap_or((path, ""));
    match map.get(first) {
        Some(v) if rest.is_empty() => v.clone(),
        Some(v) => walk(v, rest),
        None => Value::Null,
    }
}

fn walk(root: &Value, path: &str) -> Value {
    let mut current = root;
    for segment in path.split('.') {
        let next = match current {
            Value::Object(map) => map.get(segment),
            Value::Array(items) => segment.parse::<usize>().ok().and_then(|i| items.get(i)),
            _ => None,
        };
        match next {
            Some(v) => current = v,
            None => return Value::Null,
        }
    }
    current.clone()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check(with: Value, expected: Value) {
        let inputs =
            json!({"endpoint": "opc.tcp://x", "nodes": ["a", "b"], "deep": {"k": {"v": 1}}});
        let mut steps = HashMap::new();
        steps.insert(
            "read".to_owned(),
            json!({"values": {"a": 80.0}, "list": [10, 20]}),
        );
        steps.insert("ns.step".to_owned(), json!({"x": "dotted"}));
        steps.insert("ns".to_owned(), json!({"step": {"x": "shadowed"}}));
        let scope = Scope {
            inputs: inputs.as_object().unwrap(),
            steps: &steps,
        };
        assert_eq!(resolve(&with, &scope), expected, "resolving {with}");
    }

    #[test]
    fn reference_resolution_table() {
        let table = [
            (json!("$input.endpoint"), json!("opc.tcp://x")),
            (json!("$input.nodes"), json!(["a", "b"])),
            (json!("$input.deep.k.v"), json!(1)),
            (json!("$input.missing"), Value::Null),
            (json!("$input.deep.k.missing.more"), Value::Null),
            (
                json!("$step.read"),
                json!({"values": {"a": 80.0}, "list": [10, 20]}),
            ),
            (json!("$step.read.values.a"), json!(80.0)),
            (json!("$.vars.read.values.a"), json!(80.0)),
            (json!("$step.read.list.1"), json!(20)),
            (json!("$step.read.values.zzz"), Value::Null),
            (json!("$step.unknown"), Value::Null),
            (json!("$step.unknown.path"), Value::Null),
            (json!("$step.ns.step.x"), json!("dotted")),
            (json!("plain text"), json!("plain text")),
            (json!("75.0"), json!("75.0")),
            (json!(42), json!(42)),
            (json!(null), json!(null)),
            (
                json!(["$input.endpoint", {"n": "$step.read.values.a"}, 3]),
                json!(["opc.tcp://x", {"n": 80.0}, 3]),
            ),
            (
                json!({"outer": {"inner": ["$input.missing"]}}),
                json!({"outer": {"inner": [null]}}),
            ),
            // Whole inputs, array indexes in inputs, paths through scalars and bad indexes.
            (
                json!("$input"),
                json!({"endpoint": "opc.tcp://x", "nodes": ["a", "b"], "deep": {"k": {"v": 1}}}),
            ),
            (json!("$input.nodes.1"), json!("b")),
            (json!("$input.nodes.2"), Value::Null),
            (json!("$input.nodes.x"), Value::Null),
            (json!("$input.endpoint.more"), Value::Null),
            (json!("$step.read.list.-1"), Value::Null),
            (json!("$.vars.unknown.x"), Value::Null),
            (json!("$.vars.ns.step.x"), json!("dotted")),
            // Surrounding blanks are tolerated; a reference inside a longer string is text.
            (json!("  $input.endpoint "), json!("opc.tcp://x")),
            (
                json!("value: $input.endpoint"),
                json!("value: $input.endpoint"),
            ),
            (json!("$inputs.endpoint"), json!("$inputs.endpoint")),
            // Deep nesting: arrays of objects of arrays.
            (
                json!([[{"a": ["$step.read.values.a", "$step.nope"]}], {"b": {"c": ["$input.deep.k"]}}]),
                json!([[{"a": [80.0, null]}], {"b": {"c": [{"v": 1}]}}]),
            ),
        ];
        for (with, expected) in table {
            check(with, expected);
        }
    }
}

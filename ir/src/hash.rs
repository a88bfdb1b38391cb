//! Canonical JSON and the manifest's `inputs_schema_hash` (Flow IR v1.0.0, section "Manifest").

use serde_json::Value;
use sha2::{Digest, Sha256};

/// Canonical JSON, byte for byte what Python's
/// `json.dumps(v, sort_keys=True, separators=(",", ":"), ensure_ascii=False)` writes
/// (Flow IR v1.0.0, section "Manifest"):
/// object keys sorted by Unicode code point (= UTF-8 byte order), no spaces, non-ASCII kept as
/// UTF-8, `/` not escaped; in strings only `"`, `\`, and control characters U+0000–U+001F are
/// escaped (`\n`, `\r`, `\t`, `\b`, `\f`, else `\u00xx` in lowercase hex). Numbers are written
/// as serde_json prints them (integers agree with Python; some floats, e.g. `1e100`, may not).
pub fn canonical_json(value: &Value) -> String {
    let mut out = String::new();
    write_value(&mut out, value);
    out
}

/// `"sha256:"` + lowercase hex of SHA-256 over the UTF-8 bytes of [`canonical_json`]`(schema)`
/// (Flow IR v1.0.0, section "Manifest"). `{}` →
/// `"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"`.
pub fn inputs_schema_hash(schema: &Value) -> String {
    let digest = Sha256::digest(canonical_json(schema).as_bytes());
    format!("sha256:{}", hex::encode(digest))
}

fn write_value(out: &mut String, value: &Value) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        Value::Number(n) => out.push_str(&n.to_string()),
        Value::String(s) => write_string(out, s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(out, item);
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            out.push('{');
            for (i, (key, item)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_string(out, key);
                out.push(':');
                write_value(out, item);
            }
            out.push('}');
        }
    }
}

fn write_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn empty_object_hash() {
        assert_eq!(canonical_json(&json!({})), "{}");
        assert_eq!(
            inputs_schema_hash(&json!({})),
            "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
        );
    }

    #[test]
    fn matches_python_for_nested_non_ascii_and_escapes() {
        // python3 -c 'import json; print(json.dumps({"b":[1,2.5,{"z":None,"a":True}],
        //   "a":"é/\"\\\n\t\u0001\u007f\u2028😀","é":1,"e":{},"Z":[]},
        //   sort_keys=True, separators=(",",":"), ensure_ascii=False))'
        let value = json!({
            "b": [1, 2.5, {"z": null, "a": true}],
            "a": "é/\"\\\n\t\u{1}\u{7f}\u{2028}😀",
            "é": 1,
            "e": {},
            "Z": []
        });
        assert_eq!(
            canonical_json(&value),
            "{\"Z\":[],\"a\":\"é/\\\"\\\\\\n\\t\\u0001\u{7f}\u{2028}😀\",\"b\":[1,2.5,{\"a\":true,\"z\":null}],\"e\":{},\"é\":1}"
        );
    }

    #[test]
    fn keys_sort_by_code_point() {
        // Python: sorted(["é", "z", "😀", "\uffff", "A"]) → ['A', 'z', 'é', '\uffff', '😀']
        let value = json!({"😀": 0, "\u{ffff}": 1, "é": 2, "z": 3, "A": 4, "\u{8}": -1});
        assert_eq!(
            canonical_json(&value),
            "{\"\\b\":-1,\"A\":4,\"z\":3,\"é\":2,\"\u{ffff}\":1,\"😀\":0}"
        );
    }

    #[test]
    fn plant_monitor_inputs_schema() {
        let schema = json!({"endpoint": {"type": "string"}, "nodes": {"type": "list<string>"}});
        assert_eq!(
            canonical_json(&schema),
            r#"{"endpoint":{"type":"string"},"nodes":{"type":"list<string>"}}"#
        );
        assert_eq!(
            inputs_schema_hash(&schema),
            "sha256:0060349a96536cb59c97e68ff4f1aae8ec35f7545711f341b4a011ae0dd9f6e9"
        );
    }
}

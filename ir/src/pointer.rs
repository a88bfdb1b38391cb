//! RFC 6901 JSON pointers: building them and ordering problems by document position.

use serde_json::Value;

/// Escapes one reference token (RFC 6901 §3): `~` → `~0`, `/` → `~1`.
pub(crate) fn escape(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

/// Undoes [`escape`] (RFC 6901 §4).
fn unescape(token: &str) -> String {
    token.replace("~1", "/").replace("~0", "~")
}

/// `base` + `/` + escaped `token`.
pub(crate) fn join(base: &str, token: &str) -> String {
    format!("{base}/{}", escape(token))
}

/// A sort key placing `pointer` in document (serialization) order within `doc`: for each token,
/// the position of the key in its object (insertion order) or the array index. Tokens that do
/// not resolve sort after everything that does at that level.
pub(crate) fn document_position(doc: &Value, pointer: &str) -> Vec<usize> {
    let mut key = Vec::new();
    let mut current = Some(doc);
    for raw in pointer.split('/').skip(1) {
        let token = unescape(raw);
        let (index, next) = match current {
            Some(Value::Object(map)) => match map.keys().position(|k| *k == token) {
                Some(i) => (i, map.get(&token)),
                None => (usize::MAX, None),
            },
            Some(Value::Array(items)) => match token.parse::<usize>() {
                Ok(i) if i < items.len() => (i, items.get(i)),
                _ => (usize::MAX, None),
            },
            _ => (usize::MAX, None),
        };
        key.push(index);
        current = next;
    }
    key
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn escaping() {
        assert_eq!(join("/a", "x/y~z"), "/a/x~1y~0z");
        assert_eq!(unescape("x~1y~0z"), "x/y~z");
    }

    #[test]
    fn positions_follow_document_order() {
        let doc = json!({"b": [1, {"z": 1, "a/b": 2}], "a": 1});
        assert_eq!(document_position(&doc, ""), Vec::<usize>::new());
        assert_eq!(document_position(&doc, "/a"), vec![1]);
        assert_eq!(document_position(&doc, "/b/1/a~1b"), vec![0, 1, 1]);
        assert!(document_position(&doc, "/b") < document_position(&doc, "/b/0"));
        assert_eq!(
            document_position(&doc, "/nope/x"),
            vec![usize::MAX, usize::MAX]
        );
    }
}

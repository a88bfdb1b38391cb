//! The project templates (`rep-host/templates/executor/`), embedded in `tm` and rendered with
//! minijinja: `{{ key }}` values, `{% for step in steps %}` loops, `{% include %}` of a
//! handler per step kind, and per-language READMEs extending `common/README.md`.
//!
//! Rendering is strict (a key the context lacks is an error, never an empty string) and
//! escapes nothing: values are checked identifiers and paths, and `| toml_string` quotes a
//! string where Cargo.toml needs it.

use minijinja::syntax::SyntaxConfig;
use minijinja::{AutoEscape, Environment, UndefinedBehavior, Value};

/// `templates![path, …]`: each `rep-host/templates/executor/<path>` as `(path, text)`.
macro_rules! templates {
    ($($path:literal),* $(,)?) => {
        [$((
            $path,
            include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/templates/executor/", $path)),
        )),*]
    };
}

/// Every template, by its path under `templates/executor/`.
pub(super) const TEMPLATES: [(&str, &str); 16] = templates![
    "common/README.md",
    "common/ci.sh",
    "common/gitignore",
    "common/runtime.yaml",
    "rust/README.md",
    "rust/Cargo.toml",
    "rust/main.rs",
    "rust/handler.rs",
    "c/README.md",
    "c/Makefile",
    "c/main.c",
    "c/handler.c",
    "cpp/README.md",
    "cpp/Makefile",
    "cpp/main.cpp",
    "cpp/handler.cpp",
];

/// Renders templates as generated files want them: every trailing newline kept, and a line
/// holding only a `{% … %}` tag leaves nothing behind.
pub(super) struct Templates {
    env: Environment<'static>,
}

impl Templates {
    pub(super) fn new() -> Result<Templates, minijinja::Error> {
        let mut env = Environment::new();
        env.set_syntax(
            SyntaxConfig::builder()
                .keep_trailing_newline(true)
                .trim_blocks(true)
                .lstrip_blocks(true)
                .build()?,
        );
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        // Values go in as they are: no HTML or JSON escaping picked by a file's extension.
        env.set_auto_escape_callback(|_| AutoEscape::None);
        env.add_filter("toml_string", toml_string);
        for (path, text) in TEMPLATES {
            env.add_template(path, text)?;
        }
        Ok(Templates { env })
    }

    /// The text of template `path` (under `templates/executor/`) with `context`.
    pub(super) fn render(&self, path: &str, context: &Value) -> Result<String, minijinja::Error> {
        self.env.get_template(path)?.render(context)
    }
}

/// `{{ text | toml_string }}`: `text` as a TOML basic string (quoted, `"`, `\` and control
/// characters escaped; JSON's string syntax is a subset of TOML's).
fn toml_string(text: &str) -> String {
    serde_json::to_string(text).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_under_templates_is_embedded() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("templates/executor");
        let mut on_disk = Vec::new();
        for dir in std::fs::read_dir(&root).into_iter().flatten().flatten() {
            for file in std::fs::read_dir(dir.path())
                .into_iter()
                .flatten()
                .flatten()
            {
                let path = file.path();
                let relative = path.strip_prefix(&root).map(|p| p.display().to_string());
                on_disk.push(relative.unwrap_or_default());
            }
        }
        on_disk.sort();
        let mut embedded: Vec<String> = TEMPLATES.iter().map(|(p, _)| (*p).to_owned()).collect();
        embedded.sort();
        assert_eq!(on_disk, embedded);
    }
}

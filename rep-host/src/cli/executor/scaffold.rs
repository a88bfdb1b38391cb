//! The files of a new executor project (`tm executor new`): pure, no I/O. Templates are
//! embedded in `tm` (`rep-host/templates/executor/`), and so is the native library that C and
//! C++ projects vendor.

use std::path::PathBuf;

use flow_ir::ManifestEntry;
use serde_json::{Map, Value, json};

use crate::cli::args::Lang;

/// The sample flow's name (`flows/sample.ir.json`).
pub const SAMPLE_FLOW: &str = "sample";

/// Step kinds a project must not declare: the executor's built-ins and its own `dsl.emit`.
const RESERVED_KINDS: [&str; 3] = ["switch", "finish", "dsl.emit"];

/// Identifiers a handler must not be named (Rust and C++ keywords that can come out of a step
/// kind, and the generated code's own names).
const RESERVED_IDENTS: [&str; 22] = [
    "as", "break", "const", "continue", "crate", "else", "enum", "fn", "for", "if", "impl", "in",
    "loop", "match", "mod", "move", "return", "self", "static", "emit", "executor", "main",
];

/// Where the Rust kit comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KitSource {
    /// A path to the `rep-executor-kit` folder.
    Path(PathBuf),
    /// A git repository holding rep.
    Git(String),
}

/// What to generate.
#[derive(Debug, Clone)]
pub struct Spec {
    /// Project and binary name.
    pub name: String,
    /// Language.
    pub lang: Lang,
    /// The step kinds, validated, in the order given.
    pub kinds: Vec<String>,
    /// Rust only: the kit.
    pub kit: KitSource,
    /// `metadata.generated_at` of the sample flow (RFC 3339).
    pub generated_at: String,
}

/// One file of the project: path relative to the project, bytes, executable or not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct File {
    pub path: &'static str,
    pub text: String,
    pub executable: bool,
}

/// Why a name or a step kind cannot be used.
pub fn check_name(name: &str) -> Result<(), String> {
    let mut chars = name.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic());
    if !first_ok
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(format!(
            "{name:?} is not a project name: a letter, then letters, digits, '-' or '_'"
        ));
    }
    Ok(())
}

/// The step kinds to generate: `kinds`, else `<name>.hello`; each one a Flow IR node type
/// (letters, digits, '.', '_', '-'), not a built-in, given once.
pub fn check_kinds(name: &str, kinds: &[String]) -> Result<Vec<String>, String> {
    if kinds.is_empty() {
        return Ok(vec![format!("{name}.hello")]);
    }
    let mut checked: Vec<String> = Vec::with_capacity(kinds.len());
    for kind in kinds {
        let ok = !kind.is_empty()
            && kind
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
        if !ok {
            return Err(format!(
                "--kind {kind:?}: a step kind is letters, digits, '.', '_' and '-' (e.g. acme.read)"
            ));
        }
        if RESERVED_KINDS.contains(&kind.as_str()) {
            return Err(format!(
                "--kind {kind}: every generated executor has it already (switch and finish are \
                 built in, dsl.emit gives the flow's outputs)"
            ));
        }
        if checked.contains(kind) {
            return Err(format!("--kind {kind} is given twice"));
        }
        checked.push(kind.clone());
    }
    Ok(checked)
}

/// A handler's identifier (function name, node id) for each kind: lowercase, `_` for other
/// characters, unique.
fn identifiers(kinds: &[String]) -> Vec<String> {
    let mut taken: Vec<String> = Vec::new();
    for kind in kinds {
        let mut ident: String = kind
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_lowercase()
                } else {
                    '_'
                }
            })
            .collect();
        if ident.starts_with(|c: char| c.is_ascii_digit() || c == '_')
            || RESERVED_IDENTS.contains(&ident.as_str())
        {
            ident = format!("step_{ident}");
        }
        let base = ident.clone();
        let mut n = 2;
        while taken.contains(&ident) {
            ident = format!("{base}_{n}");
            n += 1;
        }
        taken.push(ident);
    }
    taken
}

fn fill(template: &str, values: &[(&str, &str)]) -> String {
    let mut text = template.to_owned();
    for (key, value) in values {
        text = text.replace(&format!("{{{{{key}}}}}"), value);
    }
    text
}

macro_rules! template {
    ($path:literal) => {
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/templates/executor/",
            $path
        ))
    };
}

macro_rules! native {
    ($path:literal) => {
        include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../native/", $path))
    };
}

/// The native library as a C project vendors it: `rep/<file>`.
const NATIVE_C: [(&str, &str); 12] = [
    ("rep/rep_config.h", native!("c/rep_config.h")),
    ("rep/rep_json.h", native!("c/rep_json.h")),
    ("rep/rep_executor.h", native!("c/rep_executor.h")),
    ("rep/rep_layout.h", native!("c/rep_layout.h")),
    ("rep/rep_internal.h", native!("c/rep_internal.h")),
    ("rep/rep_json.c", native!("c/rep_json.c")),
    ("rep/rep_ir.c", native!("c/rep_ir.c")),
    ("rep/rep_resolve.c", native!("c/rep_resolve.c")),
    ("rep/rep_run.c", native!("c/rep_run.c")),
    ("rep/rep_dispatch.c", native!("c/rep_dispatch.c")),
    ("rep/rep_stdio.c", native!("linux/rep_stdio.c")),
    ("rep/rep_stdio.h", native!("linux/rep_stdio.h")),
];

/// The project's files, in a stable order.
pub fn files(spec: &Spec) -> Vec<File> {
    let idents = identifiers(&spec.kinds);
    let (ir, inputs) = sample_flow(spec, &idents);
    let entry = sample_entry(&ir);
    let executor_path = match spec.lang {
        Lang::Rust => format!("target/debug/{}", spec.name),
        Lang::C | Lang::Cpp => format!("build/{}", spec.name),
    };
    let mut files = vec![
        file("flows/sample.ir.json", pretty(&ir)),
        file("flows/manifest.json", pretty(&json!([entry]))),
        file("flows/sample.inputs.json", pretty(&inputs)),
    ];
    files.extend(fixtures(&ir, &inputs, &idents));
    files.push(file(".gitignore", template!("common/gitignore").to_owned()));
    files.push(file(
        "runtime.yaml",
        fill(
            template!("common/runtime.yaml"),
            &[("name", &spec.name), ("executor_path", &executor_path)],
        ),
    ));
    let (build, executor) = match spec.lang {
        Lang::Rust => (
            "cargo build\ncargo test".to_owned(),
            format!("\"${{CARGO_TARGET_DIR:-target}}/debug/{}\"", spec.name),
        ),
        Lang::C | Lang::Cpp => ("make".to_owned(), executor_path.clone()),
    };
    files.push(File {
        executable: true,
        ..file(
            "ci.sh",
            fill(
                template!("common/ci.sh"),
                &[
                    ("name", &spec.name),
                    ("build", &build),
                    ("executor", &executor),
                    ("flow", SAMPLE_FLOW),
                ],
            ),
        )
    });
    files.push(file("README.md", readme(spec, &build, &executor_path)));
    files.extend(sources(spec, &idents));
    files
}

fn file(path: &'static str, text: String) -> File {
    File {
        path,
        text,
        executable: false,
    }
}

fn pretty(value: &Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_default() + "\n"
}

fn node(id: &str, kind: &str, with: Value) -> Value {
    json!({"id": id, "type": kind, "with": with, "timeout_ms": 0,
           "retry": {"max": 0, "backoff_ms": 0}})
}

/// The sample flow: each kind once (`with.name` from the input `name`), then `dsl.emit` of
/// every greeting, then `finish`; and its inputs.
fn sample_flow(spec: &Spec, idents: &[String]) -> (Value, Value) {
    let mut nodes = Vec::new();
    let mut emitted = Map::new();
    for (kind, id) in spec.kinds.iter().zip(idents) {
        let mut step = node(id, kind, json!({"name": "$input.name"}));
        // A handler's failure is retried once, 100 ms later; an attempt may take 10 s.
        step["timeout_ms"] = json!(10_000);
        step["retry"] = json!({"max": 1, "backoff_ms": 100});
        nodes.push(step);
        emitted.insert(id.clone(), json!(format!("$step.{id}.greeting")));
    }
    nodes.push(node("emit", "dsl.emit", Value::Object(emitted)));
    nodes.push(node("done", "finish", json!({})));
    let edges: Vec<Value> = nodes
        .windows(2)
        .map(|pair| json!({"from": pair[0]["id"], "to": pair[1]["id"], "on": "success"}))
        .collect();
    let ir = json!({
        "version": flow_ir::SUPPORTED_VERSION,
        "flow": {"name": SAMPLE_FLOW, "timeout_ms": 60_000},
        "constants": {"policyRef": "none", "policy": {}},
        "inputs_schema": {"name": {"type": "string"}},
        "graph": {"nodes": nodes, "edges": edges},
        "metadata": {"generated_at": spec.generated_at, "source_file": "flows/sample.ir.json"},
    });
    (ir, json!({"name": "world"}))
}

/// The manifest entry of the sample, as `tm ir manifest` writes it.
fn sample_entry(ir: &Value) -> Value {
    match flow_ir::validate(ir) {
        Ok(typed) => serde_json::to_value(ManifestEntry::for_ir(&typed, "sample.ir.json"))
            .unwrap_or_default(),
        // The sample is ours: a unit test proves it valid for any accepted kinds.
        Err(error) => json!({"error": error.to_string()}),
    }
}

/// `conformance/`: the sample completing with its outputs; failing on a bad `with` (no
/// retry); running 10 s in its first step, for REP-CAN-003 to cancel.
fn fixtures(ir: &Value, inputs: &Value, idents: &[String]) -> Vec<File> {
    let outputs: Map<String, Value> = idents
        .iter()
        .map(|id| (id.clone(), json!("hello, world")))
        .collect();
    let completed = json!({
        "name": SAMPLE_FLOW,
        "ir_path": "../flows/sample.ir.json",
        "inputs": inputs,
        "expect": {"status": "completed", "outputs": outputs},
    });
    let variant = |name: &str, with: Value| {
        let mut ir = ir.clone();
        ir["flow"]["name"] = json!(name);
        ir["graph"]["nodes"][0]["with"] = with;
        ir["graph"]["nodes"][0]["retry"] = json!({"max": 0, "backoff_ms": 0});
        ir
    };
    let failed = json!({
        "name": "bad-with",
        "ir": variant("bad-with", json!({"name": 42})),
        "inputs": inputs,
        "expect": {"status": "failed"},
    });
    let mut slow_ir = variant(
        "long-running",
        json!({"name": "$input.name", "delay_ms": 10_000}),
    );
    slow_ir["graph"]["nodes"][0]["timeout_ms"] = json!(0);
    slow_ir["flow"]["timeout_ms"] = json!(0);
    let long_running = json!({
        "name": "long-running",
        "ir": slow_ir,
        "inputs": inputs,
        "expect": {"status": "completed"},
        "long_running": true,
    });
    vec![
        file("conformance/completed.json", pretty(&completed)),
        file("conformance/failed.json", pretty(&failed)),
        file("conformance/long-running.json", pretty(&long_running)),
    ]
}

/// The README: what the project is, and the commands that build, run and certify it.
fn readme(spec: &Spec, build: &str, executor_path: &str) -> String {
    let kinds_bullets: String = spec
        .kinds
        .iter()
        .map(|kind| format!("- `{kind}` — yours to write (now: `with.name` → `{{greeting}}`);\n"))
        .collect();
    let (lang_phrase, library, requirements, layout) = match spec.lang {
        Lang::Rust => (
            "in Rust on `rep-executor-kit`",
            "kit",
            "Rust 1.88 or newer.",
            "| `src/main.rs` | the handlers, `main`, and a test running the sample in memory (`cargo test`) |\n\
             | `Cargo.toml` | the kit, serde_json, tokio |\n",
        ),
        Lang::C => (
            "in C99 on the native library of rep (vendored in `rep/`)",
            "library",
            "A C99 compiler and make.",
            "| `src/main.c` | the handlers and `main` |\n\
             | `rep/` | the native library (no heap; see its header, `rep/rep_executor.h`) |\n\
             | `Makefile` | builds `build/` |\n",
        ),
        Lang::Cpp => (
            "in C++17 on the native library of rep and its C++ wrapper (vendored in `rep/`)",
            "library",
            "A C99 and C++17 compiler, make and nlohmann/json (Debian: `apt-get install \
             nlohmann-json3-dev`).",
            "| `src/main.cpp` | the handlers and `main` |\n\
             | `rep/` | the native library and its C++ wrapper `rep/rep_executor.hpp` |\n\
             | `Makefile` | builds `build/` |\n",
        ),
    };
    fill(
        template!("common/README.md"),
        &[
            ("name", &spec.name),
            ("lang_phrase", lang_phrase),
            ("kinds_bullets", kinds_bullets.trim_end_matches('\n')),
            ("library", library),
            ("requirements", requirements),
            ("build", build),
            ("executor_path", executor_path),
            ("flow", SAMPLE_FLOW),
            ("layout", layout),
        ],
    )
}

/// The language's sources and build file.
fn sources(spec: &Spec, idents: &[String]) -> Vec<File> {
    let handlers = |template: &str| -> String {
        spec.kinds
            .iter()
            .zip(idents)
            .map(|(kind, ident)| fill(template, &[("kind", kind), ("fn", ident)]))
            .collect()
    };
    let registrations = |line: &dyn Fn(&str, &str) -> String| -> String {
        spec.kinds
            .iter()
            .zip(idents)
            .map(|(kind, ident)| line(kind, ident))
            .collect()
    };
    let name = spec.name.as_str();
    match spec.lang {
        Lang::Rust => {
            let kit = match &spec.kit {
                KitSource::Path(path) => format!("{{ path = {} }}", toml_string(path)),
                KitSource::Git(url) => format!("{{ git = {} }}", toml_string(url)),
            };
            vec![
                file(
                    "Cargo.toml",
                    fill(
                        template!("rust/Cargo.toml"),
                        &[("name", name), ("kit", &kit)],
                    ),
                ),
                file(
                    "src/main.rs",
                    fill(
                        template!("rust/main.rs"),
                        &[
                            ("name", name),
                            ("handlers", &handlers(template!("rust/handler.rs"))),
                            (
                                "registrations",
                                &registrations(&|kind, ident| {
                                    format!("        .step(\"{kind}\", {ident})\n")
                                }),
                            ),
                        ],
                    ),
                ),
            ]
        }
        Lang::C | Lang::Cpp => {
            let c = spec.lang == Lang::C;
            let (main_path, main, handler, makefile) = if c {
                (
                    "src/main.c",
                    template!("c/main.c"),
                    template!("c/handler.c"),
                    template!("c/Makefile"),
                )
            } else {
                (
                    "src/main.cpp",
                    template!("cpp/main.cpp"),
                    template!("cpp/handler.cpp"),
                    template!("cpp/Makefile"),
                )
            };
            let register = |kind: &str, ident: &str| {
                if c {
                    format!("    rep_executor_add_step(&executor, \"{kind}\", {ident}, NULL);\n")
                } else {
                    format!("    executor.step(\"{kind}\", {ident});\n")
                }
            };
            let mut files = vec![
                file("Makefile", fill(makefile, &[("name", name)])),
                file(
                    main_path,
                    fill(
                        main,
                        &[
                            ("name", name),
                            ("handlers", &handlers(handler)),
                            ("registrations", &registrations(&register)),
                        ],
                    ),
                ),
            ];
            files.extend(
                NATIVE_C
                    .iter()
                    .map(|(path, text)| file(path, (*text).to_owned())),
            );
            if spec.lang == Lang::Cpp {
                files.push(file(
                    "rep/rep_executor.hpp",
                    native!("cpp/rep_executor.hpp").to_owned(),
                ));
            }
            files
        }
    }
}

/// A TOML basic string: JSON's string syntax is one.
fn toml_string(text: impl AsRef<std::ffi::OsStr>) -> String {
    serde_json::to_string(&text.as_ref().to_string_lossy()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(lang: Lang, kinds: &[&str]) -> Spec {
        Spec {
            name: "demo".into(),
            lang,
            kinds: kinds.iter().map(|k| (*k).to_owned()).collect(),
            kit: KitSource::Path(PathBuf::from("/rep/rep-executor-kit")),
            generated_at: "2026-01-01T00:00:00Z".into(),
        }
    }

    fn text<'a>(files: &'a [File], path: &str) -> &'a str {
        files
            .iter()
            .find(|f| f.path == path)
            .map(|f| f.text.as_str())
            .unwrap_or_else(|| panic!("no {path}"))
    }

    #[test]
    fn the_sample_flow_is_valid_and_its_manifest_is_tm_ir_manifests() {
        for kinds in [&["demo.hello"][..], &["a.read", "a-read", "move", "9lives"]] {
            let files = files(&spec(Lang::Rust, kinds));
            let ir: Value = serde_json::from_str(text(&files, "flows/sample.ir.json")).unwrap();
            let typed = flow_ir::validate(&ir).unwrap();
            let manifest: Value =
                serde_json::from_str(text(&files, "flows/manifest.json")).unwrap();
            let entry = ManifestEntry::for_ir(&typed, "sample.ir.json");
            assert_eq!(manifest, json!([entry]));
            let mut expected: Vec<&str> = kinds.to_vec();
            expected.extend(["dsl.emit", "finish"]);
            expected.sort_unstable();
            assert_eq!(manifest[0]["step_kinds"], json!(expected));
            for fixture in ["failed", "long-running"] {
                let path = format!("conformance/{fixture}.json");
                let fixture: Value = serde_json::from_str(text(&files, &path)).unwrap();
                flow_ir::validate(&fixture["ir"]).unwrap();
            }
        }
    }

    #[test]
    fn identifiers_are_unique_and_never_keywords() {
        let kinds: Vec<String> = ["a.read", "a-read", "move", "9lives", "emit"]
            .map(String::from)
            .to_vec();
        assert_eq!(
            identifiers(&kinds),
            [
                "a_read",
                "a_read_2",
                "step_move",
                "step_9lives",
                "step_emit"
            ]
        );
    }

    #[test]
    fn names_and_kinds_are_checked() {
        assert!(check_name("my-executor_2").is_ok());
        for bad in ["", "2x", "a b", "../x", "-x"] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
        assert_eq!(check_kinds("demo", &[]).unwrap(), ["demo.hello"]);
        for bad in ["switch", "dsl.emit", "a b", "", "a\"b"] {
            assert!(check_kinds("demo", &[bad.to_owned()]).is_err(), "{bad}");
        }
        assert!(check_kinds("demo", &["a".into(), "a".into()]).is_err());
    }

    #[test]
    fn each_language_registers_every_kind() {
        let kinds = ["acme.read", "acme.write"];
        let rust = files(&spec(Lang::Rust, &kinds));
        assert!(text(&rust, "src/main.rs").contains(".step(\"acme.write\", acme_write)"));
        assert!(text(&rust, "Cargo.toml").contains("path = \"/rep/rep-executor-kit\""));
        let c = files(&spec(Lang::C, &kinds));
        assert!(text(&c, "src/main.c").contains("\"acme.read\", acme_read, NULL"));
        assert!(text(&c, "Makefile").contains("build/demo:"));
        assert!(c.iter().any(|f| f.path == "rep/rep_run.c"));
        let cpp = files(&spec(Lang::Cpp, &kinds));
        assert!(text(&cpp, "src/main.cpp").contains("executor.step(\"acme.read\", acme_read);"));
        assert!(cpp.iter().any(|f| f.path == "rep/rep_executor.hpp"));
        for files in [&rust, &c, &cpp] {
            for f in files.iter() {
                let left = f.text.split("{{").skip(1).any(|rest| {
                    let word: String = rest.chars().take_while(|c| *c != '}').collect();
                    rest[word.len()..].starts_with("}}")
                        && word.chars().all(|c| c.is_ascii_lowercase() || c == '_')
                });
                assert!(!left, "a placeholder is left in {}", f.path);
            }
        }
    }
}

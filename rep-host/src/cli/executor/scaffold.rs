//! The files of a new executor project (`tm executor new`): pure, no I/O.
//!
//! What differs between languages is one [`Language`] record each; every text is a template
//! under `rep-host/templates/executor/` ([`templates`]), embedded in `tm`, and the JSON
//! documents are built as values ([`sample`]). C and C++ projects vendor the native library,
//! embedded too: the `rep-native-src` crate (native/lib.rs) holds its sources as text, so
//! that each crate embeds only files of its own folder.

mod sample;
mod templates;

use std::path::{Path, PathBuf};

use minijinja::{Value, context};
use rep_native_src::{C_LIBRARY, CPP_WRAPPER};

use crate::cli::args::Lang;
use templates::Templates;

/// The sample flow's name (`flows/sample.ir.json`).
pub const SAMPLE_FLOW: &str = "sample";

/// Step kinds a project must not declare: the executor's built-ins, its own `dsl.emit` and the
/// `rep.probe` of rep-conformance's semantic tests, registered in every project.
const RESERVED_KINDS: [&str; 4] = ["switch", "finish", "dsl.emit", "rep.probe"];

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
    pub path: String,
    pub text: String,
    pub executable: bool,
}

impl File {
    fn new(path: impl Into<String>, text: String) -> File {
        File {
            path: path.into(),
            text,
            executable: false,
        }
    }
}

/// A template that failed to render: a bug of `tm` (minijinja's error, the source, names the
/// template and the line).
#[derive(Debug, thiserror::Error)]
#[error("cannot generate the project: a template of tm does not render")]
pub struct TemplateError(#[from] minijinja::Error);

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
                 built in, dsl.emit gives the flow's outputs, rep.probe is for rep-conformance)"
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

/// What differs between the languages of a project; everything else is in its templates,
/// `templates/executor/<templates>/`: `README.md` (extending `common/README.md`), the build
/// file, the main source and the handler it includes once per step kind.
struct Language {
    /// The folder of its templates.
    templates: &'static str,
    /// The build file, rendered from the template of the same name.
    build_file: &'static str,
    /// The template of the main source, and where it goes.
    main: (&'static str, &'static str),
    /// The commands that build (and test) the project, one per line.
    build: &'static str,
    /// The folder of the built executor, relative to the project.
    out_dir: &'static str,
    /// The same as `ci.sh` names it (a Rust build honours `CARGO_TARGET_DIR`).
    ci_out_dir: &'static str,
    /// The native library files vendored into `rep/`.
    vendored: &'static [&'static [rep_native_src::File]],
}

const RUST: Language = Language {
    templates: "rust",
    build_file: "Cargo.toml",
    main: ("main.rs", "src/main.rs"),
    build: "cargo build\ncargo test",
    out_dir: "target/debug",
    ci_out_dir: "${CARGO_TARGET_DIR:-target}/debug",
    vendored: &[],
};

const C: Language = Language {
    templates: "c",
    build_file: "Makefile",
    main: ("main.c", "src/main.c"),
    build: "make",
    out_dir: "build",
    ci_out_dir: "build",
    vendored: &[C_LIBRARY],
};

const CPP: Language = Language {
    templates: "cpp",
    build_file: "Makefile",
    main: ("main.cpp", "src/main.cpp"),
    build: "make",
    out_dir: "build",
    ci_out_dir: "build",
    vendored: &[C_LIBRARY, CPP_WRAPPER],
};

impl Language {
    fn of(lang: Lang) -> &'static Language {
        match lang {
            Lang::Rust => &RUST,
            Lang::C => &C,
            Lang::Cpp => &CPP,
        }
    }
}

/// The project's files, in a stable order.
///
/// # Errors
/// A template that does not render (a bug of `tm`; the unit tests render every language).
pub fn files(spec: &Spec) -> Result<Vec<File>, TemplateError> {
    let language = Language::of(spec.lang);
    let idents = identifiers(&spec.kinds);
    let context = template_context(spec, language, &idents);
    let templates = Templates::new()?;
    let render = |template: &str| templates.render(template, &context);
    let own = |name: &str| format!("{}/{name}", language.templates);
    let mut files = sample::files(&spec.kinds, &idents, &spec.generated_at);
    files.push(File::new(".gitignore", render("common/gitignore")?));
    files.push(File::new("runtime.yaml", render("common/runtime.yaml")?));
    files.push(File {
        executable: true,
        ..File::new("ci.sh", render("common/ci.sh")?)
    });
    files.push(File::new("README.md", render(&own("README.md"))?));
    files.push(File::new(
        language.build_file,
        render(&own(language.build_file))?,
    ));
    let (main_template, main_path) = language.main;
    files.push(File::new(main_path, render(&own(main_template))?));
    let vendored = language.vendored.iter().copied().flatten();
    files.extend(vendored.map(|f| File::new(format!("rep/{}", f.name), f.text.to_owned())));
    Ok(files)
}

/// What the templates see: `name`, `steps` (`[{kind, fn}]`, `fn` the handler's identifier),
/// `build`, `executor_path`, `ci_out_dir`, `flow`, `rep_checkout` (the rep checkout whose
/// `install.sh` installs the tools), and `kit_path` or `kit_git` (Rust).
fn template_context(spec: &Spec, language: &Language, idents: &[String]) -> Value {
    let steps: Vec<Value> = spec
        .kinds
        .iter()
        .zip(idents)
        .map(|(kind, ident)| context! { kind => kind, fn => ident })
        .collect();
    let (kit_path, kit_git) = match &spec.kit {
        KitSource::Path(path) => (Some(path.to_string_lossy().into_owned()), None),
        KitSource::Git(url) => (None, Some(url.clone())),
    };
    context! {
        name => &spec.name,
        steps => steps,
        build => language.build,
        executor_path => format!("{}/{}", language.out_dir, spec.name),
        ci_out_dir => language.ci_out_dir,
        flow => SAMPLE_FLOW,
        kit_path => kit_path,
        kit_git => kit_git,
        rep_checkout => rep_checkout(&spec.kit),
    }
}

/// The rep checkout the project's README names for installing the tools: the one the kit is
/// in (`CHECKOUT/rep-executor-kit`), else the source tree this tm was built from, when it is
/// still there; else `REP`, for the user to replace.
fn rep_checkout(kit: &KitSource) -> String {
    let from_kit = match kit {
        KitSource::Path(kit) => kit.parent().filter(|dir| has_installer(dir)),
        KitSource::Git(_) => None,
    };
    from_kit
        .map(Path::to_path_buf)
        .or_else(built_from_checkout)
        .map_or_else(|| "REP".to_owned(), |dir| dir.display().to_string())
}

/// The rep checkout this tm was built from, when it is still there (with its `install.sh`).
pub(super) fn built_from_checkout() -> Option<PathBuf> {
    std::fs::canonicalize(Path::new(env!("CARGO_MANIFEST_DIR")).join(".."))
        .ok()
        .filter(|dir| has_installer(dir))
}

fn has_installer(dir: &Path) -> bool {
    dir.join("install.sh").is_file()
}

#[cfg(test)]
mod tests {
    use super::*;
    use flow_ir::ManifestEntry;
    use serde_json::{Value, json};

    fn spec(lang: Lang, kinds: &[&str]) -> Spec {
        Spec {
            name: "demo".into(),
            lang,
            kinds: kinds.iter().map(|k| (*k).to_owned()).collect(),
            kit: KitSource::Path(PathBuf::from("/rep/rep-executor-kit")),
            generated_at: "2026-01-01T00:00:00Z".into(),
        }
    }

    fn generate(lang: Lang, kinds: &[&str]) -> Vec<File> {
        files(&spec(lang, kinds)).unwrap_or_else(|e| panic!("{e}"))
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
            let files = generate(Lang::Rust, kinds);
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
        for bad in ["switch", "dsl.emit", "rep.probe", "a b", "", "a\"b"] {
            assert!(check_kinds("demo", &[bad.to_owned()]).is_err(), "{bad}");
        }
        assert!(check_kinds("demo", &["a".into(), "a".into()]).is_err());
    }

    #[test]
    fn each_language_registers_every_kind() {
        let kinds = ["acme.read", "acme.write"];
        let rust = generate(Lang::Rust, &kinds);
        assert!(text(&rust, "src/main.rs").contains(".step(\"acme.write\", acme_write)"));
        assert!(text(&rust, "src/main.rs").contains("async fn acme_read(ctx: StepContext"));
        assert!(text(&rust, "Cargo.toml").contains("path = \"/rep/rep-executor-kit\""));
        assert!(text(&rust, "src/main.rs").contains(".step(PROBE_STEP_KIND, ProbeStep)"));
        let c = generate(Lang::C, &kinds);
        assert!(text(&c, "src/main.c").contains("\"acme.read\", acme_read, NULL"));
        assert!(text(&c, "src/main.c").contains("static rep_step_result acme_write(rep_step"));
        assert!(text(&c, "Makefile").contains("build/demo:"));
        assert!(c.iter().any(|f| f.path == "rep/rep_run.c"));
        assert!(text(&c, "src/main.c").contains("rep_executor_add_probe(&executor);"));
        assert!(c.iter().any(|f| f.path == "rep/rep_probe.c"));
        let cpp = generate(Lang::Cpp, &kinds);
        assert!(text(&cpp, "src/main.cpp").contains("executor.step(\"acme.read\", acme_read);"));
        assert!(cpp.iter().any(|f| f.path == "rep/rep_executor.hpp"));
        assert!(text(&cpp, "src/main.cpp").contains("executor.probe();"));
    }

    #[test]
    fn a_kit_from_git_is_a_git_dependency() {
        let mut spec = spec(Lang::Rust, &["a.b"]);
        spec.kit = KitSource::Git("https://example.invalid/rep \"x\"".into());
        let files = files(&spec).unwrap_or_else(|e| panic!("{e}"));
        assert!(
            text(&files, "Cargo.toml")
                .contains(r#"rep-executor-kit = { git = "https://example.invalid/rep \"x\"" }"#),
            "{}",
            text(&files, "Cargo.toml")
        );
    }

    /// Every generated text, in every language: no `{{` left (a placeholder the templates did
    /// not fill, or a brace pair a template would take for one), and each README, ci.sh and
    /// runtime.yaml names the language's executor.
    #[test]
    fn no_output_contains_a_placeholder() {
        for (lang, executor) in [
            (Lang::Rust, "target/debug/demo"),
            (Lang::C, "build/demo"),
            (Lang::Cpp, "build/demo"),
        ] {
            let files = generate(lang, &["acme.read", "acme.write", "move"]);
            for f in &files {
                assert!(!f.text.contains("{{"), "{lang:?}: {} holds {{{{", f.path);
                assert!(!f.text.contains("{%"), "{lang:?}: {} holds {{%", f.path);
            }
            for path in ["README.md", "runtime.yaml"] {
                assert!(text(&files, path).contains(executor), "{lang:?}: {path}");
            }
            assert!(text(&files, "ci.sh").contains("/demo\""), "{lang:?}");
            assert!(text(&files, "README.md").contains("- `move` — yours to write"));
        }
    }
}

//! Contract-check cases (`tm verify online --cases DIR`): finding the case files under a
//! folder, reading and validating each against docs/case.schema.json, and comparing a run's
//! [`Outcome`] with the case's `expect`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use rep_host::Outcome;
use serde::Deserialize;
use serde_json::{Map, Value};

/// The JSON Schema of a case file (Draft 7), the one in docs/.
pub const CASE_SCHEMA: &str = include_str!("../../../docs/case.schema.json");

/// The file name endings read as case files.
const EXTENSIONS: [&str; 3] = ["json", "yaml", "yml"];

/// How deep `--cases DIR` is searched: deeper folders are an error, not a hang on a loop.
const MAX_DEPTH: usize = 32;

static VALIDATOR: LazyLock<Result<jsonschema::Validator, String>> = LazyLock::new(|| {
    let schema: Value = serde_json::from_str(CASE_SCHEMA)
        .map_err(|e| format!("the embedded case schema is not JSON: {e}"))?;
    jsonschema::draft7::options()
        .build(&schema)
        .map_err(|e| format!("the embedded case schema does not compile: {e}"))
});

/// A case file that cannot be used: the file, the JSON pointer in it ("" for the whole
/// document) and what is wrong there.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{}: {message}", path.display(), at(pointer))]
pub struct CaseError {
    /// The case file (or the folder, when the folder itself is the problem).
    pub path: PathBuf,
    /// The JSON pointer of the offending value.
    pub pointer: String,
    /// What is wrong.
    pub message: String,
}

fn at(pointer: &str) -> String {
    if pointer.is_empty() {
        String::new()
    } else {
        format!(" at {pointer}")
    }
}

impl CaseError {
    /// An error about `path` as a whole.
    pub fn whole(path: &Path, message: impl Into<String>) -> CaseError {
        CaseError {
            path: path.to_path_buf(),
            pointer: String::new(),
            message: message.into(),
        }
    }
}

/// The final status a case expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ExpectedStatus {
    /// `completed`.
    Completed,
    /// `failed`.
    Failed,
}

impl ExpectedStatus {
    fn as_str(self) -> &'static str {
        match self {
            ExpectedStatus::Completed => "completed",
            ExpectedStatus::Failed => "failed",
        }
    }
}

/// The final state of one step, as a case names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StepState {
    /// Its last step event says `succeeded`.
    Succeeded,
    /// Its last step event says `failed`.
    Failed,
    /// It never finished an attempt.
    Skipped,
}

impl StepState {
    fn as_str(self) -> &'static str {
        match self {
            StepState::Succeeded => "succeeded",
            StepState::Failed => "failed",
            StepState::Skipped => "skipped",
        }
    }
}

/// `expect` of a case file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// The run's final status.
    pub status: ExpectedStatus,
    /// The flow's outputs (`summary.outputs`), compared whole.
    pub outputs: Option<Map<String, Value>>,
    /// The final state of the steps named.
    #[serde(default)]
    pub steps: BTreeMap<String, StepState>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CaseFile {
    flow: String,
    #[serde(default)]
    inputs: Map<String, Value>,
    expect: Expect,
    timeout: Option<f64>,
}

/// One case, read and valid.
#[derive(Debug, Clone)]
pub struct Case {
    /// The case file.
    pub path: PathBuf,
    /// Its path relative to `--cases DIR`, with `/` between folders: the case's name in
    /// every report, and the order cases are reported in.
    pub name: String,
    /// The flow to run.
    pub flow: String,
    /// The run inputs.
    pub inputs: Map<String, Value>,
    /// What the run must give.
    pub expect: Expect,
    /// The engine timeout of this case in seconds, if it sets one.
    pub timeout: Option<f64>,
}

/// Every case file under `dir` (JSON or YAML, recursively, hidden entries skipped), read and
/// validated, ordered by name. Every invalid file is reported, not only the first.
pub fn load_cases(dir: &Path) -> Result<Vec<Case>, Vec<CaseError>> {
    let files = find_case_files(dir).map_err(|e| vec![e])?;
    if files.is_empty() {
        return Err(vec![CaseError::whole(
            dir,
            "no case files (*.json, *.yaml, *.yml) in this folder",
        )]);
    }
    let mut cases = Vec::new();
    let mut errors = Vec::new();
    for path in files {
        match read_case(dir, &path) {
            Ok(case) => cases.push(case),
            Err(mut problems) => errors.append(&mut problems),
        }
    }
    if errors.is_empty() {
        cases.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(cases)
    } else {
        Err(errors)
    }
}

/// The case files under `dir`, sorted by path.
fn find_case_files(dir: &Path) -> Result<Vec<PathBuf>, CaseError> {
    let metadata = std::fs::metadata(dir)
        .map_err(|e| CaseError::whole(dir, format!("cannot read the cases folder: {e}")))?;
    if !metadata.is_dir() {
        return Err(CaseError::whole(dir, "--cases must name a folder"));
    }
    let mut files = Vec::new();
    let mut pending = vec![(dir.to_path_buf(), 0)];
    while let Some((folder, depth)) = pending.pop() {
        if depth > MAX_DEPTH {
            return Err(CaseError::whole(
                &folder,
                format!("folders nested deeper than {MAX_DEPTH} levels"),
            ));
        }
        let entries = std::fs::read_dir(&folder)
            .map_err(|e| CaseError::whole(&folder, format!("cannot list the folder: {e}")))?;
        for entry in entries {
            let entry = entry
                .map_err(|e| CaseError::whole(&folder, format!("cannot list the folder: {e}")))?;
            let path = entry.path();
            if entry.file_name().to_string_lossy().starts_with('.') {
                continue;
            }
            // Symbolic links to folders are not followed (no loops); to files they are read
            // like files (rep-files refuses anything but a regular file).
            let kind = entry
                .file_type()
                .map_err(|e| CaseError::whole(&path, format!("cannot stat: {e}")))?;
            if kind.is_dir() {
                pending.push((path, depth + 1));
            } else if path
                .extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| EXTENSIONS.contains(&e))
            {
                files.push(path);
            }
        }
    }
    files.sort();
    Ok(files)
}

/// Reads and validates one case file.
fn read_case(dir: &Path, path: &Path) -> Result<Case, Vec<CaseError>> {
    let text = rep_files::read_to_string(path, rep_files::caps::CONTRACT_CASE)
        .map_err(|e| vec![CaseError::whole(path, e.to_string())])?;
    let document = parse_document(path, &text).map_err(|e| vec![e])?;
    let validator = VALIDATOR
        .as_ref()
        .map_err(|message| vec![CaseError::whole(path, message.clone())])?;
    let problems: Vec<CaseError> = validator
        .iter_errors(&document)
        .map(|error| CaseError {
            path: path.to_path_buf(),
            pointer: error.instance_path().as_str().to_owned(),
            message: match error.instance() {
                v if v.is_object() || v.is_array() => error.masked_with("the value").to_string(),
                _ => error.to_string(),
            },
        })
        .collect();
    if !problems.is_empty() {
        return Err(problems);
    }
    let file: CaseFile = serde_json::from_value(document)
        .map_err(|e| vec![CaseError::whole(path, e.to_string())])?;
    let relative = path.strip_prefix(dir).unwrap_or(path);
    let name = relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/");
    Ok(Case {
        path: path.to_path_buf(),
        name,
        flow: file.flow,
        inputs: file.inputs,
        expect: file.expect,
        timeout: file.timeout,
    })
}

/// The document of a case file: JSON for `.json`, YAML otherwise.
fn parse_document(path: &Path, text: &str) -> Result<Value, CaseError> {
    let is_json = path.extension().is_some_and(|e| e == "json");
    if is_json {
        serde_json::from_str(text).map_err(|e| CaseError::whole(path, format!("not JSON: {e}")))
    } else {
        serde_saphyr::from_str(text).map_err(|e| CaseError::whole(path, format!("not YAML: {e}")))
    }
}

/// Where a run differs from its case's `expect`: one line each, empty when it matches.
pub fn differences(expect: &Expect, outcome: &Outcome) -> Vec<String> {
    let mut found = Vec::new();
    let status = outcome.status.as_str();
    if status != expect.status.as_str() {
        found.push(format!(
            "status: expected {}, got {status}",
            expect.status.as_str()
        ));
    }
    if let Some(expected) = &expect.outputs {
        let outputs = outputs_of(outcome);
        diff_values(
            "/outputs",
            &Value::Object(expected.clone()),
            &outputs,
            &mut found,
        );
    }
    if !expect.steps.is_empty() {
        let states = step_states(outcome);
        for (step, wanted) in &expect.steps {
            let got = states.get(step.as_str()).copied().unwrap_or("skipped");
            if got != wanted.as_str() {
                found.push(format!(
                    "step {step}: expected {}, got {got}",
                    wanted.as_str()
                ));
            }
        }
    }
    found
}

/// `summary.outputs` of a run, `{}` when there is none.
pub fn outputs_of(outcome: &Outcome) -> Value {
    outcome
        .summary
        .as_deref()
        .and_then(|raw| serde_json::from_str::<Value>(raw.get()).ok())
        .and_then(|mut summary| summary.get_mut("outputs").map(Value::take))
        .unwrap_or_else(|| Value::Object(Map::new()))
}

/// The final state of each step that has step events: its last `succeeded`/`failed`, or
/// `started` when it never finished.
fn step_states(outcome: &Outcome) -> BTreeMap<String, &'static str> {
    #[derive(Deserialize)]
    struct StepEvent {
        #[serde(rename = "type")]
        kind: String,
        step_id: Option<String>,
        state: Option<String>,
    }
    let mut states = BTreeMap::new();
    for raw in &outcome.events {
        let Ok(event) = serde_json::from_str::<StepEvent>(raw.get()) else {
            continue;
        };
        let (Some(step), Some(state)) = (event.step_id, event.state) else {
            continue;
        };
        if event.kind != "step" {
            continue;
        }
        let state = match state.as_str() {
            "succeeded" => "succeeded",
            "failed" => "failed",
            _ => "started",
        };
        let entry = states.entry(step).or_insert(state);
        if state != "started" || *entry == "started" {
            *entry = state;
        }
    }
    states
}

/// Where `got` differs from `expected`, one line each at its JSON pointer (objects key by
/// key; anything else whole).
fn diff_values(pointer: &str, expected: &Value, got: &Value, found: &mut Vec<String>) {
    match (expected, got) {
        (Value::Object(want), Value::Object(have)) => {
            for (key, value) in want {
                let here = format!("{pointer}/{}", escape(key));
                match have.get(key) {
                    Some(other) => diff_values(&here, value, other, found),
                    None => found.push(format!("{here}: expected {value}, missing")),
                }
            }
            for (key, value) in have {
                if !want.contains_key(key) {
                    let here = format!("{pointer}/{}", escape(key));
                    found.push(format!("{here}: not expected, got {value}"));
                }
            }
        }
        _ if expected == got => {}
        _ => found.push(format!("{pointer}: expected {expected}, got {got}")),
    }
}

/// A key as a JSON pointer token (RFC 6901).
fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

#[cfg(test)]
mod tests {
    use super::*;
    use rep_host::RunIds;
    use rep_spec::RunStatus;
    use serde_json::json;
    use serde_json::value::RawValue;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text).unwrap();
        path
    }

    fn outcome(status: RunStatus, summary: Value, events: &[Value]) -> Outcome {
        let mut outcome = Outcome::new(RunIds::random());
        outcome.status = status;
        outcome.summary = Some(RawValue::from_string(summary.to_string()).unwrap());
        outcome.events = events
            .iter()
            .map(|e| RawValue::from_string(e.to_string()).unwrap())
            .collect();
        outcome
    }

    #[test]
    fn cases_are_found_in_json_and_yaml_and_ordered_by_name() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            "b/two.yaml",
            "flow: f\nexpect: {status: failed}\ntimeout: 1.5\n",
        );
        write(
            dir.path(),
            "a.json",
            r#"{"flow": "g", "inputs": {"x": 1}, "expect": {"status": "completed"}}"#,
        );
        write(dir.path(), "notes.txt", "not a case");
        write(dir.path(), ".hidden/c.json", "{");
        let cases = load_cases(dir.path()).unwrap();
        let names: Vec<&str> = cases.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["a.json", "b/two.yaml"]);
        assert_eq!(cases[0].inputs["x"], json!(1));
        assert_eq!(cases[1].expect.status, ExpectedStatus::Failed);
        assert_eq!(cases[1].timeout, Some(1.5));
    }

    #[test]
    fn every_invalid_case_is_named_with_its_json_pointer() {
        let dir = tempfile::tempdir().unwrap();
        let bad = write(dir.path(), "bad.yaml", "flow: f\nexpect: {status: done}\n");
        let extra = write(
            dir.path(),
            "extra.json",
            r#"{"flow": "f", "expect": {"status": "failed", "steps": {"s": "maybe"}}, "x": 1}"#,
        );
        let broken = write(dir.path(), "broken.json", "{\"flow\": ");
        let errors = load_cases(dir.path()).unwrap_err();
        let at = |path: &Path| -> Vec<&str> {
            errors
                .iter()
                .filter(|e| e.path == path)
                .map(|e| e.pointer.as_str())
                .collect()
        };
        assert_eq!(at(&bad), ["/expect/status"]);
        let mut pointers = at(&extra);
        pointers.sort_unstable();
        assert_eq!(pointers, ["", "/expect/steps/s"]);
        assert_eq!(at(&broken), [""]);
        assert!(errors.iter().any(|e| {
            e.to_string()
                .starts_with(&format!("{} at /expect/status: ", bad.display()))
        }));
    }

    #[test]
    fn an_empty_folder_or_a_file_is_not_a_cases_folder() {
        let dir = tempfile::tempdir().unwrap();
        assert!(
            load_cases(dir.path()).unwrap_err()[0]
                .message
                .contains("no case files")
        );
        let file = write(dir.path(), "a.json", "{}");
        assert!(load_cases(&file).unwrap_err()[0].message.contains("folder"));
    }

    #[test]
    fn a_run_is_compared_on_status_outputs_and_steps() {
        let expect: Expect = serde_json::from_value(json!({
            "status": "completed",
            "outputs": {"value": "a", "n": 1},
            "steps": {"prepare": "succeeded", "late": "skipped", "emit": "failed"}
        }))
        .unwrap();
        let events = [
            json!({"type": "step", "step_id": "prepare", "state": "started"}),
            json!({"type": "step", "step_id": "prepare", "state": "failed"}),
            json!({"type": "step", "step_id": "prepare", "state": "started"}),
            json!({"type": "step", "step_id": "prepare", "state": "succeeded"}),
            json!({"type": "log", "step_id": "emit", "level": "info", "message": "x"}),
            json!({"type": "step", "step_id": "emit", "state": "started"}),
        ];
        let run = outcome(
            RunStatus::Completed,
            json!({"outputs": {"value": "a", "n": 1}}),
            &events,
        );
        assert_eq!(
            differences(&expect, &run),
            ["step emit: expected failed, got started"]
        );
        let run = outcome(
            RunStatus::Failed,
            json!({"outputs": {"value": "b", "extra/x": true}}),
            &events[..4],
        );
        assert_eq!(
            differences(&expect, &run),
            [
                "status: expected completed, got failed",
                "/outputs/value: expected \"a\", got \"b\"",
                "/outputs/n: expected 1, missing",
                "/outputs/extra~1x: not expected, got true",
                "step emit: expected failed, got skipped",
            ]
        );
    }
}

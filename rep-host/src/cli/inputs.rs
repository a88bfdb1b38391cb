//! `--inputs JSON|@FILE`.

use std::path::PathBuf;

use serde_json::{Map, Value};

/// Why `--inputs` could not be used.
#[derive(Debug, thiserror::Error)]
pub enum InputsError {
    #[error("cannot read inputs file {path}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("--inputs from {origin} is not valid JSON")]
    Json {
        origin: String,
        source: serde_json::Error,
    },
    #[error("--inputs from {origin} must be a JSON object, got {found}")]
    NotAnObject { origin: String, found: String },
}

/// Parses `--inputs`: inline JSON, or `@path` to a JSON file. Absent → `{}`.
pub fn parse_inputs(arg: Option<&str>) -> Result<Map<String, Value>, InputsError> {
    let Some(arg) = arg else {
        return Ok(Map::new());
    };
    let (origin, text) = match arg.strip_prefix('@') {
        Some(path) => {
            let path = PathBuf::from(path);
            let text = std::fs::read_to_string(&path).map_err(|source| InputsError::Read {
                path: path.clone(),
                source,
            })?;
            (path.display().to_string(), text)
        }
        None => ("the command line".to_owned(), arg.to_owned()),
    };
    match serde_json::from_str::<Value>(&text) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(other) => {
            let found: String = other.to_string().chars().take(60).collect();
            Err(InputsError::NotAnObject { origin, found })
        }
        Err(source) => Err(InputsError::Json { origin, source }),
    }
}

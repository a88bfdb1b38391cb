//! `--inputs JSON|@FILE|@-`.

use std::io::{IsTerminal, Read};
use std::path::PathBuf;

use serde_json::{Map, Value};

use super::note;

/// The most `--inputs @FILE` or `@-` may hold, in bytes.
pub const MAX_INPUTS_BYTES: u64 = 64 * 1024 * 1024;

/// Why `--inputs` could not be used.
#[derive(Debug, thiserror::Error)]
pub enum InputsArgError {
    #[error("cannot read inputs from {origin}")]
    Read {
        origin: String,
        source: std::io::Error,
    },
    #[error("--inputs from {origin} is larger than {} MiB", MAX_INPUTS_BYTES / (1024 * 1024))]
    TooLarge { origin: String },
    #[error("--inputs from {origin} is not valid JSON")]
    Json {
        origin: String,
        source: serde_json::Error,
    },
    #[error("--inputs from {origin} must be a JSON object, got {found}")]
    NotAnObject { origin: String, found: String },
}

/// Parses `--inputs`: inline JSON, `@path` to a JSON file, or `@-` for stdin. Absent → `{}`.
pub fn parse_inputs(arg: Option<&str>) -> Result<Map<String, Value>, InputsArgError> {
    let Some(arg) = arg else {
        return Ok(Map::new());
    };
    let (origin, text) = match arg.strip_prefix('@') {
        Some("-") => {
            let stdin = std::io::stdin();
            if stdin.is_terminal() {
                note("reading --inputs from the terminal: type a JSON object, then Ctrl-D");
            }
            let origin = "stdin".to_owned();
            let text = read_bounded(stdin.lock(), &origin)?;
            (origin, text)
        }
        Some(path) => {
            let origin = PathBuf::from(path).display().to_string();
            let file = std::fs::File::open(path).map_err(|source| InputsArgError::Read {
                origin: origin.clone(),
                source,
            })?;
            let text = read_bounded(file, &origin)?;
            (origin, text)
        }
        None => ("the command line".to_owned(), arg.to_owned()),
    };
    match serde_json::from_str::<Value>(&text) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(other) => {
            let found: String = other.to_string().chars().take(60).collect();
            Err(InputsArgError::NotAnObject { origin, found })
        }
        Err(source) => Err(InputsArgError::Json { origin, source }),
    }
}

fn read_bounded(reader: impl Read, origin: &str) -> Result<String, InputsArgError> {
    let mut text = String::new();
    reader
        .take(MAX_INPUTS_BYTES + 1)
        .read_to_string(&mut text)
        .map_err(|source| InputsArgError::Read {
            origin: origin.to_owned(),
            source,
        })?;
    if text.len() as u64 > MAX_INPUTS_BYTES {
        return Err(InputsArgError::TooLarge {
            origin: origin.to_owned(),
        });
    }
    Ok(text)
}

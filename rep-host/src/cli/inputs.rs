//! `--inputs JSON|@FILE|@-`.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use rep_files::{ReadError, caps};
use serde_json::{Map, Value};

use super::note;

/// Why `--inputs` could not be used.
#[derive(Debug, thiserror::Error)]
pub enum InputsArgError {
    #[error("cannot read inputs from {origin}")]
    Read { origin: String, source: ReadError },
    #[error(
        "cannot read inputs from {origin}: {what}, not a regular file; give a pipe on stdin: --inputs @- < PIPE"
    )]
    NotAFile { origin: String, what: &'static str },
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
            let text =
                rep_files::read_stream_to_string(stdin.lock(), caps::INPUTS).map_err(|source| {
                    InputsArgError::Read {
                        origin: origin.clone(),
                        source,
                    }
                })?;
            (origin, text)
        }
        Some(path) => {
            let origin = PathBuf::from(path).display().to_string();
            let text =
                rep_files::read_to_string(Path::new(path), caps::INPUTS).map_err(|source| {
                    match source {
                        ReadError::NotRegular(what) => InputsArgError::NotAFile {
                            origin: origin.clone(),
                            what,
                        },
                        source => InputsArgError::Read {
                            origin: origin.clone(),
                            source,
                        },
                    }
                })?;
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

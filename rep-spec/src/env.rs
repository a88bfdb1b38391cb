//! Environment variables a host gives the executor (REP v0.1 §6).

/// The run id, equal to `options.run_id` of `Runtime.StartRun`.
pub const ENV_RUN_ID: &str = "TRACE_MIND_RUN_ID";
/// The trace id, equal to `options.trace_id`.
pub const ENV_TRACE_ID: &str = "TRACE_MIND_TRACE_ID";
/// The engine timeout, in whole **seconds**.
pub const ENV_ENGINE_TIMEOUT: &str = "TRACE_MIND_ENGINE_TIMEOUT";
/// `"0"` or `"1"`: whether shell steps are allowed.
pub const ENV_ALLOW_SHELL: &str = "TRACE_MIND_ALLOW_SHELL";
/// `"1"` when the host expects structured (JSON) logs on stderr.
pub const ENV_LOG_JSON: &str = "TRACE_MIND_LOG_JSON";

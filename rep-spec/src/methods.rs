//! JSON-RPC method names (REP v0.1 §3).

/// `Runtime.Capabilities`: params `{}`, result [`Capabilities`](crate::Capabilities).
pub const METHOD_CAPABILITIES: &str = "Runtime.Capabilities";
/// `Runtime.StartRun`: params [`StartRunParams`](crate::StartRunParams), result
/// [`StartRunResult`](crate::StartRunResult).
pub const METHOD_START_RUN: &str = "Runtime.StartRun";
/// `Runtime.Poll`: params [`RunIdParams`](crate::RunIdParams), result
/// [`PollResult`](crate::PollResult).
pub const METHOD_POLL: &str = "Runtime.Poll";
/// `Runtime.Cancel`: params [`RunIdParams`](crate::RunIdParams), result
/// [`CancelResult`](crate::CancelResult). Best effort.
pub const METHOD_CANCEL: &str = "Runtime.Cancel";
/// `Runtime.Health`: params `{}`, result [`HealthResult`](crate::HealthResult). Optional: an
/// executor may answer "method not found" (-32601).
pub const METHOD_HEALTH: &str = "Runtime.Health";

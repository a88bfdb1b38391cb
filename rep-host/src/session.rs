//! Typed REP calls over a [`Client`]: the lifecycle of REP v0.1 §2–§3.

use std::collections::BTreeSet;

use rep_spec::{
    CancelResult, Capabilities, METHOD_CANCEL, METHOD_CAPABILITIES, METHOD_POLL, METHOD_START_RUN,
    PollResult, RunIdParams, StartRunParamsRef, StartRunResult,
};
use serde::de::DeserializeOwned;
use serde_json::json;
use serde_json::value::RawValue;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::time::Instant;

use crate::client::Client;
use crate::error::{Cause, RunError};

/// **[clarified]** Code used for a Capabilities result the host cannot use (a Validation
/// error: the executor does not describe itself as REP v0.1 requires).
pub const INVALID_CAPABILITIES: i64 = 1000;

/// One executor, driven through the REP lifecycle, over any byte streams.
pub struct Session<R, W> {
    client: Client<R, W>,
}

impl<R: AsyncRead + Unpin, W: AsyncWrite + Unpin> Session<R, W> {
    /// A session over `client`. Does no I/O.
    pub fn new(client: Client<R, W>) -> Session<R, W> {
        Session { client }
    }

    /// The underlying client.
    pub fn client(&mut self) -> &mut Client<R, W> {
        &mut self.client
    }

    /// `Runtime.Capabilities`.
    ///
    /// # Errors
    /// Transport errors; a result missing `version`, `step_kinds` or `limits.concurrency`
    /// (or of the wrong types) is [`Cause::InvalidCapabilities`] (Validation, exit 3).
    pub async fn capabilities(&mut self, deadline: Instant) -> Result<Capabilities, RunError> {
        let result = self
            .client
            .call(METHOD_CAPABILITIES, json!({}), deadline)
            .await?;
        serde_json::from_str(result.get()).map_err(|e| {
            RunError::new(
                INVALID_CAPABILITIES,
                Cause::InvalidCapabilities,
                format!("invalid Runtime.Capabilities result: {e}"),
            )
        })
    }

    /// `Runtime.StartRun`; returns the executor's run id.
    ///
    /// # Errors
    /// Transport errors, the executor's error (e.g. 1001/1002/1003), or a result without a
    /// string `run_id`.
    pub async fn start_run(
        &mut self,
        params: StartRunParamsRef<'_>,
        deadline: Instant,
    ) -> Result<String, RunError> {
        let result = self.client.call(METHOD_START_RUN, params, deadline).await?;
        Ok(typed::<StartRunResult>(METHOD_START_RUN, &result)?.run_id)
    }

    /// `Runtime.Poll`. Events and the summary are kept as raw JSON text, exactly as the
    /// executor wrote them: none is lost whatever its shape, none is re-built, and every
    /// number in them stays as sent (a 30-digit integer, `1e400`).
    ///
    /// # Errors
    /// Transport errors, the executor's error, or a result without a valid `status` or with
    /// a summary that is not an object.
    pub async fn poll(
        &mut self,
        run_id: &str,
        deadline: Instant,
    ) -> Result<PollResult<Box<RawValue>, Box<RawValue>>, RunError> {
        let result = self
            .client
            .call(
                METHOD_POLL,
                RunIdParams {
                    run_id: run_id.to_owned(),
                },
                deadline,
            )
            .await?;
        let poll: PollResult<Box<RawValue>, Box<RawValue>> = serde_json::from_str(result.get())
            .map_err(|e: serde_json::Error| {
                RunError::transport(
                    Cause::InvalidResponse,
                    format!("invalid {METHOD_POLL} result: {e}"),
                )
            })?;
        if let Some(summary) = &poll.summary
            && !summary.get().trim_start().starts_with('{')
        {
            return Err(RunError::transport(
                Cause::InvalidResponse,
                format!("invalid {METHOD_POLL} result: summary is not an object: {summary}"),
            ));
        }
        Ok(poll)
    }

    /// `Runtime.Cancel` (best effort).
    ///
    /// # Errors
    /// Transport errors or the executor's error.
    pub async fn cancel(&mut self, run_id: &str, deadline: Instant) -> Result<bool, RunError> {
        let result = self
            .client
            .call(
                METHOD_CANCEL,
                RunIdParams {
                    run_id: run_id.to_owned(),
                },
                deadline,
            )
            .await?;
        Ok(typed::<CancelResult>(METHOD_CANCEL, &result)?.ok)
    }
}

fn typed<T: DeserializeOwned>(method: &str, result: &RawValue) -> Result<T, RunError> {
    serde_json::from_str(result.get()).map_err(|e| {
        RunError::transport(
            Cause::InvalidResponse,
            format!("invalid {method} result: {e}"),
        )
    })
}

/// The step kinds `required` that `capabilities` does not advertise, sorted.
pub fn missing_step_kinds(required: &BTreeSet<String>, capabilities: &Capabilities) -> Vec<String> {
    let advertised: BTreeSet<&str> = capabilities.step_kinds.iter().map(String::as_str).collect();
    required
        .iter()
        .filter(|k| !advertised.contains(k.as_str()))
        .cloned()
        .collect()
}

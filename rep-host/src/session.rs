//! Typed REP calls over a [`Client`]: the lifecycle of REP v0.1 §2–§3; [`Session::open`]
//! starts an executor process and opens a session on its pipes.

use std::collections::BTreeSet;

use rep_spec::{
    CancelResult, Capabilities, METHOD_CANCEL, METHOD_CAPABILITIES, METHOD_POLL, METHOD_START_RUN,
    PollResult, RunIdParams, StartRunParamsRef, StartRunResult,
};
use serde::de::DeserializeOwned;
use serde_json::json;
use serde_json::value::RawValue;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::process::{ChildStdin, ChildStdout};
use tokio::time::Instant;

use crate::client::Client;
use crate::error::{Cause, RunError};
use crate::launcher::{ExecutorCommand, ExecutorProcess, RunEnv};
use crate::tap::{Tap, TapReader, TapWriter};

/// **[clarified]** Code used for a Capabilities result the host cannot use (a Validation
/// error: the executor does not describe itself as REP v0.1 requires).
pub const INVALID_CAPABILITIES: i64 = 1000;

/// One executor, driven through the REP lifecycle, over any byte streams.
pub struct Session<R, W> {
    client: Client<R, W>,
}

/// A session on an executor process's pipes, as [`Session::open`] opens it.
pub type ProcessSession = Session<TapReader<ChildStdout>, TapWriter<ChildStdin>>;

impl ProcessSession {
    /// Starts `command` ([`ExecutorProcess::spawn`]: its own process group, the REP
    /// environment of `env`) and opens a session on its stdin and stdout, reading frames of
    /// at most `max_frame_bytes`. `tap` sees every frame both ways, the executor's stderr and
    /// its exit status ([`Tap::none`] for nobody). Does no REP call: the first is the
    /// caller's (usually [`Session::capabilities`]); end it with
    /// [`shut_down`](crate::shut_down), which stops the process.
    ///
    /// # Errors
    /// [`Cause::Spawn`] (3001) naming the executor when it cannot be started.
    pub fn open(
        command: &ExecutorCommand,
        env: &RunEnv,
        max_frame_bytes: usize,
        tap: &Tap,
    ) -> Result<(ProcessSession, ExecutorProcess), RunError> {
        let mut process = ExecutorProcess::spawn(command, env, tap)?;
        let (Some(stdin), Some(stdout)) = (process.take_stdin(), process.take_stdout()) else {
            // Cannot happen (`spawn` pipes both), but reported rather than assumed.
            return Err(RunError::transport(
                Cause::Spawn,
                "the executor has no stdin/stdout pipes",
            ));
        };
        let client = Client::new(
            tap.executor_stdout(stdout, max_frame_bytes),
            tap.executor_stdin(stdin),
            max_frame_bytes,
        );
        Ok((Session::new(client), process))
    }
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

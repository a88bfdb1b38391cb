//! REP-PRC-*: the executor process ends when asked (REP v0.1 §1, §2).

use std::os::unix::process::ExitStatusExt;
use std::time::Duration;

use rep_process::Ladder;
use rep_spec::METHOD_CAPABILITIES;
use serde_json::json;
use tokio::time::Instant;

use crate::checks::Ctx;
use crate::verdict::{Check, Failure};

/// How long an executor may take to exit after stdin EOF: the time a host waits before it
/// kills the executor (REP v0.1 §2, step 5).
const EOF_EXIT_WITHIN: Duration = Duration::from_secs(5);

/// SIGKILL's number, as an exit status reports it.
const SIGKILL: i32 = 9;

/// How long an executor may take to exit after SIGTERM.
const SIGTERM_EXIT_WITHIN: Duration = Duration::from_secs(2);

/// REP-PRC-001: after a Capabilities exchange, closing stdin makes the executor exit within
/// 5 s (by itself: it is killed otherwise, which fails the test).
pub async fn stdin_eof(ctx: &Ctx<'_>) -> Check {
    let mut conn = ctx.connect()?;
    conn.call(METHOD_CAPABILITIES, json!({})).await?;
    let closed = Instant::now();
    let status = conn.shutdown(Ladder::kill_after(EOF_EXIT_WITHIN)).await;
    let elapsed = closed.elapsed();
    match status {
        Some(status) if status.signal() == Some(SIGKILL) => Err(Failure::new(format!(
            "still running {} s after stdin EOF (killed)",
            EOF_EXIT_WITHIN.as_secs()
        ))
        .into()),
        Some(status) => Ok(format!(
            "exited ({status}) {} ms after stdin EOF",
            elapsed.as_millis()
        )),
        None => Err(Failure::new("the exit status could not be read").into()),
    }
}

/// REP-PRC-002 (SHOULD): SIGTERM (stdin left open) to the executor's process group, as a
/// host sends it, makes the executor exit within 2 s.
pub async fn sigterm(ctx: &Ctx<'_>) -> Check {
    let mut conn = ctx.connect()?;
    conn.call(METHOD_CAPABILITIES, json!({})).await?;
    let sent = Instant::now();
    conn.process().terminate_group();
    let exited = conn.process().wait_exit(SIGTERM_EXIT_WITHIN).await;
    conn.close().await;
    match exited {
        Some(status) => Ok(format!(
            "exited ({status}) {} ms after SIGTERM",
            sent.elapsed().as_millis()
        )),
        None => Err(Failure::new(format!(
            "still running {} s after SIGTERM",
            SIGTERM_EXIT_WITHIN.as_secs()
        ))
        .into()),
    }
}

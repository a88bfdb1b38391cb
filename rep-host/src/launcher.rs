//! Starting the executor process: program resolution, environment (REP v0.1 §6), its own
//! process group, stderr forwarding, and the guarantee that the group dies with the host's
//! handle (architecture invariant 4).

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use rep_spec::{
    ENV_ALLOW_SHELL, ENV_ENGINE_TIMEOUT, ENV_LOG_JSON, ENV_RUN_ID, ENV_TRACE_ID, Frame, LineFramer,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

use crate::config::EnvPolicy;
use crate::error::{Cause, RunError};

/// How long [`ExecutorProcess::shutdown`] waits, once the process group is dead, for the
/// rest of its stderr to be forwarded.
pub const STDERR_DRAIN_WAIT: Duration = Duration::from_millis(200);

/// How many of the executor's last stderr lines are kept for error messages.
const STDERR_TAIL_LINES: usize = 20;

/// What to start: a program, its arguments, and extra environment.
#[derive(Debug, Clone, PartialEq)]
pub struct ExecutorCommand {
    /// The executor path as configured (shown in messages).
    pub path: PathBuf,
    /// The program actually run: `python3` for a `.py` path, else `path` itself.
    pub program: PathBuf,
    /// Arguments: the script path for `.py`, then configured arguments.
    pub args: Vec<String>,
    /// The environment policy.
    pub env: EnvPolicy,
}

impl ExecutorCommand {
    /// The command for an executor at `path`: a `.py` file runs with `python3` (as the
    /// reference host does: its mock executor has no shebang); anything else runs directly.
    pub fn for_path(path: &Path, extra_args: &[String], env: EnvPolicy) -> ExecutorCommand {
        let is_python = path.extension().is_some_and(|ext| ext == "py");
        let (program, mut args) = if is_python {
            (PathBuf::from("python3"), vec![path.display().to_string()])
        } else {
            (path.to_path_buf(), Vec::new())
        };
        args.extend(extra_args.iter().cloned());
        ExecutorCommand {
            path: path.to_path_buf(),
            program,
            args,
            env,
        }
    }
}

/// The per-run environment of REP v0.1 §6.
#[derive(Debug, Clone, PartialEq)]
pub struct RunEnv {
    /// `TRACE_MIND_RUN_ID`.
    pub run_id: String,
    /// `TRACE_MIND_TRACE_ID`.
    pub trace_id: String,
    /// `TRACE_MIND_ENGINE_TIMEOUT`, in whole seconds (rounded up).
    pub engine_timeout: Duration,
    /// `TRACE_MIND_ALLOW_SHELL`.
    pub allow_shell: bool,
    /// `TRACE_MIND_LOG_JSON`.
    pub log_json: bool,
}

/// A running executor. Owns the child: dropping it kills the whole process group and the
/// child is reaped by tokio's orphan reaper, so no path leaves a process behind.
pub struct ExecutorProcess {
    command: ExecutorCommand,
    child: Child,
    pgid: Option<Pid>,
    stdin: Option<ChildStdin>,
    stdout: Option<ChildStdout>,
    stderr_tail: Arc<Mutex<VecDeque<String>>>,
    stderr_forwarder: Option<tokio::task::JoinHandle<()>>,
}

impl ExecutorProcess {
    /// Starts `command` in its own process group, stdin/stdout piped, stderr forwarded line
    /// by line to this process's stderr. Its environment follows `command.env` (by default
    /// only allowlisted host variables: no tokens or credentials) plus the `TRACE_MIND_*`
    /// variables of REP v0.1 §6 from `env`.
    ///
    /// # Errors
    /// [`Cause::Spawn`] (3001) naming the path when the program cannot be started.
    pub fn spawn(command: &ExecutorCommand, env: &RunEnv) -> Result<ExecutorProcess, RunError> {
        let timeout_secs =
            env.engine_timeout.as_secs() + u64::from(env.engine_timeout.subsec_nanos() > 0);
        let mut cmd = Command::new(&command.program);
        cmd.args(&command.args);
        if !command.env.inherit {
            cmd.env_clear();
            for (name, value) in std::env::vars_os() {
                if name.to_str().is_some_and(|n| command.env.passes(n)) {
                    cmd.env(name, value);
                }
            }
        }
        cmd.envs(&command.env.set)
            .env(ENV_RUN_ID, &env.run_id)
            .env(ENV_TRACE_ID, &env.trace_id)
            .env(ENV_ENGINE_TIMEOUT, timeout_secs.to_string())
            .env(ENV_ALLOW_SHELL, if env.allow_shell { "1" } else { "0" })
            .env(ENV_LOG_JSON, if env.log_json { "1" } else { "0" })
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true);
        let mut child = cmd.spawn().map_err(|e| spawn_error(command, &e))?;
        tracing::debug!(executor = %command.path.display(), pid = child.id(), "executor started");
        let pgid = child
            .id()
            .and_then(|id| i32::try_from(id).ok())
            .map(Pid::from_raw);
        let stderr_tail = Arc::new(Mutex::new(VecDeque::with_capacity(STDERR_TAIL_LINES)));
        let mut stderr_forwarder = None;
        if let Some(stderr) = child.stderr.take() {
            stderr_forwarder = Some(tokio::spawn(forward_stderr(stderr, stderr_tail.clone())));
        }
        Ok(ExecutorProcess {
            command: command.clone(),
            stdin: child.stdin.take(),
            stdout: child.stdout.take(),
            child,
            pgid,
            stderr_tail,
            stderr_forwarder,
        })
    }

    /// The command this process runs.
    pub fn command(&self) -> &ExecutorCommand {
        &self.command
    }

    /// The executor's process id (also its process group id), `None` once it has been reaped.
    pub fn id(&self) -> Option<u32> {
        self.child.id()
    }

    /// The child's stdout, once (the transport takes it).
    pub fn take_stdout(&mut self) -> Option<ChildStdout> {
        self.stdout.take()
    }

    /// Writes one frame (a line) to the executor's stdin and flushes it.
    ///
    /// # Errors
    /// The I/O error when stdin is closed or the executor is gone.
    pub async fn write_line(&mut self, line: &[u8]) -> std::io::Result<()> {
        let stdin = self
            .stdin
            .as_mut()
            .ok_or_else(|| std::io::Error::from(std::io::ErrorKind::BrokenPipe))?;
        stdin.write_all(line).await?;
        stdin.flush().await
    }

    /// Closes the executor's stdin ("shut down", REP v0.1 §1). Idempotent.
    pub fn close_stdin(&mut self) {
        self.stdin = None;
    }

    /// The exit status if the process has exited, without waiting.
    pub fn try_status(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// Waits up to `grace` for the process to exit on its own (after stdin is closed), then
    /// kills the whole process group and reaps the child. Returns the exit status.
    ///
    /// The executor's last stderr lines are forwarded before this returns (waiting at most
    /// [`STDERR_DRAIN_WAIT`] once the group is dead), so a dying executor's final words are
    /// never lost to the host's exit.
    pub async fn shutdown(&mut self, grace: Duration) -> Option<ExitStatus> {
        self.close_stdin();
        let status = match tokio::time::timeout(grace, self.child.wait()).await {
            Ok(Ok(status)) => {
                self.kill_group();
                Some(status)
            }
            _ => {
                self.kill_group();
                self.child.wait().await.ok()
            }
        };
        self.stderr_drained(STDERR_DRAIN_WAIT).await;
        status
    }

    /// Sends SIGKILL to the executor's process group (the executor and anything it started).
    pub fn kill_group(&mut self) {
        if let Some(pgid) = self.pgid {
            // ESRCH (already gone) is the expected case after a clean exit.
            let _ = killpg(pgid, Signal::SIGKILL);
        }
        let _ = self.child.start_kill();
    }

    /// Waits up to `limit` for the process to exit; its status, or `None` if it still runs.
    pub async fn wait_exit(&mut self, limit: Duration) -> Option<ExitStatus> {
        match tokio::time::timeout(limit, self.child.wait()).await {
            Ok(Ok(status)) => Some(status),
            _ => None,
        }
    }

    /// Waits up to `limit` until everything the executor wrote to stderr has been forwarded
    /// (stderr reached EOF), so that [`ExecutorProcess::stderr_tail`] is complete. A
    /// grandchild holding stderr open can delay EOF: hence the bound.
    pub async fn stderr_drained(&mut self, limit: Duration) {
        if let Some(forwarder) = self.stderr_forwarder.as_mut()
            && tokio::time::timeout(limit, forwarder).await.is_ok()
        {
            self.stderr_forwarder = None;
        }
    }

    /// The last lines the executor wrote to stderr (at most 20), oldest first.
    pub fn stderr_tail(&self) -> Vec<String> {
        self.stderr_tail
            .lock()
            .map(|t| t.iter().cloned().collect())
            .unwrap_or_default()
    }
}

impl Drop for ExecutorProcess {
    fn drop(&mut self) {
        self.kill_group();
    }
}

fn spawn_error(command: &ExecutorCommand, error: &std::io::Error) -> RunError {
    let what = match error.kind() {
        std::io::ErrorKind::NotFound if command.program != command.path => {
            format!(
                "{} not found (needed to run {})",
                command.program.display(),
                command.path.display()
            )
        }
        std::io::ErrorKind::NotFound => format!("executor not found: {}", command.path.display()),
        std::io::ErrorKind::PermissionDenied => {
            format!("executor is not executable: {}", command.path.display())
        }
        _ => format!("cannot start executor {}: {error}", command.path.display()),
    };
    RunError::transport(Cause::Spawn, what)
}

/// Copies the executor's stderr to ours, line by line, keeping the last lines for messages.
/// Reads continuously so a chatty executor never blocks on a full pipe; a line longer than
/// 64 KiB is replaced by a note of its length, so memory stays bounded.
async fn forward_stderr(
    mut stderr: tokio::process::ChildStderr,
    tail: Arc<Mutex<VecDeque<String>>>,
) {
    let mut framer = LineFramer::new(64 * 1024);
    let mut frames = Vec::new();
    let mut chunk = vec![0u8; 16 * 1024];
    loop {
        let n = stderr.read(&mut chunk).await.unwrap_or(0);
        if n == 0 {
            frames.extend(framer.finish());
        } else {
            framer.feed(&chunk[..n], &mut frames);
        }
        for frame in frames.drain(..) {
            let line = match frame {
                Frame::Line(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
                Frame::TooLong { len } => {
                    format!("[executor wrote a {len}-byte stderr line; not shown]")
                }
            };
            eprintln!("{line}");
            if let Ok(mut tail) = tail.lock() {
                if tail.len() == STDERR_TAIL_LINES {
                    tail.pop_front();
                }
                tail.push_back(line.chars().take(500).collect());
            }
        }
        if n == 0 {
            return;
        }
    }
}

//! The executor process: program resolution, environment (REP v0.1 §6), its pinned sha256
//! and its sandbox (docs/security.md), stderr forwarding, started as a rep-process [`Group`]
//! (its own process group, a parent-death signal) that dies with the host's handle
//! (architecture invariant 4). The process is all this module knows: its byte streams are
//! taken by the client, its lifecycle is driven by the runner; a [`Tap`] sees its stderr
//! and, through an exit hook, its exit status.

use std::path::{Path, PathBuf};
use std::process::ExitStatus;
use std::sync::Arc;
use std::time::Duration;

use rep_files::ReadError;
use rep_process::{Group, Image, ImageError, Ladder, Sandbox, Spec, Stdio, Stoppable};
use rep_spec::{ENV_ALLOW_SHELL, ENV_ENGINE_TIMEOUT, ENV_LOG_JSON, ENV_RUN_ID, ENV_TRACE_ID};
use tokio::process::{ChildStdin, ChildStdout};

use crate::config::{EnvPolicy, ExecutorSource, ResolvedExecutor};
use crate::error::{Cause, RunError};
use crate::otel::{ENV_TRACEPARENT, ENV_TRACESTATE};
use crate::shutdown::ExecutorHandle;
use crate::stderr::{MAX_STDERR_LINE, StderrTail, forward_stderr};
use crate::tap::{ExitHook, Tap};
use crate::which::{find_on_path, is_bare_name};

/// How long [`ExecutorProcess::shutdown`] waits, once the process group is dead, for the
/// rest of its stderr to be forwarded.
pub const STDERR_DRAIN_WAIT: Duration = Duration::from_millis(200);

/// What to start: a program, its arguments, and extra environment.
#[derive(Debug, Clone, PartialEq)]
pub struct ExecutorCommand {
    /// The executor path as configured (shown in messages).
    pub path: PathBuf,
    /// The program actually run: `python3` for a `.py` path, else `path` itself. A bare name
    /// (no `/`) is looked up on the executor's PATH when it is started.
    pub program: PathBuf,
    /// Arguments: the script path for `.py`, then configured arguments.
    pub args: Vec<String>,
    /// The environment policy.
    pub env: EnvPolicy,
    /// Where `path` came from: named when it cannot be started.
    pub source: ExecutorSource,
    /// The sha256 (lowercase hex) the executor file must have: the file is copied into a
    /// sealed memory file while it is hashed, and that copy runs (rep-process's [`Image`]).
    /// For a `.py` executor the script is pinned, not `python3`.
    pub sha256: Option<String>,
    /// The sandbox the executor runs in.
    pub sandbox: Option<Sandbox>,
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
            source: ExecutorSource::Flag,
            sha256: None,
            sandbox: None,
        }
    }

    /// The file a pin covers: the script of a `.py` executor, else the program (a bare
    /// name found on PATH).
    ///
    /// # Errors
    /// As [`ExecutorCommand::locate`].
    pub fn file_to_pin(&self) -> Result<PathBuf, RunError> {
        let program = self.locate()?;
        Ok(self.pinned_file(&program).to_path_buf())
    }

    /// Whether `program` is an interpreter and `path` its script (a `.py` executor).
    fn is_script_of(&self) -> bool {
        self.program != self.path
    }

    /// The file pinning covers: the script of a `.py` executor, else the program found.
    fn pinned_file<'a>(&'a self, program: &'a Path) -> &'a Path {
        if self.is_script_of() {
            &self.path
        } else {
            program
        }
    }

    /// The executor file's bytes, pinned: loaded into a sealed memory file and checked
    /// against [`ExecutorCommand::sha256`] (nothing is run when they differ).
    ///
    /// # Errors
    /// [`Cause::ExecutorMismatch`] (3001) naming the path and both hashes; [`Cause::Spawn`]
    /// when the file cannot be read.
    pub fn pin(&self, program: &Path, expected: &str) -> Result<Image, RunError> {
        Image::pinned(self.pinned_file(program), expected).map_err(|error| match error {
            ImageError::Mismatch {
                path,
                expected,
                actual,
            } => RunError::transport(
                Cause::ExecutorMismatch,
                format!(
                    "executor {}{} does not match its pinned sha256: expected {expected}, found \
                     {actual}; nothing was run (if the new file is trusted, pin it again: tm \
                     executor pin)",
                    path.display(),
                    self.named_in()
                ),
            ),
            _ => RunError::transport(Cause::Spawn, format!("{error}{}", self.named_in())),
        })
    }

    /// The program to start: `program`, or for a bare name the file it names on the PATH
    /// the executor gets (its `executor_env` PATH, else the host's).
    ///
    /// # Errors
    /// [`Cause::Spawn`] naming the program and the PATH lookup when nothing is found.
    pub fn locate(&self) -> Result<PathBuf, RunError> {
        if !is_bare_name(&self.program) {
            return Ok(self.program.clone());
        }
        let path = match self.env.set.get("PATH") {
            Some(path) => Some(std::ffi::OsString::from(path)),
            None => std::env::var_os("PATH"),
        };
        find_on_path(self.program.as_os_str(), path.as_deref())
            .ok_or_else(|| RunError::transport(Cause::Spawn, self.not_on_path()))
    }

    fn not_on_path(&self) -> String {
        let program = self.program.display();
        if self.program != self.path {
            return format!(
                "{program} not found on PATH (needed to run {})",
                self.path.display()
            );
        }
        let mut message = format!("executor {program} not found on PATH{}", self.named_in());
        if Path::new(".").join(&self.program).is_file() {
            message.push_str(&format!(
                "; to run the {program} of the working directory, write ./{program}"
            ));
        }
        message
    }

    /// ` (runtime.executor_path in FILE)` when the path came from a config file.
    fn named_in(&self) -> String {
        match &self.source {
            ExecutorSource::ConfigFile(file) => {
                format!(" (runtime.executor_path in {})", file.display())
            }
            ExecutorSource::Flag | ExecutorSource::BesideTm => String::new(),
        }
    }

    /// "executor not found: PATH", with where a relative path was resolved and which config
    /// file named it.
    fn not_found(&self) -> String {
        let mut message = format!("executor not found: {}", self.path.display());
        let relative = self.path.is_relative();
        match (&self.source, relative) {
            (ExecutorSource::ConfigFile(file), true) => message.push_str(&format!(
                " (runtime.executor_path in {}, resolved against the working directory {})",
                file.display(),
                working_directory()
            )),
            (_, true) => message.push_str(&format!(
                " (resolved against the working directory {})",
                working_directory()
            )),
            (_, false) => message.push_str(&self.named_in()),
        }
        message
    }
}

impl From<ResolvedExecutor> for ExecutorCommand {
    fn from(resolved: ResolvedExecutor) -> ExecutorCommand {
        let mut command = ExecutorCommand::for_path(&resolved.path, &resolved.args, resolved.env);
        command.source = resolved.source;
        command.sha256 = resolved.sha256;
        command.sandbox = resolved.sandbox;
        command
    }
}

fn working_directory() -> String {
    std::env::current_dir().map_or_else(|_| "(unknown)".to_owned(), |d| d.display().to_string())
}

/// Refuses what is not a program before the kernel does: a directory, a FIFO or a device
/// (opened without blocking: a FIFO cannot hang the host), and a text file without `#!`
/// (which `/bin/sh` would otherwise run: the C library's fallback for files the kernel
/// cannot execute). For a `.py` executor only its script is looked at. Binaries and scripts
/// with a `#!` line pass, and so does anything that cannot be opened here (the spawn reports
/// it).
fn check_runnable(command: &ExecutorCommand, program: &Path) -> Result<(), RunError> {
    use std::io::Read;
    let is_script_of = command.program != command.path;
    let file = match rep_files::open_regular(if is_script_of { &command.path } else { program }) {
        Ok((file, _)) => file,
        Err(ReadError::NotRegular(what)) => {
            return Err(RunError::transport(
                Cause::Spawn,
                format!(
                    "executor {} is {what}, not a program{}",
                    command.path.display(),
                    command.named_in()
                ),
            ));
        }
        Err(_) => return Ok(()),
    };
    if is_script_of {
        return Ok(());
    }
    let mut head = Vec::with_capacity(512);
    let read = file.take(512).read_to_end(&mut head);
    if read.is_err() || head.starts_with(b"#!") || head.contains(&0) {
        return Ok(());
    }
    let text = match std::str::from_utf8(&head) {
        Ok(_) => true,
        // A multi-byte character cut at the 512th byte is still text.
        Err(e) => e.error_len().is_none(),
    };
    if !text {
        return Ok(());
    }
    let what = if head.is_empty() {
        "an empty file"
    } else {
        "a script without #!"
    };
    Err(RunError::transport(
        Cause::Spawn,
        format!(
            "executor {} is {what}{}; add a #! line (e.g. #!/usr/bin/env python3) or name the \
             interpreter in runtime.yaml executor_path/executor_args",
            command.path.display(),
            command.named_in(),
        ),
    ))
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

/// A running executor. Owns its [`Group`]: dropping it kills the whole process group and the
/// child is reaped by tokio's orphan reaper, so no path leaves a process behind. The child
/// also gets SIGKILL if this process dies first (parent-death signal).
pub struct ExecutorProcess {
    command: ExecutorCommand,
    group: Group,
    stdin: Option<ChildStdin>,
    stdout: Option<ChildStdout>,
    stderr_tail: StderrTail,
    stderr_forwarder: Option<tokio::task::JoinHandle<()>>,
    /// Called with the exit status when this handle is dropped, if the executor has exited
    /// by then (after everything it wrote was read).
    on_exit: Option<ExitHook>,
}

impl ExecutorProcess {
    /// Starts `command` in its own process group, stdin/stdout piped, stderr forwarded line
    /// by line to this process's stderr (through the non-blocking
    /// [`StderrSink`](crate::StderrSink)). Its environment follows `command.env` (by default
    /// only allowlisted host variables: no tokens or credentials) plus the `TRACE_MIND_*`
    /// variables of REP v0.1 §6 from `env`, and `TRACEPARENT`/`TRACESTATE` when `tap` carries
    /// a trace context. Must be called inside a tokio runtime.
    ///
    /// `tap` sees the executor's stderr lines and, once this handle is dropped after the
    /// executor exited, its exit status ([`Tap::none`] for nobody). Stdin and stdout are
    /// the caller's to wrap with the same tap where it reads them
    /// ([`Session::open`](crate::Session::open) does).
    ///
    /// # Errors
    /// [`Cause::Spawn`] (3001) naming the path when the program cannot be started.
    pub fn spawn(
        command: &ExecutorCommand,
        env: &RunEnv,
        tap: &Tap,
    ) -> Result<ExecutorProcess, RunError> {
        let timeout_secs =
            env.engine_timeout.as_secs() + u64::from(env.engine_timeout.subsec_nanos() > 0);
        let program = command.locate()?;
        let mut spec = match &command.sha256 {
            None => {
                check_runnable(command, &program)?;
                Spec::new(&program).args(&command.args)
            }
            Some(expected) => pinned_spec(command, &program, expected)?,
        };
        if let Some(sandbox) = &command.sandbox {
            spec = spec.sandbox(Arc::new(prepare_sandbox(sandbox)?));
        }
        if !command.env.inherit {
            spec = spec.env_clear();
            for (name, value) in std::env::vars_os() {
                if name.to_str().is_some_and(|n| command.env.passes(n)) {
                    spec = spec.env(name, value);
                }
            }
        }
        if let Some(trace) = tap.trace() {
            // W3C Trace Context for an instrumented executor: its spans join the run's trace
            // under the run span (docs/tracing.md).
            spec = spec.env(ENV_TRACEPARENT, trace.traceparent());
            if let Some(state) = trace.tracestate() {
                spec = spec.env(ENV_TRACESTATE, state);
            }
        }
        let spec = spec
            .envs(&command.env.set)
            .env(ENV_RUN_ID, &env.run_id)
            .env(ENV_TRACE_ID, &env.trace_id)
            .env(ENV_ENGINE_TIMEOUT, timeout_secs.to_string())
            .env(ENV_ALLOW_SHELL, if env.allow_shell { "1" } else { "0" })
            .env(ENV_LOG_JSON, if env.log_json { "1" } else { "0" })
            .stdin(Stdio::Piped)
            .stdout(Stdio::Piped)
            .stderr(Stdio::Piped);
        let mut group = rep_process::spawn(&spec).map_err(|e| spawn_error(command, &e))?;
        tracing::debug!(executor = %command.path.display(), pid = group.id(), "executor started");
        let stderr_tail = StderrTail::default();
        let stderr_forwarder = group.take_stderr().map(|stderr| {
            let stderr = tap.executor_stderr(stderr, MAX_STDERR_LINE);
            tokio::spawn(forward_stderr(stderr, stderr_tail.clone()))
        });
        Ok(ExecutorProcess {
            command: command.clone(),
            stdin: group.take_stdin(),
            stdout: group.take_stdout(),
            group,
            stderr_tail,
            stderr_forwarder,
            on_exit: tap.exit_hook(),
        })
    }

    /// The command this process runs.
    pub fn command(&self) -> &ExecutorCommand {
        &self.command
    }

    /// The executor's process id (also its process group id), `None` once it has been reaped.
    pub fn id(&self) -> Option<u32> {
        self.group.id()
    }

    /// The child's stdin, once (the client takes it; dropping it closes the executor's stdin).
    pub fn take_stdin(&mut self) -> Option<ChildStdin> {
        self.stdin.take()
    }

    /// The child's stdout, once (the client takes it).
    pub fn take_stdout(&mut self) -> Option<ChildStdout> {
        self.stdout.take()
    }

    /// Closes the executor's stdin if still held here ("shut down", REP v0.1 §1). Idempotent.
    pub fn close_stdin(&mut self) {
        self.stdin = None;
    }

    /// The exit status if the process has exited, without waiting.
    pub fn try_status(&mut self) -> Option<ExitStatus> {
        self.group.try_wait()
    }

    /// Waits until the process exits and returns its status (`None` if it cannot be
    /// known). Cancel-safe; once the process has exited, returns at once.
    pub async fn exited(&mut self) -> Option<ExitStatus> {
        self.group.wait().await
    }

    /// Waits up to `limit` for the process to exit; its status, or `None` if it still runs.
    pub async fn wait_exit(&mut self, limit: Duration) -> Option<ExitStatus> {
        self.group.wait_for(limit).await
    }

    /// Closes stdin and stops the process by `ladder` (rep-process's shutdown ladder:
    /// SIGTERM, then SIGKILL to the group), then reaps it. Returns the exit status. (The
    /// runner uses the full shutdown sequence of REP v0.1 §2 instead, which adds
    /// `Runtime.Cancel`.)
    ///
    /// The executor's last stderr lines are forwarded before this returns (waiting at most
    /// [`STDERR_DRAIN_WAIT`] once the group is dead), so a dying executor's final words are
    /// never lost to the host's exit.
    pub async fn shutdown(&mut self, ladder: Ladder) -> Option<ExitStatus> {
        self.close_stdin();
        let status = self.group.stop(ladder, std::future::pending()).await;
        self.stderr_drained(STDERR_DRAIN_WAIT).await;
        status
    }

    /// Sends SIGTERM to the executor's process group.
    pub fn terminate_group(&mut self) {
        self.group.terminate_group();
    }

    /// Sends SIGKILL to the executor's process group (the executor and anything it started
    /// that stayed in its group).
    pub fn kill_group(&mut self) {
        self.group.kill_group();
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
        self.stderr_tail.lines()
    }
}

impl Drop for ExecutorProcess {
    /// Hands the exit status to the exit hook, if the executor has exited (without reaping
    /// it: the group is killed next, its id still reserved).
    fn drop(&mut self) {
        if let (Some(status), Some(hook)) = (self.group.peek(), self.on_exit.take()) {
            hook(status);
        }
    }
}

impl ExecutorHandle for ExecutorProcess {
    fn name(&self) -> String {
        self.command.path.display().to_string()
    }

    fn explain_exit(&self, status: ExitStatus) -> Option<String> {
        self.command.sandbox.as_ref()?.explain_exit(status)
    }

    async fn exited(&mut self) -> Option<ExitStatus> {
        ExecutorProcess::exited(self).await
    }

    fn terminate_group(&mut self) {
        ExecutorProcess::terminate_group(self);
    }

    fn kill_group(&mut self) {
        ExecutorProcess::kill_group(self);
    }

    async fn last_stderr(&mut self, limit: Duration) -> Vec<String> {
        self.stderr_drained(limit).await;
        self.stderr_tail()
    }
}

/// The spec of a pinned executor: its bytes, checked against `expected`, run from their
/// sealed copy (`/proc/self/fd/N`, `argv[0]` the configured path); a `.py` script's copy is
/// given to `python3` instead.
fn pinned_spec(
    command: &ExecutorCommand,
    program: &Path,
    expected: &str,
) -> Result<Spec, RunError> {
    let image = command.pin(program, expected)?;
    tracing::debug!(executor = %command.path.display(), sha256 = image.sha256(), "executor pinned");
    let in_child = image.path_in_child();
    let spec = if command.is_script_of() {
        Spec::new(program)
            .arg(&in_child)
            .args(command.args.iter().skip(1))
    } else {
        check_runnable(command, &in_child)?;
        Spec::new(&in_child).arg0(&command.path).args(&command.args)
    };
    Ok(spec.image(image))
}

/// The sandbox prepared for this kernel: what is in force is logged (`-v`), what is not
/// (with `best_effort`) is a warning.
///
/// # Errors
/// [`Cause::Sandbox`] (3001) naming what this kernel lacks, or a path that cannot be opened.
pub fn prepare_sandbox(sandbox: &Sandbox) -> Result<rep_process::Prepared, RunError> {
    let prepared = sandbox
        .prepare()
        .map_err(|error| RunError::transport(Cause::Sandbox, error.to_string()))?;
    let plan = prepared.plan();
    for measure in &plan.applied {
        tracing::info!("sandbox: {measure}");
    }
    for measure in &plan.not_applied {
        tracing::warn!("sandbox: NOT applied (best_effort): {measure}");
    }
    for path in &plan.missing_paths {
        tracing::info!("sandbox: skipped (does not exist): {}", path.display());
    }
    Ok(prepared)
}

fn spawn_error(command: &ExecutorCommand, error: &std::io::Error) -> RunError {
    if command.sandbox.is_some() && error.kind() != std::io::ErrorKind::NotFound {
        let hint = if error.kind() == std::io::ErrorKind::PermissionDenied
            && command.sandbox.as_ref().is_some_and(|s| s.read.is_some())
        {
            ": the executor, its interpreter (#! line, ELF interpreter such as \
             /lib64/ld-linux-x86-64.so.2) and libraries must be under sandbox.read"
        } else {
            ""
        };
        return RunError::transport(
            Cause::Sandbox,
            format!(
                "cannot start executor {} in its sandbox: {error}{hint}",
                command.path.display()
            ),
        );
    }
    let what = match error.kind() {
        std::io::ErrorKind::NotFound if command.program != command.path => {
            format!(
                "{} not found (needed to run {})",
                command.program.display(),
                command.path.display()
            )
        }
        std::io::ErrorKind::NotFound => command.not_found(),
        std::io::ErrorKind::PermissionDenied if command.path.is_dir() => format!(
            "executor {} is a directory, not a program{}",
            command.path.display(),
            command.named_in()
        ),
        std::io::ErrorKind::PermissionDenied => format!(
            "executor is not executable: {}{}",
            command.path.display(),
            command.named_in()
        ),
        _ if error.raw_os_error() == Some(nix::libc::ENOEXEC) => format!(
            "executor {} cannot be executed on this machine (exec format error): a binary \
             for another platform, or a script without #!{}",
            command.path.display(),
            command.named_in()
        ),
        _ => format!("cannot start executor {}: {error}", command.path.display()),
    };
    RunError::transport(Cause::Spawn, what)
}

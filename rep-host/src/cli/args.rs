//! What the user typed.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use rep_host::Engine;

const EXAMPLES: &str = "\
Examples:
  # Run a compiled flow on the default executor (mock-executor beside tm)
  tm runtime run --manifest out/dsl/manifest.json --flow plant-monitor --inputs @input.json

  # The reference's spelling: global flags before the subcommand
  tm --engine proc --executor-path ./my-executor runtime run --manifest out/dsl/manifest.json --flow hello

  # What does an executor support?
  tm runtime capabilities --executor-path ./my-executor

  # Verify a flow from out/dsl/manifest.json with inline inputs and a 30 s engine timeout
  tm verify online --flow plant-monitor --inputs '{\"endpoint\": \"opc.tcp://localhost:4840\"}' --timeout 30

Exit codes:
  0  the run completed
  1  the run failed (a step failed)
  2  bad input before any executor started: invalid IR, manifest, inputs, config or usage
  3  Validation: capabilities mismatch, IR or inputs rejected by the executor, language mismatch
  4  RuntimeInternal: engine timeout, missing or crashing executor, broken transport
  130, 143  interrupted by SIGINT or SIGTERM (the run is cancelled, received events printed)";

/// Run compiled TraceMind flows (Flow IR v1.0.0) on an out-of-process executor speaking
/// REP v0.1 (JSON-RPC 2.0 over stdio).
///
/// The result is printed to stdout as JSON; logs and the executor's stderr go to stderr.
#[derive(Debug, Parser)]
#[command(name = "tm", version, after_help = EXAMPLES)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Flags accepted before or after the subcommand.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Runtime configuration file (runtime.yaml: engine, language, plugins_language,
    /// executor_path).
    #[arg(long, global = true, value_name = "FILE")]
    pub runtime_config: Option<PathBuf>,
    /// Engine; this host runs `proc` (out-of-process executors).
    #[arg(long, global = true, value_enum)]
    pub engine: Option<Engine>,
    /// Executor to run (a `.py` path runs with python3). Default: runtime.yaml's
    /// executor_path, else mock-executor beside tm.
    #[arg(long, global = true, value_name = "PATH")]
    pub executor_path: Option<PathBuf>,
    /// Largest frame accepted from the executor, in bytes.
    #[arg(long, global = true, value_name = "BYTES", default_value_t = rep_spec::DEFAULT_MAX_FRAME_BYTES)]
    pub max_frame_bytes: usize,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run flows from compiled artifacts.
    Runtime {
        #[command(subcommand)]
        command: RuntimeCommand,
    },
    /// Verification commands.
    Verify {
        #[command(subcommand)]
        command: VerifyCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum RuntimeCommand {
    /// Run one flow of a manifest written by `tm dsl compile --emit-ir`.
    Run(RunArgs),
    /// Print the executor's Runtime.Capabilities as JSON.
    Capabilities(CapabilitiesArgs),
    /// Manage the capability cache (~/.trace_mind/runtime_capabilities).
    Cache {
        #[command(subcommand)]
        command: CacheCommand,
    },
}

#[derive(Debug, Args)]
pub struct CapabilitiesArgs {
    /// Seconds to wait for the executor's answer.
    #[arg(long, value_name = "SECS", default_value_t = 10.0, value_parser = positive_seconds)]
    pub timeout: f64,
}

#[derive(Debug, Subcommand)]
pub enum CacheCommand {
    /// Remove cached capabilities written after a capabilities mismatch.
    Clear(CacheClearArgs),
}

/// `tm runtime cache clear --engine NAME` (the global `--engine`) or `--all`.
#[derive(Debug, Args)]
pub struct CacheClearArgs {
    /// Remove every engine's cache file (else the one of --engine).
    #[arg(long)]
    pub all: bool,
}

#[derive(Debug, Subcommand)]
pub enum VerifyCommand {
    /// Run a flow from precompiled artifacts and report the outcome.
    Online(OnlineArgs),
}

/// Options shared by the run commands.
#[derive(Debug, Args)]
pub struct FlowArgs {
    /// Flow name (the manifest entry's `name`).
    #[arg(long)]
    pub flow: String,
    /// Run inputs: a JSON object, or @FILE to read it from a file.
    #[arg(long, value_name = "JSON|@FILE")]
    pub inputs: Option<String>,
    /// Engine timeout in seconds, handshake included (fractions allowed).
    #[arg(long, value_name = "SECS", default_value_t = 120.0, value_parser = positive_seconds)]
    pub timeout: f64,
    /// Append every event to FILE as JSON Lines as it arrives (flushed after each poll).
    #[arg(long, value_name = "FILE")]
    pub events_jsonl: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Path to manifest.json.
    #[arg(long)]
    pub manifest: PathBuf,
    #[command(flatten)]
    pub flow: FlowArgs,
}

#[derive(Debug, Args)]
pub struct OnlineArgs {
    /// Path to manifest.json.
    #[arg(long, default_value = "out/dsl/manifest.json")]
    pub manifest: PathBuf,
    #[command(flatten)]
    pub flow: FlowArgs,
}

fn positive_seconds(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(secs) if secs.is_finite() && secs > 0.0 && secs <= 1e9 => Ok(secs),
        _ => Err(format!("{text:?} is not a positive number of seconds")),
    }
}

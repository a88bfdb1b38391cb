//! What the user typed.
//!
//! The command tree is the one list of this `tm`'s own commands: any other command is
//! TraceMind's and is handed to TraceMind's CLI ([`Command::External`]), so a command added
//! here always wins over TraceMind's of the same name.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{ArgAction, Args, Parser, Subcommand, ValueEnum};
use rep_host::Engine;

/// Every line at most 72 columns: with `\` continuations, no example is wrapped (and broken
/// for copy-paste) by `tm --help` on an 80-column terminal, nor in the manual page.
pub const EXAMPLES: &str = "  # Run a compiled flow on the default executor (mock-executor)
  tm runtime run --manifest out/dsl/manifest.json \\
      --flow plant-monitor --inputs @input.json

  # Compile the sources with TraceMind's compiler, then run the flow
  tm verify online --sources flows/ policies/ --out out/dsl \\
      --flow plant-monitor --inputs @input.json

  # The reference's spelling: global flags before the subcommand
  tm --engine proc --executor-path ./my-executor \\
      runtime run --manifest out/dsl/manifest.json --flow hello

  # What does an executor support?
  tm runtime capabilities --executor-path ./my-executor

  # Inputs from stdin, a 30 s engine timeout, every event in a file
  tm verify online --flow plant-monitor --inputs @- --timeout 30 \\
      --events-jsonl events.jsonl < input.json

  # Record the session, e.g. for a bug report (docs/transcripts.md)
  tm runtime run --manifest out/dsl/manifest.json \\
      --flow plant-monitor --record session.jsonl

  # Shell completions and the manual page
  tm completions bash > ~/.local/share/bash-completion/completions/tm
  tm man > ~/.local/share/man/man1/tm.1";

/// How TraceMind's commands are run.
pub const TRACEMIND_COMMANDS: &str = "\
Other commands (dsl, init, new, run, validate, ...) are TraceMind's:
tm hands them, with all their arguments, to the next `tm` on PATH
that is not this one, else to `python3 -m tm`
(pip install 'trace-mind[yaml]'). Of the global flags before such a
command only TraceMind's own go along (--runtime-config, --engine,
--executor-path); `tm help CMD` shows TraceMind's help for CMD. A
near miss of one of tm's commands (`tm runtme`) is a typo, not a
TraceMind command.";

/// The exit codes (REP v0.1 §5).
pub const EXIT_CODES: &str = "  0  the run completed
  1  the run failed (a step failed)
  2  bad input before any executor started: invalid IR, manifest,
     inputs, sources, config or usage
  3  Validation: capabilities mismatch, IR or inputs rejected by the
     executor, language mismatch
  4  RuntimeInternal: engine timeout, missing or crashing executor,
     broken transport; the result could not be written to stdout
  130, 143, 129  interrupted by SIGINT, SIGTERM or SIGHUP (the run is
     cancelled, received events printed)";

fn after_help() -> String {
    format!("Examples:\n{EXAMPLES}\n\n{TRACEMIND_COMMANDS}\n\nExit codes:\n{EXIT_CODES}")
}

/// Run compiled TraceMind flows (Flow IR v1.0.0) on an out-of-process executor speaking
/// REP v0.1 (JSON-RPC 2.0 over stdio).
///
/// The result is printed to stdout as JSON; logs and the executor's stderr go to stderr.
#[derive(Debug, Parser)]
#[command(
    name = "tm",
    version,
    disable_version_flag = true,
    arg_required_else_help = true,
    max_term_width = 100,
    after_help = after_help()
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    /// Print the version of this tm and of the TraceMind CLI it hands other commands to
    /// (trace-mind's version from its installed package metadata; with -v, Python is asked
    /// when that is not found).
    #[arg(short = 'V', long)]
    pub version: bool,
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Flags accepted before or after the subcommand.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Runtime configuration file (runtime.yaml: engine, language, plugins_language,
    /// executor_path, python).
    #[arg(long, global = true, value_name = "FILE")]
    pub runtime_config: Option<PathBuf>,
    /// Engine; this host runs `proc` (out-of-process executors).
    #[arg(long, global = true, value_enum)]
    pub engine: Option<Engine>,
    /// Executor to run: a path, or a bare name looked up on PATH (a `.py` path runs with
    /// python3). Default: runtime.yaml's executor_path, else mock-executor beside tm.
    #[arg(long, global = true, value_name = "PATH")]
    pub executor_path: Option<PathBuf>,
    /// Run the executor only if its file's sha256 is HEX (64 hex digits); wins over
    /// runtime.yaml's executor_sha256 (see `tm executor pin`).
    #[arg(long, global = true, value_name = "HEX", value_parser = sha256_arg)]
    pub executor_sha256: Option<String>,
    /// Largest frame accepted from the executor, in bytes.
    #[arg(long, global = true, value_name = "BYTES", default_value_t = rep_spec::DEFAULT_MAX_FRAME_BYTES)]
    pub max_frame_bytes: usize,
    /// Print errors only: no warnings, notes or progress line.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Log more: -v info, -vv debug (phase timings), -vvv trace. Wins over RUST_LOG.
    #[arg(short, long, global = true, action = ArgAction::Count)]
    pub verbose: u8,
    /// Color on stderr: auto (on a terminal, unless NO_COLOR is set), always, never.
    #[arg(long, global = true, value_enum, value_name = "WHEN", default_value_t = Color::Auto)]
    pub color: Color,
}

/// `--color WHEN`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Color {
    /// On a terminal, unless `NO_COLOR` is set (to anything but the empty string).
    Auto,
    /// Always (also through a pipe, and despite `NO_COLOR`).
    Always,
    /// Never.
    Never,
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
    /// Check Flow IR files and write manifests for them (no TraceMind needed).
    Ir {
        #[command(subcommand)]
        command: IrCommand,
    },
    /// Start and check an executor of your own.
    Executor {
        #[command(subcommand)]
        command: ExecutorCommand,
    },
    /// Print a completion script for tm's own commands.
    Completions(rep_cli::CompletionsArgs),
    /// Print tm's manual page (roff), or write a page per command into a folder.
    Man(rep_cli::ManArgs),
    /// Any other command: TraceMind's, handed to TraceMind's CLI with all its arguments.
    #[command(external_subcommand)]
    External(Vec<OsString>),
}

#[derive(Debug, Subcommand)]
pub enum RuntimeCommand {
    /// Run one flow of a compiled manifest (TraceMind's compiler output; see
    /// `tm verify online --sources`).
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
    /// Run a flow from compiled artifacts (compiling its sources first with --sources) and
    /// report the outcome; with --cases DIR, check every case of a project (contract
    /// checks).
    #[command(after_help = "Examples:
  tm verify online --manifest out/dsl/manifest.json --flow hello \\
      --inputs '{\"name\": \"Ada\"}'
  tm verify online --manifest out/dsl/manifest.json --cases cases/
  tm verify online --sources flows/ --out out/dsl --cases cases/ \\
      --flow plant-monitor --jobs 4
  tm verify online --cases cases/ --partition hash:2/3 \\
      --junit contract-2.xml
  OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4318 \\
      tm verify online --manifest out/dsl/manifest.json --cases cases/

With --cases, exit codes: 0 every case passed, 1 a case failed its
expectation, 2 an invalid case file, 3/4 a case broke on the
executor's side (the first one's code); docs/contract-checks.md.")]
    Online(OnlineArgs),
}

/// Options shared by the run commands.
#[derive(Debug, Args)]
pub struct FlowArgs {
    /// Run inputs: a JSON object, @FILE to read it from a file, or @- from stdin.
    #[arg(long, value_name = "JSON|@FILE|@-")]
    pub inputs: Option<String>,
    /// Do not check the inputs against the flow's inputs_schema before starting the
    /// executor (the executor may still refuse them).
    #[arg(long)]
    pub no_input_check: bool,
    /// Engine timeout in seconds, handshake included (fractions allowed); with --sources it
    /// bounds the compilation too.
    #[arg(long, value_name = "SECS", default_value_t = 120.0, value_parser = positive_seconds)]
    pub timeout: f64,
    /// Append every event to FILE as JSON Lines, `{"run_id", "event"}` each, as it arrives
    /// (flushed after each poll).
    #[arg(long, value_name = "FILE")]
    pub events_jsonl: Option<PathBuf>,
    /// Record the session as a transcript in FILE (JSON Lines: every frame both ways, the
    /// executor's stderr and exit status; docs/transcripts.md). Put in place when the run
    /// ends (a FIFO or a device such as /dev/stdout is written in place as the run goes);
    /// replay it with rep-replay or `rep-conformance replay`.
    #[arg(long, value_name = "FILE")]
    pub record: Option<PathBuf>,
    /// Write the run's OpenTelemetry spans (a run span, a child per step attempt) to FILE
    /// as OTLP JSON, one export request a line, replaced whole when tm ends. Spans also go
    /// to the OTLP/HTTP endpoint of OTEL_EXPORTER_OTLP_ENDPOINT or
    /// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT when set; TRACEPARENT continues a caller's trace
    /// (docs/tracing.md).
    #[arg(long, value_name = "FILE")]
    pub trace_out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Path to manifest.json.
    #[arg(long)]
    pub manifest: PathBuf,
    /// Flow name (the manifest entry's `name`).
    #[arg(long = "flow", value_name = "FLOW")]
    pub flow_name: String,
    #[command(flatten)]
    pub flow: FlowArgs,
}

#[derive(Debug, Args)]
pub struct OnlineArgs {
    /// Path to manifest.json. With --sources, the compiled manifest.json in --out is run
    /// (--out defaults to this file's folder).
    #[arg(long, default_value = "out/dsl/manifest.json")]
    pub manifest: PathBuf,
    /// WDL/PDL files or folders to compile with TraceMind's compiler before the run.
    #[arg(long, value_name = "PATH", num_args = 1..)]
    pub sources: Vec<PathBuf>,
    /// Folder for the compiled artifacts. Default: the folder of --manifest.
    #[arg(long, value_name = "DIR", requires = "sources")]
    pub out: Option<PathBuf>,
    /// Overwrite existing files tm did not write (its own earlier artifacts are replaced
    /// without it).
    #[arg(long, requires = "sources")]
    pub force: bool,
    /// Compile without running TraceMind's linter first.
    #[arg(long, requires = "sources")]
    pub no_lint: bool,
    /// The Python that has trace-mind installed. Default: runtime.python of the runtime
    /// config, else python3 on PATH.
    #[arg(long, value_name = "PATH", requires = "sources")]
    pub python: Option<PathBuf>,
    /// Flow name (the manifest entry's `name`). With --cases: run only the cases of this
    /// flow (repeatable; default: every case).
    #[arg(long = "flow", value_name = "FLOW", required_unless_present = "cases")]
    pub flows: Vec<String>,
    /// Run every case file (*.json, *.yaml, *.yml; docs/case.schema.json) under DIR and
    /// compare each run with the case's `expect`: one line per case on stdout, then a
    /// summary (docs/contract-checks.md).
    #[arg(
        long,
        value_name = "DIR",
        conflicts_with_all = ["inputs", "events_jsonl", "record"]
    )]
    pub cases: Option<PathBuf>,
    /// With --cases: run at most N cases at once, each on its own executor process.
    /// Default: the number of CPUs.
    #[arg(short = 'j', long, value_name = "N", requires = "cases")]
    pub jobs: Option<std::num::NonZeroUsize>,
    /// With --cases: run only share K of N of the cases, for N CI machines (cargo-nextest's
    /// syntax): count:K/N by position in the name-ordered list (after --flow), hash:K/N by
    /// a hash of the case's path under DIR. The N shares are disjoint and cover every case.
    #[arg(long, value_name = "count:K/N|hash:K/N", requires = "cases")]
    pub partition: Option<super::partition::Partition>,
    /// With --cases: write a JUnit XML report to FILE (one testcase per case, in a
    /// testsuite per flow), replaced whole when the check ends.
    #[arg(long, value_name = "FILE", requires = "cases")]
    pub junit: Option<PathBuf>,
    /// With --cases: write the report as JSON to FILE (docs/contract-report.schema.json),
    /// replaced whole when the check ends.
    #[arg(long, value_name = "FILE", requires = "cases")]
    pub json: Option<PathBuf>,
    #[command(flatten)]
    pub flow: FlowArgs,
}

/// `tm`'s command line as it parses and prints help: [`Cli`] with the global flags shown once,
/// in `tm --help`. Every subcommand's help hides them and ends its options with one line
/// naming them, as cargo collapses its global options; they still parse before or after any
/// subcommand.
pub fn command() -> clap::Command {
    let root = <Cli as clap::CommandFactory>::command();
    let globals: Vec<clap::Arg> = root
        .get_arguments()
        .filter(|a| a.is_global_set())
        .map(|a| a.clone().hide(true))
        .collect();
    // "Global options: -q, -v, --color, …; see `tm --help`.", wrapped at 80 columns.
    let mut note = String::from("Global options:");
    let mut width = note.len();
    let names: Vec<String> = globals
        .iter()
        .filter_map(|a| match (a.get_short(), a.get_long()) {
            (Some(short), _) => Some(format!("-{short}")),
            (None, Some(long)) => Some(format!("--{long}")),
            (None, None) => None,
        })
        .collect();
    for (i, name) in names.iter().enumerate() {
        let word = match i + 1 == names.len() {
            true => format!("{name}; see `tm --help`."),
            false => format!("{name},"),
        };
        if width + 1 + word.len() > 80 {
            note.push_str("\n ");
            width = 1;
        }
        note.push(' ');
        note.push_str(&word);
        width += 1 + word.len();
    }
    let template = format!(
        "{{before-help}}{{about-with-newline}}\n{{usage-heading}} {{usage}}\n\n{{all-args}}\n\n\
         {note}{{after-help}}"
    );
    collapse_globals(root, &globals, &template)
}

/// Gives every subcommand of `command`, at any depth, hidden copies of `globals` (clap's
/// propagation of a global flag skips a command that has it already) and `template`.
fn collapse_globals(
    mut command: clap::Command,
    globals: &[clap::Arg],
    template: &str,
) -> clap::Command {
    let subcommands: Vec<String> = command
        .get_subcommands()
        .map(|s| s.get_name().to_owned())
        .collect();
    for name in subcommands {
        command = command.mut_subcommand(name, |sub| {
            let sub = sub
                .args(globals.iter().cloned())
                .help_template(template.to_owned());
            collapse_globals(sub, globals, template)
        });
    }
    command
}

fn sha256_arg(text: &str) -> Result<String, String> {
    rep_host::parse_sha256(text, "--executor-sha256").map_err(|e| e.to_string())
}

fn positive_seconds(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(secs) if secs.is_finite() && secs > 0.0 && secs <= 1e9 => Ok(secs),
        _ => Err(format!("{text:?} is not a positive number of seconds")),
    }
}

/// `tm ir …`.
#[derive(Debug, Subcommand)]
pub enum IrCommand {
    /// Check Flow IR v1.0.0 files: the JSON Schema and the semantic rules. Every problem is
    /// printed with its JSON pointer; exit code 2 when any file has one.
    #[command(after_help = "Examples:
  tm ir validate flows/*.ir.json
  tm ir validate --json flows/hello.ir.json | jq '.files[].problems'")]
    Validate(IrValidateArgs),
    /// Write the manifest.json of Flow IR files (name, step_kinds, inputs_schema_hash,
    /// ir_path relative to the manifest), as TraceMind's compiler would.
    #[command(after_help = "Examples:
  tm ir manifest flows/hello.ir.json --out manifest.json
  tm runtime run --manifest manifest.json --flow hello")]
    Manifest(IrManifestArgs),
    /// Compile WDL/PDL sources into Flow IR and manifest.json with TraceMind's compiler (in
    /// the Python that has trace-mind) and the Flow IR schema embedded in tm, as `tm verify
    /// online --sources` does, without running anything.
    #[command(after_help = "Examples:
  tm ir compile flows/ policies/ --out out/dsl
  tm runtime run --manifest out/dsl/manifest.json --flow tank-guard --inputs @in.json

Compiling again replaces the artifacts tm wrote into DIR before; --force
is needed only to overwrite files tm did not write (or edited since).
This is TraceMind's `tm dsl compile --emit-ir`, which fails with the
trace-mind wheel alone (\"IR schema not found\").")]
    Compile(IrCompileArgs),
}

#[derive(Debug, Args)]
pub struct IrCompileArgs {
    /// WDL/PDL files or folders (searched recursively).
    #[arg(value_name = "SOURCES", required = true)]
    pub sources: Vec<PathBuf>,
    /// Folder for the artifacts: manifest.json, flows/, policies/.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Overwrite existing files tm did not write (its own earlier artifacts are replaced
    /// without it).
    #[arg(long)]
    pub force: bool,
    /// Compile without running TraceMind's linter first.
    #[arg(long)]
    pub no_lint: bool,
    /// The Python that has trace-mind installed. Default: runtime.python of the runtime
    /// config, else python3 on PATH.
    #[arg(long, value_name = "PATH")]
    pub python: Option<PathBuf>,
    /// Seconds the compilation may take (fractions allowed).
    #[arg(long, value_name = "SECS", default_value_t = 120.0, value_parser = positive_seconds)]
    pub timeout: f64,
}

#[derive(Debug, Args)]
pub struct IrValidateArgs {
    /// The Flow IR files.
    #[arg(value_name = "FILE", required = true)]
    pub files: Vec<PathBuf>,
    /// Print the result as one JSON document on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct IrManifestArgs {
    /// The Flow IR files, one manifest entry each, in this order.
    #[arg(value_name = "FILE", required = true)]
    pub files: Vec<PathBuf>,
    /// Write the manifest to FILE (replaced whole, never half-written) instead of stdout.
    /// ir_path is relative to FILE's folder (to the working directory for stdout).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

/// `tm executor …`.
#[derive(Debug, Subcommand)]
pub enum ExecutorCommand {
    /// Create a ready-to-run executor project: handlers, a sample flow, conformance
    /// fixtures, a README and a CI script.
    #[command(after_help = "Examples:
  tm executor new my-executor --kind acme.read --kind acme.write
  tm executor new my-executor --lang c --kind demo.hello
  cd my-executor && ./ci.sh")]
    New(ExecutorNewArgs),
    /// Smoke-test an executor project (or binary): its build, capabilities, the sample
    /// flow, the conformance core; one line per check.
    #[command(after_help = "Examples:
  tm executor check my-executor
  tm executor check my-executor --no-build
  tm executor check my-executor --executor my-executor/target/debug/my-executor

The project is built first (cargo build or make; the output is shown
only when the build fails).")]
    Check(ExecutorCheckArgs),
    /// Pin the executor: write its file's sha256 into runtime.yaml as
    /// runtime.executor_sha256 (comments and order kept), so that tm and rep-conformance
    /// refuse any other file. Prints `SHA256  PATH`; without --runtime-config nothing is
    /// written (give the hash to --executor-sha256).
    #[command(after_help = "Examples:
  tm executor pin --runtime-config runtime.yaml
  tm executor pin --executor-path target/release/my-executor
  tm --executor-sha256 $(tm executor pin --executor-path ./x | cut -d' ' -f1) \\
      --executor-path ./x runtime capabilities

A mismatch later is refused before the executor starts: exit 4, both
hashes and the path named. For a script (.py or #!), the script is
pinned, not its interpreter (docs/security.md).")]
    Pin,
}

/// The language of a generated executor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Lang {
    /// Rust on rep-executor-kit (cargo).
    Rust,
    /// C99 on the native library, vendored (make).
    C,
    /// C++17 on the native library's C++ wrapper and nlohmann/json, vendored (make).
    Cpp,
}

#[derive(Debug, Args)]
pub struct ExecutorNewArgs {
    /// The project's name and folder (a new or empty folder): letters, digits, '-' and '_'.
    #[arg(value_name = "NAME")]
    pub name: PathBuf,
    /// Language of the executor.
    #[arg(long, value_enum, default_value_t = Lang::Rust)]
    pub lang: Lang,
    /// A step kind to handle (repeatable), e.g. acme.read. Default: <name>.hello.
    #[arg(long = "kind", value_name = "STEP_KIND")]
    pub kinds: Vec<String>,
    /// Rust: depend on rep-executor-kit at this rep checkout (default: the source tree this
    /// tm was built from).
    #[arg(long, value_name = "PATH", conflicts_with = "kit_git")]
    pub kit_path: Option<PathBuf>,
    /// Rust: depend on rep-executor-kit from this git repository instead.
    #[arg(long, value_name = "URL")]
    pub kit_git: Option<String>,
}

#[derive(Debug, Args)]
pub struct ExecutorCheckArgs {
    /// The project folder made by `tm executor new` (holding flows/manifest.json).
    #[arg(value_name = "PATH")]
    pub path: PathBuf,
    /// The executor binary (wins over --executor-path). Default: runtime.yaml's
    /// executor_path, the project's built binary.
    #[arg(long, value_name = "FILE")]
    pub executor: Option<PathBuf>,
    /// Seconds each check may take (the build has 30 minutes).
    #[arg(long, value_name = "SECS", default_value_t = 60.0, value_parser = positive_seconds)]
    pub timeout: f64,
    /// Check the executor as it is: skip the project's build (`cargo build` for a
    /// Cargo.toml, `make` for a Makefile), which runs first by default.
    #[arg(long)]
    pub no_build: bool,
}

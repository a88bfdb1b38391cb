//! The `rep-conformance fuzz` command line: options, progress on stderr, the result on stdout,
//! exit codes (0 no difference, 1 a difference, 2 usage or an executor that cannot be fuzzed,
//! 128 + N after signal N, its executors killed).

use std::path::{Path, PathBuf};
use std::time::Duration;

use rep_host::{EnvPolicy, stderr_sink};

use crate::cli::{not_a_program, note, parse_env, parse_secs, print, runtime, until_interrupted};
use crate::conn::Target;
use crate::exit;
use crate::fuzz::{Options, fuzz, probe, run_case, write_found};
use crate::semantics::case::Case;
use crate::semantics::model::expect;

/// Examples and exit codes, after `--help`.
pub const FUZZ_EXAMPLES: &str = "\
Examples:
  rep-conformance fuzz --executor target/debug/mock-executor
  rep-conformance fuzz --executor ./my-executor --seed 42 --cases 500 --max-nodes 10
  rep-conformance fuzz --executor ./my-executor --time 60          # a CI budget
  rep-conformance fuzz --executor ./my-executor --case rep-fuzz/seed-42-case-17/case.json

The executor must advertise the probe step kind rep.probe (docs/protocol.md). Each case is a
random graph over rep.probe, switch, finish and dsl.emit; the run's final status, every step's
outcome and attempts, summary.outputs, event order, limits.concurrency and backoff are compared
with the reference model. The first difference is shrunk and written to --out with its
transcript and a reproduction command.

Exit codes: 0 every case matched the model, 1 a case differs, 2 usage error or an executor
that cannot be fuzzed.";

/// `rep-conformance fuzz`.
#[derive(Debug, clap::Args)]
pub struct FuzzArgs {
    /// The executor: a path (a `.py` path runs with python3), or a bare name looked up on
    /// PATH; it must advertise rep.probe.
    #[arg(long, value_name = "PATH", value_parser = crate::cli::executor_arg())]
    pub executor: PathBuf,
    /// Seed of the generated cases (the same seed gives the same cases); random when absent,
    /// and printed.
    #[arg(long, value_name = "S")]
    pub seed: Option<u64>,
    /// How many cases to run.
    #[arg(long, value_name = "N", default_value = "100")]
    pub cases: u64,
    /// The largest graph, in nodes (1–64).
    #[arg(long, value_name = "K", default_value = "8", value_parser = clap::value_parser!(u64).range(1..=64))]
    pub max_nodes: u64,
    /// Stop starting cases after SECS seconds (a CI budget); the cases run so far count.
    #[arg(long, value_name = "SECS", value_parser = parse_secs)]
    pub time: Option<Duration>,
    /// Cases running at once, each on its own executor process (they mostly wait on delays).
    #[arg(long, value_name = "N", default_value = "4", value_parser = clap::value_parser!(u64).range(1..=64))]
    pub jobs: u64,
    /// Where a difference is written: DIR/seed-S-case-N/ (created).
    #[arg(long, value_name = "DIR", default_value = "rep-fuzz")]
    pub out: PathBuf,
    /// Run one case file (a case.json this command wrote, or a Flow IR document) instead of
    /// generated cases.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["seed", "time"])]
    pub case: Option<PathBuf>,
    /// Set KEY=VALUE in the executor's environment (repeatable).
    #[arg(long = "env", value_name = "KEY=VALUE", value_parser = parse_env)]
    pub env: Vec<(String, String)>,
    /// Pass the variable NAME of this environment to the executor (repeatable).
    #[arg(long = "pass-env", value_name = "NAME")]
    pub pass_env: Vec<String>,
    /// Arguments for the executor (after `--`).
    #[arg(last = true, value_name = "ARGS")]
    pub args: Vec<String>,
}

/// Runs `rep-conformance fuzz`; returns the exit code. A signal (SIGINT, SIGTERM, SIGHUP)
/// stops it, kills the executors it runs, and exits 128 + N.
pub fn main(args: &FuzzArgs) -> u8 {
    if let Some(message) = not_a_program(&args.executor) {
        note(&format!(
            "cannot start the executor {}: {message}",
            args.executor.display()
        ));
        return exit::USAGE;
    }
    let target = Target {
        path: args.executor.clone(),
        args: args.args.clone(),
        env: EnvPolicy {
            inherit: false,
            pass: args.pass_env.clone(),
            set: args.env.iter().cloned().collect(),
        },
        sha256: None,
        sandbox: None,
    };
    let (runtime, mut interrupts) = match runtime() {
        Ok(started) => started,
        Err(error) => {
            note(&format!("cannot start the async runtime: {error}"));
            return exit::USAGE;
        }
    };
    let work = async {
        match &args.case {
            Some(file) => one_case(&target, file).await,
            None => generated(target.clone(), args).await,
        }
    };
    let (code, text) = match until_interrupted(&runtime, &mut interrupts, work) {
        Ok(done) => done,
        Err(interrupt) => return interrupt.exit_code(),
    };
    if let Err(interrupt) = print(&runtime, &mut interrupts, text.into_bytes()) {
        return interrupt.exit_code();
    }
    code
}

/// `--case FILE`: the exit code and what goes to stdout.
async fn one_case(target: &Target, file: &Path) -> (u8, String) {
    let usage = |message: String| {
        note(&message);
        (exit::USAGE, String::new())
    };
    let case = match Case::load(file) {
        Ok(case) => case,
        Err(error) => return usage(error.to_string()),
    };
    let expected = match expect(&case) {
        Ok(expected) => expected,
        Err(why) => {
            return usage(format!(
                "{}: the model cannot tell how this case must end: {why}",
                file.display()
            ));
        }
    };
    let info = match probe(target).await {
        Ok(info) => info,
        Err(error) => return usage(error.to_string()),
    };
    let differences = run_case(target, &case, &expected, &info, &rep_host::Tap::none()).await;
    if differences.is_empty() {
        let text = format!(
            "{} matches the model: {} ({})\n",
            file.display(),
            expected.status.as_str(),
            expected.ended_by
        );
        return (exit::PASS, text);
    }
    let mut text = format!("{} differs from the model:\n", file.display());
    for difference in &differences {
        text.push_str(&format!("  {difference}\n"));
    }
    (exit::FAILED, text)
}

/// Generated cases: the exit code and what goes to stdout.
async fn generated(target: Target, args: &FuzzArgs) -> (u8, String) {
    let seed = args.seed.unwrap_or_else(random_seed);
    let options = Options {
        target,
        seed,
        cases: args.cases,
        max_nodes: usize::try_from(args.max_nodes).unwrap_or(8),
        time: args.time,
        jobs: usize::try_from(args.jobs).unwrap_or(1),
    };
    stderr_sink().own_line(&format!(
        "fuzz: seed {seed} (--seed {seed} repeats these cases), up to {} cases of at most {} nodes",
        options.cases, options.max_nodes
    ));
    let mut last_line = Duration::ZERO;
    let progress = |done: u64, elapsed: Duration| {
        if elapsed >= last_line + Duration::from_secs(2) || done == options.cases {
            last_line = elapsed;
            stderr_sink().own_line(&format!(
                "fuzz: {done}/{} cases, {:.1} cases/s",
                options.cases,
                rate(done, elapsed)
            ));
        }
    };
    let (info, report) = match fuzz(&options, progress).await {
        Ok(result) => result,
        Err(error) => {
            note(&error.to_string());
            return (exit::USAGE, String::new());
        }
    };
    let Some(found) = &report.found else {
        let text = format!(
            "fuzz: {} cases of seed {seed} match the model ({:.1} s, {:.1} cases/s)\n",
            report.cases,
            report.elapsed.as_secs_f64(),
            rate(report.cases, report.elapsed)
        );
        return (exit::PASS, text);
    };
    let dir = args.out.join(format!("seed-{seed}-case-{}", found.index));
    let reproduce = reproduce_command(&options.target, &dir.join("case.json"));
    let mut text = format!(
        "fuzz: case {} of seed {seed} differs from the model:\n",
        found.index
    );
    for difference in &found.original_differences {
        text.push_str(&format!("  {difference}\n"));
    }
    text.push_str(&format!(
        "shrunk from {} to {} nodes ({} runs):\n",
        found.original.nodes.len(),
        found.shrunk.case.nodes.len(),
        found.shrunk.runs
    ));
    match write_found(&dir, &options, &info, found, &reproduce).await {
        Ok(recorded) => {
            let shown = if recorded.is_empty() {
                &found.differences
            } else {
                &recorded
            };
            for difference in shown {
                text.push_str(&format!("  {difference}\n"));
            }
            text.push_str(&format!(
                "written to {}/ (case.json, minimal.ir.json, original.json, transcript.jsonl)\n",
                dir.display()
            ));
        }
        Err(error) => {
            for difference in &found.differences {
                text.push_str(&format!("  {difference}\n"));
            }
            text.push_str(&format!("rep-conformance: {error}\n"));
        }
    }
    text.push_str(&format!("reproduce: {reproduce}\n"));
    (exit::FAILED, text)
}

fn rate(done: u64, elapsed: Duration) -> f64 {
    done as f64 / elapsed.as_secs_f64().max(0.001)
}

/// A seed from the clock and the process id.
fn random_seed() -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    fastrand::Rng::with_seed(nanos ^ u64::from(std::process::id())).u64(..)
}

/// `rep-conformance fuzz --executor X --case FILE [-- ARGS]`, quoted for a POSIX shell.
pub fn reproduce_command(target: &Target, case: &Path) -> String {
    let mut words = vec![
        "rep-conformance".to_owned(),
        "fuzz".to_owned(),
        "--executor".to_owned(),
        quote(&target.path.display().to_string()),
    ];
    for (key, value) in &target.env.set {
        words.push("--env".into());
        words.push(quote(&format!("{key}={value}")));
    }
    for name in &target.env.pass {
        words.push("--pass-env".into());
        words.push(quote(name));
    }
    words.push("--case".into());
    words.push(quote(&case.display().to_string()));
    if !target.args.is_empty() {
        words.push("--".into());
        words.extend(target.args.iter().map(|a| quote(a)));
    }
    words.join(" ")
}

/// `word` as one POSIX shell word.
fn quote(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:@%+,".contains(c));
    if plain {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reproduction_command_is_one_shell_line() {
        let mut target = Target::new("/opt/my executor");
        target.args = vec!["--mode".into(), "it's".into()];
        target.env.set.insert("K".into(), "a b".into());
        assert_eq!(
            reproduce_command(&target, Path::new("rep-fuzz/seed-1-case-2/case.json")),
            "rep-conformance fuzz --executor '/opt/my executor' --env 'K=a b' --case rep-fuzz/seed-1-case-2/case.json -- --mode 'it'\\''s'"
        );
    }
}

//! Which words of a command line are this `tm`'s and which are TraceMind's, decided on the
//! raw command line around clap's parsing:
//!
//! - `tm help X` for a command X that is not ours becomes `tm X --help`, TraceMind's help;
//! - a word within [`TYPO_DISTANCE`] edits of one of our commands is a typo of it ("did you
//!   mean", exit 2), not a TraceMind command to hand over;
//! - of the global flags before a TraceMind command, only the ones TraceMind's CLI has too
//!   ([`SHARED_GLOBALS`]) go along: `-q`, `-v`, `--color`, … are ours, and TraceMind's CLI
//!   would refuse them.

use std::ffi::{OsStr, OsString};

use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::{Args, Command};

use super::args::GlobalArgs;

/// The global flags TraceMind's CLI takes too (trace-mind 1.2.0's `tm --help`): they go along
/// with a TraceMind command.
pub const SHARED_GLOBALS: &[&str] = &["runtime-config", "engine", "executor-path"];

/// The most edits (Levenshtein distance) that make a word a typo of one of our commands.
pub const TYPO_DISTANCE: usize = 2;

/// `tm [GLOBALS] help X …` with X not one of our commands → `tm [GLOBALS] X … --help`, so
/// TraceMind's command gets asked for its help. Anything else is returned unchanged.
pub fn help_for_tracemind(argv: Vec<OsString>, cli: &Command) -> Vec<OsString> {
    let first_two: Vec<usize> = positionals(&argv, cli).take(2).collect();
    let [help, topic] = first_two[..] else {
        return argv;
    };
    let topic_word = argv[topic].to_string_lossy();
    if argv[help] != "help" || topic_word == "help" || cli.find_subcommand(&*topic_word).is_some() {
        return argv;
    }
    let mut rewritten = argv;
    rewritten.remove(help);
    rewritten.push(OsString::from("--help"));
    rewritten
}

/// The clap error for a typo of one of our commands (at any level: `tm runtme`, `tm runtime
/// rn`), with its suggestion, rendered as clap renders `tm capabilites`. `None` when the
/// command line names no near miss.
pub fn typo(argv: &[OsString], cli: &Command) -> Option<clap::Error> {
    let mut level = cli;
    let mut path = vec![level.get_name().to_owned()];
    for index in positionals(argv, cli) {
        let word = argv[index].to_string_lossy();
        if level.get_subcommands().next().is_none() || word == "help" {
            return None;
        }
        if let Some(sub) = level.find_subcommand(&*word) {
            path.push(sub.get_name().to_owned());
            level = sub;
            continue;
        }
        let suggestion = nearest(&word, level.get_subcommands().map(Command::get_name))?;
        let mut error = clap::Error::new(ErrorKind::InvalidSubcommand).with_cmd(level);
        error.insert(
            ContextKind::InvalidSubcommand,
            ContextValue::String(word.into_owned()),
        );
        error.insert(
            ContextKind::SuggestedSubcommand,
            ContextValue::Strings(vec![suggestion.to_owned()]),
        );
        let usage = format!("{} <COMMAND>", path.join(" "));
        error.insert(
            ContextKind::Usage,
            ContextValue::StyledStr(clap::builder::StyledStr::from(format!("Usage: {usage}"))),
        );
        return Some(error);
    }
    None
}

/// The arguments TraceMind's CLI gets for the command `words` (as clap captured them: the
/// command's name and everything after it, unchanged) of the command line `args` (after
/// `tm`): the global flags before it that TraceMind has too, then `words`.
pub fn tracemind_args(args: &[OsString], words: &[OsString]) -> Vec<OsString> {
    let before = &args[..args.len().saturating_sub(words.len())];
    let globals = GlobalArgs::augment_args(Command::new("tm"));
    let mut kept = Vec::new();
    let mut tokens = before.iter();
    while let Some(token) = tokens.next() {
        let text = token.to_string_lossy();
        let Some(flag) = flag_of(&text, &globals) else {
            // Not a global flag of ours (--version, --help): TraceMind's CLI has those too.
            kept.push(token.clone());
            continue;
        };
        let value = (flag.takes_value && !flag.inline_value)
            .then(|| tokens.next())
            .flatten();
        if flag.long.is_some_and(|long| SHARED_GLOBALS.contains(&long)) {
            kept.push(token.clone());
            kept.extend(value.cloned());
        }
    }
    kept.extend(words.iter().cloned());
    kept
}

/// `word`'s nearest of `names`, when it is within [`TYPO_DISTANCE`] edits and at most half
/// its letters are edited: `runtme` is a typo of `runtime`, but TraceMind's `run` (two edits
/// from `man`) and `ab` are words of their own.
pub fn nearest<'a>(word: &str, names: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    names
        .map(|name| (strsim::levenshtein(word, name), name))
        .filter(|(distance, _)| *distance <= TYPO_DISTANCE && 2 * *distance <= word.chars().count())
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, name)| name)
}

/// A global flag as written on the command line.
struct Flag<'a> {
    long: Option<&'a str>,
    takes_value: bool,
    /// `--flag=value`, `-fVALUE`: the value is in the same word.
    inline_value: bool,
}

/// The global flag `text` is (`--name`, `--name=value`, `-v`, `-vv`), `None` if it is none.
fn flag_of<'a>(text: &str, cmd: &'a Command) -> Option<Flag<'a>> {
    let takes_value = |arg: &clap::Arg| arg.get_action().takes_values();
    if let Some(long) = text.strip_prefix("--") {
        let (name, inline) = match long.split_once('=') {
            Some((name, _)) => (name, true),
            None => (long, false),
        };
        let arg = cmd.get_arguments().find(|a| a.get_long() == Some(name))?;
        return Some(Flag {
            long: arg.get_long(),
            takes_value: takes_value(arg),
            inline_value: inline,
        });
    }
    let shorts = text.strip_prefix('-').filter(|s| !s.is_empty())?;
    let first = shorts.chars().next()?;
    let arg = cmd.get_arguments().find(|a| a.get_short() == Some(first))?;
    let value = takes_value(arg);
    // A cluster (`-vv`, `-qv`) is ours only if every letter is a flag of ours.
    if !value
        && !shorts
            .chars()
            .all(|c| cmd.get_arguments().any(|a| a.get_short() == Some(c)))
    {
        return None;
    }
    Some(Flag {
        long: arg.get_long(),
        takes_value: value,
        inline_value: value && shorts.len() > 1,
    })
}

/// The indexes of `argv`'s words (after `argv[0]`) that are not global flags or their values,
/// up to a `--`.
fn positionals<'a>(argv: &'a [OsString], cli: &'a Command) -> impl Iterator<Item = usize> + 'a {
    let mut skip_next = false;
    argv.iter()
        .enumerate()
        .skip(1)
        .map_while(|(index, word)| (word != OsStr::new("--")).then_some((index, word)))
        .filter_map(move |(index, word)| {
            if std::mem::take(&mut skip_next) {
                return None;
            }
            let text = word.to_string_lossy();
            if !text.starts_with('-') || text == "-" {
                return Some(index);
            }
            if let Some(flag) = flag_of(&text, cli) {
                skip_next = flag.takes_value && !flag.inline_value;
            }
            None
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    use crate::cli::args::Cli;

    fn words(line: &str) -> Vec<OsString> {
        line.split_whitespace().map(OsString::from).collect()
    }

    #[test]
    fn help_for_a_tracemind_command_is_tracemind_s() {
        let cli = Cli::command();
        let cases = [
            ("tm help validate", "tm validate --help"),
            ("tm -v help dsl compile", "tm -v dsl compile --help"),
            ("tm --color never help dsl", "tm --color never dsl --help"),
            ("tm help runtime", "tm help runtime"),
            ("tm help", "tm help"),
            ("tm help help", "tm help help"),
            ("tm validate help", "tm validate help"),
        ];
        for (line, expected) in cases {
            assert_eq!(
                help_for_tracemind(words(line), &cli),
                words(expected),
                "{line}"
            );
        }
    }

    #[test]
    fn only_the_globals_tracemind_has_too_go_along() {
        let cases = [
            ("-v validate x -v", "validate x -v", "validate x -v"),
            ("--color never -q dsl --help", "dsl --help", "dsl --help"),
            (
                "-vv --engine proc --runtime-config r.yaml --color=always init demo",
                "init demo",
                "--engine proc --runtime-config r.yaml init demo",
            ),
            (
                "--max-frame-bytes 10 --executor-sha256 ab --executor-path ./e run",
                "run",
                "--executor-path ./e run",
            ),
            (
                "--engine=proc --version dsl",
                "dsl",
                "--engine=proc --version dsl",
            ),
        ];
        for (args, captured, expected) in cases {
            assert_eq!(
                tracemind_args(&words(args), &words(captured)),
                words(expected),
                "{args}"
            );
        }
    }

    #[test]
    fn near_misses_of_our_commands_are_typos_and_tracemind_s_commands_are_not() {
        let cli = Cli::command();
        let suggestion = |line: &str| {
            typo(&words(line), &cli).map(|error| {
                match error.get(ContextKind::SuggestedSubcommand) {
                    Some(ContextValue::Strings(names)) => names[0].clone(),
                    other => panic!("{other:?}"),
                }
            })
        };
        assert_eq!(suggestion("tm runtme run").as_deref(), Some("runtime"));
        assert_eq!(suggestion("tm -v verfy online").as_deref(), Some("verify"));
        assert_eq!(suggestion("tm runtime rn").as_deref(), Some("run"));
        assert_eq!(suggestion("tm mann").as_deref(), Some("man"));
        assert_eq!(
            suggestion("tm --engine proc exector new").as_deref(),
            Some("executor")
        );
        assert_eq!(suggestion("tm runtime run --flow runtme"), None);
        // trace-mind 1.2.0's commands are handed over, and short words are not typos.
        for name in [
            "plugin", "pipeline", "metrics", "approve", "init", "new", "run", "enqueue", "daemon",
            "triggers", "workers", "queue", "dlq", "dsl", "flow", "validate", "simulate", "ab",
        ] {
            assert_eq!(suggestion(&format!("tm {name}")), None, "{name}");
        }
    }
}

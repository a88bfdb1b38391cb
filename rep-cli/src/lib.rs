//! What the command lines of the rep binaries (`tm`, `rep-conformance`, `rep-replay`,
//! `rep-bridge`) share: the `completions SHELL` and `man [--dir DIR]` subcommands, generated
//! from each binary's clap command by clap_complete and clap_mangen, in one place.
//!
//! A binary adds [`ShellCommand`] to its subcommands (flattened into its own enum, or as an
//! optional subcommand beside its positional arguments) and hands it to [`ShellCommand::run`]
//! with its [`clap::CommandFactory::command`].

#![deny(missing_docs)]

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::Command;
pub use clap_complete::Shell;

/// `completions SHELL` and `man [--dir DIR]`.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum ShellCommand {
    /// Print the shell completion script (bash, zsh, fish, elvish, powershell) on stdout.
    #[command(after_help = COMPLETIONS_EXAMPLES)]
    Completions(CompletionsArgs),
    /// Print the manual page (roff) on stdout, or write it and one page per subcommand into
    /// a directory.
    #[command(after_help = MAN_EXAMPLES)]
    Man(ManArgs),
}

const COMPLETIONS_EXAMPLES: &str = "\
Examples (the binary's own name in place of tm):
  tm completions bash > ~/.local/share/bash-completion/completions/tm
  tm completions zsh > ~/.zfunc/_tm
  tm completions fish > ~/.config/fish/completions/tm.fish";

const MAN_EXAMPLES: &str = "\
Examples (the binary's own name in place of tm):
  tm man | man -l -
  tm man --dir ~/.local/share/man/man1";

/// `completions SHELL`.
#[derive(Debug, Clone, clap::Args)]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    pub shell: Shell,
}

/// `man [--dir DIR]`.
#[derive(Debug, Clone, clap::Args)]
pub struct ManArgs {
    /// Write NAME.1 and one page per subcommand (NAME-SUB.1, …) into DIR (created if
    /// missing) instead of printing NAME.1.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

/// A section of a manual page beyond clap's: `.SH TITLE`, then `text`.
#[derive(Debug, Clone, Copy)]
pub struct Section<'a> {
    /// The heading (upper case by convention: `EXAMPLES`, `EXIT STATUS`).
    pub title: &'a str,
    /// The text; its common indentation is removed.
    pub text: &'a str,
    /// Lines kept as written (commands stay copy-pasteable) rather than filled.
    pub verbatim: bool,
}

/// A manual page that cannot be written (`man --dir DIR`).
#[derive(Debug, thiserror::Error)]
#[error("cannot write the manual page {path}")]
pub struct ManError {
    /// The page or the directory.
    pub path: PathBuf,
    /// Why.
    #[source]
    pub source: rep_files::WriteError,
}

/// What [`ShellCommand::run`] produced.
#[derive(Debug)]
pub enum Outcome {
    /// Bytes for stdout (a completion script, a manual page).
    Stdout(Vec<u8>),
    /// Pages written into the directory (file names, the root page first).
    Written(Vec<String>),
}

impl ShellCommand {
    /// Runs the subcommand for `command` (the binary's whole command, from
    /// [`clap::CommandFactory::command`]); `sections` are appended to the root manual page
    /// (none: its `after_help` becomes a verbatim section).
    ///
    /// # Errors
    /// [`ManError`] when `man --dir DIR` cannot create DIR or write a page (each page is
    /// replaced atomically: an old one stays whole).
    pub fn run(&self, command: Command, sections: &[Section]) -> Result<Outcome, ManError> {
        match self {
            ShellCommand::Completions(args) => {
                Ok(Outcome::Stdout(completions(command, args.shell)))
            }
            ShellCommand::Man(ManArgs { dir: None }) => {
                Ok(Outcome::Stdout(root_page(command, sections)))
            }
            ShellCommand::Man(ManArgs { dir: Some(dir) }) => {
                let pages = pages(command, sections);
                write_pages(dir, &pages)?;
                Ok(Outcome::Written(
                    pages.into_iter().map(|(name, _)| name).collect(),
                ))
            }
        }
    }
}

/// The completion script of `shell` for `command`, named by the command's name.
pub fn completions(mut command: Command, shell: Shell) -> Vec<u8> {
    let name = command.get_name().to_owned();
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut command, name, &mut script);
    script
}

/// `command`'s page (`NAME.1`): clap's sections, then `sections`; without `sections`, its
/// `after_help` (examples, exit codes) as one verbatim section instead of clap's filled one.
pub fn page(command: Command, sections: &[Section]) -> Vec<u8> {
    let after = command
        .get_after_long_help()
        .or(command.get_after_help())
        .map(|text| text.to_string());
    let command = command
        .after_help(None::<&str>)
        .after_long_help(None::<&str>);
    let mut page = Vec::new();
    // Rendering into memory cannot fail.
    let _ = clap_mangen::Man::new(command).render(&mut page);
    let own;
    let sections = match (&after, sections) {
        (Some(text), []) => {
            own = after_help_section(text);
            std::slice::from_ref(&own)
        }
        _ => sections,
    };
    for section in sections {
        page.extend_from_slice(roff_section(section).as_bytes());
    }
    page
}

/// The root page and one per visible subcommand at any depth, as `(file name, roff)`: the
/// pages of `man --dir`. `help` and hidden subcommands get none.
pub fn pages(command: Command, sections: &[Section]) -> Vec<(String, Vec<u8>)> {
    let mut root = command.disable_help_subcommand(true);
    root.build();
    let mut pages = vec![(
        format!("{}.1", root.get_name()),
        root_page(root.clone(), sections),
    )];
    subcommand_pages(&root, &mut pages);
    pages
}

/// The root page as `man` prints it and `man --dir` writes it: without the `help`
/// subcommand, which has no page of its own.
fn root_page(command: Command, sections: &[Section]) -> Vec<u8> {
    page(command.disable_help_subcommand(true), sections)
}

fn subcommand_pages(command: &Command, pages: &mut Vec<(String, Vec<u8>)>) {
    for sub in command.get_subcommands().filter(|s| !s.is_hide_set()) {
        let name = clap_mangen::Man::new(sub.clone()).get_filename();
        pages.push((name, page(sub.clone(), &[])));
        subcommand_pages(sub, pages);
    }
}

/// Writes `pages` into `dir` (created if missing), each atomically (rep-files).
///
/// # Errors
/// [`ManError`] naming the directory or the page.
pub fn write_pages(dir: &Path, pages: &[(String, Vec<u8>)]) -> Result<(), ManError> {
    std::fs::create_dir_all(dir).map_err(|source| ManError {
        path: dir.to_path_buf(),
        source: source.into(),
    })?;
    for (name, page) in pages {
        let path = dir.join(name);
        rep_files::write_atomic(&path, page).map_err(|source| ManError { path, source })?;
    }
    Ok(())
}

/// Writes `bytes` on stdout; a closed stdout (EPIPE) is not an error: its reader had enough.
///
/// # Errors
/// Any other write error.
pub fn print_stdout(bytes: &[u8]) -> std::io::Result<()> {
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(bytes).and_then(|()| stdout.flush()) {
        Err(error) if error.kind() != std::io::ErrorKind::BrokenPipe => Err(error),
        _ => Ok(()),
    }
}

/// `after_help` as a section: "EXAMPLES" when it begins with `Examples` (a bare `Examples:`
/// line then goes), else "NOTES"; verbatim either way.
fn after_help_section(text: &str) -> Section<'_> {
    let title = match text.starts_with("Examples") {
        true => "EXAMPLES",
        false => "NOTES",
    };
    let text = text.strip_prefix("Examples:\n").unwrap_or(text);
    Section {
        title,
        text,
        verbatim: true,
    }
}

fn roff_section(section: &Section) -> String {
    let title = if section.title.contains(' ') {
        format!("\"{}\"", section.title)
    } else {
        section.title.to_owned()
    };
    let mut out = format!(".SH {title}\n");
    if section.verbatim {
        out.push_str(".nf\n");
    }
    out.push_str(&roff_lines(section.text));
    if section.verbatim {
        out.push_str(".fi\n");
    }
    out
}

/// `text` as roff input lines: common indentation removed, backslashes and hyphens escaped
/// (a `-` could print as a typographic hyphen, which a shell does not take for an option
/// dash), no line starting with a control character.
fn roff_lines(text: &str) -> String {
    let indent = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.len() - l.trim_start().len())
        .min()
        .unwrap_or(0);
    let mut out = String::new();
    for line in text.lines() {
        let line = line.get(indent..).unwrap_or_default();
        let escaped = line.replace('\\', "\\e").replace('-', "\\-");
        if escaped.starts_with(['.', '\'']) {
            out.push_str("\\&");
        }
        out.push_str(&escaped);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // tests unwrap: a failure is the report

    use super::*;

    fn demo() -> Command {
        Command::new("demo")
            .about("A demo")
            .after_help("Examples:\n  demo run --fast\n\nExit codes: 0 ok")
            .subcommand(
                Command::new("run")
                    .about("Runs")
                    .arg(clap::arg!(--fast "Fast")),
            )
            .subcommand(Command::new("secret").hide(true))
    }

    #[test]
    fn roff_keeps_dashes_and_backslashes_literal() {
        assert_eq!(
            roff_lines("  tm --flow x \\\n  .hidden"),
            "tm \\-\\-flow x \\e\n\\&.hidden\n"
        );
    }

    #[test]
    fn after_help_becomes_a_verbatim_examples_section() {
        let page = String::from_utf8(page(demo(), &[])).unwrap();
        assert!(page.contains(".TH demo 1"), "{page}");
        assert!(
            page.contains(".SH EXAMPLES\n.nf\n  demo run \\-\\-fast\n\nExit codes: 0 ok\n.fi\n"),
            "{page}"
        );
    }

    #[test]
    fn man_dir_writes_the_root_and_each_visible_subcommand() {
        let dir = tempfile::tempdir().unwrap();
        let man = ShellCommand::Man(ManArgs {
            dir: Some(dir.path().join("man1")),
        });
        let Outcome::Written(names) = man.run(demo(), &[]).unwrap() else {
            panic!("pages expected");
        };
        assert_eq!(names, ["demo.1", "demo-run.1"]);
        let run = std::fs::read_to_string(dir.path().join("man1/demo-run.1")).unwrap();
        assert!(run.contains(".TH demo-run 1"), "{run}");
    }

    #[test]
    fn completions_name_the_binary() {
        let script = String::from_utf8(completions(demo(), Shell::Bash)).unwrap();
        assert!(script.contains("complete -F _demo"), "{script}");
    }
}

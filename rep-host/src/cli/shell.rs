//! `tm completions <shell>` and `tm man`: shell integration generated from the command tree.

use clap::CommandFactory;

use super::args::{Cli, CompletionsArgs, EXAMPLES, EXIT_CODES, ManArgs, TRACEMIND_COMMANDS};
use super::error::Failure;
use super::note;
use super::output::print_stdout;

/// Prints the completion script of `shell` for tm's own commands.
pub fn completions(args: &CompletionsArgs) -> Result<(), Failure> {
    let mut command = Cli::command();
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut command, "tm", &mut script);
    print_stdout(&script)?;
    Ok(())
}

/// Prints `tm.1`, or writes it and a page per subcommand (`tm-runtime-run.1`, …) into
/// `--dir` (each replaced atomically, as rep-files writes a file a user names).
pub fn man(args: &ManArgs) -> Result<(), Failure> {
    match &args.dir {
        None => print_stdout(&root_page())?,
        Some(dir) => {
            std::fs::create_dir_all(dir).map_err(|source| Failure::Man {
                path: dir.clone(),
                source: source.into(),
            })?;
            let mut pages = vec![("tm.1".to_owned(), root_page())];
            let mut root = Cli::command().disable_help_subcommand(true);
            root.build();
            subcommand_pages(&root, &mut pages);
            for (name, page) in pages {
                let path = dir.join(name);
                rep_files::write_atomic(&path, &page)
                    .map_err(|source| Failure::Man { path, source })?;
            }
            note(&format!("manual pages written to {}", dir.display()));
        }
    }
    Ok(())
}

/// A page per visible subcommand of `command`, at any depth: `(file name, roff)`.
fn subcommand_pages(command: &clap::Command, pages: &mut Vec<(String, Vec<u8>)>) {
    for sub in command.get_subcommands().filter(|s| !s.is_hide_set()) {
        subcommand_pages(sub, pages);
        let man = clap_mangen::Man::new(sub.clone());
        let mut page = Vec::new();
        // Rendering into memory cannot fail.
        let _ = man.render(&mut page);
        pages.push((man.get_filename(), page));
    }
}

/// `tm.1`: clap's page, with the examples and exit codes as sections of their own, their
/// lines kept as written (no fill: commands stay copy-pasteable).
fn root_page() -> Vec<u8> {
    let command = Cli::command().after_help(None::<&str>);
    let mut page = Vec::new();
    // Rendering into memory cannot fail.
    let _ = clap_mangen::Man::new(command).render(&mut page);
    let mut extra = String::new();
    extra.push_str(".SH EXAMPLES\n.nf\n");
    extra.push_str(&roff_lines(EXAMPLES));
    extra.push_str(".fi\n.SH \"TRACEMIND COMMANDS\"\n");
    extra.push_str(&roff_lines(TRACEMIND_COMMANDS));
    extra.push_str(".SH \"EXIT STATUS\"\n.nf\n");
    extra.push_str(&roff_lines(EXIT_CODES));
    extra.push_str(".fi\n");
    page.extend_from_slice(extra.as_bytes());
    page
}

/// `text` as roff input lines: backslashes and hyphens escaped (a `-` could print as a
/// typographic hyphen, which a shell does not take for an option dash), no line starting
/// with a control character.
fn roff_lines(text: &str) -> String {
    // The page indents sections itself: the common indentation goes.
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
    use super::*;

    #[test]
    fn roff_keeps_dashes_and_backslashes_literal() {
        assert_eq!(
            roff_lines("  tm --flow x \\\n  .hidden"),
            "tm \\-\\-flow x \\e\n\\&.hidden\n"
        );
    }
}

//! Colour on a terminal, by one rule for every binary: [`auto`] decides whether a stream is
//! coloured when the user did not say (`NO_COLOR`, <https://no-color.org>), [`paint`] wraps
//! a text in an [`anstyle::Style`]'s escape codes.

use anstyle::Style;

/// Whether a stream is coloured when the user did not say (`--color auto`): it is a terminal
/// (`is_terminal`) and `NO_COLOR` is unset or empty.
pub fn auto(is_terminal: bool) -> bool {
    is_terminal && std::env::var_os("NO_COLOR").is_none_or(|value| value.is_empty())
}

/// `text` in `style` when `on` (its SGR escape codes, then a reset), else `text` as is.
pub fn paint(text: &str, style: Style, on: bool) -> String {
    if on {
        format!("{style}{text}{style:#}")
    } else {
        text.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use anstyle::AnsiColor;

    #[test]
    fn paint_wraps_in_the_style_and_resets() {
        let green = Style::new().fg_color(Some(AnsiColor::Green.into()));
        assert_eq!(paint("ok", green, true), "\x1b[32mok\x1b[0m");
        assert_eq!(paint("ok", green.bold(), false), "ok");
        let bold_red = Style::new().bold().fg_color(Some(AnsiColor::Red.into()));
        assert!(paint("no", bold_red, true).ends_with("no\x1b[0m"));
    }

    #[test]
    fn nothing_is_coloured_off_a_terminal() {
        assert!(!auto(false));
    }
}

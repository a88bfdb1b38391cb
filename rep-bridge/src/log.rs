//! The bridge's stderr: rep-process's non-blocking sink, so a slow, full or closed stderr
//! never stalls forwarding or changes how the bridge ends. When its queue is full, foreign
//! lines (the remote's, CMD's) are dropped and counted ("rep-bridge: N log lines dropped");
//! the bridge's own lines are kept.

use std::time::Duration;

use rep_process::{ErrorLines, stderr_sink};

/// A log line longer than this is cut (bytes of text, before the marker).
pub const MAX_LINE_CHARS: usize = 1000;

/// Names the bridge in the sink's drop note and its error lines (`rep-bridge: error: …`).
pub fn init() {
    stderr_sink().set_identity("rep-bridge", "log", ErrorLines::Named);
}

/// Logs `rep-bridge: MESSAGE` as one line.
pub fn line(message: &str) {
    stderr_sink().own_line(&format!("rep-bridge: {message}"));
}

/// Logs `error` and its causes (rep-process's one chain printer).
pub fn error(error: &dyn std::error::Error) {
    stderr_sink().error(error);
}

/// Logs a line written by someone else (the remote, the spawned command) after `prefix`,
/// made printable (see [`printable`]); dropped and counted when stderr cannot keep up.
pub fn foreign(prefix: &str, text: &[u8]) {
    stderr_sink().foreign_line(format!("{prefix}{}", printable(text)).as_bytes());
}

/// Logs a line written by someone else that says nothing unexpected (a simulator's exit line
/// when the bridge stops it, a boot banner) as `rep-bridge: debug: PREFIX…`, which a host
/// records and shows only at debug verbosity ([`rep_process::DEBUG_TAG`]).
pub fn debug(prefix: &str, text: &[u8]) {
    stderr_sink().foreign_line(
        format!(
            "rep-bridge: {}{prefix}{}",
            rep_process::DEBUG_TAG,
            printable(text)
        )
        .as_bytes(),
    );
}

/// Waits at most `timeout` for every line queued so far to be written.
pub fn flush(timeout: Duration) {
    stderr_sink().flush(timeout);
}

/// `text` as one printable line: invalid UTF-8 replaced, control characters escaped, cut to
/// [`MAX_LINE_CHARS`] characters with the total length noted.
pub fn printable(text: &[u8]) -> String {
    let lossy = String::from_utf8_lossy(text);
    let mut out = String::with_capacity(lossy.len().min(MAX_LINE_CHARS + 32));
    for (count, c) in lossy.chars().enumerate() {
        if count == MAX_LINE_CHARS {
            out.push_str(&format!("… ({} bytes)", text.len()));
            break;
        }
        if c.is_control() && c != '\t' {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printable_escapes_controls_and_cuts_long_lines() {
        assert_eq!(printable(b"boot\x1b[0m ok\r"), "boot\\u{1b}[0m ok\\r");
        assert_eq!(printable(b"\xff\xfeA"), "\u{fffd}\u{fffd}A");
        let long = vec![b'x'; MAX_LINE_CHARS + 5];
        let cut = printable(&long);
        assert!(cut.ends_with(&format!("… ({} bytes)", MAX_LINE_CHARS + 5)));
        assert_eq!(cut.chars().filter(|&c| c == 'x').count(), MAX_LINE_CHARS);
    }
}

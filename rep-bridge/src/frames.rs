//! What a line from the remote is: a frame for the host, or something to log.

use serde_json::value::RawValue;

/// How far into a line a frame may start after noise glued to it (see [`classify`]); it bounds
/// the attempts to parse one line.
pub const MAX_NOISE_PREFIX: usize = 64;

/// What a line from the remote is.
#[derive(Debug, PartialEq, Eq)]
pub enum RemoteLine {
    /// A JSON object from byte `start` on: a frame for the host. A non-blank `line[..start]`
    /// is noise that arrived without a newline before the frame (a prompt, a byte of UART
    /// garbage at reset), logged apart.
    Frame {
        /// Where the object starts.
        start: usize,
    },
    /// Empty or whitespace only (a keep-alive, the `\r\n` of a serial console): dropped.
    Blank,
    /// Anything else — a boot banner, printf debugging on a shared UART: a log line for
    /// stderr, never a frame.
    Log,
}

/// Classifies one line from the remote (without its `\n`). Only a complete, valid JSON
/// object is a frame (the check builds no value); it may follow up to
/// [`MAX_NOISE_PREFIX`] bytes of noise.
pub fn classify(line: &[u8]) -> RemoteLine {
    let Some(first) = line.iter().position(|b| !b.is_ascii_whitespace()) else {
        return RemoteLine::Blank;
    };
    let limit = line.len().min(first + MAX_NOISE_PREFIX + 1);
    line[..limit]
        .iter()
        .enumerate()
        .skip(first)
        .filter(|&(_, &b)| b == b'{')
        .find(|&(start, _)| serde_json::from_slice::<&RawValue>(&line[start..]).is_ok())
        .map_or(RemoteLine::Log, |(start, _)| RemoteLine::Frame { start })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_frame_glued_to_noise_is_found() {
        assert_eq!(classify(b"rep> {\"id\":1}"), RemoteLine::Frame { start: 5 });
        assert_eq!(
            classify(b"\xff\x00{\"id\":1}"),
            RemoteLine::Frame { start: 2 }
        );
        assert_eq!(
            classify(b"a {b} {\"id\":1}"),
            RemoteLine::Frame { start: 6 }
        );
        let mut far = vec![b'.'; MAX_NOISE_PREFIX + 1];
        far.extend_from_slice(b"{}");
        assert_eq!(classify(&far), RemoteLine::Log);
    }

    #[test]
    fn only_json_objects_are_frames() {
        assert_eq!(
            classify(br#"{"jsonrpc":"2.0","id":1,"result":{}}"#),
            RemoteLine::Frame { start: 0 }
        );
        assert_eq!(
            classify(br#"  {"a": [1, "}"]} "#),
            RemoteLine::Frame { start: 2 }
        );
        assert_eq!(classify(b""), RemoteLine::Blank);
        assert_eq!(classify(b" \t"), RemoteLine::Blank);
        for log in [
            &b"U-Boot 2024.01 (Jan 01 2024)"[..],
            b"{x=1}",
            b"state {x} {y=2}",
            b"{\"unterminated\": ",
            b"[1,2]",
            b"42",
            b"\xff\xfe",
        ] {
            assert_eq!(
                classify(log),
                RemoteLine::Log,
                "{:?}",
                String::from_utf8_lossy(log)
            );
        }
    }
}

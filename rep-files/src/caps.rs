//! The size caps of the files a user names: one place for every bound (the README's "Caps"
//! table lists the same). A file over its cap is refused with an error naming the cap; it is
//! never read whole.

use std::fmt;

/// The most bytes a file of one kind may hold, and what that kind is called in messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cap {
    /// The bound, in bytes.
    pub bytes: u64,
    /// What the files it bounds are, for messages: "manifests", "Flow IR files", …
    pub what: &'static str,
}

const MIB: u64 = 1024 * 1024;

/// `manifest.json` (Flow IR v1.0.0, "Manifest"): 16 MiB, thousands of entries.
pub const MANIFEST: Cap = Cap {
    bytes: 16 * MIB,
    what: "manifests",
};

/// One flow's Flow IR file: 256 MiB (a 100k-node flow is about 30 MiB).
pub const FLOW_IR: Cap = Cap {
    bytes: 256 * MIB,
    what: "Flow IR files",
};

/// `runtime.yaml` (`--runtime-config`, `rep-conformance --config`): 1 MiB.
pub const RUNTIME_CONFIG: Cap = Cap {
    bytes: MIB,
    what: "runtime config files",
};

/// `--inputs @FILE` (and `@-`): 64 MiB.
pub const INPUTS: Cap = Cap {
    bytes: 64 * MIB,
    what: "run inputs",
};

/// A whole transcript (`rep-replay FILE`, `rep-conformance replay FILE`): 256 MiB.
pub const TRANSCRIPT: Cap = Cap {
    bytes: 256 * MIB,
    what: "transcripts",
};

/// One record (line) of a transcript: 64 MiB, room for a frame at the default 16 MiB frame
/// bound written as escaped text.
pub const TRANSCRIPT_LINE: Cap = Cap {
    bytes: 64 * MIB,
    what: "a transcript line",
};

/// One fixture flow of `rep-conformance run --fixtures DIR`: 16 MiB.
pub const FIXTURE: Cap = Cap {
    bytes: 16 * MIB,
    what: "conformance fixtures",
};

/// `rep-conformance run --baseline FILE`: 1 MiB.
pub const BASELINE: Cap = Cap {
    bytes: MIB,
    what: "conformance baselines",
};

/// A JSON report of `rep-conformance run --json` (`rep-conformance verify REPORT`, read by
/// `tm executor check`): 16 MiB.
pub const CONFORMANCE_REPORT: Cap = Cap {
    bytes: 16 * MIB,
    what: "conformance reports",
};

/// A case file of `tm verify online --cases DIR` (its flow, inputs and expectations):
/// 64 MiB, as much as `--inputs` may hold.
pub const CONTRACT_CASE: Cap = Cap {
    bytes: 64 * MIB,
    what: "case files",
};

/// A case file of `rep-conformance fuzz --case FILE` (a Flow IR document and its inputs):
/// 16 MiB.
pub const FUZZ_CASE: Cap = Cap {
    bytes: 16 * MIB,
    what: "fuzz case files",
};

impl fmt::Display for Cap {
    /// The bound in the largest whole unit: `16 MiB`, `512 KiB`, `100 bytes`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&human_bytes(self.bytes))
    }
}

/// `n` bytes in the largest unit that keeps one decimal: `1.0 GiB`, `16 MiB`, `100 bytes`.
pub fn human_bytes(n: u64) -> String {
    const UNITS: [(&str, u64); 3] = [("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)];
    for (unit, size) in UNITS {
        if n >= size {
            return if n.is_multiple_of(size) {
                format!("{} {unit}", n / size)
            } else {
                format!("{:.1} {unit}", n as f64 / size as f64)
            };
        }
    }
    format!("{n} bytes")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_as_people_write_them() {
        assert_eq!(FLOW_IR.to_string(), "256 MiB");
        assert_eq!(human_bytes(1 << 30), "1 GiB");
        assert_eq!(human_bytes((1 << 30) + (1 << 29)), "1.5 GiB");
        assert_eq!(human_bytes(100), "100 bytes");
    }
}

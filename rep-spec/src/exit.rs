//! The exit codes of `tm` (REP v0.1 §5 defines those of `tm runtime run` and `tm verify
//! online`; every `tm` command uses the same table). The table of every binary family is in
//! docs/exit-codes.md.

/// A process exit code of `tm`, as REP v0.1 §5 defines them. `tm` maps every failure to one
/// of these in one function (its `cli/error.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum ExitCode {
    /// 0: the run completed.
    Completed = 0,
    /// 1: the run failed (step failure, StepFailure class).
    RunFailed = 1,
    /// 2: bad input before any executor was started: the IR failed schema/semantic
    /// validation, or the manifest, the run inputs, the configuration or the command line
    /// could not be used.
    BadInput = 2,
    /// 3: Validation class, including CapabilitiesMismatch and a language-family mismatch.
    Validation = 3,
    /// 4: RuntimeInternal class, including engine timeout and a missing or crashing executor.
    RuntimeInternal = 4,
    /// 129: the terminal closed or the session ended (SIGHUP), by shell convention (128 + 1).
    HungUp = 129,
    /// 130: the user interrupted the run (SIGINT), by shell convention (128 + 2).
    Interrupted = 130,
    /// 143: the host was asked to terminate (SIGTERM), by shell convention (128 + 15).
    Terminated = 143,
}

impl ExitCode {
    /// The numeric code handed to the operating system.
    pub fn code(self) -> u8 {
        self as u8
    }
}

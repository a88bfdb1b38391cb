//! `rep-conformance`: REP v0.1 conformance tests for any executor binary.

fn main() -> std::process::ExitCode {
    conformance::cli::main()
}

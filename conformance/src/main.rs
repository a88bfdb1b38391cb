//! `rep-conformance`: REP v0.1 conformance tests for any executor binary.

fn main() -> std::process::ExitCode {
    rep_conformance::cli::main()
}

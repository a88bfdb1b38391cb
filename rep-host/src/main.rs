//! `tm`: run compiled TraceMind flows on an out-of-process REP v0.1 executor.

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}

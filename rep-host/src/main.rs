//! `tm`: run compiled TraceMind flows on an out-of-process REP v0.1 executor.

mod cli;

/// mimalloc: parsing and printing large runs is allocation-heavy (glibc's malloc was a large
/// share of the instructions on a 10k-node flow).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    cli::main()
}

//! `tm`: run compiled TraceMind flows on an out-of-process REP v0.1 executor.

mod cli;

/// mimalloc, without transparent huge pages: ~20% faster than glibc's malloc on large flows
/// for the same footprint (huge pages were faster still but cost ~7 MB of RSS per process;
/// see BENCHMARKS.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    cli::main()
}

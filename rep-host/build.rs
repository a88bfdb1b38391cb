//! Links `tm` with packed relative relocations (DT_RELR) on GNU/Linux.
//!
//! `tm` is a position-independent executable with ~25,000 relative relocations (pointers in
//! vtables and static tables, mostly of code it links but rarely runs): as RELA entries they
//! are 600 KB that the dynamic loader reads and applies at every start. RELR packs them into a
//! few KB, and PIE, RELRO and BIND_NOW stay as they are. GNU ld ≥ 2.38 knows the option (an
//! older one warns and ignores it); the binary then needs glibc ≥ 2.36, which it names as the
//! `GLIBC_ABI_DT_RELR` version, so an older loader refuses it with that name instead of
//! misbehaving. See BENCHMARKS.md, issue 26.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let env = std::env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    if os == "linux" && env == "gnu" {
        println!("cargo:rustc-link-arg-bin=tm=-Wl,-z,pack-relative-relocs");
    }
}

//! Nothing: this package only names the crate whose FreeRTOS kernel sources native/build.sh
//! fetches (see Cargo.toml).

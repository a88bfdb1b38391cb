//! Flow IR validation (schema + semantic rules) on arbitrary JSON documents: an error or a
//! typed IR, never a panic.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(document) = serde_json::from_slice::<serde_json::Value>(data) {
        if let Ok(ir) = flow_ir::validate(&document) {
            let _ = ir.required_step_kinds();
        }
    }
});

//! Manifest loading on arbitrary files: the input is `manifest.json`, then (after the first
//! 0xFF byte, if any) the content of `flows/f.ir.json` beside it. `Manifest::load` and
//! `load_flow` of every entry return errors, never panic. Entries whose `ir_path` leaves the
//! folder are skipped: reading `/dev/zero` as an IR is the user's own doing, not a parser bug.

#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use flow_ir::Manifest;
use libfuzzer_sys::fuzz_target;

fn folder() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("rep-fuzz-manifest-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("flows")).expect("fuzz folder");
        dir
    })
}

fuzz_target!(|data: &[u8]| {
    let (manifest, ir) = match data.iter().position(|&b| b == 0xFF) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &b""[..]),
    };
    let dir = folder();
    let path = dir.join("manifest.json");
    std::fs::write(&path, manifest).expect("write manifest");
    std::fs::write(dir.join("flows/f.ir.json"), ir).expect("write ir");
    let Ok(loaded) = Manifest::load(&path) else {
        return;
    };
    for entry in &loaded.entries {
        let ir_path = std::path::Path::new(&entry.ir_path);
        let inside = !ir_path.is_absolute()
            && ir_path
                .components()
                .all(|c| matches!(c, std::path::Component::Normal(_)));
        if inside && loaded.ir_path(entry).is_file() {
            let _ = loaded.load_flow(&entry.name);
        }
    }
});

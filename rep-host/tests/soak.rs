//! 200 sequential runs through the host library must not leak file descriptors or child
//! processes.

#![allow(clippy::unwrap_used)] // tests unwrap: a failure is the report

use std::path::{Path, PathBuf};
use std::time::Duration;

use flow_ir::Manifest;
use rep_host::{EnvPolicy, ExecutorCommand, Interrupts, RunRequest, Tap, run};
use rep_spec::{DEFAULT_MAX_FRAME_BYTES, RunStatus};

fn mock_executor() -> PathBuf {
    let path = Path::new(env!("CARGO_BIN_EXE_tm")).with_file_name("mock-executor");
    assert!(
        path.is_file(),
        "{} is not built: run `cargo build --workspace`",
        path.display()
    );
    path
}

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

fn children() -> usize {
    let me = std::process::id().to_string();
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| std::fs::read_to_string(e.ok()?.path().join("stat")).ok())
        .filter(|stat| {
            stat.rsplit(')')
                .next()
                .and_then(|rest| rest.split_whitespace().nth(1))
                == Some(me.as_str())
        })
        .count()
}

#[test]
fn two_hundred_sequential_runs_leak_no_descriptor_or_process() {
    let manifest_path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../examples/plant-monitor/out/dsl/manifest.json");
    let loaded = Manifest::load(&manifest_path)
        .unwrap()
        .load_flow("plant-monitor")
        .unwrap();
    let request = RunRequest {
        ir: loaded.document.clone(),
        required_step_kinds: loaded.ir.required_step_kinds(),
        inputs: serde_json::from_str(
            &std::fs::read_to_string(
                Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/plant-monitor/input.json"),
            )
            .unwrap(),
        )
        .unwrap(),
        executor: ExecutorCommand::for_path(&mock_executor(), &[], EnvPolicy::default()),
        engine_timeout: Duration::from_secs(30),
        max_frame_bytes: DEFAULT_MAX_FRAME_BYTES,
        allow_shell: false,
        log_json: false,
        tap: Tap::none(),
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut baseline = None;
    for i in 0..200 {
        let outcome = runtime.block_on(run(request.clone(), &mut [], &mut Interrupts::none()));
        assert_eq!(
            outcome.status,
            RunStatus::Completed,
            "run {i}: {:?}",
            outcome.error
        );
        if i == 9 {
            // After warm-up (runtime threads, lazily opened files) the counts must stay put.
            baseline = Some((open_fds(), children()));
        }
    }
    let (fds, kids) = baseline.unwrap();
    assert!(
        open_fds() <= fds,
        "file descriptors grew from {fds} to {}",
        open_fds()
    );
    assert!(
        children() <= kids,
        "child processes grew from {kids} to {}",
        children()
    );
    assert_eq!(children(), 0, "no executor left behind");
}

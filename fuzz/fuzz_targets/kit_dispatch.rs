//! The executor kit's request dispatcher (`Executor::handle_frame`, its public entry point)
//! on arbitrary request lines, with the mock executor's handlers: every line is answered or
//! ignored (notifications) without a panic, and every answer serializes to one JSON line.

#![no_main]

use libfuzzer_sys::fuzz_target;
use rep_spec::Frame;

fuzz_target!(|data: &[u8]| {
    // The kit needs tokio's timers (step timeouts, retries), as under #[tokio::main].
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let executor = mock_executor::executor();
    runtime.block_on(async {
        for line in data.split(|&b| b == b'\n') {
            if let Some(response) = executor.handle_frame(&Frame::Line(line.to_vec())) {
                let text = serde_json::to_string(&response).expect("responses serialize");
                assert!(!text.contains('\n'), "one line per response");
            }
            // Let spawned runs make progress between requests.
            tokio::task::yield_now().await;
        }
    });
});

//! `tm`'s log lines go to stderr through rep-process's non-blocking sink, so logging never
//! blocks a run either.

use std::io::Write;

use rep_process::stderr_sink;

/// A [`tracing_subscriber::fmt::MakeWriter`] that sends each log event to the sink as one
/// host line, so logging never blocks the run either.
#[derive(Debug, Clone, Copy, Default)]
pub struct SinkWriter;

/// One log event being formatted; queued when dropped.
pub struct SinkEvent {
    buf: Vec<u8>,
}

impl Write for SinkEvent {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for SinkEvent {
    fn drop(&mut self) {
        let text = String::from_utf8_lossy(&self.buf);
        let text = text.strip_suffix('\n').unwrap_or(&text);
        if !text.is_empty() {
            stderr_sink().own_line(text);
        }
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for SinkWriter {
    type Writer = SinkEvent;

    fn make_writer(&'a self) -> SinkEvent {
        SinkEvent { buf: Vec::new() }
    }
}

//! A serial line as a connection: raw 8N1, no flow control, through the `serialport` crate.
//!
//! The port is driven by two threads doing blocking I/O (a UART's pace must not stall the
//! bridge's event loop): one reads into a channel, one writes what the bridge queues.
//! Their errors (a board unplugged, a pty whose other side closed) reach the bridge as a
//! read error naming the device.

use std::io::{self, Read, Write};
use std::path::Path;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use serialport::{ClearBuffer, DataBits, FlowControl, Parity, SerialPort, StopBits, TTYPort};
use tokio::io::{AsyncRead, AsyncReadExt, DuplexStream, ReadBuf};
use tokio::sync::mpsc;

use crate::transport::Connection;

/// How long a blocked read or write of the port waits before checking whether the bridge
/// still wants it (the threads end within this once the bridge closes the connection).
const POLL: Duration = Duration::from_millis(100);
/// Bytes read or written at once.
const CHUNK: usize = 16 * 1024;

/// Opens `device` as a raw 8N1 serial line at `baud` bits per second, exclusively, and
/// drops whatever it received before (line noise, a half-sent banner).
///
/// # Errors
/// The device is missing (`NotFound`), held by another program (`ResourceBusy`), not a
/// terminal, or cannot be configured.
pub fn open(device: &Path, baud: u32) -> io::Result<Connection> {
    let port = serialport::new(device.to_string_lossy(), baud)
        .data_bits(DataBits::Eight)
        .parity(Parity::None)
        .stop_bits(StopBits::One)
        .flow_control(FlowControl::None)
        .timeout(POLL)
        .open_native()
        .map_err(to_io)?;
    port.clear(ClearBuffer::Input).map_err(to_io)?;
    let write_port = port.try_clone_native().map_err(to_io)?;

    let (received, reader) = mpsc::channel(8);
    let (writer, outgoing) = tokio::io::duplex(CHUNK);
    let runtime = tokio::runtime::Handle::current();
    let errors = received.clone();
    std::thread::Builder::new()
        .name("serial-read".into())
        .spawn(move || read_port(port, &received))?;
    std::thread::Builder::new()
        .name("serial-write".into())
        .spawn(move || write_port_from(write_port, outgoing, &runtime, &errors))?;
    Ok(Connection {
        reader: Box::new(ChannelReader {
            chunks: reader,
            pending: Vec::new(),
            offset: 0,
        }),
        writer: Box::new(writer),
    })
}

fn to_io(error: serialport::Error) -> io::Error {
    use serialport::ErrorKind;
    match error.kind() {
        ErrorKind::Io(kind) => io::Error::new(kind, error.description),
        // EBUSY: another program holds the port.
        ErrorKind::NoDevice => io::Error::new(io::ErrorKind::ResourceBusy, error.description),
        ErrorKind::InvalidInput => io::Error::new(io::ErrorKind::InvalidInput, error.description),
        ErrorKind::Unknown => io::Error::other(error.description),
    }
}

type Chunk = io::Result<Vec<u8>>;

/// Reads the port until it fails or the bridge stops listening.
fn read_port(mut port: TTYPort, received: &mpsc::Sender<Chunk>) {
    let mut buf = vec![0u8; CHUNK];
    loop {
        match port.read(&mut buf) {
            Ok(0) => {
                let _ = received.blocking_send(Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "end of file on the device",
                )));
                return;
            }
            Ok(n) => {
                if received.blocking_send(Ok(buf[..n].to_vec())).is_err() {
                    return;
                }
            }
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::TimedOut | io::ErrorKind::Interrupted
                ) =>
            {
                if received.is_closed() {
                    return;
                }
            }
            Err(e) => {
                let _ = received.blocking_send(Err(e));
                return;
            }
        }
    }
}

/// Writes what the bridge queues until it closes its side; a failed write is reported
/// through the read channel.
fn write_port_from(
    mut port: TTYPort,
    mut outgoing: DuplexStream,
    runtime: &tokio::runtime::Handle,
    errors: &mpsc::Sender<Chunk>,
) {
    let mut buf = vec![0u8; CHUNK];
    loop {
        let n = match runtime.block_on(outgoing.read(&mut buf)) {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        if let Err(e) = write_all(&mut port, &buf[..n], errors) {
            let _ = errors.blocking_send(Err(e));
            return;
        }
    }
}

/// `write_all`, waiting out a port that does not take bytes yet (a board applying flow
/// control), as long as the bridge is listening.
fn write_all(port: &mut TTYPort, mut bytes: &[u8], errors: &mpsc::Sender<Chunk>) -> io::Result<()> {
    while !bytes.is_empty() {
        match port.write(bytes) {
            Ok(0) => return Err(io::Error::from(io::ErrorKind::WriteZero)),
            Ok(n) => bytes = &bytes[n..],
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::TimedOut | io::ErrorKind::Interrupted
                ) =>
            {
                if errors.is_closed() {
                    return Ok(());
                }
            }
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// The read thread's chunks as an [`AsyncRead`]; its error as a read error; the end of
/// the channel as EOF.
struct ChannelReader {
    chunks: mpsc::Receiver<Chunk>,
    pending: Vec<u8>,
    offset: usize,
}

impl AsyncRead for ChannelReader {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.offset == self.pending.len() {
            match ready!(self.chunks.poll_recv(cx)) {
                Some(Ok(chunk)) => {
                    self.pending = chunk;
                    self.offset = 0;
                }
                Some(Err(error)) => return Poll::Ready(Err(error)),
                None => return Poll::Ready(Ok(())),
            }
        }
        let this = &mut *self;
        let n = buf.remaining().min(this.pending.len() - this.offset);
        buf.put_slice(&this.pending[this.offset..this.offset + n]);
        this.offset += n;
        Poll::Ready(Ok(()))
    }
}

//! Forwarding whole frames (REP v0.1 §1): host stdin → remote, remote → host stdout.
//!
//! Both directions read through rep-spec's bounded [`FrameReader`] and write only complete
//! lines, one write per frame, so a frame is never split or interleaved with anything, and a
//! line passing the frame bound ends the bridge as soon as the bound is passed. From the
//! remote, only JSON objects reach stdout; any other line (a boot banner, debug output on a
//! shared UART) is logged on stderr.
//!
//! Line noise: on connecting, the bridge sends the remote a newline before anything else, so
//! that bytes the remote received before (a UART at power-up, a glitch as the port opened) end
//! there instead of gluing onto the host's first frame; REP executors ignore blank lines, and
//! the native firmware drops everything up to the first newline after reset. Whatever the
//! remote answers to that noise during `--settle-ms` (an error with `id: null`) is logged,
//! never forwarded: the host's frames are held back until then, so no such error can be
//! meant for it. With a settle time, a second newline goes out when it ends, before the first
//! frame: a remote that was still resetting or booting when the first came may have lost it.

use std::time::Duration;

use rep_spec::{Frame, FrameReader, LineFramer};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::time::Instant;

use crate::error::BridgeError;
use crate::frames::{RemoteLine, classify};
use crate::log;
use crate::transport::Connection;

/// How frames are forwarded.
#[derive(Debug, Clone)]
pub struct Options {
    /// Longest line accepted from either side, in bytes (the `\n` not counted).
    pub max_frame_bytes: usize,
    /// How long after connecting the host's frames are held back (a board resetting on
    /// open); what the remote sends meanwhile is logged, and a partial line it left is
    /// dropped when the time is up.
    pub settle: Duration,
}

/// Forwards until the host closes stdin (`Ok`: everything read was sent and the
/// connection's sending side is shut down) or a side fails.
///
/// # Errors
/// The first failure of either direction (see [`BridgeError`]); `transport` names the
/// remote in it.
pub async fn forward<HR, HW>(
    host_in: HR,
    host_out: HW,
    remote: Connection,
    transport: &str,
    options: &Options,
) -> Result<(), BridgeError>
where
    HR: AsyncRead + Unpin,
    HW: AsyncWrite + Unpin,
{
    let Connection { reader, writer } = remote;
    tokio::select! {
        result = host_to_remote(host_in, writer, transport, options) => result,
        error = remote_to_host(reader, host_out, transport, options) => Err(error),
    }
}

async fn host_to_remote<R, W>(
    host: R,
    mut remote: W,
    transport: &str,
    options: &Options,
) -> Result<(), BridgeError>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let write_failed = |error| BridgeError::RemoteWrite {
        transport: transport.to_owned(),
        error,
    };
    // A remote that is already gone shows it on the reading side ("closed by the remote") or
    // at the first frame: a failure of this newline alone is not reported.
    if remote.write_all(b"\n").await.is_ok() {
        let _ = remote.flush().await;
    }
    if !options.settle.is_zero() {
        tokio::time::sleep(options.settle).await;
        // A remote that was resetting or booting meanwhile (a board resetting on open, a
        // firmware in QEMU setting up its UART) may have lost that newline; another one, now
        // that it listens, ends whatever it received since.
        if remote.write_all(b"\n").await.is_ok() {
            let _ = remote.flush().await;
        }
    }
    let mut frames = FrameReader::new(host, options.max_frame_bytes);
    let mut out = Vec::new();
    loop {
        // An unterminated last line is still a frame: it goes out terminated.
        match frames.next_frame().await.map_err(BridgeError::HostRead)? {
            Some(Frame::Line(line)) => {
                remote
                    .write_all(terminated(&mut out, &line))
                    .await
                    .map_err(write_failed)?;
                remote.flush().await.map_err(write_failed)?;
            }
            Some(Frame::TooLong { len }) => {
                return Err(BridgeError::HostTooLong {
                    len,
                    max: options.max_frame_bytes,
                });
            }
            None => {
                // The remote sees EOF (REP: "shut down"); a failure here changes nothing.
                let _ = remote.shutdown().await;
                return Ok(());
            }
        }
    }
}

async fn remote_to_host<R, W>(
    mut remote: R,
    mut host: W,
    transport: &str,
    options: &Options,
) -> BridgeError
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let closed = || BridgeError::RemoteClosed {
        transport: transport.to_owned(),
    };
    let read_failed = |error| BridgeError::RemoteRead {
        transport: transport.to_owned(),
        error,
    };
    if !options.settle.is_zero() {
        match settle(&mut remote, options).await {
            Ok(true) => {}
            Ok(false) => return closed(),
            Err(error) => return read_failed(error),
        }
    }
    let mut frames = FrameReader::new(remote, options.max_frame_bytes);
    // Lines before the remote's first frame are its boot banner: expected, logged at debug.
    let mut booted = false;
    let mut out = Vec::new();
    loop {
        let line = match frames.next_frame().await {
            Ok(Some(Frame::Line(line))) => line,
            Ok(Some(Frame::TooLong { len })) => {
                return BridgeError::RemoteTooLong {
                    transport: transport.to_owned(),
                    len,
                    max: options.max_frame_bytes,
                };
            }
            Ok(None) => return closed(),
            Err(error) => return read_failed(error),
        };
        match classify(&line) {
            RemoteLine::Frame { start } => {
                log_remote_line(&line[..start], booted);
                booted = true;
                if let Err(error) = host.write_all(terminated(&mut out, &line[start..])).await {
                    return BridgeError::HostWrite(error);
                }
                if let Err(error) = host.flush().await {
                    return BridgeError::HostWrite(error);
                }
            }
            RemoteLine::Blank => {}
            RemoteLine::Log => log_remote_line(&line, booted),
        }
    }
}

/// `line` and its `\n` in `out`, for one write: a buffer reused from frame to frame costs a
/// copy, where pushing the `\n` onto the line itself grew (reallocated) every frame.
fn terminated<'a>(out: &'a mut Vec<u8>, line: &[u8]) -> &'a [u8] {
    out.clear();
    out.extend_from_slice(line);
    out.push(b'\n');
    out
}

/// The settle time after connecting: logs the remote's lines until it is over (a boot banner,
/// the remote's `id: null` error answering line noise: nothing of it is for the host, whose
/// frames are held back meanwhile) and drops a partial line left then, so it cannot glue onto
/// the first frame. `Ok(false)` when the remote closed meanwhile.
async fn settle<R: AsyncRead + Unpin>(remote: &mut R, options: &Options) -> std::io::Result<bool> {
    let until = Instant::now() + options.settle;
    let mut framer = LineFramer::new(options.max_frame_bytes);
    let (mut chunk, mut lines) = (vec![0u8; 16 * 1024], Vec::new());
    loop {
        tokio::select! {
            read = remote.read(&mut chunk) => {
                let n = read?;
                if n == 0 {
                    return Ok(false);
                }
                framer.feed(&chunk[..n], &mut lines);
                for frame in lines.drain(..) {
                    if let Frame::Line(line) = frame {
                        log_remote_line(&line, false);
                    }
                }
            }
            () = tokio::time::sleep_until(until) => {
                if let Some(Frame::Line(partial)) = framer.finish() {
                    log_remote_line(&partial, false);
                }
                return Ok(true);
            }
        }
    }
}

/// Logs a line of the remote that is not a frame: at debug level before its first frame
/// (`booted` false: a boot banner, a prompt), else as `rep-bridge: remote: …`.
fn log_remote_line(line: &[u8], booted: bool) {
    if line.iter().all(u8::is_ascii_whitespace) {
        return;
    }
    if booted {
        log::foreign("rep-bridge: remote: ", line);
    } else {
        log::debug("remote: ", line);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // tests unwrap: a failure is the report

    use super::*;
    use tokio::io::{DuplexStream, duplex};

    /// A bridge over in-memory pipes: (host writes, host reads, remote reads, remote writes,
    /// the forwarding task).
    struct Rig {
        host_in: DuplexStream,
        host_out: DuplexStream,
        remote: DuplexStream,
        done: tokio::task::JoinHandle<Result<(), BridgeError>>,
    }

    fn rig(max_frame_bytes: usize, settle: Duration) -> Rig {
        let (host_in, bridge_in) = duplex(1 << 20);
        let (bridge_out, host_out) = duplex(1 << 20);
        let (remote, bridge_remote) = duplex(1 << 20);
        let (reader, writer) = tokio::io::split(bridge_remote);
        let connection = Connection {
            reader: Box::new(reader),
            writer: Box::new(writer),
        };
        let options = Options {
            max_frame_bytes,
            settle,
        };
        let done = tokio::spawn(async move {
            forward(bridge_in, bridge_out, connection, "test remote", &options).await
        });
        Rig {
            host_in,
            host_out,
            remote,
            done,
        }
    }

    async fn read_some(from: &mut DuplexStream) -> Vec<u8> {
        let mut buf = vec![0u8; 1 << 16];
        let n = from.read(&mut buf).await.unwrap();
        buf.truncate(n);
        buf
    }

    /// Exactly `n` bytes from `from`.
    async fn read_exactly(from: &mut DuplexStream, n: usize) -> Vec<u8> {
        let mut buf = vec![0u8; n];
        from.read_exact(&mut buf).await.unwrap();
        buf
    }

    #[tokio::test]
    async fn the_remote_gets_a_newline_before_the_first_frame() {
        let mut rig = rig(1024, Duration::ZERO);
        assert_eq!(read_exactly(&mut rig.remote, 1).await, b"\n");
        rig.host_in.write_all(b"{\"id\":1}\n").await.unwrap();
        assert_eq!(read_some(&mut rig.remote).await, b"{\"id\":1}\n");
    }

    #[tokio::test]
    async fn frames_go_both_ways_whole() {
        let mut rig = rig(1024, Duration::ZERO);
        assert_eq!(read_exactly(&mut rig.remote, 1).await, b"\n");
        rig.host_in.write_all(b"{\"id\":1}\n{\"id\"").await.unwrap();
        assert_eq!(read_some(&mut rig.remote).await, b"{\"id\":1}\n");
        rig.host_in.write_all(b":2}\n").await.unwrap();
        assert_eq!(read_some(&mut rig.remote).await, b"{\"id\":2}\n");
        rig.remote.write_all(b"{\"result\":").await.unwrap();
        rig.remote.write_all(b"1}\r\n").await.unwrap();
        assert_eq!(read_some(&mut rig.host_out).await, b"{\"result\":1}\n");
    }

    #[tokio::test]
    async fn non_json_lines_from_the_remote_never_reach_stdout() {
        let mut rig = rig(1024, Duration::ZERO);
        rig.remote
            .write_all(b"U-Boot 2024.01\r\n\r\n{not json}\n[1]\nrep> {\"id\":1}\n")
            .await
            .unwrap();
        assert_eq!(read_some(&mut rig.host_out).await, b"{\"id\":1}\n");
    }

    #[tokio::test]
    async fn stdin_eof_sends_the_last_frame_and_closes_the_connection() {
        let mut rig = rig(1024, Duration::ZERO);
        rig.host_in
            .write_all(b"{\"a\":1}\n{\"b\":2}")
            .await
            .unwrap();
        rig.host_in.shutdown().await.unwrap();
        assert!(rig.done.await.unwrap().is_ok());
        let mut all = Vec::new();
        rig.remote.read_to_end(&mut all).await.unwrap();
        assert_eq!(all, b"\n{\"a\":1}\n{\"b\":2}\n");
    }

    #[tokio::test]
    async fn the_remote_closing_is_an_error_naming_it() {
        let rig = rig(1024, Duration::ZERO);
        drop(rig.remote);
        let error = rig.done.await.unwrap().unwrap_err();
        assert_eq!(
            error.to_string(),
            "test remote: connection closed by the remote"
        );
    }

    #[tokio::test]
    async fn an_over_long_remote_line_fails_before_its_newline() {
        let mut rig = rig(16, Duration::ZERO);
        rig.remote.write_all(&[b'x'; 17]).await.unwrap();
        let error = rig.done.await.unwrap().unwrap_err();
        assert!(
            matches!(
                error,
                BridgeError::RemoteTooLong {
                    len: 17,
                    max: 16,
                    ..
                }
            ),
            "{error}"
        );
        let mut out = Vec::new();
        drop(rig.host_in);
        rig.host_out.read_to_end(&mut out).await.unwrap();
        assert!(out.is_empty(), "nothing of it reached stdout");
    }

    #[tokio::test]
    async fn an_over_long_host_frame_fails() {
        let mut rig = rig(16, Duration::ZERO);
        rig.host_in.write_all(&[b'{'; 40]).await.unwrap();
        let error = rig.done.await.unwrap().unwrap_err();
        assert!(
            matches!(error, BridgeError::HostTooLong { max: 16, .. }),
            "{error}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn settling_holds_host_frames_and_drops_a_partial_banner() {
        let mut rig = rig(1024, Duration::from_secs(2));
        rig.host_in.write_all(b"{\"id\":1}\n").await.unwrap();
        // The newline that ends line noise goes out at once; the remote's answer to the noise
        // (an `id: null` error) is dropped with the banner.
        assert_eq!(read_exactly(&mut rig.remote, 1).await, b"\n");
        rig.remote
            .write_all(
                b"booting...\r\n{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32700,\
                  \"message\":\"Parse error\"}}\nU-Boot> ",
            )
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_secs(1)).await;
        let mut buf = [0u8; 64];
        let early = tokio::time::timeout(Duration::from_millis(10), rig.remote.read(&mut buf));
        assert!(early.await.is_err(), "nothing is sent while settling");
        tokio::time::sleep(Duration::from_secs(2)).await;
        // A second newline, for a remote that lost the first while it was resetting.
        assert_eq!(read_exactly(&mut rig.remote, 1).await, b"\n");
        assert_eq!(read_some(&mut rig.remote).await, b"{\"id\":1}\n");
        // The prompt left before the settle time ended is not glued to the first frame.
        rig.remote
            .write_all(b"{\"id\":1,\"result\":{}}\n")
            .await
            .unwrap();
        assert_eq!(
            read_some(&mut rig.host_out).await,
            b"{\"id\":1,\"result\":{}}\n"
        );
    }
}

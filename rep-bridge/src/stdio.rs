//! The host's side: frames arrive on stdin and leave on stdout.

use std::os::fd::AsFd;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::unix::pipe;

/// Stdin, as a pipe driven by the runtime's reactor when it is one (as a host starts an
/// executor: no thread hop per frame), else through tokio's blocking stdio.
pub fn stdin() -> Box<dyn AsyncRead + Unpin + Send> {
    let piped = std::io::stdin()
        .as_fd()
        .try_clone_to_owned()
        .and_then(pipe::Receiver::from_owned_fd);
    match piped {
        Ok(receiver) => Box::new(receiver),
        Err(_) => Box::new(tokio::io::stdin()),
    }
}

/// Stdout, as [`stdin`] does it.
pub fn stdout() -> Box<dyn AsyncWrite + Unpin + Send> {
    let piped = std::io::stdout()
        .as_fd()
        .try_clone_to_owned()
        .and_then(pipe::Sender::from_owned_fd);
    match piped {
        Ok(sender) => Box::new(sender),
        Err(_) => Box::new(tokio::io::stdout()),
    }
}

//! The files a user names, read and written so that no path can hang a binary, grow it past
//! a cap, or be replaced when it is not a regular file (a FIFO, `/dev/null`, `/dev/stdout`,
//! a symbolic link to a device).
//!
//! - [`read`] / [`read_to_string`]: regular files only, opened without blocking, each kind
//!   of file bounded by its [`Cap`] (the table is [`caps`]).
//! - [`write_atomic`]: a regular file or a new path is replaced atomically (temporary file in
//!   the same folder, fsync, rename); a FIFO or a character device is written in place, as a
//!   shell redirection would, bounded in time; anything else is refused.
//! - [`OutputFile`]: a file written by its own thread through a bounded queue, so a reader
//!   that stalls costs records (counted and reported), never the caller's time.
//!
//! Used by every binary of the workspace and by `flow-ir`'s manifest loading. A crate of its
//! own because `flow-ir` needs it and must not depend on process handling (`rep-process`),
//! and `rep-spec` does no I/O.

#![deny(missing_docs)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod caps;
mod output;
mod read;
mod write;

pub use caps::{Cap, human_bytes};
pub use output::{Mode, OutputFile, Report};
pub use read::{ReadError, describe, open_regular, read, read_stream_to_string, read_to_string};
pub use write::{Destination, WRITE_STALL, WriteError, destination, write_atomic};

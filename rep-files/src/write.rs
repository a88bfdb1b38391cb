//! Writing a file a user named, as a careful shell redirection would, never replacing what
//! is not a regular file:
//!
//! - a **regular file or a new path** is written atomically: a temporary file in the same
//!   folder, synced, renamed over the target (the folder synced too). A reader sees the old
//!   content or the new, never half of it; a failure leaves the old file. A symbolic link to
//!   a regular file keeps being a link: the file it points to is replaced.
//! - a **FIFO or a character device** (`/dev/null`, a terminal), a symbolic link to one, or a
//!   path through `/proc` (`/dev/stdout` is `/proc/self/fd/1`: this process's own
//!   descriptor) is written **in place**, appended to, and never replaced. It is opened
//!   without blocking: a FIFO nobody reads is an error, not a hang; a reader that stops
//!   reading for [`WRITE_STALL`] is an error too.
//! - anything else (a directory, a block device, a socket) is refused.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::fd::AsFd;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::read::describe;

/// How long an in-place write waits for a reader that stopped reading before it gives up.
pub const WRITE_STALL: Duration = Duration::from_secs(10);

/// Symbolic links followed at most (as the kernel's own limit).
const MAX_LINKS: usize = 40;

/// Why a file could not be written. Callers name the path; this says what went wrong.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WriteError {
    /// A directory, a block device or a socket: nothing a redirection should write.
    #[error("{0}: give a regular file, a FIFO or a character device")]
    Unsupported(&'static str),
    /// A FIFO with no reader: writing would wait for one forever.
    #[error("a FIFO nobody is reading")]
    NoReader,
    /// The reader stopped reading.
    #[error(
        "its reader stopped reading for {} s ({written} of {total} bytes written)",
        WRITE_STALL.as_secs()
    )]
    Stalled {
        /// Bytes written before the stall.
        written: usize,
        /// Bytes to write.
        total: usize,
    },
    /// More symbolic links than the kernel follows (a loop).
    #[error("too many levels of symbolic links")]
    LinkLoop,
    /// Any other I/O error (no such folder, permission denied, no space left, …).
    #[error("{0}")]
    Io(#[from] io::Error),
}

/// Where the bytes for a path go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    /// A regular file or a new path (symbolic links resolved): written atomically.
    Replace(PathBuf),
    /// A FIFO, a character device, or this process's own descriptor: written in place.
    InPlace(PathBuf),
}

/// Decides how `path` is written (see the module's rules).
///
/// # Errors
/// [`WriteError::Unsupported`] naming what the path is; [`WriteError::LinkLoop`]; the I/O
/// error of looking it up.
pub fn destination(path: &Path) -> Result<Destination, WriteError> {
    let mut current = path.to_path_buf();
    for _ in 0..MAX_LINKS {
        if current.starts_with("/proc") {
            // /dev/stdout, /dev/fd/N, /proc/self/fd/N: a descriptor of this process, written
            // as the shell opened it.
            return Ok(Destination::InPlace(path.to_path_buf()));
        }
        let meta = match std::fs::symlink_metadata(&current) {
            Ok(meta) => meta,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Ok(Destination::Replace(current));
            }
            Err(e) => return Err(e.into()),
        };
        let kind = meta.file_type();
        if kind.is_symlink() {
            let target = std::fs::read_link(&current)?;
            current = match current.parent() {
                Some(parent) if target.is_relative() => parent.join(target),
                _ => target,
            };
            continue;
        }
        return if kind.is_file() {
            Ok(Destination::Replace(current))
        } else if kind.is_fifo() || kind.is_char_device() {
            Ok(Destination::InPlace(path.to_path_buf()))
        } else {
            Err(WriteError::Unsupported(describe(kind)))
        };
    }
    Err(WriteError::LinkLoop)
}

/// Writes `bytes` to `path`: atomically over a regular file or a new path, in place (bounded
/// in time) to a FIFO or a character device (see the module's rules).
///
/// # Errors
/// See [`WriteError`]; after an error a regular file keeps its old content.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), WriteError> {
    match destination(path)? {
        Destination::Replace(target) => {
            let mut file = temp_beside(&target)?;
            file.write_all(bytes)?;
            install(file, &target)?;
            Ok(())
        }
        Destination::InPlace(path) => {
            let file = open_in_place(&path)?.ok_or(WriteError::NoReader)?;
            write_bounded(&file, bytes)
        }
    }
}

/// A new temporary file in the folder of `target`, named after it, with the permissions of
/// the file it will replace (a new file gets `0666` less the umask).
pub(crate) fn temp_beside(target: &Path) -> io::Result<tempfile::NamedTempFile> {
    let dir = folder_of(target);
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mode = std::fs::metadata(target).map_or(0o666, |m| m.permissions().mode() & 0o7777);
    tempfile::Builder::new()
        .prefix(&format!(".{name}."))
        .suffix(".tmp")
        .permissions(std::fs::Permissions::from_mode(mode))
        .tempfile_in(dir)
}

/// Syncs `file` and renames it over `target`, then syncs the folder.
pub(crate) fn install(file: tempfile::NamedTempFile, target: &Path) -> io::Result<()> {
    file.as_file().sync_all()?;
    file.persist(target).map_err(|e| e.error)?;
    // The rename itself is durable once the folder is synced; a folder that cannot be
    // opened for that (some network filesystems) does not undo the write.
    if let Ok(dir) = File::open(folder_of(target)) {
        let _ = dir.sync_all();
    }
    Ok(())
}

fn folder_of(path: &Path) -> &Path {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    }
}

/// Opens a FIFO, a character device or a descriptor path for appending, without blocking:
/// `Ok(None)` for a FIFO nobody reads yet. The file is non-blocking.
pub(crate) fn open_in_place(path: &Path) -> io::Result<Option<File>> {
    let opened = OpenOptions::new()
        .append(true)
        .custom_flags(nix::libc::O_NONBLOCK | nix::libc::O_NOCTTY)
        .open(path);
    match opened {
        Ok(file) => Ok(Some(file)),
        Err(e) if e.raw_os_error() == Some(nix::libc::ENXIO) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Opens a FIFO for appending, waiting as long as it takes for a reader (as a shell does):
/// only for a thread that may block.
pub(crate) fn open_in_place_blocking(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .append(true)
        .custom_flags(nix::libc::O_NOCTTY)
        .open(path)
}

/// Makes `file` blocking again (for a writer thread, which may block).
pub(crate) fn set_blocking(file: &File) -> io::Result<()> {
    use nix::fcntl::{FcntlArg, OFlag, fcntl};
    let flags = fcntl(file.as_fd(), FcntlArg::F_GETFL).map_err(io::Error::from)?;
    let mut flags = OFlag::from_bits_truncate(flags);
    flags.remove(OFlag::O_NONBLOCK);
    fcntl(file.as_fd(), FcntlArg::F_SETFL(flags)).map_err(io::Error::from)?;
    Ok(())
}

/// Writes `bytes` to the non-blocking `file`, waiting for room at most [`WRITE_STALL`] at a
/// time.
fn write_bounded(mut file: &File, bytes: &[u8]) -> Result<(), WriteError> {
    use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
    let mut written = 0;
    while written < bytes.len() {
        match file.write(&bytes[written..]) {
            Ok(0) => return Err(io::Error::from(io::ErrorKind::WriteZero).into()),
            Ok(n) => written += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                let timeout = PollTimeout::try_from(WRITE_STALL).unwrap_or(PollTimeout::MAX);
                let mut fds = [PollFd::new(file.as_fd(), PollFlags::POLLOUT)];
                match poll(&mut fds, timeout) {
                    Ok(0) => {
                        return Err(WriteError::Stalled {
                            written,
                            total: bytes.len(),
                        });
                    }
                    Ok(_) | Err(nix::errno::Errno::EINTR) => {}
                    Err(e) => return Err(io::Error::from(e).into()),
                }
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn a_regular_file_is_replaced_whole_keeping_its_mode() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("report.json");
        std::fs::write(&path, "old").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        write_atomic(&path, b"new").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new");
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o640);
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no temp left"
        );
    }

    #[test]
    fn a_link_to_a_regular_file_stays_a_link() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real");
        let link = dir.path().join("link");
        std::fs::write(&real, "old").unwrap();
        symlink("real", &link).unwrap();
        write_atomic(&link, b"new").unwrap();
        assert!(std::fs::symlink_metadata(&link).unwrap().is_symlink());
        assert_eq!(std::fs::read_to_string(&real).unwrap(), "new");
    }

    #[test]
    fn a_fifo_is_written_in_place_and_one_nobody_reads_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).unwrap();
        let link = dir.path().join("link");
        symlink(&fifo, &link).unwrap();
        assert_eq!(
            destination(&link).unwrap(),
            Destination::InPlace(link.clone())
        );
        assert!(matches!(
            write_atomic(&link, b"x"),
            Err(WriteError::NoReader)
        ));
        let reader = OpenOptions::new()
            .read(true)
            .custom_flags(nix::libc::O_NONBLOCK)
            .open(&fifo)
            .unwrap();
        write_atomic(&link, b"through the link").unwrap();
        let mut text = String::new();
        std::io::Read::read_to_string(&mut &reader, &mut text).unwrap_or_default();
        assert_eq!(text, "through the link");
        assert!(
            std::fs::symlink_metadata(&fifo)
                .unwrap()
                .file_type()
                .is_fifo()
        );
    }

    #[test]
    fn descriptor_paths_are_in_place_and_directories_refused() {
        assert_eq!(
            destination(Path::new("/dev/stdout")).unwrap(),
            Destination::InPlace(PathBuf::from("/dev/stdout"))
        );
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(
            destination(dir.path()).unwrap_err().to_string(),
            "a directory: give a regular file, a FIFO or a character device"
        );
        let new = dir.path().join("new");
        assert_eq!(destination(&new).unwrap(), Destination::Replace(new));
    }
}

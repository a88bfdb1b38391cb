//! Reading a file a user named: only a regular file, opened without blocking, and never more
//! than its cap.
//!
//! The file is opened with `O_NONBLOCK`, so naming a FIFO nobody writes to, or a device,
//! returns at once instead of hanging in `open`; `fstat` on the open file then tells what it
//! is, and anything but a regular file is refused. The size `fstat` reports is checked
//! against the cap before a byte is read, and reading stops one byte past the cap (a file
//! that grows while it is read is caught too).

use std::fs::{File, FileType, OpenOptions};
use std::io::{self, Read};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::Path;

use crate::caps::{Cap, human_bytes};

/// Why a file could not be read. Callers name the path; this says what was wrong with it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReadError {
    /// Nothing is there.
    #[error("no such file")]
    NotFound,
    /// A FIFO, a device, a directory or a socket where a file is expected.
    #[error("{0}, not a regular file")]
    NotRegular(&'static str),
    /// The file is larger than its cap (`size` when known before reading).
    #[error("{}over the {cap} cap for {}", size.map(|s| format!("{}, ", human_bytes(s))).unwrap_or_default(), cap.what)]
    TooLarge {
        /// The cap passed.
        cap: Cap,
        /// The file's size, when `fstat` told it.
        size: Option<u64>,
    },
    /// The file is not UTF-8 text.
    #[error("not UTF-8 text")]
    NotUtf8,
    /// Any other I/O error (permission denied, …).
    #[error("{0}")]
    Io(io::Error),
}

impl ReadError {
    /// Whether the file does not exist.
    pub fn is_not_found(&self) -> bool {
        matches!(self, ReadError::NotFound)
    }
}

impl From<io::Error> for ReadError {
    fn from(error: io::Error) -> ReadError {
        match error.kind() {
            io::ErrorKind::NotFound => ReadError::NotFound,
            _ => ReadError::Io(error),
        }
    }
}

/// What a file of type `kind` is, for messages: "a FIFO", "a directory", …
pub fn describe(kind: FileType) -> &'static str {
    if kind.is_file() {
        "a regular file"
    } else if kind.is_dir() {
        "a directory"
    } else if kind.is_fifo() {
        "a FIFO"
    } else if kind.is_char_device() {
        "a character device"
    } else if kind.is_block_device() {
        "a block device"
    } else if kind.is_socket() {
        "a socket"
    } else if kind.is_symlink() {
        "a symbolic link"
    } else {
        "not a file"
    }
}

/// Opens `path` for reading if it is a regular file (after symbolic links), without ever
/// blocking in `open`; returns the file and its size.
///
/// # Errors
/// [`ReadError::NotFound`], [`ReadError::NotRegular`] naming what it is instead,
/// [`ReadError::Io`].
pub fn open_regular(path: &Path) -> Result<(File, u64), ReadError> {
    let opened = OpenOptions::new()
        .read(true)
        .custom_flags(nix::libc::O_NONBLOCK | nix::libc::O_NOCTTY)
        .open(path);
    let file = match opened {
        Ok(file) => file,
        // A socket cannot be opened (ENXIO); say what it is rather than "no such device".
        Err(error) => match std::fs::metadata(path) {
            Ok(meta) if !meta.is_file() => {
                return Err(ReadError::NotRegular(describe(meta.file_type())));
            }
            _ => return Err(error.into()),
        },
    };
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(ReadError::NotRegular(describe(meta.file_type())));
    }
    // O_NONBLOCK has no effect on a regular file's reads: nothing to undo.
    Ok((file, meta.len()))
}

/// Reads the regular file `path` whole, refusing it when it is over `cap`.
///
/// # Errors
/// As [`open_regular`], plus [`ReadError::TooLarge`].
pub fn read(path: &Path, cap: Cap) -> Result<Vec<u8>, ReadError> {
    let (file, size) = open_regular(path)?;
    if size > cap.bytes {
        return Err(ReadError::TooLarge {
            cap,
            size: Some(size),
        });
    }
    let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
    file.take(cap.bytes + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > cap.bytes {
        return Err(ReadError::TooLarge { cap, size: None });
    }
    Ok(bytes)
}

/// [`read`], as UTF-8 text.
///
/// # Errors
/// As [`read`], plus [`ReadError::NotUtf8`].
pub fn read_to_string(path: &Path, cap: Cap) -> Result<String, ReadError> {
    String::from_utf8(read(path, cap)?).map_err(|_| ReadError::NotUtf8)
}

/// Reads `reader` (a stream: stdin, a pipe) to its end, refusing more than `cap` bytes.
///
/// # Errors
/// [`ReadError::TooLarge`], [`ReadError::NotUtf8`], [`ReadError::Io`].
pub fn read_stream_to_string(reader: impl Read, cap: Cap) -> Result<String, ReadError> {
    let mut bytes = Vec::new();
    reader
        .take(cap.bytes + 1)
        .read_to_end(&mut bytes)
        .map_err(ReadError::Io)?;
    if bytes.len() as u64 > cap.bytes {
        return Err(ReadError::TooLarge { cap, size: None });
    }
    String::from_utf8(bytes).map_err(|_| ReadError::NotUtf8)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::caps;

    fn small(bytes: u64) -> Cap {
        Cap {
            bytes,
            what: "test files",
        }
    }

    #[test]
    fn a_regular_file_under_its_cap_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, "hello").unwrap();
        assert_eq!(read_to_string(&path, small(5)).unwrap(), "hello");
        let error = read(&path, small(4)).unwrap_err();
        assert_eq!(
            error.to_string(),
            "5 bytes, over the 4 bytes cap for test files"
        );
    }

    #[test]
    fn a_fifo_a_directory_and_a_missing_file_are_refused_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).unwrap();
        // Nobody writes to it: a blocking open would never return.
        let error = read(&fifo, caps::MANIFEST).unwrap_err();
        assert_eq!(error.to_string(), "a FIFO, not a regular file");
        let error = read(dir.path(), caps::MANIFEST).unwrap_err();
        assert_eq!(error.to_string(), "a directory, not a regular file");
        assert!(
            read(&dir.path().join("absent"), caps::MANIFEST)
                .unwrap_err()
                .is_not_found()
        );
    }

    #[test]
    fn a_huge_sparse_file_is_refused_before_it_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("huge");
        File::create(&path).unwrap().set_len(1 << 30).unwrap();
        let error = read(&path, caps::MANIFEST).unwrap_err();
        assert_eq!(
            error.to_string(),
            "1 GiB, over the 16 MiB cap for manifests"
        );
    }

    #[test]
    fn a_stream_is_cut_at_its_cap() {
        let error = read_stream_to_string(&b"123456"[..], small(5)).unwrap_err();
        assert!(matches!(error, ReadError::TooLarge { size: None, .. }));
        assert_eq!(
            read_stream_to_string(&b"12345"[..], small(5)).unwrap(),
            "12345"
        );
    }
}

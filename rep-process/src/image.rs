//! A pinned executable: the bytes of a program file, hashed while they are copied into a
//! sealed memory file, and executed from that memory file — so the bytes that run are the
//! bytes that were hashed, whatever happens to the file afterwards.
//!
//! Why a copy rather than the opened file itself: executing the opened descriptor
//! (`fexecve`, `/proc/self/fd/N`) defeats a *swap* (a rename or a new file at the path after
//! the check), but not a write *into* the file between the hash and the `exec`, which anyone
//! who may write the file can time (inotify tells them when the reading stops). A memory file
//! (`memfd_create`) sealed against writing, growing and shrinking cannot change at all. It is
//! reopened read-only before use: the kernel refuses to execute a file someone holds open
//! for writing (ETXTBSY), the read-write descriptor that filled it included.
//!
//! The price: the copy (the file's size in memory while the executor runs, and the time to
//! copy it), and an executable whose `/proc/self/exe` is `/memfd:…` (an ELF `$ORIGIN` run
//! path no longer names the executor's folder).

use std::io::Read;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use nix::fcntl::{FcntlArg, OFlag, SealFlag, fcntl};
use nix::sys::memfd::{MFdFlags, memfd_create};
use nix::sys::stat::Mode;
use sha2::{Digest, Sha256};

/// `MFD_EXEC` (Linux 6.3): the memory file may be executed even where `vm.memfd_noexec`
/// makes memory files non-executable by default. Older kernels refuse the flag (EINVAL);
/// without it their memory files are executable anyway.
const MFD_EXEC: u32 = 0x10;

/// Why an executable could not be pinned.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ImageError {
    /// The file cannot be opened or read, or is not a regular file.
    #[error("cannot read the executor {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        source: rep_files::ReadError,
    },
    /// The memory file cannot be created, filled or sealed.
    #[error("cannot copy the executor {} into a sealed memory file: {source}", path.display())]
    Memory {
        /// The file.
        path: PathBuf,
        /// The system call's error.
        source: std::io::Error,
    },
    /// The file's sha256 is not the expected one: nothing was executed.
    #[error(
        "executor {} does not match its pinned sha256: expected {expected}, found {actual}; \
         nothing was run (if the new file is trusted, pin it again: tm executor pin)",
        path.display()
    )]
    Mismatch {
        /// The file.
        path: PathBuf,
        /// The pinned hash (lowercase hex).
        expected: String,
        /// The file's hash (lowercase hex).
        actual: String,
    },
}

/// An executable's bytes, sealed in a memory file, with their sha256. Cheap to clone (the
/// descriptor is shared); [`Spec::image`](crate::Spec::image) runs it.
#[derive(Debug, Clone)]
pub struct Image {
    fd: Arc<OwnedFd>,
    sha256: String,
    path: PathBuf,
}

impl PartialEq for Image {
    fn eq(&self, other: &Image) -> bool {
        self.sha256 == other.sha256 && self.path == other.path
    }
}

impl Image {
    /// Copies the regular file `path` into a sealed memory file, hashing the bytes as they
    /// are copied. The file is opened once (without blocking: a FIFO is refused, never
    /// waited on); nothing at `path` is looked at again.
    ///
    /// # Errors
    /// [`ImageError::Read`] (missing, not a regular file, unreadable) or
    /// [`ImageError::Memory`].
    pub fn load(path: &Path) -> Result<Image, ImageError> {
        let read_error = |source| ImageError::Read {
            path: path.to_path_buf(),
            source,
        };
        let memory_error = |source: nix::Error| ImageError::Memory {
            path: path.to_path_buf(),
            source: source.into(),
        };
        let (mut file, _) = rep_files::open_regular(path).map_err(read_error)?;
        let memory = create_memfd().map_err(memory_error)?;
        let mut hasher = Sha256::new();
        let mut block = vec![0; 1 << 16];
        loop {
            let n = match file.read(&mut block) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(read_error(rep_files::ReadError::Io(e))),
            };
            hasher.update(&block[..n]);
            write_all(&memory, &block[..n]).map_err(memory_error)?;
        }
        let seals = SealFlag::F_SEAL_SEAL
            | SealFlag::F_SEAL_SHRINK
            | SealFlag::F_SEAL_GROW
            | SealFlag::F_SEAL_WRITE;
        fcntl(&memory, FcntlArg::F_ADD_SEALS(seals)).map_err(memory_error)?;
        let fd = reopen_read_only(&memory).map_err(memory_error)?;
        Ok(Image {
            fd: Arc::new(fd),
            sha256: hex::encode(hasher.finalize()),
            path: path.to_path_buf(),
        })
    }

    /// [`Image::load`], refused unless the bytes' sha256 is `expected` (lowercase hex).
    ///
    /// # Errors
    /// As [`Image::load`], and [`ImageError::Mismatch`] naming both hashes and the path.
    pub fn pinned(path: &Path, expected: &str) -> Result<Image, ImageError> {
        let image = Image::load(path)?;
        if image.sha256 != expected {
            return Err(ImageError::Mismatch {
                path: path.to_path_buf(),
                expected: expected.to_owned(),
                actual: image.sha256,
            });
        }
        Ok(image)
    }

    /// The sha256 of the bytes, lowercase hex.
    pub fn sha256(&self) -> &str {
        &self.sha256
    }

    /// The file the bytes came from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The path under which a child started with [`Spec::image`](crate::Spec::image) finds
    /// the bytes: `/proc/self/fd/N`. It is the program to execute, or the script to give an
    /// interpreter (a `#!` line's interpreter is handed this path too).
    pub fn path_in_child(&self) -> PathBuf {
        use std::os::fd::AsRawFd;
        PathBuf::from(format!("/proc/self/fd/{}", self.fd.as_raw_fd()))
    }

    /// The descriptor, for the child's set-up (kept open across `exec`).
    pub(crate) fn descriptor(&self) -> Arc<OwnedFd> {
        Arc::clone(&self.fd)
    }
}

fn create_memfd() -> nix::Result<OwnedFd> {
    let flags = MFdFlags::MFD_CLOEXEC | MFdFlags::MFD_ALLOW_SEALING;
    match memfd_create(
        c"rep-executor",
        flags | MFdFlags::from_bits_retain(MFD_EXEC),
    ) {
        Err(nix::Error::EINVAL) => memfd_create(c"rep-executor", flags),
        result => result,
    }
}

fn write_all(fd: &OwnedFd, mut bytes: &[u8]) -> nix::Result<()> {
    while !bytes.is_empty() {
        match nix::unistd::write(fd, bytes) {
            Ok(n) => bytes = &bytes[n..],
            Err(nix::Error::EINTR) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// A read-only, close-on-exec descriptor of the memory file `memory` (which the caller then
/// closes). Never 0, 1 or 2: the standard library keeps those open in every Rust program.
fn reopen_read_only(memory: &OwnedFd) -> nix::Result<OwnedFd> {
    use std::os::fd::AsRawFd;
    let path = format!("/proc/self/fd/{}", memory.as_raw_fd());
    nix::fcntl::open(
        path.as_str(),
        OFlag::O_RDONLY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
}

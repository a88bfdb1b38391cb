//! Reading user-named files safely: regular files only, bounded in bytes, so a FIFO, a device
//! or a huge file named by mistake is an error naming it, never a hang or an allocation of
//! gigabytes.

use std::io::Read;
use std::path::Path;

/// The largest file the suite reads (a report, a case file): 64 MiB.
pub const MAX_READ_BYTES: u64 = 64 * 1024 * 1024;

/// Reads the UTF-8 text of the regular file `path` (symlinks followed), at most
/// [`MAX_READ_BYTES`].
///
/// # Errors
/// Not a regular file (a directory, FIFO, device), larger than the bound, unreadable, or not
/// UTF-8; the message says which.
pub fn read_bounded(path: &Path) -> std::io::Result<String> {
    let invalid = |message: String| std::io::Error::new(std::io::ErrorKind::InvalidData, message);
    // Checked before opening too: opening a FIFO for reading blocks until a writer comes.
    if !std::fs::metadata(path)?.is_file() {
        return Err(invalid("not a regular file".into()));
    }
    let file = std::fs::File::open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(invalid("not a regular file".into()));
    }
    if meta.len() > MAX_READ_BYTES {
        return Err(invalid(format!(
            "{} bytes, more than the {MAX_READ_BYTES} this tool reads",
            meta.len()
        )));
    }
    let mut text = String::new();
    file.take(MAX_READ_BYTES + 1)
        .read_to_string(&mut text)
        .map_err(|e| invalid(format!("cannot read it as UTF-8 text: {e}")))?;
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_regular_files_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a.json");
        std::fs::write(&file, "{}").unwrap();
        assert_eq!(read_bounded(&file).unwrap(), "{}");
        let error = read_bounded(dir.path()).unwrap_err();
        assert!(error.to_string().contains("not a regular file"), "{error}");
        assert!(read_bounded(Path::new("/dev/null")).is_err());
        assert!(read_bounded(&dir.path().join("missing")).is_err());
    }
}

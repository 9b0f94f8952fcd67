//! Atomic file writes: a temporary file in the destination folder, then a rename, so a
//! reader (or a resumed run) never sees a half-written file.
//!
//! [`write_atomically`] is for outputs a rerun regenerates (tables, images, exports):
//! the rename is atomic but the data may still be in the page cache when it returns.
//! [`write_durably`] also flushes the data to disk before the rename, for the files a
//! resumed run trusts (run state, completion markers).

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use crate::error::{Error, Result};

fn folder_of(path: &Path) -> &Path {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    }
}

/// Writes `path` through `fill`, atomically, creating parent folders: `fill` streams
/// into a buffered temporary file beside `path`, which replaces `path` only once `fill`
/// has succeeded. With `durable`, the data reaches the disk before the rename.
///
/// # Errors
/// [`Error::Io`] naming `path` when the folder or file cannot be written or `fill`
/// fails; the temporary file is removed and `path` is left as it was.
pub fn write_with(
    path: &Path,
    durable: bool,
    fill: impl FnOnce(&mut BufWriter<&mut File>) -> std::io::Result<()>,
) -> Result<()> {
    let dir = folder_of(path);
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let mut builder = tempfile::Builder::new();
    builder.prefix(".medfen-tmp-");
    // A temporary file is private (0600); the file it becomes is an ordinary output,
    // with the permissions of any new file (0666 less the umask), as `File::create` gives.
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666));
    let mut tmp = builder.tempfile_in(dir).map_err(|e| Error::io(dir, e))?;
    {
        let mut w = BufWriter::with_capacity(1 << 20, tmp.as_file_mut());
        fill(&mut w).map_err(|e| Error::io(path, e))?;
        w.flush().map_err(|e| Error::io(path, e))?;
    }
    if durable {
        tmp.as_file().sync_all().map_err(|e| Error::io(path, e))?;
    }
    tmp.persist(path).map_err(|e| Error::io(path, e.error))?;
    Ok(())
}

/// Writes `bytes` to `path` atomically (temporary file, then rename), creating parent
/// folders; no flush to disk (see the module documentation).
///
/// # Errors
/// [`Error::Io`] naming `path`.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    write_with(path, false, |w| w.write_all(bytes))
}

/// As [`write_atomically`], and the data is flushed to disk before the rename, so the
/// file survives a power cut whole or not at all.
///
/// # Errors
/// [`Error::Io`] naming `path`.
pub fn write_durably(path: &Path, bytes: &[u8]) -> Result<()> {
    write_with(path, true, |w| w.write_all(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_whole_files_and_leaves_no_temporary_behind() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a/b/out.txt");
        write_atomically(&path, b"first").unwrap();
        write_durably(&path, b"second").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"second");
        let failed = write_with(&path, false, |w| {
            w.write_all(b"partial")?;
            Err(std::io::Error::other("interrupted"))
        });
        let err = failed.unwrap_err().to_string();
        assert!(
            err.contains("out.txt") && err.contains("interrupted"),
            "{err}"
        );
        assert_eq!(std::fs::read(&path).unwrap(), b"second");
        let names: Vec<_> = std::fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["out.txt"]);
    }

    #[cfg(unix)]
    #[test]
    fn outputs_get_the_permissions_of_any_new_file() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        let reference = dir.path().join("created.txt");
        File::create(&reference).unwrap();
        let written = dir.path().join("written.txt");
        write_atomically(&written, b"x").unwrap();
        // (Before, every output kept the temporary file's private 0600.)
        assert_eq!(mode(&written), mode(&reference));
    }
}

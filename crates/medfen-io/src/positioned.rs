//! Positioned reads and writes: at an offset, without moving a shared cursor, so
//! threads can share one open file.

use std::fs::File;

/// Reads exactly `buf.len()` bytes of `file` at `offset`.
///
/// # Errors
/// The I/O error, or `UnexpectedEof` when the file ends first.
pub fn read_exact_at(file: &File, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileExt as _;
        file.read_exact_at(buf, offset)
    }
    #[cfg(windows)]
    {
        use std::os::windows::fs::FileExt as _;
        let mut done = 0;
        while done < buf.len() {
            match file.seek_read(&mut buf[done..], offset + done as u64)? {
                0 => return Err(std::io::ErrorKind::UnexpectedEof.into()),
                n => done += n,
            }
        }
        Ok(())
    }
}

/// Writes all of `bytes` to `file` at `offset`.
///
/// # Errors
/// The I/O error.
pub fn write_all_at(file: &File, bytes: &[u8], offset: u64) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileExt as _;
        file.write_all_at(bytes, offset)
    }
    #[cfg(windows)]
    {
        use std::os::windows::fs::FileExt as _;
        let mut done = 0;
        while done < bytes.len() {
            done += file.seek_write(&bytes[done..], offset + done as u64)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn writes_and_reads_land_at_their_offsets() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(true)
            .read(true)
            .write(true)
            .open(&path)
            .unwrap();
        super::write_all_at(&file, b"world", 6).unwrap();
        super::write_all_at(&file, b"hello", 0).unwrap();
        let mut buf = [0u8; 5];
        super::read_exact_at(&file, &mut buf, 6).unwrap();
        assert_eq!(&buf, b"world");
        assert_eq!(std::fs::read(&path).unwrap(), b"hello\0world");
        let err = super::read_exact_at(&file, &mut buf, 9).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::UnexpectedEof);
    }
}

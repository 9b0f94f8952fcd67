//! File fingerprints: the SHA-256 of a file's bytes, recorded beside the outputs made
//! from it so that a changed input is detected downstream.

use std::io::Read;
use std::path::Path;

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// SHA-256 of the file's bytes, as lowercase hex (read in 1 MiB pieces).
///
/// # Errors
/// [`Error::Io`] when the file cannot be read.
pub fn file_sha256(path: &Path) -> Result<String> {
    let mut file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf).map_err(|e| Error::io(path, e))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex::encode(hasher.finalize()))
}

/// SHA-256 of `bytes`, as lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

#[cfg(test)]
mod tests {
    #[test]
    fn matches_the_published_test_vector() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("abc");
        std::fs::write(&path, b"abc").unwrap();
        let abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
        assert_eq!(super::file_sha256(&path).unwrap(), abc);
        assert_eq!(super::sha256_hex(b"abc"), abc);
        let err = super::file_sha256(&dir.path().join("missing")).unwrap_err();
        assert!(err.to_string().contains("missing"));
    }
}

//! NumPy `.npy` arrays (format version 1.0, little-endian, C order), written in bulk:
//! the header, then the values' bytes in one pass, atomically (no flush to disk: an
//! array is an export a rerun regenerates).

use std::io::Write;
use std::path::Path;

use crate::atomic::write_with;
use crate::error::{Error, Result};

/// Element types an `.npy` file can hold here.
pub trait NpyElement: bytemuck::Pod {
    /// NumPy's type string (`<f4`, `<i2`, ...).
    const DESCR: &'static str;
    /// Appends the value's little-endian bytes.
    fn put(self, out: &mut Vec<u8>);
}

macro_rules! npy_element {
    ($t:ty, $descr:literal) => {
        impl NpyElement for $t {
            const DESCR: &'static str = $descr;
            fn put(self, out: &mut Vec<u8>) {
                out.extend_from_slice(&self.to_le_bytes());
            }
        }
    };
}
npy_element!(f32, "<f4");
npy_element!(f64, "<f8");
npy_element!(i16, "<i2");
npy_element!(u8, "|u1");

/// The `.npy` header of an array of `shape`: magic, version 1.0, and the dictionary
/// padded with spaces so the data starts at a multiple of 64 bytes, as NumPy does.
fn header<T: NpyElement>(shape: &[usize]) -> Vec<u8> {
    let dims: Vec<String> = shape.iter().map(ToString::to_string).collect();
    let shape_text = match dims.len() {
        1 => format!("({},)", dims[0]),
        _ => format!("({})", dims.join(", ")),
    };
    let mut dict = format!(
        "{{'descr': '{}', 'fortran_order': False, 'shape': {shape_text}, }}",
        T::DESCR
    );
    let unpadded = 10 + dict.len() + 1;
    dict.push_str(&" ".repeat(unpadded.next_multiple_of(64) - unpadded));
    dict.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    let len = u16::try_from(dict.len()).unwrap_or(u16::MAX);
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(dict.as_bytes());
    out
}

/// Writes `data` (C order) as an `.npy` array of `shape`.
///
/// # Errors
/// A shape that does not match the data's length, and I/O errors, naming `path`.
///
/// ```
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("v.npy");
/// medfen_io::write_npy(&path, &[2, 3], &[0.5f32, 1.0, 1.5, 2.0, 2.5, 3.0])?;
/// let bytes = std::fs::read(&path)?;
/// assert_eq!(&bytes[..6], b"\x93NUMPY");
/// assert_eq!(bytes.len(), 128 + 6 * 4); // a 64-byte aligned header, then the data
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn write_npy<T: NpyElement>(path: &Path, shape: &[usize], data: &[T]) -> Result<()> {
    let n: usize = shape.iter().product();
    if n != data.len() {
        return Err(Error::table(
            path,
            format!(
                "shape {shape:?} holds {n} values, the array has {}",
                data.len()
            ),
        ));
    }
    let head = header::<T>(shape);
    write_with(path, false, |w| {
        w.write_all(&head)?;
        if cfg!(target_endian = "little") {
            // The values' memory already is the file's byte order: one write.
            return w.write_all(bytemuck::cast_slice(data));
        }
        let mut buf = Vec::with_capacity(1 << 16);
        for chunk in data.chunks(1 << 14) {
            buf.clear();
            for v in chunk {
                v.put(&mut buf);
            }
            w.write_all(&buf)?;
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_is_aligned_and_describes_the_array() {
        let h = header::<f32>(&[4, 5, 6]);
        assert_eq!(h.len() % 64, 0);
        let text = String::from_utf8_lossy(&h[10..]);
        assert!(text.starts_with("{'descr': '<f4', 'fortran_order': False, 'shape': (4, 5, 6), }"));
        assert!(text.ends_with('\n'));
        let one = header::<i16>(&[3]);
        assert!(String::from_utf8_lossy(&one).contains("'shape': (3,)"));
        let dir = tempfile::tempdir().unwrap();
        let err = write_npy(&dir.path().join("x.npy"), &[2, 2], &[1.0f32]).unwrap_err();
        assert!(err.to_string().contains("holds 4 values"), "{err}");
    }
}

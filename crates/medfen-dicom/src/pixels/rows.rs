//! Rows of a frame read straight from the file: for native little-endian 16-bit images
//! (uncompressed CT) a positioned read of just the bytes of the rows asked for, with
//! the header already scanned (no second parse, no read of the whole file). Every other
//! image goes through [`ImageFile`] and gives the same values.

use std::ops::Range;

use super::{Encoding, HuValue, ImageFile, ModalityLut, encoding, le16_layout};
use crate::error::{Error, Result};
use crate::header::{DicomHeader, Photometric};

/// Reads rows of frames into HU values, reusing its byte buffer from call to call.
///
/// ```no_run
/// # fn main() -> medfen_dicom::Result<()> {
/// let header = medfen_dicom::read_header(std::path::Path::new("slice.dcm"))?;
/// let mut reader = medfen_dicom::pixels::FrameRowReader::default();
/// let cols = usize::from(header.cols);
/// // Rows 100..300 of the first frame.
/// let mut hu = vec![0i16; 200 * cols];
/// reader.read_rows(&header, 0, 100..300, &mut hu)?;
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Default)]
pub struct FrameRowReader {
    bytes: Vec<u8>,
}

impl FrameRowReader {
    /// Converts rows `rows` of frame `frame` of the file `header` describes into `out`
    /// (`rows.len()` x columns values, row-major) through the modality LUT; returns how
    /// many values were clamped to `T` (of the whole frame when the image needed the
    /// general reader). The values equal those of [`ImageFile::frame_into`] on the same
    /// rows.
    ///
    /// # Errors
    /// Those of [`ImageFile::open`] and [`ImageFile::frame_into`]; [`Error::Decode`]
    /// for a frame or rows the image does not have, or a file whose size changed since
    /// its header was read.
    ///
    /// # Panics
    /// When `out` does not hold `rows.len()` x columns values.
    pub fn read_rows<T: HuValue>(
        &mut self,
        header: &DicomHeader,
        frame: usize,
        rows: Range<usize>,
        out: &mut [T],
    ) -> Result<usize> {
        let cols = usize::from(header.cols);
        assert_eq!(
            out.len(),
            rows.len() * cols,
            "output must hold the rows asked for"
        );
        let bad = |reason: String| Error::Decode {
            path: header.path.clone(),
            frame: u32::try_from(frame).unwrap_or(u32::MAX),
            reason,
        };
        if rows.start > rows.end || rows.end > usize::from(header.rows) {
            return Err(bad(format!(
                "rows {rows:?} asked of an image with {} rows",
                header.rows
            )));
        }
        if let Some(byte_range) = native_range(header, frame, &rows)?
            && let Some(format) = header.pixel.as_ref()
            && let Some(layout) = le16_layout(format, &ModalityLut::for_frame(header, frame)?)
        {
            self.read_at(header, byte_range)?;
            return Ok(T::convert_le16(&self.bytes, &layout, out));
        }
        // Everything else: the whole frame through the general reader.
        let file = ImageFile::open(&header.path)?;
        if file.header().cols != header.cols || file.header().rows != header.rows {
            return Err(bad(
                "the image size changed since its header was read".into()
            ));
        }
        let mut whole = vec![T::default(); usize::from(header.rows) * cols];
        let clamped = file.frame_into(frame, &mut whole)?;
        out.copy_from_slice(&whole[rows.start * cols..rows.end * cols]);
        Ok(clamped)
    }

    /// Reads `range` of the file into the buffer, checking the file is still the one
    /// whose header was read (same size).
    fn read_at(&mut self, header: &DicomHeader, range: Range<u64>) -> Result<()> {
        let path = &header.path;
        let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
        let size = file.metadata().map_err(|e| Error::io(path, e))?.len();
        if size != header.file_size || range.end > size {
            return Err(Error::Decode {
                path: path.clone(),
                frame: 0,
                reason: format!(
                    "the file is {size} bytes now, {} when its header was read (re-run the scan)",
                    header.file_size
                ),
            });
        }
        let len = usize::try_from(range.end - range.start).unwrap_or(usize::MAX);
        self.bytes.resize(len, 0);
        medfen_io::read_exact_at(&file, &mut self.bytes, range.start)
            .map_err(|e| Error::io(path, e))
    }
}

/// The bytes of `rows` of `frame` in the file, when the fast path applies.
fn native_range(
    header: &DicomHeader,
    frame: usize,
    rows: &Range<usize>,
) -> Result<Option<Range<u64>>> {
    let Some((offset, len)) = header.pixel_data else {
        return Ok(None);
    };
    let Some(format) = header.pixel.as_ref() else {
        return Ok(None);
    };
    let native = encoding(&header.transfer_syntax) == Encoding::NativeLe
        && header.transfer_syntax != "1.2.840.10008.1.2.1.99"
        && len != 0xFFFF_FFFF
        && format.samples_per_pixel == 1
        && format.bits_allocated == 16
        && !matches!(format.photometric, Photometric::Other(_))
        && header.cols > 0;
    if !native {
        return Ok(None);
    }
    let frames = header.number_of_frames.max(1) as usize;
    if frame >= frames {
        return Err(Error::Decode {
            path: header.path.clone(),
            frame: u32::try_from(frame).unwrap_or(u32::MAX),
            reason: format!("the file has {frames} frame(s)"),
        });
    }
    let row_bytes = 2 * u64::from(header.cols);
    let frame_bytes = row_bytes * u64::from(header.rows);
    let needed = frame_bytes * frames as u64;
    if u64::from(len) < needed {
        // Short pixel data: the general reader reports it.
        return Ok(None);
    }
    let start = offset + frame as u64 * frame_bytes + rows.start as u64 * row_bytes;
    Ok(Some(start..start + rows.len() as u64 * row_bytes))
}

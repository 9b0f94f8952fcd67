//! Pixel data: stored values of each frame, and their conversion through the modality LUT.
//!
//! | transfer syntax | path |
//! |---|---|
//! | implicit/explicit VR little endian | native: samples read in place from the file's bytes |
//! | deflated, explicit big endian | native: samples from the element dicom-rs parsed |
//! | RLE Lossless | medfen's own decoder ([`rle`]), writing straight into the output |
//! | JPEG baseline, extended 8-bit, lossless (NH, SV1) | dicom-pixeldata (pure-Rust jpeg-decoder) |
//! | JPEG 2000 (lossless, lossy), encapsulated uncompressed | dicom-pixeldata: openjp2 (pure-Rust port of OpenJPEG) by default, OpenJPEG's C code with feature `j2k-openjpeg` |
//! | JPEG-LS (lossless, near-lossless) | dicom-pixeldata through CharLS, with feature `jpeg-ls` |
//! | 12-bit lossy JPEG, JPEG-LS without the feature, everything else | [`Error::UnsupportedTransferSyntax`] naming file and UID |
//!
//! Only grayscale images (one sample per pixel, 1-32 bits) are read; colour and palette
//! images are [`Error::UnsupportedImage`].

pub mod lut;
pub mod rle;
mod rows;

use std::borrow::Cow;
use std::path::Path;

use dicom_core::value::{PrimitiveValue, Value};
use dicom_dictionary_std::tags;
use dicom_encoding::transfer_syntax::TransferSyntaxIndex;
use dicom_object::{DefaultDicomObject, OpenFileOptions};
use dicom_pixeldata::PixelDecoder;
use dicom_transfer_syntax_registry::TransferSyntaxRegistry;

use crate::error::{Error, Result};
use crate::header::{DicomHeader, Photometric, PixelFormat, header_from_object};
pub use lut::{AIR_HU, HuValue, Le16Layout, ModalityLut};
pub use rows::FrameRowReader;

/// How a transfer syntax's pixel data is decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Encoding {
    /// Uncompressed, little endian.
    NativeLe,
    /// Uncompressed, big endian.
    NativeBe,
    /// RLE Lossless (medfen's decoder).
    Rle,
    /// A codec of dicom-pixeldata.
    Codec,
    /// Nothing here can decode it.
    Unsupported(String),
}

fn encoding(uid: &str) -> Encoding {
    match uid {
        "1.2.840.10008.1.2" | "1.2.840.10008.1.2.1" | "1.2.840.10008.1.2.1.99" => {
            Encoding::NativeLe
        }
        "1.2.840.10008.1.2.2" => Encoding::NativeBe,
        "1.2.840.10008.1.2.5" => Encoding::Rle,
        _ => match TransferSyntaxRegistry.get(uid) {
            Some(ts) if ts.can_decode_all() => Encoding::Codec,
            Some(ts) => Encoding::Unsupported(ts.name().to_owned()),
            None => Encoding::Unsupported("unknown transfer syntax".to_owned()),
        },
    }
}

/// Name of a transfer syntax UID.
pub fn transfer_syntax_name(uid: &str) -> String {
    TransferSyntaxRegistry
        .get(uid)
        .map_or_else(|| "unknown".to_owned(), |ts| ts.name().to_owned())
}

/// Samples of one frame, before masking and sign handling.
pub(crate) enum RawSamples<'a> {
    /// One byte per sample.
    U8(Cow<'a, [u8]>),
    /// 16-bit samples, as little-endian bytes.
    Le16(Cow<'a, [u8]>),
    /// 16-bit samples as native values (how the parser stores OW).
    U16(&'a [u16]),
    /// Signed 16-bit values.
    I16(&'a [i16]),
    /// 32-bit samples, as little-endian bytes.
    Le32(Cow<'a, [u8]>),
    /// 32-bit samples as native values.
    U32(&'a [u32]),
    /// Signed 32-bit values.
    I32(&'a [i32]),
    /// 1-bit samples, least significant bit first, starting at bit `offset`.
    Bits(&'a [u8], usize),
}

/// A DICOM image file opened for pixel access.
pub struct ImageFile {
    header: DicomHeader,
    obj: DefaultDicomObject,
    encoding: Encoding,
    /// The file's bytes (native pixel data is read from them in place).
    bytes: Vec<u8>,
    /// Byte range of native little-endian pixel data, when read in place.
    native: Option<std::ops::Range<usize>>,
}

/// Stored values of every frame of a grayscale image, before the modality LUT.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredImage {
    /// Rows.
    pub rows: usize,
    /// Columns.
    pub cols: usize,
    /// Frames.
    pub frames: usize,
    /// `values[(frame * rows + row) * cols + col]`, masked to Bits Stored and
    /// sign-extended for signed data.
    pub values: Vec<i64>,
}

impl ImageFile {
    /// Reads the whole file and checks that medfen can decode its pixels.
    ///
    /// # Errors
    /// [`Error::NotDicom`], [`Error::Parse`], [`Error::NoPixelData`],
    /// [`Error::UnsupportedTransferSyntax`] or [`Error::UnsupportedImage`].
    pub fn open(path: &Path) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        if bytes.len() < 132 || &bytes[128..132] != b"DICM" {
            return Err(Error::NotDicom {
                path: path.to_path_buf(),
            });
        }
        let layout = crate::precheck::check_lengths(
            &mut std::io::Cursor::new(&bytes),
            bytes.len() as u64,
            false,
        )
        .map_err(|reason| crate::precheck::error(path, reason))?;
        // Fast path: native little-endian pixel data is read in place from the file
        // bytes, and dicom-rs parses only the header.
        let native = match (encoding(&layout.transfer_syntax), layout.pixel_data) {
            (Encoding::NativeLe, Some((offset, len)))
                if len != 0xFFFF_FFFF && layout.transfer_syntax != "1.2.840.10008.1.2.1.99" =>
            {
                Some(offset as usize..offset as usize + len as usize)
            }
            _ => None,
        };
        let mut options = OpenFileOptions::new();
        if native.is_some() {
            options = options.read_until(tags::PIXEL_DATA);
        }
        let obj = options
            .from_reader(&bytes[128..])
            .map_err(|e| Error::Parse {
                path: path.to_path_buf(),
                reason: e.to_string(),
            })?;
        let ts = obj
            .meta()
            .transfer_syntax()
            .trim_end_matches('\0')
            .to_owned();
        let sop = obj
            .meta()
            .media_storage_sop_class_uid()
            .trim_end_matches('\0')
            .to_owned();
        let mut header = header_from_object(path, bytes.len() as u64, ts, sop, &obj)?;
        header.pixel_data = layout.pixel_data;
        let file = Self {
            encoding: encoding(&header.transfer_syntax),
            native,
            bytes,
            header,
            obj,
        };
        file.check()?;
        Ok(file)
    }

    /// The header.
    pub fn header(&self) -> &DicomHeader {
        &self.header
    }

    fn path(&self) -> &Path {
        &self.header.path
    }

    fn format(&self) -> &PixelFormat {
        self.header.pixel.as_ref().expect("checked in open")
    }

    /// Checks, before anything is decoded, that the file holds pixel data medfen can
    /// decode and that its declared size fits that data.
    fn check(&self) -> Result<()> {
        self.check_present()?;
        let Some(f) = self.header.pixel.as_ref() else {
            return Err(Error::MissingAttribute {
                path: self.path().to_path_buf(),
                attribute: "BitsAllocated (0028,0100)",
            });
        };
        self.check_format(f)?;
        self.check_codec(f)?;
        self.check_length(f)
    }

    /// Pixel Data is there (floating-point pixel data is named, not misread).
    fn check_present(&self) -> Result<()> {
        if self.native.is_some() || self.obj.get(tags::PIXEL_DATA).is_some() {
            return Ok(());
        }
        let path = self.path().to_path_buf();
        if self.obj.get(tags::FLOAT_PIXEL_DATA).is_some()
            || self.obj.get(tags::DOUBLE_FLOAT_PIXEL_DATA).is_some()
        {
            return Err(Error::UnsupportedImage {
                path,
                reason: "floating-point pixel data".to_owned(),
            });
        }
        Err(Error::NoPixelData {
            path,
            sop_class: self.header.sop_class_uid.clone(),
        })
    }

    /// A grayscale image of known size with at most 32 bits per sample.
    fn check_format(&self, f: &PixelFormat) -> Result<()> {
        let path = self.path().to_path_buf();
        if self.header.rows == 0 || self.header.cols == 0 {
            return Err(Error::MissingAttribute {
                path,
                attribute: "Rows/Columns (0028,0010/0011)",
            });
        }
        let unsupported = |reason: String| {
            Err(Error::UnsupportedImage {
                path: path.clone(),
                reason,
            })
        };
        if f.samples_per_pixel != 1 {
            return unsupported(format!(
                "{} samples per pixel ({:?}); medfen reads grayscale images",
                f.samples_per_pixel, f.photometric
            ));
        }
        if let Photometric::Other(p) = &f.photometric {
            return unsupported(format!("photometric interpretation {p}"));
        }
        if f.bits_allocated > 32 {
            return unsupported(format!("{} bits allocated", f.bits_allocated));
        }
        Ok(())
    }

    /// A transfer syntax with a decoder for these samples.
    fn check_codec(&self, f: &PixelFormat) -> Result<()> {
        let uid = &self.header.transfer_syntax;
        // jpeg-decoder (like every pure-Rust JPEG decoder) has no 12-bit DCT process.
        let lossy_jpeg = matches!(
            uid.as_str(),
            "1.2.840.10008.1.2.4.50" | "1.2.840.10008.1.2.4.51"
        );
        let name = if lossy_jpeg && f.bits_stored > 8 {
            format!(
                "{}, {}-bit samples: no pure-Rust decoder for 12-bit lossy JPEG",
                transfer_syntax_name(uid),
                f.bits_stored
            )
        } else if let Encoding::Unsupported(name) = &self.encoding {
            name.clone()
        } else {
            return Ok(());
        };
        Err(Error::UnsupportedTransferSyntax {
            path: self.path().to_path_buf(),
            uid: uid.clone(),
            name,
        })
    }

    /// Declared geometry must fit the pixel data before any buffer is sized from it (a
    /// corrupted Rows or NumberOfFrames must not trigger a huge allocation).
    fn check_length(&self, f: &PixelFormat) -> Result<()> {
        let path = self.path().to_path_buf();
        let samples = (usize::from(self.header.rows) * usize::from(self.header.cols))
            .saturating_mul(self.frames());
        let expected = samples
            .saturating_mul(usize::from(f.bits_allocated))
            .div_ceil(8);
        if let Some(range) = &self.native
            && range.len() < expected
        {
            return Err(Error::PixelDataLength {
                path,
                expected,
                found: range.len(),
            });
        }
        match self
            .obj
            .get(tags::PIXEL_DATA)
            .map(dicom_core::DataElement::value)
        {
            Some(Value::Primitive(p)) if p.calculate_byte_len() < expected => {
                Err(Error::PixelDataLength {
                    path,
                    expected,
                    found: p.calculate_byte_len(),
                })
            }
            Some(Value::PixelSequence(seq)) => {
                let compressed: usize = seq.fragments().iter().map(Vec::len).sum();
                self.check_fragments(seq.fragments().len(), compressed, samples, f)
            }
            _ => Ok(()),
        }
    }

    /// Encapsulated data: a fragment per frame, and no more declared pixels than any
    /// codec could expand the compressed bytes to.
    fn check_fragments(
        &self,
        fragments: usize,
        compressed: usize,
        samples: usize,
        f: &PixelFormat,
    ) -> Result<()> {
        let path = self.path().to_path_buf();
        if self.frames() > 1 && fragments < self.frames() {
            return Err(Error::InvalidAttribute {
                path,
                attribute: "NumberOfFrames (0028,0008)",
                value: self.frames().to_string(),
                reason: "more frames than encapsulated fragments",
            });
        }
        // No codec expands data a thousandfold on real images (RLE at most 64x); a
        // small file declaring gigapixels is corrupt, not a scan.
        let declared = samples.saturating_mul(usize::from(f.bits_allocated.max(8)) / 8);
        let limit = (64usize << 20).max(compressed.saturating_mul(1000));
        if declared > limit {
            return Err(Error::InvalidAttribute {
                path,
                attribute: "Rows/Columns/NumberOfFrames",
                value: format!(
                    "{} x {} x {}",
                    self.header.rows,
                    self.header.cols,
                    self.frames()
                ),
                reason: "declares far more pixels than the compressed data can hold",
            });
        }
        Ok(())
    }

    /// Number of frames.
    pub fn frames(&self) -> usize {
        self.header.number_of_frames as usize
    }

    fn pixels(&self) -> usize {
        usize::from(self.header.rows) * usize::from(self.header.cols)
    }

    /// The raw samples of `frame`.
    pub(crate) fn raw_frame(&self, frame: usize) -> Result<RawSamples<'_>> {
        let n = self.pixels();
        let bits = self.format().bits_allocated;
        let path = self.path();
        if frame >= self.frames() {
            return Err(Error::Decode {
                path: path.to_path_buf(),
                frame: frame as u32,
                reason: format!("the file has {} frame(s)", self.frames()),
            });
        }
        if let Some(range) = &self.native {
            return native_bytes(path, &self.bytes[range.clone()], bits, n, frame);
        }
        let element = self.obj.get(tags::PIXEL_DATA).expect("checked in open");
        match (&self.encoding, element.value()) {
            (Encoding::NativeLe | Encoding::NativeBe, Value::Primitive(p)) => {
                native_frame(path, p, &self.encoding, bits, n, frame)
            }
            (Encoding::Rle, Value::PixelSequence(seq)) => {
                let fragments: Vec<&[u8]> = seq.fragments().iter().map(Vec::as_slice).collect();
                let data = frame_fragments(&fragments, self.frames(), seq.offset_table(), frame);
                let bytes_per_sample = usize::from(bits.max(8) / 8);
                let mut out = vec![0u8; n * bytes_per_sample];
                rle::decode_frame(&data, n, 1, bytes_per_sample, &mut out).map_err(|reason| {
                    Error::Decode {
                        path: path.to_path_buf(),
                        frame: frame as u32,
                        reason,
                    }
                })?;
                Ok(match bits {
                    8 => RawSamples::U8(Cow::Owned(out)),
                    16 => RawSamples::Le16(Cow::Owned(out)),
                    _ => RawSamples::Le32(Cow::Owned(out)),
                })
            }
            (Encoding::Codec, _) => {
                let decoded = self
                    .obj
                    .decode_pixel_data_frame(frame as u32)
                    .map_err(|e| Error::Decode {
                        path: path.to_path_buf(),
                        frame: frame as u32,
                        reason: e.to_string(),
                    })?;
                let data = decoded.data().to_vec();
                let width = usize::from(decoded.bits_allocated().max(8) / 8);
                if data.len() < n * width {
                    return Err(Error::PixelDataLength {
                        path: path.to_path_buf(),
                        expected: n * width,
                        found: data.len(),
                    });
                }
                Ok(match decoded.bits_allocated() {
                    1 | 8 => RawSamples::U8(Cow::Owned(data)),
                    16 => RawSamples::Le16(Cow::Owned(data)),
                    _ => RawSamples::Le32(Cow::Owned(data)),
                })
            }
            _ => Err(Error::Decode {
                path: path.to_path_buf(),
                frame: frame as u32,
                reason: "PixelData is encapsulated where native data is expected (or the reverse)"
                    .into(),
            }),
        }
    }

    /// The stored values of every frame (masked to Bits Stored, sign-extended).
    ///
    /// # Errors
    /// Decoding errors naming the file and frame.
    pub fn stored(&self) -> Result<StoredImage> {
        let n = self.pixels();
        let mut values = vec![0i64; n * self.frames()];
        for (f, chunk) in values.chunks_mut(n).enumerate() {
            let raw = self.raw_frame(f)?;
            for_each_stored(&raw, self.format(), n, |i, v| chunk[i] = v);
        }
        Ok(StoredImage {
            rows: usize::from(self.header.rows),
            cols: usize::from(self.header.cols),
            frames: self.frames(),
            values,
        })
    }

    /// Converts `frame` through its modality LUT into `out` (rows x cols); returns how
    /// many values had to be clamped to the output type.
    ///
    /// # Errors
    /// Decoding errors; [`Error::InvalidAttribute`] for a zero rescale slope.
    ///
    /// # Panics
    /// When `out` does not hold exactly rows x columns values.
    pub fn frame_into<T: HuValue>(&self, frame: usize, out: &mut [T]) -> Result<usize> {
        let lut = ModalityLut::for_frame(&self.header, frame)?;
        let raw = self.raw_frame(frame)?;
        let n = self.pixels();
        assert_eq!(out.len(), n, "output must hold rows x cols values");
        let mut clamped = 0usize;
        // Fast path of CT: 16-bit little-endian samples through an integer shift (with
        // the padding range mapped to air).
        if let (Some(layout), RawSamples::Le16(bytes)) = (le16_layout(self.format(), &lut), &raw) {
            return Ok(T::convert_le16(bytes, &layout, out));
        }
        match lut.integer_shift() {
            Some(shift) => for_each_stored(&raw, self.format(), n, |i, v| {
                let (x, c) = T::from_int(v + shift);
                out[i] = x;
                clamped += usize::from(c);
            }),
            None => for_each_stored(&raw, self.format(), n, |i, v| {
                let (x, c) = T::from_value(lut.apply(v));
                out[i] = x;
                clamped += usize::from(c);
            }),
        }
        Ok(clamped)
    }
}

/// The bytes of one frame of encapsulated data: one fragment per frame when the counts
/// match, the offset table when present, else all fragments (single-frame images).
fn frame_fragments<'a>(
    fragments: &[&'a [u8]],
    frames: usize,
    offsets: &[u32],
    frame: usize,
) -> Cow<'a, [u8]> {
    if fragments.len() == frames {
        return Cow::Borrowed(fragments[frame]);
    }
    if frames == 1 {
        return Cow::Owned(fragments.concat());
    }
    if offsets.len() == frames {
        // Offsets count bytes from the first fragment, including 8-byte item headers.
        let (start, end) = (
            offsets[frame] as usize,
            offsets.get(frame + 1).map(|&o| o as usize),
        );
        let mut pos = 0usize;
        let mut out = Vec::new();
        for f in fragments {
            if pos >= start && end.is_none_or(|e| pos < e) {
                out.extend_from_slice(f);
            }
            pos += f.len() + 8;
        }
        return Cow::Owned(out);
    }
    Cow::Borrowed(fragments.get(frame).copied().unwrap_or(&[]))
}

/// The samples of frame `frame` of native little-endian pixel data, in place.
fn native_bytes<'a>(
    path: &Path,
    data: &'a [u8],
    bits: u16,
    n: usize,
    frame: usize,
) -> Result<RawSamples<'a>> {
    let width_bits = usize::from(bits);
    let (start, end) = (
        frame * n * width_bits / 8,
        ((frame + 1) * n * width_bits).div_ceil(8),
    );
    if end > data.len() {
        return Err(Error::PixelDataLength {
            path: path.to_path_buf(),
            expected: end,
            found: data.len(),
        });
    }
    Ok(match bits {
        1 => RawSamples::Bits(data, frame * n),
        8 => RawSamples::U8(Cow::Borrowed(&data[start..end])),
        16 => RawSamples::Le16(Cow::Borrowed(&data[start..end])),
        32 => RawSamples::Le32(Cow::Borrowed(&data[start..end])),
        b => {
            return Err(Error::UnsupportedImage {
                path: path.to_path_buf(),
                reason: format!("{b} bits allocated"),
            });
        }
    })
}

/// The samples of frame `frame` of native pixel data.
fn native_frame<'a>(
    path: &Path,
    p: &'a PrimitiveValue,
    encoding: &Encoding,
    bits: u16,
    n: usize,
    frame: usize,
) -> Result<RawSamples<'a>> {
    let short = |found: usize, expected: usize| Error::PixelDataLength {
        path: path.to_path_buf(),
        expected,
        found,
    };
    let range = |width: usize, len: usize| -> Result<std::ops::Range<usize>> {
        let (start, end) = (frame * n * width, (frame + 1) * n * width);
        if end > len {
            Err(short(len, end))
        } else {
            Ok(start..end)
        }
    };
    let big = *encoding == Encoding::NativeBe;
    Ok(match (bits, p) {
        (1, PrimitiveValue::U8(v)) => {
            if (frame + 1) * n > v.len() * 8 {
                return Err(short(v.len(), ((frame + 1) * n).div_ceil(8)));
            }
            RawSamples::Bits(v, frame * n)
        }
        (8, PrimitiveValue::U8(v)) => RawSamples::U8(Cow::Borrowed(&v[range(1, v.len())?])),
        // 8-bit samples in OW words: restore the byte order of the file.
        (8, PrimitiveValue::U16(v)) => {
            let bytes: Vec<u8> = v
                .iter()
                .flat_map(|w| {
                    if big {
                        w.to_be_bytes()
                    } else {
                        w.to_le_bytes()
                    }
                })
                .collect();
            let r = range(1, bytes.len())?;
            RawSamples::U8(Cow::Owned(bytes[r].to_vec()))
        }
        (16, PrimitiveValue::U16(v)) => RawSamples::U16(&v[range(1, v.len())?]),
        (16, PrimitiveValue::I16(v)) => RawSamples::I16(&v[range(1, v.len())?]),
        (16, PrimitiveValue::U8(v)) if !big => {
            RawSamples::Le16(Cow::Borrowed(&v[range(2, v.len())?]))
        }
        (16, PrimitiveValue::U8(v)) => {
            let r = range(2, v.len())?;
            RawSamples::Le16(Cow::Owned(
                v[r].chunks_exact(2).flat_map(|c| [c[1], c[0]]).collect(),
            ))
        }
        (32, PrimitiveValue::U32(v)) => RawSamples::U32(&v[range(1, v.len())?]),
        (32, PrimitiveValue::I32(v)) => RawSamples::I32(&v[range(1, v.len())?]),
        (32, PrimitiveValue::U8(v)) if !big => {
            RawSamples::Le32(Cow::Borrowed(&v[range(4, v.len())?]))
        }
        (32, PrimitiveValue::U8(v)) => {
            let r = range(4, v.len())?;
            RawSamples::Le32(Cow::Owned(
                v[r].chunks_exact(4)
                    .flat_map(|c| [c[3], c[2], c[1], c[0]])
                    .collect(),
            ))
        }
        // 32-bit samples read as OW words: two words per sample, the high word first in
        // big endian files.
        (32, PrimitiveValue::U16(v)) => {
            let r = range(2, v.len())?;
            let samples: Vec<u8> = v[r]
                .chunks_exact(2)
                .flat_map(|w| {
                    let (lo, hi) = if big { (w[1], w[0]) } else { (w[0], w[1]) };
                    (u32::from(lo) | (u32::from(hi) << 16)).to_le_bytes()
                })
                .collect();
            RawSamples::Le32(Cow::Owned(samples))
        }
        (b, other) => {
            return Err(Error::UnsupportedImage {
                path: path.to_path_buf(),
                reason: format!(
                    "{b} bits allocated with PixelData stored as {}",
                    other.value_type_name()
                ),
            });
        }
    })
}

trait ValueTypeName {
    fn value_type_name(&self) -> &'static str;
}

impl ValueTypeName for PrimitiveValue {
    fn value_type_name(&self) -> &'static str {
        match self {
            PrimitiveValue::U8(_) => "bytes",
            PrimitiveValue::U16(_) => "16-bit words",
            PrimitiveValue::I16(_) => "signed 16-bit words",
            PrimitiveValue::U32(_) => "32-bit words",
            PrimitiveValue::I32(_) => "signed 32-bit words",
            PrimitiveValue::F32(_) | PrimitiveValue::F64(_) => "floats",
            _ => "another value type",
        }
    }
}

/// (shift, mask, sign bit) of the stored bits: `(((raw >> shift) & mask) ^ sign) - sign`
/// is the stored value, sign-extended when the data is signed (sign is 0 otherwise).
/// The integer fast path of 16-bit samples through `lut`, when it applies: an integer
/// shift (padding range mapped to air) of at most 16 stored bits.
pub(crate) fn le16_layout(f: &PixelFormat, lut: &ModalityLut) -> Option<Le16Layout> {
    let (shift, padding) = lut.shift_and_padding()?;
    let add = i32::try_from(shift).ok()?;
    let padding = padding
        .map(|(a, b)| Ok::<_, std::num::TryFromIntError>((i32::try_from(a)?, i32::try_from(b)?)))
        .transpose()
        .ok()?;
    if add.abs() >= 1 << 30 || f.bits_stored > 16 || f.high_bit >= 16 {
        return None;
    }
    let (shift, mask, sign) = bit_layout(f);
    Some(Le16Layout {
        shift,
        mask: mask as i32,
        sign: sign as i32,
        add,
        padding,
    })
}

fn bit_layout(f: &PixelFormat) -> (u32, i64, i64) {
    let bits = u32::from(f.bits_stored).min(32);
    let shift = u32::from(f.high_bit + 1).saturating_sub(bits);
    let mask = (1i64 << bits) - 1;
    let sign = if f.signed {
        1i64 << (bits.max(1) - 1)
    } else {
        0
    };
    (shift, mask, sign)
}

/// Calls `f(i, stored_value)` for each of the `n` samples: masked to Bits Stored at
/// High Bit, sign-extended when signed. One monomorphised loop per container type.
pub(crate) fn for_each_stored(
    raw: &RawSamples<'_>,
    f: &PixelFormat,
    n: usize,
    mut put: impl FnMut(usize, i64),
) {
    let bits = u32::from(f.bits_stored);
    let shift = u32::from(f.high_bit + 1).saturating_sub(bits);
    let mask: u64 = if bits >= 64 {
        u64::MAX
    } else {
        (1u64 << bits) - 1
    };
    let sign: u64 = 1u64 << (bits.max(1) - 1);
    let signed = f.signed;
    let value = move |u: u64| -> i64 {
        let v = (u >> shift) & mask;
        if signed && v & sign != 0 {
            v as i64 - (1i64 << bits)
        } else {
            v as i64
        }
    };
    match raw {
        RawSamples::U8(b) => b
            .iter()
            .take(n)
            .enumerate()
            .for_each(|(i, &x)| put(i, value(u64::from(x)))),
        RawSamples::Le16(b) => b
            .chunks_exact(2)
            .take(n)
            .enumerate()
            .for_each(|(i, c)| put(i, value(u64::from(u16::from_le_bytes([c[0], c[1]]))))),
        RawSamples::U16(v) => v
            .iter()
            .take(n)
            .enumerate()
            .for_each(|(i, &x)| put(i, value(u64::from(x)))),
        RawSamples::I16(v) => v
            .iter()
            .take(n)
            .enumerate()
            .for_each(|(i, &x)| put(i, value(u64::from(x as u16)))),
        RawSamples::Le32(b) => b.chunks_exact(4).take(n).enumerate().for_each(|(i, c)| {
            put(
                i,
                value(u64::from(u32::from_le_bytes([c[0], c[1], c[2], c[3]]))),
            );
        }),
        RawSamples::U32(v) => v
            .iter()
            .take(n)
            .enumerate()
            .for_each(|(i, &x)| put(i, value(u64::from(x)))),
        RawSamples::I32(v) => v
            .iter()
            .take(n)
            .enumerate()
            .for_each(|(i, &x)| put(i, value(u64::from(x as u32)))),
        RawSamples::Bits(b, offset) => (0..n).for_each(|i| {
            let bit = offset + i;
            put(i, value(u64::from((b[bit / 8] >> (bit % 8)) & 1)));
        }),
    }
}

/// Reads the stored values of a grayscale DICOM image (all frames).
///
/// # Errors
/// As [`ImageFile::open`] and [`ImageFile::stored`].
pub fn read_stored(path: &Path) -> Result<(DicomHeader, StoredImage)> {
    let file = ImageFile::open(path)?;
    let stored = file.stored()?;
    Ok((file.header, stored))
}

//! Pixel Data in the spec's transfer syntax: native words, RLE Lossless fragments or
//! JPEG Lossless fragments.

use dicom_core::value::{PixelFragmentSequence, PrimitiveValue, Value};
use dicom_core::{DataElement, VR};
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;

use super::{DicomImageSpec, WriteSyntax, put};
use crate::pixels::rle;

/// Encapsulated Pixel Data: one fragment per frame.
fn put_fragments(obj: &mut InMemDicomObject, fragments: Vec<Vec<u8>>) {
    let seq = PixelFragmentSequence::new(Vec::<u32>::new(), fragments);
    obj.put(DataElement::new(tags::PIXEL_DATA, VR::OB, Value::from(seq)));
}

/// The JPEG Lossless sample precision: unsigned values within BitsStored keep that
/// precision; anything else is encoded as its 16-bit pattern (decoders return the same
/// bits).
fn jpeg_precision(spec: &DicomImageSpec) -> u8 {
    let max = (1i32 << spec.bits_stored) - 1;
    let fits = !spec.signed
        && spec
            .frames
            .iter()
            .all(|f| f.stored.iter().all(|&v| (0..=max).contains(&v)));
    if fits {
        spec.bits_stored.clamp(2, 16) as u8
    } else {
        16
    }
}

/// Puts the frames' stored values as Pixel Data.
pub(super) fn put_pixel_data(obj: &mut InMemDicomObject, spec: &DicomImageSpec) {
    let pixels = usize::from(spec.rows) * usize::from(spec.cols);
    match spec.syntax {
        WriteSyntax::Rle => {
            let fragments = spec
                .frames
                .iter()
                .map(|f| {
                    let bytes: Vec<u8> = f
                        .stored
                        .iter()
                        .flat_map(|&v| (v as u16).to_le_bytes())
                        .collect();
                    rle::encode_frame(&bytes, pixels, 1, 2)
                })
                .collect();
            put_fragments(obj, fragments);
        }
        WriteSyntax::JpegLossless => {
            let precision = jpeg_precision(spec);
            let fragments = spec
                .frames
                .iter()
                .map(|f| {
                    let words: Vec<u16> = f.stored.iter().map(|&v| v as u16).collect();
                    let mut bytes =
                        crate::jpeg_lossless::encode(&words, spec.rows, spec.cols, precision);
                    if bytes.len() % 2 == 1 {
                        bytes.push(0);
                    }
                    bytes
                })
                .collect();
            put_fragments(obj, fragments);
        }
        WriteSyntax::ExplicitLe | WriteSyntax::ImplicitLe | WriteSyntax::ExplicitBe => {
            let words: Vec<u16> = spec
                .frames
                .iter()
                .flat_map(|f| f.stored.iter().map(|&v| v as u16))
                .collect();
            put(
                obj,
                tags::PIXEL_DATA,
                VR::OW,
                PrimitiveValue::U16(words.into()),
            );
        }
    }
}

//! Writing CT DICOM files with exact geometry: for tests, phantoms (medfen-synth) and
//! benchmarks.
//!
//! One frame gives a classic CT Image; several frames give an Enhanced CT Image with
//! per-frame Plane Position and Pixel Value Transformation functional groups. Pixel data
//! is native (implicit or explicit little endian, explicit big endian) or RLE Lossless.

use std::path::Path;

use dicom_core::value::{DataSetSequence, PrimitiveValue, Value};
use dicom_core::{DataElement, Length, Tag, VR};
use dicom_object::mem::InMemElement;
use dicom_object::{FileMetaTableBuilder, InMemDicomObject};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

mod attributes;
mod pixel_data;

/// CT Image Storage.
pub const CT_IMAGE_STORAGE: &str = "1.2.840.10008.5.1.4.1.1.2";
/// Enhanced CT Image Storage.
pub const ENHANCED_CT_IMAGE_STORAGE: &str = "1.2.840.10008.5.1.4.1.1.2.1";

/// Transfer syntaxes the writer produces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum WriteSyntax {
    /// Explicit VR Little Endian (1.2.840.10008.1.2.1).
    #[default]
    ExplicitLe,
    /// Implicit VR Little Endian (1.2.840.10008.1.2).
    ImplicitLe,
    /// Explicit VR Big Endian (1.2.840.10008.1.2.2, retired but still found).
    ExplicitBe,
    /// RLE Lossless (1.2.840.10008.1.2.5).
    Rle,
    /// JPEG Lossless, first-order prediction (1.2.840.10008.1.2.4.70), the usual
    /// compression of CT archives.
    JpegLossless,
}

impl WriteSyntax {
    /// The transfer syntax UID.
    pub fn uid(self) -> &'static str {
        match self {
            Self::ExplicitLe => "1.2.840.10008.1.2.1",
            Self::ImplicitLe => "1.2.840.10008.1.2",
            Self::ExplicitBe => "1.2.840.10008.1.2.2",
            Self::Rle => "1.2.840.10008.1.2.5",
            Self::JpegLossless => "1.2.840.10008.1.2.4.70",
        }
    }
}

/// One frame: where it is and its stored values (row-major, rows x columns).
#[derive(Debug, Clone, PartialEq)]
pub struct FrameSpec {
    /// Image Position (Patient); `None` omits it.
    pub position: Option<[f64; 3]>,
    /// Rescale slope of this frame.
    pub slope: f64,
    /// Rescale intercept of this frame.
    pub intercept: f64,
    /// Stored values.
    pub stored: Vec<i32>,
}

/// Everything written into one file. Optional attributes are omitted when `None`.
#[derive(Debug, Clone, PartialEq)]
pub struct DicomImageSpec {
    /// Transfer syntax.
    pub syntax: WriteSyntax,
    /// Rows.
    pub rows: u16,
    /// Columns.
    pub cols: u16,
    /// Pixel Spacing (between rows, between columns).
    pub pixel_spacing: Option<[f64; 2]>,
    /// Image Orientation (Patient).
    pub orientation: Option<[f64; 6]>,
    /// Bits Stored (Bits Allocated is 16).
    pub bits_stored: u16,
    /// Signed stored values (Pixel Representation 1).
    pub signed: bool,
    /// MONOCHROME1 instead of MONOCHROME2.
    pub monochrome1: bool,
    /// Pixel Padding Value.
    pub padding: Option<i32>,
    /// Study Instance UID.
    pub study_uid: String,
    /// Series Instance UID.
    pub series_uid: String,
    /// SOP Instance UID.
    pub sop_instance_uid: String,
    /// Frame of Reference UID.
    pub frame_of_reference_uid: Option<String>,
    /// Modality.
    pub modality: String,
    /// Image Type values.
    pub image_type: Vec<String>,
    /// Series Number.
    pub series_number: Option<i64>,
    /// Series Description.
    pub series_description: Option<String>,
    /// Instance Number.
    pub instance_number: Option<i64>,
    /// Acquisition Number.
    pub acquisition_number: Option<i64>,
    /// Convolution Kernel.
    pub kernel: Option<String>,
    /// Manufacturer.
    pub manufacturer: Option<String>,
    /// Manufacturer's Model Name.
    pub model: Option<String>,
    /// Body Part Examined.
    pub body_part: Option<String>,
    /// Slice Thickness.
    pub slice_thickness: Option<f64>,
    /// Spacing Between Slices.
    pub spacing_between_slices: Option<f64>,
    /// Gantry/Detector Tilt.
    pub gantry_tilt: Option<f64>,
    /// Patient ID.
    pub patient_id: Option<String>,
    /// Patient's Name.
    pub patient_name: Option<String>,
    /// Study Date (YYYYMMDD).
    pub study_date: Option<String>,
    /// Accession Number.
    pub accession_number: Option<String>,
    /// The frames (one for a classic CT image).
    pub frames: Vec<FrameSpec>,
}

impl Default for DicomImageSpec {
    fn default() -> Self {
        Self {
            syntax: WriteSyntax::ExplicitLe,
            rows: 0,
            cols: 0,
            pixel_spacing: Some([1.0, 1.0]),
            orientation: Some([1.0, 0.0, 0.0, 0.0, 1.0, 0.0]),
            bits_stored: 12,
            signed: false,
            monochrome1: false,
            padding: None,
            study_uid: "1.2.826.0.1.3680043.10.1.1".into(),
            series_uid: "1.2.826.0.1.3680043.10.1.2".into(),
            sop_instance_uid: "1.2.826.0.1.3680043.10.1.3".into(),
            frame_of_reference_uid: Some("1.2.826.0.1.3680043.10.1.4".into()),
            modality: "CT".into(),
            image_type: vec!["ORIGINAL".into(), "PRIMARY".into(), "AXIAL".into()],
            series_number: Some(1),
            series_description: None,
            instance_number: Some(1),
            acquisition_number: Some(1),
            kernel: None,
            manufacturer: None,
            model: None,
            body_part: None,
            slice_thickness: None,
            spacing_between_slices: None,
            gantry_tilt: None,
            patient_id: None,
            patient_name: None,
            study_date: None,
            accession_number: None,
            frames: Vec::new(),
        }
    }
}

/// True for a valid DICOM UID: up to 64 characters, numeric components separated by
/// dots, no empty component, no leading zero (except the component "0").
pub fn is_valid_uid(uid: &str) -> bool {
    !uid.is_empty()
        && uid.len() <= 64
        && uid.split('.').all(|c| {
            !c.is_empty()
                && c.bytes().all(|b| b.is_ascii_digit())
                && (c == "0" || !c.starts_with('0'))
        })
}

/// A decimal string of at most 16 characters (the DS limit), as precise as fits.
pub fn decimal_string(v: f64) -> String {
    for precision in (0..=12).rev() {
        let s = format!("{v:.precision$}");
        let s = if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_owned()
        } else {
            s
        };
        let s = if s == "-0" { "0".to_owned() } else { s };
        if s.len() <= 16 {
            return s;
        }
    }
    format!("{v:.6e}")
}

pub(super) fn ds(values: &[f64]) -> PrimitiveValue {
    PrimitiveValue::Strs(values.iter().map(|v| decimal_string(*v)).collect())
}

pub(super) fn put(obj: &mut InMemDicomObject, tag: Tag, vr: VR, value: impl Into<PrimitiveValue>) {
    obj.put(DataElement::new(tag, vr, value.into()));
}

pub(super) fn sequence(tag: Tag, items: Vec<InMemDicomObject>) -> InMemElement {
    DataElement::new(
        tag,
        VR::SQ,
        Value::from(DataSetSequence::new(items, Length::UNDEFINED)),
    )
}

pub(super) fn item(f: impl FnOnce(&mut InMemDicomObject)) -> InMemDicomObject {
    let mut o = InMemDicomObject::new_empty();
    f(&mut o);
    o
}

/// Writes `spec` to `path` atomically (temporary file, then rename; parent folders are
/// created).
///
/// # Errors
/// [`Error::InvalidAttribute`] for inconsistent specs (no frames, wrong number of
/// values); [`Error::Io`] or [`Error::Parse`] when writing fails.
pub fn write_dicom(path: &Path, spec: &DicomImageSpec) -> Result<()> {
    let bytes = encode(path, spec)?;
    medfen_io::write_atomically(path, &bytes).map_err(Into::into)
}

/// The bytes of the DICOM file `spec` describes (what [`write_dicom`] writes).
///
/// # Errors
/// [`Error::InvalidAttribute`] for inconsistent specs.
pub fn encode_dicom(spec: &DicomImageSpec) -> Result<Vec<u8>> {
    encode(Path::new("<in memory>"), spec)
}

/// Checks the frames' sizes and the UIDs before anything is encoded.
fn validate(path: &Path, spec: &DicomImageSpec) -> Result<()> {
    let bad =
        |attribute: &'static str, value: String, reason: &'static str| Error::InvalidAttribute {
            path: path.to_path_buf(),
            attribute,
            value,
            reason,
        };
    let pixels = usize::from(spec.rows) * usize::from(spec.cols);
    if spec.frames.is_empty() {
        return Err(bad("frames", "0".into(), "at least one frame is needed"));
    }
    if let Some(f) = spec.frames.iter().find(|f| f.stored.len() != pixels) {
        return Err(bad(
            "PixelData",
            f.stored.len().to_string(),
            "each frame needs rows x columns values",
        ));
    }
    let mut uids = vec![
        ("StudyInstanceUID", &spec.study_uid),
        ("SeriesInstanceUID", &spec.series_uid),
        ("SOPInstanceUID", &spec.sop_instance_uid),
    ];
    if let Some(f) = &spec.frame_of_reference_uid {
        uids.push(("FrameOfReferenceUID", f));
    }
    match uids.into_iter().find(|(_, uid)| !is_valid_uid(uid)) {
        Some((name, uid)) => Err(bad(
            name,
            uid.clone(),
            "a UID is 1-64 characters of digits and dots, without leading zeros",
        )),
        None => Ok(()),
    }
}

fn encode(path: &Path, spec: &DicomImageSpec) -> Result<Vec<u8>> {
    validate(path, spec)?;
    let enhanced = spec.frames.len() > 1;
    let sop_class = if enhanced {
        ENHANCED_CT_IMAGE_STORAGE
    } else {
        CT_IMAGE_STORAGE
    };
    let mut obj = InMemDicomObject::new_empty();
    attributes::identity(&mut obj, spec, sop_class);
    attributes::image_pixel(&mut obj, spec);
    if enhanced {
        attributes::enhanced_geometry(&mut obj, spec);
    } else {
        attributes::classic_geometry(&mut obj, spec);
    }
    pixel_data::put_pixel_data(&mut obj, spec);
    let meta = FileMetaTableBuilder::new()
        .media_storage_sop_class_uid(sop_class)
        .media_storage_sop_instance_uid(spec.sop_instance_uid.as_str())
        .transfer_syntax(spec.syntax.uid())
        .implementation_class_uid("1.2.826.0.1.3680043.10.1.999")
        .implementation_version_name("MEDFEN")
        .build()
        .map_err(|e| Error::Parse {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
    let pixels = usize::from(spec.rows) * usize::from(spec.cols);
    let mut bytes = Vec::with_capacity(pixels * spec.frames.len() * 2 + 4096);
    obj.with_exact_meta(meta)
        .write_all(&mut bytes)
        .map_err(|e| Error::Parse {
            path: path.to_path_buf(),
            reason: format!("cannot encode: {e}"),
        })?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::{decimal_string, is_valid_uid};

    #[test]
    fn uids_are_checked() {
        assert!(is_valid_uid("1.2.840.10008.1.2.1"));
        for bad in ["", "1..2", "1.2.a", "1.02", &"1".repeat(65)] {
            assert!(!is_valid_uid(bad), "{bad}");
        }
    }

    #[test]
    fn decimal_strings_fit_sixteen_characters() {
        assert_eq!(decimal_string(0.5), "0.5");
        assert_eq!(decimal_string(-1024.0), "-1024");
        assert_eq!(decimal_string(0.1 + 0.2), "0.3");
        let s = decimal_string(-123.456_789_012_345);
        assert!(
            s.len() <= 16 && (s.parse::<f64>().unwrap() + 123.456_789_012_345).abs() < 1e-10,
            "{s}"
        );
        assert!(decimal_string(1.0 / 3.0).len() <= 16);
        assert_eq!(decimal_string(-1e-13), "0");
    }
}

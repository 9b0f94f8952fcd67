//! Writing CT DICOM files with exact geometry: for tests, phantoms (medfen-synth) and
//! benchmarks.
//!
//! One frame gives a classic CT Image; several frames give an Enhanced CT Image with
//! per-frame Plane Position and Pixel Value Transformation functional groups. Pixel data
//! is native (implicit or explicit little endian, explicit big endian) or RLE Lossless.

use std::path::Path;

use dicom_core::value::{DataSetSequence, PixelFragmentSequence, PrimitiveValue, Value};
use dicom_core::{DataElement, Length, Tag, VR};
use dicom_dictionary_std::tags;
use dicom_object::mem::InMemElement;
use dicom_object::{FileMetaTableBuilder, InMemDicomObject};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::pixels::rle;

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

fn ds(values: &[f64]) -> PrimitiveValue {
    PrimitiveValue::Strs(values.iter().map(|v| decimal_string(*v)).collect())
}

fn put(obj: &mut InMemDicomObject, tag: Tag, vr: VR, value: impl Into<PrimitiveValue>) {
    obj.put(DataElement::new(tag, vr, value.into()));
}

fn sequence(tag: Tag, items: Vec<InMemDicomObject>) -> InMemElement {
    DataElement::new(
        tag,
        VR::SQ,
        Value::from(DataSetSequence::new(items, Length::UNDEFINED)),
    )
}

fn item(f: impl FnOnce(&mut InMemDicomObject)) -> InMemDicomObject {
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

fn encode(path: &Path, spec: &DicomImageSpec) -> Result<Vec<u8>> {
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
    for (name, uid) in uids {
        if !is_valid_uid(uid) {
            return Err(Error::InvalidAttribute {
                path: path.to_path_buf(),
                attribute: name,
                value: uid.clone(),
                reason: "a UID is 1-64 characters of digits and dots, without leading zeros",
            });
        }
    }
    let enhanced = spec.frames.len() > 1;
    let sop_class = if enhanced {
        ENHANCED_CT_IMAGE_STORAGE
    } else {
        CT_IMAGE_STORAGE
    };
    let mut obj = InMemDicomObject::new_empty();
    put(&mut obj, tags::SOP_CLASS_UID, VR::UI, sop_class);
    put(
        &mut obj,
        tags::SOP_INSTANCE_UID,
        VR::UI,
        spec.sop_instance_uid.as_str(),
    );
    put(
        &mut obj,
        tags::STUDY_INSTANCE_UID,
        VR::UI,
        spec.study_uid.as_str(),
    );
    put(
        &mut obj,
        tags::SERIES_INSTANCE_UID,
        VR::UI,
        spec.series_uid.as_str(),
    );
    if let Some(v) = &spec.frame_of_reference_uid {
        put(&mut obj, tags::FRAME_OF_REFERENCE_UID, VR::UI, v.as_str());
    }
    put(&mut obj, tags::MODALITY, VR::CS, spec.modality.as_str());
    put(
        &mut obj,
        tags::IMAGE_TYPE,
        VR::CS,
        PrimitiveValue::Strs(spec.image_type.iter().cloned().collect()),
    );
    let texts: [(Tag, VR, &Option<String>); 8] = [
        (tags::SERIES_DESCRIPTION, VR::LO, &spec.series_description),
        (tags::CONVOLUTION_KERNEL, VR::SH, &spec.kernel),
        (tags::MANUFACTURER, VR::LO, &spec.manufacturer),
        (tags::MANUFACTURER_MODEL_NAME, VR::LO, &spec.model),
        (tags::BODY_PART_EXAMINED, VR::CS, &spec.body_part),
        (tags::PATIENT_ID, VR::LO, &spec.patient_id),
        (tags::PATIENT_NAME, VR::PN, &spec.patient_name),
        (tags::ACCESSION_NUMBER, VR::SH, &spec.accession_number),
    ];
    for (tag, vr, v) in texts {
        if let Some(v) = v {
            put(&mut obj, tag, vr, v.as_str());
        }
    }
    if let Some(d) = &spec.study_date {
        put(&mut obj, tags::STUDY_DATE, VR::DA, d.as_str());
    }
    for (tag, v) in [
        (tags::SERIES_NUMBER, spec.series_number),
        (tags::INSTANCE_NUMBER, spec.instance_number),
        (tags::ACQUISITION_NUMBER, spec.acquisition_number),
    ] {
        if let Some(v) = v {
            put(&mut obj, tag, VR::IS, v.to_string());
        }
    }
    if let Some(v) = spec.spacing_between_slices {
        put(&mut obj, tags::SPACING_BETWEEN_SLICES, VR::DS, ds(&[v]));
    }
    if let Some(v) = spec.gantry_tilt {
        put(&mut obj, tags::GANTRY_DETECTOR_TILT, VR::DS, ds(&[v]));
    }
    put(&mut obj, tags::SAMPLES_PER_PIXEL, VR::US, 1u16);
    put(
        &mut obj,
        tags::PHOTOMETRIC_INTERPRETATION,
        VR::CS,
        if spec.monochrome1 {
            "MONOCHROME1"
        } else {
            "MONOCHROME2"
        },
    );
    put(&mut obj, tags::ROWS, VR::US, spec.rows);
    put(&mut obj, tags::COLUMNS, VR::US, spec.cols);
    put(&mut obj, tags::BITS_ALLOCATED, VR::US, 16u16);
    put(&mut obj, tags::BITS_STORED, VR::US, spec.bits_stored);
    put(&mut obj, tags::HIGH_BIT, VR::US, spec.bits_stored - 1);
    put(
        &mut obj,
        tags::PIXEL_REPRESENTATION,
        VR::US,
        u16::from(spec.signed),
    );
    if let Some(p) = spec.padding {
        if spec.signed {
            put(&mut obj, tags::PIXEL_PADDING_VALUE, VR::SS, p as i16);
        } else {
            put(&mut obj, tags::PIXEL_PADDING_VALUE, VR::US, p as u16);
        }
    }
    let geometry_top_level = !enhanced;
    if geometry_top_level {
        let f = &spec.frames[0];
        if let Some(p) = f.position {
            put(&mut obj, tags::IMAGE_POSITION_PATIENT, VR::DS, ds(&p));
        }
        if let Some(o) = spec.orientation {
            put(&mut obj, tags::IMAGE_ORIENTATION_PATIENT, VR::DS, ds(&o));
        }
        if let Some(s) = spec.pixel_spacing {
            put(&mut obj, tags::PIXEL_SPACING, VR::DS, ds(&s));
        }
        if let Some(t) = spec.slice_thickness {
            put(&mut obj, tags::SLICE_THICKNESS, VR::DS, ds(&[t]));
        }
        put(
            &mut obj,
            tags::RESCALE_INTERCEPT,
            VR::DS,
            ds(&[f.intercept]),
        );
        put(&mut obj, tags::RESCALE_SLOPE, VR::DS, ds(&[f.slope]));
        put(&mut obj, tags::RESCALE_TYPE, VR::LO, "HU");
    } else {
        put(
            &mut obj,
            tags::NUMBER_OF_FRAMES,
            VR::IS,
            spec.frames.len().to_string(),
        );
        let shared = item(|s| {
            if let Some(o) = spec.orientation {
                s.put(sequence(
                    tags::PLANE_ORIENTATION_SEQUENCE,
                    vec![item(|i| {
                        put(i, tags::IMAGE_ORIENTATION_PATIENT, VR::DS, ds(&o));
                    })],
                ));
            }
            s.put(sequence(
                tags::PIXEL_MEASURES_SEQUENCE,
                vec![item(|i| {
                    if let Some(px) = spec.pixel_spacing {
                        put(i, tags::PIXEL_SPACING, VR::DS, ds(&px));
                    }
                    if let Some(t) = spec.slice_thickness {
                        put(i, tags::SLICE_THICKNESS, VR::DS, ds(&[t]));
                    }
                })],
            ));
        });
        obj.put(sequence(
            tags::SHARED_FUNCTIONAL_GROUPS_SEQUENCE,
            vec![shared],
        ));
        let per_frame = spec
            .frames
            .iter()
            .map(|f| {
                item(|g| {
                    if let Some(p) = f.position {
                        g.put(sequence(
                            tags::PLANE_POSITION_SEQUENCE,
                            vec![item(|i| {
                                put(i, tags::IMAGE_POSITION_PATIENT, VR::DS, ds(&p));
                            })],
                        ));
                    }
                    g.put(sequence(
                        tags::PIXEL_VALUE_TRANSFORMATION_SEQUENCE,
                        vec![item(|i| {
                            put(i, tags::RESCALE_INTERCEPT, VR::DS, ds(&[f.intercept]));
                            put(i, tags::RESCALE_SLOPE, VR::DS, ds(&[f.slope]));
                            put(i, tags::RESCALE_TYPE, VR::LO, "HU");
                        })],
                    ));
                })
            })
            .collect();
        obj.put(sequence(
            tags::PER_FRAME_FUNCTIONAL_GROUPS_SEQUENCE,
            per_frame,
        ));
    }
    match spec.syntax {
        WriteSyntax::Rle => {
            let fragments: Vec<Vec<u8>> = spec
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
            let seq = PixelFragmentSequence::new(Vec::<u32>::new(), fragments);
            obj.put(DataElement::new(tags::PIXEL_DATA, VR::OB, Value::from(seq)));
        }
        WriteSyntax::JpegLossless => {
            // Unsigned values within BitsStored keep that precision; anything else is
            // encoded as its 16-bit pattern (decoders return the same bits).
            let max = (1i32 << spec.bits_stored) - 1;
            let fits = !spec.signed
                && spec
                    .frames
                    .iter()
                    .all(|f| f.stored.iter().all(|&v| (0..=max).contains(&v)));
            let precision = if fits {
                spec.bits_stored.clamp(2, 16) as u8
            } else {
                16
            };
            let fragments: Vec<Vec<u8>> = spec
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
            let seq = PixelFragmentSequence::new(Vec::<u32>::new(), fragments);
            obj.put(DataElement::new(tags::PIXEL_DATA, VR::OB, Value::from(seq)));
        }
        WriteSyntax::ExplicitLe | WriteSyntax::ImplicitLe | WriteSyntax::ExplicitBe => {
            let words: Vec<u16> = spec
                .frames
                .iter()
                .flat_map(|f| f.stored.iter().map(|&v| v as u16))
                .collect();
            put(
                &mut obj,
                tags::PIXEL_DATA,
                VR::OW,
                PrimitiveValue::U16(words.into()),
            );
        }
    }
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

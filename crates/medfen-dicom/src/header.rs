//! Per-file header records, read without touching the pixel data.

use std::fmt;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use dicom_dictionary_std::tags;
use dicom_object::{InMemDicomObject, OpenFileOptions};
use serde::{Deserialize, Serialize};

use crate::attrs::{self, first_item};
use crate::error::{Error, Result};

/// SOP class of a DICOMDIR (Media Storage Directory Storage).
pub const DICOMDIR_SOP_CLASS: &str = "1.2.840.10008.1.3.10";

/// How stored pixel values are laid out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PixelFormat {
    /// Samples per pixel (1 = grayscale).
    pub samples_per_pixel: u16,
    /// Bits allocated per sample (1, 8, 16 or 32).
    pub bits_allocated: u16,
    /// Bits stored per sample.
    pub bits_stored: u16,
    /// Highest stored bit.
    pub high_bit: u16,
    /// True when samples are two's-complement signed.
    pub signed: bool,
    /// Photometric interpretation.
    pub photometric: Photometric,
    /// Planar configuration (colour only): true = one plane per sample.
    pub planar: bool,
}

/// Photometric interpretation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Photometric {
    /// Low values are dark.
    Monochrome2,
    /// Low values are displayed bright. A display attribute only: HU come from the
    /// modality LUT alone, as for MONOCHROME2.
    Monochrome1,
    /// Anything else (RGB, YBR_*, PALETTE COLOR...), as written in the file.
    Other(String),
}

impl Photometric {
    fn parse(s: Option<&str>) -> Self {
        match s.map(str::trim) {
            None | Some("MONOCHROME2") => Self::Monochrome2,
            Some("MONOCHROME1") => Self::Monochrome1,
            Some(other) => Self::Other(other.to_owned()),
        }
    }
}

/// Rescale slope and intercept (the modality LUT).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Rescale {
    /// Multiplier.
    pub slope: f64,
    /// Offset.
    pub intercept: f64,
}

impl Default for Rescale {
    fn default() -> Self {
        Self {
            slope: 1.0,
            intercept: 0.0,
        }
    }
}

/// Geometry and intensity mapping of one frame.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FrameGeometry {
    /// Image Position (Patient): LPS mm of the first transmitted pixel's centre.
    pub position: Option<[f64; 3]>,
    /// Image Orientation (Patient): row direction cosines, then column direction cosines.
    pub orientation: Option<[f64; 6]>,
    /// Pixel Spacing: (between rows, between columns) in mm.
    pub pixel_spacing: Option<[f64; 2]>,
    /// Slice Thickness in mm (nominal; never used for spacing).
    pub slice_thickness: Option<f64>,
    /// Modality LUT.
    pub rescale: Rescale,
}

/// Patient identity, only to derive a keyed hash; never logged, printed or serialised.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct PatientIdentity {
    /// Patient ID (0010,0020).
    pub id: Option<String>,
    /// Patient's Name (0010,0010).
    pub name: Option<String>,
}

impl fmt::Debug for PatientIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PatientIdentity(<redacted>)")
    }
}

/// One DICOM file's header, read up to (not including) the pixel data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DicomHeader {
    /// The file.
    pub path: PathBuf,
    /// File size in bytes.
    pub file_size: u64,
    /// Transfer syntax UID.
    pub transfer_syntax: String,
    /// SOP Class UID.
    pub sop_class_uid: String,
    /// SOP Instance UID.
    pub sop_instance_uid: String,
    /// Study Instance UID.
    pub study_uid: String,
    /// Series Instance UID.
    pub series_uid: String,
    /// Frame of Reference UID.
    pub frame_of_reference_uid: Option<String>,
    /// Modality (CT, MR, ...).
    pub modality: Option<String>,
    /// Image Type values (ORIGINAL, PRIMARY, AXIAL, LOCALIZER, ...).
    pub image_type: Vec<String>,
    /// Series Number.
    pub series_number: Option<i64>,
    /// Series Description.
    pub series_description: Option<String>,
    /// Instance Number.
    pub instance_number: Option<i64>,
    /// Acquisition Number.
    pub acquisition_number: Option<i64>,
    /// Study Date (YYYYMMDD).
    pub study_date: Option<String>,
    /// Accession Number (to match label rows when folder names are not exam ids).
    pub accession_number: Option<String>,
    /// Rows (0 when the object is not an image).
    pub rows: u16,
    /// Columns.
    pub cols: u16,
    /// Pixel layout, when the object is an image.
    pub pixel: Option<PixelFormat>,
    /// Number of frames (1 for single-frame images).
    pub number_of_frames: u32,
    /// Geometry of each frame.
    pub frames: Vec<FrameGeometry>,
    /// Spacing Between Slices (recorded; spacing is measured from positions).
    pub spacing_between_slices: Option<f64>,
    /// Gantry/Detector Tilt in degrees.
    pub gantry_tilt: Option<f64>,
    /// Convolution Kernel (values joined with `\`).
    pub kernel: Option<String>,
    /// Manufacturer.
    pub manufacturer: Option<String>,
    /// Manufacturer's Model Name.
    pub model: Option<String>,
    /// Body Part Examined.
    pub body_part: Option<String>,
    /// Pixel Padding Value and Range Limit (stored values).
    pub padding: Option<(i32, Option<i32>)>,
    /// Values present but unparseable, reported rather than dropped.
    pub warnings: Vec<String>,
    /// Byte offset and declared length of the top-level Pixel Data value in the file
    /// (length `0xFFFF_FFFF` when encapsulated), as the length check found them: lets
    /// [`crate::pixels::FrameRowReader`] read native samples without a second parse.
    #[serde(default)]
    pub pixel_data: Option<(u64, u32)>,
    /// Patient identity, only as input to a keyed hash.
    #[serde(skip)]
    pub patient: PatientIdentity,
}

impl DicomHeader {
    /// True for images medfen can turn into slices (rows, columns and pixel layout).
    pub fn is_image(&self) -> bool {
        self.rows > 0 && self.cols > 0 && self.pixel.is_some()
    }

    /// True for a DICOMDIR.
    pub fn is_dicomdir(&self) -> bool {
        self.sop_class_uid == DICOMDIR_SOP_CLASS
    }
}

/// True when `path` starts with a 128-byte preamble followed by `DICM`.
///
/// # Errors
/// When the file cannot be opened or read.
pub fn has_dicom_marker(path: &Path) -> Result<bool> {
    let mut f = File::open(path).map_err(|e| Error::io(path, e))?;
    let mut buf = [0u8; 132];
    let mut filled = 0;
    while filled < buf.len() {
        match f.read(&mut buf[filled..]) {
            Ok(0) => return Ok(false),
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(Error::io(path, e)),
        }
    }
    Ok(&buf[128..132] == b"DICM")
}

/// Reads the header of one DICOM file, stopping before the pixel data.
///
/// # Errors
/// [`Error::NotDicom`] without the `DICM` marker; [`Error::Parse`] for broken data;
/// [`Error::InvalidAttribute`] for unusable pixel-layout attributes.
pub fn read_header(path: &Path) -> Result<DicomHeader> {
    let mut file = File::open(path).map_err(|e| Error::io(path, e))?;
    let file_size = file.metadata().map_err(|e| Error::io(path, e))?.len();
    // The file's head: the marker, the length check and the parse run on it when the
    // header ends inside it (CT headers take a few KiB; vendors' private tags can make
    // them longer, hence a second, larger read before the full walk).
    let mut head = Vec::new();
    for (i, &limit) in HEAD_BYTES.iter().enumerate() {
        // One read of exactly what is missing (the size is known), not a growing
        // buffer's several.
        let (have, want) = (
            head.len(),
            usize::try_from(limit.min(file_size)).unwrap_or(0),
        );
        head.resize(want.max(have), 0);
        file.read_exact(&mut head[have..])
            .map_err(|e| Error::io(path, e))?;
        if i == 0 && (head.len() < 132 || &head[128..132] != b"DICM") {
            return Err(Error::NotDicom {
                path: path.to_path_buf(),
            });
        }
        if let Some(header) = header_from_head(path, file_size, &head) {
            return Ok(header);
        }
        if head.len() as u64 == file_size {
            break;
        }
    }
    // A header longer than the head, or a file the checks refuse: the whole walk, which
    // names what is wrong.
    file.seek(SeekFrom::Start(0))
        .map_err(|e| Error::io(path, e))?;
    let mut reader = std::io::BufReader::new(file);
    let layout = crate::precheck::check_lengths(&mut reader, file_size, true)
        .map_err(|reason| crate::precheck::error(path, reason))?;
    let obj = OpenFileOptions::new()
        .read_until(tags::PIXEL_DATA)
        .open_file(path)
        .map_err(|e| Error::Parse {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
    let mut header = header_from_meta(path, file_size, &obj)?;
    header.pixel_data = layout.pixel_data;
    Ok(header)
}

/// How far [`read_header`] reads before the full walk: 8 KiB (most CT headers), then
/// 64 KiB.
const HEAD_BYTES: [u64; 2] = [8 * 1024, 64 * 1024];

/// The header parsed from the file's first bytes alone, or `None` when they do not
/// hold all of it (or anything in them fails: the full walk then reports it).
fn header_from_head(path: &Path, file_size: u64, head: &[u8]) -> Option<DicomHeader> {
    let layout =
        crate::precheck::check_lengths(&mut std::io::Cursor::new(head), file_size, true).ok()?;
    let inside = match layout.pixel_data {
        Some((offset, _)) => offset <= head.len() as u64,
        None => head.len() as u64 == file_size,
    };
    if !inside {
        return None;
    }
    let obj = OpenFileOptions::new()
        .read_until(tags::PIXEL_DATA)
        .from_reader(&head[128..])
        .ok()?;
    let mut header = header_from_meta(path, file_size, &obj).ok()?;
    header.pixel_data = layout.pixel_data;
    Some(header)
}

fn header_from_meta(
    path: &Path,
    file_size: u64,
    obj: &dicom_object::FileDicomObject<InMemDicomObject>,
) -> Result<DicomHeader> {
    let ts = obj
        .meta()
        .transfer_syntax()
        .trim_end_matches('\0')
        .to_owned();
    let sop_class = obj
        .meta()
        .media_storage_sop_class_uid()
        .trim_end_matches('\0')
        .to_owned();
    header_from_object(path, file_size, ts, sop_class, obj)
}

/// The numeric attributes of a header, each `None` when absent or unparseable (with a
/// warning).
struct Numbers {
    instance_number: Option<i64>,
    acquisition_number: Option<i64>,
    series_number: Option<i64>,
    frames_declared: Option<i64>,
    rows: Option<i64>,
    cols: Option<i64>,
    padding_value: Option<i64>,
    padding_limit: Option<i64>,
    spacing_between_slices: Option<f64>,
    gantry_tilt: Option<f64>,
}

impl Numbers {
    fn read(obj: &InMemDicomObject, warnings: &mut Vec<String>) -> Self {
        let mut int = |tag, name: &str| {
            attrs::int(obj, tag).unwrap_or_else(|raw| {
                warnings.push(format!("{name}: unparseable value {raw:?}"));
                None
            })
        };
        let instance_number = int(tags::INSTANCE_NUMBER, "InstanceNumber");
        let acquisition_number = int(tags::ACQUISITION_NUMBER, "AcquisitionNumber");
        let series_number = int(tags::SERIES_NUMBER, "SeriesNumber");
        let frames_declared = int(tags::NUMBER_OF_FRAMES, "NumberOfFrames");
        let rows = int(tags::ROWS, "Rows");
        let cols = int(tags::COLUMNS, "Columns");
        let padding_value = int(tags::PIXEL_PADDING_VALUE, "PixelPaddingValue");
        let padding_limit = int(tags::PIXEL_PADDING_RANGE_LIMIT, "PixelPaddingRangeLimit");
        let mut float = |tag, name: &str| {
            attrs::float(obj, tag).unwrap_or_else(|raw| {
                warnings.push(format!("{name}: unparseable value {raw:?}"));
                None
            })
        };
        Self {
            instance_number,
            acquisition_number,
            series_number,
            frames_declared,
            rows,
            cols,
            padding_value,
            padding_limit,
            spacing_between_slices: float(tags::SPACING_BETWEEN_SLICES, "SpacingBetweenSlices"),
            gantry_tilt: float(tags::GANTRY_DETECTOR_TILT, "GantryDetectorTilt"),
        }
    }
}

/// Rows or Columns as a 16-bit count (0 when absent).
fn dimension(path: &Path, v: Option<i64>, attribute: &'static str) -> Result<u16> {
    match v {
        None => Ok(0),
        Some(x) => u16::try_from(x).map_err(|_| Error::InvalidAttribute {
            path: path.to_path_buf(),
            attribute,
            value: x.to_string(),
            reason: "must be between 0 and 65535",
        }),
    }
}

/// NumberOfFrames (1 when absent).
fn frame_count(path: &Path, declared: Option<i64>) -> Result<u32> {
    match declared {
        None => Ok(1),
        Some(n) if n >= 1 && n <= i64::from(u32::MAX) => Ok(n as u32),
        Some(n) => Err(Error::InvalidAttribute {
            path: path.to_path_buf(),
            attribute: "NumberOfFrames (0028,0008)",
            value: n.to_string(),
            reason: "must be at least 1",
        }),
    }
}

/// A stored padding value: (0028,0120) is US or SS by Pixel Representation, and
/// implicit VR reads it as US.
fn as_stored(v: i64, signed: bool) -> i32 {
    if signed && (32768..65536).contains(&v) {
        (v - 65536) as i32
    } else {
        v as i32
    }
}

/// Builds the header record from a parsed object (shared with the pixel reader).
pub(crate) fn header_from_object(
    path: &Path,
    file_size: u64,
    transfer_syntax: String,
    meta_sop_class: String,
    obj: &InMemDicomObject,
) -> Result<DicomHeader> {
    let mut warnings = Vec::new();
    let n = Numbers::read(obj, &mut warnings);
    let rows = dimension(path, n.rows, "Rows (0028,0010)")?;
    let cols = dimension(path, n.cols, "Columns (0028,0011)")?;
    let pixel = pixel_format(path, obj)?;
    let number_of_frames = frame_count(path, n.frames_declared)?;
    let frames = frame_geometries(obj, number_of_frames, &mut warnings);
    let signed = pixel.as_ref().is_some_and(|p| p.signed);
    let sop_class_uid = attrs::text(obj, tags::SOP_CLASS_UID).unwrap_or(meta_sop_class);
    Ok(DicomHeader {
        path: path.to_path_buf(),
        file_size,
        transfer_syntax,
        sop_instance_uid: attrs::text(obj, tags::SOP_INSTANCE_UID).unwrap_or_default(),
        sop_class_uid,
        study_uid: attrs::text(obj, tags::STUDY_INSTANCE_UID).unwrap_or_default(),
        series_uid: attrs::text(obj, tags::SERIES_INSTANCE_UID).unwrap_or_default(),
        frame_of_reference_uid: attrs::text(obj, tags::FRAME_OF_REFERENCE_UID),
        modality: attrs::text(obj, tags::MODALITY),
        image_type: attrs::texts(obj, tags::IMAGE_TYPE)
            .into_iter()
            .map(|s| s.to_ascii_uppercase())
            .collect(),
        series_number: n.series_number,
        series_description: attrs::text(obj, tags::SERIES_DESCRIPTION),
        instance_number: n.instance_number,
        acquisition_number: n.acquisition_number,
        study_date: attrs::text(obj, tags::STUDY_DATE),
        accession_number: attrs::text(obj, tags::ACCESSION_NUMBER),
        rows,
        cols,
        pixel,
        number_of_frames,
        frames,
        spacing_between_slices: n.spacing_between_slices,
        gantry_tilt: n.gantry_tilt,
        kernel: attrs::text(obj, tags::CONVOLUTION_KERNEL),
        manufacturer: attrs::text(obj, tags::MANUFACTURER),
        model: attrs::text(obj, tags::MANUFACTURER_MODEL_NAME),
        body_part: attrs::text(obj, tags::BODY_PART_EXAMINED),
        padding: n.padding_value.map(|v| {
            (
                as_stored(v, signed),
                n.padding_limit.map(|l| as_stored(l, signed)),
            )
        }),
        warnings,
        pixel_data: None,
        patient: PatientIdentity {
            id: attrs::text(obj, tags::PATIENT_ID),
            name: attrs::text(obj, tags::PATIENT_NAME),
        },
    })
}

fn pixel_format(path: &Path, obj: &InMemDicomObject) -> Result<Option<PixelFormat>> {
    let bad =
        |attribute: &'static str, value: String, reason: &'static str| Error::InvalidAttribute {
            path: path.to_path_buf(),
            attribute,
            value,
            reason,
        };
    let get = |tag, attribute: &'static str| -> Result<Option<i64>> {
        attrs::int(obj, tag).map_err(|raw| bad(attribute, raw, "not an integer"))
    };
    let Some(bits_allocated) = get(tags::BITS_ALLOCATED, "BitsAllocated (0028,0100)")? else {
        return Ok(None);
    };
    if !matches!(bits_allocated, 1 | 8 | 16 | 32 | 64) {
        return Err(bad(
            "BitsAllocated (0028,0100)",
            bits_allocated.to_string(),
            "must be 1, 8, 16, 32 or 64",
        ));
    }
    let bits_stored = get(tags::BITS_STORED, "BitsStored (0028,0101)")?.unwrap_or(bits_allocated);
    if !(1..=bits_allocated).contains(&bits_stored) {
        return Err(bad(
            "BitsStored (0028,0101)",
            bits_stored.to_string(),
            "must be between 1 and BitsAllocated",
        ));
    }
    let high_bit = get(tags::HIGH_BIT, "HighBit (0028,0102)")?.unwrap_or(bits_stored - 1);
    let representation = get(
        tags::PIXEL_REPRESENTATION,
        "PixelRepresentation (0028,0103)",
    )?
    .unwrap_or(0);
    if !matches!(representation, 0 | 1) {
        return Err(bad(
            "PixelRepresentation (0028,0103)",
            representation.to_string(),
            "must be 0 or 1",
        ));
    }
    let samples = get(tags::SAMPLES_PER_PIXEL, "SamplesPerPixel (0028,0002)")?.unwrap_or(1);
    if !(1..=4).contains(&samples) {
        return Err(bad(
            "SamplesPerPixel (0028,0002)",
            samples.to_string(),
            "must be between 1 and 4",
        ));
    }
    let planar = get(
        tags::PLANAR_CONFIGURATION,
        "PlanarConfiguration (0028,0006)",
    )?
    .unwrap_or(0)
        == 1;
    Ok(Some(PixelFormat {
        samples_per_pixel: samples as u16,
        bits_allocated: bits_allocated as u16,
        bits_stored: bits_stored as u16,
        high_bit: high_bit.clamp(0, 63) as u16,
        signed: representation == 1,
        photometric: Photometric::parse(
            attrs::text(obj, tags::PHOTOMETRIC_INTERPRETATION).as_deref(),
        ),
        planar,
    }))
}

/// Per-frame geometry: per-frame functional groups, then shared groups, then the
/// top-level attributes (classic single-frame images have only the latter).
fn frame_geometries(
    obj: &InMemDicomObject,
    n: u32,
    warnings: &mut Vec<String>,
) -> Vec<FrameGeometry> {
    let shared = first_item(obj, tags::SHARED_FUNCTIONAL_GROUPS_SEQUENCE);
    let per_frame = obj
        .get(tags::PER_FRAME_FUNCTIONAL_GROUPS_SEQUENCE)
        .and_then(|e| e.items());
    let mut fixed =
        |v: Result<Option<Vec<f64>>, String>, name: &str, len: usize| -> Option<Vec<f64>> {
            match v {
                Ok(Some(v)) if v.len() >= len => Some(v),
                Ok(Some(v)) => {
                    warnings.push(format!("{name}: {} values, {len} expected", v.len()));
                    None
                }
                Ok(None) => None,
                Err(raw) => {
                    warnings.push(format!("{name}: unparseable value {raw:?}"));
                    None
                }
            }
        };
    // Looks a value up in (per-frame item, shared item, top level), inside `macro_seq`.
    let lookup = |frame: Option<&InMemDicomObject>, macro_seq, tag| {
        [frame, shared]
            .into_iter()
            .flatten()
            .filter_map(|group| first_item(group, macro_seq))
            .find_map(|item| item.get(tag).map(|_| attrs::floats(item, tag)))
            .unwrap_or_else(|| attrs::floats(obj, tag))
    };
    (0..n as usize)
        .map(|f| {
            let item = per_frame.and_then(|items| items.get(f));
            let position = fixed(
                lookup(
                    item,
                    tags::PLANE_POSITION_SEQUENCE,
                    tags::IMAGE_POSITION_PATIENT,
                ),
                "ImagePositionPatient",
                3,
            );
            let orientation = fixed(
                lookup(
                    item,
                    tags::PLANE_ORIENTATION_SEQUENCE,
                    tags::IMAGE_ORIENTATION_PATIENT,
                ),
                "ImageOrientationPatient",
                6,
            );
            let spacing = fixed(
                lookup(item, tags::PIXEL_MEASURES_SEQUENCE, tags::PIXEL_SPACING),
                "PixelSpacing",
                2,
            );
            let thickness = fixed(
                lookup(item, tags::PIXEL_MEASURES_SEQUENCE, tags::SLICE_THICKNESS),
                "SliceThickness",
                1,
            );
            let slope = fixed(
                lookup(
                    item,
                    tags::PIXEL_VALUE_TRANSFORMATION_SEQUENCE,
                    tags::RESCALE_SLOPE,
                ),
                "RescaleSlope",
                1,
            );
            let intercept = fixed(
                lookup(
                    item,
                    tags::PIXEL_VALUE_TRANSFORMATION_SEQUENCE,
                    tags::RESCALE_INTERCEPT,
                ),
                "RescaleIntercept",
                1,
            );
            FrameGeometry {
                position: position.map(|v| [v[0], v[1], v[2]]),
                orientation: orientation.map(|v| [v[0], v[1], v[2], v[3], v[4], v[5]]),
                pixel_spacing: spacing.map(|v| [v[0], v[1]]),
                slice_thickness: thickness.map(|v| v[0]),
                rescale: Rescale {
                    slope: slope.map_or(1.0, |v| v[0]),
                    intercept: intercept.map_or(0.0, |v| v[0]),
                },
            }
        })
        .collect()
}

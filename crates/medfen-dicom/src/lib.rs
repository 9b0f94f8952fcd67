//! Correct CT volumes from real-world DICOM, NIfTI and 2D images.
//!
//! dicom-rs parses files and decodes pixels; medfen-dicom turns folders of them into
//! volumes a model can trust, and says what it did:
//!
//! - [`scan`]: parallel, header-only reads of a folder tree into [`DicomHeader`]s
//!   (non-DICOM files and DICOMDIRs skipped and counted, unreadable files listed with
//!   the reason);
//! - [`group_series`] and [`choose_series`]: series split by size, orientation and
//!   acquisition, and chosen by explicit rules with the reason and every alternative
//!   recorded (a tie is an error unless a policy breaks it);
//! - [`plan_volume`] and [`load_volume`]: slices ordered by ImagePositionPatient
//!   projected on the slice normal, spacing from the median step (never SliceThickness),
//!   QA findings that name the files (gaps, duplicates, uneven spacing, tilt, missing
//!   positions), HU through the modality LUT (slope 0 refused, padding to air,
//!   MONOCHROME1 a display attribute that leaves HU alone), and a [`Volume`] in the canonical LPS frame:
//!   `[z, y, x]` with x towards the patient's left.
//!
//! - [`read_volume`]: the one-call form for a file, a series folder, a NIfTI file or a 2D
//!   image; `writer` (feature `dicom-write`) writes series with known geometry.
//!
//! `docs/dicom.md` in the repository describes the frame, the selection rules, the QA
//! findings and the supported transfer syntaxes.
//!
//! # Example
//!
//! Write a five-slice series whose files are named against slice order and whose
//! InstanceNumbers run backwards, then scan, choose and assemble it:
//!
//! ```
//! use medfen_dicom::writer::{write_dicom, DicomImageSpec, FrameSpec};
//! use medfen_dicom::{scan, group_series, summarize, choose_series, plan_volume, load_volume,
//!     ScanOptions, SelectionPolicy, AssemblyOptions};
//!
//! let dir = tempfile::tempdir()?;
//! for k in 0..5 {
//!     let spec = DicomImageSpec {
//!         rows: 2,
//!         cols: 3,
//!         pixel_spacing: Some([0.4, 0.5]),
//!         sop_instance_uid: format!("1.2.826.0.1.3680043.10.1.3.{k}"),
//!         instance_number: Some(5 - k as i64),
//!         frames: vec![FrameSpec {
//!             position: Some([-10.0, -20.0, 0.6 * k as f64]),
//!             slope: 1.0,
//!             intercept: -1024.0,
//!             stored: vec![1024 + 100 * k as i32; 6],
//!         }],
//!         ..DicomImageSpec::default()
//!     };
//!     write_dicom(&dir.path().join(format!("IM{}.dcm", (3 * k) % 5)), &spec)?;
//! }
//!
//! let report = scan(dir.path(), &ScanOptions::default(), &|_| {})?;
//! let series = group_series(&report.headers);
//! let summaries: Vec<_> = series.iter().map(|s| summarize(s, &report.headers)).collect();
//! let choice = choose_series("exam 1", &summaries, &SelectionPolicy::default())?;
//! let plan = plan_volume(&series[choice.index], &report.headers, &AssemblyOptions::default())?;
//! let volume = load_volume::<i16>(&plan, &report.headers, &|_| {})?;
//!
//! assert_eq!(volume.shape, [5, 2, 3]);
//! // z from the positions (0.6 mm steps), rows then columns from PixelSpacing
//! let [dz, dy, dx] = volume.spacing;
//! assert!((dz - 0.6).abs() < 1e-9 && (dy - 0.4).abs() < 1e-9 && (dx - 0.5).abs() < 1e-9);
//! // slices ordered by position, not by file name or InstanceNumber: HU -1024 + 100 k
//! let first_voxel_of_each: Vec<i16> = volume.data.chunks(6).map(|s| s[0]).collect();
//! assert_eq!(first_voxel_of_each, [0, 100, 200, 300, 400]);
//! assert!(volume.qa.is_empty(), "{:?}", volume.qa);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![warn(missing_docs)]

mod attrs;
mod error;
pub mod geometry;
mod header;
mod image2d;
#[cfg(feature = "dicom-write")]
mod jpeg_lossless;
mod letterbox;
mod load;
mod nifti;
pub mod pixels;
mod plan;
mod precheck;
mod qa;
mod read;
mod regular;
mod resize;
mod scan;
mod select;
mod series;
mod volume;
#[cfg(feature = "dicom-write")]
pub mod writer;

pub use error::{Error, Result};
pub use geometry::{Orientation, Plane, Vec3};
pub use header::{
    DicomHeader, FrameGeometry, PatientIdentity, Photometric, PixelFormat, Rescale,
    has_dicom_marker, read_header,
};
pub use image2d::{is_image_file, read_image};
pub use letterbox::Letterbox;
pub use load::load_volume;
pub use nifti::{is_nifti, read_nifti};
pub use pixels::{ImageFile, StoredImage, read_stored, transfer_syntax_name};
pub use plan::{AssemblyOptions, VolumePlan, plan_volume};
pub use qa::{QaFinding, QaKind};
pub use read::{LoadedVolume, ReadOptions, VolumeSourceInfo, read_dicom, read_volume};
pub use regular::{irregularity, regularize};
pub use resize::resize_bilinear;
pub use scan::{ScanOptions, ScanReport, UnreadableFile, list_files, scan};
pub use select::{Alternative, SelectionPolicy, SeriesChoice, TieBreak, choose_series};
pub use series::{Series, SeriesSummary, SliceRef, group_series, summarize};
pub use volume::{SliceSource, Volume, VolumeGeometry};

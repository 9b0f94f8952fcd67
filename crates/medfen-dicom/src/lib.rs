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
//!   MONOCHROME1 inverted on stored values), and a [`Volume`] in the canonical LPS frame:
//!   `[z, y, x]` with x towards the patient's left.
//!
//! # Example
//! ```no_run
//! use std::path::Path;
//! use medfen_dicom::{scan, group_series, summarize, choose_series, plan_volume, load_volume,
//!     ScanOptions, SelectionPolicy, AssemblyOptions};
//!
//! let report = scan(Path::new("dicom/2024-01-05/123456"), &ScanOptions::default(), &|_| {})?;
//! let series = group_series(&report.headers);
//! let summaries: Vec<_> = series.iter().map(|s| summarize(s, &report.headers)).collect();
//! let choice = choose_series("exam 123456", &summaries, &SelectionPolicy::default())?;
//! let plan = plan_volume(&series[choice.index], &report.headers, &AssemblyOptions::default())?;
//! let volume = load_volume::<i16>(&plan, &report.headers, &|_| {})?;
//! println!("{:?} voxels of {:?} mm, chosen because: {}", volume.shape, volume.spacing, choice.reason);
//! for finding in &volume.qa {
//!     println!("QA {:?}: {}", finding.kind, finding.message);
//! }
//! # Ok::<(), medfen_dicom::Error>(())
//! ```
#![warn(missing_docs)]

mod attrs;
mod error;
pub mod geometry;
mod header;
mod image2d;
mod letterbox;
mod load;
mod nifti;
pub mod pixels;
mod plan;
mod precheck;
mod qa;
mod read;
mod resize;
mod scan;
mod select;
mod series;
mod volume;
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
pub use resize::resize_bilinear;
pub use scan::{ScanOptions, ScanReport, UnreadableFile, list_files, scan};
pub use select::{Alternative, SelectionPolicy, SeriesChoice, TieBreak, choose_series};
pub use series::{Series, SeriesSummary, SliceRef, group_series, summarize};
pub use volume::{SliceSource, Volume, VolumeGeometry};

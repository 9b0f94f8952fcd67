//! One call from a path (DICOM file or folder, NIfTI, PNG/JPEG) to a volume.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::image2d::{is_image_file, read_image};
use crate::load::load_volume;
use crate::nifti::{is_nifti, read_nifti};
use crate::pixels::HuValue;
use crate::plan::{AssemblyOptions, plan_volume};
use crate::qa::{QaFinding, QaKind};
use crate::scan::{ScanOptions, UnreadableFile, scan};
use crate::select::{SelectionPolicy, SeriesChoice, choose_series};
use crate::series::{SeriesSummary, group_series, summarize};
use crate::volume::Volume;

/// Options of [`read_volume`]. `Default`: any modality, single slices allowed, default
/// assembly tolerances and scan options.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ReadOptions {
    /// Series selection rules for folders holding several series.
    pub policy: SelectionPolicy,
    /// Assembly tolerances.
    pub assembly: AssemblyOptions,
    /// Folder scan options.
    pub scan: ScanOptions,
}

impl Default for ReadOptions {
    fn default() -> Self {
        let mut policy = SelectionPolicy::new().any_modality();
        policy.min_slices = 1;
        Self {
            policy,
            assembly: AssemblyOptions::default(),
            scan: ScanOptions::default(),
        }
    }
}

impl ReadOptions {
    /// The defaults.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the series selection policy.
    pub fn with_policy(mut self, policy: SelectionPolicy) -> Self {
        self.policy = policy;
        self
    }
}

/// Where a volume came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "format", rename_all = "lowercase")]
pub enum VolumeSourceInfo {
    /// A DICOM series.
    Dicom {
        /// The series used.
        series: Box<SeriesSummary>,
        /// Why it was chosen, and the alternatives (folders with several series).
        choice: SeriesChoice,
        /// Files looked at.
        files_seen: usize,
        /// Files without the DICOM marker, skipped.
        non_dicom: usize,
        /// DICOMDIRs, skipped.
        dicomdirs: usize,
        /// DICOM files that could not be read.
        unreadable: Vec<UnreadableFile>,
    },
    /// A NIfTI file.
    Nifti {
        /// The file.
        path: PathBuf,
    },
    /// A PNG or JPEG image.
    Image {
        /// The file.
        path: PathBuf,
    },
}

/// A volume and its provenance.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadedVolume<T> {
    /// The voxels, in the canonical LPS frame.
    pub volume: Volume<T>,
    /// Where they came from.
    pub source: VolumeSourceInfo,
}

/// Reads a DICOM file or folder (choosing a series by `options.policy` when several),
/// a NIfTI file or a 2D image, as float32 values (HU for CT).
///
/// # Errors
/// The reading, selection or assembly error, naming the file or series.
pub fn read_volume(
    path: &Path,
    options: &ReadOptions,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<LoadedVolume<f32>> {
    if path.is_file() && is_nifti(path) {
        return Ok(LoadedVolume {
            volume: read_nifti(path)?,
            source: VolumeSourceInfo::Nifti {
                path: path.to_path_buf(),
            },
        });
    }
    if path.is_file() && is_image_file(path) {
        return Ok(LoadedVolume {
            volume: read_image(path)?,
            source: VolumeSourceInfo::Image {
                path: path.to_path_buf(),
            },
        });
    }
    read_dicom::<f32>(path, options, progress)
}

/// Reads a DICOM file or folder into a volume of `T` (`i16` HU or `f32`).
///
/// # Errors
/// [`Error::NothingFound`] when no DICOM image is there; selection and assembly errors.
pub fn read_dicom<T: HuValue>(
    path: &Path,
    options: &ReadOptions,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<LoadedVolume<T>> {
    let report = scan(path, &options.scan, progress)?;
    let series = group_series(&report.headers);
    if series.is_empty() {
        if let Some(u) = report.unreadable.first() {
            return Err(Error::Parse {
                path: u.path.clone(),
                reason: u.reason.clone(),
            });
        }
        return Err(Error::NothingFound(path.to_path_buf()));
    }
    let summaries: Vec<SeriesSummary> = series
        .iter()
        .map(|s| summarize(s, &report.headers))
        .collect();
    let choice = choose_series(&path.display().to_string(), &summaries, &options.policy)?;
    let chosen = &series[choice.index];
    let plan = plan_volume(chosen, &report.headers, &options.assembly)?;
    let mut volume = load_volume::<T>(&plan, &report.headers, progress)?;
    if let Some(split) = &chosen.split {
        let others: Vec<PathBuf> = series
            .iter()
            .filter(|s| s.series_uid == chosen.series_uid && s.id != chosen.id)
            .flat_map(|s| {
                s.slices
                    .iter()
                    .map(|r| report.headers[r.header].path.clone())
            })
            .collect();
        volume.qa.insert(
            0,
            QaFinding::new(
                QaKind::SeriesSplit,
                format!("{split}; using {}", chosen.id),
                others,
            ),
        );
    }
    Ok(LoadedVolume {
        volume,
        source: VolumeSourceInfo::Dicom {
            series: Box::new(summaries[choice.index].clone()),
            choice,
            files_seen: report.files_seen(),
            non_dicom: report.non_dicom.len(),
            dicomdirs: report.dicomdirs.len(),
            unreadable: report.unreadable,
        },
    })
}

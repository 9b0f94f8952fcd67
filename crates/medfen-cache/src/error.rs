//! The error type of medfen-cache.

use std::path::PathBuf;

/// Everything that can go wrong in medfen-cache.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// An invalid preprocessing spec.
    #[error("invalid cache spec: {0}")]
    Spec(String),
    /// A cache folder that is not what it should be.
    #[error("{path}: {reason}")]
    Cache {
        /// The file or folder.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// An exam whose ears cannot be extracted.
    #[error("exam {exam_id} ({series_dir}): {reason}")]
    Exam {
        /// Exam id.
        exam_id: u64,
        /// Series folder.
        series_dir: String,
        /// Why.
        reason: String,
    },
    /// A series whose slices are not a regular orthogonal grid, under
    /// `--on-irregular refuse` (or one that cannot be resampled).
    #[error("exam {exam_id} ({series_dir}): irregular slice geometry refused: {reason}")]
    Irregular {
        /// Exam id.
        exam_id: u64,
        /// Series folder.
        series_dir: String,
        /// The gap, uneven-spacing or tilt findings.
        reason: String,
    },
    /// Every exam refused for its geometry, listed.
    #[error(
        "{} exam(s) refused for irregular slice geometry (--on-irregular refuse; the default, resample, makes them regular):\n  {}",
        .0.len(),
        .0.join("\n  ")
    )]
    Refused(Vec<String>),
    /// Reading DICOM failed.
    #[error(transparent)]
    Dicom(#[from] medfen_dicom::Error),
    /// A cache file could not be read or written (medfen-io's error names it).
    #[error(transparent)]
    File(#[from] medfen_io::Error),
    /// Reading the index or split tables failed.
    #[error(transparent)]
    Tasks(#[from] medfen_tasks::Error),
}

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn cache(path: impl Into<PathBuf>, reason: impl std::fmt::Display) -> Self {
        Self::Cache {
            path: path.into(),
            reason: reason.to_string(),
        }
    }
}

/// Result with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

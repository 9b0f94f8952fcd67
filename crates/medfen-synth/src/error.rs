//! The error type of medfen-synth.

use std::path::PathBuf;

/// Everything that can go wrong making a phantom dataset.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file or folder could not be written or read.
    #[error("{path}: {source}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Writing a file failed (medfen-io's error names it).
    #[error(transparent)]
    File(#[from] medfen_io::Error),
    /// Writing a DICOM file failed.
    #[error(transparent)]
    Dicom(#[from] medfen_dicom::Error),
    /// Writing a table (Parquet, CSV, xlsx) failed.
    #[error("{path}: cannot write the table: {reason}")]
    Table {
        /// The file.
        path: PathBuf,
        /// What the writer reported.
        reason: String,
    },
    /// Encoding an image (PNG, JPEG) failed.
    #[error("{path}: cannot encode the image: {reason}")]
    Image {
        /// The file.
        path: PathBuf,
        /// What the encoder reported.
        reason: String,
    },
    /// The options cannot produce a dataset.
    #[error("invalid synth options: {0}")]
    Config(String),
    /// The output folder holds a different dataset (or something else).
    #[error(
        "{path} already holds {what}; choose an empty folder (a rerun with the same options resumes)"
    )]
    OutputInUse {
        /// The output folder.
        path: PathBuf,
        /// What was found there.
        what: String,
    },
}

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn table(path: impl Into<PathBuf>, reason: &impl ToString) -> Self {
        Self::Table {
            path: path.into(),
            reason: reason.to_string(),
        }
    }
}

/// Result with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

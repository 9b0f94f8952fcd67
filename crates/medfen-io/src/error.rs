//! The error type of medfen-io: every variant names the file concerned.

use std::path::PathBuf;

/// Everything that can go wrong reading or writing a medfen file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file or folder could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A table is not as expected: a missing column, a cell of the wrong type, a file
    /// that is not Parquet or CSV.
    #[error("{path}: {reason}")]
    Table {
        /// The file.
        path: PathBuf,
        /// What is wrong, naming the column and row where there is one.
        reason: String,
    },
    /// A JSON file that cannot be parsed or serialised.
    #[error("{path}: {reason}")]
    Json {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A file of another format or format version than the reader expects.
    #[error("{path}: {reason}")]
    Format {
        /// The file.
        path: PathBuf,
        /// What was expected, what was found, and how to make a readable one.
        reason: String,
    },
}

impl Error {
    /// An I/O error on `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }

    /// A table problem in `path`.
    pub fn table(path: impl Into<PathBuf>, reason: impl std::fmt::Display) -> Self {
        Self::Table {
            path: path.into(),
            reason: reason.to_string(),
        }
    }

    /// A JSON problem in `path`.
    pub fn json(path: impl Into<PathBuf>, reason: impl std::fmt::Display) -> Self {
        Self::Json {
            path: path.into(),
            reason: reason.to_string(),
        }
    }

    /// The file named in the error.
    pub fn path(&self) -> &std::path::Path {
        match self {
            Self::Io { path, .. }
            | Self::Table { path, .. }
            | Self::Json { path, .. }
            | Self::Format { path, .. } => path,
        }
    }
}

/// Result with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

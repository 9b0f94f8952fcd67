//! The error type of medfen-models.

use std::path::PathBuf;

/// Everything that can go wrong in medfen-models.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A device string that is not `auto`, `cpu`, `cuda` or `cuda:N`.
    #[error("invalid device `{0}`: expected auto, cpu, cuda or cuda:N")]
    InvalidDevice(String),
    /// A CUDA device was requested that this machine or libtorch build cannot provide.
    #[error(
        "CUDA device {requested} was requested but libtorch sees {available} CUDA device(s){hint}"
    )]
    CudaUnavailable {
        /// Requested device index.
        requested: usize,
        /// Devices libtorch reports.
        available: usize,
        /// Extra explanation (e.g. a CPU-only libtorch build).
        hint: &'static str,
    },
    /// A checkpoint could not be written.
    #[error("cannot write checkpoint {path}: {source}")]
    CheckpointWrite {
        /// Destination file.
        path: PathBuf,
        /// Underlying libtorch error.
        source: tch::TchError,
    },
    /// A checkpoint could not be read or does not fit the model.
    #[error("cannot load checkpoint {path}: {source}")]
    CheckpointRead {
        /// Checkpoint file.
        path: PathBuf,
        /// Underlying libtorch error.
        source: tch::TchError,
    },
    /// A checkpoint path without the `.safetensors` extension.
    #[error("checkpoint {0} must have the .safetensors extension")]
    CheckpointExtension(PathBuf),
    /// A file-system operation failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory involved.
        path: PathBuf,
        /// Underlying I/O error.
        source: std::io::Error,
    },
    /// An invalid option or combination of options.
    #[error("{0}")]
    Config(String),
    /// Input data that does not fit (a split ear missing from the cache, an empty split,
    /// a malformed run folder), naming the file.
    #[error("{path}: {message}")]
    Data {
        /// The file or folder involved.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A cache made with another preprocessing than the run was trained on.
    #[error(
        "the cache {cache} was made with another preprocessing than run {run} was trained on \
         ({differences}); build a cache with the run's spec (see {run}/run.json, `cache_spec`)"
    )]
    SpecMismatch {
        /// The run folder.
        run: PathBuf,
        /// The cache folder.
        cache: PathBuf,
        /// The differing fields, `name: run value != cache value`.
        differences: String,
    },
    /// A file could not be read or written (medfen-io's error names it).
    #[error(transparent)]
    File(#[from] medfen_io::Error),
    /// A label, split or table error from medfen-tasks.
    #[error(transparent)]
    Tasks(#[from] medfen_tasks::Error),
    /// A cache error from medfen-cache.
    #[error(transparent)]
    Cache(#[from] medfen_cache::Error),
    /// A metrics error from medfen-metrics.
    #[error("metrics: {0}")]
    Metrics(#[from] medfen_metrics::Error),
    /// A DICOM error from medfen-dicom.
    #[error(transparent)]
    Dicom(#[from] medfen_dicom::Error),
    /// Any other libtorch error.
    #[error(transparent)]
    Torch(#[from] tch::TchError),
}

impl Error {
    pub(crate) fn data(path: impl Into<PathBuf>, message: impl std::fmt::Display) -> Self {
        Self::Data {
            path: path.into(),
            message: message.to_string(),
        }
    }

    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }
}

/// `Result` with this crate's [`enum@Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

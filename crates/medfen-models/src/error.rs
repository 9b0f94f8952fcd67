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
    /// Any other libtorch error.
    #[error(transparent)]
    Torch(#[from] tch::TchError),
}

/// `Result` with this crate's [`enum@Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

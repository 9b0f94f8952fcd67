//! The error type of medfen-app.

/// What can go wrong in the shared front-end code.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The model executable cannot be found or started; the message says where medfen
    /// looked and how to build it.
    #[error("{0}")]
    Sibling(String),
    /// Writing to stdout failed (other than a reader that went away).
    #[error("cannot write to stdout: {0}")]
    Stdout(#[source] std::io::Error),
}

/// Result with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

//! The error type of medfen-metrics.

use serde::Serialize;

/// Why a metric could not be computed.
///
/// Every variant names what was wrong (the metric, the offending index and value, the
/// class counts), so the message can be shown to a user as is.
#[derive(Debug, Clone, PartialEq, thiserror::Error, Serialize)]
#[non_exhaustive]
pub enum Error {
    /// Two inputs that must have one entry per sample differ in length.
    #[error("{what}: {expected} samples expected but {found} given")]
    LengthMismatch {
        /// Which input is too short or too long.
        what: &'static str,
        /// Number of samples (length of the labels).
        expected: usize,
        /// Length of the mismatching input.
        found: usize,
    },
    /// No samples at all.
    #[error("no samples")]
    Empty,
    /// A score is NaN or infinite.
    #[error("score at index {index} is {value}: scores must be finite")]
    NonFiniteScore {
        /// Position of the score.
        index: usize,
        /// The offending value.
        value: f64,
    },
    /// A binary label that is not 0 or 1.
    #[error("label at index {index} is {value}: binary labels must be 0 or 1")]
    InvalidLabel {
        /// Position of the label.
        index: usize,
        /// The offending value, as text.
        value: String,
    },
    /// A class label outside `0..n_classes`.
    #[error("class label at index {index} is {value}, outside 0..{n_classes}")]
    InvalidClass {
        /// Position of the label.
        index: usize,
        /// The offending value.
        value: usize,
        /// Number of classes.
        n_classes: usize,
    },
    /// A probability outside [0, 1] where one is required (Brier score, calibration).
    #[error("value at index {index} is {value}: {metric} needs probabilities in [0, 1]")]
    NotAProbability {
        /// The metric that needs probabilities.
        metric: &'static str,
        /// Position of the value.
        index: usize,
        /// The offending value.
        value: f64,
    },
    /// The metric is undefined because a class is missing.
    #[error("{metric} is undefined with {n_pos} positive and {n_neg} negative samples")]
    SingleClass {
        /// The metric.
        metric: &'static str,
        /// Positive samples.
        n_pos: usize,
        /// Negative samples.
        n_neg: usize,
    },
    /// A variance estimate needs more samples or clusters of each class.
    #[error(
        "{method} variance needs at least 2 positive and 2 negative {unit}, got {n_pos} and {n_neg}"
    )]
    TooFewForVariance {
        /// DeLong or Obuchowski.
        method: &'static str,
        /// "samples" or "clusters containing that class".
        unit: &'static str,
        /// Positive count.
        n_pos: usize,
        /// Negative count.
        n_neg: usize,
    },
    /// A plot could not be drawn or written (feature `plots`).
    #[error("cannot write plot {path}: {reason}")]
    Plot {
        /// The PNG file.
        path: String,
        /// What went wrong.
        reason: String,
    },
    /// A parameter outside its valid range.
    #[error("invalid {name} = {value}: {reason}")]
    InvalidParameter {
        /// Parameter name.
        name: &'static str,
        /// The value given, as text.
        value: String,
        /// What is allowed.
        reason: &'static str,
    },
}

/// `Result` with this crate's [`enum@Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Checks that `found` entries match `expected` samples.
pub(crate) fn check_len(what: &'static str, expected: usize, found: usize) -> Result<()> {
    if expected == found {
        Ok(())
    } else {
        Err(Error::LengthMismatch {
            what,
            expected,
            found,
        })
    }
}

/// Checks that a target rate or level lies in [0, 1].
pub(crate) fn check_unit(name: &'static str, value: f64) -> Result<()> {
    if (0.0..=1.0).contains(&value) {
        Ok(())
    } else {
        Err(Error::InvalidParameter {
            name,
            value: value.to_string(),
            reason: "must be between 0 and 1",
        })
    }
}

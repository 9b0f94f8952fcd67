//! Geometry quality findings: one aggregated record per problem, naming the files.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// What kind of problem a finding reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QaKind {
    /// A step between neighbouring slices larger than `gap_factor` x the median step.
    Gap,
    /// Two or more slices at the same position; all but the first were left out.
    DuplicatePosition,
    /// Steps differ from the median by more than the relative tolerance.
    NonUniformSpacing,
    /// The slice stack is not perpendicular to the slices (gantry tilt): sheared grid.
    GantryTilt,
    /// Some slices lack ImagePositionPatient: ordered by InstanceNumber instead.
    InstanceNumberFallback,
    /// ImageOrientationPatient missing: axial orientation assumed.
    OrientationMissing,
    /// PixelSpacing missing: 1 mm assumed.
    PixelSpacingMissing,
    /// PixelSpacing differs between slices (the first slice's is used).
    PixelSpacingVaries,
    /// The Series Instance UID held frames of different size/orientation/acquisition.
    SeriesSplit,
    /// Values outside the int16 range were clamped.
    ValuesClamped,
}

/// One geometry or intensity problem of a volume.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QaFinding {
    /// The kind of problem.
    pub kind: QaKind,
    /// A sentence with the numbers involved.
    pub message: String,
    /// The files involved.
    pub files: Vec<PathBuf>,
}

impl QaFinding {
    pub(crate) fn new(kind: QaKind, message: impl Into<String>, files: Vec<PathBuf>) -> Self {
        Self {
            kind,
            message: message.into(),
            files,
        }
    }
}

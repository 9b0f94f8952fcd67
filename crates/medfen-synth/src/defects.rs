//! Planted defects (`--corrupt-rate`): what real archives and spreadsheets contain,
//! each recorded with what a later stage must report about it.

use serde::{Deserialize, Serialize};

use crate::random::Stream;

/// A kind of planted defect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DefectKind {
    /// A diagnosis cell that does not parse (`7：未知`, `五：正常`, `正常`, ...).
    MalformedCell,
    /// A second, identical row for an exam.
    DuplicateRowAgreeing,
    /// A second row for an exam with a different diagnosis on one side.
    DuplicateRowConflicting,
    /// A slice of the bone series cut short.
    BrokenDicom,
    /// A file of random bytes named `*.dcm` in the bone series folder.
    NotDicom,
    /// An exam with DICOM files but no label row.
    UnlabelledExam,
    /// A label row whose exam has no DICOM folder.
    MissingExam,
    /// A label row whose exam id is not a number.
    BadExamId,
    /// A label row whose date is not a date.
    BadDate,
}

impl DefectKind {
    /// Every kind, in a fixed order.
    pub const ALL: [DefectKind; 9] = [
        DefectKind::MalformedCell,
        DefectKind::DuplicateRowAgreeing,
        DefectKind::DuplicateRowConflicting,
        DefectKind::BrokenDicom,
        DefectKind::NotDicom,
        DefectKind::UnlabelledExam,
        DefectKind::MissingExam,
        DefectKind::BadExamId,
        DefectKind::BadDate,
    ];
}

/// One planted defect, as written to `defects.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlantedDefect {
    /// What was planted.
    pub kind: DefectKind,
    /// The exam it concerns.
    pub exam_id: u64,
    /// The spreadsheet row involved (1-based, as Excel numbers rows; the header is row
    /// 1), when a row is.
    pub label_row: Option<usize>,
    /// A second row involved (duplicates).
    pub other_row: Option<usize>,
    /// The file involved, relative to the dataset root, when a file is.
    pub file: Option<String>,
    /// The exact text planted (cell contents), when text was.
    pub text: Option<String>,
    /// What a later stage must report.
    pub expected: String,
}

/// The defect planted in exam `index`, if any.
pub(crate) fn plan(seed: u64, index: usize, rate: f64) -> Option<DefectKind> {
    let mut s = Stream::new(seed, "defect", index as u64);
    if rate > 0.0 && s.chance(rate) {
        Some(*s.pick(&DefectKind::ALL))
    } else {
        None
    }
}

/// Malformed diagnosis cells seen in (or plausible for) hand-made spreadsheets.
pub(crate) const MALFORMED_CELLS: [&str; 6] = [
    "7：未知",
    "五：正常",
    "正常",
    "5；正常",
    "：正常",
    "55:正常",
];

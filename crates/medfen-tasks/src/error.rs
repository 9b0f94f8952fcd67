//! The error type of medfen-tasks: every variant names the file (and row) concerned.

use std::fmt::Write as _;
use std::path::PathBuf;

/// A problem with one label row.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LabelProblem {
    /// Row number as a spreadsheet shows it (the header is row 1) or the CSV line.
    pub row: usize,
    /// The row's exam id, when it could be read.
    pub exam_id: Option<u64>,
    /// The column concerned.
    pub column: String,
    /// The cell's text.
    pub text: String,
    /// What is wrong.
    pub reason: String,
}

fn list(problems: &[LabelProblem]) -> String {
    let mut out = String::new();
    for p in problems.iter().take(20) {
        let _ = writeln!(
            out,
            "  row {} {}: {:?}: {}",
            p.row, p.column, p.text, p.reason
        );
    }
    if problems.len() > 20 {
        let _ = writeln!(out, "  ... and {} more", problems.len() - 20);
    }
    out.push_str("  (fix the table, or pass --skip-invalid to quarantine these rows)");
    out
}

/// Everything that can go wrong in medfen-tasks.
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
    /// A spreadsheet or CSV could not be parsed at all.
    #[error("{path}: cannot read the table: {reason}")]
    Spreadsheet {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The spreadsheet lacks the sheet.
    #[error("{path}: no sheet `{sheet}`; its sheets are: {found} (choose one with --sheet)")]
    MissingSheet {
        /// The file.
        path: PathBuf,
        /// The sheet asked for.
        sheet: String,
        /// The sheets present.
        found: String,
    },
    /// A required column is missing.
    #[error("{path}: no column `{column}`; its columns are: {found}")]
    MissingColumn {
        /// The file.
        path: PathBuf,
        /// The column asked for.
        column: String,
        /// The columns present.
        found: String,
    },
    /// Label rows that cannot be used.
    #[error("{path}: {} invalid label row(s):\n{}", problems.len(), list(problems))]
    InvalidLabels {
        /// The file.
        path: PathBuf,
        /// Each problem.
        problems: Vec<LabelProblem>,
    },
    /// A Parquet/CSV table medfen wrote or reads is not as expected.
    #[error("{path}: {reason}")]
    Table {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// A task name nobody defined.
    #[error("unknown task `{name}`; known tasks: {known}")]
    UnknownTask {
        /// The name given.
        name: String,
        /// Every known task name.
        known: String,
    },
    /// A task definition file is invalid.
    #[error("{path}: invalid task definition: {reason}")]
    TaskFile {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The patient-key secret cannot be read or created.
    #[error("{path}: patient-key secret: {reason}")]
    Secret {
        /// The secret file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// Split options that cannot work.
    #[error("invalid split options: {0}")]
    SplitOptions(String),
    /// A downstream file made from other inputs than the ones given.
    #[error("{path}: {reason}")]
    Stale {
        /// The file.
        path: PathBuf,
        /// What disagrees.
        reason: String,
    },
    /// Reading DICOM failed.
    #[error(transparent)]
    Dicom(#[from] medfen_dicom::Error),
    /// A stage file could not be read or written (medfen-io's error names it).
    #[error(transparent)]
    File(#[from] medfen_io::Error),
}

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn table(path: impl Into<PathBuf>, reason: impl std::fmt::Display) -> Self {
        Self::Table {
            path: path.into(),
            reason: reason.to_string(),
        }
    }
}

/// Result with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

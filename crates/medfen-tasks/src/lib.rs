//! Label tables, the exam index, the ear manifest with keyed patient hashes, the task
//! registry, and leakage-proof nested splits with their audit.
//!
//! The stages, each reading the previous one's files:
//!
//! 1. [`read_labels`]: the hospital's spreadsheet (or a CSV) into one validated row per
//!    exam; invalid or conflicting rows are an error naming every row, or quarantined.
//! 2. [`build_index`]: the DICOM tree matched to the labels, one [`ExamRecord`] per exam
//!    with the series medfen-dicom chose and why, its measured geometry and QA; every
//!    unmatched row, unlabelled exam and unreadable file listed.
//! 3. [`build_manifest`]: one [`Ear`] per patient side, with `task_valid__`/`task_y__`
//!    columns for every task of the [`TaskRegistry`] and a keyed patient hash
//!    ([`PatientKeySecret`], HMAC-SHA256); no identifier is written.
//! 4. [`make_split`]: train/val/test by patient, stratified by label profile, with
//!    strictly nested training subsets; [`audit`] checks the written files.
//!
//! # Example
//!
//! ```
//! use medfen_tasks::*;
//!
//! let dir = tempfile::tempdir()?;
//! // a phantom dataset: 12 exams, some patients with two
//! let data = dir.path().join("data");
//! medfen_synth::generate(
//!     &medfen_synth::SynthConfig::new(&data).with_exams(12).with_matrix(64).with_repeat_patients(0.5),
//! )?;
//! let labels = read_labels(&data.join("labels.xlsx"), &LabelOptions::default())?;
//! let index = build_index(&labels, &data.join("dicom"), &IndexOptions::default(), &|_| {})?;
//! assert_eq!(index.exams.len(), 12);
//! // the thin bone series (folder `2_...`) is chosen over localizers and soft tissue
//! assert!(index.exams.iter().all(|e| e.series_dir.contains("/2_")));
//! let exams = dir.path().join("exams.parquet");
//! index.write(&exams, &labels)?;
//!
//! let secret = PatientKeySecret::from_bytes(b"keep this secret file private!!!");
//! let (ears, table, report) =
//!     build_manifest(&exams, None, &secret, &TaskRegistry::builtin(), &|_| {})?;
//! assert_eq!(ears.len(), 24); // two ears per exam
//! let manifest = dir.path().join("ears.parquet");
//! write_manifest(&manifest, &table, &report)?;
//!
//! let plan = make_split(&ears, &SplitOptions::default())?;
//! let written = plan.write(&dir.path().join("splits"), &manifest)?;
//! assert!(written.audit.ok && written.audit.overlaps.is_empty());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![warn(missing_docs)]

mod audit;
mod codes;
mod error;
mod evaluation;
mod index;
mod labels;
mod manifest;
mod patient_key;
mod predictions;
mod prepare;
mod split;
mod tasks;

pub use audit::{AuditReport, FileCounts, Overlap, audit};
pub use codes::{CODE_NAMES, CODE_NAMES_EN, NUM_CODES, checked_code, code_index, parse_diagnosis};
pub use error::{Error, LabelProblem, Result};
pub use evaluation::{ClusterUnit, EvalReport, Thresholds};
pub use index::{
    ExamIndex, ExamIndexFile, ExamMatch, ExamRecord, FailedExam, IndexOptions, IndexReport,
    LayoutPart, NotIndexed, SkippedFile, UnlabelledExam, UnmatchedLabel, build_index,
    read_exam_index,
};
pub use labels::{
    ExamLabels, LabelColumns, LabelOptions, LabelSummary, LabelTable, Quarantined, read_labels,
};
pub use manifest::{
    Ear, ManifestReport, Side, build_manifest, exams_where, read_manifest, read_manifest_report,
    write_manifest,
};
pub use patient_key::{KeySource, PatientKeySecret, default_secret_path};
pub use predictions::{
    PREDICTIONS_FORMAT, Prediction, PredictionTable, TopSlice, Z_DECIMALS, round_mm,
};
pub use prepare::{Prepared, prepare};
pub use split::{
    KeepMode, SplitCounts, SplitEar, SplitFolder, SplitName, SplitOptions, SplitPlan, SplitReport,
    Subset, SubsetName, make_split, read_split_file,
};
pub use tasks::{Task, TaskKind, TaskRegistry};

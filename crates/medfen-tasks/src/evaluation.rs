//! What `medfen eval` leaves in a run folder for the stages after it: the thresholds
//! frozen on val (`thresholds.json`) and each evaluation's report (`metrics.json`).
//! The prediction tables beside them are [`crate::PredictionTable`]s.

use std::path::{Path, PathBuf};

use medfen_io::FileFormat;
use medfen_metrics::{BinaryReport, ChosenThreshold, MulticlassReport};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// What a bootstrap resamples: the unit whose observations are correlated.
///
/// A patient's repeat exams all land in one split, and an exam's two ears share the
/// patient, scanner and day: resampling anything smaller than a patient treats
/// correlated ears as independent and gives intervals that are too narrow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClusterUnit {
    /// A patient (their `patient_key`): every ear of every exam of the patient. The default.
    #[default]
    Patient,
    /// An exam (its two ears).
    Exam,
    /// An ear on its own (no clustering).
    Ear,
}

impl ClusterUnit {
    /// `patient`, `exam` or `ear`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Patient => "patient",
            Self::Exam => "exam",
            Self::Ear => "ear",
        }
    }

    /// The column of the prediction table that holds this unit's ids
    /// (`patient_key`, `exam_id`; `None` for ears).
    pub fn column(self) -> Option<&'static str> {
        match self {
            Self::Patient => Some("patient_key"),
            Self::Exam => Some("exam_id"),
            Self::Ear => None,
        }
    }
}

impl std::fmt::Display for ClusterUnit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for ClusterUnit {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "patient" => Ok(Self::Patient),
            "exam" => Ok(Self::Exam),
            "ear" => Ok(Self::Ear),
            other => Err(format!("`{other}`: expected patient, exam or ear")),
        }
    }
}

/// Thresholds chosen on val and frozen into the run (`thresholds.json`), bound to the
/// exact weights they were chosen for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Thresholds {
    /// [`Thresholds::FORMAT`]'s tag.
    pub format: String,
    /// The checkpoint they were chosen for (`best` or `last`).
    pub checkpoint: String,
    /// SHA-256 of that checkpoint's file when they were chosen: thresholds of other
    /// weights (a run trained further since) are refused.
    pub checkpoint_sha256: String,
    /// The split they were chosen on (always `val`).
    pub chosen_on: String,
    /// The operating threshold (by the run's rule, Youden by default).
    pub operating: ChosenThreshold,
    /// The threshold giving the highest sensitivity at specificity >= 0.95 on val.
    pub at_95_specificity: Option<ChosenThreshold>,
}

impl Thresholds {
    /// The format of `thresholds.json`.
    pub const FORMAT: FileFormat = FileFormat {
        name: "medfen-thresholds",
        version: 2,
        written_by: "medfen eval --split val",
    };

    /// The file in a run folder.
    pub fn path(run: &Path) -> PathBuf {
        run.join("thresholds.json")
    }

    /// Reads the run's thresholds; `None` when val has not been evaluated yet.
    ///
    /// # Errors
    /// An unreadable file or one of another format version, naming it.
    pub fn read(run: &Path) -> Result<Option<Self>> {
        let path = Self::path(run);
        if !path.exists() {
            return Ok(None);
        }
        Ok(Some(Self::FORMAT.read(&path)?))
    }

    /// Writes them into the run folder.
    ///
    /// # Errors
    /// I/O errors naming the file.
    pub fn write(&self, run: &Path) -> Result<()> {
        Ok(medfen_io::write_json(&Self::path(run), self)?)
    }

    /// Why these thresholds do not belong to checkpoint `checkpoint` whose file now has
    /// the hash `sha256`; `None` when they do.
    pub fn mismatch(&self, checkpoint: &str, sha256: &str) -> Option<String> {
        if self.checkpoint != checkpoint {
            return Some(format!(
                "the thresholds were chosen for the {} checkpoint, not {checkpoint}: \
                 rerun `medfen eval --split val --checkpoint {checkpoint}`",
                self.checkpoint
            ));
        }
        (self.checkpoint_sha256 != sha256).then(|| {
            format!(
                "the thresholds were chosen on other weights ({checkpoint}.safetensors had \
                 sha256 {}, it now has {}: the run was trained further since): rerun \
                 `medfen eval --split val --checkpoint {checkpoint}`",
                short(&self.checkpoint_sha256),
                short(sha256)
            )
        })
    }
}

/// The first 12 hex digits of a hash, for messages.
fn short(sha256: &str) -> &str {
    sha256.get(..12).unwrap_or(sha256)
}

/// What one evaluation found (`eval/<split>-<checkpoint>/metrics.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvalReport {
    /// [`EvalReport::FORMAT`]'s tag.
    pub format: String,
    /// The split evaluated.
    pub split: String,
    /// The checkpoint.
    pub checkpoint: String,
    /// The task.
    pub task: String,
    /// Ears predicted (all ears of the split).
    pub ears: usize,
    /// Ears in the task (with a target).
    pub ears_in_task: usize,
    /// Exams with an ear in the task.
    pub exams: usize,
    /// Patients with an ear in the task.
    pub patients: usize,
    /// What the bootstrap and the analytic AUROC variance resample.
    pub cluster: ClusterUnit,
    /// Clusters (resampling units) in the task.
    pub clusters: usize,
    /// Ears per class in the task.
    pub class_counts: Vec<usize>,
    /// The thresholds applied (binary tasks): chosen here on val, frozen from val on
    /// any other split.
    pub thresholds: Option<Thresholds>,
    /// Binary report: on splits other than val its `pre_specified` points (val's
    /// frozen operating and 95%-specificity thresholds, with bootstrap CIs) are the
    /// headline; AUROC, AP, operating points re-chosen here, calibration.
    pub binary: Option<BinaryReport>,
    /// The Youden threshold re-chosen on this split (exploratory on any split but val).
    pub youden_here: Option<ChosenThreshold>,
    /// Multi-class report.
    pub multiclass: Option<MulticlassReport>,
    /// One-vs-rest binary reports per class (multi-class tasks), with bootstrap CIs.
    pub one_vs_rest: Vec<(String, BinaryReport)>,
    /// The predictions (CSV and Parquet).
    pub predictions: [PathBuf; 2],
    /// This report.
    pub report_path: PathBuf,
}

impl EvalReport {
    /// The format of `metrics.json`.
    pub const FORMAT: FileFormat = FileFormat {
        name: "medfen-eval",
        version: 2,
        written_by: "medfen eval",
    };

    /// The folder of an evaluation of `checkpoint` on `split` in a run folder.
    pub fn dir(run: &Path, split: &str, checkpoint: &str) -> PathBuf {
        run.join("eval").join(format!("{split}-{checkpoint}"))
    }

    /// Reads a `metrics.json`.
    ///
    /// # Errors
    /// An unreadable file or one of another format version, naming it.
    pub fn read(path: &Path) -> Result<Self> {
        if !path.exists() {
            return Err(Error::table(
                path,
                "no such evaluation: run `medfen eval` for this split and checkpoint",
            ));
        }
        Ok(Self::FORMAT.read(path)?)
    }

    /// Writes it to [`EvalReport::report_path`].
    ///
    /// # Errors
    /// I/O errors naming the file.
    pub fn write(&self) -> Result<()> {
        Ok(medfen_io::write_json(&self.report_path, self)?)
    }
}

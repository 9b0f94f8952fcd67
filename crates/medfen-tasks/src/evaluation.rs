//! What `medfen eval` leaves in a run folder for the stages after it: the thresholds
//! frozen on val (`thresholds.json`) and each evaluation's report (`metrics.json`).
//! The prediction tables beside them are [`crate::PredictionTable`]s.

use std::path::{Path, PathBuf};

use medfen_io::FileFormat;
use medfen_metrics::{BinaryReport, ChosenThreshold, MulticlassReport, ThresholdResult};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Thresholds chosen on val and frozen into the run (`thresholds.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Thresholds {
    /// [`Thresholds::FORMAT`]'s tag.
    pub format: String,
    /// The checkpoint they were chosen for.
    pub checkpoint: String,
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
        version: 1,
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
    /// Exams.
    pub exams: usize,
    /// Ears per class in the task.
    pub class_counts: Vec<usize>,
    /// The thresholds applied (binary tasks), frozen from val.
    pub thresholds: Option<Thresholds>,
    /// Binary report (AUROC, AP, operating points, bootstrap CIs, calibration).
    pub binary: Option<BinaryReport>,
    /// Sensitivity and specificity at the frozen 95%-specificity threshold of val.
    pub at_val_95_specificity: Option<ThresholdResult>,
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
        version: 1,
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

//! Patient-level train/val/test splits with strictly nested training subsets.
//!
//! Every exam of a patient (both ears) lands in one split; patients are stratified by
//! their label profile (the set of codes over all their ears) with deterministic
//! fallbacks for rare profiles (the patient's rarest code, then one shared stratum).
//! Code filters apply before stratification. Training subsets for ratios such as
//! 1%, 20%, 100% are built smallest first, each starting from the previous one, so
//! 1% ⊂ 20% ⊂ 100% holds by construction; they are class-stratified at ear level with
//! a minimum per class. Val and test are the same for every ratio. Every random choice
//! is a keyed hash of (seed, purpose, exam id), so the same data and seed give the same
//! split on every machine whatever the row order; patient keys (HMACs under a
//! machine-local secret) only group exams, they never order anything.
//!
//! The steps live in their own modules: [`filter`] (codes), [`assign`] (patients to
//! splits), [`subsets`] (nested training subsets); [`folder`] writes and reads the
//! split folder.

mod assign;
mod filter;
mod folder;
mod subsets;

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::codes::{NUM_CODES, code_index};
use crate::error::{Error, Result};
use crate::manifest::{Ear, Side};

pub(crate) use folder::subset_folders;
pub use folder::{SplitFolder, SplitReport, SubsetName, read_split_file};

/// What happens to ears whose code is outside `keep_codes`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeepMode {
    /// The ear loses its label (masked); the exam stays if its other ear is kept.
    #[default]
    MaskSide,
    /// The whole exam is dropped.
    DropExam,
}

/// Options of [`make_split`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SplitOptions {
    /// Fraction of patients in validation (default 0.1).
    pub val: f64,
    /// Fraction of patients in test (default 0.2).
    pub test: f64,
    /// Training subset ratios (default 0.01, 0.2, 1.0).
    pub ratios: Vec<f64>,
    /// Seed.
    pub seed: u64,
    /// Minimum ears per class in every training subset (when the class has them).
    pub min_per_class: usize,
    /// Codes to keep (None: all six).
    pub keep_codes: Option<Vec<u8>>,
    /// What happens to ears with other codes.
    pub keep_mode: KeepMode,
    /// Exams whose patients form an external test set (e.g. one site), outside the
    /// random split.
    pub external_exams: BTreeSet<u64>,
}

impl Default for SplitOptions {
    fn default() -> Self {
        Self {
            val: 0.1,
            test: 0.2,
            ratios: vec![0.01, 0.2, 1.0],
            seed: 42,
            min_per_class: 1,
            keep_codes: None,
            keep_mode: KeepMode::MaskSide,
            external_exams: BTreeSet::new(),
        }
    }
}

impl SplitOptions {
    fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(Error::SplitOptions(m));
        if !(0.0..1.0).contains(&self.val)
            || !(0.0..1.0).contains(&self.test)
            || self.val + self.test >= 1.0
        {
            return bad(format!(
                "val {} and test {} must be in [0, 1) with val + test < 1",
                self.val, self.test
            ));
        }
        if self.ratios.is_empty() || self.ratios.iter().any(|r| !(*r > 0.0 && *r <= 1.0)) {
            return bad(format!("ratios {:?} must be in (0, 1]", self.ratios));
        }
        if let Some(k) = &self.keep_codes
            && (k.is_empty()
                || k.iter()
                    .any(|c| crate::codes::checked_code(i64::from(*c)).is_none()))
        {
            return bad(format!("keep codes {k:?} must be non-empty codes 1..6"));
        }
        Ok(())
    }

    /// Whether ears with `code` keep their label.
    fn keeps(&self, code: u8) -> bool {
        self.keep_codes.as_ref().is_none_or(|k| k.contains(&code))
    }
}

/// Which split an exam is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SplitName {
    /// Training.
    Train,
    /// Validation.
    Val,
    /// Test.
    Test,
    /// External test (a held-out site).
    ExternalTest,
}

impl SplitName {
    /// Every split, in file order.
    pub const ALL: [Self; 4] = [Self::Train, Self::Val, Self::Test, Self::ExternalTest];

    /// File stem.
    pub fn name(self) -> &'static str {
        match self {
            Self::Train => "train",
            Self::Val => "val",
            Self::Test => "test",
            Self::ExternalTest => "external_test",
        }
    }
}

impl std::str::FromStr for SplitName {
    type Err = Error;

    /// Parses `train`, `val`, `test` or `external_test`.
    fn from_str(s: &str) -> Result<Self> {
        Self::ALL
            .into_iter()
            .find(|x| x.name() == s)
            .ok_or_else(|| {
                Error::SplitOptions(format!(
                    "unknown split `{s}`: expected train, val, test or external_test"
                ))
            })
    }
}

impl std::fmt::Display for SplitName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// One row of a split file: an ear, its label after the code filter, and its split.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SplitEar {
    /// Exam id.
    pub exam_id: u64,
    /// Patient side.
    pub side: Side,
    /// Diagnosis code after the split's code filter (None: no label, or masked).
    pub code: Option<u8>,
    /// The manifest's code.
    pub code_original: Option<u8>,
    /// Keyed patient hash.
    pub patient_key: String,
    /// The split the ear is in.
    pub split: SplitName,
    /// Exam date.
    pub date: Option<String>,
    /// Exam folder, relative to the DICOM root.
    pub exam_dir: String,
    /// Series folder, relative to the DICOM root.
    pub series_dir: String,
}

/// Counts of one split file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SplitCounts {
    /// Patients.
    pub patients: usize,
    /// Exams.
    pub exams: usize,
    /// Ears (both ears of every exam).
    pub ears: usize,
    /// Labelled ears per code 1..=6 (after the filter).
    pub ears_by_code: [usize; NUM_CODES],
}

/// A training subset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Subset {
    /// The ratio asked for.
    pub ratio: f64,
    /// Folder name (`1pct`, `20pct`, `100pct`).
    pub folder: String,
    /// Target ears per code 1..=6.
    pub targets: [usize; NUM_CODES],
    /// Exam ids, in file order.
    pub exams: Vec<u64>,
    /// Counts.
    pub counts: SplitCounts,
}

/// A finished split.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SplitPlan {
    /// Options used.
    pub options: SplitOptions,
    /// The split of each exam.
    pub assignment: BTreeMap<u64, SplitName>,
    /// Training subsets, smallest first.
    pub subsets: Vec<Subset>,
    /// Counts of val, test and external test.
    pub holdout: BTreeMap<String, SplitCounts>,
    /// Patients per stratification level (`profile`, `rarest_code`, `pooled`).
    pub strata: BTreeMap<String, usize>,
    /// Patients per stratum: `profile:2+5` (the patient's codes after the filter),
    /// `rarest:code4`, `pooled`.
    pub strata_by_key: BTreeMap<String, usize>,
    /// Exams left out: no labelled ear after the filter, or dropped by it.
    pub excluded_exams: Vec<(u64, String)>,
    /// Things a reader should know (e.g. a class with no training ear).
    pub warnings: Vec<String>,
    /// The ears of every kept exam, by exam id then side.
    pub ears: Vec<SplitEar>,
}

/// A uniform 64-bit value from (seed, purpose, id).
fn keyed(seed: u64, purpose: &str, id: &str) -> u64 {
    let mut h = Sha256::new();
    h.update(seed.to_le_bytes());
    h.update(purpose.as_bytes());
    h.update([0]);
    h.update(id.as_bytes());
    let d = h.finalize();
    u64::from_le_bytes(d[..8].try_into().expect("8 bytes"))
}

fn counts(ears: &[&SplitEar]) -> SplitCounts {
    let mut by_code = [0usize; NUM_CODES];
    for e in ears {
        if let Some(c) = e.code {
            by_code[code_index(c)] += 1;
        }
    }
    SplitCounts {
        patients: ears
            .iter()
            .map(|e| &e.patient_key)
            .collect::<BTreeSet<_>>()
            .len(),
        exams: ears
            .iter()
            .map(|e| e.exam_id)
            .collect::<BTreeSet<_>>()
            .len(),
        ears: ears.len(),
        ears_by_code: by_code,
    }
}

/// Splits the manifest's ears.
///
/// # Errors
/// [`Error::SplitOptions`] for fractions or ratios that cannot work, or a manifest
/// whose exams disagree on their patient key.
pub fn make_split(ears: &[Ear], options: &SplitOptions) -> Result<SplitPlan> {
    options.validate()?;
    let filter::Filtered {
        mut kept,
        excluded_exams,
    } = filter::apply(ears, options)?;
    let assign::Assigned {
        assignment,
        strata,
        strata_by_key,
        global,
    } = assign::patients(&kept, options);
    for e in &mut kept {
        e.split = assignment[&e.exam_id];
    }
    let (subsets, warnings) = subsets::nested(&kept, &assignment, &global, options);
    let mut holdout = BTreeMap::new();
    for s in [SplitName::Val, SplitName::Test, SplitName::ExternalTest] {
        let e: Vec<&SplitEar> = kept.iter().filter(|e| e.split == s).collect();
        if s != SplitName::ExternalTest || !e.is_empty() {
            holdout.insert(s.name().to_string(), counts(&e));
        }
    }
    Ok(SplitPlan {
        options: options.clone(),
        assignment,
        subsets,
        holdout,
        strata,
        strata_by_key,
        excluded_exams,
        warnings,
        ears: kept,
    })
}

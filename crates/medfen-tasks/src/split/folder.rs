//! The split folder, written by [`SplitPlan::write`] and read by [`SplitFolder`]:
//! `<dir>/<pct>pct/{train,val,test[,external_test]}.{parquet,csv}` and `split.json`.
//! Nothing else names a subset folder or a split file's column.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use medfen_io::{FileFormat, Table};
use serde::{Deserialize, Serialize};

use super::{SplitCounts, SplitEar, SplitName, SplitOptions, SplitPlan};
use crate::codes::{NUM_CODES, checked_code};
use crate::error::{Error, Result};
use crate::manifest::Side;

/// `split.json`: what was split, how, and the counts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SplitReport {
    /// [`SplitReport::FORMAT`]'s tag.
    pub format: String,
    /// The manifest.
    pub manifest: PathBuf,
    /// SHA-256 of the manifest.
    pub manifest_sha256: String,
    /// The split (options, counts, strata, exclusions, warnings; not the ears).
    pub options: SplitOptions,
    /// Training subsets (without their exam lists): folder, ratio, target ears per
    /// code, counts.
    pub subsets: Vec<(String, f64, [usize; NUM_CODES], SplitCounts)>,
    /// Val, test and external test counts.
    pub holdout: BTreeMap<String, SplitCounts>,
    /// Patients per stratification level.
    pub strata: BTreeMap<String, usize>,
    /// Exams left out and why.
    pub excluded_exams: Vec<(u64, String)>,
    /// Warnings.
    pub warnings: Vec<String>,
    /// The audit of the written files.
    pub audit: crate::audit::AuditReport,
}

impl SplitReport {
    /// The format of `split.json` (and so of the split folder).
    pub const FORMAT: FileFormat = FileFormat {
        name: "medfen-split",
        version: 1,
        written_by: "medfen split",
    };
}

/// A training subset of a split folder: its folder name and the percentage of the
/// training patients' ears it aims for.
#[derive(Debug, Clone, PartialEq)]
pub struct SubsetName {
    /// Folder name: `1pct`, `20pct`, `100pct`.
    pub folder: String,
    /// The ratio, in percent.
    pub percent: f64,
}

/// The `<pct>pct` folders under `dir`, smallest first.
pub(crate) fn subset_folders(dir: &Path) -> Result<Vec<SubsetName>> {
    let mut found: Vec<SubsetName> = std::fs::read_dir(dir)
        .map_err(|e| Error::io(dir, e))?
        .filter_map(std::result::Result::ok)
        .filter(|e| e.path().is_dir())
        .filter_map(|e| {
            let folder = e.file_name().to_string_lossy().into_owned();
            let percent = folder.strip_suffix("pct")?.parse::<f64>().ok()?;
            Some(SubsetName { folder, percent })
        })
        .collect();
    found.sort_by(|a, b| a.percent.total_cmp(&b.percent));
    Ok(found)
}

/// A split folder made by `medfen split`, opened for reading.
///
/// ```no_run
/// use medfen_tasks::{SplitFolder, SplitName};
/// let splits = SplitFolder::open("work/splits/main".as_ref())?;
/// let subset = splits.subset("20pct")?;
/// let train = splits.read(subset, SplitName::Train)?;
/// println!("{} training ears", train.len());
/// # Ok::<(), medfen_tasks::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct SplitFolder {
    dir: PathBuf,
    report: SplitReport,
    subsets: Vec<SubsetName>,
}

impl SplitFolder {
    /// Opens the split folder `dir`: reads `split.json` (checking its format version)
    /// and finds its subset folders.
    ///
    /// # Errors
    /// A folder without `split.json` or with one of another format version, or
    /// without the subset folders it lists.
    pub fn open(dir: &Path) -> Result<Self> {
        let json = dir.join("split.json");
        if !json.exists() {
            return Err(Error::table(
                dir,
                "not a split folder (no split.json): give the --out-dir of `medfen split`",
            ));
        }
        let report: SplitReport = SplitReport::FORMAT.read(&json)?;
        let on_disk = subset_folders(dir)?;
        let subsets: Vec<SubsetName> = on_disk
            .into_iter()
            .filter(|s| report.subsets.iter().any(|r| r.0 == s.folder))
            .collect();
        if let Some(missing) = report
            .subsets
            .iter()
            .find(|r| !subsets.iter().any(|s| s.folder == r.0))
        {
            return Err(Error::table(
                dir,
                format!(
                    "split.json lists subset {} but the folder is missing",
                    missing.0
                ),
            ));
        }
        Ok(Self {
            dir: dir.to_path_buf(),
            report,
            subsets,
        })
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// `split.json`.
    pub fn report(&self) -> &SplitReport {
        &self.report
    }

    /// The training subsets, smallest first.
    pub fn subsets(&self) -> &[SubsetName] {
        &self.subsets
    }

    /// The subset called `folder` (`1pct`, `20pct`, `100pct`, ...).
    ///
    /// # Errors
    /// An unknown subset, listing the folder's subsets.
    pub fn subset(&self, folder: &str) -> Result<&SubsetName> {
        self.subsets
            .iter()
            .find(|s| s.folder == folder)
            .ok_or_else(|| {
                Error::table(
                    &self.dir,
                    format!(
                        "no subset `{folder}` (subsets: {})",
                        self.subsets
                            .iter()
                            .map(|s| s.folder.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                )
            })
    }

    /// The largest subset, whose files hold every exam of the split.
    ///
    /// # Errors
    /// A split folder without subsets.
    pub fn largest(&self) -> Result<&SubsetName> {
        self.subsets
            .last()
            .ok_or_else(|| Error::table(&self.dir, "the split has no subset folders"))
    }

    /// The Parquet file of `split` in `subset` (it may not exist: see [`Self::has`]).
    pub fn file(&self, subset: &SubsetName, split: SplitName) -> PathBuf {
        self.dir
            .join(&subset.folder)
            .join(format!("{}.parquet", split.name()))
    }

    /// Whether `subset` has a file for `split` (only splits with an external test have
    /// `external_test`).
    pub fn has(&self, subset: &SubsetName, split: SplitName) -> bool {
        self.file(subset, split).exists()
    }

    /// The ears of `split` in `subset`, in file order.
    ///
    /// # Errors
    /// A missing or malformed file, naming it.
    pub fn read(&self, subset: &SubsetName, split: SplitName) -> Result<Vec<SplitEar>> {
        read_split_file(&self.file(subset, split))
    }

    /// The exam ids of every split file of the largest subset (which holds every exam
    /// of the split), each with its split, by exam id.
    ///
    /// # Errors
    /// As [`Self::read`].
    pub fn exams(&self) -> Result<BTreeMap<u64, SplitName>> {
        let largest = self.largest()?;
        let mut out = BTreeMap::new();
        for split in SplitName::ALL {
            if self.has(largest, split) {
                for e in self.read(largest, split)? {
                    out.entry(e.exam_id).or_insert(split);
                }
            }
        }
        Ok(out)
    }
}

/// Reads the ears of one split file (`.parquet` or its `.csv` twin).
///
/// # Errors
/// A missing file or column, a row without exam id, side or split, naming it.
pub fn read_split_file(path: &Path) -> Result<Vec<SplitEar>> {
    let t = Table::read(path)?;
    let ids = t.ints("exam_id")?;
    let sides = t.texts("side")?;
    let codes = t.ints("code")?;
    let originals = t.ints("code_original")?;
    let keys = t.texts("patient_key")?;
    let splits = t.texts("split")?;
    let dates = t.texts("date")?;
    let exam_dirs = t.texts("exam_dir")?;
    let series_dirs = t.texts("series_dir")?;
    (0..t.rows())
        .map(|i| {
            let bad = |what: &str| Error::table(path, format!("{}: {what}", t.row_name(i)));
            let code = |v: Option<i64>| -> Result<Option<u8>> {
                v.map(|c| checked_code(c).ok_or_else(|| bad("code outside 1-6")))
                    .transpose()
            };
            Ok(SplitEar {
                exam_id: ids[i]
                    .and_then(|v| u64::try_from(v).ok())
                    .ok_or_else(|| bad("no exam_id"))?,
                side: sides[i]
                    .as_deref()
                    .and_then(Side::parse)
                    .ok_or_else(|| bad("side is not left/right"))?,
                code: code(codes[i])?,
                code_original: code(originals[i])?,
                patient_key: keys[i].clone().unwrap_or_default(),
                split: splits[i]
                    .as_deref()
                    .ok_or_else(|| bad("no split"))?
                    .parse()?,
                date: dates[i].clone(),
                exam_dir: exam_dirs[i].clone().unwrap_or_default(),
                series_dir: series_dirs[i].clone().unwrap_or_default(),
            })
        })
        .collect()
}

fn ear_table(ears: &[&SplitEar]) -> Table {
    let mut t = Table::new();
    t.int("exam_id", ears.iter().map(|e| Some(e.exam_id as i64)));
    t.text("side", ears.iter().map(|e| Some(e.side.name().to_string())));
    t.int("code", ears.iter().map(|e| e.code.map(i64::from)));
    t.int(
        "class_id",
        ears.iter().map(|e| e.code.map(|c| i64::from(c) - 1)),
    );
    t.int(
        "code_original",
        ears.iter().map(|e| e.code_original.map(i64::from)),
    );
    t.text(
        "patient_key",
        ears.iter().map(|e| Some(e.patient_key.clone())),
    );
    t.text(
        "split",
        ears.iter().map(|e| Some(e.split.name().to_string())),
    );
    t.text("date", ears.iter().map(|e| e.date.clone()));
    t.text("exam_dir", ears.iter().map(|e| Some(e.exam_dir.clone())));
    t.text(
        "series_dir",
        ears.iter().map(|e| Some(e.series_dir.clone())),
    );
    t
}

impl SplitPlan {
    /// The ears of `exams` in that order (left then right of each).
    fn ears_of(&self, exams: &[u64]) -> Vec<&SplitEar> {
        let mut by_exam: BTreeMap<u64, Vec<&SplitEar>> = BTreeMap::new();
        for e in &self.ears {
            by_exam.entry(e.exam_id).or_default().push(e);
        }
        exams
            .iter()
            .flat_map(|id| by_exam.get(id).cloned().unwrap_or_default())
            .collect()
    }

    fn holdout_exams(&self, s: SplitName) -> Vec<u64> {
        self.assignment
            .iter()
            .filter(|(_, x)| **x == s)
            .map(|(id, _)| *id)
            .collect()
    }

    /// Refuses an output folder holding subsets of another run (they would be audited
    /// as part of this split): neither mix nor delete.
    fn check_no_foreign_subsets(&self, out: &Path) -> Result<()> {
        if !out.exists() {
            return Ok(());
        }
        let ours: BTreeSet<&str> = self.subsets.iter().map(|s| s.folder.as_str()).collect();
        let foreign: Vec<String> = subset_folders(out)?
            .into_iter()
            .map(|s| s.folder)
            .filter(|n| !ours.contains(n.as_str()))
            .collect();
        if foreign.is_empty() {
            return Ok(());
        }
        Err(Error::SplitOptions(format!(
            "{} holds subsets of another run ({}); remove them or choose another output folder",
            out.display(),
            foreign.join(", ")
        )))
    }

    /// Writes `<out>/<pct>pct/{train,val,test}.{csv,parquet}` (and `external_test`
    /// when there is one), audits them against the manifest and writes `split.json`.
    ///
    /// # Errors
    /// I/O errors naming the file.
    pub fn write(&self, out: &Path, manifest: &Path) -> Result<SplitReport> {
        self.check_no_foreign_subsets(out)?;
        for sub in &self.subsets {
            let dir = out.join(&sub.folder);
            let mut files: Vec<(SplitName, Vec<u64>)> = vec![
                (SplitName::Train, sub.exams.clone()),
                (SplitName::Val, self.holdout_exams(SplitName::Val)),
                (SplitName::Test, self.holdout_exams(SplitName::Test)),
            ];
            let external = self.holdout_exams(SplitName::ExternalTest);
            if !external.is_empty() {
                files.push((SplitName::ExternalTest, external));
            }
            for (split, exams) in files {
                let t = ear_table(&self.ears_of(&exams));
                t.write_csv(&dir.join(format!("{}.csv", split.name())))?;
                t.write_parquet(&dir.join(format!("{}.parquet", split.name())))?;
            }
        }
        let audit = crate::audit::audit(out, manifest)?;
        let report = SplitReport {
            format: SplitReport::FORMAT.tag(),
            manifest: manifest.to_path_buf(),
            manifest_sha256: medfen_io::file_sha256(manifest)?,
            options: self.options.clone(),
            subsets: self
                .subsets
                .iter()
                .map(|s| (s.folder.clone(), s.ratio, s.targets, s.counts.clone()))
                .collect(),
            holdout: self.holdout.clone(),
            strata: self.strata.clone(),
            excluded_exams: self.excluded_exams.clone(),
            warnings: self.warnings.clone(),
            audit,
        };
        medfen_io::write_json(&out.join("split.json"), &report)?;
        Ok(report)
    }
}

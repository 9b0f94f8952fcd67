//! Audit of a split folder against its manifest: no patient in two splits, training
//! subsets nested, val and test the same for every ratio, and every row agreeing with
//! the manifest.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::{Deserialize, Serialize};

use medfen_io::Table;

use crate::codes::{NUM_CODES, checked_code, code_index};
use crate::error::Result;
use crate::manifest::{Ear, read_manifest};
use crate::split::{SplitName, SplitReport, SubsetName, subset_folders};

/// A patient found in more than one split.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Overlap {
    /// The first 12 hex digits of the patient key.
    pub patient: String,
    /// Where it was found (`20pct/train`, `20pct/test`, ...).
    pub files: Vec<String>,
    /// Its exams.
    pub exams: Vec<u64>,
}

/// Counts of one split file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileCounts {
    /// `<pct>/<split>`.
    pub file: String,
    /// Patients.
    pub patients: usize,
    /// Exams.
    pub exams: usize,
    /// Ears.
    pub ears: usize,
    /// Labelled ears per code 1..=6.
    pub ears_by_code: [usize; NUM_CODES],
}

/// What the audit found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditReport {
    /// True when nothing is wrong.
    pub ok: bool,
    /// Patients in two splits of one ratio.
    pub overlaps: Vec<Overlap>,
    /// Every other problem, in words.
    pub problems: Vec<String>,
    /// Counts per file.
    pub counts: Vec<FileCounts>,
}

/// The (exam id, side) of the ears of one file.
type EarSet = BTreeSet<(u64, String)>;

/// The columns of a split file the audit compares, read leniently so that a damaged
/// file is reported, not refused.
struct Rows {
    keys: Vec<(u64, String)>,
    patients: Vec<String>,
    codes: Vec<Option<i64>>,
    originals: Vec<Option<i64>>,
}

fn ear_keys(t: &Table) -> Result<Vec<(u64, String)>> {
    let ids = t.ints("exam_id")?;
    let sides = t.texts("side")?;
    Ok(ids
        .iter()
        .zip(&sides)
        .map(|(i, s)| {
            (
                i.and_then(|v| u64::try_from(v).ok()).unwrap_or_default(),
                s.clone().unwrap_or_default(),
            )
        })
        .collect())
}

fn read_rows(path: &Path) -> Result<Rows> {
    let t = Table::read(path)?;
    Ok(Rows {
        keys: ear_keys(&t)?,
        patients: t
            .texts("patient_key")?
            .into_iter()
            .map(Option::unwrap_or_default)
            .collect(),
        codes: t.ints("code")?,
        originals: t.ints("code_original")?,
    })
}

/// Everything the audit has found so far.
#[derive(Default)]
struct Findings {
    problems: Vec<String>,
    overlaps: Vec<Overlap>,
    counts: Vec<FileCounts>,
    trains: Vec<(String, EarSet)>,
    holdouts: BTreeMap<String, Vec<(String, EarSet)>>,
}

/// Audits the split folder `dir` (`<pct>pct/{train,val,test}.parquet`) against the
/// manifest.
///
/// # Errors
/// Unreadable files. Problems with the split itself are in the report (`ok` false).
pub fn audit(dir: &Path, manifest: &Path) -> Result<AuditReport> {
    let ears = read_manifest(manifest)?;
    let by_key: BTreeMap<(u64, String), &Ear> = ears
        .iter()
        .map(|e| ((e.exam_id, e.side.name().to_string()), e))
        .collect();
    let subsets = subset_folders(dir)?;
    let mut f = Findings::default();
    if subsets.is_empty() {
        f.problems
            .push(format!("{}: no <pct>pct folders", dir.display()));
    }
    for subset in &subsets {
        audit_subset(dir, subset, &by_key, &mut f)?;
    }
    check_nesting(&mut f);
    for o in &f.overlaps {
        f.problems.push(format!(
            "patient {}… is in {} (exams {})",
            o.patient,
            o.files.join(" and "),
            o.exams
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    check_manifest_hash(dir, manifest, &mut f)?;
    Ok(AuditReport {
        ok: f.problems.is_empty(),
        overlaps: f.overlaps,
        problems: f.problems,
        counts: f.counts,
    })
}

/// Audits the files of one subset folder: rows against the manifest, the CSV twins,
/// and patients in two splits.
fn audit_subset(
    dir: &Path,
    subset: &SubsetName,
    by_key: &BTreeMap<(u64, String), &Ear>,
    f: &mut Findings,
) -> Result<()> {
    let pct = &subset.folder;
    let mut patient_files: BTreeMap<String, (BTreeSet<String>, BTreeSet<u64>)> = BTreeMap::new();
    for split in SplitName::ALL {
        let path = dir.join(pct).join(format!("{}.parquet", split.name()));
        if !path.exists() {
            if split != SplitName::ExternalTest {
                f.problems.push(format!("{}: missing", path.display()));
            }
            continue;
        }
        let rows = read_rows(&path)?;
        let file = format!("{pct}/{}", split.name());
        for (k, key) in rows.keys.iter().enumerate() {
            let entry = patient_files.entry(rows.patients[k].clone()).or_default();
            entry.0.insert(split.name().to_string());
            entry.1.insert(key.0);
            check_row(&file, &rows, k, by_key, &mut f.problems);
        }
        let keys: EarSet = rows.keys.iter().cloned().collect();
        let csv_path = path.with_extension("csv");
        if csv_path.exists() && ear_keys(&Table::read(&csv_path)?)? != rows.keys {
            f.problems.push(format!(
                "{file}: the CSV and Parquet files differ (edited by hand?)"
            ));
        }
        if keys.len() != rows.keys.len() {
            f.problems.push(format!("{file}: an ear appears twice"));
        }
        f.counts.push(file_counts(&file, &rows, &keys));
        if split == SplitName::Train {
            f.trains.push((pct.clone(), keys));
        } else {
            f.holdouts
                .entry(split.name().to_string())
                .or_default()
                .push((pct.clone(), keys));
        }
    }
    for (patient, (files, exams)) in patient_files {
        if files.len() > 1 {
            f.overlaps.push(Overlap {
                patient: patient.chars().take(12).collect(),
                files: files.iter().map(|s| format!("{pct}/{s}")).collect(),
                exams: exams.into_iter().collect(),
            });
        }
    }
    Ok(())
}

/// Compares row `k` of a split file with the manifest.
fn check_row(
    file: &str,
    rows: &Rows,
    k: usize,
    by_key: &BTreeMap<(u64, String), &Ear>,
    problems: &mut Vec<String>,
) {
    let key = &rows.keys[k];
    let Some(m) = by_key.get(key) else {
        problems.push(format!(
            "{file}: exam {} {} is not in the manifest",
            key.0, key.1
        ));
        return;
    };
    if m.patient_key != rows.patients[k] {
        problems.push(format!(
            "{file}: exam {} {} has another patient key than in the manifest",
            key.0, key.1
        ));
    }
    if m.code.map(i64::from) != rows.originals[k] {
        problems.push(format!(
            "{file}: exam {} {} has code {:?}, the manifest {:?}",
            key.0, key.1, rows.originals[k], m.code
        ));
    }
    if rows.codes[k].is_some() && rows.codes[k] != rows.originals[k] {
        problems.push(format!(
            "{file}: exam {} {}: code {:?} differs from its original {:?}",
            key.0, key.1, rows.codes[k], rows.originals[k]
        ));
    }
}

fn file_counts(file: &str, rows: &Rows, keys: &EarSet) -> FileCounts {
    let mut by_code = [0usize; NUM_CODES];
    for c in rows.codes.iter().filter_map(|c| c.and_then(checked_code)) {
        by_code[code_index(c)] += 1;
    }
    FileCounts {
        file: file.to_string(),
        patients: rows.patients.iter().collect::<BTreeSet<_>>().len(),
        exams: keys.iter().map(|k| k.0).collect::<BTreeSet<_>>().len(),
        ears: keys.len(),
        ears_by_code: by_code,
    }
}

/// Training subsets nested, smallest first; val and test the same in every subset.
fn check_nesting(f: &mut Findings) {
    for w in f.trains.windows(2) {
        let missing = w[0].1.difference(&w[1].1).count();
        if missing > 0 {
            f.problems.push(format!(
                "{}/train is not nested in {}/train: {missing} ear(s) missing from the larger subset",
                w[0].0, w[1].0
            ));
        }
    }
    for (split, files) in &f.holdouts {
        for w in files.windows(2) {
            if w[0].1 != w[1].1 {
                f.problems
                    .push(format!("{}/{split} and {}/{split} differ", w[0].0, w[1].0));
            }
        }
    }
}

/// A split.json made from another manifest means the files are stale.
fn check_manifest_hash(dir: &Path, manifest: &Path, f: &mut Findings) -> Result<()> {
    let report_path = dir.join("split.json");
    if !report_path.exists() {
        return Ok(());
    }
    let report: SplitReport = SplitReport::FORMAT.read(&report_path)?;
    if report.manifest_sha256 != medfen_io::file_sha256(manifest)? {
        f.problems.push(format!(
            "{}: made from another manifest than {} (its SHA-256 differs)",
            report_path.display(),
            manifest.display()
        ));
    }
    Ok(())
}

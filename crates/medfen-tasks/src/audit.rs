//! Audit of a split folder against its manifest: no patient in two splits, training
//! subsets nested, val and test the same for every ratio, and every row agreeing with
//! the manifest.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::manifest::read_manifest;
use crate::table::Table;

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
    pub ears_by_code: [usize; 6],
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

struct Rows {
    keys: Vec<(u64, String)>,
    patients: Vec<String>,
    codes: Vec<Option<i64>>,
    originals: Vec<Option<i64>>,
}

fn read_rows(path: &Path) -> Result<Rows> {
    let t = Table::read_parquet(path)?;
    let ids = t.ints(path, "exam_id")?;
    let sides = t.texts(path, "side")?;
    Ok(Rows {
        keys: ids
            .iter()
            .zip(&sides)
            .map(|(i, s)| {
                (
                    i.and_then(|v| u64::try_from(v).ok()).unwrap_or_default(),
                    s.clone().unwrap_or_default(),
                )
            })
            .collect(),
        patients: t
            .texts(path, "patient_key")?
            .into_iter()
            .map(Option::unwrap_or_default)
            .collect(),
        codes: t.ints(path, "code")?,
        originals: t.ints(path, "code_original")?,
    })
}

/// (exam id, side) of every row of a split CSV, in order.
fn csv_keys(path: &Path) -> Result<Vec<(u64, String)>> {
    let bad = |e: csv::Error| Error::table(path, e);
    let mut r = csv::Reader::from_path(path).map_err(bad)?;
    let h = r.headers().map_err(bad)?.clone();
    let col = |n: &str| {
        h.iter()
            .position(|x| x == n)
            .ok_or_else(|| Error::table(path, format!("no column `{n}`")))
    };
    let (id, side) = (col("exam_id")?, col("side")?);
    r.records()
        .map(|rec| {
            let rec = rec.map_err(bad)?;
            Ok((rec[id].parse().unwrap_or_default(), rec[side].to_string()))
        })
        .collect()
}

/// Audits the split folder `dir` (`<pct>pct/{train,val,test}.parquet`) against the
/// manifest.
///
/// # Errors
/// Unreadable files. Problems with the split itself are in the report (`ok` false).
#[allow(clippy::too_many_lines)]
pub fn audit(dir: &Path, manifest: &Path) -> Result<AuditReport> {
    let ears = read_manifest(manifest)?;
    let by_key: BTreeMap<(u64, String), &crate::manifest::Ear> = ears
        .iter()
        .map(|e| ((e.exam_id, e.side.name().to_string()), e))
        .collect();
    let mut pct_dirs: Vec<(f64, String)> = std::fs::read_dir(dir)
        .map_err(|e| Error::io(dir, e))?
        .filter_map(std::result::Result::ok)
        .filter(|e| e.path().is_dir())
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.strip_suffix("pct")?
                .parse::<f64>()
                .ok()
                .map(|p| (p, name))
        })
        .collect();
    pct_dirs.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut problems = Vec::new();
    let mut overlaps = Vec::new();
    let mut counts = Vec::new();
    if pct_dirs.is_empty() {
        problems.push(format!("{}: no <pct>pct folders", dir.display()));
    }
    let mut trains: Vec<(String, EarSet)> = Vec::new();
    let mut holdouts: BTreeMap<String, Vec<(String, EarSet)>> = BTreeMap::new();
    for (_, pct) in &pct_dirs {
        let mut patient_files: BTreeMap<String, (BTreeSet<String>, BTreeSet<u64>)> =
            BTreeMap::new();
        for split in ["train", "val", "test", "external_test"] {
            let path = dir.join(pct).join(format!("{split}.parquet"));
            if !path.exists() {
                if split != "external_test" {
                    problems.push(format!("{}: missing", path.display()));
                }
                continue;
            }
            let rows = read_rows(&path)?;
            let file = format!("{pct}/{split}");
            let mut by_code = [0usize; 6];
            for (k, key) in rows.keys.iter().enumerate() {
                let entry = patient_files.entry(rows.patients[k].clone()).or_default();
                entry.0.insert(split.to_string());
                entry.1.insert(key.0);
                if let Some(c) = rows.codes[k]
                    .and_then(|c| usize::try_from(c).ok())
                    .filter(|c| (1..=6).contains(c))
                {
                    by_code[c - 1] += 1;
                }
                match by_key.get(key) {
                    None => problems.push(format!(
                        "{file}: exam {} {} is not in the manifest",
                        key.0, key.1
                    )),
                    Some(m) => {
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
                }
            }
            let keys: BTreeSet<(u64, String)> = rows.keys.iter().cloned().collect();
            let csv_path = path.with_extension("csv");
            if csv_path.exists() && csv_keys(&csv_path)? != rows.keys {
                problems.push(format!(
                    "{file}: the CSV and Parquet files differ (edited by hand?)"
                ));
            }
            if keys.len() != rows.keys.len() {
                problems.push(format!("{file}: an ear appears twice"));
            }
            counts.push(FileCounts {
                file: file.clone(),
                patients: rows.patients.iter().collect::<BTreeSet<_>>().len(),
                exams: keys.iter().map(|k| k.0).collect::<BTreeSet<_>>().len(),
                ears: keys.len(),
                ears_by_code: by_code,
            });
            if split == "train" {
                trains.push((pct.clone(), keys));
            } else {
                holdouts
                    .entry(split.to_string())
                    .or_default()
                    .push((pct.clone(), keys));
            }
        }
        for (patient, (files, exams)) in patient_files {
            if files.len() > 1 {
                overlaps.push(Overlap {
                    patient: patient.chars().take(12).collect(),
                    files: files.iter().map(|s| format!("{pct}/{s}")).collect(),
                    exams: exams.into_iter().collect(),
                });
            }
        }
    }
    for w in trains.windows(2) {
        let missing = w[0].1.difference(&w[1].1).count();
        if missing > 0 {
            problems.push(format!(
                "{}/train is not nested in {}/train: {missing} ear(s) missing from the larger subset",
                w[0].0, w[1].0
            ));
        }
    }
    for (split, files) in &holdouts {
        for w in files.windows(2) {
            if w[0].1 != w[1].1 {
                problems.push(format!("{}/{split} and {}/{split} differ", w[0].0, w[1].0));
            }
        }
    }
    for o in &overlaps {
        problems.push(format!(
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
    // A split.json made from another manifest means the files are stale.
    let report_path = dir.join("split.json");
    if report_path.exists() {
        let v: serde_json::Value = serde_json::from_slice(
            &std::fs::read(&report_path).map_err(|e| Error::io(&report_path, e))?,
        )
        .map_err(|e| Error::table(&report_path, e))?;
        let now = crate::table::file_sha256(manifest)?;
        if v["manifest_sha256"].as_str() != Some(now.as_str()) {
            problems.push(format!(
                "{}: made from another manifest than {} (its SHA-256 differs)",
                report_path.display(),
                manifest.display()
            ));
        }
    }
    Ok(AuditReport {
        ok: problems.is_empty(),
        overlaps,
        problems,
        counts,
    })
}

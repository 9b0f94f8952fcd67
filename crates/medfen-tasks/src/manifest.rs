//! The ear manifest: one row per ear (patient side) with its code, class id, task
//! columns, keyed patient hash and header metadata. No identifier of a person is
//! written: the patient key is an HMAC, and neither UIDs nor names are copied.

use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::index::IndexReport;
use crate::patient_key::{KeySource, PatientKeySecret};
use crate::table::{Table, file_sha256, write_json};
use crate::tasks::TaskRegistry;

/// The patient's side of an ear.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    /// The patient's left (+x in LPS).
    Left,
    /// The patient's right.
    Right,
}

impl Side {
    /// `left` or `right`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Left => "left",
            Self::Right => "right",
        }
    }

    /// Parses `left`/`right` (also `L`/`R`).
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "left" | "l" => Some(Self::Left),
            "right" | "r" => Some(Self::Right),
            _ => None,
        }
    }
}

/// One ear of the manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ear {
    /// Exam id.
    pub exam_id: u64,
    /// Patient side.
    pub side: Side,
    /// Diagnosis code 1..=6 (None: no label).
    pub code: Option<u8>,
    /// Keyed patient hash (hex HMAC-SHA256).
    pub patient_key: String,
    /// Which header field the key came from.
    pub key_source: KeySource,
    /// Exam date (label table, else folder).
    pub date: Option<String>,
    /// Exam folder, relative to the DICOM root.
    pub exam_dir: String,
    /// Series folder, relative to the DICOM root.
    pub series_dir: String,
}

/// What the manifest was made from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ManifestReport {
    /// The index it was made from.
    pub index: PathBuf,
    /// SHA-256 of the index.
    pub index_sha256: String,
    /// DICOM root the headers were read from.
    pub dicom_root: PathBuf,
    /// Fingerprint of the patient-key secret.
    pub secret_fingerprint: String,
    /// Ears written.
    pub ears: usize,
    /// Ears with a label.
    pub labelled_ears: usize,
    /// Distinct patients.
    pub patients: usize,
    /// Patients with more than one exam.
    pub patients_with_several_exams: usize,
    /// Keys per source (patient_id, patient_name, study_uid).
    pub key_sources: Vec<(String, usize)>,
    /// The tasks with columns in the manifest.
    pub tasks: TaskRegistry,
}

/// Reads the index at `index` (`exams.parquet`, with `exams.json` beside it), reads
/// one header per exam for the patient key, and returns the ears (two per exam, by
/// exam id then left, right) with the full manifest table.
///
/// # Errors
/// A missing or malformed index, a header that cannot be read (naming the file).
pub fn build_manifest(
    index: &Path,
    dicom_root: Option<&Path>,
    secret: &PatientKeySecret,
    tasks: &TaskRegistry,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<(Vec<Ear>, Table, ManifestReport)> {
    let report_path = index.with_extension("json");
    let report: IndexReport = serde_json::from_slice(
        &std::fs::read(&report_path).map_err(|e| Error::io(&report_path, e))?,
    )
    .map_err(|e| Error::table(&report_path, format!("not an index report: {e}")))?;
    let root = dicom_root.map_or_else(|| report.dicom_root.clone(), Path::to_path_buf);
    let t = Table::read_parquet(index)?;
    let exam_ids = t.ints(index, "exam_id")?;
    let first_files = t.texts(index, "first_file")?;
    let exam_dirs = t.texts(index, "exam_dir")?;
    let series_dirs = t.texts(index, "series_dir")?;
    let label_dates = t.texts(index, "label_date")?;
    let folder_dates = t.texts(index, "folder_date")?;
    let left = t.ints(index, "left_code")?;
    let right = t.ints(index, "right_code")?;

    let keys: Vec<(String, KeySource)> = first_files
        .par_iter()
        .map(|f| -> Result<(String, KeySource)> {
            let path = root.join(f.as_deref().unwrap_or_default());
            let h = medfen_dicom::read_header(&path)?;
            progress(1);
            secret
                .patient_key(
                    h.patient.id.as_deref(),
                    h.patient.name.as_deref(),
                    &h.study_uid,
                )
                .ok_or_else(|| {
                    Error::table(
                        &path,
                        "no PatientID, PatientName or StudyInstanceUID to key the patient",
                    )
                })
        })
        .collect::<Result<_>>()?;

    let code = |v: Option<i64>| {
        v.and_then(|c| u8::try_from(c).ok())
            .filter(|c| (1..=6).contains(c))
    };
    let mut ears = Vec::with_capacity(2 * exam_ids.len());
    let mut rows: Vec<usize> = Vec::with_capacity(2 * exam_ids.len());
    for (i, id) in exam_ids.iter().enumerate() {
        let exam_id = id
            .and_then(|v| u64::try_from(v).ok())
            .ok_or_else(|| Error::table(index, format!("row {}: no exam id", i + 1)))?;
        for (side, c) in [(Side::Left, left[i]), (Side::Right, right[i])] {
            ears.push(Ear {
                exam_id,
                side,
                code: code(c),
                patient_key: keys[i].0.clone(),
                key_source: keys[i].1,
                date: label_dates[i].clone().or_else(|| folder_dates[i].clone()),
                exam_dir: exam_dirs[i].clone().unwrap_or_default(),
                series_dir: series_dirs[i].clone().unwrap_or_default(),
            });
            rows.push(i);
        }
    }

    let mut out = Table::new();
    #[allow(clippy::cast_possible_wrap)]
    out.int("exam_id", ears.iter().map(|e| Some(e.exam_id as i64)));
    out.text("side", ears.iter().map(|e| Some(e.side.name().to_string())));
    out.int("code", ears.iter().map(|e| e.code.map(i64::from)));
    out.int(
        "class_id",
        ears.iter().map(|e| e.code.map(|c| i64::from(c) - 1)),
    );
    out.boolean("has_label", ears.iter().map(|e| Some(e.code.is_some())));
    for task in tasks.binary() {
        out.boolean(
            &format!("task_valid__{}", task.name),
            ears.iter().map(|e| Some(task.target(e.code).is_some())),
        );
        out.float(
            &format!("task_y__{}", task.name),
            ears.iter().map(|e| task.target(e.code).map(f64::from)),
        );
    }
    out.text(
        "patient_key",
        ears.iter().map(|e| Some(e.patient_key.clone())),
    );
    out.text(
        "key_source",
        ears.iter().map(|e| Some(e.key_source.name().to_string())),
    );
    out.text("date", ears.iter().map(|e| e.date.clone()));
    out.text("exam_dir", ears.iter().map(|e| Some(e.exam_dir.clone())));
    out.text(
        "series_dir",
        ears.iter().map(|e| Some(e.series_dir.clone())),
    );
    // Header metadata, copied from the index row of the exam.
    for name in [
        "manufacturer",
        "model",
        "kernel",
        "orientation",
        "transfer_syntax",
    ] {
        let v = t.texts(index, name)?;
        out.text(name, rows.iter().map(|&i| v[i].clone()));
    }
    for name in [
        "spacing_x",
        "spacing_y",
        "spacing_z",
        "thickness",
        "obliquity_deg",
    ] {
        let v = t.floats(index, name)?;
        out.float(name, rows.iter().map(|&i| v[i]));
    }
    for name in ["n_slices", "rows", "cols", "qa_findings"] {
        let v = t.ints(index, name)?;
        out.int(name, rows.iter().map(|&i| v[i]));
    }
    let dm = t.bools(index, "date_match")?;
    out.boolean("date_match", rows.iter().map(|&i| dm[i]));

    let mut patients: std::collections::BTreeMap<&str, std::collections::BTreeSet<u64>> =
        std::collections::BTreeMap::new();
    for e in &ears {
        patients
            .entry(&e.patient_key)
            .or_default()
            .insert(e.exam_id);
    }
    let mut key_sources: Vec<(String, usize)> = Vec::new();
    for s in [
        KeySource::PatientId,
        KeySource::PatientName,
        KeySource::StudyUid,
    ] {
        let n = keys.iter().filter(|(_, k)| *k == s).count();
        key_sources.push((s.name().to_string(), n));
    }
    let report = ManifestReport {
        index: index.to_path_buf(),
        index_sha256: file_sha256(index)?,
        dicom_root: root,
        secret_fingerprint: secret.fingerprint(),
        ears: ears.len(),
        labelled_ears: ears.iter().filter(|e| e.code.is_some()).count(),
        patients: patients.len(),
        patients_with_several_exams: patients.values().filter(|s| s.len() > 1).count(),
        key_sources,
        tasks: tasks.clone(),
    };
    Ok((ears, out, report))
}

/// Writes `ears.parquet`, `ears.csv` and `ears.json` for `out` (`.../ears.parquet`).
///
/// # Errors
/// I/O errors naming the file.
pub fn write_manifest(out: &Path, table: &Table, report: &ManifestReport) -> Result<()> {
    table.write_parquet(out)?;
    table.write_csv(&out.with_extension("csv"))?;
    write_json(&out.with_extension("json"), report)
}

/// Reads the ears of a manifest (`ears.parquet`).
///
/// # Errors
/// A missing file or column, naming it.
pub fn read_manifest(path: &Path) -> Result<Vec<Ear>> {
    let t = Table::read_parquet(path)?;
    let ids = t.ints(path, "exam_id")?;
    let sides = t.texts(path, "side")?;
    let codes = t.ints(path, "code")?;
    let keys = t.texts(path, "patient_key")?;
    let sources = t.texts(path, "key_source")?;
    let dates = t.texts(path, "date")?;
    let exam_dirs = t.texts(path, "exam_dir")?;
    let series_dirs = t.texts(path, "series_dir")?;
    (0..t.rows())
        .map(|i| {
            let bad = |what: &str| Error::table(path, format!("row {}: {what}", i + 1));
            Ok(Ear {
                exam_id: ids[i]
                    .and_then(|v| u64::try_from(v).ok())
                    .ok_or_else(|| bad("no exam id"))?,
                side: sides[i]
                    .as_deref()
                    .and_then(Side::parse)
                    .ok_or_else(|| bad("side is not left/right"))?,
                code: codes[i].and_then(|c| u8::try_from(c).ok()),
                patient_key: keys[i]
                    .clone()
                    .filter(|k| !k.is_empty())
                    .ok_or_else(|| bad("no patient key"))?,
                key_source: match sources[i].as_deref() {
                    Some("patient_name") => KeySource::PatientName,
                    Some("study_uid") => KeySource::StudyUid,
                    _ => KeySource::PatientId,
                },
                date: dates[i].clone(),
                exam_dir: exam_dirs[i].clone().unwrap_or_default(),
                series_dir: series_dirs[i].clone().unwrap_or_default(),
            })
        })
        .collect()
}

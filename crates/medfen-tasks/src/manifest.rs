//! The ear manifest: one row per ear (patient side) with its code, class id, task
//! columns, keyed patient hash and header metadata. No identifier of a person is
//! written: the patient key is an HMAC, and neither UIDs nor names are copied.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use medfen_io::{FileFormat, Table};

use crate::error::{Error, Result};
use crate::index::{ExamRecord, read_exam_index};
use crate::patient_key::{KeySource, PatientKeySecret};
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

/// What the manifest was made from (`ears.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ManifestReport {
    /// [`ManifestReport::FORMAT`]'s tag.
    pub format: String,
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

impl ManifestReport {
    /// The format of `ears.json` (and so of the manifest beside it).
    pub const FORMAT: FileFormat = FileFormat {
        name: "medfen-ear-manifest",
        version: 1,
        written_by: "medfen manifest",
    };
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
    let index_file = read_exam_index(index)?;
    let root = dicom_root.map_or_else(|| index_file.dicom_root().to_path_buf(), Path::to_path_buf);
    let exams = &index_file.exams;
    let keys = patient_keys(exams, &root, secret, progress)?;
    let ears: Vec<Ear> = exams
        .iter()
        .zip(&keys)
        .flat_map(|(exam, key)| ears_of(exam, key))
        .collect();
    let table = manifest_table(&ears, exams, tasks);
    let report = ManifestReport {
        format: ManifestReport::FORMAT.tag(),
        index: index.to_path_buf(),
        index_sha256: medfen_io::file_sha256(index)?,
        dicom_root: root,
        secret_fingerprint: secret.fingerprint(),
        ears: ears.len(),
        labelled_ears: ears.iter().filter(|e| e.code.is_some()).count(),
        patients: 0,
        patients_with_several_exams: 0,
        key_sources: key_source_counts(&keys),
        tasks: tasks.clone(),
    };
    let report = with_patient_counts(report, &ears);
    Ok((ears, table, report))
}

/// The keyed patient hash of every exam, from the header of its first file.
fn patient_keys(
    exams: &[ExamRecord],
    root: &Path,
    secret: &PatientKeySecret,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<Vec<(String, KeySource)>> {
    exams
        .par_iter()
        .map(|exam| -> Result<(String, KeySource)> {
            let path = root.join(&exam.first_file);
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
        .collect()
}

/// The two ears of `exam`, left then right.
fn ears_of(exam: &ExamRecord, key: &(String, KeySource)) -> [Ear; 2] {
    [(Side::Left, exam.left_code), (Side::Right, exam.right_code)].map(|(side, code)| Ear {
        exam_id: exam.exam_id,
        side,
        code,
        patient_key: key.0.clone(),
        key_source: key.1,
        date: exam.label_date.clone().or_else(|| exam.folder_date.clone()),
        exam_dir: exam.exam_dir.clone(),
        series_dir: exam.series_dir.clone(),
    })
}

/// The manifest table: the ears' columns, a task column pair per binary task, and
/// header metadata copied from each ear's exam.
fn manifest_table(ears: &[Ear], exams: &[ExamRecord], tasks: &TaskRegistry) -> Table {
    let mut out = Table::new();
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
    header_columns(&mut out, exams);
    out
}

/// A column of the manifest taken from an exam's index record.
type FromExam<T> = (&'static str, fn(&ExamRecord) -> T);

/// Header metadata of each exam, repeated for its two ears.
fn header_columns(out: &mut Table, exams: &[ExamRecord]) {
    let per_ear = || exams.iter().flat_map(|e| [e, e]);
    let texts: [FromExam<Option<String>>; 5] = [
        ("manufacturer", |e| e.manufacturer.clone()),
        ("model", |e| e.model.clone()),
        ("kernel", |e| e.kernel.clone()),
        ("orientation", |e| e.orientation.clone()),
        ("transfer_syntax", |e| Some(e.transfer_syntax.clone())),
    ];
    for (name, get) in texts {
        out.text(name, per_ear().map(get));
    }
    let floats: [FromExam<Option<f64>>; 5] = [
        ("spacing_x", |e| Some(e.spacing_x)),
        ("spacing_y", |e| Some(e.spacing_y)),
        ("spacing_z", |e| Some(e.spacing_z)),
        ("thickness", |e| e.thickness),
        ("obliquity_deg", |e| e.obliquity_deg),
    ];
    for (name, get) in floats {
        out.float(name, per_ear().map(get));
    }
    let count = |v: usize| Some(i64::try_from(v).unwrap_or(i64::MAX));
    let ints: [FromExam<usize>; 4] = [
        ("n_slices", |e| e.n_slices),
        ("rows", |e| e.rows),
        ("cols", |e| e.cols),
        ("qa_findings", |e| e.qa_findings),
    ];
    for (name, get) in ints {
        out.int(name, per_ear().map(|e| count(get(e))));
    }
    out.boolean("date_match", per_ear().map(|e| e.date_match));
}

fn key_source_counts(keys: &[(String, KeySource)]) -> Vec<(String, usize)> {
    [
        KeySource::PatientId,
        KeySource::PatientName,
        KeySource::StudyUid,
    ]
    .into_iter()
    .map(|s| {
        let n = keys.iter().filter(|(_, k)| *k == s).count();
        (s.name().to_string(), n)
    })
    .collect()
}

fn with_patient_counts(mut report: ManifestReport, ears: &[Ear]) -> ManifestReport {
    let mut patients: BTreeMap<&str, BTreeSet<u64>> = BTreeMap::new();
    for e in ears {
        patients
            .entry(&e.patient_key)
            .or_default()
            .insert(e.exam_id);
    }
    report.patients = patients.len();
    report.patients_with_several_exams = patients.values().filter(|s| s.len() > 1).count();
    report
}

/// Writes `ears.parquet`, `ears.csv` and `ears.json` for `out` (`.../ears.parquet`).
///
/// # Errors
/// I/O errors naming the file.
pub fn write_manifest(out: &Path, table: &Table, report: &ManifestReport) -> Result<()> {
    table.write_parquet_and_csv(out)?;
    Ok(medfen_io::write_json(&out.with_extension("json"), report)?)
}

/// Reads the report of a manifest (`ears.json` beside `ears.parquet`).
///
/// # Errors
/// A missing file or one of another format version, naming it.
pub fn read_manifest_report(path: &Path) -> Result<ManifestReport> {
    Ok(ManifestReport::FORMAT.read(&path.with_extension("json"))?)
}

/// Reads the ears of a manifest (`ears.parquet`, its `ears.json` checked for the
/// format version).
///
/// # Errors
/// A missing file or column, a report of another format version, naming it.
pub fn read_manifest(path: &Path) -> Result<Vec<Ear>> {
    read_manifest_report(path)?;
    let t = Table::read(path)?;
    let ids = t.ints("exam_id")?;
    let sides = t.texts("side")?;
    let codes = t.ints("code")?;
    let keys = t.texts("patient_key")?;
    let sources = t.texts("key_source")?;
    let dates = t.texts("date")?;
    let exam_dirs = t.texts("exam_dir")?;
    let series_dirs = t.texts("series_dir")?;
    (0..t.rows())
        .map(|i| {
            let bad = |what: &str| Error::table(path, format!("{}: {what}", t.row_name(i)));
            Ok(Ear {
                exam_id: ids[i]
                    .and_then(|v| u64::try_from(v).ok())
                    .ok_or_else(|| bad("no exam id"))?,
                side: sides[i]
                    .as_deref()
                    .and_then(Side::parse)
                    .ok_or_else(|| bad("side is not left/right"))?,
                code: codes[i].and_then(crate::codes::checked_code),
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

/// The exams of the manifest at `path` whose column `column` reads `value` (a site, a
/// scanner, ...): how `medfen split --external-test COLUMN=VALUE` picks its exams.
///
/// # Errors
/// As [`read_manifest`]; a column the manifest lacks (listing those it has).
pub fn exams_where(path: &Path, column: &str, value: &str) -> Result<BTreeSet<u64>> {
    read_manifest_report(path)?;
    let t = Table::read(path)?;
    let values = t.texts(column)?;
    let ids = t.ints("exam_id")?;
    Ok(values
        .iter()
        .zip(&ids)
        .filter(|(v, _)| v.as_deref() == Some(value))
        .filter_map(|(_, id)| id.and_then(|i| u64::try_from(i).ok()))
        .collect())
}

//! The whole preparation in one call: label table + DICOM tree → exam index → ear
//! manifest → patient-level split, written under one work folder with the file names
//! the commands use (`exams.parquet`, `ears.parquet`, `splits/`).

use std::path::{Path, PathBuf};

use crate::error::Result;
use crate::index::{IndexOptions, build_index};
use crate::labels::{LabelOptions, read_labels};
use crate::manifest::{build_manifest, write_manifest};
use crate::patient_key::PatientKeySecret;
use crate::split::{SplitOptions, SplitReport, make_split};
use crate::tasks::TaskRegistry;

/// What [`prepare`] wrote.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// `<work>/exams.parquet` (+ `.csv`, `.json`).
    pub exams: PathBuf,
    /// `<work>/ears.parquet` (+ `.csv`, `.json`).
    pub manifest: PathBuf,
    /// `<work>/splits/` (`<pct>pct/{train,val,test}`, `split.json`).
    pub splits: PathBuf,
    /// The split's report (counts, strata, audit).
    pub split: SplitReport,
}

/// `medfen index`, `medfen manifest` and `medfen split` with default label, index and
/// task options: reads `labels` (xlsx/CSV) and the DICOM tree under `dicom_root`, keys
/// patients with `secret`, and splits by `split`.
///
/// # Errors
/// Whatever the three steps report, naming the file.
///
/// ```no_run
/// use medfen_tasks::{PatientKeySecret, SplitOptions, prepare};
/// use std::path::Path;
/// let secret = PatientKeySecret::from_bytes(b"a secret of at least 32 bytes....");
/// let out = prepare(
///     Path::new("data/labels.xlsx"),
///     Path::new("data/dicom"),
///     Path::new("work"),
///     &secret,
///     &SplitOptions::default(),
/// )?;
/// println!("splits in {}", out.splits.display());
/// # Ok::<(), medfen_tasks::Error>(())
/// ```
pub fn prepare(
    labels: &Path,
    dicom_root: &Path,
    work: &Path,
    secret: &PatientKeySecret,
    split: &SplitOptions,
) -> Result<Prepared> {
    let table = read_labels(labels, &LabelOptions::default())?;
    let index = build_index(&table, dicom_root, &IndexOptions::default(), &|_| {})?;
    let exams = work.join("exams.parquet");
    index.write(&exams, &table)?;
    let (ears, manifest_table, report) =
        build_manifest(&exams, None, secret, &TaskRegistry::builtin(), &|_| {})?;
    let manifest = work.join("ears.parquet");
    write_manifest(&manifest, &manifest_table, &report)?;
    let splits = work.join("splits");
    let split = make_split(&ears, split)?.write(&splits, &manifest)?;
    Ok(Prepared {
        exams,
        manifest,
        splits,
        split,
    })
}

//! The exam index: the DICOM tree's exams matched to label rows, each with the series
//! medfen-dicom chose (and why), its geometry and QA findings.
//!
//! Exams are found by a folder layout (default `{date}/{exam}` below the root: the
//! hospital's `<YYYY-MM-DD>/<exam_id>/<series>/*.dcm`) or by the AccessionNumber of the
//! files. Nothing is dropped silently: label rows without DICOM, exams without labels,
//! exams whose series cannot be chosen or assembled, unreadable and non-DICOM files are
//! all listed in the [`ExamIndex`].

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use medfen_dicom::{
    AssemblyOptions, DicomHeader, ScanOptions, SelectionPolicy, choose_series, group_series,
    plan_volume, summarize,
};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::labels::LabelTable;
use medfen_io::{FileFormat, Table};

/// One part of the exam folder layout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum LayoutPart {
    /// A `YYYY-MM-DD` folder: the exam date on disk.
    Date,
    /// The folder named by the exam id (digits).
    Exam,
    /// Any folder.
    Any,
    /// A folder with exactly this name.
    Literal(String),
}

/// Where exams are in the DICOM tree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ExamMatch {
    /// Folders below the root, e.g. `{date}/{exam}`; must contain `{exam}` once.
    Layout(Vec<LayoutPart>),
    /// The AccessionNumber of each file (the exam folder is where the files are).
    Accession,
}

impl ExamMatch {
    /// Parses a layout such as `{date}/{exam}`, `{exam}`, `*/{exam}` or `CT/{exam}`.
    ///
    /// # Errors
    /// A message when `{exam}` is missing or repeated.
    pub fn layout(pattern: &str) -> std::result::Result<Self, String> {
        let parts: Vec<LayoutPart> = pattern
            .split('/')
            .filter(|p| !p.is_empty())
            .map(|p| match p {
                "{date}" => LayoutPart::Date,
                "{exam}" => LayoutPart::Exam,
                "*" => LayoutPart::Any,
                other => LayoutPart::Literal(other.to_string()),
            })
            .collect();
        if parts.iter().filter(|p| **p == LayoutPart::Exam).count() != 1 {
            return Err(format!(
                "layout `{pattern}` must contain {{exam}} exactly once"
            ));
        }
        Ok(Self::Layout(parts))
    }
}

impl Default for ExamMatch {
    fn default() -> Self {
        Self::Layout(vec![LayoutPart::Date, LayoutPart::Exam])
    }
}

/// Options of [`build_index`].
#[derive(Debug, Clone, Default)]
pub struct IndexOptions {
    /// How exams are found.
    pub matching: ExamMatch,
    /// Series choice.
    pub policy: SelectionPolicy,
    /// Geometry QA tolerances.
    pub assembly: AssemblyOptions,
    /// Header scan options.
    pub scan: ScanOptions,
}

/// One indexed exam.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExamRecord {
    /// Exam id.
    pub exam_id: u64,
    /// Date in the label table.
    pub label_date: Option<String>,
    /// Date folder on disk (layouts with `{date}`).
    pub folder_date: Option<String>,
    /// Whether the two dates agree (when both exist).
    pub date_match: Option<bool>,
    /// Other folders held the same exam id; this one was chosen (most slices, then the
    /// finest spacing, then path order) and the others are in `other_dirs`.
    pub ambiguous_match: bool,
    /// The other folders of the same exam id, relative to the root.
    pub other_dirs: Vec<String>,
    /// Exam folder, relative to the root.
    pub exam_dir: String,
    /// Folder of the chosen series' files, relative to the root.
    pub series_dir: String,
    /// First file of the chosen series in slice order, relative to the root.
    pub first_file: String,
    /// Series instance UID (the index is an intermediate file; the manifest drops it).
    pub series_uid: String,
    /// Series number.
    pub series_number: Option<i64>,
    /// Series description.
    pub series_description: Option<String>,
    /// Series in the exam folder.
    pub n_series: usize,
    /// Files of the chosen series.
    pub n_files: usize,
    /// Slices of the assembled volume.
    pub n_slices: usize,
    /// Rows per slice.
    pub rows: usize,
    /// Columns per slice.
    pub cols: usize,
    /// Column spacing, mm (measured from the geometry).
    pub spacing_x: f64,
    /// Row spacing, mm.
    pub spacing_y: f64,
    /// Slice spacing, mm (median IPP step).
    pub spacing_z: f64,
    /// Nominal slice thickness.
    pub thickness: Option<f64>,
    /// `axial`, `coronal` or `sagittal`, with obliquity in degrees.
    pub orientation: Option<String>,
    /// Obliquity of the slice normal from its plane's axis, degrees.
    pub obliquity_deg: Option<f64>,
    /// Reconstruction kernel.
    pub kernel: Option<String>,
    /// Manufacturer.
    pub manufacturer: Option<String>,
    /// Model.
    pub model: Option<String>,
    /// Transfer syntaxes of the series.
    pub transfer_syntax: String,
    /// Why this series was chosen.
    pub choice_reason: String,
    /// The other series and why each lost (JSON list).
    pub alternatives: String,
    /// Number of geometry QA findings.
    pub qa_findings: usize,
    /// The findings, `kind: message` joined by ` | `.
    pub qa_summary: String,
    /// Unreadable files in the exam folder.
    pub unreadable_files: usize,
    /// Left-ear code.
    pub left_code: Option<u8>,
    /// Right-ear code.
    pub right_code: Option<u8>,
    /// Label table rows of the exam, comma-separated.
    pub label_rows: String,
}

/// A label row whose exam has no DICOM.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnmatchedLabel {
    /// Exam id.
    pub exam_id: u64,
    /// Its rows in the label table.
    pub rows: Vec<usize>,
}

/// An exam folder with no label row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnlabelledExam {
    /// Exam id.
    pub exam_id: u64,
    /// Folder, relative to the root.
    pub dir: String,
}

/// An exam that could not be indexed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailedExam {
    /// Exam id.
    pub exam_id: u64,
    /// Folder, relative to the root.
    pub dir: String,
    /// Why (series choice tie, mixed geometry, no image).
    pub reason: String,
}

/// A file that could not be used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkippedFile {
    /// Path relative to the root.
    pub path: String,
    /// Why.
    pub reason: String,
}

/// Everything in the tree or the label table that did not become an indexed exam.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotIndexed {
    /// Label rows without DICOM.
    pub unmatched_labels: Vec<UnmatchedLabel>,
    /// DICOM exams without labels.
    pub unlabelled_exams: Vec<UnlabelledExam>,
    /// DICOM exams whose label rows were quarantined (`skip_invalid`).
    pub quarantined_exams: Vec<UnlabelledExam>,
    /// Exams that could not be indexed.
    pub failed_exams: Vec<FailedExam>,
    /// Unreadable DICOM files.
    pub unreadable_files: Vec<SkippedFile>,
    /// Files without the DICOM marker.
    pub non_dicom_files: Vec<String>,
    /// DICOM files outside the exam layout.
    pub outside_layout: Vec<String>,
    /// Files looked at.
    pub files_seen: usize,
}

/// The index of a DICOM tree against a label table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExamIndex {
    /// The DICOM root.
    pub root: PathBuf,
    /// Indexed, labelled exams by exam id.
    pub exams: Vec<ExamRecord>,
    /// What was not indexed.
    #[serde(flatten)]
    pub not_indexed: NotIndexed,
}

fn rel(root: &Path, p: &Path) -> String {
    p.strip_prefix(root)
        .unwrap_or(p)
        .components()
        .filter_map(|c| match c {
            Component::Normal(s) => Some(s.to_string_lossy().into_owned()),
            _ => None,
        })
        .collect::<Vec<_>>()
        .join("/")
}

fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
}

/// The exam a file belongs to: (exam id, exam folder relative to root, folder date).
fn locate(
    matching: &ExamMatch,
    root: &Path,
    h: &DicomHeader,
) -> Option<(u64, String, Option<String>)> {
    match matching {
        ExamMatch::Accession => {
            let id: u64 = h.accession_number.as_deref()?.trim().parse().ok()?;
            let dir = rel(root, h.path.parent()?.parent().unwrap_or(root));
            Some((id, dir, None))
        }
        ExamMatch::Layout(parts) => {
            let rel_path = rel(root, &h.path);
            let comps: Vec<&str> = rel_path.split('/').collect();
            // the layout's folders, then at least the file itself
            if comps.len() <= parts.len() {
                return None;
            }
            let (mut id, mut date) = (None, None);
            for (part, comp) in parts.iter().zip(&comps) {
                match part {
                    LayoutPart::Date => {
                        if !is_date(comp) {
                            return None;
                        }
                        date = Some((*comp).to_string());
                    }
                    LayoutPart::Exam => {
                        if comp.is_empty() || !comp.bytes().all(|b| b.is_ascii_digit()) {
                            return None;
                        }
                        id = comp.parse().ok();
                    }
                    LayoutPart::Any => {}
                    LayoutPart::Literal(l) => {
                        if comp != l {
                            return None;
                        }
                    }
                }
            }
            Some((id?, comps[..parts.len()].join("/"), date))
        }
    }
}

/// What one exam folder gave.
struct Candidate {
    dir: String,
    result: std::result::Result<ExamRecord, String>,
}

fn index_exam(
    root: &Path,
    dir: &str,
    folder_date: Option<String>,
    headers: &[DicomHeader],
    unreadable: usize,
    options: &IndexOptions,
) -> std::result::Result<ExamRecord, String> {
    let series = group_series(headers);
    if series.is_empty() {
        return Err("no image series".into());
    }
    let summaries: Vec<_> = series.iter().map(|s| summarize(s, headers)).collect();
    let choice = choose_series(dir, &summaries, &options.policy).map_err(|e| e.to_string())?;
    let chosen = &series[choice.index];
    let summary = &summaries[choice.index];
    let plan = plan_volume(chosen, headers, &options.assembly).map_err(|e| e.to_string())?;
    let norm = |v: [f64; 3]| (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]).sqrt();
    let first_file = plan.files.first().cloned().unwrap_or_default();
    let series_dir = first_file
        .parent()
        .map(|p| rel(root, p))
        .unwrap_or_default();
    let qa_summary = plan
        .qa
        .iter()
        .map(|f| format!("{:?}: {}", f.kind, f.message))
        .collect::<Vec<_>>()
        .join(" | ");
    Ok(ExamRecord {
        exam_id: 0,
        label_date: None,
        folder_date,
        date_match: None,
        ambiguous_match: false,
        other_dirs: Vec::new(),
        exam_dir: dir.to_string(),
        series_dir,
        first_file: rel(root, &first_file),
        series_uid: summary.series_uid.clone(),
        series_number: summary.series_number,
        series_description: summary.description.clone(),
        n_series: series.len(),
        n_files: summary.n_files,
        n_slices: plan.slices.len(),
        rows: plan.rows,
        cols: plan.cols,
        spacing_x: norm(plan.column_step),
        spacing_y: norm(plan.row_step),
        spacing_z: plan.slice_spacing,
        thickness: summary.slice_thickness,
        orientation: summary
            .orientation
            .map(|o| format!("{:?}", o.plane).to_lowercase()),
        obliquity_deg: summary.orientation.map(|o| o.obliquity_deg),
        kernel: summary.kernel.clone(),
        manufacturer: summary.manufacturer.clone(),
        model: summary.model.clone(),
        transfer_syntax: summary.transfer_syntaxes.join(" "),
        choice_reason: choice.reason.clone(),
        alternatives: serde_json::to_string(&choice.alternatives).unwrap_or_default(),
        qa_findings: plan.qa.len(),
        qa_summary,
        unreadable_files: unreadable,
        left_code: None,
        right_code: None,
        label_rows: String::new(),
    })
}

/// The headers of each exam folder (by exam id and folder) with the folder's date, and
/// the files outside the layout.
type Folders = BTreeMap<(u64, String), (Option<String>, Vec<DicomHeader>)>;

fn group_by_folder(
    headers: Vec<DicomHeader>,
    matching: &ExamMatch,
    root: &Path,
) -> (Folders, Vec<String>) {
    let mut folders: Folders = BTreeMap::new();
    let mut outside_layout = Vec::new();
    for h in headers {
        match locate(matching, root, &h) {
            Some((id, dir, date)) => folders
                .entry((id, dir))
                .or_insert_with(|| (date, Vec::new()))
                .1
                .push(h),
            None => outside_layout.push(rel(root, &h.path)),
        }
    }
    (folders, outside_layout)
}

/// The exams of the labels (one record per exam id, the best of its folders), and the
/// folders that did not become one.
#[derive(Default)]
struct Resolved {
    exams: Vec<ExamRecord>,
    unlabelled: Vec<UnlabelledExam>,
    quarantined: Vec<UnlabelledExam>,
    failed: Vec<FailedExam>,
}

impl Resolved {
    /// Matches the candidates of every exam id to its labels.
    fn of(labels: &LabelTable, by_id: BTreeMap<u64, Vec<Candidate>>) -> Self {
        let quarantined: std::collections::BTreeSet<u64> = labels
            .quarantine
            .iter()
            .filter_map(|q| q.problem.exam_id)
            .collect();
        let mut r = Self::default();
        for (id, cands) in by_id {
            let Some(label) = labels.get(id) else {
                let list = if quarantined.contains(&id) {
                    &mut r.quarantined
                } else {
                    &mut r.unlabelled
                };
                list.extend(cands.into_iter().map(|c| UnlabelledExam {
                    exam_id: id,
                    dir: c.dir,
                }));
                continue;
            };
            if let Some(exam) = r.best_folder(id, cands) {
                r.exams.push(labelled(exam, label));
            }
        }
        r
    }

    /// The folder of exam `id` with the most slices, then the finest spacing, then
    /// path order; folders that failed are listed.
    fn best_folder(&mut self, id: u64, cands: Vec<Candidate>) -> Option<ExamRecord> {
        let dirs: Vec<String> = cands.iter().map(|c| c.dir.clone()).collect();
        let mut ok: Vec<ExamRecord> = Vec::new();
        for c in cands {
            match c.result {
                Ok(r) => ok.push(r),
                Err(reason) => self.failed.push(FailedExam {
                    exam_id: id,
                    dir: c.dir,
                    reason,
                }),
            }
        }
        ok.sort_by(|a, b| {
            b.n_slices
                .cmp(&a.n_slices)
                .then(a.spacing_z.total_cmp(&b.spacing_z))
                .then(a.exam_dir.cmp(&b.exam_dir))
        });
        let mut r = ok.into_iter().next()?;
        r.exam_id = id;
        r.ambiguous_match = dirs.len() > 1;
        r.other_dirs = dirs.into_iter().filter(|d| *d != r.exam_dir).collect();
        Some(r)
    }
}

/// The record with its label row's date and codes.
fn labelled(mut r: ExamRecord, label: &crate::labels::ExamLabels) -> ExamRecord {
    r.label_date.clone_from(&label.date);
    r.date_match = match (&r.label_date, &r.folder_date) {
        (Some(a), Some(b)) => Some(a == b),
        _ => None,
    };
    r.left_code = label.left;
    r.right_code = label.right;
    r.label_rows = label
        .rows
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(",");
    r
}

/// Indexes the DICOM tree under `root` against `labels`.
///
/// # Errors
/// The root cannot be walked. Problems with single files and exams are listed in the
/// result, not raised.
pub fn build_index(
    labels: &LabelTable,
    root: &Path,
    options: &IndexOptions,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<ExamIndex> {
    let mut scan = medfen_dicom::scan(root, &options.scan, progress)?;
    let files_seen = scan.files_seen();
    let (folders, mut outside_layout) =
        group_by_folder(std::mem::take(&mut scan.headers), &options.matching, root);
    let unreadable_in = |dir: &str| {
        scan.unreadable
            .iter()
            .filter(|u| rel(root, &u.path).starts_with(&format!("{dir}/")))
            .count()
    };
    let candidates: Vec<(u64, Candidate)> = folders
        .into_par_iter()
        .map(|((id, dir), (date, mut headers))| {
            headers.sort_by(|a, b| a.path.cmp(&b.path));
            let result = index_exam(root, &dir, date, &headers, unreadable_in(&dir), options);
            (id, Candidate { dir, result })
        })
        .collect();
    let mut by_id: BTreeMap<u64, Vec<Candidate>> = BTreeMap::new();
    for (id, c) in candidates {
        by_id.entry(id).or_default().push(c);
    }
    let resolved = Resolved::of(labels, by_id);
    let indexed: std::collections::BTreeSet<u64> = resolved
        .exams
        .iter()
        .map(|e| e.exam_id)
        .chain(resolved.failed.iter().map(|f| f.exam_id))
        .collect();
    let unmatched_labels = labels
        .exams
        .iter()
        .filter(|l| !indexed.contains(&l.exam_id))
        .map(|l| UnmatchedLabel {
            exam_id: l.exam_id,
            rows: l.rows.clone(),
        })
        .collect();
    let mut unreadable_files: Vec<SkippedFile> = scan
        .unreadable
        .iter()
        .map(|u| SkippedFile {
            path: rel(root, &u.path),
            reason: u.reason.clone(),
        })
        .collect();
    unreadable_files.sort_by(|a, b| a.path.cmp(&b.path));
    let mut non_dicom_files: Vec<String> = scan.non_dicom.iter().map(|p| rel(root, p)).collect();
    non_dicom_files.sort();
    outside_layout.sort();
    Ok(ExamIndex {
        root: root.to_path_buf(),
        exams: resolved.exams,
        not_indexed: NotIndexed {
            unmatched_labels,
            unlabelled_exams: resolved.unlabelled,
            quarantined_exams: resolved.quarantined,
            failed_exams: resolved.failed,
            unreadable_files,
            non_dicom_files,
            outside_layout,
            files_seen,
        },
    })
}

/// The sidecar `exams.json` next to `exams.parquet`: where the tree is, what was read,
/// and everything that was not indexed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IndexReport {
    /// [`IndexReport::FORMAT`]'s tag.
    pub format: String,
    /// DICOM root (absolute).
    pub dicom_root: PathBuf,
    /// The label table and its SHA-256.
    pub labels: PathBuf,
    /// SHA-256 of the label table.
    pub labels_sha256: String,
    /// What reading the labels did.
    pub label_summary: crate::labels::LabelSummary,
    /// Label rows set aside (`--skip-invalid`).
    pub quarantine: Vec<crate::labels::Quarantined>,
    /// Indexed exams.
    pub exams: usize,
    /// What was not indexed.
    #[serde(flatten)]
    pub not_indexed: NotIndexed,
}

impl IndexReport {
    /// The format of `exams.json` (and so of the index beside it).
    pub const FORMAT: FileFormat = FileFormat {
        name: "medfen-exam-index",
        version: 1,
        written_by: "medfen index",
    };
}

impl ExamIndex {
    /// The index as a table (one row per exam, by exam id).
    pub fn table(&self) -> Table {
        let e = &self.exams;
        let mut t = Table::new();
        t.int("exam_id", e.iter().map(|r| Some(r.exam_id as i64)));
        t.text("label_date", e.iter().map(|r| r.label_date.clone()));
        t.text("folder_date", e.iter().map(|r| r.folder_date.clone()));
        t.boolean("date_match", e.iter().map(|r| r.date_match));
        t.boolean("ambiguous_match", e.iter().map(|r| Some(r.ambiguous_match)));
        t.text("other_dirs", e.iter().map(|r| Some(r.other_dirs.join(";"))));
        t.text("exam_dir", e.iter().map(|r| Some(r.exam_dir.clone())));
        t.text("series_dir", e.iter().map(|r| Some(r.series_dir.clone())));
        t.text("first_file", e.iter().map(|r| Some(r.first_file.clone())));
        t.text("series_uid", e.iter().map(|r| Some(r.series_uid.clone())));
        t.int("series_number", e.iter().map(|r| r.series_number));
        t.text(
            "series_description",
            e.iter().map(|r| r.series_description.clone()),
        );
        let count = |v: usize| Some(i64::try_from(v).unwrap_or(i64::MAX));
        t.int("n_series", e.iter().map(|r| count(r.n_series)));
        t.int("n_files", e.iter().map(|r| count(r.n_files)));
        t.int("n_slices", e.iter().map(|r| count(r.n_slices)));
        t.int("rows", e.iter().map(|r| count(r.rows)));
        t.int("cols", e.iter().map(|r| count(r.cols)));
        t.float("spacing_x", e.iter().map(|r| Some(r.spacing_x)));
        t.float("spacing_y", e.iter().map(|r| Some(r.spacing_y)));
        t.float("spacing_z", e.iter().map(|r| Some(r.spacing_z)));
        t.float("thickness", e.iter().map(|r| r.thickness));
        t.text("orientation", e.iter().map(|r| r.orientation.clone()));
        t.float("obliquity_deg", e.iter().map(|r| r.obliquity_deg));
        t.text("kernel", e.iter().map(|r| r.kernel.clone()));
        t.text("manufacturer", e.iter().map(|r| r.manufacturer.clone()));
        t.text("model", e.iter().map(|r| r.model.clone()));
        t.text(
            "transfer_syntax",
            e.iter().map(|r| Some(r.transfer_syntax.clone())),
        );
        t.text(
            "choice_reason",
            e.iter().map(|r| Some(r.choice_reason.clone())),
        );
        t.text(
            "alternatives",
            e.iter().map(|r| Some(r.alternatives.clone())),
        );
        t.int("qa_findings", e.iter().map(|r| count(r.qa_findings)));
        t.text("qa_summary", e.iter().map(|r| Some(r.qa_summary.clone())));
        t.int(
            "unreadable_files",
            e.iter().map(|r| count(r.unreadable_files)),
        );
        t.int("left_code", e.iter().map(|r| r.left_code.map(i64::from)));
        t.int("right_code", e.iter().map(|r| r.right_code.map(i64::from)));
        t.text("label_rows", e.iter().map(|r| Some(r.label_rows.clone())));
        t
    }

    /// Writes `exams.parquet`, `exams.csv` and `exams.json` (the report) for `out`
    /// (`.../exams.parquet`), and the quarantine CSV when rows were set aside.
    ///
    /// # Errors
    /// I/O errors naming the file.
    pub fn write(&self, out: &Path, labels: &LabelTable) -> Result<IndexReport> {
        let table = self.table();
        table.write_parquet_and_csv(out)?;
        if !labels.quarantine.is_empty() {
            labels.write_quarantine(&out.with_extension("quarantine.csv"))?;
        }
        let root = std::path::absolute(&self.root).map_err(|e| Error::io(&self.root, e))?;
        let report = IndexReport {
            format: IndexReport::FORMAT.tag(),
            dicom_root: root,
            labels: labels.summary.path.clone(),
            labels_sha256: medfen_io::file_sha256(&labels.summary.path)?,
            label_summary: labels.summary.clone(),
            quarantine: labels.quarantine.clone(),
            exams: self.exams.len(),
            not_indexed: self.not_indexed.clone(),
        };
        medfen_io::write_json(&out.with_extension("json"), &report)?;
        Ok(report)
    }
}

/// An exam index as `medfen index` wrote it: `exams.json` (the report) and the exams of
/// `exams.parquet`, by exam id.
#[derive(Debug, Clone, PartialEq)]
pub struct ExamIndexFile {
    /// The `exams.parquet` read.
    pub path: PathBuf,
    /// `exams.json`.
    pub report: IndexReport,
    /// One record per indexed exam, by exam id.
    pub exams: Vec<ExamRecord>,
}

impl ExamIndexFile {
    /// The DICOM root the index's relative folders start from.
    pub fn dicom_root(&self) -> &Path {
        &self.report.dicom_root
    }
}

/// Reads the exam index at `path` (`exams.parquet`, with `exams.json` beside it).
///
/// # Errors
/// A missing file, a report of another format version, a missing column or a row
/// without an exam id, naming the file.
pub fn read_exam_index(path: &Path) -> Result<ExamIndexFile> {
    let report: IndexReport = IndexReport::FORMAT.read(&path.with_extension("json"))?;
    let t = Table::read(path)?;
    let exams = IndexColumns::read(&t)?.records(&t)?;
    Ok(ExamIndexFile {
        path: path.to_path_buf(),
        report,
        exams,
    })
}

/// The columns of `exams.parquet`, as read.
struct IndexColumns {
    texts: BTreeMap<&'static str, Vec<Option<String>>>,
    ints: BTreeMap<&'static str, Vec<Option<i64>>>,
    floats: BTreeMap<&'static str, Vec<Option<f64>>>,
    bools: BTreeMap<&'static str, Vec<Option<bool>>>,
}

const TEXT_COLUMNS: [&str; 17] = [
    "label_date",
    "folder_date",
    "other_dirs",
    "exam_dir",
    "series_dir",
    "first_file",
    "series_uid",
    "series_description",
    "orientation",
    "kernel",
    "manufacturer",
    "model",
    "transfer_syntax",
    "choice_reason",
    "alternatives",
    "qa_summary",
    "label_rows",
];
const INT_COLUMNS: [&str; 11] = [
    "exam_id",
    "series_number",
    "n_series",
    "n_files",
    "n_slices",
    "rows",
    "cols",
    "qa_findings",
    "unreadable_files",
    "left_code",
    "right_code",
];
const FLOAT_COLUMNS: [&str; 5] = [
    "spacing_x",
    "spacing_y",
    "spacing_z",
    "thickness",
    "obliquity_deg",
];
const BOOL_COLUMNS: [&str; 2] = ["date_match", "ambiguous_match"];

impl IndexColumns {
    fn read(t: &Table) -> Result<Self> {
        let mut c = Self {
            texts: BTreeMap::new(),
            ints: BTreeMap::new(),
            floats: BTreeMap::new(),
            bools: BTreeMap::new(),
        };
        for name in TEXT_COLUMNS {
            c.texts.insert(name, t.texts(name)?);
        }
        for name in INT_COLUMNS {
            c.ints.insert(name, t.ints(name)?);
        }
        for name in FLOAT_COLUMNS {
            c.floats.insert(name, t.floats(name)?);
        }
        for name in BOOL_COLUMNS {
            c.bools.insert(name, t.bools(name)?);
        }
        Ok(c)
    }

    fn text(&self, name: &str, row: usize) -> Option<String> {
        self.texts[name][row].clone()
    }

    fn count(&self, name: &str, row: usize) -> usize {
        self.ints[name][row]
            .and_then(|v| usize::try_from(v).ok())
            .unwrap_or_default()
    }

    fn code(&self, name: &str, row: usize) -> Option<u8> {
        self.ints[name][row].and_then(crate::codes::checked_code)
    }

    fn records(&self, t: &Table) -> Result<Vec<ExamRecord>> {
        (0..t.rows()).map(|i| self.record(t, i)).collect()
    }

    fn record(&self, t: &Table, i: usize) -> Result<ExamRecord> {
        let exam_id = self.ints["exam_id"][i]
            .and_then(|v| u64::try_from(v).ok())
            .ok_or_else(|| Error::table(t.path(), format!("{}: no exam id", t.row_name(i))))?;
        let text = |n: &str| self.text(n, i).unwrap_or_default();
        let float = |n: &str| self.floats[n][i];
        Ok(ExamRecord {
            exam_id,
            label_date: self.text("label_date", i),
            folder_date: self.text("folder_date", i),
            date_match: self.bools["date_match"][i],
            ambiguous_match: self.bools["ambiguous_match"][i].unwrap_or_default(),
            other_dirs: text("other_dirs")
                .split(';')
                .filter(|d| !d.is_empty())
                .map(str::to_string)
                .collect(),
            exam_dir: text("exam_dir"),
            series_dir: text("series_dir"),
            first_file: text("first_file"),
            series_uid: text("series_uid"),
            series_number: self.ints["series_number"][i],
            series_description: self.text("series_description", i),
            n_series: self.count("n_series", i),
            n_files: self.count("n_files", i),
            n_slices: self.count("n_slices", i),
            rows: self.count("rows", i),
            cols: self.count("cols", i),
            spacing_x: float("spacing_x").unwrap_or(f64::NAN),
            spacing_y: float("spacing_y").unwrap_or(f64::NAN),
            spacing_z: float("spacing_z").unwrap_or(f64::NAN),
            thickness: float("thickness"),
            orientation: self.text("orientation", i),
            obliquity_deg: float("obliquity_deg"),
            kernel: self.text("kernel", i),
            manufacturer: self.text("manufacturer", i),
            model: self.text("model", i),
            transfer_syntax: text("transfer_syntax"),
            choice_reason: text("choice_reason"),
            alternatives: text("alternatives"),
            qa_findings: self.count("qa_findings", i),
            qa_summary: text("qa_summary"),
            unreadable_files: self.count("unreadable_files", i),
            left_code: self.code("left_code", i),
            right_code: self.code("right_code", i),
            label_rows: text("label_rows"),
        })
    }
}

//! `medfen index`: the label table matched to the DICOM tree, one row per exam with the
//! chosen series and its geometry.

use std::fmt::Write as _;
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use medfen_tasks::{ExamMatch, IndexOptions, LabelColumns, LabelOptions, build_index, read_labels};

use medfen_app::Progress;

const EXAMPLES: &str = "\
Examples:
  medfen index --labels data/synth/labels.xlsx --dicom-root data/synth/dicom --out work/exams.parquet
  medfen index --labels labels.csv --dicom-root /archive --layout '{exam}' --skip-invalid --out exams.parquet
  medfen index --labels labels.xlsx --dicom-root /archive --match accession --out exams.parquet

Writes exams.parquet and exams.csv (one row per labelled exam: the chosen series, why,
its measured spacing, kernel, vendor, QA findings, and the left/right codes), and
exams.json: the DICOM root, what was read from the labels, and every label row without
DICOM, exam without labels, exam that could not be indexed, unreadable or non-DICOM
file. With --skip-invalid, invalid label rows go to exams.quarantine.csv with the
reason instead of stopping the run.";

/// Options of `medfen index`.
#[derive(clap::Args, Debug)]
#[command(after_help = EXAMPLES)]
pub struct IndexArgs {
    /// Label table: xlsx/xls/ods workbook or CSV.
    #[arg(long, value_name = "FILE")]
    pub labels: PathBuf,
    /// Root of the DICOM tree.
    #[arg(long, value_name = "DIR")]
    pub dicom_root: PathBuf,
    /// Output table (exams.parquet; .csv and .json are written beside it).
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// Workbook sheet.
    #[arg(long, default_value = "影像学检查")]
    pub sheet: String,
    /// Column of the exam id.
    #[arg(long, default_value = "检查号")]
    pub col_exam: String,
    /// Column of the exam date.
    #[arg(long, default_value = "检查时间")]
    pub col_date: String,
    /// Column of the left-ear diagnosis.
    #[arg(long, default_value = "左侧诊断-训练")]
    pub col_left: String,
    /// Column of the right-ear diagnosis.
    #[arg(long, default_value = "右侧诊断-训练")]
    pub col_right: String,
    /// Folders from the root to an exam: {date} (YYYY-MM-DD), {exam} (the exam id),
    /// * (any name) or a literal name.
    #[arg(long, default_value = "{date}/{exam}")]
    pub layout: String,
    /// How files are matched to exams: by folder (--layout) or by AccessionNumber.
    #[arg(long, value_enum, default_value_t = MatchArg::Folder)]
    pub r#match: MatchArg,
    /// Preferred reconstruction kernels, in order (comma-separated), for exams with
    /// several equally good series.
    #[arg(long, value_delimiter = ',', value_name = "KERNEL,...")]
    pub prefer_kernel: Vec<String>,
    /// Quarantine invalid label rows (exams.quarantine.csv) instead of failing.
    #[arg(long)]
    pub skip_invalid: bool,
    /// Print the summary as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `--match`.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchArg {
    /// The exam folder named by --layout.
    Folder,
    /// The files' AccessionNumber.
    Accession,
}

/// Runs `medfen index`.
///
/// # Errors
/// Invalid labels (without --skip-invalid), an unreadable tree, or a write failure.
pub fn run(args: &IndexArgs) -> Result<()> {
    let label_options = LabelOptions {
        sheet: args.sheet.clone(),
        columns: LabelColumns {
            exam_id: args.col_exam.clone(),
            date: args.col_date.clone(),
            left: args.col_left.clone(),
            right: args.col_right.clone(),
            ..LabelColumns::default()
        },
        skip_invalid: args.skip_invalid,
    };
    let labels = read_labels(&args.labels, &label_options)?;
    let matching = match args.r#match {
        MatchArg::Folder => ExamMatch::layout(&args.layout).map_err(anyhow::Error::msg)?,
        MatchArg::Accession => ExamMatch::Accession,
    };
    if !args.dicom_root.is_dir() {
        bail!("{}: not a folder", args.dicom_root.display());
    }
    let mut options = IndexOptions {
        matching,
        ..IndexOptions::default()
    };
    options
        .policy
        .prefer_kernels
        .clone_from(&args.prefer_kernel);
    let bar = Progress::spinner("reading DICOM headers");
    let index = build_index(&labels, &args.dicom_root, &options, &bar.callback())?;
    drop(bar);
    let report = index
        .write(&args.out, &labels)
        .with_context(|| format!("cannot write {}", args.out.display()))?;
    if args.json {
        return Ok(medfen_app::print_json(&report)?);
    }
    let s = &labels.summary;
    let mut t = String::new();
    let _ = writeln!(t, "medfen index: {}", args.out.display());
    let _ = writeln!(
        t,
        "  labels      {} rows, {} exams ({} merged duplicates, {} rows quarantined, {} blank sides)",
        s.rows_read,
        s.exams,
        s.merged.len(),
        s.quarantined_rows,
        s.blank_sides
    );
    let _ = writeln!(
        t,
        "  DICOM       {} files, {} not DICOM, {} unreadable, {} outside the layout",
        report.not_indexed.files_seen,
        report.not_indexed.non_dicom_files.len(),
        report.not_indexed.unreadable_files.len(),
        report.not_indexed.outside_layout.len()
    );
    let _ = writeln!(t, "  indexed     {} exams", report.exams);
    let ambiguous = index.exams.iter().filter(|e| e.ambiguous_match).count();
    let mismatched = index
        .exams
        .iter()
        .filter(|e| e.date_match == Some(false))
        .count();
    let _ = writeln!(
        t,
        "  matching    {ambiguous} exam ids in several folders, {mismatched} label dates differ from the folder date"
    );
    let _ = writeln!(
        t,
        "  left out    {} label rows without DICOM, {} exams without labels, {} with quarantined labels, {} not indexable",
        report.not_indexed.unmatched_labels.len(),
        report.not_indexed.unlabelled_exams.len(),
        report.not_indexed.quarantined_exams.len(),
        report.not_indexed.failed_exams.len()
    );
    for f in &report.not_indexed.failed_exams {
        let _ = writeln!(t, "    exam {} ({}): {}", f.exam_id, f.dir, f.reason);
    }
    if !labels.quarantine.is_empty() {
        let _ = writeln!(
            t,
            "  quarantine  {}",
            args.out.with_extension("quarantine.csv").display()
        );
    }
    let _ = writeln!(
        t,
        "  details     {}",
        args.out.with_extension("json").display()
    );
    Ok(medfen_app::print(&t)?)
}

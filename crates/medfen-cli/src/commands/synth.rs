//! `medfen synth`: a phantom dataset with known lesions, in the layout medfen reads.

use std::fmt::Write as _;
use std::path::PathBuf;

use anyhow::{Context, Result};
use medfen_synth::{
    CodeFrequencies, Difficulty, DiseasedSides, OutputFormat, SyntaxChoice, SynthConfig, SynthPlan,
};

use medfen_app::Progress;
use medfen_tasks::CODE_NAMES;

const EXAMPLES: &str = "\
Examples:
  medfen synth --out data/synth --exams 60 --seed 1
        ear CT: dicom/<date>/<exam>/<series>/*.dcm, labels.xlsx, truth.parquet, series.parquet
  medfen synth --out data/hard --exams 200 --difficulty hard --syntax mixed --corrupt-rate 0.05
        harder lesions, every transfer syntax, and planted defects listed in defects.json
  medfen synth --out data/small --exams 8 --matrix 128
        a small, fast dataset (coarser pixels and slices, same anatomy)
  medfen synth --out data/nii --format nifti --exams 40       NIfTI volumes + labels.csv
  medfen synth --out data/mm --format png-modalities           Grade/<hospital>/... PNG slices
  medfen synth --out data/bs --format bonescan --exams 100     BS-80K-style whole-body scans

The same options give byte-identical files. A rerun into the same folder with the same
options resumes (files already written are kept); other options are refused. The
patient's left ear is at +x of the LPS frame; truth.parquet gives every lesion's box in
mm and in voxels of the bone series. See docs/synth.md for every file and column.";

/// Options of `medfen synth`.
#[derive(clap::Args, Debug)]
#[command(after_help = EXAMPLES)]
pub struct SynthArgs {
    /// Output folder (created; must be empty unless it holds this same dataset).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Number of exams (patients for bonescan).
    #[arg(long, default_value_t = 60)]
    pub exams: usize,
    /// Seed of every random choice.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Lesion size and contrast, noise, and how much scans vary.
    #[arg(long, value_enum, default_value_t = DifficultyArg::Medium)]
    pub difficulty: DifficultyArg,
    /// Transfer syntax of the DICOM series (mixed: a different one per series).
    #[arg(long, value_enum, default_value_t = SyntaxArg::ExplicitLe)]
    pub syntax: SyntaxArg,
    /// Fraction of exams with a planted defect (malformed label cells, duplicate or
    /// conflicting rows, broken or non-DICOM files, unlabelled exams, label rows without
    /// DICOM); each is listed in defects.json with what a later stage must report.
    #[arg(long, default_value_t = 0.0, value_name = "F")]
    pub corrupt_rate: f64,
    /// What to write.
    #[arg(long, value_enum, default_value_t = FormatArg::Dicom)]
    pub format: FormatArg,
    /// Image matrix of the axial series (64..=1024). Smaller matrices keep the field of
    /// view and coverage with coarser pixels and slices: fast datasets for tests.
    #[arg(long, default_value_t = 512)]
    pub matrix: usize,
    /// Ear-level frequencies of codes 1..6, e.g. `4=0.05` to see more cholesterol
    /// granulomas (codes not named keep the real dataset's frequency).
    #[arg(long, value_name = "CODE=F,...")]
    pub code_freq: Option<String>,
    /// Fraction of patients with a second exam.
    #[arg(long, default_value_t = 0.1, value_name = "F")]
    pub repeat_patients: f64,
    /// Fraction of diagnosis cells left blank.
    #[arg(long, default_value_t = 0.04, value_name = "F")]
    pub blank_sides: f64,
    /// Which ears may be diseased: both, left (every patient-right ear normal) or
    /// right. One-sided cohorts check that a model keeps the sides apart.
    #[arg(long, value_enum, default_value_t = SidesArg::Both)]
    pub diseased_sides: SidesArg,
    /// Print the summary as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `--difficulty`.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum DifficultyArg {
    /// Large, high-contrast lesions, low noise, no head motion.
    Easy,
    /// Realistic lesions, noise and scanner variation.
    Medium,
    /// Small, subtle lesions, high noise, rotated and shifted heads, mimicking variants.
    Hard,
}

/// `--syntax`.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyntaxArg {
    /// Explicit VR little endian, uncompressed.
    ExplicitLe,
    /// RLE Lossless.
    Rle,
    /// JPEG Lossless.
    Jpeg,
    /// A different transfer syntax per series.
    Mixed,
}

/// `--diseased-sides`.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum SidesArg {
    /// Either ear.
    Both,
    /// Patient-left ears only.
    Left,
    /// Patient-right ears only.
    Right,
}

/// `--format`.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum FormatArg {
    /// Ear-CT DICOM tree with labels.xlsx and truth tables.
    Dicom,
    /// NIfTI volumes and a label CSV (frozen-feature workflow).
    Nifti,
    /// Two-modality 224x224 PNG slices per patient (fusion workflow).
    PngModalities,
    /// 2D whole-body bone scans with boxes (whole-body workflow).
    Bonescan,
}

/// Runs `medfen synth`.
///
/// # Errors
/// Invalid options, an output folder in use, or a write failure.
pub fn run(args: &SynthArgs) -> Result<()> {
    let mut config = SynthConfig::new(&args.out)
        .with_exams(args.exams)
        .with_seed(args.seed)
        .with_difficulty(match args.difficulty {
            DifficultyArg::Easy => Difficulty::Easy,
            DifficultyArg::Medium => Difficulty::Medium,
            DifficultyArg::Hard => Difficulty::Hard,
        })
        .with_syntax(match args.syntax {
            SyntaxArg::ExplicitLe => SyntaxChoice::ExplicitLe,
            SyntaxArg::Rle => SyntaxChoice::Rle,
            SyntaxArg::Jpeg => SyntaxChoice::Jpeg,
            SyntaxArg::Mixed => SyntaxChoice::Mixed,
        })
        .with_corrupt_rate(args.corrupt_rate)
        .with_format(match args.format {
            FormatArg::Dicom => OutputFormat::Dicom,
            FormatArg::Nifti => OutputFormat::Nifti,
            FormatArg::PngModalities => OutputFormat::PngModalities,
            FormatArg::Bonescan => OutputFormat::Bonescan,
        })
        .with_matrix(args.matrix)
        .with_repeat_patients(args.repeat_patients)
        .with_blank_sides(args.blank_sides)
        .with_diseased_sides(match args.diseased_sides {
            SidesArg::Both => DiseasedSides::Both,
            SidesArg::Left => DiseasedSides::Left,
            SidesArg::Right => DiseasedSides::Right,
        });
    if let Some(text) = &args.code_freq {
        config = config.with_code_frequencies(CodeFrequencies::parse(text)?);
    }
    let plan = SynthPlan::new(&config)?;
    let bar = Progress::bar("synth", plan.total_work());
    let report = plan
        .generate(&bar.callback())
        .with_context(|| format!("cannot write the dataset in {}", args.out.display()))?;
    drop(bar);
    if args.json {
        return Ok(medfen_app::print_json(&report)?);
    }
    let mut text = String::new();
    let _ = writeln!(text, "medfen synth: {}", report.out.display());
    let _ = writeln!(
        text,
        "  {} exams of {} patients, {} files ({} kept from an earlier run)",
        report.exams, report.patients, report.files, report.files_reused
    );
    if report.ears_by_code.iter().sum::<usize>() > 0 {
        let codes: Vec<String> = report
            .ears_by_code
            .iter()
            .enumerate()
            .map(|(k, n)| format!("{} {}: {n}", k + 1, CODE_NAMES[k]))
            .collect();
        let _ = writeln!(text, "  ears by code: {}", codes.join(", "));
        let _ = writeln!(text, "  blank label cells: {}", report.blank_sides);
    }
    if !report.defects.is_empty() {
        let _ = writeln!(
            text,
            "  planted defects: {} (listed in defects.json)",
            report.defects.len()
        );
    }
    Ok(medfen_app::print(&text)?)
}

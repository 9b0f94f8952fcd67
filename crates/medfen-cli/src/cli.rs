//! Argument definitions and dispatch for `medfen`.

use std::ffi::OsString;
use std::process::ExitCode;

use anyhow::Result;
use clap::{Parser, Subcommand};

use medfen_app::{LogArgs, sibling};

const EXAMPLES: &str = "\
Examples:
  medfen metrics --pred val.csv --score y_prob --label y_true --group exam_id --plots plots/
                           AUROC, AP, operating points, calibration, clustered CIs
  medfen synth --out data/synth --exams 60 --seed 1
                           a phantom ear-CT dataset with known lesions (DICOM, labels, truth)
  medfen index --labels labels.xlsx --dicom-root dicom/ --out work/exams.parquet
                           match labels to DICOM exams; choose each exam's series
  medfen manifest --index work/exams.parquet --out work/ears.parquet
                           one row per ear: codes, task columns, keyed patient hash
  medfen split --manifest work/ears.parquet --out-dir work/splits/main
                           patient-level train/val/test, nested 1% ⊂ 20% ⊂ 100%
  medfen audit --splits work/splits/main --manifest work/ears.parquet
                           fails on leakage, broken nesting or a stale split
  medfen cache --index work/exams.parquet --splits work/splits/main --out cache/
                           both ears of every exam as int16 HU records, content-addressed
  medfen volume exam/ --out vol.npy
                           the exam's CT volume in the patient frame, with geometry QA
  medfen train --cache cache/<key> --splits work/splits/main --task normal_vs_abnormal --out runs/r18
                           train ear2d (or a 3D ResNet); best/last checkpoints; --resume
  medfen eval --run runs/r18 --split test
                           predictions + AUROC/sensitivity with CIs by exam, val thresholds
  medfen predict --run runs/r18 --out preds.csv exam_folder/
                           per-ear probabilities for unlabelled exams
  medfen doctor            check that libtorch loads and which devices it can use

Model subcommands run in `medfen-torch`, the libtorch-linked half of medfen, found next
to this executable (or through $MEDFEN_TORCH); `medfen <subcommand> --help` shows their
options.";

/// medfen: train and evaluate diagnostic classifiers on medical images.
#[derive(Parser, Debug)]
#[command(
    name = "medfen",
    version,
    about = "Train and evaluate diagnostic classifiers on medical images (CT, DICOM, NIfTI)",
    after_help = EXAMPLES,
    disable_help_subcommand = true,
    propagate_version = true
)]
pub struct Cli {
    /// Logging flags shared by every subcommand.
    #[command(flatten)]
    pub log: LogArgs,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands of `medfen`.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Metrics of a prediction table (CSV/Parquet): AUROC, AP, sensitivity at
    /// specificity, threshold metrics, calibration, with exam-clustered bootstrap CIs,
    /// DeLong/Obuchowski intervals and ROC/PR/reliability plots.
    Metrics(Box<crate::commands::metrics::MetricsArgs>),
    /// Read a DICOM file or series folder, NIfTI or PNG/JPEG as a float32 [z, y, x] .npy in
    /// the patient (LPS) frame, and print its geometry, provenance and QA findings.
    Volume(crate::commands::volume::VolumeArgs),
    /// Make a phantom dataset with known lesions: ear-CT DICOM with labels.xlsx and
    /// truth tables, or NIfTI, two-modality PNG slices, or whole-body bone scans.
    Synth(crate::commands::synth::SynthArgs),
    /// Match the label table (xlsx/CSV) to the DICOM tree: one row per exam with the
    /// chosen series, its geometry and QA, and every unmatched row or exam listed.
    Index(crate::commands::index::IndexArgs),
    /// One row per ear: code, task columns, keyed patient hash and header metadata.
    Manifest(crate::commands::manifest::ManifestArgs),
    /// Patient-level train/val/test splits with nested training subsets.
    Split(crate::commands::split::SplitArgs),
    /// Check a split for leakage, nesting and agreement with its manifest.
    Audit(crate::commands::audit::AuditArgs),
    /// Build the int16 HU ear cache of a split (or verify / gc caches).
    Cache(crate::commands::cache::CacheArgs),
    /// Check libtorch: version, threads, CUDA and cuDNN, and a computation on every
    /// device (runs in medfen-torch).
    #[command(disable_help_flag = true)]
    Doctor(Passthrough),
    /// Train a model (ear2d, 3D ResNet) on a cache and a split; resumable (runs in
    /// medfen-torch).
    #[command(disable_help_flag = true)]
    Train(Passthrough),
    /// Evaluate a run on val or test: predictions, metrics with exam-clustered CIs,
    /// thresholds frozen from val (runs in medfen-torch).
    #[command(disable_help_flag = true)]
    Eval(Passthrough),
    /// Per-ear probabilities for unlabelled DICOM exams (runs in medfen-torch).
    #[command(disable_help_flag = true)]
    Predict(Passthrough),
}

/// Arguments handed unchanged to the model executable (including `--help`).
#[derive(clap::Args, Debug)]
pub struct Passthrough {
    /// Arguments for the subcommand; see `medfen <subcommand> --help`.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, num_args = 0..)]
    pub args: Vec<OsString>,
}

/// Every stage of medfen, as `medfen <stage>` and as its own executable
/// `medfen-<stage>` (the model stages, last four, run in `medfen-torch`).
pub const STAGES: [&str; 12] = [
    "synth", "volume", "index", "manifest", "split", "audit", "cache", "metrics", "train", "eval",
    "predict", "doctor",
];

/// Runs a parsed command line.
///
/// # Errors
/// Whatever the subcommand reports; `main` prints it and exits non-zero.
pub fn run(cli: &Cli) -> Result<ExitCode> {
    medfen_app::init_logging(cli.log);
    let done = |r: Result<()>| r.map(|()| ExitCode::SUCCESS);
    let model = |stage: &str, pass: &Passthrough| Ok(sibling::exec(cli.log, stage, &pass.args)?);
    match &cli.command {
        Command::Metrics(args) => done(crate::commands::metrics::run(args)),
        Command::Volume(args) => done(crate::commands::volume::run(args)),
        Command::Synth(args) => done(crate::commands::synth::run(args)),
        Command::Index(args) => done(crate::commands::index::run(args)),
        Command::Manifest(args) => done(crate::commands::manifest::run(args)),
        Command::Split(args) => crate::commands::split::run(args),
        Command::Audit(args) => crate::commands::audit::run(args),
        Command::Cache(args) => crate::commands::cache::run(args),
        Command::Doctor(pass) => model("doctor", pass),
        Command::Train(pass) => model("train", pass),
        Command::Eval(pass) => model("eval", pass),
        Command::Predict(pass) => model("predict", pass),
    }
}

/// Runs `cli` and turns its result into the process's exit code, printing an error
/// (the one place errors reach the user).
pub fn main_with(cli: &Cli) -> ExitCode {
    match run(cli) {
        Ok(code) => code,
        Err(err) => {
            #[allow(clippy::print_stderr)]
            {
                eprintln!("error: {err:#}");
            }
            ExitCode::FAILURE
        }
    }
}

/// The stage a program called `medfen-<stage>` runs: how `medfen` itself acts as every
/// per-stage executable when it is installed under their names (the bundle of `cargo
/// xtask dist` links them to it).
pub fn stage_of_program_name(program: &std::ffi::OsStr) -> Option<&'static str> {
    let name = std::path::Path::new(program).file_name()?.to_str()?;
    let stage = name.strip_prefix("medfen-")?;
    STAGES.iter().copied().find(|s| *s == stage)
}

/// The `main` of the per-stage executable `medfen-<stage>`: its arguments are those of
/// `medfen <stage>`, and it does exactly what `medfen <stage>` does (help included).
pub fn run_stage(stage: &str) -> ExitCode {
    let argv = [OsString::from("medfen"), OsString::from(stage)]
        .into_iter()
        .chain(std::env::args_os().skip(1));
    medfen_io::reuse_freed_memory();
    main_with(&Cli::parse_from(argv))
}

//! `medfen predict`: per-ear probabilities for unlabelled DICOM exams.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use medfen_models::DeviceChoice;
use medfen_models::predict::predict_exams;

const EXAMPLES: &str = "\
Examples:
  medfen predict --run runs/r18 --out preds.csv exam1/ exam2/
  medfen predict --run runs/r18 --out preds.parquet --checkpoint last dicom/2024-01-02/*/

Each EXAM is a folder with the exam's DICOM files (series subfolders allowed); the
series is chosen by medfen's rules and both ears are extracted exactly as the run's
cache did. Output (CSV or Parquet by extension) in the prediction schema `medfen eval`
writes (docs/formats.md): exam_id (the folder's name when it is a number), side, source
(the folder as given), y_prob (or prob_<class>), y_pred at the run's frozen val
threshold, the threshold, and the top attention slices with their source slice and z
in mm. The val threshold must belong to the checkpoint's current weights: without
thresholds.json, or with one chosen on other weights (a run trained further since),
predict refuses (rerun `medfen eval --split val`) unless --threshold gives one.";

/// Options of `medfen predict`.
#[derive(clap::Args, Debug)]
#[command(after_help = EXAMPLES)]
pub struct Args {
    /// The run folder.
    #[arg(long, value_name = "DIR")]
    run: PathBuf,
    /// best or last.
    #[arg(long, default_value = "best")]
    checkpoint: String,
    /// Output table (.csv or .parquet).
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
    /// Call an ear positive when its probability is at least X (binary tasks), instead
    /// of the threshold frozen on val; recorded in the output's threshold column.
    #[arg(long, value_name = "X")]
    threshold: Option<f64>,
    /// Device: auto, cpu, cuda or cuda:N.
    #[arg(long, default_value = "auto")]
    device: DeviceChoice,
    /// Exam folders.
    #[arg(required = true, value_name = "EXAM")]
    exams: Vec<PathBuf>,
}

pub fn run(args: &Args) -> Result<ExitCode> {
    let table = predict_exams(
        &args.run,
        &args.checkpoint,
        &args.exams,
        args.threshold,
        args.device.resolve()?,
    )?;
    table.write(&args.out)?;
    println!(
        "{} ears of {} exams -> {}",
        table.rows.len(),
        args.exams.len(),
        args.out.display()
    );
    Ok(ExitCode::SUCCESS)
}

//! `medfen-torch`: the libtorch-linked half of `medfen`.
//!
//! Users run it through `medfen <subcommand>` (which finds this executable next to
//! itself and replaces itself with it), so its command name and help read as `medfen`.
// A command-line front end: printing results is its job.
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod doctor;
mod eval;
mod predict;
mod train;

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use medfen_app::LogArgs;

// Referenced so the dependency (kept for its build metadata) is not reported unused.
use torch_sys as _;
// A dependency only to choose medfen-dicom's JPEG 2000 decoder (the `j2k-*` features).
use medfen_dicom as _;

/// medfen model commands (libtorch).
#[derive(Parser)]
#[command(
    name = "medfen",
    bin_name = "medfen",
    version,
    disable_help_subcommand = true
)]
struct Cli {
    #[command(flatten)]
    log: LogArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check libtorch: version, threads, CUDA and cuDNN, and a computation on every device.
    Doctor(doctor::Args),
    /// Train a model on a cache and a split (resumable with --resume).
    Train(Box<train::Args>),
    /// Predictions and metrics of a run on val or test, with patient-clustered CIs.
    Eval(eval::Args),
    /// Per-ear probabilities for unlabelled DICOM exams.
    Predict(predict::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    medfen_app::init_logging(cli.log);
    let result = match cli.command {
        Command::Doctor(args) => doctor::run(&args),
        Command::Train(args) => train::run(&args),
        Command::Eval(args) => eval::run(&args),
        Command::Predict(args) => predict::run(&args),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

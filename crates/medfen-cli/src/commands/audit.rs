//! `medfen audit`: checks a split folder against its manifest.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;

const EXAMPLES: &str = "\
Examples:
  medfen audit --splits work/splits/main --manifest work/ears.parquet
  medfen audit --splits splits/main --manifest ears.parquet --json

Exits 1 when a patient appears in two splits of one ratio, a training subset is not
nested in the next, val or test differ between ratios, a row disagrees with the
manifest (unknown ear, other patient key, other code), or split.json was made from
another manifest. Prints the counts of every file and each problem.";

/// Options of `medfen audit`.
#[derive(clap::Args, Debug)]
#[command(after_help = EXAMPLES)]
pub struct AuditArgs {
    /// Split folder (from `medfen split`).
    #[arg(long, value_name = "DIR")]
    pub splits: PathBuf,
    /// The ear manifest the split was made from.
    #[arg(long, value_name = "FILE")]
    pub manifest: PathBuf,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Runs `medfen audit`; exit code 1 when it finds a problem.
///
/// # Errors
/// Unreadable files.
pub fn run(args: &AuditArgs) -> Result<ExitCode> {
    let report = medfen_tasks::audit(&args.splits, &args.manifest)?;
    if args.json {
        medfen_app::print_json(&report)?;
    } else {
        let mut t = String::new();
        let _ = writeln!(t, "medfen audit: {}", args.splits.display());
        let _ = writeln!(
            t,
            "  {:<22} {:>8} {:>6} {:>6}   ears by code 1..6",
            "file", "patients", "exams", "ears"
        );
        for c in &report.counts {
            let _ = writeln!(
                t,
                "  {:<22} {:>8} {:>6} {:>6}   {:?}",
                c.file, c.patients, c.exams, c.ears, c.ears_by_code
            );
        }
        let _ = writeln!(t, "  patients in two splits: {}", report.overlaps.len());
        for p in &report.problems {
            let _ = writeln!(t, "  problem: {p}");
        }
        let _ = writeln!(t, "  result: {}", if report.ok { "ok" } else { "FAILED" });
        medfen_app::print(&t)?;
    }
    Ok(if report.ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

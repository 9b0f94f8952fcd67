//! `medfen audit`: checks a split folder against its manifest.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use std::collections::BTreeMap;

use anyhow::{Result, bail};
use medfen_cache::CacheReader;
use medfen_cache::laterality::{LateralityVerdict, check_laterality};
use medfen_tasks::Side;

const EXAMPLES: &str = "\
Examples:
  medfen audit --splits work/splits/main --manifest work/ears.parquet
  medfen audit --splits splits/main --manifest ears.parquet --json
  medfen audit laterality --cache cache/3f2a...
  medfen audit laterality --cache cache/3f2a... --index work/exams.parquet --json

The split audit exits 1 when a patient appears in two splits of one ratio, a training
subset is not nested in the next, val or test differ between ratios, a row disagrees
with the manifest (unknown ear, other patient key, other code), or split.json was made
from another manifest. Prints the counts of every file and each problem.

`audit laterality` checks that the label table's left is the patient's left: in exams
labelled with middle-ear disease (codes 1-4) on one side and a normal other ear, the
diseased ear should hold less air (voxels below -500 HU inside its crop). It prints how
often it does, with a 95% Wilson interval over exams, and exits 1 when the interval
lies below one half (the sides look swapped somewhere).";

/// Options of `medfen audit`.
#[derive(clap::Args, Debug)]
#[command(after_help = EXAMPLES, args_conflicts_with_subcommands = true)]
pub struct AuditArgs {
    /// Another audit instead of the split audit.
    #[command(subcommand)]
    pub check: Option<AuditCheck>,
    /// Split folder (from `medfen split`).
    #[arg(long, value_name = "DIR")]
    pub splits: Option<PathBuf>,
    /// The ear manifest the split was made from.
    #[arg(long, value_name = "FILE")]
    pub manifest: Option<PathBuf>,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

/// The audits besides the split audit.
#[derive(clap::Subcommand, Debug)]
pub enum AuditCheck {
    /// Do labelled-diseased ears hold less air than their normal other ear? Exits 1
    /// when the sides look swapped.
    Laterality(LateralityArgs),
}

/// Options of `medfen audit laterality`.
#[derive(clap::Args, Debug)]
pub struct LateralityArgs {
    /// A cache folder (`<root>/<key>` from `medfen cache`): the ears' HU.
    #[arg(long, value_name = "DIR")]
    pub cache: PathBuf,
    /// Take the codes from this exam index (`exams.parquet` of `medfen index`) instead
    /// of those the cache was built with.
    #[arg(long, value_name = "FILE")]
    pub index: Option<PathBuf>,
    /// Print the report (with every exam used) as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Runs `medfen audit`; exit code 1 when it finds a problem.
///
/// # Errors
/// Unreadable files; missing options.
pub fn run(args: &AuditArgs) -> Result<ExitCode> {
    if let Some(AuditCheck::Laterality(l)) = &args.check {
        return laterality(l);
    }
    let (Some(splits), Some(manifest)) = (&args.splits, &args.manifest) else {
        bail!(
            "`medfen audit` needs --splits and --manifest (or `medfen audit laterality`); see --help"
        );
    };
    let report = medfen_tasks::audit(splits, manifest)?;
    if args.json {
        medfen_app::print_json(&report)?;
    } else {
        let mut t = String::new();
        let _ = writeln!(t, "medfen audit: {}", splits.display());
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

/// `medfen audit laterality`.
fn laterality(args: &LateralityArgs) -> Result<ExitCode> {
    let reader = CacheReader::open(&args.cache)?;
    let codes = match &args.index {
        Some(index) => {
            let file = medfen_tasks::read_exam_index(index)?;
            let mut codes = BTreeMap::new();
            for e in &file.exams {
                codes.insert((e.exam_id, Side::Left), e.left_code);
                codes.insert((e.exam_id, Side::Right), e.right_code);
            }
            Some(codes)
        }
        None => None,
    };
    let report = check_laterality(&reader, codes.as_ref())?;
    if args.json {
        medfen_app::print_json(&report)?;
    } else {
        medfen_app::print(&format!(
            "medfen audit laterality: {}\n  {}\n",
            args.cache.display(),
            report.message
        ))?;
    }
    if report.verdict == LateralityVerdict::Swapped {
        tracing::error!("{}", report.message);
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

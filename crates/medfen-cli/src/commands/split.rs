//! `medfen split`: patient-level train/val/test with nested training subsets.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use medfen_tasks::{KeepMode, SplitOptions, TaskRegistry, exams_where, make_split, read_manifest};

const EXAMPLES: &str = "\
Examples:
  medfen split --manifest work/ears.parquet --out-dir work/splits/main
  medfen split --manifest ears.parquet --out-dir splits/nvc --task normal_vs_cholesteatoma
  medfen split --manifest ears.parquet --out-dir splits/ext --external-test manufacturer=UIH

Writes <out-dir>/<pct>pct/{train,val,test}.{csv,parquet} (one row per ear: exam_id,
side, code after the filter, code_original, patient_key, ...) for every ratio, and
split.json (seed, ratios, the manifest's SHA-256, counts per class, strata, warnings
and the audit). All exams of a patient are in one split; val and test are the same
for every ratio; 1% ⊂ 20% ⊂ 100%. Code filters (--keep-codes, --task) apply before
stratification. The command fails when the audit of what it wrote fails.";

/// Options of `medfen split`.
#[derive(clap::Args, Debug)]
#[command(after_help = EXAMPLES)]
pub struct SplitArgs {
    /// The ear manifest (ears.parquet from `medfen manifest`).
    #[arg(long, value_name = "FILE")]
    pub manifest: PathBuf,
    /// Output folder.
    #[arg(long, value_name = "DIR")]
    pub out_dir: PathBuf,
    /// Fraction of patients in validation.
    #[arg(long, default_value_t = 0.1)]
    pub val: f64,
    /// Fraction of patients in test.
    #[arg(long, default_value_t = 0.2)]
    pub test: f64,
    /// Training subset ratios.
    #[arg(long, value_delimiter = ',', default_value = "0.01,0.2,1.0")]
    pub ratios: Vec<f64>,
    /// Seed.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Minimum ears per class in every training subset.
    #[arg(long, default_value_t = 1)]
    pub min_per_class: usize,
    /// Keep only these codes (others are masked or their exams dropped).
    #[arg(long, value_delimiter = ',', value_name = "CODE,...")]
    pub keep_codes: Vec<u8>,
    /// Keep only the codes of this task (a name or alias, e.g. normal_vs_abnormal).
    #[arg(long, value_name = "TASK")]
    pub task: Option<String>,
    /// User task definitions (TOML) for --task.
    #[arg(long, value_name = "FILE")]
    pub tasks: Option<PathBuf>,
    /// What happens to ears whose code is not kept.
    #[arg(long, value_enum, default_value_t = KeepModeArg::MaskSide)]
    pub keep_mode: KeepModeArg,
    /// Patients with an exam whose manifest column has this value form an external
    /// test set (e.g. manufacturer=UIH).
    #[arg(long, value_name = "COLUMN=VALUE")]
    pub external_test: Option<String>,
    /// Print split.json to stdout.
    #[arg(long)]
    pub json: bool,
}

/// `--keep-mode`.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeepModeArg {
    /// Mask the ear; keep the exam if its other ear is kept.
    MaskSide,
    /// Drop the exam.
    DropExam,
}

/// Runs `medfen split`; exit code 1 when the audit of the written files fails.
///
/// # Errors
/// Invalid options, an unreadable manifest, or a write failure.
pub fn run(args: &SplitArgs) -> Result<ExitCode> {
    let ears = read_manifest(&args.manifest)?;
    let mut keep: Option<Vec<u8>> = (!args.keep_codes.is_empty()).then(|| args.keep_codes.clone());
    if let Some(name) = &args.task {
        let registry = match &args.tasks {
            Some(p) => TaskRegistry::with_file(p)?,
            None => TaskRegistry::builtin(),
        };
        let codes = registry.resolve(name)?.codes();
        keep = Some(match keep {
            Some(k) => k.into_iter().filter(|c| codes.contains(c)).collect(),
            None => codes,
        });
    }
    let mut external = BTreeSet::new();
    if let Some(spec) = &args.external_test {
        let Some((column, value)) = spec.split_once('=') else {
            bail!("--external-test takes COLUMN=VALUE, got `{spec}`");
        };
        external = exams_where(&args.manifest, column, value)?;
        if external.is_empty() {
            bail!("--external-test {spec}: no exam of the manifest has {column} = {value}");
        }
    }
    let options = SplitOptions {
        val: args.val,
        test: args.test,
        ratios: args.ratios.clone(),
        seed: args.seed,
        min_per_class: args.min_per_class,
        keep_codes: keep,
        keep_mode: match args.keep_mode {
            KeepModeArg::MaskSide => KeepMode::MaskSide,
            KeepModeArg::DropExam => KeepMode::DropExam,
        },
        external_exams: external,
    };
    let plan = make_split(&ears, &options)?;
    let report = plan
        .write(&args.out_dir, &args.manifest)
        .with_context(|| format!("cannot write the split in {}", args.out_dir.display()))?;
    if args.json {
        medfen_app::print_json(&report)?;
    } else {
        let mut t = String::new();
        let _ = writeln!(t, "medfen split: {}", args.out_dir.display());
        let _ = writeln!(
            t,
            "  {:<14} {:>8} {:>6} {:>6}   ears by code 1..6",
            "file", "patients", "exams", "ears"
        );
        for (folder, _, _, c) in &report.subsets {
            let _ = writeln!(
                t,
                "  {:<14} {:>8} {:>6} {:>6}   {:?}",
                format!("{folder}/train"),
                c.patients,
                c.exams,
                c.ears,
                c.ears_by_code
            );
        }
        for (name, c) in &report.holdout {
            let _ = writeln!(
                t,
                "  {:<14} {:>8} {:>6} {:>6}   {:?}",
                name, c.patients, c.exams, c.ears, c.ears_by_code
            );
        }
        let strata: Vec<String> = report
            .strata
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect();
        let _ = writeln!(t, "  strata: {} patients", strata.join(", "));
        if !report.excluded_exams.is_empty() {
            let _ = writeln!(
                t,
                "  {} exams left out (no labelled ear after the filter); see split.json",
                report.excluded_exams.len()
            );
        }
        for w in &report.warnings {
            let _ = writeln!(t, "  warning: {w}");
        }
        let _ = writeln!(
            t,
            "  audit: {}",
            if report.audit.ok { "ok" } else { "FAILED" }
        );
        for p in &report.audit.problems {
            let _ = writeln!(t, "    {p}");
        }
        medfen_app::print(&t)?;
    }
    Ok(if report.audit.ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

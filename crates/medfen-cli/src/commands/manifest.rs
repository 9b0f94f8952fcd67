//! `medfen manifest`: one row per ear with codes, task columns and a keyed patient hash.

use std::fmt::Write as _;
use std::path::PathBuf;

use anyhow::{Context, Result};
use medfen_tasks::{
    PatientKeySecret, TaskRegistry, build_manifest, default_secret_path, write_manifest,
};

use medfen_app::Progress;

const EXAMPLES: &str = "\
Examples:
  medfen manifest --index work/exams.parquet --out work/ears.parquet
  medfen manifest --index exams.parquet --out ears.parquet --tasks my_tasks.toml --secret-file /secure/key

Writes ears.parquet and ears.csv: exam_id, side (the patient's), code, class_id,
has_label, task_valid__<task> and task_y__<task> for every binary task, patient_key
(HMAC-SHA256 of PatientID, else PatientName, else StudyInstanceUID, under a secret
file created with mode 0600 on first use), and the series' vendor, model, kernel,
measured spacing, thickness, slice count and orientation; ears.json records the index
hash and the secret's fingerprint. No name, ID or UID is written. Keep the secret:
the same secret gives the same keys, so later manifests can be compared.";

/// Options of `medfen manifest`.
#[derive(clap::Args, Debug)]
#[command(after_help = EXAMPLES)]
pub struct ManifestArgs {
    /// The exam index (exams.parquet from `medfen index`).
    #[arg(long, value_name = "FILE")]
    pub index: PathBuf,
    /// Output table (ears.parquet; .csv and .json beside it).
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// DICOM root, when it moved since indexing (default: the one in exams.json).
    #[arg(long, value_name = "DIR")]
    pub dicom_root: Option<PathBuf>,
    /// Secret of the patient hash [default: $MEDFEN_SECRET_FILE, else
    /// ~/.config/medfen/patient-key.secret].
    #[arg(long, value_name = "FILE")]
    pub secret_file: Option<PathBuf>,
    /// Extra binary tasks: a TOML file of `[[task]]` tables (name, negative, positive).
    #[arg(long, value_name = "FILE")]
    pub tasks: Option<PathBuf>,
    /// Print the summary as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Runs `medfen manifest`.
///
/// # Errors
/// A missing index or secret problem, an unreadable header, or a write failure.
pub fn run(args: &ManifestArgs) -> Result<()> {
    let registry = match &args.tasks {
        Some(p) => TaskRegistry::with_file(p)?,
        None => TaskRegistry::builtin(),
    };
    let secret_path = args.secret_file.clone().unwrap_or_else(default_secret_path);
    let secret = PatientKeySecret::load_or_create(&secret_path)?;
    let bar = Progress::spinner("reading one header per exam");
    let (_, table, report) = build_manifest(
        &args.index,
        args.dicom_root.as_deref(),
        &secret,
        &registry,
        &bar.callback(),
    )?;
    drop(bar);
    write_manifest(&args.out, &table, &report)
        .with_context(|| format!("cannot write {}", args.out.display()))?;
    if args.json {
        return Ok(medfen_app::print_json(&report)?);
    }
    let mut t = String::new();
    let _ = writeln!(t, "medfen manifest: {}", args.out.display());
    let _ = writeln!(
        t,
        "  {} ears ({} labelled) of {} patients, {} with several exams",
        report.ears, report.labelled_ears, report.patients, report.patients_with_several_exams
    );
    let sources: Vec<String> = report
        .key_sources
        .iter()
        .map(|(s, n)| format!("{s} {n}"))
        .collect();
    let _ = writeln!(t, "  patient keys from: {}", sources.join(", "));
    let _ = writeln!(
        t,
        "  secret fingerprint {} ({})",
        report.secret_fingerprint,
        secret.path().display()
    );
    let _ = writeln!(t, "  tasks: {}", registry.names().join(", "));
    Ok(medfen_app::print(&t)?)
}

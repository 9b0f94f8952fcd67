//! `cargo xtask demo`: the whole pipeline on synthetic data, on CPU, in a few minutes:
//! synth → index → manifest → split → cache → train ear2d on normal_vs_abnormal → eval
//! on test, each step a `medfen` command printed as it runs (copy them for real data).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result, bail};

use crate::paths::Workspace;
use crate::{libtorch, run};

/// Options of `cargo xtask demo`.
#[derive(clap::Args)]
pub struct Args {
    /// Output folder (re-running reuses the synthetic data and the cache; the run is
    /// trained again).
    #[arg(long, default_value = "demo")]
    out: PathBuf,
    /// Exams to synthesise.
    #[arg(long, default_value_t = 80)]
    exams: usize,
    /// Training epochs.
    #[arg(long, default_value_t = 15)]
    epochs: u64,
    /// Seed of the data, the split and the training.
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

fn medfen(bin: &Path, dir: &Path, args: &[&str]) -> Command {
    let mut cmd = run::command(bin, dir);
    cmd.args(args);
    cmd
}

/// What a first build costs, as measured on a fresh clone (README's "Try it").
const FIRST_BUILD: &str = "the first build compiles about 480 crates: about 6 minutes on 2 cores";

/// Builds `medfen` and `medfen-torch` (provisioning libtorch first); the `medfen`
/// executable.
fn build(ws: &Workspace) -> Result<PathBuf> {
    eprintln!(
        "▶ demo step 1 of 3: libtorch {} (CPU) from PyPI into .libtorch/ (first time only: \
         about 0.5 GB downloaded, then extracted)",
        libtorch::TORCH_VERSION
    );
    let kit = libtorch::provision(ws, &libtorch::Args::keep_active())?;
    eprintln!("▶ demo step 2 of 3: medfen and medfen-torch");
    let mut build = run::command("cargo", ws.root());
    build.args([
        "build",
        "--locked",
        "-p",
        "medfen-cli",
        "-p",
        "medfen-torch",
    ]);
    for (k, v) in libtorch::cargo_env(&kit) {
        build.env(k, v);
    }
    crate::build_progress::cargo_build(&mut build, "medfen and medfen-torch", FIRST_BUILD)?;
    eprintln!("▶ demo step 3 of 3: the pipeline on synthetic data");
    Ok(ws.root().join("target/debug/medfen"))
}

/// synth, index, manifest, split and cache in `out`; the cache folder (relative to
/// `out`).
fn prepare_data(bin: &Path, out: &Path, args: &Args) -> Result<String> {
    let (exams, seed) = (args.exams.to_string(), args.seed.to_string());
    let step = |a: &[&str]| run::status(&mut medfen(bin, out, a));
    step(&[
        "-q",
        "synth",
        "--out",
        "synth",
        "--exams",
        &exams,
        "--seed",
        &seed,
        "--difficulty",
        "easy",
        "--matrix",
        "128",
    ])?;
    run::index_and_manifest(&step, &["--secret-file", "work/patient-key.secret"])?;
    let splits = out.join("work/splits/main");
    if splits.exists() {
        // A split folder is only written once; the demo owns this one.
        std::fs::remove_dir_all(&splits)?;
    }
    step(&[
        "-q",
        "split",
        "--manifest",
        "work/ears.parquet",
        "--out-dir",
        "work/splits/main",
        "--val",
        "0.2",
        "--test",
        "0.25",
        "--seed",
        &seed,
    ])?;
    let cache = run::output(&mut medfen(
        bin,
        out,
        &[
            "-q",
            "cache",
            "--index",
            "work/exams.parquet",
            "--splits",
            "work/splits/main",
            "--out",
            "cache",
            "--num-slices",
            "16",
            "--image-size",
            "64",
        ],
    ))?;
    String::from_utf8_lossy(&cache.stdout)
        .lines()
        .find_map(|l| {
            l.strip_prefix("medfen cache: ")
                .map(str::trim)
                .map(String::from)
        })
        .context("`medfen cache` did not print its folder")
}

/// Trains ear2d on the cache (seconds taken) and evaluates it on test (the eval's
/// printed summary).
fn train_and_eval(bin: &Path, out: &Path, cache_dir: &str, args: &Args) -> Result<(f64, String)> {
    let run_dir = out.join("runs/ear2d");
    if run_dir.exists() {
        std::fs::remove_dir_all(&run_dir)?;
    }
    let (epochs, seed) = (args.epochs.to_string(), args.seed.to_string());
    let trained = Instant::now();
    run::status(&mut medfen(
        bin,
        out,
        &[
            "train",
            "--cache",
            cache_dir,
            "--splits",
            "work/splits/main",
            "--task",
            "normal_vs_abnormal",
            "--model",
            "ear2d-r18",
            "--width",
            "16",
            "--epochs",
            &epochs,
            "--batch-size",
            "8",
            "--lr",
            "2e-3",
            "--seed",
            &seed,
            "--device",
            "cpu",
            "--out",
            "runs/ear2d",
        ],
    ))?;
    let train_seconds = trained.elapsed().as_secs_f64();
    let eval = run::output(&mut medfen(
        bin,
        out,
        &[
            "eval",
            "--run",
            "runs/ear2d",
            "--split",
            "test",
            "--device",
            "cpu",
        ],
    ))?;
    Ok((
        train_seconds,
        String::from_utf8_lossy(&eval.stdout).into_owned(),
    ))
}

/// The demo's report: what ran, the test evaluation's summary as `medfen eval` prints
/// it (val's pre-specified operating points first, with patient-clustered CIs), and
/// where the outputs are.
fn report(
    out: &Path,
    cache_dir: &str,
    args: &Args,
    train_seconds: f64,
    eval: &str,
) -> Result<String> {
    use std::fmt::Write as _;
    let run_dir = out.join("runs/ear2d");
    let metrics_path = run_dir.join("eval/test-best/metrics.json");
    if !metrics_path.exists() {
        bail!("{} was not written", metrics_path.display());
    }
    let mut s = String::new();
    let _ = writeln!(
        s,
        "medfen demo — ear2d (ResNet18 slice encoder, width 16, gated attention) on"
    );
    let _ = writeln!(
        s,
        "{} synthetic exams, task normal_vs_abnormal, trained on CPU in {train_seconds:.0} s",
        args.exams
    );
    s.push_str(eval);
    let _ = writeln!(s, "outputs:");
    let _ = writeln!(s, "  data        {}", out.join("synth").display());
    let _ = writeln!(s, "  cache       {}", out.join(cache_dir).display());
    let _ = writeln!(
        s,
        "  run         {}  (metrics.jsonl, best.safetensors, thresholds.json)",
        run_dir.display()
    );
    let _ = writeln!(
        s,
        "  predictions {}",
        run_dir.join("eval/test-best/predictions.csv").display()
    );
    let _ = writeln!(s, "  metrics     {}", metrics_path.display());
    Ok(s)
}

/// Runs the demo with `args` into `out`; its report.
fn run_into(ws: &Workspace, args: &Args, out: &Path) -> Result<String> {
    let bin = build(ws)?;
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let cache_dir = prepare_data(&bin, out, args)?;
    let (train_seconds, eval) = train_and_eval(&bin, out, &cache_dir, args)?;
    report(out, &cache_dir, args, train_seconds, &eval)
}

/// Runs the demo and prints its report.
pub fn run(ws: &Workspace, args: &Args) -> Result<()> {
    let started = Instant::now();
    let out = if args.out.is_absolute() {
        args.out.clone()
    } else {
        ws.root().join(&args.out)
    };
    let report = run_into(ws, args, &out)?;
    println!("\n{report}(total {:.0} s)", started.elapsed().as_secs_f64());
    Ok(())
}

/// The demo with its defaults, run into `target/demo-check` (its data reused from one
/// check to the next), checked against README's example: `cargo xtask test`'s step.
pub fn check_against_readme(ws: &Workspace) -> Result<String> {
    let args = Args {
        out: PathBuf::from("target/demo-check"),
        exams: 80,
        epochs: 15,
        seed: 1,
    };
    let out = ws.root().join(&args.out);
    let report = run_into(ws, &args, &out)?;
    crate::readme::check_demo_report(ws, &report, &out)?;
    Ok("README's example reproduced".into())
}

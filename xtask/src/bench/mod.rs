//! `cargo xtask bench <area>`: medfen against its Python baseline, in the same run.
//!
//! Speed is measured here, never by timed tests. Each benchmark runs the Rust side
//! (a `cargo bench` target that prints JSON lines) and the Python baseline (in the
//! oracle virtual environment) on the same data, prints both with their ratio, and
//! writes the numbers to `target/bench-results/<area>.json`.

mod cache;
mod commands;
mod dicom;
mod metrics;
mod synth;
mod train;

use std::path::Path;

use anyhow::{Context, Result, bail};
use serde_json::Value;

use crate::paths::Workspace;
use crate::run;

/// Options of `cargo xtask bench`.
#[derive(clap::Args)]
pub struct Args {
    /// What to benchmark.
    #[arg(value_enum)]
    area: Area,
}

#[derive(clap::ValueEnum, Clone, Copy)]
enum Area {
    /// 2000 exam-clustered bootstrap replicates of AUROC + AP + sensitivity@95%specificity
    /// at 400 and 5000 exams, against scikit-learn in a Python loop; and the `medfen
    /// metrics` command end to end with its defaults on 5000 exams.
    Metrics,
    /// Header scan, decode and volume assembly of 120-slice 512x512 series (explicit LE,
    /// RLE, JPEG 2000 lossless), one thread and all cores, against pydicom; and `medfen
    /// volume --out vol.npy` end to end against pydicom + np.save.
    Dicom,
    /// Only the `medfen volume --out vol.npy` row of `dicom`, against pydicom + np.save.
    Volume,
    /// `medfen synth` of 60 full-size exams (512x512, ~150 slices, ~5 GB), one thread
    /// and all cores; the target is under 30 s on 2 cores.
    Synth,
    /// `medfen cache` of 16 full-size exams (one thread, all cores) against the original
    /// Python ear pipeline on the same exams, and loader ears/s (evaluation window,
    /// medfen's training augmentation, and the original pipeline's) against a memory
    /// copy of the same records on one thread and on the loader's threads.
    Cache,
    /// ms per training step and per inference batch of ear2d-r18 (b4 K16 128 px, b2
    /// K32 192 px) and a 3D ResNet18 (b2 1x32x128x128), fp32 on 2 threads, against the
    /// same models in PyTorch 2.13.0 eager (venv .cache/bench-venv).
    Train,
}

/// Runs a benchmark.
pub fn run(ws: &Workspace, args: &Args) -> Result<()> {
    match args.area {
        Area::Metrics => metrics::run(ws),
        Area::Dicom => dicom::run(ws),
        Area::Volume => dicom::run_volume(ws),
        Area::Synth => synth::run(ws),
        Area::Cache => cache::run(ws),
        Area::Train => train::run(ws),
    }
}

pub(crate) fn json_lines(text: &str) -> Result<Vec<Value>> {
    text.lines()
        .filter(|l| l.trim_start().starts_with('{'))
        .map(|l| serde_json::from_str(l).with_context(|| format!("bad benchmark output line: {l}")))
        .collect()
}

/// Runs a benchmark command (its progress on the terminal) and parses the JSON lines
/// it prints; `what` names it in errors.
pub(crate) fn bench_rows(cmd: &mut std::process::Command, what: &str) -> Result<Vec<Value>> {
    eprintln!("▶ {}", run::describe(cmd));
    let out = cmd
        .stderr(std::process::Stdio::inherit())
        .output()
        .with_context(|| format!("cannot start {what}"))?;
    if !out.status.success() {
        bail!("{what} failed ({})", out.status);
    }
    json_lines(&String::from_utf8_lossy(&out.stdout))
}

pub(crate) fn field(v: &Value, key: &str) -> Result<f64> {
    v[key]
        .as_f64()
        .with_context(|| format!("benchmark output lacks `{key}`: {v}"))
}

/// Which JPEG 2000 decoder the Rust benchmark is built with.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum J2kDecoder {
    /// The default build: OpenJPEG's C code from the openjpeg-sys crate.
    OpenjpegC,
    /// `--no-default-features --features j2k-openjp2`: openjp2, the pure-Rust port of
    /// OpenJPEG, built in its own target folder so the default build stays intact.
    Openjp2,
}

pub(crate) fn cargo_bench_lines(
    ws: &Workspace,
    decoder: J2kDecoder,
    args: &[&str],
    dir: &Path,
    only: &[&str],
) -> Result<Vec<Value>> {
    let mut cmd = run::command("cargo", ws.root());
    cmd.args([
        "bench",
        "--locked",
        "-p",
        "medfen-dicom",
        "--bench",
        "volume",
    ]);
    if decoder == J2kDecoder::Openjp2 {
        cmd.args(["--no-default-features", "--features", "j2k-openjp2"])
            .env(
                "CARGO_TARGET_DIR",
                ws.root().join("target").join("bench-openjp2"),
            );
    }
    cmd.arg("--").args(args).arg(dir).args(only);
    bench_rows(&mut cmd, "the Rust benchmark")
}

pub(crate) fn count_files(dir: &Path) -> usize {
    std::fs::read_dir(dir).map_or(0, |d| {
        d.filter_map(Result::ok)
            .filter(|e| e.path().is_file())
            .count()
    })
}

/// Merges a benchmark round into `best`: per case, the lower step and inference times.
pub(crate) fn keep_best(best: &mut Vec<Value>, round: Vec<Value>) {
    for r in round {
        match best.iter_mut().find(|b| b["case"] == r["case"]) {
            None => best.push(r),
            Some(b) => {
                for key in ["train_step_ms", "inference_ms"] {
                    if let (Some(new), Some(old)) = (r[key].as_f64(), b[key].as_f64())
                        && new < old
                    {
                        b[key] = r[key].clone();
                    }
                }
            }
        }
    }
}

/// Reads every file under `dir` once; returns the bytes read.
/// Writes dirty pages out (`sync`, where there is one), so a timed run does not pay
/// for the writes of the run before it.
pub(crate) fn settle_disk() {
    let _ = std::process::Command::new("sync").status();
}

pub(crate) fn warm_files(dir: &Path) -> Result<u64> {
    let mut total = 0;
    for entry in std::fs::read_dir(dir).with_context(|| format!("cannot list {}", dir.display()))? {
        let path = entry?.path();
        if path.is_dir() {
            total += warm_files(&path)?;
        } else {
            total += std::fs::read(&path).map_or(0, |b| b.len() as u64);
        }
    }
    Ok(total)
}

pub(crate) fn write_results(ws: &Workspace, area: &str, value: &Value) -> Result<()> {
    let dir = ws.root().join("target").join("bench-results");
    std::fs::create_dir_all(&dir)?;
    let path = dir.join(format!("{area}.json"));
    std::fs::write(&path, serde_json::to_string_pretty(value)?)?;
    println!("results: {}", rel(ws.root(), &path));
    Ok(())
}

pub(crate) fn rel(root: &Path, p: &Path) -> String {
    p.strip_prefix(root).unwrap_or(p).display().to_string()
}

//! `cargo xtask bench <area>`: medfen against its Python baseline, in the same run.
//!
//! Speed is measured here, never by timed tests. Each benchmark runs the Rust side
//! (a `cargo bench` target that prints JSON lines) and the Python baseline (in the
//! oracle virtual environment) on the same data, prints both with their ratio, and
//! writes the numbers to `target/bench-results/<area>.json`.

use std::path::Path;

use anyhow::{Context, Result, bail};
use serde_json::Value;

use crate::paths::Workspace;
use crate::{libtorch, oracles, run};

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
    /// at 400 and 5000 exams, against scikit-learn in a Python loop.
    Metrics,
    /// Header scan, decode and volume assembly of 120-slice 512x512 series (explicit LE,
    /// RLE, JPEG 2000 lossless), one thread and all cores, against pydicom.
    Dicom,
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
        Area::Metrics => metrics(ws),
        Area::Dicom => dicom(ws),
        Area::Synth => synth(ws),
        Area::Cache => cache(ws),
        Area::Train => train(ws),
    }
}

fn json_lines(text: &str) -> Result<Vec<Value>> {
    text.lines()
        .filter(|l| l.trim_start().starts_with('{'))
        .map(|l| serde_json::from_str(l).with_context(|| format!("bad benchmark output line: {l}")))
        .collect()
}

/// Runs a benchmark command (its progress on the terminal) and parses the JSON lines
/// it prints; `what` names it in errors.
fn bench_rows(cmd: &mut std::process::Command, what: &str) -> Result<Vec<Value>> {
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

fn field(v: &Value, key: &str) -> Result<f64> {
    v[key]
        .as_f64()
        .with_context(|| format!("benchmark output lacks `{key}`: {v}"))
}

fn metrics(ws: &Workspace) -> Result<()> {
    let python = oracles::provision(ws)?;
    let data = ws.root().join("target").join("bench-data").join("metrics");
    let mut rust = run::command("cargo", ws.root());
    rust.args([
        "bench",
        "--locked",
        "-p",
        "medfen-metrics",
        "--bench",
        "bootstrap",
        "--",
    ])
    .arg(&data);
    let rust_rows = bench_rows(&mut rust, "the Rust benchmark")?;
    let script = ws
        .root()
        .join("xtask")
        .join("bench")
        .join("metrics_sklearn.py");
    let sizes: Vec<String> = rust_rows.iter().map(|r| r["exams"].to_string()).collect();
    let mut py = run::command(&python, ws.root());
    py.arg(&script).arg(&data).args(&sizes);
    eprintln!(
        "▶ {} (scikit-learn baseline, 2000 replicates per size)",
        run::describe(&py)
    );
    let py_rows = json_lines(&String::from_utf8_lossy(&run::output(&mut py)?.stdout))?;

    println!(
        "\nmetrics bench: 2000 exam-clustered bootstrap replicates of AUROC + AP + sensitivity@95%specificity"
    );
    println!(
        "{:>6} {:>6}  {:>13} {:>13}  {:>12}  {:>11} {:>11}  {:>10}",
        "exams",
        "ears",
        "medfen 1 thr",
        "medfen all",
        "sklearn loop",
        "ratio 1 thr",
        "ratio all",
        "same AUROC"
    );
    let mut results = Vec::new();
    let mut ok = true;
    for (r, p) in rust_rows.iter().zip(&py_rows) {
        let (one, all, base) = (
            field(r, "seconds_1_thread")?,
            field(r, "seconds_all_cores")?,
            field(p, "seconds")?,
        );
        let same = (field(r, "auroc")? - field(p, "auroc")?).abs() < 1e-12
            && (field(r, "sens_at_95_spec")? - field(p, "sens_at_95_spec")?).abs() < 1e-12;
        println!(
            "{:>6} {:>6}  {:>11.4} s {:>11.4} s  {:>10.2} s  {:>10.0}x {:>10.0}x  {:>10}",
            r["exams"].as_u64().unwrap_or(0),
            r["ears"].as_u64().unwrap_or(0),
            one,
            all,
            base,
            base / one,
            base / all,
            if same { "yes" } else { "NO" }
        );
        ok &= same;
        results.push(serde_json::json!({
            "exams": r["exams"], "ears": r["ears"], "cores": r["cores"],
            "medfen_seconds_1_thread": one, "medfen_seconds_all_cores": all, "sklearn_seconds": base,
            "ratio_1_thread": base / one, "ratio_all_cores": base / all, "same_point_estimates": same,
        }));
    }
    let big = results
        .iter()
        .find(|r| r["exams"] == 5000)
        .context("no 5000-exam result")?;
    let fast = big["medfen_seconds_all_cores"]
        .as_f64()
        .unwrap_or(f64::INFINITY)
        < 0.5;
    let ratio = big["ratio_1_thread"].as_f64().unwrap_or(0.0);
    println!(
        "targets: >= 100x the sklearn loop (5000 exams: {ratio:.0}x on one thread) {}; \
         < 0.5 s for 5000 exams on all cores {}",
        if ratio >= 100.0 { "met" } else { "NOT met" },
        if fast { "met" } else { "NOT met" }
    );
    write_results(ws, "metrics", &serde_json::json!({ "sizes": results }))?;
    if !ok {
        bail!("medfen and scikit-learn disagree on the point estimates");
    }
    Ok(())
}

/// Which JPEG 2000 decoder the Rust benchmark is built with.
#[derive(Clone, Copy, PartialEq, Eq)]
enum J2kDecoder {
    /// The default build: openjp2, the pure-Rust port of OpenJPEG.
    Openjp2,
    /// `--no-default-features --features j2k-openjpeg`: OpenJPEG's C code from the
    /// openjpeg-sys crate, built in its own target folder so the default build stays intact.
    OpenjpegC,
}

fn cargo_bench_lines(
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
    if decoder == J2kDecoder::OpenjpegC {
        cmd.args(["--no-default-features", "--features", "j2k-openjpeg"])
            .env(
                "CARGO_TARGET_DIR",
                ws.root().join("target").join("bench-openjpeg"),
            );
    }
    cmd.arg("--").args(args).arg(dir).args(only);
    bench_rows(&mut cmd, "the Rust benchmark")
}

fn count_files(dir: &Path) -> usize {
    std::fs::read_dir(dir).map_or(0, |d| {
        d.filter_map(Result::ok)
            .filter(|e| e.path().is_file())
            .count()
    })
}

fn dicom(ws: &Workspace) -> Result<()> {
    let python = oracles::provision(ws)?;
    let data = ws.root().join("target").join("bench-data").join("dicom");
    if count_files(&data.join("el")) != 120 || count_files(&data.join("rle")) != 120 {
        let _ = std::fs::remove_dir_all(&data);
        cargo_bench_lines(ws, J2kDecoder::Openjp2, &["write"], &data, &[])?;
    }
    let script = ws
        .root()
        .join("xtask")
        .join("bench")
        .join("dicom_pydicom.py");
    if count_files(&data.join("j2k")) != 120 {
        let mut py = run::command(&python, ws.root());
        py.arg(&script).arg("convert").arg(&data);
        run::status(&mut py).context("pydicom could not write the JPEG 2000 series")?;
    }
    let mut rust = cargo_bench_lines(ws, J2kDecoder::Openjp2, &["measure"], &data, &[])?;
    for mut row in cargo_bench_lines(ws, J2kDecoder::OpenjpegC, &["measure"], &data, &["j2k"])? {
        row["syntax"] = Value::from("j2k-c");
        rust.push(row);
    }
    let mut py = run::command(&python, ws.root());
    py.arg(&script).arg("measure").arg(&data);
    eprintln!(
        "▶ {} (pydicom + numpy + pylibjpeg baseline)",
        run::describe(&py)
    );
    let base = json_lines(&String::from_utf8_lossy(&run::output(&mut py)?.stdout))?;

    let rate = |rows: &[Value], syntax: &str, stage: &str, one: bool| -> Result<f64> {
        let r = rows
            .iter()
            .filter(|r| r["syntax"] == syntax && r["stage"] == stage)
            .min_by_key(|r| {
                if one {
                    r["threads"].as_u64()
                } else {
                    r["threads"].as_u64().map(|t| u64::MAX - t)
                }
            })
            .with_context(|| format!("no result for {syntax} {stage}"))?;
        Ok(field(r, "slices")? / field(r, "seconds")?)
    };
    let cores = rust
        .iter()
        .filter_map(|r| r["threads"].as_u64())
        .max()
        .unwrap_or(1);
    println!(
        "\ndicom bench: 120 slices of 512x512, slices per second (best of >= 5 runs and 0.5 s for medfen, 3 for pydicom); medfen on 1 and {cores} threads"
    );
    println!(
        "{:<6} {:<9} {:>12} {:>12} {:>10} {:>11} {:>9}",
        "syntax",
        "stage",
        "medfen 1 thr",
        format!("medfen {cores} thr"),
        "pydicom",
        "ratio/core",
        "scaling"
    );
    let mut results = Vec::new();
    // `j2k` is the default build (openjp2, pure Rust); `j2k-c` the same files decoded by
    // the `j2k-openjpeg` build (OpenJPEG's C code); both against pydicom on `j2k`.
    let targets = [
        ("el", "el", 4.0),
        ("rle", "rle", 4.0),
        ("j2k", "j2k", 1.0),
        ("j2k-c", "j2k", 1.0),
    ];
    let mut verdicts = Vec::new();
    for (syntax, base_syntax, target) in targets {
        for stage in ["header", "decode", "assemble"] {
            let (one, all, py) = (
                rate(&rust, syntax, stage, true)?,
                rate(&rust, syntax, stage, false)?,
                rate(&base, base_syntax, stage, true)?,
            );
            println!(
                "{syntax:<6} {stage:<9} {one:>12.0} {all:>12.0} {py:>10.0} {:>10.1}x {:>8.2}x",
                one / py,
                all / one
            );
            results.push(serde_json::json!({
                "syntax": syntax, "stage": stage, "medfen_slices_per_s_1_thread": one,
                "medfen_slices_per_s_all_cores": all, "cores": cores, "pydicom_slices_per_s": py,
                "ratio_per_core": one / py, "scaling": all / one,
            }));
            if stage == "decode" {
                verdicts.push(format!(
                    "{syntax} decode {:.1}x per core (target {target}x) {}",
                    one / py,
                    if one / py >= target { "met" } else { "NOT met" }
                ));
            }
        }
    }
    println!(
        "j2k = default build (openjp2, pure Rust); j2k-c = `--no-default-features --features j2k-openjpeg` (OpenJPEG C from openjpeg-sys)"
    );
    println!("targets: {}", verdicts.join("; "));
    write_results(ws, "dicom", &serde_json::json!({ "results": results }))
}

fn synth(ws: &Workspace) -> Result<()> {
    let mut build = run::command("cargo", ws.root());
    build.args(["build", "--release", "--locked", "-p", "medfen-cli"]);
    run::status(&mut build)?;
    let medfen = ws.root().join("target").join("release").join("medfen");
    let data = ws.root().join("target").join("bench-data").join("synth");
    run::require_space(
        ws.root(),
        6 << 30,
        "the synth benchmark (60 full-size exams)",
    )?;
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    let mut seconds = Vec::new();
    for threads in [1, cores] {
        if data.exists() {
            std::fs::remove_dir_all(&data)
                .with_context(|| format!("cannot remove {}", data.display()))?;
        }
        let mut cmd = run::command(&medfen, ws.root());
        cmd.env("RAYON_NUM_THREADS", threads.to_string())
            .args([
                "-q", "synth", "--exams", "60", "--seed", "1", "--json", "--out",
            ])
            .arg(&data);
        let start = std::time::Instant::now();
        let out = run::output(&mut cmd)?;
        let elapsed = start.elapsed().as_secs_f64();
        let report: Value = serde_json::from_slice(&out.stdout).context("synth --json output")?;
        println!(
            "synth 60 exams ({} files), {threads} thread(s): {elapsed:.1} s",
            report["files"]
        );
        seconds.push(elapsed);
    }
    std::fs::remove_dir_all(&data).ok();
    let speedup = seconds[0] / seconds[1];
    let verdict = if seconds[1] < 30.0 { "met" } else { "NOT met" };
    println!(
        "synth: {:.1} s on {cores} cores ({speedup:.2}x of one thread); target < 30 s: {verdict}",
        seconds[1]
    );
    write_results(
        ws,
        "synth",
        &serde_json::json!({
            "exams": 60,
            "seconds_one_thread": seconds[0],
            "seconds_all_cores": seconds[1],
            "cores": cores,
            "speedup": speedup,
        }),
    )
}

fn cache(ws: &Workspace) -> Result<()> {
    let python = oracles::provision(ws)?;
    let mut build = run::command("cargo", ws.root());
    build.args(["build", "--release", "--locked", "-p", "medfen-cli"]);
    run::status(&mut build)?;
    let medfen = ws.root().join("target").join("release").join("medfen");
    let data = ws.root().join("target").join("bench-data").join("cache");
    let medfen_run = |args: &[&str]| -> Result<std::process::Output> {
        let mut cmd = run::command(&medfen, &data);
        cmd.env("MEDFEN_SECRET_FILE", data.join("secret"))
            .args(args);
        run::output(&mut cmd)
    };
    if !data.join("work").join("splits").join("100pct").exists() {
        let _ = std::fs::remove_dir_all(&data);
        std::fs::create_dir_all(&data)
            .with_context(|| format!("cannot create {}", data.display()))?;
        medfen_run(&[
            "-q", "synth", "--out", "synth", "--exams", "16", "--seed", "3",
        ])?;
        medfen_run(&[
            "-q",
            "index",
            "--labels",
            "synth/labels.xlsx",
            "--dicom-root",
            "synth/dicom",
            "--out",
            "work/exams.parquet",
        ])?;
        medfen_run(&[
            "-q",
            "manifest",
            "--index",
            "work/exams.parquet",
            "--out",
            "work/ears.parquet",
        ])?;
        medfen_run(&[
            "-q",
            "split",
            "--manifest",
            "work/ears.parquet",
            "--out-dir",
            "work/splits",
        ])?;
    }
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    // Every contender reads the DICOM files from the page cache, not the first one
    // from disk.
    let warmed = warm_files(&data.join("synth").join("dicom"))?;
    eprintln!("read {warmed} bytes of DICOM once to warm the page cache");
    // Best of 7 runs for medfen, 3 for Python (below): single runs of a fraction of a
    // second move by 30% or more on a shared machine (CPU time included: neighbours,
    // the kernel's page cache). The thread counts take turns, after one untimed round,
    // so both see the same spells of the machine. Each run starts with no dirty pages
    // left by the one before (medfen flushes its cache to disk before it reports;
    // Python's files are written back in the background).
    let counts = [1, cores];
    let mut best = [0.0f64; 2];
    let mut dirs = [String::new(), String::new()];
    for round in 0..8 {
        for (i, &threads) in counts.iter().enumerate() {
            let root = data.join(format!("cache-{threads}"));
            let _ = std::fs::remove_dir_all(&root);
            settle_disk();
            let mut cmd = run::command(&medfen, &data);
            cmd.env("RAYON_NUM_THREADS", threads.to_string())
                .args([
                    "-q",
                    "cache",
                    "--compat",
                    "--index",
                    "work/exams.parquet",
                    "--splits",
                    "work/splits",
                    "--json",
                    "--out",
                ])
                .arg(&root);
            let start = std::time::Instant::now();
            let out = run::output(&mut cmd)?;
            let secs = start.elapsed().as_secs_f64();
            let report: Value =
                serde_json::from_slice(&out.stdout).context("cache --json output")?;
            if round > 0 {
                best[i] = best[i].max(field(&report, "exams_built")? / secs);
            }
            report["dir"]
                .as_str()
                .unwrap_or_default()
                .clone_into(&mut dirs[i]);
        }
    }
    let mut rust = Vec::new();
    for ((threads, best), dir) in counts.into_iter().zip(best).zip(dirs) {
        println!(
            "medfen cache --compat: 16 exams on {threads} thread(s): {best:.2} exams/s (best of 7)"
        );
        rust.push((threads, best, dir));
    }
    let script = ws
        .root()
        .join("xtask")
        .join("bench")
        .join("cache_python.py");
    let py_out = data.join("python-cache");
    let mut py_rate = 0.0f64;
    for _ in 0..3 {
        let _ = std::fs::remove_dir_all(&py_out);
        settle_disk();
        let mut py = run::command(&python, &data);
        py.arg(&script)
            .arg("work/exams.csv")
            .arg("synth/dicom")
            .arg(&py_out);
        eprintln!(
            "▶ {} (pydicom + numpy, the original ear pipeline)",
            run::describe(&py)
        );
        let base = json_lines(&String::from_utf8_lossy(&run::output(&mut py)?.stdout))?;
        let base = base.first().context("no Python result")?;
        py_rate = py_rate.max(field(base, "exams")? / field(base, "seconds")?);
    }
    println!("python original pipeline: {py_rate:.2} exams/s (one process, best of 3)");
    let per_core = rust[0].1 / py_rate;
    println!(
        "cache build: {per_core:.1}x the Python pipeline per core (target 10x: {}), {:.2}x scaling on {cores} cores",
        if per_core >= 10.0 { "met" } else { "NOT met" },
        rust[1].1 / rust[0].1
    );

    let mut loader = run::command("cargo", ws.root());
    loader
        .args([
            "bench",
            "--locked",
            "-p",
            "medfen-cache",
            "--bench",
            "loader",
            "--",
        ])
        .arg(&rust[1].2);
    let rows = bench_rows(&mut loader, "the loader benchmark")?;
    let rate = |what: &str, threads: Option<usize>| -> Result<(f64, Baselines)> {
        let r = rows
            .iter()
            .find(|r| {
                r["what"] == what && threads.is_none_or(|t| r["threads"].as_u64() == Some(t as u64))
            })
            .with_context(|| format!("no loader result for {what}"))?;
        let rate = field(r, "ears")? / field(r, "seconds")?;
        // The copies measured right before this case (the memcpy row is its own).
        let copy = |key: &str| r[key].as_f64().unwrap_or(rate);
        Ok((
            rate,
            Baselines {
                record: copy("memcpy_ears_per_s"),
                record_same: copy("memcpy_same_threads_ears_per_s"),
                batches: copy("memcpy_batches_ears_per_s"),
                batches_same: copy("memcpy_batches_same_threads_ears_per_s"),
            },
        ))
    };
    let (memcpy, _) = rate("memcpy", None)?;
    println!(
        "loader: the target (30%) sets the loader as it runs, on all {cores} cores, against a \
         plain copy of the same bytes: the records copied by one thread batch by batch into \
         a batch buffer (8 records, recycled), as the loader delivers them, measured right \
         before each case. For reference: the loader on one thread, a copy on as many \
         threads as the case, and a copy into one record buffer (which stays in the \
         caches; {memcpy:.0} ears/s in the first measurement)"
    );
    let mut loader_results = Vec::new();
    for what in ["eval", "train", "train-original"] {
        for t in [1, cores] {
            let (r, b) = rate(what, Some(t))?;
            let pct = |base: f64| 100.0 * r / base;
            let target = if t == cores {
                format!(
                    " [target 30%: {}]",
                    if r / b.batches >= 0.3 {
                        "met"
                    } else {
                        "NOT met"
                    }
                )
            } else {
                " [one thread: for reference]".to_string()
            };
            println!(
                "loader {what:<15} {t} thread(s): {r:.0} ears/s = {:.1}% of a plain copy \
                 (one thread, into batches: {:.0} ears/s){target}\n    for reference: \
                 {:.1}% of a copy into batches on {t} thread(s) ({:.0}); into one record \
                 buffer: {:.1}% on one thread / {:.1}% on {t} ({:.0} / {:.0})",
                pct(b.batches),
                b.batches,
                pct(b.batches_same),
                b.batches_same,
                pct(b.record),
                pct(b.record_same),
                b.record,
                b.record_same
            );
            loader_results.push(serde_json::json!({
                "augment": what,
                "threads": t,
                "ears_per_s": r,
                "memcpy_ears_per_s": b.record,
                "memcpy_same_threads_ears_per_s": b.record_same,
                "memcpy_batches_ears_per_s": b.batches,
                "memcpy_batches_same_threads_ears_per_s": b.batches_same,
            }));
        }
    }
    write_results(
        ws,
        "cache",
        &serde_json::json!({
            "exams": 16,
            "medfen_exams_per_s_one_thread": rust[0].1,
            "medfen_exams_per_s_all_cores": rust[1].1,
            "python_exams_per_s": py_rate,
            "ratio_per_core": per_core,
            "memcpy_ears_per_s": memcpy,
            "loader": loader_results,
        }),
    )
}

/// The plain copies a loader case is set against (ears/s), measured right before it.
struct Baselines {
    /// Into one record-sized buffer, one thread.
    record: f64,
    /// Into one record-sized buffer per thread, on the case's threads.
    record_same: f64,
    /// Batch by batch into a batch buffer, one thread.
    batches: f64,
    /// Batch by batch into a batch buffer, on the case's threads.
    batches_same: f64,
}

/// The PyTorch venv of the training benchmark (torch 2.13.0 from PyPI, with the wheel
/// cache of `cargo xtask libtorch`); created once.
fn torch_python(ws: &Workspace) -> Result<std::path::PathBuf> {
    let venv = ws.root().join(".cache").join("bench-venv");
    let python = venv.join("bin").join("python");
    let stamp = venv.join("medfen-bench.txt");
    let wanted = format!("torch=={}\n", libtorch::TORCH_VERSION);
    if python.exists() && std::fs::read_to_string(&stamp).ok().as_deref() == Some(&wanted) {
        return Ok(python);
    }
    run::require_pip(ws.root())?;
    run::require_space(
        ws.root(),
        6_000_000_000,
        "the PyTorch benchmark environment",
    )?;
    let mut mk = run::command("python3", ws.root());
    mk.args(["-m", "venv"]).arg(&venv);
    run::status(&mut mk)?;
    let mut pip = run::command(&python, ws.root());
    pip.args(["-m", "pip", "install", "-q", "--find-links"])
        .arg(ws.root().join(".cache").join("wheels"))
        .arg(format!("torch=={}", libtorch::TORCH_VERSION))
        .arg("numpy");
    run::status(&mut pip).context("installing PyTorch from PyPI for the benchmark")?;
    std::fs::write(&stamp, wanted)?;
    Ok(python)
}

fn train(ws: &Workspace) -> Result<()> {
    let threads = 2;
    let kit = libtorch::provision(ws, &libtorch::Args::keep_active())?;
    let python = torch_python(ws)?;
    let script = ws.root().join("xtask").join("bench").join("train_torch.py");
    // medfen and PyTorch take turns, three times; each case keeps its best median of the
    // three rounds, so a noisy minute on a shared machine does not decide the ratio.
    let mut rust: Vec<Value> = Vec::new();
    let mut torch: Vec<Value> = Vec::new();
    for round in 1..=3 {
        eprintln!("round {round} of 3");
        let mut cmd = run::command("cargo", ws.root());
        cmd.args([
            "bench",
            "--locked",
            "-p",
            "medfen-models",
            "--bench",
            "train",
            "--",
            &threads.to_string(),
        ]);
        for (k, v) in libtorch::cargo_env(&kit) {
            cmd.env(k, v);
        }
        keep_best(&mut rust, bench_rows(&mut cmd, "the training benchmark")?);
        let mut py = run::command(&python, ws.root());
        py.arg(&script).arg(threads.to_string());
        eprintln!("▶ {} (PyTorch eager)", run::describe(&py));
        keep_best(
            &mut torch,
            json_lines(&String::from_utf8_lossy(&run::output(&mut py)?.stdout))?,
        );
    }
    let mut results = Vec::new();
    println!(
        "{:<30} {:>12} {:>12} {:>7}   {:>12} {:>12} {:>7}",
        "fp32, 2 threads",
        "medfen step",
        "torch step",
        "ratio",
        "medfen infer",
        "torch infer",
        "ratio"
    );
    for r in &rust {
        let case = r["case"].as_str().unwrap_or_default();
        let t = torch
            .iter()
            .find(|t| t["case"] == r["case"])
            .with_context(|| format!("no PyTorch result for {case}"))?;
        if r["parameters"] != t["parameters"] {
            bail!(
                "{case}: medfen has {} parameters, the PyTorch model {}: not the same network",
                r["parameters"],
                t["parameters"]
            );
        }
        let (rs, ts) = (field(r, "train_step_ms")?, field(t, "train_step_ms")?);
        let (ri, ti) = (field(r, "inference_ms")?, field(t, "inference_ms")?);
        println!(
            "{case:<30} {rs:>9.1} ms {ts:>9.1} ms {:>6.2}x   {ri:>9.1} ms {ti:>9.1} ms {:>6.2}x",
            ts / rs,
            ti / ri
        );
        results.push(serde_json::json!({
            "case": case,
            "parameters": r["parameters"],
            "medfen_train_step_ms": rs,
            "torch_train_step_ms": ts,
            "train_ratio": ts / rs,
            "medfen_inference_ms": ri,
            "torch_inference_ms": ti,
            "inference_ratio": ti / ri,
        }));
    }
    let worst = results
        .iter()
        .flat_map(|r| [r["train_ratio"].as_f64(), r["inference_ratio"].as_f64()])
        .flatten()
        .fold(f64::INFINITY, f64::min);
    println!(
        "ratio = PyTorch time / medfen time; lowest {worst:.2} (target >= 1.0: {})",
        if worst >= 1.0 { "met" } else { "NOT met" }
    );
    write_results(
        ws,
        "train",
        &serde_json::json!({"threads": threads, "cases": results}),
    )
}

/// Merges a benchmark round into `best`: per case, the lower step and inference times.
fn keep_best(best: &mut Vec<Value>, round: Vec<Value>) {
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
fn settle_disk() {
    let _ = std::process::Command::new("sync").status();
}

fn warm_files(dir: &Path) -> Result<u64> {
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

fn write_results(ws: &Workspace, area: &str, value: &Value) -> Result<()> {
    let dir = ws.root().join("target").join("bench-results");
    std::fs::create_dir_all(&dir)?;
    let path = dir.join(format!("{area}.json"));
    std::fs::write(&path, serde_json::to_string_pretty(value)?)?;
    println!("results: {}", rel(ws.root(), &path));
    Ok(())
}

fn rel(root: &Path, p: &Path) -> String {
    p.strip_prefix(root).unwrap_or(p).display().to_string()
}

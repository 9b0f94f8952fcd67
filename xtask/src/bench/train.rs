//! `cargo xtask bench train`: training steps and inference batches against PyTorch eager.

use anyhow::{Context, Result, bail};
use serde_json::Value;

use super::{bench_rows, field, json_lines, keep_best, write_results};
use crate::paths::Workspace;
use crate::{libtorch, run};

pub(super) fn run(ws: &Workspace) -> Result<()> {
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

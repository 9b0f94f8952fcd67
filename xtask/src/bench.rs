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
use crate::{oracles, run};

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
}

/// Runs a benchmark.
pub fn run(ws: &Workspace, args: &Args) -> Result<()> {
    match args.area {
        Area::Metrics => metrics(ws),
    }
}

fn json_lines(text: &str) -> Result<Vec<Value>> {
    text.lines()
        .filter(|l| l.trim_start().starts_with('{'))
        .map(|l| serde_json::from_str(l).with_context(|| format!("bad benchmark output line: {l}")))
        .collect()
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
    eprintln!("▶ {}", run::describe(&rust));
    let out = rust
        .stderr(std::process::Stdio::inherit())
        .output()
        .context("cannot run cargo bench")?;
    if !out.status.success() {
        bail!("the Rust benchmark failed ({})", out.status);
    }
    let rust_rows = json_lines(&String::from_utf8_lossy(&out.stdout))?;
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

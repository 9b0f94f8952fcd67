//! `cargo xtask bench metrics`: the clustered bootstrap against scikit-learn.

use anyhow::{Context, Result, bail};

use super::{bench_rows, commands, field, json_lines, write_results};
use crate::paths::Workspace;
use crate::{oracles, run};

pub(super) fn run(ws: &Workspace) -> Result<()> {
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
    let command = command_row(ws, &data, big)?;
    write_results(
        ws,
        "metrics",
        &serde_json::json!({ "sizes": results, "command": command }),
    )?;
    if !ok {
        bail!("medfen and scikit-learn disagree on the point estimates");
    }
    Ok(())
}

/// `medfen metrics` with its defaults on the 5000-exam file, end to end, against the
/// library's bootstrap (`library`, the 5000-exam row) and the scikit-learn loop.
fn command_row(
    ws: &Workspace,
    data: &std::path::Path,
    library: &serde_json::Value,
) -> Result<serde_json::Value> {
    let bin = commands::release_medfen(ws)?;
    let csv = data.join("exams_5000.csv");
    let csv = csv.to_string_lossy();
    let args = [
        "metrics", "--pred", &csv, "--score", "score", "--label", "label", "--group", "exam",
    ];
    let one = commands::best_wall_seconds(|| commands::medfen(&bin, ws.root(), &args, true))?;
    let all = commands::best_wall_seconds(|| commands::medfen(&bin, ws.root(), &args, false))?;
    let (lib_one, lib_all, sklearn) = (
        field(library, "medfen_seconds_1_thread")?,
        field(library, "medfen_seconds_all_cores")?,
        field(library, "sklearn_seconds")?,
    );
    println!(
        "\n`medfen metrics` end to end, defaults (2000 replicates of 14 statistics, calibration, \
         Obuchowski interval), 5000 exams, best of 3 runs:"
    );
    println!(
        "  1 thread  {one:.3} s = {:.2}x the library's bootstrap ({lib_one:.3} s), {:.0}x faster than the sklearn loop",
        one / lib_one,
        sklearn / one
    );
    println!(
        "  all cores {all:.3} s = {:.2}x the library's bootstrap ({lib_all:.3} s), {:.0}x faster than the sklearn loop",
        all / lib_all,
        sklearn / all
    );
    let within = all / lib_all <= 2.0 && one / lib_one <= 2.0;
    println!(
        "targets: within 2x of the library {}; >= 100x the sklearn loop on all cores {} (per core {:.0}x)",
        if within { "met" } else { "NOT met" },
        if sklearn / all >= 100.0 {
            "met"
        } else {
            "NOT met"
        },
        sklearn / one
    );
    Ok(serde_json::json!({
        "exams": 5000, "seconds_1_thread": one, "seconds_all_cores": all,
        "library_seconds_1_thread": lib_one, "library_seconds_all_cores": lib_all,
        "sklearn_loop_seconds": sklearn, "ratio_to_library_1_thread": one / lib_one,
        "ratio_to_library_all_cores": all / lib_all, "speedup_vs_sklearn_1_thread": sklearn / one,
        "speedup_vs_sklearn_all_cores": sklearn / all,
    }))
}

//! `cargo xtask bench dicom`: header scan, decode and assembly against pydicom.

use std::path::PathBuf;

use anyhow::{Context, Result};
use serde_json::Value;

use super::{
    J2kDecoder, cargo_bench_lines, commands, count_files, field, json_lines, write_results,
};
use crate::paths::Workspace;
use crate::{oracles, run};

/// Writes the benchmark series (explicit LE and RLE by medfen, JPEG 2000 by pydicom)
/// unless they are there.
fn prepare_data(
    ws: &Workspace,
    python: &std::path::Path,
    script: &std::path::Path,
    data: &std::path::Path,
) -> Result<()> {
    if count_files(&data.join("el")) != 120 || count_files(&data.join("rle")) != 120 {
        let _ = std::fs::remove_dir_all(data);
        cargo_bench_lines(ws, J2kDecoder::OpenjpegC, &["write"], data, &[])?;
    }
    if count_files(&data.join("j2k")) != 120 {
        let mut py = run::command(python, ws.root());
        py.arg(script).arg("convert").arg(data);
        run::status(&mut py).context("pydicom could not write the JPEG 2000 series")?;
    }
    Ok(())
}

/// The oracle's Python, the baseline script and the benchmark series (written when
/// missing).
fn ready(ws: &Workspace) -> Result<(PathBuf, PathBuf, PathBuf)> {
    let python = oracles::provision(ws)?;
    let data = ws.root().join("target").join("bench-data").join("dicom");
    let script = ws
        .root()
        .join("xtask")
        .join("bench")
        .join("dicom_pydicom.py");
    prepare_data(ws, &python, &script, &data)?;
    Ok((python, script, data))
}

pub(super) fn run(ws: &Workspace) -> Result<()> {
    let (python, script, data) = ready(ws)?;
    let mut rust = cargo_bench_lines(ws, J2kDecoder::OpenjpegC, &["measure"], &data, &[])?;
    for mut row in cargo_bench_lines(ws, J2kDecoder::Openjp2, &["measure"], &data, &["j2k"])? {
        row["syntax"] = Value::from("j2k-rs");
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
    // `j2k` is the default build (OpenJPEG's C code); `j2k-rs` the same files decoded by
    // the pure-Rust `j2k-openjp2` build (no target: the opt-out); both against pydicom.
    let targets = [
        ("el", "el", 4.0),
        ("rle", "rle", 4.0),
        ("j2k", "j2k", 1.0),
        ("j2k-rs", "j2k", 0.0),
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
            if stage == "decode" && target > 0.0 {
                verdicts.push(format!(
                    "{syntax} decode {:.1}x per core (target {target}x) {}",
                    one / py,
                    if one / py >= target { "met" } else { "NOT met" }
                ));
            }
        }
    }
    println!(
        "j2k = default build (OpenJPEG C from openjpeg-sys); j2k-rs = `--no-default-features --features j2k-openjp2` (openjp2, pure Rust; no target)"
    );
    println!("targets: {}", verdicts.join("; "));
    let volume = volume_command(ws, &python, &script, &data)?;
    write_results(
        ws,
        "dicom",
        &serde_json::json!({ "results": results, "volume_command": volume }),
    )
}

/// `cargo xtask bench volume`: only the end-to-end `medfen volume --out` row.
pub(super) fn run_volume(ws: &Workspace) -> Result<()> {
    let (python, script, data) = ready(ws)?;
    let volume = volume_command(ws, &python, &script, &data)?;
    write_results(
        ws,
        "volume",
        &serde_json::json!({ "volume_command": volume }),
    )
}

/// `medfen volume SERIES --out vol.npy` end to end against pydicom + np.save.
fn volume_command(
    ws: &Workspace,
    python: &std::path::Path,
    script: &std::path::Path,
    data: &std::path::Path,
) -> Result<Value> {
    let bin = commands::release_medfen(ws)?;
    let series = data.join("el");
    let out_dir = ws
        .root()
        .join("target")
        .join("bench-data")
        .join("volume-out");
    std::fs::create_dir_all(&out_dir)?;
    let (series_arg, npy) = (
        series.to_string_lossy().into_owned(),
        out_dir.join("medfen.npy").to_string_lossy().into_owned(),
    );
    let args = ["volume", &series_arg, "--out", &npy];
    let no_file = ["volume", &series_arg, "--json"];
    let (ours, theirs) = (out_dir.join("medfen.npy"), out_dir.join("numpy.npy"));
    let timed = |one_thread| {
        commands::best_wall_seconds_after(
            || commands::fresh_outputs(&[&ours]),
            || commands::medfen(&bin, ws.root(), &args, one_thread),
        )
    };
    let (one, all) = (timed(true)?, timed(false)?);
    let json = commands::best_wall_seconds(|| commands::medfen(&bin, ws.root(), &no_file, false))?;
    let py = commands::best_wall_seconds_after(
        || commands::fresh_outputs(&[&theirs]),
        || {
            let mut cmd = run::command(python, ws.root());
            cmd.arg(script).arg("save").arg(&series).arg(&theirs);
            cmd
        },
    )?;
    let same = std::fs::read(&ours)? == std::fs::read(&theirs)?;
    println!(
        "\n`medfen volume SERIES --out vol.npy` end to end (120 slices of 512x512, explicit LE, \
         float32, 126 MB), best of 3 runs, each writing a new file after `sync`:"
    );
    println!(
        "  medfen 1 thread {one:.3} s, all cores {all:.3} s (--json, no file: {json:.3} s); \
         pydicom + np.save {py:.3} s: {:.1}x per core, {:.1}x on all cores; identical files {}",
        py / one,
        py / all,
        if same { "yes" } else { "NO" }
    );
    println!(
        "targets: >= 4x pydicom + np.save per core {}",
        if py / one >= 4.0 { "met" } else { "NOT met" }
    );
    Ok(serde_json::json!({
        "slices": 120, "seconds_1_thread": one, "seconds_all_cores": all,
        "seconds_json_no_file": json, "pydicom_numpy_seconds": py,
        "ratio_per_core": py / one, "ratio_all_cores": py / all, "identical_files": same,
    }))
}

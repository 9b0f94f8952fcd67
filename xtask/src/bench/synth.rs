//! `cargo xtask bench synth`: `medfen synth` of 60 full-size exams.

use anyhow::{Context, Result};
use serde_json::Value;

use super::write_results;
use crate::paths::Workspace;
use crate::run;

pub(super) fn run(ws: &Workspace) -> Result<()> {
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

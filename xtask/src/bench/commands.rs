//! The commands users run, timed end to end as processes (start-up, reading and
//! writing included), against their Python equivalents in the same run: `medfen
//! metrics` with its defaults (part of `bench metrics`) and `medfen volume --out
//! vol.npy` (part of `bench dicom`).

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use anyhow::{Result, bail};

use crate::paths::Workspace;
use crate::run;

/// Runs of each timed command; the best is kept (noise only ever adds time).
const RUNS: usize = 3;

/// Builds the release `medfen` and returns its path.
pub(super) fn release_medfen(ws: &Workspace) -> Result<std::path::PathBuf> {
    let mut build = run::command("cargo", ws.root());
    build.args([
        "build",
        "--release",
        "--locked",
        "-p",
        "medfen-cli",
        "--bin",
        "medfen",
    ]);
    run::status(&mut build)?;
    Ok(ws.root().join("target").join("release").join("medfen"))
}

/// The best wall time of `RUNS` runs of the command `make` builds (output discarded).
pub(super) fn best_wall_seconds(make: impl Fn() -> Command) -> Result<f64> {
    best_wall_seconds_after(|| Ok(()), make)
}

/// As [`best_wall_seconds`], with `before` run (untimed) before each run.
pub(super) fn best_wall_seconds_after(
    before: impl Fn() -> Result<()>,
    make: impl Fn() -> Command,
) -> Result<f64> {
    let mut best = f64::INFINITY;
    for _ in 0..RUNS {
        before()?;
        let mut cmd = make();
        let started = Instant::now();
        let out = cmd
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .output()?;
        let seconds = started.elapsed().as_secs_f64();
        if !out.status.success() {
            bail!(
                "`{}` failed ({}):\n{}",
                run::describe(&cmd),
                out.status,
                String::from_utf8_lossy(&out.stderr)
            );
        }
        best = best.min(seconds);
    }
    Ok(best)
}

/// `medfen` with `args`, on one thread or on every core.
pub(super) fn medfen(bin: &Path, dir: &Path, args: &[&str], one_thread: bool) -> Command {
    let mut cmd = run::command(bin, dir);
    cmd.arg("-q").args(args);
    if one_thread {
        cmd.env("RAYON_NUM_THREADS", "1");
    } else {
        cmd.env_remove("RAYON_NUM_THREADS");
    }
    cmd
}

/// Removes `files` and waits for the system's dirty pages to reach the disk: each timed
/// export then writes a new file on a quiet page cache (replacing a 126 MB file that is
/// still being written back costs either tool 0.1-0.3 s of kernel time).
pub(super) fn fresh_outputs(files: &[&Path]) -> Result<()> {
    for f in files {
        match std::fs::remove_file(f) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e.into()),
        }
    }
    let status = Command::new("sync").status()?;
    if !status.success() {
        bail!("sync failed ({status})");
    }
    Ok(())
}

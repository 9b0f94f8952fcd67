//! Running external commands with a visible command line and a clear failure message.

use std::ffi::OsStr;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use anyhow::{Context, Result, bail};

/// Builds a command in `dir` (the workspace root unless told otherwise).
pub fn command(program: impl AsRef<OsStr>, dir: &Path) -> Command {
    let mut cmd = Command::new(program);
    cmd.current_dir(dir);
    cmd
}

/// A printable form of a command line, for logs and errors.
pub fn describe(cmd: &Command) -> String {
    let mut out = cmd.get_program().to_string_lossy().into_owned();
    for arg in cmd.get_args() {
        out.push(' ');
        out.push_str(&arg.to_string_lossy());
    }
    out
}

/// Runs a command with inherited stdio; fails when it cannot start or exits non-zero.
pub fn status(cmd: &mut Command) -> Result<()> {
    let line = describe(cmd);
    eprintln!("▶ {line}");
    let status = cmd
        .status()
        .with_context(|| format!("could not start `{line}`"))?;
    if !status.success() {
        bail!("`{line}` failed ({status})");
    }
    Ok(())
}

/// Runs a command and captures its output; fails when it cannot start or exits non-zero.
pub fn output(cmd: &mut Command) -> Result<Output> {
    let line = describe(cmd);
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("could not start `{line}`"))?;
    if !out.status.success() {
        bail!(
            "`{line}` failed ({}):\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(out)
}

/// Checks that `python3 -m pip` works, with an actionable message when it does not.
pub fn require_pip(root: &Path) -> Result<()> {
    let mut cmd = command("python3", root);
    cmd.args(["-m", "pip", "--version"]);
    match cmd.stdin(Stdio::null()).output() {
        Ok(out) if out.status.success() => Ok(()),
        Ok(out) => bail!(
            "pip is not usable (`python3 -m pip --version` exited with {}): {}\n\
             medfen fetches libtorch and the test oracles from PyPI with pip; install it \
             (Debian: `apt-get install python3-pip python3-venv`) and rerun.",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ),
        Err(err) => bail!(
            "python3 was not found ({err}).\n\
             medfen fetches libtorch and the test oracles from PyPI with pip; install \
             Python 3 with pip and venv (Debian: `apt-get install python3-pip python3-venv`) \
             and rerun."
        ),
    }
}

/// Fails with a clear message when the file system holding `dir` has less than
/// `needed_bytes` available.
pub fn require_space(dir: &Path, needed_bytes: u64, what: &str) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let available = fs4::available_space(dir)
        .with_context(|| format!("cannot read free space of {}", dir.display()))?;
    if available < needed_bytes {
        bail!(
            "not enough disk space for {what}: {} has {:.2} GB free, {:.2} GB needed",
            dir.display(),
            gb(available),
            gb(needed_bytes)
        );
    }
    Ok(())
}

/// Prints a warning when the file system holding `dir` has less than `wanted_bytes`
/// available (for estimates too rough to refuse on).
pub fn warn_if_short(dir: &Path, wanted_bytes: u64, what: &str) {
    if let Ok(available) = fs4::available_space(dir)
        && available < wanted_bytes
    {
        eprintln!(
            "warning: {} has {:.2} GB free; {what} needs about {:.1} GB",
            dir.display(),
            gb(available),
            gb(wanted_bytes)
        );
    }
}

fn gb(bytes: u64) -> f64 {
    bytes as f64 / 1e9
}

/// `medfen index` of a synth dataset's `synth/labels.xlsx` and `synth/dicom` into
/// `work/exams.parquet`, then `medfen manifest` into `work/ears.parquet` (with
/// `manifest_options`), each through `medfen` (which runs one command line).
pub fn index_and_manifest(
    medfen: &dyn Fn(&[&str]) -> Result<()>,
    manifest_options: &[&str],
) -> Result<()> {
    medfen(&[
        "-q",
        "index",
        "--labels",
        "synth/labels.xlsx",
        "--dicom-root",
        "synth/dicom",
        "--out",
        "work/exams.parquet",
    ])?;
    let mut manifest = vec![
        "-q",
        "manifest",
        "--index",
        "work/exams.parquet",
        "--out",
        "work/ears.parquet",
    ];
    manifest.extend_from_slice(manifest_options);
    medfen(&manifest)
}

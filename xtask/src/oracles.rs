//! `cargo xtask oracles`: the Python virtual environment with the test oracles.
//!
//! Tests compare medfen against scikit-learn (metrics), pydicom (+ the pylibjpeg codecs
//! and pyjpegls) and nibabel. The environment lives in `.cache/oracle-venv`, is created
//! once from the exact pins in `xtask/oracle-requirements.txt`, and is rebuilt only when that file
//! changes. Tests find its interpreter through `MEDFEN_ORACLE_PYTHON`, which
//! `.cargo/config.toml` sets for every cargo command; a test that needs an oracle fails
//! with a clear message when the interpreter is missing.

use std::fs;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result};

use crate::paths::Workspace;
use crate::run;

const REQUIREMENTS: &str = include_str!("../oracle-requirements.txt");
const STAMP_FILE: &str = "medfen-oracles.stamp";

/// Makes sure the oracle environment exists and matches the pinned requirements;
/// returns its Python interpreter.
pub fn provision(ws: &Workspace) -> Result<PathBuf> {
    let started = Instant::now();
    let venv = ws.oracle_venv();
    let python = ws.oracle_python();
    let stamp_path = venv.join(STAMP_FILE);
    let wanted = stamp_text();
    if python.exists() && fs::read_to_string(&stamp_path).ok().as_deref() == Some(&wanted) {
        eprintln!(
            "test oracles ready at {} [{:.2}s]",
            venv.display(),
            started.elapsed().as_secs_f64()
        );
        return Ok(python);
    }
    run::require_pip(ws.root())?;
    run::require_space(
        venv.parent().unwrap_or(ws.root()),
        // The installed environment takes 0.62 GB; pip unpacks beside it.
        1_000_000_000,
        "the test-oracle environment",
    )?;
    if venv.exists() {
        fs::remove_dir_all(&venv)
            .with_context(|| format!("cannot remove stale {}", venv.display()))?;
    }
    let mut mk = run::command("python3", ws.root());
    mk.args(["-m", "venv"]).arg(&venv);
    run::status(&mut mk).context(
        "could not create the oracle virtual environment (Debian: apt-get install python3-venv)",
    )?;
    let requirements = venv.join("requirements.txt");
    fs::write(&requirements, REQUIREMENTS)?;
    let mut pip = run::command(&python, ws.root());
    pip.args(["-m", "pip", "install", "--only-binary=:all:", "--cache-dir"])
        .arg(ws.wheel_cache().join("pip-http"))
        .arg("-r")
        .arg(&requirements);
    run::status(&mut pip).context("could not install the test oracles from PyPI")?;
    let mut check = run::command(&python, ws.root());
    check.args([
        "-c",
        "import numpy, pandas, pyarrow, openpyxl, sklearn, scipy, pydicom, pylibjpeg, \
         openjpeg, rle, libjpeg, jpeg_ls, nibabel; print('oracles import ok')",
    ]);
    run::output(&mut check).context("the oracle environment was installed but does not import")?;
    fs::write(&stamp_path, wanted)?;
    eprintln!(
        "test oracles installed at {} [{:.1}s]",
        venv.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(python)
}

/// The stamp records the exact requirements, so editing the pins rebuilds the venv.
fn stamp_text() -> String {
    format!("medfen oracle environment\n{REQUIREMENTS}")
}

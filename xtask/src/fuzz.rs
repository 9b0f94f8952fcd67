//! `cargo xtask fuzz dicom`: run the medfen-dicom parse+decode fuzz target.
//!
//! Installs cargo-fuzz from crates.io when missing, writes the seed corpus with the
//! `fuzz_seeds` example (so no binary seeds are committed), and runs libFuzzer for the
//! given time with a 2 GB memory cap: a panic, an abort or an allocation beyond the cap
//! fails the run and leaves the input in `crates/medfen-dicom/fuzz/artifacts/`.
//! The toolchain here is stable; `RUSTC_BOOTSTRAP=1` lets it accept the sanitizer flags
//! cargo-fuzz passes.

use anyhow::{Context, Result};

use crate::paths::Workspace;
use crate::run;

/// Options of `cargo xtask fuzz`.
#[derive(clap::Args)]
pub struct Args {
    /// What to fuzz.
    #[arg(value_enum)]
    target: Target,
    /// How long to fuzz, in seconds.
    #[arg(long, default_value_t = 60)]
    seconds: u64,
}

#[derive(clap::ValueEnum, Clone, Copy)]
enum Target {
    /// medfen-dicom: header parsing and pixel decoding of arbitrary bytes.
    Dicom,
}

/// Runs the fuzzer.
pub fn run(ws: &Workspace, args: &Args) -> Result<()> {
    let Target::Dicom = args.target;
    let has_fuzz = run::command("cargo", ws.root())
        .args(["fuzz", "--version"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_fuzz {
        let mut install = run::command("cargo", ws.root());
        install.args(["install", "cargo-fuzz", "--locked"]);
        run::status(&mut install).context("could not install cargo-fuzz from crates.io")?;
    }
    let crate_dir = ws.root().join("crates").join("medfen-dicom");
    let corpus = crate_dir.join("fuzz").join("corpus").join("parse_decode");
    let mut seeds = run::command("cargo", ws.root());
    seeds
        .args([
            "run",
            "--quiet",
            "--locked",
            "-p",
            "medfen-dicom",
            "--example",
            "fuzz_seeds",
            "--",
        ])
        .arg(&corpus);
    run::status(&mut seeds)?;
    let mut fuzz = run::command("cargo", &crate_dir);
    fuzz.env("RUSTC_BOOTSTRAP", "1")
        .args(["fuzz", "run", "parse_decode", "--"])
        .arg(format!("-max_total_time={}", args.seconds))
        .arg("-rss_limit_mb=2048");
    run::status(&mut fuzz)
        .context("the fuzzer found a failing input (see crates/medfen-dicom/fuzz/artifacts/)")?;
    println!("fuzz dicom: no failure in {} s", args.seconds);
    Ok(())
}

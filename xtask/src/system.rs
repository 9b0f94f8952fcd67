//! Debian packages some optional features build with, installed when missing.
//!
//! Today only one: `cmake`, which the `charls-sys` crate (crates.io) uses to compile the
//! CharLS sources it bundles, for medfen-dicom's `jpeg-ls` feature. Nothing else is
//! fetched: the sources come from crates.io, the tool from Debian's package registry.

use std::path::Path;
use std::process::Stdio;

use anyhow::{Result, bail};

use crate::run;

/// The cargo feature `cargo xtask test` (and the demo) build with on top of the defaults.
pub const JPEG_LS_FEATURE: &str = "medfen-dicom/jpeg-ls";

fn works(program: &str, args: &[&str], root: &Path) -> bool {
    run::command(program, root)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn is_root(root: &Path) -> bool {
    run::command("id", root)
        .arg("-u")
        .stdin(Stdio::null())
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// Makes sure `cmake` is on `PATH`: a no-op when it is; otherwise installs Debian's
/// `cmake` with apt-get when running as root, and fails with the command to run when not.
pub fn ensure_cmake(root: &Path) -> Result<()> {
    if works("cmake", &["--version"], root) {
        return Ok(());
    }
    let advice = "JPEG-LS decoding (medfen-dicom's `jpeg-ls` feature) compiles CharLS from the \
                  charls-sys crate with cmake";
    if !works("apt-get", &["--version"], root) {
        bail!("cmake is missing and apt-get is not available. {advice}: install cmake and rerun.");
    }
    if !is_root(root) {
        bail!("cmake is missing. {advice}: run `sudo apt-get install cmake` and rerun.");
    }
    eprintln!("cmake is missing: installing Debian's cmake package ({advice})");
    let install = |root: &Path| {
        let mut cmd = run::command("apt-get", root);
        cmd.args(["install", "-y", "--no-install-recommends", "cmake"])
            .env("DEBIAN_FRONTEND", "noninteractive");
        run::status(&mut cmd)
    };
    if install(root).is_err() {
        // A fresh machine may have no package lists yet.
        let mut update = run::command("apt-get", root);
        update
            .arg("update")
            .env("DEBIAN_FRONTEND", "noninteractive");
        run::status(&mut update)?;
        install(root)?;
    }
    if !works("cmake", &["--version"], root) {
        bail!("apt-get installed cmake but `cmake --version` still fails");
    }
    Ok(())
}

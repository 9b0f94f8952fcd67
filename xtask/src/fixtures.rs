//! `cargo xtask fixtures`: regenerates the committed synthetic datasets in `fixtures/`
//! with `medfen synth`. The test `medfen-synth/tests/fixture.rs` regenerates them from
//! their `synth.json` stamps and fails on any byte of difference, so a change to the
//! phantom that forgets this command is caught.

use anyhow::{Context, Result};

use crate::paths::Workspace;
use crate::run;

/// Each fixture: folder under `fixtures/` and the `medfen synth` options that make it.
pub const FIXTURES: &[(&str, &[&str])] = &[(
    "synth-ear",
    &[
        "--exams",
        "6",
        "--seed",
        "7",
        "--matrix",
        "64",
        "--syntax",
        "mixed",
        "--corrupt-rate",
        "0.5",
        "--blank-sides",
        "0.1",
    ],
)];

/// Deletes and rewrites every fixture.
pub fn run(ws: &Workspace) -> Result<()> {
    for (name, options) in FIXTURES {
        let dir = ws.root().join("fixtures").join(name);
        if dir.exists() {
            std::fs::remove_dir_all(&dir)
                .with_context(|| format!("cannot remove {}", dir.display()))?;
        }
        let mut cmd = run::command("cargo", ws.root());
        cmd.args([
            "run",
            "--release",
            "--quiet",
            "-p",
            "medfen-cli",
            "--",
            "-q",
            "synth",
            "--out",
        ])
        .arg(&dir)
        .args(*options);
        run::status(&mut cmd)?;
        eprintln!("fixtures/{name}: regenerated");
    }
    Ok(())
}

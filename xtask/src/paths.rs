//! Where things live in a medfen checkout.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

/// The checkout xtask operates on, and the ignored folders it provisions.
pub struct Workspace {
    root: PathBuf,
}

impl Workspace {
    /// Finds the workspace root: the parent of xtask's manifest directory.
    pub fn locate() -> Result<Self> {
        let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        let root = manifest
            .parent()
            .context("xtask manifest directory has no parent")?
            .to_path_buf();
        if !root.join("Cargo.toml").is_file() {
            bail!(
                "{} does not look like the medfen workspace root",
                root.display()
            );
        }
        Ok(Self { root })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `.libtorch/`: assembled libtorch kits and the `active` link torch-sys builds against.
    pub fn libtorch_dir(&self) -> PathBuf {
        self.root.join(".libtorch")
    }

    /// `.libtorch/active`: the libtorch `.cargo/config.toml` points `LIBTORCH` at.
    pub fn libtorch_active(&self) -> PathBuf {
        self.libtorch_dir().join("active")
    }

    /// Downloaded wheels (`MEDFEN_WHEEL_CACHE` or `.cache/wheels`).
    pub fn wheel_cache(&self) -> PathBuf {
        std::env::var_os("MEDFEN_WHEEL_CACHE")
            .map_or_else(|| self.root.join(".cache").join("wheels"), PathBuf::from)
    }

    /// `.cache/oracle-venv`: Python virtual environment with the test oracles.
    pub fn oracle_venv(&self) -> PathBuf {
        self.root.join(".cache").join("oracle-venv")
    }

    /// The Python interpreter of the oracle environment.
    pub fn oracle_python(&self) -> PathBuf {
        self.oracle_venv().join("bin").join("python")
    }
}

//! Running model subcommands in `medfen-torch`, the libtorch-linked sibling executable.
//!
//! `medfen` itself never links libtorch (loading it costs 0.3-0.5 s of CPU at every
//! process start). Model subcommands (`doctor`, `train`, `eval`, `predict`) are
//! forwarded git-style: `medfen doctor --json` replaces itself with
//! `medfen-torch doctor --json`, so exit codes, signals and output behave exactly as if
//! the user had run the sibling directly.
//!
//! Under `cargo run` (a workspace build, where the sibling may not have been built
//! yet) a missing `medfen-torch` is built first with the same profile, so
//! `cargo run --bin medfen-train -- ...` works from a fresh checkout.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use crate::error::{Error, Result};
use crate::logging::LogArgs;

/// File name of the model executable.
pub const MODEL_BINARY: &str = "medfen-torch";
/// Environment variable naming the model executable explicitly.
pub const MODEL_BINARY_ENV: &str = "MEDFEN_TORCH";

/// Finds `medfen-torch`: `$MEDFEN_TORCH`, then the folder of the running executable
/// (building it there first when running under `cargo run`), then `PATH`.
///
/// # Errors
/// When `$MEDFEN_TORCH` names a missing file, or the executable is found nowhere; the
/// message says where it looked and how to build it.
pub fn locate() -> Result<PathBuf> {
    if let Some(explicit) = std::env::var_os(MODEL_BINARY_ENV) {
        let path = PathBuf::from(explicit);
        if path.is_file() {
            return Ok(path);
        }
        return Err(Error::Sibling(format!(
            "{MODEL_BINARY_ENV}={} does not name an executable file",
            path.display()
        )));
    }
    let beside_me = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|dir| dir.join(MODEL_BINARY)));
    if let Some(candidate) = beside_me.as_deref()
        && (candidate.is_file() || build_under_cargo(candidate))
    {
        return Ok(candidate.to_path_buf());
    }
    if let Some(found) = search_path(MODEL_BINARY) {
        return Ok(found);
    }
    let looked = beside_me.map_or_else(String::new, |p| format!("{}, ", p.display()));
    Err(Error::Sibling(format!(
        "this subcommand runs in `{MODEL_BINARY}`, the libtorch-linked half of medfen, \
         which was not found (looked at {looked}PATH, and ${MODEL_BINARY_ENV} is unset).\n\
         Build it with `cargo xtask libtorch && cargo build --release -p {MODEL_BINARY}` and \
         keep it next to `medfen` (or install the bundle `cargo xtask dist` makes)."
    )))
}

/// Under `cargo run` (cargo sets `$CARGO` and `$CARGO_MANIFEST_DIR` for the program it
/// runs) and from a cargo profile folder (`target/debug`, `target/release`), builds the
/// sibling with that profile; true when it now exists.
fn build_under_cargo(candidate: &Path) -> bool {
    let (Some(cargo), Some(manifest_dir)) = (
        std::env::var_os("CARGO"),
        std::env::var_os("CARGO_MANIFEST_DIR"),
    ) else {
        return false;
    };
    let profile = candidate
        .parent()
        .and_then(Path::file_name)
        .and_then(|n| n.to_str());
    let release = match profile {
        Some("debug") => false,
        Some("release") => true,
        _ => return false,
    };
    tracing::info!(
        "building {MODEL_BINARY} first (cargo build -p {MODEL_BINARY}); this takes a few minutes once"
    );
    let mut build = Command::new(cargo);
    build
        .current_dir(manifest_dir)
        .args(["build", "--quiet", "-p", MODEL_BINARY]);
    if release {
        build.arg("--release");
    }
    build.status().is_ok_and(|s| s.success()) && candidate.is_file()
}

fn search_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

/// The command line that runs `subcommand args...` in the model executable at `exe`.
pub fn command(exe: &Path, log: LogArgs, subcommand: &str, args: &[OsString]) -> Command {
    let mut cmd = Command::new(exe);
    cmd.args(log.to_args()).arg(subcommand).args(args);
    cmd
}

/// Replaces this process with the model executable running `subcommand args...`.
///
/// # Errors
/// Only returns when the executable cannot be found or started.
pub fn exec(log: LogArgs, subcommand: &str, args: &[OsString]) -> Result<ExitCode> {
    let exe = locate()?;
    let mut cmd = command(&exe, log, subcommand, args);
    tracing::debug!(exe = %exe.display(), subcommand, "running model subcommand");
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        let err = cmd.exec();
        Err(Error::Sibling(format!(
            "cannot run {}: {err}",
            exe.display()
        )))
    }
    #[cfg(not(unix))]
    {
        let status = cmd
            .status()
            .map_err(|err| Error::Sibling(format!("cannot run {}: {err}", exe.display())))?;
        Ok(ExitCode::from(
            status.code().map_or(1, |c| u8::try_from(c).unwrap_or(1)),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwards_log_flags_before_the_subcommand() {
        let log = LogArgs {
            verbose: 1,
            quiet: 0,
        };
        let cmd = command(
            Path::new("/x/medfen-torch"),
            log,
            "doctor",
            &["--json".into()],
        );
        let args: Vec<_> = cmd
            .get_args()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        assert_eq!(args, ["-v", "doctor", "--json"]);
        assert_eq!(cmd.get_program(), "/x/medfen-torch");
    }
}

//! Running model subcommands in `medfen-torch`, the libtorch-linked sibling executable.
//!
//! `medfen` itself never links libtorch (loading it costs 0.3-0.5 s of CPU at every
//! process start). Model subcommands (`doctor`, and later `train`, `eval`, ...) are
//! forwarded git-style: `medfen doctor --json` replaces itself with
//! `medfen-torch doctor --json`, so exit codes, signals and output behave exactly as if
//! the user had run the sibling directly.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Result, bail};

use crate::logging::LogArgs;

/// File name of the model executable.
pub const MODEL_BINARY: &str = "medfen-torch";
/// Environment variable naming the model executable explicitly.
pub const MODEL_BINARY_ENV: &str = "MEDFEN_TORCH";

/// Finds `medfen-torch`: `$MEDFEN_TORCH`, then the directory of the running executable,
/// then `PATH`.
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
        bail!(
            "{MODEL_BINARY_ENV}={} does not name an executable file",
            path.display()
        );
    }
    let beside_me = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|dir| dir.join(MODEL_BINARY)));
    if let Some(candidate) = beside_me.as_deref().filter(|p| p.is_file()) {
        return Ok(candidate.to_path_buf());
    }
    if let Some(found) = search_path(MODEL_BINARY) {
        return Ok(found);
    }
    let looked = beside_me.map_or_else(String::new, |p| format!("{}, ", p.display()));
    bail!(
        "this subcommand runs in `{MODEL_BINARY}`, the libtorch-linked half of medfen, \
         which was not found (looked at {looked}PATH, and ${MODEL_BINARY_ENV} is unset).\n\
         Build it with `cargo xtask libtorch && cargo build --release -p {MODEL_BINARY}` and \
         keep it next to `medfen`."
    )
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
pub fn exec(log: LogArgs, subcommand: &str, args: &[OsString]) -> Result<std::process::ExitCode> {
    let exe = locate()?;
    let mut cmd = command(&exe, log, subcommand, args);
    tracing::debug!(exe = %exe.display(), subcommand, "running model subcommand");
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        let err = cmd.exec();
        bail!("cannot run {}: {err}", exe.display());
    }
    #[cfg(not(unix))]
    {
        let status = cmd
            .status()
            .map_err(|err| anyhow::anyhow!("cannot run {}: {err}", exe.display()))?;
        Ok(std::process::ExitCode::from(
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

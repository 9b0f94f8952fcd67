//! Results on stdout.

use std::io::{self, Write};

use crate::error::{Error, Result};

/// Writes `text` to stdout; a reader that went away (`| head`) is not an error.
///
/// # Errors
/// Any other write failure.
pub fn print(text: &str) -> Result<()> {
    let mut out = io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        other => other.map_err(Error::Stdout),
    }
}

/// Writes `value` to stdout as pretty JSON with a final newline (the `--json` form of
/// every command's summary).
///
/// # Errors
/// As [`print()`]; a value that cannot be serialised.
pub fn print_json(value: &impl serde::Serialize) -> Result<()> {
    let text = serde_json::to_string_pretty(value).map_err(|e| Error::Stdout(e.into()))?;
    print(&format!("{text}\n"))
}

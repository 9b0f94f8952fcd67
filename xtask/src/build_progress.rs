//! A cargo build shown as one progress line instead of hundreds of compiler lines: the
//! step, the crates compiled so far, the elapsed time and what to expect. The compiler's
//! output is kept and printed in full only when the build fails.

use std::io::{BufRead, BufReader, IsTerminal, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::run;

/// Runs `cargo build ...` (`cmd`) for `what`, printing progress on one line; `expect`
/// says how long a first build takes (a rebuild takes seconds).
pub fn cargo_build(cmd: &mut Command, what: &str, expect: &str) -> Result<()> {
    let line = run::describe(cmd);
    eprintln!("▶ {line}");
    eprintln!("  building {what} ({expect}; later builds reuse target/ and take seconds)");
    let mut child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("could not start `{line}`"))?;
    let stderr = child.stderr.take().context("cargo's stderr")?;
    let started = Instant::now();
    let tty = std::io::stderr().is_terminal();
    let (mut compiled, mut log, mut last_print) = (0usize, String::new(), Instant::now());
    for l in BufReader::new(stderr).lines() {
        let l = l.unwrap_or_default();
        let trimmed = l.trim_start();
        if trimmed.starts_with("Compiling ") {
            compiled += 1;
            let name = trimmed.split_whitespace().nth(1).unwrap_or("");
            let status = format!(
                "  {compiled} crates compiled, {} elapsed (now: {name})",
                clock(started.elapsed())
            );
            if tty {
                eprint!("\r\x1b[2K{status}");
                let _ = std::io::stderr().flush();
            } else if last_print.elapsed() >= Duration::from_secs(30) {
                eprintln!("{status}");
                last_print = Instant::now();
            }
        }
        log.push_str(&l);
        log.push('\n');
    }
    let status = child
        .wait()
        .with_context(|| format!("waiting for `{line}`"))?;
    if tty {
        eprint!("\r\x1b[2K");
    }
    if !status.success() {
        eprint!("{log}");
        bail!("`{line}` failed ({status})");
    }
    eprintln!(
        "  built {what}: {compiled} crates compiled in {}",
        clock(started.elapsed())
    );
    Ok(())
}

/// `1m05s` or `12s`.
pub fn clock(d: Duration) -> String {
    let s = d.as_secs();
    if s >= 60 {
        format!("{}m{:02}s", s / 60, s % 60)
    } else {
        format!("{s}s")
    }
}

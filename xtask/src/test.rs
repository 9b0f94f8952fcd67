//! `cargo xtask test`: every check CI runs, cheapest first, ending in one summary line.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::paths::Workspace;
use crate::{libtorch, oracles, run, system};

/// Options of `cargo xtask test`.
#[derive(clap::Args)]
pub struct Args {
    /// Skip `cargo fmt --check`, clippy and rustdoc (tests only).
    #[arg(long)]
    tests_only: bool,
    /// Test-name filters passed to nextest (e.g. `cargo xtask test -- auroc`).
    #[arg(last = true)]
    filters: Vec<String>,
}

struct Outcome {
    name: &'static str,
    ok: bool,
    detail: String,
    took: Duration,
}

/// Every check CI runs, in order: fmt, clippy and rustdoc (unless `tests_only`), then
/// the tests and doc tests.
fn checks(ws: &Workspace, env: &Env, args: &Args) -> Vec<Outcome> {
    // Every check builds the optional JPEG-LS decoder too, so it is linted and tested.
    let features = ["--features", system::JPEG_LS_FEATURE];
    let mut outcomes = Vec::new();
    if !args.tests_only {
        outcomes.push(step("fmt", || {
            let mut cmd = env.cargo(ws, &["fmt", "--all", "--", "--check"]);
            run::status(&mut cmd).map(|()| "ok".to_owned())
        }));
        outcomes.push(step("clippy", || {
            // The GPU tests are compiled (and linted) here; they run on CUDA hosts.
            let with_gpu = format!("{},medfen-models/cuda-tests", features[1]);
            let mut cmd = env.cargo(
                ws,
                &[
                    "clippy",
                    "--workspace",
                    "--all-targets",
                    "--locked",
                    features[0],
                    &with_gpu,
                    "--",
                    "-D",
                    "warnings",
                ],
            );
            run::status(&mut cmd).map(|()| "ok".to_owned())
        }));
        outcomes.push(step("rustdoc", || {
            let mut cmd = env.cargo(
                ws,
                &[
                    "doc",
                    "--workspace",
                    "--no-deps",
                    "--locked",
                    features[0],
                    features[1],
                ],
            );
            cmd.env("RUSTDOCFLAGS", "-D warnings");
            run::status(&mut cmd).map(|()| "ok".to_owned())
        }));
    }
    outcomes.push(step("tests", || {
        let mut cmd = env.cargo(
            ws,
            &[
                "nextest",
                "run",
                "--workspace",
                "--locked",
                "--profile",
                "ci",
                features[0],
                features[1],
            ],
        );
        cmd.args(&args.filters);
        let lines = tee(&mut cmd, |l| l.trim_start().starts_with("Summary"))?;
        Ok(lines
            .last()
            .map_or_else(|| "passed".to_owned(), |l| summarize_nextest(l)))
    }));
    if args.filters.is_empty() {
        outcomes.push(doctests(ws, env, &features));
        // README's commands need the binaries the tests built; the demo is the
        // pipeline a newcomer runs first, checked against what README says it prints.
        outcomes.push(step("readme", || crate::readme::check(ws)));
        outcomes.push(step("demo", || crate::demo::check_against_readme(ws)));
    }
    outcomes
}

/// The doc tests.
fn doctests(ws: &Workspace, env: &Env, features: &[&str; 2]) -> Outcome {
    step("doctests", || {
        let mut cmd = env.cargo(
            ws,
            &[
                "test",
                "--doc",
                "--workspace",
                "--locked",
                features[0],
                features[1],
            ],
        );
        let lines = tee(&mut cmd, |l| l.starts_with("test result:"))?;
        let passed: usize = lines.iter().filter_map(|l| count_passed(l)).sum();
        Ok(format!("{passed} passed"))
    })
}

/// Prints each check's line and the one summary line; fails when a check failed.
fn summarize(outcomes: &[Outcome], started: Instant) -> Result<()> {
    let failed: Vec<&Outcome> = outcomes.iter().filter(|o| !o.ok).collect();
    eprintln!();
    for o in outcomes {
        eprintln!(
            "  {:<9} {:<4} {:>6.1}s  {}",
            o.name,
            if o.ok { "ok" } else { "FAIL" },
            o.took.as_secs_f64(),
            o.detail
        );
    }
    let parts: Vec<String> = outcomes
        .iter()
        .map(|o| format!("{} {}", o.name, if o.ok { &o.detail } else { "FAILED" }))
        .collect();
    let total = started.elapsed().as_secs();
    let verdict = if failed.is_empty() { "PASS" } else { "FAIL" };
    println!(
        "medfen checks: {verdict} — {} — {}m{:02}s",
        parts.join(", "),
        total / 60,
        total % 60
    );
    if !failed.is_empty() {
        bail!(
            "{} of {} checks failed: {}",
            failed.len(),
            outcomes.len(),
            failed.iter().map(|o| o.name).collect::<Vec<_>>().join(", ")
        );
    }
    Ok(())
}

/// Runs the checks and prints `medfen checks: PASS|FAIL ...` as the last line.
pub fn run(ws: &Workspace, args: &Args) -> Result<()> {
    let started = Instant::now();
    if !ws.root().join("target").join("debug").exists() {
        // A first build fills `target/` with about 4.1 GB, libtorch and the oracles
        // another 1.1 GB; say so now rather than with a linker error ten minutes in.
        run::warn_if_short(ws.root(), 5_500_000_000, "a first `cargo xtask test`");
    }
    let kit = libtorch::provision(ws, &libtorch::Args::keep_active())?;
    let oracle_python = oracles::provision(ws)?;
    system::ensure_cmake(ws.root())?;
    // Doc-test binaries have no rpath: they find libtorch through the library path.
    let library_path = std::env::join_paths(
        crate::dist::library_dirs(ws, &kit)?.into_iter().chain(
            std::env::var_os("LD_LIBRARY_PATH")
                .iter()
                .flat_map(std::env::split_paths),
        ),
    )?;
    let env = Env {
        vars: libtorch::cargo_env(&kit)
            .into_iter()
            .chain([
                (
                    "MEDFEN_ORACLE_PYTHON".to_owned(),
                    oracle_python.display().to_string(),
                ),
                (
                    "LD_LIBRARY_PATH".to_owned(),
                    library_path.to_string_lossy().into_owned(),
                ),
            ])
            .collect(),
    };
    let outcomes = checks(ws, &env, args);
    summarize(&outcomes, started)
}

/// Extra environment for every cargo command of the run.
struct Env {
    vars: Vec<(String, String)>,
}

impl Env {
    fn cargo(&self, ws: &Workspace, args: &[&str]) -> Command {
        let mut cmd = run::command("cargo", ws.root());
        cmd.args(args);
        for (k, v) in &self.vars {
            cmd.env(k, v);
        }
        cmd
    }
}

fn step(name: &'static str, f: impl FnOnce() -> Result<String>) -> Outcome {
    let started = Instant::now();
    let result = f();
    let took = started.elapsed();
    match result {
        Ok(detail) => Outcome {
            name,
            ok: true,
            detail,
            took,
        },
        Err(err) => {
            eprintln!("check `{name}` failed: {err:#}");
            Outcome {
                name,
                ok: false,
                detail: format!("{err:#}").lines().next().unwrap_or("").to_owned(),
                took,
            }
        }
    }
}

/// Runs `cmd`, echoing its output, and returns the lines `keep` selects. Fails when
/// the command exits non-zero.
fn tee(cmd: &mut Command, keep: impl Fn(&str) -> bool) -> Result<Vec<String>> {
    let line = run::describe(cmd);
    eprintln!("▶ {line}");
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("could not start `{line}`"))?;
    let stdout = child.stdout.take().context("no stdout pipe")?;
    let stderr = child.stderr.take().context("no stderr pipe")?;
    // Both streams are drained concurrently so neither pipe can fill and block.
    let err_thread = std::thread::spawn(move || {
        let mut kept = Vec::new();
        for l in BufReader::new(stderr).lines().map_while(Result::ok) {
            eprintln!("{l}");
            kept.push(l);
        }
        kept
    });
    let mut kept = Vec::new();
    let mut out = std::io::stdout().lock();
    for l in BufReader::new(stdout).lines().map_while(Result::ok) {
        writeln!(out, "{l}")?;
        if keep(&l) {
            kept.push(l);
        }
    }
    drop(out);
    let err_lines = err_thread.join().unwrap_or_default();
    kept.extend(err_lines.into_iter().filter(|l| keep(l)));
    let status = child.wait()?;
    if !status.success() {
        bail!("`{line}` failed ({status})");
    }
    Ok(kept)
}

/// `Summary [  12.345s] 45 tests run: 45 passed, 1 skipped` -> `45 passed, 1 skipped`.
fn summarize_nextest(line: &str) -> String {
    line.split_once(':')
        .map_or(line, |(_, rest)| rest)
        .trim()
        .to_owned()
}

/// `test result: ok. 7 passed; 0 failed; ...` -> 7.
fn count_passed(line: &str) -> Option<usize> {
    let rest = line.split_once(". ")?.1;
    rest.split_whitespace().next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::{count_passed, summarize_nextest};

    #[test]
    fn parses_nextest_summary() {
        let line = "     Summary [  12.345s] 45 tests run: 44 passed, 1 skipped";
        assert_eq!(summarize_nextest(line), "44 passed, 1 skipped");
    }

    #[test]
    fn parses_doctest_result() {
        let line = "test result: ok. 7 passed; 0 failed; 1 ignored; 0 measured; 0 filtered out";
        assert_eq!(count_passed(line), Some(7));
        assert_eq!(count_passed("test result: ok"), None);
    }
}

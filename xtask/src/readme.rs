//! Checks that keep README honest, run by `cargo xtask test`: every command it shows
//! exists (its `--help` runs), its crate map and docs/architecture.md's name exactly
//! the crates under `crates/`, and the demo prints exactly README's example.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::paths::Workspace;

/// The command lines of README's ```sh blocks and of its task table.
fn shown_commands(readme: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut in_sh = false;
    for line in readme.lines() {
        let t = line.trim();
        if t.starts_with("```") {
            in_sh = !in_sh && t == "```sh";
            continue;
        }
        if in_sh && !t.starts_with('#') && !t.is_empty() {
            out.push(t.trim_end_matches('\\').trim().to_owned());
        }
        if let Some(rest) = t.strip_prefix("| `cargo xtask")
            && let Some(end) = rest.find('`')
        {
            out.push(format!("cargo xtask{}", &rest[..end]));
        }
    }
    out
}

/// Leading plain words (subcommand names): lowercase letters and dashes.
fn words(tokens: &[&str]) -> Vec<String> {
    tokens
        .iter()
        .take_while(|t| {
            !t.is_empty()
                && !t.starts_with('-')
                && t.chars().all(|c| c.is_ascii_lowercase() || c == '-')
        })
        .map(|t| (*t).to_owned())
        .collect()
}

/// The executable and arguments whose `--help` proves a shown command exists.
fn help_call(ws: &Workspace, line: &str) -> Option<(std::path::PathBuf, Vec<String>)> {
    let tokens: Vec<&str> = line.split_whitespace().collect();
    let debug = ws.root().join("target/debug");
    match tokens.as_slice() {
        ["medfen" | "./target/release/medfen", rest @ ..] => {
            Some((debug.join("medfen"), words(rest)))
        }
        ["cargo", "run", rest @ ..] => {
            // `cargo run [--release] --bin NAME -- ARGS`
            let bin = rest.iter().position(|t| *t == "--bin")?;
            let dashes = rest.iter().position(|t| *t == "--")?;
            Some((debug.join(rest.get(bin + 1)?), words(&rest[dashes + 1..])))
        }
        ["cargo", "xtask", rest @ ..] => Some((std::env::current_exe().ok()?, words(rest))),
        _ => None,
    }
}

/// Runs `--help` of every command README shows; returns how many were checked.
fn check_commands(ws: &Workspace, readme: &str) -> Result<usize> {
    let mut seen = BTreeSet::new();
    let mut failures = Vec::new();
    for line in shown_commands(readme) {
        let Some((exe, args)) = help_call(ws, &line) else {
            continue;
        };
        if !seen.insert((exe.clone(), args.clone())) {
            continue;
        }
        let out = Command::new(&exe).args(&args).arg("--help").output();
        match out {
            Ok(o) if o.status.success() => {}
            Ok(o) => failures.push(format!(
                "`{line}`: `{} {} --help` exited {}: {}",
                exe.display(),
                args.join(" "),
                o.status,
                String::from_utf8_lossy(&o.stderr).trim()
            )),
            Err(e) => failures.push(format!("`{line}`: cannot run {}: {e}", exe.display())),
        }
    }
    if !failures.is_empty() {
        bail!(
            "README shows commands that do not exist:\n  {}",
            failures.join("\n  ")
        );
    }
    Ok(seen.len())
}

/// The crates under `crates/` (folders with a Cargo.toml).
fn crates_on_disk(ws: &Workspace) -> Result<BTreeSet<String>> {
    let dir = ws.root().join("crates");
    let mut names = BTreeSet::new();
    for entry in std::fs::read_dir(&dir).with_context(|| dir.display().to_string())? {
        let path = entry?.path();
        if path.join("Cargo.toml").is_file()
            && let Some(name) = path.file_name().and_then(|n| n.to_str())
        {
            names.insert(name.to_owned());
        }
    }
    Ok(names)
}

/// The crates a table names in its first column, as `` `prefix<name>` ``.
fn crates_in_table(text: &str, prefix: &str) -> BTreeSet<String> {
    text.lines()
        .filter_map(|l| l.strip_prefix(&format!("| `{prefix}")))
        .filter_map(|rest| rest.split('`').next())
        .map(|name| name.trim_end_matches('/').to_owned())
        .filter(|name| name.starts_with("medfen-"))
        .collect()
}

/// README's crate map and docs/architecture.md's table against `crates/`.
fn check_crate_maps(ws: &Workspace, readme: &str) -> Result<usize> {
    let disk = crates_on_disk(ws)?;
    let architecture = std::fs::read_to_string(ws.root().join("docs/architecture.md"))?;
    for (doc, listed) in [
        ("README.md", crates_in_table(readme, "crates/")),
        ("docs/architecture.md", crates_in_table(&architecture, "")),
    ] {
        let missing: Vec<_> = disk.difference(&listed).collect();
        let extra: Vec<_> = listed.difference(&disk).collect();
        if !missing.is_empty() || !extra.is_empty() {
            bail!("{doc}'s crate table is stale: missing {missing:?}, naming absent {extra:?}");
        }
    }
    Ok(disk.len())
}

/// `cargo xtask test`'s README check: commands and crate maps.
pub fn check(ws: &Workspace) -> Result<String> {
    let readme = std::fs::read_to_string(ws.root().join("README.md"))?;
    let commands = check_commands(ws, &readme)?;
    let crates = check_crate_maps(ws, &readme)?;
    Ok(format!("{commands} commands run, {crates} crates mapped"))
}

/// README's demo example: the ``` block after "It ends with a report like".
fn example(readme: &str) -> Result<String> {
    let start = readme
        .find("It ends with a report like")
        .context("README has no demo example")?;
    let block = &readme[start..];
    let open = block.find("```\n").context("no example block")? + 4;
    let close = block[open..]
        .find("```")
        .context("unterminated example block")?;
    Ok(block[open..open + close].to_owned())
}

/// A report with what may differ between runs masked: the training time, the total
/// time and the folders (absolute in a run, relative in README).
pub fn masked(report: &str, out: &Path) -> String {
    let prefix = format!("{}/", out.display());
    report
        .lines()
        .filter(|l| !l.starts_with("(total "))
        .map(|l| {
            let l = l.replace(&prefix, "demo/");
            match l.find("trained on CPU in ") {
                Some(i) => format!("{}trained on CPU in <time>", &l[..i]),
                None => l,
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Compares a demo's report (`printed`, run into `out`) with README's example.
pub fn check_demo_report(ws: &Workspace, printed: &str, out: &Path) -> Result<()> {
    let readme = std::fs::read_to_string(ws.root().join("README.md"))?;
    let want = masked(&example(&readme)?, Path::new("demo"));
    let got = masked(printed, out);
    if want.trim() != got.trim() {
        let diff: Vec<String> = want
            .lines()
            .zip(got.lines().chain(std::iter::repeat("")))
            .filter(|(a, b)| a != b)
            .map(|(a, b)| format!("  README: {a}\n  demo:   {b}"))
            .collect();
        bail!(
            "the demo no longer prints README's example (update README's \"Try it\" block):\n{}",
            diff.join("\n")
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_commands_and_their_subcommand_words() {
        let readme = "```sh\nmedfen cache verify cache/<key>\nmedfen index --labels x \\\n    --out y\n# comment\n```\n```\nmedfen demo — output, not a command\n```\n| `cargo xtask bench metrics` | x |\n";
        let shown = shown_commands(readme);
        assert_eq!(
            shown,
            [
                "medfen cache verify cache/<key>",
                "medfen index --labels x",
                "--out y",
                "cargo xtask bench metrics"
            ]
        );
        let tokens: Vec<&str> = shown[0].split_whitespace().skip(1).collect();
        assert_eq!(words(&tokens), ["cache", "verify"]);
        assert_eq!(
            crates_in_table("| `crates/medfen-io` | x |\n| `xtask/` | y |\n", "crates/"),
            BTreeSet::from(["medfen-io".to_owned()])
        );
    }
}

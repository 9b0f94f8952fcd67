//! `cargo xtask dist`: a relocatable bundle of medfen, `medfen-<version>-<arch>-linux-
//! <cpu|cuda>.tar.gz` in `dist/`: `bin/` (medfen and medfen-torch, release builds
//! without their line tables, and every `medfen-<stage>` as a link to medfen, which
//! dispatches on the name it is called by) beside `lib/` (the libtorch libraries they
//! need, found through the `$ORIGIN/../lib` rpath every libtorch binary carries).
//! Unpack it anywhere; nothing of the checkout is needed.
//!
//! Before packing, the bundle is checked: every dynamic dependency of every file in
//! `bin/` and `lib/` resolves inside `lib/` or to a system library.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use object::elf;
use object::read::elf::ElfFile64;

use crate::libtorch::{self, Flavour};
use crate::paths::Workspace;
use crate::run;

/// Options of `cargo xtask dist`.
#[derive(clap::Args)]
pub struct Args {
    /// Bundle the CUDA kit (on a GPU host; provisions it when missing) instead of the
    /// CPU kit.
    #[arg(long)]
    cuda: bool,
    /// Folder the bundle and its tar.gz go to.
    #[arg(long, default_value = "dist")]
    out: PathBuf,
}

/// The dynamic dependencies (DT_NEEDED) of an ELF file; empty for anything else.
fn needed(path: &Path) -> Result<Vec<String>> {
    let data = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let Ok(file) = ElfFile64::<object::Endianness>::parse(&*data) else {
        return Ok(Vec::new());
    };
    let endian = file.endian();
    let Some(table) = file.elf_section_table().dynamic_table(endian, &*data).ok() else {
        return Ok(Vec::new());
    };
    Ok(table
        .iter()
        .filter(|d| d.tag == elf::DT_NEEDED)
        .filter_map(|d| table.string(d).ok())
        .map(|s| String::from_utf8_lossy(s).into_owned())
        .collect())
}

/// The libraries the system provides (glibc, the C++ runtime): never bundled.
fn is_system(name: &str) -> bool {
    [
        "libc.so",
        "libm.so",
        "libdl.so",
        "librt.so",
        "libpthread.so",
        "ld-linux",
        "libgcc_s.so",
        "libstdc++.so",
        "libutil.so",
    ]
    .iter()
    .any(|p| name.starts_with(p))
}

/// Every non-system library `roots` need, transitively, found in `search` (first match
/// wins); an error lists the ones found nowhere.
fn library_closure(roots: &[PathBuf], search: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut seen: BTreeSet<String> = BTreeSet::new();
    let mut found = Vec::new();
    let mut missing = Vec::new();
    let mut todo: Vec<PathBuf> = roots.to_vec();
    while let Some(file) = todo.pop() {
        for name in needed(&file)? {
            if is_system(&name) || !seen.insert(name.clone()) {
                continue;
            }
            match search.iter().map(|d| d.join(&name)).find(|p| p.is_file()) {
                Some(path) => {
                    todo.push(path.clone());
                    found.push(path);
                }
                None => missing.push(format!("{name} (needed by {})", file.display())),
            }
        }
    }
    if !missing.is_empty() {
        bail!("libraries found nowhere: {}", missing.join(", "));
    }
    found.sort();
    Ok(found)
}

/// The folders a kit's libraries are in: the CPU kit's `lib/`; for the CUDA kit, torch's
/// `lib/` in its virtual environment and every NVIDIA wheel's `lib/`.
pub(crate) fn library_dirs(ws: &Workspace, stamp: &libtorch::KitStamp) -> Result<Vec<PathBuf>> {
    if stamp.flavour == Flavour::Cpu {
        return Ok(vec![ws.libtorch_active().join("lib")]);
    }
    let python = stamp
        .python
        .as_ref()
        .context("the CUDA kit records no Python")?;
    let mut cmd = run::command(python, ws.root());
    cmd.args([
        "-c",
        "import sysconfig; print(sysconfig.get_paths()['purelib'])",
    ]);
    let site = PathBuf::from(String::from_utf8_lossy(&run::output(&mut cmd)?.stdout).trim());
    let mut dirs = vec![site.join("torch").join("lib")];
    let nvidia = site.join("nvidia");
    for entry in std::fs::read_dir(&nvidia).with_context(|| nvidia.display().to_string())? {
        let lib = entry?.path().join("lib");
        if lib.is_dir() {
            dirs.push(lib);
        }
    }
    Ok(dirs)
}

/// The binaries of the bundle: `medfen`, `medfen-torch` and every `medfen-<stage>`.
fn binaries(ws: &Workspace) -> Result<Vec<String>> {
    let mut names = vec!["medfen".to_owned(), "medfen-torch".to_owned()];
    let stages = ws.root().join("crates/medfen-cli/src/bin");
    for entry in std::fs::read_dir(&stages).with_context(|| stages.display().to_string())? {
        let path = entry?.path();
        if let Some(stem) = path.file_stem().and_then(|s| s.to_str()) {
            names.push(stem.to_owned());
        }
    }
    names.sort();
    Ok(names)
}

/// Checks that every dependency of every file under `root/bin` and `root/lib` is in
/// `root/lib` or a system library.
fn verify(root: &Path) -> Result<()> {
    let lib = root.join("lib");
    let mut files: Vec<PathBuf> = Vec::new();
    for dir in [root.join("bin"), lib.clone()] {
        for entry in std::fs::read_dir(&dir)? {
            files.push(entry?.path());
        }
    }
    let missing: Vec<String> = files
        .iter()
        .map(|f| Ok((f, needed(f)?)))
        .collect::<Result<Vec<_>>>()?
        .into_iter()
        .flat_map(|(f, names)| {
            names
                .into_iter()
                .filter(|n| !is_system(n) && !lib.join(n).is_file())
                .map(move |n| format!("{n} (needed by {})", f.display()))
        })
        .collect();
    if !missing.is_empty() {
        bail!("the bundle lacks: {}", missing.join(", "));
    }
    Ok(())
}

/// Builds the release binaries, lays out the bundle, checks it and packs it.
pub fn run(ws: &Workspace, args: &Args) -> Result<()> {
    let stamp = libtorch::provision(ws, &libtorch::Args::flavour(args.cuda))?;
    let mut build = run::command("cargo", ws.root());
    build.args([
        "build",
        "--release",
        "--locked",
        "-p",
        "medfen-cli",
        "-p",
        "medfen-torch",
    ]);
    for (k, v) in libtorch::cargo_env(&stamp) {
        build.env(k, v);
    }
    run::status(&mut build)?;
    let flavour = if args.cuda { "cuda" } else { "cpu" };
    let name = format!(
        "medfen-{}-{}-linux-{flavour}",
        env!("CARGO_PKG_VERSION"),
        std::env::consts::ARCH
    );
    let out = ws.root().join(&args.out);
    let root = out.join(&name);
    if root.exists() {
        std::fs::remove_dir_all(&root)?;
    }
    let (bin, lib) = (root.join("bin"), root.join("lib"));
    std::fs::create_dir_all(&bin)?;
    std::fs::create_dir_all(&lib)?;
    let release = ws.root().join("target").join("release");
    for b in ["medfen", "medfen-torch"] {
        let from = release.join(b);
        std::fs::copy(&from, bin.join(b)).with_context(|| format!("copying {}", from.display()))?;
        // Line tables stay in the checkout's build; the bundle keeps the symbols.
        run::status(run::command("strip", &bin).args(["--strip-debug", b]))?;
    }
    // Every per-stage executable is `medfen` under the stage's name (it dispatches on
    // the name it is called by).
    for b in binaries(ws)?
        .into_iter()
        .filter(|b| b.starts_with("medfen-") && b != "medfen-torch")
    {
        std::os::unix::fs::symlink("medfen", bin.join(&b))
            .with_context(|| format!("linking {}", bin.join(&b).display()))?;
    }
    let libraries = library_closure(&[bin.join("medfen-torch")], &library_dirs(ws, &stamp)?)?;
    for l in &libraries {
        let target = lib.join(l.file_name().context("a library without a name")?);
        std::fs::copy(l, &target).with_context(|| format!("copying {}", l.display()))?;
    }
    verify(&root)?;
    let tarball = out.join(format!("{name}.tar.gz"));
    let mut tar = run::command("tar", &out);
    tar.args(["czf"]).arg(&tarball).arg(&name);
    run::status(&mut tar)?;
    let size = std::fs::metadata(&tarball)?.len();
    println!(
        "medfen dist: {} ({:.0} MB; {} libraries in lib/)\n  unpack anywhere and run bin/medfen doctor",
        tarball.display(),
        size as f64 / 1e6,
        libraries.len()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_libraries_are_never_bundled() {
        assert!(is_system("libc.so.6") && is_system("ld-linux-x86-64.so.2"));
        assert!(is_system("libstdc++.so.6"));
        assert!(!is_system("libtorch_cpu.so") && !is_system("libgomp.so.1"));
    }

    #[test]
    fn the_closure_of_a_system_binary_is_empty_and_a_missing_library_is_named() {
        let sh = PathBuf::from("/bin/sh");
        assert!(
            library_closure(std::slice::from_ref(&sh), &[])
                .unwrap()
                .is_empty()
        );
        let ls = needed(Path::new("/bin/ls")).unwrap();
        assert!(ls.iter().any(|n| n.starts_with("libc.so")), "{ls:?}");
    }
}

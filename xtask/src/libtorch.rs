//! `cargo xtask libtorch`: libtorch 2.13.0 for tch 0.26 from PyPI wheels only.
//!
//! CPU kit (default): `include/` and the CPU libraries from the `torch==2.13.0` wheel,
//! the two CUDA runtime libraries `libtorch_cpu.so` is linked against (from the
//! `nvidia-cuda-runtime` and `nvidia-cuda-cupti` wheels; they load without a GPU), and
//! an empty `libtorch.so` (an empty linker script: the real one needs
//! `libtorch_cuda.so`). torch-sys then links `torch_cpu` + `c10` only.
//!
//! CUDA (`--cuda`, for GPU hosts): the full `torch==2.13.0` wheel with its
//! dependencies in a virtual environment; torch-sys builds through
//! `LIBTORCH_USE_PYTORCH=1` with that environment's Python (xtask sets this for the
//! cargo commands it runs; `.libtorch/cuda.env` holds the same settings for a shell).

use std::fmt::Write as _;
use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

use crate::paths::Workspace;
use crate::run;

/// The libtorch version tch 0.26 / torch-sys 0.26 require.
pub const TORCH_VERSION: &str = "2.13.0";
const CPU_KIT_DIR: &str = "cpu-2.13.0";
const CUDA_VENV_DIR: &str = "cuda-venv";
const STAMP_FILE: &str = "medfen-kit.json";
/// Copy of the active kit's stamp, beside the `active` link.
const ACTIVE_STAMP: &str = "active.json";

/// Options of `cargo xtask libtorch`.
#[derive(clap::Args)]
pub struct Args {
    /// Provision a CUDA-capable libtorch (full torch wheel and its NVIDIA dependencies,
    /// several GB) in .libtorch/cuda-venv and make it the active one.
    #[arg(long, conflicts_with = "cpu")]
    cuda: bool,
    /// Make the CPU kit the active one (the default on a fresh checkout).
    #[arg(long)]
    cpu: bool,
}

impl std::fmt::Display for Flavour {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Cpu => "CPU",
            Self::Cuda => "CUDA",
        })
    }
}

impl Args {
    /// Provision (and activate) the CUDA kit when `cuda`, else the CPU kit.
    pub fn flavour(cuda: bool) -> Self {
        Self { cuda, cpu: !cuda }
    }

    /// Keep whatever kit is active (CPU on a fresh checkout).
    pub fn keep_active() -> Self {
        Self {
            cuda: false,
            cpu: false,
        }
    }
}

/// Which libtorch a kit provides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Flavour {
    /// CPU-only kit assembled from wheels.
    Cpu,
    /// Full torch wheel with CUDA libraries in a virtual environment.
    Cuda,
}

/// The version stamp written into every provisioned kit.
#[derive(Debug, Serialize, Deserialize)]
pub struct KitStamp {
    /// CPU or CUDA.
    pub flavour: Flavour,
    /// libtorch version (always [`TORCH_VERSION`]).
    pub torch_version: String,
    /// Wheels the kit was assembled from (file names).
    pub wheels: Vec<String>,
    /// For CUDA kits: the virtual environment's Python, used with LIBTORCH_USE_PYTORCH.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub python: Option<PathBuf>,
}

/// A wheel to fetch and the members to copy out of it.
struct WheelSpec {
    requirement: &'static str,
    file_prefix: &'static str,
    /// (path inside the wheel, destination relative to the kit); a path ending in `/`
    /// copies the whole directory.
    members: &'static [(&'static str, &'static str)],
}

const CPU_WHEELS: &[WheelSpec] = &[
    WheelSpec {
        requirement: "torch==2.13.0",
        file_prefix: "torch-2.13.0-",
        members: &[
            ("torch/include/", "include/"),
            ("torch/lib/libtorch_cpu.so", "lib/libtorch_cpu.so"),
            ("torch/lib/libc10.so", "lib/libc10.so"),
            ("torch/lib/libgomp.so.1", "lib/libgomp.so.1"),
            ("torch/lib/libshm.so", "lib/libshm.so"),
        ],
    },
    WheelSpec {
        requirement: "nvidia-cuda-runtime==13.0.96",
        file_prefix: "nvidia_cuda_runtime-13.0.96-",
        members: &[("nvidia/cu13/lib/libcudart.so.13", "lib/libcudart.so.13")],
    },
    WheelSpec {
        requirement: "nvidia-cuda-cupti==13.0.85",
        file_prefix: "nvidia_cuda_cupti-13.0.85-",
        members: &[("nvidia/cu13/lib/libcupti.so.13", "lib/libcupti.so.13")],
    },
];

/// Bytes needed to download the CPU wheels (0.53 GB) and assemble the kit (0.51 GB)
/// beside them, with margin. The wheels are removed once the kit is in place.
const CPU_SPACE_NEEDED: u64 = 1_300_000_000;
/// Bytes needed for the CUDA environment (torch + NVIDIA wheels, installed).
const CUDA_SPACE_NEEDED: u64 = 12_000_000_000;

/// The kit in use, as recorded by its stamp, or `None` when nothing is provisioned.
pub fn active(ws: &Workspace) -> Option<KitStamp> {
    let text = fs::read_to_string(ws.libtorch_dir().join(ACTIVE_STAMP)).ok()?;
    let stamp: KitStamp = serde_json::from_str(&text).ok()?;
    let usable = stamp.torch_version == TORCH_VERSION
        && ws
            .libtorch_active()
            .join("lib")
            .join("libtorch_cpu.so")
            .exists();
    usable.then_some(stamp)
}

/// Makes sure a libtorch kit is provisioned and active; returns its stamp.
///
/// Without flags an already active kit (CPU or CUDA) is kept; `--cpu`/`--cuda` switch.
pub fn provision(ws: &Workspace, args: &Args) -> Result<KitStamp> {
    let started = Instant::now();
    let current = active(ws);
    let wanted = if args.cuda {
        Flavour::Cuda
    } else if args.cpu {
        Flavour::Cpu
    } else {
        current.as_ref().map_or(Flavour::Cpu, |s| s.flavour)
    };
    let kit_dir = match wanted {
        Flavour::Cpu => ws.libtorch_dir().join(CPU_KIT_DIR),
        Flavour::Cuda => ws.libtorch_dir().join(CUDA_VENV_DIR),
    };
    let stamp = match read_stamp(&kit_dir).filter(|s| kit_complete(&kit_dir, s)) {
        Some(stamp) => stamp,
        None => match wanted {
            Flavour::Cpu => assemble_cpu_kit(ws, &kit_dir)?,
            Flavour::Cuda => install_cuda_venv(ws, &kit_dir)?,
        },
    };
    let switched = current.as_ref().map(|s| s.flavour) != Some(wanted);
    let link_target = match wanted {
        Flavour::Cpu => PathBuf::from(CPU_KIT_DIR),
        Flavour::Cuda => cuda_torch_dir(&kit_dir)?,
    };
    point_active_at(ws, &link_target)?;
    write_atomic(
        &ws.libtorch_dir().join(ACTIVE_STAMP),
        serde_json::to_string_pretty(&stamp)?.as_bytes(),
    )?;
    if switched && current.is_some() {
        // torch-sys decides at build time whether to link torch_cuda; a different kit
        // behind the same LIBTORCH path needs a fresh build of it.
        let mut clean = run::command("cargo", ws.root());
        clean.args(["clean", "--package", "torch-sys"]);
        run::status(&mut clean)?;
    }
    eprintln!(
        "libtorch {} ({}) ready at {} [{:.2}s]",
        stamp.torch_version,
        stamp.flavour,
        ws.libtorch_active().display(),
        started.elapsed().as_secs_f64()
    );
    Ok(stamp)
}

/// Environment for cargo commands xtask runs, so CUDA kits build through
/// `LIBTORCH_USE_PYTORCH` with the kit's own Python. Empty for the CPU kit, whose
/// `LIBTORCH` comes from `.cargo/config.toml`.
pub fn cargo_env(stamp: &KitStamp) -> Vec<(String, String)> {
    let Some(python) = stamp
        .python
        .as_ref()
        .filter(|_| stamp.flavour == Flavour::Cuda)
    else {
        return Vec::new();
    };
    let bin = python.parent().map(Path::to_path_buf).unwrap_or_default();
    let venv = bin.parent().map(Path::to_path_buf).unwrap_or_default();
    let path = std::env::var("PATH").unwrap_or_default();
    vec![
        ("LIBTORCH_USE_PYTORCH".into(), "1".into()),
        ("VIRTUAL_ENV".into(), venv.display().to_string()),
        ("PATH".into(), format!("{}:{path}", bin.display())),
    ]
}

fn read_stamp(kit_dir: &Path) -> Option<KitStamp> {
    let text = fs::read_to_string(kit_dir.join(STAMP_FILE)).ok()?;
    let stamp: KitStamp = serde_json::from_str(&text).ok()?;
    (stamp.torch_version == TORCH_VERSION).then_some(stamp)
}

fn kit_complete(kit_dir: &Path, stamp: &KitStamp) -> bool {
    match stamp.flavour {
        Flavour::Cpu => [
            "lib/libtorch_cpu.so",
            "lib/libc10.so",
            "lib/libtorch.so",
            "include/torch",
        ]
        .iter()
        .all(|p| kit_dir.join(p).exists()),
        Flavour::Cuda => stamp.python.as_ref().is_some_and(|p| p.exists()),
    }
}

fn assemble_cpu_kit(ws: &Workspace, kit_dir: &Path) -> Result<KitStamp> {
    run::require_space(&ws.libtorch_dir(), CPU_SPACE_NEEDED, "the libtorch CPU kit")?;
    let mut wheels = Vec::new();
    let mut downloaded = Vec::new();
    for spec in CPU_WHEELS {
        let (wheel, fresh) = fetch_wheel(ws, spec)?;
        if fresh {
            downloaded.push(wheel.clone());
        }
        wheels.push(wheel);
    }
    let tmp = ws
        .libtorch_dir()
        .join(format!(".tmp-{CPU_KIT_DIR}-{}", std::process::id()));
    if tmp.exists() {
        fs::remove_dir_all(&tmp)?;
    }
    fs::create_dir_all(tmp.join("lib"))?;
    for (spec, wheel) in CPU_WHEELS.iter().zip(&wheels) {
        eprintln!("extracting {} ...", file_name(wheel));
        extract_members(wheel, spec.members, &tmp)
            .with_context(|| format!("cannot extract {}", wheel.display()))?;
    }
    // `-ltorch` must resolve; the real libtorch.so needs libtorch_cuda.so. An empty
    // file is an empty linker script to GNU ld, so the CPU build links torch_cpu only.
    fs::write(tmp.join("lib/libtorch.so"), b"")?;
    // torch-sys links `-lgomp`: resolve it to the OpenMP runtime libtorch_cpu ships with.
    std::os::unix::fs::symlink("libgomp.so.1", tmp.join("lib/libgomp.so"))?;
    // torch-sys checks this file against the version it was written for.
    fs::write(tmp.join("build-version"), format!("{TORCH_VERSION}+cpu\n"))?;
    let stamp = KitStamp {
        flavour: Flavour::Cpu,
        torch_version: TORCH_VERSION.to_owned(),
        wheels: wheels.iter().map(|w| file_name(w)).collect(),
        python: None,
    };
    fs::write(tmp.join(STAMP_FILE), serde_json::to_string_pretty(&stamp)?)?;
    if kit_dir.exists() {
        fs::remove_dir_all(kit_dir)
            .with_context(|| format!("cannot remove incomplete kit {}", kit_dir.display()))?;
    }
    fs::rename(&tmp, kit_dir)
        .with_context(|| format!("cannot move {} to {}", tmp.display(), kit_dir.display()))?;
    // A wheel cache the user named is theirs to keep; the default one is only scratch.
    if std::env::var_os("MEDFEN_WHEEL_CACHE").is_none() {
        remove_wheels(&downloaded);
    }
    Ok(stamp)
}

/// Frees the wheels this run downloaded once their members are extracted: half a
/// gigabyte that only a re-provisioning would read, and it can download them again.
fn remove_wheels(wheels: &[PathBuf]) {
    if wheels.is_empty() {
        return;
    }
    let mut freed = 0;
    for wheel in wheels {
        let size = fs::metadata(wheel).map_or(0, |m| m.len());
        match fs::remove_file(wheel) {
            Ok(()) => freed += size,
            Err(err) => eprintln!("could not remove {}: {err}", wheel.display()),
        }
    }
    eprintln!(
        "removed the extracted wheels ({:.0} MB freed)",
        freed as f64 / 1e6
    );
}

/// Returns the cached wheel for `spec`, downloading it with pip when absent or broken,
/// and whether this call downloaded it.
fn fetch_wheel(ws: &Workspace, spec: &WheelSpec) -> Result<(PathBuf, bool)> {
    let cache = ws.wheel_cache();
    if let Some(found) = find_cached_wheel(&cache, spec.file_prefix)? {
        if zip_is_readable(&found) {
            return Ok((found, false));
        }
        eprintln!(
            "cached wheel {} is unreadable; downloading it again",
            found.display()
        );
        fs::remove_file(&found)?;
    }
    run::require_pip(ws.root())?;
    run::require_space(&cache, 600_000_000, "the wheel cache")?;
    let partial = cache.join(format!(".partial-{}", std::process::id()));
    fs::create_dir_all(&partial)?;
    let mut pip = run::command("python3", ws.root());
    pip.args(["-m", "pip", "download", "--no-deps", "--only-binary=:all:"])
        .args(["--python-version", "3.11", "--implementation", "cp"]);
    // pip does not widen an explicit platform to older glibc tags, and the wheels we
    // need carry different ones (torch 2_28, cupti 2_25, cudart 2_17/2014): list them.
    for platform in platforms() {
        pip.args(["--platform", &platform]);
    }
    pip.arg("--dest").arg(&partial).arg(spec.requirement);
    run::status(&mut pip).with_context(|| {
        format!(
            "could not download {} from PyPI (is the package registry reachable?)",
            spec.requirement
        )
    })?;
    let downloaded = find_cached_wheel(&partial, spec.file_prefix)?.with_context(|| {
        format!(
            "pip reported success but no {} wheel appeared",
            spec.requirement
        )
    })?;
    let dest = cache.join(file_name(&downloaded));
    fs::rename(&downloaded, &dest)?;
    fs::remove_dir_all(&partial)?;
    Ok((dest, true))
}

/// manylinux platform tags this machine's glibc can run, newest first (2_28 down to 2_17).
fn platforms() -> Vec<String> {
    let arch = std::env::consts::ARCH;
    let mut tags: Vec<String> = (17..=28)
        .rev()
        .map(|minor| format!("manylinux_2_{minor}_{arch}"))
        .collect();
    tags.push(format!("manylinux2014_{arch}"));
    tags
}

fn find_cached_wheel(dir: &Path, prefix: &str) -> Result<Option<PathBuf>> {
    if !dir.is_dir() {
        return Ok(None);
    }
    let mut found = Vec::new();
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        let name = file_name(&path);
        let is_wheel = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("whl"));
        if name.starts_with(prefix) && is_wheel {
            found.push(path);
        }
    }
    found.sort();
    Ok(found.pop())
}

fn zip_is_readable(path: &Path) -> bool {
    fs::File::open(path)
        .ok()
        .and_then(|f| zip::ZipArchive::new(io::BufReader::new(f)).ok())
        .is_some()
}

fn extract_members(wheel: &Path, members: &[(&str, &str)], dest: &Path) -> Result<()> {
    let file = fs::File::open(wheel)?;
    let mut archive = zip::ZipArchive::new(io::BufReader::new(file))?;
    let mut copied = vec![0usize; members.len()];
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i)?;
        if entry.is_dir() {
            continue;
        }
        let name = entry
            .name()
            .with_context(|| format!("{} has a member with an invalid name", wheel.display()))?
            .into_owned();
        for (k, (src, dst)) in members.iter().enumerate() {
            let target = if src.ends_with('/') {
                name.strip_prefix(src).map(|rest| dest.join(dst).join(rest))
            } else {
                (name == *src).then(|| dest.join(dst))
            };
            let Some(target) = target else { continue };
            if let Some(parent) = target.parent() {
                fs::create_dir_all(parent)?;
            }
            let mut out = fs::File::create(&target)?;
            let size = entry.size();
            copy_exact(&mut entry, &mut out, size)
                .with_context(|| format!("cannot write {}", target.display()))?;
            copied[k] += 1;
            break;
        }
    }
    for ((src, _), n) in members.iter().zip(&copied) {
        if *n == 0 {
            bail!("{} has no member {src}", wheel.display());
        }
    }
    Ok(())
}

fn copy_exact(from: &mut impl Read, to: &mut fs::File, expected: u64) -> Result<()> {
    let written = io::copy(from, to)?;
    if written != expected {
        bail!("wrote {written} bytes, expected {expected}");
    }
    to.sync_all()?;
    Ok(())
}

fn install_cuda_venv(ws: &Workspace, venv: &Path) -> Result<KitStamp> {
    run::require_pip(ws.root())?;
    run::require_space(
        &ws.libtorch_dir(),
        CUDA_SPACE_NEEDED,
        "the CUDA libtorch environment",
    )?;
    if venv.exists() {
        fs::remove_dir_all(venv)?;
    }
    let mut mk = run::command("python3", ws.root());
    mk.args(["-m", "venv"]).arg(venv);
    run::status(&mut mk).context("could not create a Python virtual environment (python3-venv)")?;
    let python = venv.join("bin").join("python");
    let mut pip = run::command(&python, ws.root());
    pip.args(["-m", "pip", "install", "--cache-dir"])
        .arg(ws.wheel_cache().join("pip-http"))
        .arg(format!("torch=={TORCH_VERSION}"));
    run::status(&mut pip)
        .context("could not install torch with its CUDA dependencies from PyPI")?;
    let stamp = KitStamp {
        flavour: Flavour::Cuda,
        torch_version: TORCH_VERSION.to_owned(),
        wheels: vec![format!("torch=={TORCH_VERSION} (+ dependencies)")],
        python: Some(python.clone()),
    };
    let mut env_file = String::new();
    for (k, v) in cargo_env(&stamp) {
        let _ = writeln!(env_file, "export {k}='{v}'");
    }
    fs::write(ws.libtorch_dir().join("cuda.env"), env_file)?;
    fs::write(venv.join(STAMP_FILE), serde_json::to_string_pretty(&stamp)?)?;
    Ok(stamp)
}

/// The `torch` package directory (with `include/` and `lib/`) inside the CUDA venv.
fn cuda_torch_dir(venv: &Path) -> Result<PathBuf> {
    let python = venv.join("bin").join("python");
    let mut cmd = run::command(&python, venv);
    cmd.args([
        "-c",
        "import pathlib, torch; print(pathlib.Path(torch.__file__).parent)",
    ]);
    let out = run::output(&mut cmd)?;
    Ok(PathBuf::from(String::from_utf8(out.stdout)?.trim()))
}

/// Atomically points `.libtorch/active` at `target` (relative to `.libtorch/` or absolute).
fn point_active_at(ws: &Workspace, target: &Path) -> Result<()> {
    let link = ws.libtorch_active();
    if fs::read_link(&link).ok().as_deref() == Some(target) {
        return Ok(());
    }
    let tmp = ws
        .libtorch_dir()
        .join(format!(".active-{}", std::process::id()));
    let _ = fs::remove_file(&tmp);
    std::os::unix::fs::symlink(target, &tmp)?;
    fs::rename(&tmp, &link).with_context(|| format!("cannot update {}", link.display()))?;
    Ok(())
}

fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
    fs::write(&tmp, bytes)?;
    fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

//! An install that leaves the checkout: the executables laid out as `cargo xtask dist`
//! lays them out (`bin/` beside `lib/` holding the libtorch libraries), in a folder
//! outside the workspace with no `.libtorch` reachable and no `LD_LIBRARY_PATH`, run
//! `medfen doctor` and a one-epoch training, loading libtorch from the bundle.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const MODEL_EXE: &str = env!("CARGO_BIN_EXE_medfen-torch");

/// A file of the bundle: a hard link where the file system allows one (cheap; the
/// kit's libraries are hundreds of megabytes), a copy otherwise.
fn place(from: &Path, to: &Path) {
    if std::fs::hard_link(from, to).is_err() {
        std::fs::copy(from, to).unwrap_or_else(|e| panic!("{}: {e}", from.display()));
    }
}

/// `root/bin` with `medfen`, `medfen-torch` and two per-stage executables (links to
/// medfen), `root/lib` with the provisioned kit's libraries.
fn lay_out(root: &Path) -> PathBuf {
    let built = Path::new(MODEL_EXE).parent().unwrap();
    let (bin, lib) = (root.join("bin"), root.join("lib"));
    std::fs::create_dir_all(&bin).unwrap();
    std::fs::create_dir_all(&lib).unwrap();
    for name in ["medfen", "medfen-torch"] {
        let from = built.join(name);
        assert!(from.is_file(), "{} is not built", from.display());
        place(&from, &bin.join(name));
    }
    // As `cargo xtask dist` installs the per-stage executables: links to medfen.
    for name in ["medfen-train", "medfen-doctor"] {
        std::os::unix::fs::symlink("medfen", bin.join(name)).unwrap();
    }
    let kit = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.libtorch/active/lib");
    for entry in std::fs::read_dir(&kit).unwrap() {
        let entry = entry.unwrap();
        place(&entry.path(), &lib.join(entry.file_name()));
    }
    bin
}

/// A command from the bundle, with nothing of the workspace in its environment.
fn command(bin: &Path, name: &str) -> Command {
    let mut cmd = Command::new(bin.join(name));
    cmd.env_remove("LD_LIBRARY_PATH")
        .env_remove("MEDFEN_TORCH")
        .env_remove("CARGO")
        .env_remove("CARGO_MANIFEST_DIR")
        .env("PATH", "/usr/bin:/bin")
        .env("OMP_NUM_THREADS", "1");
    cmd
}

fn run(cmd: &mut Command) -> Output {
    cmd.output().unwrap()
}

#[test]
fn the_bundle_runs_outside_the_checkout() {
    let dir = tempfile::tempdir().unwrap();
    assert!(
        !dir.path()
            .starts_with(env!("CARGO_MANIFEST_DIR").trim_end_matches("/crates/medfen-torch")),
        "the bundle must lie outside the workspace"
    );
    let root = dir.path().join("medfen-bundle");
    let bin = lay_out(&root);
    let out = common::ok(&run(command(&bin, "medfen").args(["doctor", "--json"])));
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    let library = report["library"].as_str().unwrap();
    assert!(
        Path::new(library).starts_with(root.join("lib")),
        "libtorch loaded from {library}, not from the bundle"
    );
    assert_eq!(report["devices"][0]["ok"], true);

    // A one-epoch training through `medfen-train` (medfen under that name), which finds
    // medfen-torch beside it.
    let (cache, splits, _) = common::dataset(dir.path());
    let out = common::ok(&run(command(&bin, "medfen-train")
        .current_dir(dir.path())
        .args([
            "-q",
            "--cache",
            cache.to_str().unwrap(),
            "--splits",
            splits.to_str().unwrap(),
            "--task",
            "normal_vs_abnormal",
            "--width",
            "8",
            "--small-input",
            "--epochs",
            "1",
            "--device",
            "cpu",
            "--out",
            "run",
        ])));
    assert!(out.contains("1 epoch(s): completed 1 epochs"), "{out}");
    assert!(dir.path().join("run/best.safetensors").is_file());

    // Without its lib/ the bundle finds no libtorch: nothing else was reachable.
    std::fs::remove_dir_all(root.join("lib")).unwrap();
    let out = run(command(&bin, "medfen-torch").args(["doctor"]));
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("libtorch_cpu.so"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

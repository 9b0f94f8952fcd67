//! `medfen cache` end to end: dry run, build, reuse, verify (and its failure), gc.

use std::path::Path;
use std::process::{Command, Output};

const MEDFEN: &str = env!("CARGO_BIN_EXE_medfen");

fn medfen(dir: &Path, args: &[&str]) -> Output {
    Command::new(MEDFEN)
        .args(args)
        .current_dir(dir)
        .env("MEDFEN_SECRET_FILE", dir.join("secret"))
        .output()
        .unwrap()
}

fn ok(o: &Output) -> String {
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn dry_run_build_reuse_verify_gc() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(&medfen(
        d,
        &[
            "-q", "synth", "--out", "data", "--exams", "5", "--matrix", "64",
        ],
    ));
    ok(&medfen(
        d,
        &[
            "-q",
            "index",
            "--labels",
            "data/labels.xlsx",
            "--dicom-root",
            "data/dicom",
            "--out",
            "w/exams.parquet",
        ],
    ));
    ok(&medfen(
        d,
        &[
            "-q",
            "manifest",
            "--index",
            "w/exams.parquet",
            "--out",
            "w/ears.parquet",
        ],
    ));
    ok(&medfen(
        d,
        &[
            "-q",
            "split",
            "--manifest",
            "w/ears.parquet",
            "--out-dir",
            "w/splits",
        ],
    ));
    let args = [
        "cache",
        "--index",
        "w/exams.parquet",
        "--splits",
        "w/splits",
        "--out",
        "cache",
        "--num-slices",
        "4",
        "--image-size",
        "32",
    ];
    let mut dry = args.to_vec();
    dry.push("--dry-run");
    let text = ok(&medfen(d, &dry));
    assert!(
        text.contains("5 exams, 10 ears of 4 x 32 x 32 int16")
            && text.contains("estimated size 0.1 MB"),
        "{text}"
    );
    assert!(!d.join("cache").exists(), "a dry run builds nothing");

    let text = ok(&medfen(d, &args));
    assert!(text.contains("10 ears (5 exams built, 0 reused)"), "{text}");
    let key_dir = text
        .lines()
        .next()
        .unwrap()
        .trim_start_matches("medfen cache: ")
        .to_string();
    let again = ok(&medfen(d, &args));
    assert!(again.contains("(0 exams built, 5 reused)"), "{again}");

    let v = ok(&medfen(d, &["cache", "verify", &key_dir]));
    assert!(
        v.contains("10 records checked") && v.contains("result: ok"),
        "{v}"
    );
    let data = d.join(&key_dir).join("data.i16");
    let mut raw = std::fs::read(&data).unwrap();
    raw[10] ^= 1;
    std::fs::write(&data, raw).unwrap();
    let o = medfen(d, &["cache", "verify", &key_dir]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stdout).contains("corrupt: exam"));

    let g = ok(&medfen(
        d,
        &[
            "cache",
            "gc",
            "cache",
            "--keep",
            "nothing-like-it",
            "--dry-run",
        ],
    ));
    assert!(
        g.contains("removed") && g.contains("not in --keep") && d.join(&key_dir).exists(),
        "{g}"
    );

    let o = medfen(d, &["cache", "--index", "w/exams.parquet"]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("needs --index, --splits and --out"));
}

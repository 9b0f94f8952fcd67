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

/// A synth dataset of `exams` exams with `matrix`-pixel slices, indexed,
/// with its manifest and splits under `w/`.
fn prepare(d: &Path, exams: usize, matrix: usize) {
    let (exams, matrix) = (exams.to_string(), matrix.to_string());
    ok(&medfen(
        d,
        &[
            "-q", "synth", "--out", "data", "--exams", &exams, "--matrix", &matrix,
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
}

#[test]
fn dry_run_build_reuse_verify_gc() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    prepare(d, 5, 64);
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

/// The exams marked built so far in the unfinished builds under `root`.
fn markers(root: &Path) -> usize {
    let Ok(keys) = std::fs::read_dir(root) else {
        return 0;
    };
    keys.flatten()
        .filter_map(|key| std::fs::read_dir(key.path().join(".partial")).ok())
        .map(|marks| {
            marks
                .flatten()
                .filter(|m| m.path().extension().is_some_and(|e| e == "json"))
                .count()
        })
        .sum()
}

/// Every file under `dir` (relative path, bytes), sorted by path.
fn tree(dir: &Path) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                todo.push(p);
            } else {
                out.push((
                    p.strip_prefix(dir).unwrap().to_path_buf(),
                    std::fs::read(&p).unwrap(),
                ));
            }
        }
    }
    out.sort();
    out
}

/// `medfen cache` killed with SIGKILL (no unwinding, nothing flushed or cleaned up) once
/// some exams are built, then run again: it reuses the exams built before the kill,
/// builds the rest, and writes byte for byte the cache of a build never interrupted.
#[test]
fn a_build_killed_midway_resumes_to_the_same_cache() {
    const EXAMS: usize = 12;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    prepare(d, EXAMS, 128);
    let args = |out: &str| {
        [
            "-q",
            "cache",
            "--index",
            "w/exams.parquet",
            "--splits",
            "w/splits",
            "--num-slices",
            "16",
            "--out",
            out,
        ]
        .map(String::from)
    };
    let whole = ok(&medfen(d, &args("whole").each_ref().map(String::as_str)));
    let key = whole
        .lines()
        .next()
        .and_then(|l| l.strip_prefix("medfen cache: whole/"))
        .unwrap()
        .to_string();

    // One thread, so exams finish one by one (about 20 ms each); kill as soon as one is
    // marked built. A machine fast enough to finish the build between two looks gets
    // another try.
    let mut killed_at = None;
    for _ in 0..5 {
        let _ = std::fs::remove_dir_all(d.join("killed"));
        let mut child = Command::new(MEDFEN)
            .args(args("killed"))
            .current_dir(d)
            .env("MEDFEN_SECRET_FILE", d.join("secret"))
            .env("RAYON_NUM_THREADS", "1")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        loop {
            let marked = markers(&d.join("killed"));
            if marked > 0 {
                child.kill().unwrap();
                child.wait().unwrap();
                killed_at = Some(marked);
                break;
            }
            if child.try_wait().unwrap().is_some() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        if killed_at.is_some() && !d.join("killed").join(&key).join("COMPLETE").exists() {
            break;
        }
        killed_at = None;
    }
    assert!(killed_at.is_some(), "the build was never caught midway");
    let partial = d.join("killed").join(&key);
    assert!(
        partial.join("data.i16.partial").exists() && !partial.join("data.i16").exists(),
        "the killed build left its partial data file and no finished one"
    );

    let resumed = ok(&medfen(d, &args("killed").each_ref().map(String::as_str)));
    let counts = resumed
        .lines()
        .find_map(|l| l.split_once(" ears (").map(|(_, rest)| rest.to_string()))
        .unwrap();
    let (built, reused) = counts
        .split_once(" exams built, ")
        .map(|(b, r)| {
            let r = r.split_once(' ').unwrap().0;
            (b.parse::<usize>().unwrap(), r.parse::<usize>().unwrap())
        })
        .unwrap();
    assert!(
        reused >= 1 && built >= 1 && built + reused == EXAMS,
        "{resumed} (killed with {killed_at:?} exams marked)"
    );
    assert!(!partial.join(".partial").exists() && partial.join("COMPLETE").exists());
    let (a, b) = (tree(&d.join("whole").join(&key)), tree(&partial));
    assert_eq!(
        a.iter().map(|f| &f.0).collect::<Vec<_>>(),
        b.iter().map(|f| &f.0).collect::<Vec<_>>()
    );
    for ((path, x), (_, y)) in a.iter().zip(&b) {
        assert!(
            x == y,
            "{} differs from the uninterrupted build's",
            path.display()
        );
    }
    let v = ok(&medfen(d, &["cache", "verify", &format!("killed/{key}")]));
    assert!(v.contains("result: ok"), "{v}");
}

/// `medfen cache` ends with the laterality check; `medfen audit laterality` finds the
/// labelled-diseased ears less aerated on synth, and fails loudly once the label
/// table's sides are swapped.
#[test]
fn the_laterality_audit_catches_swapped_sides() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    prepare(d, 48, 128);
    let built = ok(&medfen(
        d,
        &[
            "cache",
            "--index",
            "w/exams.parquet",
            "--splits",
            "w/splits",
            "--out",
            "cache",
            "--num-slices",
            "16",
            "--image-size",
            "64",
        ],
    ));
    assert!(built.contains("laterality consistent"), "{built}");
    let key_dir = built
        .lines()
        .next()
        .unwrap()
        .trim_start_matches("medfen cache: ");
    let audit = |extra: &[&str]| {
        let mut args = vec!["audit", "laterality", "--cache", key_dir, "--json"];
        args.extend(extra);
        medfen(d, &args)
    };
    let out = audit(&[]);
    let report: serde_json::Value = serde_json::from_str(&ok(&out)).unwrap();
    assert_eq!(report["verdict"], "consistent", "{report}");
    assert!(report["exams"].as_u64().unwrap() >= 10, "{report}");
    assert!(report["fraction"].as_f64().unwrap() >= 0.9, "{report}");

    // The same index with the two code columns swapped.
    let csv = std::fs::read_to_string(d.join("w/exams.csv")).unwrap();
    let (header, rows) = csv.split_once('\n').unwrap();
    let header = header
        .replace("left_code", "LEFT")
        .replace("right_code", "left_code")
        .replace("LEFT", "right_code");
    std::fs::write(d.join("w/swapped.csv"), format!("{header}\n{rows}")).unwrap();
    std::fs::copy(d.join("w/exams.json"), d.join("w/swapped.json")).unwrap();
    let out = audit(&["--index", "w/swapped.csv"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["verdict"], "swapped", "{report}");
    assert!(report["fraction"].as_f64().unwrap() <= 0.1, "{report}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("LEFT AND RIGHT LOOK SWAPPED"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

//! `medfen index | manifest | split | audit` end to end on a synth dataset: outputs,
//! exit codes, and clear refusals.

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

/// manifest split and audit
fn manifest_split_and_audit(d: &Path) {
    let text = ok(&medfen(
        d,
        &[
            "manifest",
            "--index",
            "w/exams.parquet",
            "--out",
            "w/ears.parquet",
        ],
    ));
    assert!(
        text.contains("ears") && text.contains("secret fingerprint"),
        "{text}"
    );
    assert!(
        d.join("secret").is_file(),
        "the secret was created where MEDFEN_SECRET_FILE says"
    );

    let text = ok(&medfen(
        d,
        &[
            "split",
            "--manifest",
            "w/ears.parquet",
            "--out-dir",
            "w/splits",
        ],
    ));
    assert!(
        text.contains("100pct/train") && text.contains("audit: ok"),
        "{text}"
    );
    let audit = ok(&medfen(
        d,
        &[
            "audit",
            "--splits",
            "w/splits",
            "--manifest",
            "w/ears.parquet",
        ],
    ));
    assert!(
        audit.contains("result: ok") && audit.contains("patients in two splits: 0"),
        "{audit}"
    );
}

/// A second split with other ratios into the same folder is refused.
fn refuses_a_second_split_and_planted_leakage(d: &Path) {
    // A second split with other ratios into the same folder is refused.
    let o = medfen(
        d,
        &[
            "split",
            "--manifest",
            "w/ears.parquet",
            "--out-dir",
            "w/splits",
            "--ratios",
            "0.5,1",
        ],
    );
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("another run (1pct, 20pct)"));

    // Leakage planted by hand (a test ear copied into train): the audit exits 1.
    let train = d.join("w/splits/100pct/train.csv");
    let test = std::fs::read_to_string(d.join("w/splits/100pct/test.csv")).unwrap();
    let mut text = std::fs::read_to_string(&train).unwrap();
    text.push_str(test.lines().nth(1).unwrap());
    text.push('\n');
    std::fs::write(&train, text).unwrap();
    let o = medfen(
        d,
        &[
            "audit",
            "--splits",
            "w/splits",
            "--manifest",
            "w/ears.parquet",
        ],
    );
    assert_eq!(o.status.code(), Some(1));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("100pct/train: the CSV and Parquet files differ"),
        "{out}"
    );
    let parquet = d.join("w/splits/100pct/train.parquet");
    std::fs::copy(d.join("w/splits/100pct/test.parquet"), &parquet).unwrap();
    let o = medfen(
        d,
        &[
            "audit",
            "--splits",
            "w/splits",
            "--manifest",
            "w/ears.parquet",
        ],
    );
    assert_eq!(o.status.code(), Some(1));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("result: FAILED") && out.contains("is in 100pct/test and 100pct/train"),
        "{out}"
    );
    assert!(
        out.contains("100pct/train is not nested") || out.contains("20pct/train is not nested"),
        "{out}"
    );
}

/// Unknown task names list the known ones.
fn unknown_tasks_are_listed(d: &Path) {
    // Unknown task names list the known ones.
    let o = medfen(
        d,
        &[
            "split",
            "--manifest",
            "w/ears.parquet",
            "--out-dir",
            "w/s2",
            "--task",
            "nope",
        ],
    );
    assert!(!o.status.success());
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("known tasks: six_class, normal_vs_diseased")
    );
}

#[test]
fn index_manifest_split_audit() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(&medfen(
        d,
        &[
            "-q",
            "synth",
            "--out",
            "data",
            "--exams",
            "24",
            "--matrix",
            "64",
            "--seed",
            "9",
            "--corrupt-rate",
            "0.3",
            "--repeat-patients",
            "0.4",
        ],
    ));

    // Invalid label rows stop the index, naming the rows, until --skip-invalid.
    let o = medfen(
        d,
        &[
            "index",
            "--labels",
            "data/labels.xlsx",
            "--dicom-root",
            "data/dicom",
            "--out",
            "w/exams.parquet",
        ],
    );
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("labels.xlsx") && err.contains("row ") && err.contains("--skip-invalid"),
        "{err}"
    );
    let text = ok(&medfen(
        d,
        &[
            "index",
            "--labels",
            "data/labels.xlsx",
            "--dicom-root",
            "data/dicom",
            "--out",
            "w/exams.parquet",
            "--skip-invalid",
        ],
    ));
    assert!(
        text.contains("indexed") && text.contains("quarantine"),
        "{text}"
    );
    for f in [
        "exams.parquet",
        "exams.csv",
        "exams.json",
        "exams.quarantine.csv",
    ] {
        assert!(d.join("w").join(f).is_file(), "{f}");
    }
    manifest_split_and_audit(d);
    refuses_a_second_split_and_planted_leakage(d);
    unknown_tasks_are_listed(d);
}

#[test]
fn help_texts_have_examples() {
    for cmd in ["index", "manifest", "split", "audit"] {
        let o = Command::new(MEDFEN).args([cmd, "--help"]).output().unwrap();
        let text = String::from_utf8_lossy(&o.stdout);
        assert!(
            text.contains("Examples:") && text.contains(&format!("medfen {cmd} --")),
            "{cmd}: {text}"
        );
    }
}

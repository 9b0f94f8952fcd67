//! `medfen synth` end to end: a dataset, its summary, a resumed rerun, and refusals
//! that say what is wrong.

use std::process::Command;

const MEDFEN: &str = env!("CARGO_BIN_EXE_medfen");

fn synth(args: &[&str]) -> std::process::Output {
    Command::new(MEDFEN)
        .arg("synth")
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn makes_a_dataset_resumes_it_and_refuses_other_options() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("ds");
    let out_arg = out_dir.to_str().unwrap();
    let args = [
        "--out",
        out_arg,
        "--exams",
        "3",
        "--seed",
        "5",
        "--matrix",
        "64",
        "--corrupt-rate",
        "0.5",
        "--code-freq",
        "4=0.3",
        "--json",
    ];
    let first = synth(&args);
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&first.stdout).unwrap();
    assert_eq!(report["exams"], 3);
    assert_eq!(report["files_reused"], 0);
    let ears: u64 = report["ears_by_code"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .sum();
    // Every ear has a true code, including those whose label cell is blank.
    assert_eq!(ears, 6);
    for file in [
        "labels.xlsx",
        "truth.parquet",
        "truth.csv",
        "series.parquet",
        "defects.json",
        "synth.json",
    ] {
        assert!(out_dir.join(file).is_file(), "{file} missing");
    }

    // The same command again: everything kept.
    let again = synth(&args);
    assert!(again.status.success());
    let report2: serde_json::Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(report2["files_reused"], report["files"]);

    // Other options into the same folder: a clear refusal naming it.
    let other = synth(&[
        "--out", out_arg, "--exams", "3", "--seed", "6", "--matrix", "64",
    ]);
    assert!(!other.status.success());
    let err = String::from_utf8_lossy(&other.stderr);
    assert!(
        err.contains(out_arg) && err.contains("already holds"),
        "{err}"
    );
}

#[test]
fn bad_options_are_refused_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("x");
    let out = out.to_str().unwrap();
    for (args, expect) in [
        (vec!["--out", out, "--code-freq", "9=0.1"], "9"),
        (vec!["--out", out, "--matrix", "8"], "matrix"),
        (vec!["--out", out, "--corrupt-rate", "1.5"], "corrupt"),
        (vec!["--out", out, "--exams", "0"], "exam"),
    ] {
        let o = synth(&args);
        assert!(!o.status.success(), "{args:?} accepted");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.to_lowercase().contains(expect), "{args:?}: {err}");
    }
    assert!(
        !std::path::Path::new(out).exists(),
        "a refused run wrote files"
    );
}

#[test]
fn help_explains_the_layout() {
    let o = Command::new(MEDFEN)
        .args(["synth", "--help"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&o.stdout);
    for needle in [
        "--corrupt-rate",
        "--difficulty",
        "labels.xlsx",
        "truth.parquet",
        "docs/synth.md",
    ] {
        assert!(text.contains(needle), "--help lacks {needle}");
    }
}

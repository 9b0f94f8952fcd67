//! Every stage is also its own executable, `medfen-<stage>`, that behaves as
//! `medfen <stage>`: the same help, the same output, and no libtorch linked.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const MEDFEN: &str = env!("CARGO_BIN_EXE_medfen");

fn stage_binary(stage: &str) -> PathBuf {
    let path = Path::new(MEDFEN).with_file_name(format!("medfen-{stage}"));
    assert!(path.is_file(), "{} was not built", path.display());
    path
}

fn run(cmd: &mut Command) -> Output {
    cmd.env_remove("MEDFEN_TORCH").output().unwrap()
}

#[test]
fn every_stage_binary_has_the_help_of_its_medfen_subcommand() {
    for stage in medfen_cli::STAGES {
        let own = run(Command::new(stage_binary(stage)).arg("--help"));
        let sub = run(Command::new(MEDFEN).args([stage, "--help"]));
        assert!(
            own.status.success() && sub.status.success(),
            "{stage}: {}",
            String::from_utf8_lossy(&own.stderr)
        );
        let help = String::from_utf8_lossy(&own.stdout);
        assert!(
            help.contains(&format!("Usage: medfen {stage}")),
            "{stage}: {help}"
        );
        assert_eq!(own.stdout, sub.stdout, "medfen-{stage} --help differs");
    }
}

#[test]
fn a_stage_binary_does_what_its_subcommand_does() {
    let dir = tempfile::tempdir().unwrap();
    let table = dir.path().join("p.csv");
    let mut csv = String::from("y_prob,y_true,exam_id\n");
    for i in 0..40 {
        let label = i % 3 == 0;
        let score = f64::from(i) / 40.0 + if label { 0.3 } else { 0.0 };
        let _ = writeln!(csv, "{score},{},{}", u8::from(label), i / 2);
    }
    std::fs::write(&table, csv).unwrap();
    let args = [
        "--pred",
        table.to_str().unwrap(),
        "--score",
        "y_prob",
        "--label",
        "y_true",
        "--group",
        "exam_id",
        "--bootstrap",
        "200",
    ];
    let own = run(Command::new(stage_binary("metrics")).args(args));
    let sub = run(Command::new(MEDFEN).arg("metrics").args(args));
    assert!(
        own.status.success(),
        "{}",
        String::from_utf8_lossy(&own.stderr)
    );
    assert!(String::from_utf8_lossy(&own.stdout).contains("AUROC"));
    assert_eq!(own.stdout, sub.stdout);
    // Errors are reported the same way, with the same exit code.
    let own = run(Command::new(stage_binary("audit")).args(["--splits", "/no/such"]));
    let sub = run(Command::new(MEDFEN).args(["audit", "--splits", "/no/such"]));
    assert_eq!(own.status.code(), sub.status.code());
    assert_eq!(own.stderr, sub.stderr);
    assert!(!own.status.success());
}

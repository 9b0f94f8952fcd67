//! The `medfen` executable: it must not link libtorch, and it must hand model
//! subcommands to its sibling `medfen-torch` unchanged.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use object::elf;
use object::read::elf::ElfFile64;

const MEDFEN: &str = env!("CARGO_BIN_EXE_medfen");

/// The DT_NEEDED entries of an ELF executable.
fn needed_libraries(path: &Path) -> Vec<String> {
    let data = fs::read(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let file = ElfFile64::<object::Endianness>::parse(&*data).expect("not a 64-bit ELF file");
    let endian = file.endian();
    let table = file
        .elf_section_table()
        .dynamic_table(endian, &*data)
        .unwrap();
    table
        .iter()
        .filter(|d| d.tag == elf::DT_NEEDED)
        .map(|d| String::from_utf8_lossy(table.string(d).unwrap()).into_owned())
        .collect()
}

/// `medfen-torch` as built beside `medfen` by a workspace build (`cargo xtask test`).
fn sibling() -> PathBuf {
    let path = Path::new(MEDFEN).with_file_name("medfen-torch");
    assert!(
        path.is_file(),
        "{} is missing: build the whole workspace (`cargo xtask test` or \
         `cargo build --workspace`) so the model executable sits beside medfen",
        path.display()
    );
    path
}

#[test]
fn medfen_does_not_link_libtorch_but_its_sibling_does() {
    let medfen = needed_libraries(Path::new(MEDFEN));
    assert!(
        medfen.iter().any(|l| l.starts_with("libc.so")),
        "{medfen:?}"
    );
    let torchy: Vec<_> = medfen
        .iter()
        .filter(|l| l.contains("torch") || l.contains("c10"))
        .collect();
    assert!(torchy.is_empty(), "medfen links libtorch: {torchy:?}");
    // The same check on the model executable finds libtorch, so it can see it.
    let model = needed_libraries(&sibling());
    assert!(model.iter().any(|l| l == "libtorch_cpu.so"), "{model:?}");
}

#[test]
fn doctor_runs_in_the_sibling_and_reports_a_working_cpu() {
    let out = Command::new(MEDFEN)
        .args(["doctor", "--json"])
        .env_remove("MEDFEN_TORCH")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["libtorch_version"], "2.13.0");
    assert_eq!(report["devices"][0]["device"], "cpu");
    assert_eq!(report["devices"][0]["ok"], true);
    assert!(report["devices"][0]["max_rel_error"].as_f64().unwrap() < 1e-4);
    let _ = sibling();
}

#[test]
fn help_of_a_model_subcommand_comes_from_the_sibling() {
    let out = Command::new(MEDFEN)
        .args(["doctor", "--help"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(help.contains("Usage: medfen doctor"), "{help}");
    assert!(help.contains("--json"), "{help}");
}

#[test]
fn forwards_arguments_log_flags_and_exit_code() {
    let dir = tempfile::tempdir().unwrap();
    let fake = dir.path().join("fake-medfen-torch");
    let record = dir.path().join("args.txt");
    fs::write(
        &fake,
        format!(
            "#!/bin/sh\nprintf '%s\\n' \"$@\" > '{}'\nexit 3\n",
            record.display()
        ),
    )
    .unwrap();
    fs::set_permissions(&fake, fs::Permissions::from_mode(0o755)).unwrap();
    let status = Command::new(MEDFEN)
        .args(["-v", "doctor", "--json", "--anything", "x y"])
        .env("MEDFEN_TORCH", &fake)
        .status()
        .unwrap();
    assert_eq!(
        status.code(),
        Some(3),
        "the sibling's exit code must pass through"
    );
    let args = fs::read_to_string(&record).unwrap();
    assert_eq!(
        args.lines().collect::<Vec<_>>(),
        ["-v", "doctor", "--json", "--anything", "x y"]
    );
}

#[test]
fn a_missing_sibling_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let lonely = dir.path().join("medfen");
    fs::copy(MEDFEN, &lonely).unwrap();
    let out = Command::new(&lonely)
        .arg("doctor")
        .env_remove("MEDFEN_TORCH")
        .env("PATH", dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("medfen-torch"), "{err}");
    assert!(
        err.contains("cargo build --release -p medfen-torch"),
        "{err}"
    );

    let out = Command::new(MEDFEN)
        .arg("doctor")
        .env("MEDFEN_TORCH", dir.path().join("nope"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not name an executable file"));
}

#[test]
fn top_level_help_lists_subcommands_and_examples() {
    let out = Command::new(MEDFEN).arg("--help").output().unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(help.contains("doctor"), "{help}");
    assert!(help.contains("Examples:"), "{help}");
}

//! `medfen-torch` on its own: the libtorch link works in the built executable (rpath,
//! no LD_LIBRARY_PATH) and `doctor` reports a CPU that computes correctly.

use std::process::Command;

const EXE: &str = env!("CARGO_BIN_EXE_medfen-torch");

#[test]
fn doctor_runs_without_library_path_and_checks_the_cpu() {
    let out = Command::new(EXE)
        .args(["doctor", "--json"])
        .env_remove("LD_LIBRARY_PATH")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["libtorch_version"], "2.13.0");
    assert!(report["intra_op_threads"].as_i64().unwrap() >= 1);
    let cpu = &report["devices"][0];
    assert_eq!(
        (cpu["device"].as_str(), cpu["ok"].as_bool()),
        (Some("cpu"), Some(true))
    );
    assert!(cpu["max_rel_error"].as_f64().unwrap() < 1e-4);
}

#[test]
fn help_reads_as_medfen() {
    let out = Command::new(EXE)
        .args(["doctor", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(help.contains("Usage: medfen doctor"), "{help}");
}

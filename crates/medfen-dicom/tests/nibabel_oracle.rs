//! nibabel is the oracle for NIfTI: on nibabel's own test files, medfen's canonical LPS
//! volume holds the same values as nibabel's closest-canonical RAS image flipped to LPS,
//! and every voxel's position agrees to 1e-4 mm. 4D files are refused by name.

use std::path::{Path, PathBuf};
use std::process::Command;

use medfen_dicom::{Error, read_nifti};

fn oracle_python() -> PathBuf {
    let python = std::env::var_os("MEDFEN_ORACLE_PYTHON").expect(
        "MEDFEN_ORACLE_PYTHON is not set: the nibabel oracle is missing. Run `cargo xtask oracles`",
    );
    let python = PathBuf::from(python);
    assert!(
        python.is_file(),
        "the oracle interpreter {} does not exist: run `cargo xtask oracles`",
        python.display()
    );
    python
}

fn close(a: [f64; 3], b: &serde_json::Value, what: &str) {
    let b: Vec<f64> = b
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    let d = ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2) + (a[2] - b[2]).powi(2)).sqrt();
    assert!(d < 1e-4, "{what}: medfen {a:?} vs nibabel {b:?}");
}

#[test]
fn nifti_volumes_match_nibabel() {
    let dir = tempfile::tempdir().unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/oracle/nibabel_dump.py");
    let out = Command::new(oracle_python())
        .arg(&script)
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (mut compared, mut refused_4d) = (0, 0);
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let rec: serde_json::Value = serde_json::from_str(line).unwrap();
        let path = PathBuf::from(rec["path"].as_str().unwrap());
        let status = rec["status"].as_str().unwrap();
        if status.starts_with("4D") {
            let err = read_nifti(&path).unwrap_err();
            let text = err.to_string();
            assert!(
                matches!(err, Error::Nifti { .. })
                    && (text.contains("4D") || text.contains("NIfTI-2")),
                "{err}"
            );
            assert!(
                err.to_string()
                    .contains(path.file_name().unwrap().to_str().unwrap()),
                "{err}"
            );
            refused_4d += 1;
            continue;
        }
        let Some(n) = rec["dumped"].as_u64() else {
            continue;
        };
        let vol = read_nifti(&path).unwrap_or_else(|e| panic!("{e}"));
        let shape: Vec<usize> = rec["shape"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap() as usize)
            .collect();
        assert_eq!(vol.shape.to_vec(), shape, "{}", path.display());
        let want: Vec<f32> = std::fs::read(dir.path().join(format!("{n}.f32")))
            .unwrap()
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
            .collect();
        assert_eq!(vol.data.len(), want.len());
        let differ = vol
            .data
            .iter()
            .zip(&want)
            .position(|(a, b)| !(a == b || (a.is_nan() && b.is_nan())));
        assert_eq!(differ, None, "{}: first differing voxel", path.display());
        close(vol.index_to_lps(0.0, 0.0, 0.0), &rec["origin"], "origin");
        close(vol.index_to_lps(1.0, 0.0, 0.0), &rec["z1"], "z step");
        close(vol.index_to_lps(0.0, 1.0, 0.0), &rec["y1"], "y step");
        close(vol.index_to_lps(0.0, 0.0, 1.0), &rec["x1"], "x step");
        compared += 1;
    }
    assert!(
        compared >= 4 && refused_4d >= 2,
        "compared {compared}, refused {refused_4d}"
    );
}

//! `medfen volume` end to end on a series written with known geometry.

use std::path::Path;
use std::process::Command;

use medfen_dicom::writer::{DicomImageSpec, FrameSpec, write_dicom};

const MEDFEN: &str = env!("CARGO_BIN_EXE_medfen");

/// 4 axial slices of 6 x 5, stored value 100k + 10r + c, HU = stored - 1024.
fn write_series(dir: &Path, uid: &str, series_number: i64) {
    for k in 0..4 {
        let spec = DicomImageSpec {
            rows: 5,
            cols: 6,
            pixel_spacing: Some([0.5, 0.4]),
            series_uid: uid.into(),
            sop_instance_uid: format!("{uid}.{k}"),
            series_number: Some(series_number),
            instance_number: Some(4 - i64::from(k)),
            frames: vec![FrameSpec {
                position: Some([-1.0, -2.0, 3.0 + 0.7 * f64::from(k)]),
                slope: 1.0,
                intercept: -1024.0,
                stored: (0..5)
                    .flat_map(|r| (0..6).map(move |c| 100 * k + 10 * r + c))
                    .collect(),
            }],
            ..DicomImageSpec::default()
        };
        write_dicom(&dir.join(format!("{uid}-{}.dcm", 3 - k)), &spec).unwrap();
    }
}

#[test]
fn writes_npy_and_reports_geometry() {
    let dir = tempfile::tempdir().unwrap();
    write_series(dir.path(), "1.2.5.1", 1);
    let out = Command::new(MEDFEN)
        .args(["volume", ".", "--out", "v.npy", "--json"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let j: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(j["geometry"]["shape"], serde_json::json!([4, 5, 6]));
    let spacing: Vec<f64> = j["geometry"]["spacing"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    assert!(
        (spacing[0] - 0.7).abs() < 1e-9 && spacing[1] == 0.5 && spacing[2] == 0.4,
        "{spacing:?}"
    );
    assert_eq!(j["source"]["format"], "dicom");
    assert_eq!(j["qa"], serde_json::json!([]));
    assert_eq!(
        j["value_range"],
        serde_json::json!([-1024.0, -1024.0 + 300.0 + 40.0 + 5.0])
    );
    let bytes = std::fs::read(dir.path().join("v.npy")).unwrap();
    let npy = npyz::NpyFile::new(&bytes[..]).unwrap();
    assert_eq!(npy.shape(), &[4, 5, 6]);
    let data: Vec<f32> = npy.into_vec().unwrap();
    // [z=2, y=3, x=4] is slice 2, row 3, column 4.
    assert_eq!(data[(2 * 5 + 3) * 6 + 4], (234 - 1024) as f32);
}

#[test]
fn tie_policy_and_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    write_series(dir.path(), "1.2.5.2", 1);
    write_series(dir.path(), "1.2.5.3", 9);
    let out = Command::new(MEDFEN)
        .args(["volume", "."])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("cannot choose between series 1.2.5.2, 1.2.5.3"),
        "{err}"
    );
    let out = Command::new(MEDFEN)
        .args(["volume", ".", "--tie-break", "highest-series-number"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("DICOM series 1.2.5.3")
            && text.contains("tie broken by highest Series Number"),
        "{text}"
    );
    let out = Command::new(MEDFEN)
        .args(["volume", "missing-folder"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("missing-folder"));
}

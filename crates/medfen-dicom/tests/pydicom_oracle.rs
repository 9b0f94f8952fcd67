//! pydicom is the oracle: for every bundled pydicom test file that pydicom decodes (with
//! pylibjpeg, pylibjpeg-openjpeg and pylibjpeg-rle), medfen's stored values must equal
//! `pixel_array` exactly and its HU must equal `apply_modality_lut` (after medfen's
//! documented MONOCHROME1 and padding rules). Files medfen does not read (colour) must
//! fail with a typed "unsupported" error. A per-file table is printed.
// The per-file table is this test's report.
#![allow(clippy::print_stdout)]

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use medfen_dicom::{Error, ImageFile};

fn oracle_python() -> PathBuf {
    let python = std::env::var_os("MEDFEN_ORACLE_PYTHON").expect(
        "MEDFEN_ORACLE_PYTHON is not set: the pydicom oracle is missing. Run `cargo xtask oracles` \
         (or `cargo xtask test`, which provisions it)",
    );
    let python = PathBuf::from(python);
    assert!(
        python.is_file(),
        "the oracle interpreter {} does not exist: run `cargo xtask oracles`",
        python.display()
    );
    python
}

fn read_le<const N: usize, T>(path: &Path, f: impl Fn([u8; N]) -> T) -> Vec<T> {
    std::fs::read(path)
        .unwrap()
        .chunks_exact(N)
        .map(|c| f(c.try_into().unwrap()))
        .collect()
}

fn is_jpeg_ls(ts: &str) -> bool {
    matches!(ts, "1.2.840.10008.1.2.4.80" | "1.2.840.10008.1.2.4.81")
}

/// Transfer syntaxes this build must decode when pydicom does (refusing one is a failure).
/// The others may be refused by name: 12-bit lossy JPEG always, JPEG-LS without the
/// `jpeg-ls` feature.
fn claimed(ts: &str) -> bool {
    is_jpeg_ls(ts) && cfg!(feature = "jpeg-ls")
}

#[test]
fn stored_values_and_hu_equal_pydicom_on_its_own_test_files() {
    let dir = tempfile::tempdir().unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/oracle/pydicom_dump.py");
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
    let mut table = String::new();
    let (mut passed, mut unsupported, mut failures) = (0, 0, Vec::new());
    let mut jpeg_ls_passed = 0;
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let rec: serde_json::Value = serde_json::from_str(line).unwrap();
        let file = rec["file"].as_str().unwrap();
        let status = rec["status"].as_str().unwrap();
        if status != "decoded" {
            continue;
        }
        let path = PathBuf::from(rec["path"].as_str().unwrap());
        let ts = rec["ts"].as_str().unwrap_or("");
        let verdict = match (rec["dumped"].as_u64(), ImageFile::open(&path)) {
            (None, Err(Error::UnsupportedImage { reason, .. })) => {
                unsupported += 1;
                format!("unsupported: {reason}")
            }
            (None, Ok(_)) => {
                failures.push(format!(
                    "{file}: medfen opened a {} image it does not claim to read",
                    rec["photometric"]
                ));
                "FAIL: opened a non-grayscale image".into()
            }
            (Some(_), Err(e @ Error::UnsupportedTransferSyntax { .. })) if !claimed(ts) => {
                unsupported += 1;
                format!("unsupported: {e}")
            }
            (_, Err(e)) => {
                failures.push(format!("{file}: {e}"));
                format!("FAIL: {e}")
            }
            (Some(n), Ok(img)) => {
                let want_stored =
                    read_le::<8, i64>(&dir.path().join(format!("{n}.stored")), i64::from_le_bytes);
                let want_hu =
                    read_le::<8, f64>(&dir.path().join(format!("{n}.hu")), f64::from_le_bytes);
                let stored = img.stored().map(|s| s.values);
                let mut hu = vec![0f64; want_hu.len()];
                let plane = usize::from(img.header().rows) * usize::from(img.header().cols);
                let hu_ok = hu
                    .chunks_mut(plane)
                    .enumerate()
                    .try_for_each(|(f, chunk)| img.frame_into::<f64>(f, chunk).map(|_| ()));
                match (stored, hu_ok) {
                    (Ok(s), Ok(())) if s == want_stored && hu == want_hu => {
                        passed += 1;
                        if is_jpeg_ls(ts) {
                            jpeg_ls_passed += 1;
                        }
                        format!("pass ({} values)", s.len())
                    }
                    (Ok(s), Ok(())) => {
                        let first = s.iter().zip(&want_stored).position(|(a, b)| a != b);
                        let first_hu = hu.iter().zip(&want_hu).position(|(a, b)| a != b);
                        let msg = format!(
                            "MISMATCH: {} vs {} stored values, first stored difference at {first:?}, first HU difference at {first_hu:?}",
                            s.len(),
                            want_stored.len()
                        );
                        failures.push(format!("{file}: {msg}"));
                        msg
                    }
                    (Err(e), _) | (_, Err(e)) => {
                        failures.push(format!("{file}: {e}"));
                        format!("FAIL: {e}")
                    }
                }
            }
        };
        let _ = writeln!(table, "{file:<45} {ts:<24} {verdict}");
    }
    println!("{table}");
    println!(
        "pydicom oracle: {passed} files identical, {unsupported} unsupported, {} failures",
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "medfen disagrees with pydicom:\n{}",
        failures.join("\n")
    );
    if cfg!(feature = "jpeg-ls") {
        assert!(
            jpeg_ls_passed >= 3,
            "built with jpeg-ls but only {jpeg_ls_passed} JPEG-LS files were compared"
        );
    }
    assert!(
        passed >= 40,
        "only {passed} files compared: is the pydicom oracle complete?"
    );
}

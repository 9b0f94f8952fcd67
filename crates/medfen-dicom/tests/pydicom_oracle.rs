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

use medfen_dicom::pixels::FrameRowReader;
use medfen_dicom::writer::{DicomImageSpec, FrameSpec, WriteSyntax, write_dicom};
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

/// Runs `pydicom_dump.py` into `dir` (on `files`, or pydicom's own test files when
/// empty) and returns its stdout.
fn pydicom_dump(dir: &Path, files: &[PathBuf]) -> String {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/oracle/pydicom_dump.py");
    let out = Command::new(oracle_python())
        .arg(&script)
        .arg(dir)
        .args(files)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn files_medfen_writes_decode_identically_in_pydicom() {
    let dir = tempfile::tempdir().unwrap();
    let (rows, cols) = (23u16, 31u16);
    let mut files = Vec::new();
    let mut expected: Vec<Vec<i64>> = Vec::new();
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for syntax in [
        WriteSyntax::ExplicitLe,
        WriteSyntax::ImplicitLe,
        WriteSyntax::ExplicitBe,
        WriteSyntax::Rle,
        WriteSyntax::JpegLossless,
    ] {
        for signed in [false, true] {
            for n_frames in [1usize, 3] {
                let (lo, hi) = if signed {
                    (-2048i64, 2047i64)
                } else {
                    (0, 4095)
                };
                let frames: Vec<FrameSpec> = (0..n_frames)
                    .map(|f| FrameSpec {
                        position: Some([0.0, 0.0, f as f64]),
                        slope: 1.0,
                        intercept: -1024.0,
                        // smooth ramps, noise, and the extremes side by side
                        stored: (0..usize::from(rows) * usize::from(cols))
                            .map(|i| {
                                let v = match i % 7 {
                                    0 => lo,
                                    1 => hi,
                                    2 | 3 => lo + (next() % (hi - lo + 1) as u64) as i64,
                                    _ => lo + ((i * 13 + f * 101) as i64 % (hi - lo + 1)),
                                };
                                v as i32
                            })
                            .collect(),
                    })
                    .collect();
                let name = format!(
                    "{syntax:?}-{}-{n_frames}.dcm",
                    if signed { "s" } else { "u" }
                );
                let spec = DicomImageSpec {
                    syntax,
                    rows,
                    cols,
                    signed,
                    sop_instance_uid: format!("1.2.826.0.1.3680043.10.1.3.{}", files.len() + 1),
                    frames: frames.clone(),
                    ..DicomImageSpec::default()
                };
                let path = dir.path().join("files").join(name);
                write_dicom(&path, &spec).unwrap();
                expected.push(
                    frames
                        .iter()
                        .flat_map(|f| f.stored.iter().map(|&v| i64::from(v)))
                        .collect(),
                );
                files.push(path);
            }
        }
    }
    let dump = pydicom_dump(dir.path(), &files);
    let records: Vec<serde_json::Value> = dump
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(records.len(), files.len());
    for ((rec, want), path) in records.iter().zip(&expected).zip(&files) {
        let file = rec["file"].as_str().unwrap();
        assert_eq!(
            rec["status"], "decoded",
            "pydicom cannot decode {file}: {rec}"
        );
        let n = rec["dumped"].as_u64().unwrap();
        let pydicom =
            read_le::<8, i64>(&dir.path().join(format!("{n}.stored")), i64::from_le_bytes);
        assert_eq!(&pydicom, want, "pydicom reads other values from {file}");
        let medfen = ImageFile::open(path).unwrap().stored().unwrap().values;
        assert_eq!(&medfen, want, "medfen reads other values from {file}");
    }
}

/// Checks that the middle rows of every frame, read with a fresh header and
/// [`FrameRowReader`], equal `hu` (every frame through [`ImageFile::frame_into`]).
fn rows_match(path: &Path, hu: &[f64], frames: usize) -> Result<(), String> {
    let header = medfen_dicom::read_header(path).map_err(|e| e.to_string())?;
    let (rows, cols) = (usize::from(header.rows), usize::from(header.cols));
    let mut reader = FrameRowReader::default();
    for f in 0..frames {
        let want = rows / 3..rows - rows / 4;
        let mut got = vec![0f64; want.len() * cols];
        reader
            .read_rows(&header, f, want.clone(), &mut got)
            .map_err(|e| e.to_string())?;
        let at = (f * rows + want.start) * cols..(f * rows + want.end) * cols;
        if got != hu[at] {
            return Err(format!("frame {f}, rows {want:?} differ"));
        }
    }
    Ok(())
}

/// Compares the decoded stored values and HU of `img` with pydicom's dump `n`, and the
/// rows read straight from the file (the cache's path) with the HU. Returns the
/// verdict for the table, and the failures (none when identical).
fn compare_with_dump(
    dir: &Path,
    n: u64,
    img: &ImageFile,
    path: &Path,
    file: &str,
) -> (String, Result<(), Vec<String>>) {
    let want_stored = read_le::<8, i64>(&dir.join(format!("{n}.stored")), i64::from_le_bytes);
    let want_hu = read_le::<8, f64>(&dir.join(format!("{n}.hu")), f64::from_le_bytes);
    let stored = img.stored().map(|s| s.values);
    let mut hu = vec![0f64; want_hu.len()];
    let plane = usize::from(img.header().rows) * usize::from(img.header().cols);
    let hu_ok = hu
        .chunks_mut(plane)
        .enumerate()
        .try_for_each(|(f, chunk)| img.frame_into::<f64>(f, chunk).map(|_| ()));
    let mut failures = Vec::new();
    if hu_ok.is_ok()
        && let Err(e) = rows_match(path, &hu, img.frames())
    {
        failures.push(format!("{file}: FrameRowReader: {e}"));
    }
    let verdict = match (stored, hu_ok) {
        (Ok(s), Ok(())) if s == want_stored && hu == want_hu => {
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
    };
    let result = if failures.is_empty() {
        Ok(())
    } else {
        Err(failures)
    };
    (verdict, result)
}

#[test]
fn stored_values_and_hu_equal_pydicom_on_its_own_test_files() {
    let dir = tempfile::tempdir().unwrap();
    let stdout = pydicom_dump(dir.path(), &[]);
    let mut table = String::new();
    let (mut passed, mut unsupported, mut failures) = (0, 0, Vec::new());
    let mut jpeg_ls_passed = 0;
    for line in stdout.lines() {
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
            (_, Err(e @ Error::MislabeledEncoding { .. })) => {
                unsupported += 1;
                format!("refused: {e}")
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
                let (verdict, same) = compare_with_dump(dir.path(), n, &img, &path, file);
                match same {
                    Ok(()) => {
                        passed += 1;
                        jpeg_ls_passed += usize::from(is_jpeg_ls(ts));
                    }
                    Err(failure) => failures.extend(failure),
                }
                verdict
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

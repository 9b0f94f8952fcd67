//! Bad input gives a typed error naming the file, never a panic, and scans report it.

mod common;

use std::path::{Path, PathBuf};

use common::Geom;
use medfen_dicom::writer::{WriteSyntax, write_dicom};
use medfen_dicom::{Error, ImageFile, ReadOptions, ScanOptions, read_dicom, read_header, scan};

fn valid_file(dir: &Path, syntax: WriteSyntax) -> PathBuf {
    let g = Geom::axial(1);
    let mut spec = g.spec(0, "1.2.9.1");
    spec.syntax = syntax;
    let path = dir.join(format!("valid_{syntax:?}.dcm"));
    write_dicom(&path, &spec).unwrap();
    path
}

/// Every reader on `path`: any error must name the file; nothing may panic.
fn read_everything(path: &Path) -> Vec<String> {
    let mut errors = Vec::new();
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    if let Err(e) = read_header(path) {
        errors.push(e.to_string());
    }
    match ImageFile::open(path) {
        Err(e) => errors.push(e.to_string()),
        Ok(img) => {
            if let Err(e) = img.stored() {
                errors.push(e.to_string());
            }
            let mut out =
                vec![0i16; usize::from(img.header().rows) * usize::from(img.header().cols)];
            if let Err(e) = img.frame_into(0, &mut out) {
                errors.push(e.to_string());
            }
        }
    }
    for e in &errors {
        assert!(
            e.contains(&name),
            "error does not name the file {name}: {e}"
        );
    }
    errors
}

#[test]
fn empty_and_non_dicom_files_are_not_dicom() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.dcm");
    std::fs::write(&empty, b"").unwrap();
    assert!(matches!(read_header(&empty), Err(Error::NotDicom { .. })));
    assert!(matches!(
        ImageFile::open(&empty),
        Err(Error::NotDicom { .. })
    ));
    let text = dir.path().join("notes.txt");
    std::fs::write(&text, "not an image\n".repeat(20)).unwrap();
    let report = scan(dir.path(), &ScanOptions::default(), &|_| {}).unwrap();
    assert_eq!(report.non_dicom, vec![empty.clone(), text]);
    assert!(report.headers.is_empty() && report.unreadable.is_empty());
    let err = read_dicom::<i16>(dir.path(), &ReadOptions::default(), &|_| {}).unwrap_err();
    assert!(matches!(err, Error::NothingFound(_)), "{err}");
}

#[test]
fn truncated_files_at_every_length_give_named_errors() {
    let dir = tempfile::tempdir().unwrap();
    for syntax in [WriteSyntax::ExplicitLe, WriteSyntax::Rle] {
        let full = valid_file(dir.path(), syntax);
        let expected = ImageFile::open(&full).unwrap().stored().unwrap();
        let bytes = std::fs::read(&full).unwrap();
        let cut = dir.path().join("cut.dcm");
        let mut lengths: Vec<usize> = (0..bytes.len().min(600)).collect();
        lengths.extend((600..bytes.len()).step_by(7));
        for len in lengths {
            std::fs::write(&cut, &bytes[..len]).unwrap();
            let errors = read_everything(&cut);
            if errors.is_empty() {
                // Only a cut that loses nothing (e.g. the trailing sequence delimiter of
                // encapsulated data) may be accepted, and then the pixels are all there.
                let got = ImageFile::open(&cut).unwrap().stored().unwrap();
                assert_eq!(
                    got,
                    expected,
                    "{syntax:?} truncated to {len} of {} bytes decoded differently",
                    bytes.len()
                );
                assert!(
                    len + 8 >= bytes.len(),
                    "{syntax:?} truncated to {len} of {} bytes was accepted",
                    bytes.len()
                );
            }
        }
    }
}

#[test]
fn corrupted_bytes_never_panic() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = std::fs::read(valid_file(dir.path(), WriteSyntax::ExplicitLe)).unwrap();
    let bad = dir.path().join("corrupt.dcm");
    // Flip every byte of the header region, one at a time, through a few values.
    let header_end = bytes.len() - 12 * 16 * 2;
    for pos in 128..header_end {
        for v in [0x00u8, 0xFF] {
            let mut b = bytes.clone();
            b[pos] = v;
            std::fs::write(&bad, &b).unwrap();
            let _ = read_everything(&bad);
        }
    }
}

#[test]
fn broken_lengths_and_missing_pixel_data_are_typed_errors() {
    let dir = tempfile::tempdir().unwrap();
    let path = valid_file(dir.path(), WriteSyntax::ExplicitLe);
    let mut bytes = std::fs::read(&path).unwrap();
    // Rows (0028,0010) "US" length 2 -> a length far past the end of the file.
    let rows_tag = [0x28u8, 0x00, 0x10, 0x00, b'U', b'S'];
    let at = bytes
        .windows(6)
        .position(|w| w == rows_tag)
        .expect("Rows element");
    bytes[at + 6..at + 8].copy_from_slice(&0xFFF0u16.to_le_bytes());
    let broken = dir.path().join("broken_length.dcm");
    std::fs::write(&broken, &bytes).unwrap();
    let errors = read_everything(&broken);
    assert!(!errors.is_empty());

    // A CT header without PixelData.
    let g = Geom::axial(1);
    let spec = g.spec(0, "1.2.9.2");
    let full = dir.path().join("full.dcm");
    write_dicom(&full, &spec).unwrap();
    let mut bytes = std::fs::read(&full).unwrap();
    let pixel_tag = [0xE0u8, 0x7F, 0x10, 0x00];
    let at = bytes
        .windows(4)
        .rposition(|w| w == pixel_tag)
        .expect("PixelData element");
    bytes.truncate(at);
    let no_pixels = dir.path().join("no_pixels.dcm");
    std::fs::write(&no_pixels, &bytes).unwrap();
    assert!(read_header(&no_pixels).is_ok(), "the header alone is fine");
    let err = ImageFile::open(&no_pixels)
        .err()
        .expect("no pixel data must be an error");
    assert!(matches!(err, Error::NoPixelData { .. }), "{err}");
    assert!(err.to_string().contains("no_pixels.dcm"), "{err}");
}

#[test]
fn zero_slope_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let g = Geom::axial(2);
    g.write(dir.path(), "1.2.9.3", &[0, 1], |_, s| {
        s.frames[0].slope = 0.0;
    });
    let err = read_dicom::<i16>(dir.path(), &ReadOptions::default(), &|_| {}).unwrap_err();
    assert!(
        err.to_string().contains("RescaleSlope") && err.to_string().contains("1_2_9_3"),
        "{err}"
    );
}

#[test]
fn scans_list_unreadable_files_with_the_reason_and_keep_going() {
    let dir = tempfile::tempdir().unwrap();
    let g = Geom::axial(3);
    g.write_all(dir.path(), "1.2.9.4");
    let mut junk = vec![0u8; 128];
    junk.extend_from_slice(b"DICM");
    junk.extend_from_slice(&[0xFF; 40]);
    let bad = dir.path().join("zz_broken.dcm");
    std::fs::write(&bad, &junk).unwrap();
    let report = scan(dir.path(), &ScanOptions::default(), &|_| {}).unwrap();
    assert_eq!(report.headers.len(), 3);
    assert_eq!(report.unreadable.len(), 1);
    assert_eq!(report.unreadable[0].path, bad);
    assert!(
        report.unreadable[0].reason.contains("cannot parse DICOM"),
        "{}",
        report.unreadable[0].reason
    );
    // The volume still loads, and the source lists what was unreadable.
    let loaded = read_dicom::<i16>(dir.path(), &ReadOptions::default(), &|_| {}).unwrap();
    let medfen_dicom::VolumeSourceInfo::Dicom { unreadable, .. } = loaded.source else {
        panic!()
    };
    assert_eq!(unreadable.len(), 1);
}

fn pydicom_test_files() -> PathBuf {
    let python = std::env::var_os("MEDFEN_ORACLE_PYTHON")
        .expect("MEDFEN_ORACLE_PYTHON is not set: run `cargo xtask oracles`");
    let out = std::process::Command::new(python)
        .args([
            "-c",
            "import os, pydicom.data; print(os.path.dirname(pydicom.data.__file__))",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "the oracle environment has no pydicom: run `cargo xtask oracles`"
    );
    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()).join("test_files")
}

/// Without the `jpeg-ls` feature, JPEG-LS is refused by name (with it, the pydicom
/// oracle test compares its values).
#[cfg(not(feature = "jpeg-ls"))]
#[test]
fn jpeg_ls_without_the_feature_is_an_unsupported_transfer_syntax_naming_file_and_uid() {
    let path = pydicom_test_files().join("MR_small_jpeg_ls_lossless.dcm");
    let err = ImageFile::open(&path)
        .err()
        .expect("JPEG-LS must be refused");
    match &err {
        Error::UnsupportedTransferSyntax { uid, .. } => assert_eq!(uid, "1.2.840.10008.1.2.4.80"),
        other => panic!("{other}"),
    }
    assert!(
        err.to_string().contains("MR_small_jpeg_ls_lossless.dcm"),
        "{err}"
    );
}

#[test]
fn twelve_bit_lossy_jpeg_is_an_unsupported_transfer_syntax_naming_file_and_uid() {
    // 12-bit lossy JPEG has no pure-Rust decoder: refused up front, naming the UID.
    let data = pydicom_test_files();
    for name in ["JPGExtended.dcm", "JPEG-lossy.dcm"] {
        let err = ImageFile::open(&data.join(name))
            .err()
            .expect("12-bit lossy JPEG must be refused");
        assert!(
            matches!(&err, Error::UnsupportedTransferSyntax { uid, .. } if uid == "1.2.840.10008.1.2.4.51"),
            "{err}"
        );
        assert!(
            err.to_string().contains(name) && err.to_string().contains("12-bit"),
            "{err}"
        );
    }
}

#[test]
fn a_small_compressed_file_declaring_gigapixels_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = valid_file(dir.path(), WriteSyntax::Rle);
    let mut bytes = std::fs::read(&path).unwrap();
    for tag in [
        [0x28u8, 0x00, 0x10, 0x00, b'U', b'S'],
        [0x28, 0x00, 0x11, 0x00, b'U', b'S'],
    ] {
        let at = bytes
            .windows(6)
            .position(|w| w == tag)
            .expect("Rows/Columns");
        bytes[at + 8..at + 10].copy_from_slice(&u16::MAX.to_le_bytes());
    }
    let huge = dir.path().join("huge.dcm");
    std::fs::write(&huge, &bytes).unwrap();
    let err = ImageFile::open(&huge)
        .err()
        .expect("must be refused before decoding");
    assert!(
        err.to_string().contains("65535 x 65535 x 1") && err.to_string().contains("huge.dcm"),
        "{err}"
    );
}

#[test]
fn rows_read_after_the_file_changed_are_refused_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = valid_file(dir.path(), WriteSyntax::ExplicitLe);
    let header = read_header(&path).unwrap();
    let cols = usize::from(header.cols);
    let mut reader = medfen_dicom::pixels::FrameRowReader::default();
    let mut out = vec![0i16; 2 * cols];
    reader.read_rows(&header, 0, 1..3, &mut out).unwrap();
    // Rows past the image, a frame it does not have.
    let rows = usize::from(header.rows);
    let mut more = vec![0i16; 2 * cols];
    let err = reader
        .read_rows(&header, 0, rows - 1..rows + 1, &mut more)
        .unwrap_err();
    assert!(matches!(err, Error::Decode { .. }), "{err}");
    let err = reader.read_rows(&header, 1, 1..3, &mut out).unwrap_err();
    assert!(err.to_string().contains("1 frame(s)"), "{err}");
    // The file grew since its header was read.
    let mut bytes = std::fs::read(&path).unwrap();
    bytes.extend_from_slice(&[0; 16]);
    std::fs::write(&path, &bytes).unwrap();
    let err = reader.read_rows(&header, 0, 1..3, &mut out).unwrap_err();
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    assert!(
        err.to_string().contains(&name) && err.to_string().contains("bytes now"),
        "{err}"
    );
}

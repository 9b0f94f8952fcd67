//! Writes the seed corpus of the `parse_decode` fuzz target: small CT files in every
//! transfer syntax the writer produces, single- and multi-frame, signed and unsigned,
//! with and without padding.
//!
//! Usage: `cargo run -p medfen-dicom --example fuzz_seeds -- OUT_DIR`
use std::path::PathBuf;

use medfen_dicom::writer::{DicomImageSpec, FrameSpec, WriteSyntax, write_dicom};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = PathBuf::from(std::env::args().nth(1).ok_or("usage: fuzz_seeds OUT_DIR")?);
    std::fs::create_dir_all(&dir)?;
    let syntaxes = [
        WriteSyntax::ExplicitLe,
        WriteSyntax::ImplicitLe,
        WriteSyntax::ExplicitBe,
        WriteSyntax::Rle,
    ];
    for (i, syntax) in syntaxes.into_iter().enumerate() {
        for frames in [1usize, 3] {
            let spec = DicomImageSpec {
                syntax,
                rows: 4,
                cols: 5,
                signed: i % 2 == 1,
                padding: (i == 2).then_some(0),
                monochrome1: i == 3,
                frames: (0..frames)
                    .map(|k| FrameSpec {
                        position: Some([0.0, 0.0, k as f64]),
                        slope: 1.0,
                        intercept: -1024.0,
                        stored: (0..20).map(|v| (v * 37 + k as i32) % 2000).collect(),
                    })
                    .collect(),
                ..DicomImageSpec::default()
            };
            write_dicom(&dir.join(format!("seed_{syntax:?}_{frames}.dcm")), &spec)?;
        }
    }
    Ok(())
}

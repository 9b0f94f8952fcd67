//! Helpers shared by the command-line tests of medfen-torch.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Output;

use medfen_cache::{CacheSpec, Sampling, build_cache, sources_from};
use medfen_tasks::{PatientKeySecret, SplitOptions, prepare};

/// The command's stdout, after checking that it succeeded.
pub fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "exit {:?}\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The command's stderr, after checking that it failed.
pub fn failed(out: &Output) -> String {
    assert!(!out.status.success(), "expected a failure");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// synth (40 exams, 64 px) -> index -> manifest -> split -> cache (K 8, 32 px).
pub fn dataset(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let data = dir.join("data");
    medfen_synth::generate(
        &medfen_synth::SynthConfig::new(&data)
            .with_exams(40)
            .with_seed(4)
            .with_matrix(64)
            .with_difficulty(medfen_synth::Difficulty::Easy),
    )
    .unwrap();
    let options = SplitOptions {
        val: 0.25,
        test: 0.25,
        ..SplitOptions::default()
    };
    let out = prepare(
        &data.join("labels.xlsx"),
        &data.join("dicom"),
        &dir.join("work"),
        &PatientKeySecret::from_bytes(b"0123456789abcdef0123456789abcdef"),
        &options,
    )
    .unwrap();
    let (exams, splits) = (out.exams, out.splits);
    let spec = CacheSpec {
        num_slices: 8,
        image_size: 32,
        sampling: Sampling::Mm { spacing_mm: 3.0 },
        ..CacheSpec::default()
    };
    let sources = sources_from(&exams, &splits).unwrap();
    let cache = build_cache(&dir.join("cache"), &spec, &sources, &|_| {})
        .unwrap()
        .dir;
    (cache, splits, data.join("dicom"))
}

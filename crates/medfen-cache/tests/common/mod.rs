//! A small synth dataset indexed, split and ready to cache.
#![allow(dead_code)]

use std::path::Path;

use medfen_cache::{CacheSource, CacheSpec, Sampling, sources_from};
use medfen_tasks::{PatientKeySecret, SplitOptions, prepare};

pub fn small_spec() -> CacheSpec {
    CacheSpec {
        num_slices: 8,
        image_size: 32,
        sampling: Sampling::Mm { spacing_mm: 4.0 },
        ..CacheSpec::default()
    }
}

/// synth -> index -> manifest -> split; returns the cache sources.
pub fn sources(dir: &Path, exams: usize) -> Vec<CacheSource> {
    let data = dir.join("data");
    medfen_synth::generate(
        &medfen_synth::SynthConfig::new(&data)
            .with_exams(exams)
            .with_seed(2)
            .with_matrix(64),
    )
    .unwrap();
    let out = prepare(
        &data.join("labels.xlsx"),
        &data.join("dicom"),
        &dir.join("work"),
        &PatientKeySecret::from_bytes(b"0123456789abcdef0123456789abcdef"),
        &SplitOptions::default(),
    )
    .unwrap();
    sources_from(&out.exams, &out.splits).unwrap()
}

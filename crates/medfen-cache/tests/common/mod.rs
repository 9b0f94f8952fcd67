//! A small synth dataset indexed, split and ready to cache.
#![allow(dead_code)]

use std::path::Path;

use medfen_cache::{CacheSource, CacheSpec, Sampling, sources_from};
use medfen_tasks::{
    IndexOptions, LabelOptions, PatientKeySecret, SplitOptions, TaskRegistry, build_index,
    build_manifest, make_split, read_labels, write_manifest,
};

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
    let labels = read_labels(&data.join("labels.xlsx"), &LabelOptions::default()).unwrap();
    let index = build_index(
        &labels,
        &data.join("dicom"),
        &IndexOptions::default(),
        &|_| {},
    )
    .unwrap();
    let exams_path = dir.join("work/exams.parquet");
    index.write(&exams_path, &labels).unwrap();
    let (ears, table, report) = build_manifest(
        &exams_path,
        None,
        &PatientKeySecret::from_bytes(b"0123456789abcdef0123456789abcdef"),
        &TaskRegistry::builtin(),
        &|_| {},
    )
    .unwrap();
    let manifest = dir.join("work/ears.parquet");
    write_manifest(&manifest, &table, &report).unwrap();
    let splits = dir.join("work/splits");
    make_split(&ears, &SplitOptions::default())
        .unwrap()
        .write(&splits, &manifest)
        .unwrap();
    sources_from(&exams_path, &splits).unwrap()
}

//! Runs synth -> labels -> index -> manifest for the medfen-tasks tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use medfen_synth::{SynthConfig, generate};
use medfen_tasks::{
    IndexOptions, LabelOptions, PatientKeySecret, TaskRegistry, build_index, build_manifest,
    read_labels, write_manifest,
};

pub struct Pipeline {
    pub data: PathBuf,
    pub work: PathBuf,
    pub manifest: PathBuf,
}

pub const SECRET: &[u8] = b"a test secret of thirty-two bytes";

/// Makes a synth dataset with `config` in `dir/data` and indexes it into `dir/work`.
pub fn run(dir: &Path, mut config: SynthConfig) -> Pipeline {
    let data = dir.join("data");
    config.out.clone_from(&data);
    generate(&config).unwrap();
    let work = dir.join("work");
    let labels = read_labels(
        &data.join("labels.xlsx"),
        &LabelOptions {
            skip_invalid: true,
            ..LabelOptions::default()
        },
    )
    .unwrap();
    let index = build_index(
        &labels,
        &data.join("dicom"),
        &IndexOptions::default(),
        &|_| {},
    )
    .unwrap();
    let exams = work.join("exams.parquet");
    index.write(&exams, &labels).unwrap();
    let (_, table, report) = build_manifest(
        &exams,
        None,
        &PatientKeySecret::from_bytes(SECRET),
        &TaskRegistry::builtin(),
        &|_| {},
    )
    .unwrap();
    let manifest = work.join("ears.parquet");
    write_manifest(&manifest, &table, &report).unwrap();
    Pipeline {
        data,
        work,
        manifest,
    }
}

/// Every file under `root`, relative path -> bytes.
pub fn snapshot(root: &Path) -> std::collections::BTreeMap<PathBuf, Vec<u8>> {
    let mut out = std::collections::BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.insert(
                    p.strip_prefix(root).unwrap().to_path_buf(),
                    std::fs::read(&p).unwrap(),
                );
            }
        }
    }
    out
}

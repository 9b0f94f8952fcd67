//! Synth datasets indexed, split and cached once per build (under the target folder,
//! behind a file lock, so tests in parallel processes share them), and the training
//! configuration the tests start from.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use medfen_cache::{
    Augment, CacheReader, CacheSpec, SamplerKind, Sampling, build_cache, sources_from,
};
use medfen_models::nets::SlicePooling;
use medfen_models::train::{
    EarlyStopping, LossSpec, ModelSpec, Monitor, PosWeight, Precision, TrainConfig,
};
use medfen_synth::{Difficulty, DiseasedSides, SynthConfig};
use medfen_tasks::{PatientKeySecret, SplitOptions, prepare};

/// libtorch's random generator is global: tests that seed it run one at a time.
static TORCH_RNG: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Takes the generator lock and limits libtorch to one thread: the test runner already
/// runs one test per core, and OpenMP threads spinning against each other on an
/// oversubscribed machine make training many times slower.
pub fn rng_lock() -> std::sync::MutexGuard<'static, ()> {
    tch::set_num_threads(1);
    TORCH_RNG
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A prepared dataset.
pub struct Prepared {
    pub root: PathBuf,
    pub dicom: PathBuf,
    pub splits: PathBuf,
    pub cache: PathBuf,
    pub exams: PathBuf,
}

pub fn spec(image_size: usize) -> CacheSpec {
    CacheSpec {
        num_slices: 16,
        image_size,
        sampling: Sampling::Mm { spacing_mm: 1.5 },
        ..CacheSpec::default()
    }
}

/// synth (easy, 128 px) -> index -> manifest -> split (val 0.2, test 0.25) -> cache.
pub fn prepared(name: &str, exams: usize, sides: DiseasedSides, image_size: usize) -> Prepared {
    let root = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("medfen-models")
        .join(name);
    std::fs::create_dir_all(&root).unwrap();
    let lock = std::fs::File::create(root.join(".lock")).unwrap();
    lock.lock().unwrap();
    let data = root.join("data");
    let exams_path = root.join("work/exams.parquet");
    let splits = root.join("work/splits");
    if !root.join("work/done").exists() {
        let _ = std::fs::remove_dir_all(root.join("work"));
        medfen_synth::generate(
            &SynthConfig::new(&data)
                .with_exams(exams)
                .with_seed(7)
                .with_matrix(128)
                .with_difficulty(Difficulty::Easy)
                .with_diseased_sides(sides),
        )
        .unwrap();
        let options = SplitOptions {
            val: 0.2,
            test: 0.25,
            ..SplitOptions::default()
        };
        prepare(
            &data.join("labels.xlsx"),
            &data.join("dicom"),
            &root.join("work"),
            &PatientKeySecret::from_bytes(b"0123456789abcdef0123456789abcdef"),
            &options,
        )
        .unwrap();
        std::fs::write(root.join("work/done"), b"").unwrap();
    }
    drop(lock);
    let cache = cache_for(&root, &exams_path, &splits, &spec(image_size));
    Prepared {
        dicom: data.join("dicom"),
        root,
        splits,
        cache,
        exams: exams_path,
    }
}

/// The cache of `spec` for a prepared dataset (built on first use; content-addressed).
pub fn cache_for(root: &Path, exams: &Path, splits: &Path, spec: &CacheSpec) -> PathBuf {
    let lock = std::fs::File::create(root.join(".lock")).unwrap();
    lock.lock().unwrap();
    let sources = sources_from(exams, splits).unwrap();
    build_cache(&root.join("cache"), spec, &sources, &|_| {})
        .unwrap()
        .dir
}

/// A small, fast ear2d configuration for `p`'s cache.
pub fn config(p: &Prepared, task: &str, epochs: u64) -> TrainConfig {
    let reader = CacheReader::open(&p.cache).unwrap();
    let binary = task != "six_class";
    let mut model =
        ModelSpec::from_name("ear2d-r18", 16, 1, if binary { 1 } else { 6 }, false).unwrap();
    if let ModelSpec::Ear2d(c) = &mut model {
        c.pooling = SlicePooling::GatedAttention { hidden: 32 };
    }
    TrainConfig {
        cache_dir: p.cache.clone(),
        splits_dir: p.splits.clone(),
        subset: "100pct".into(),
        task: task.into(),
        tasks_file: None,
        cache_spec: reader.spec().clone(),
        cache_key: p.cache.file_name().unwrap().to_string_lossy().into_owned(),
        model_name: "ear2d-r18".into(),
        model,
        loss: if binary {
            LossSpec::Bce {
                pos_weight: PosWeight::None,
            }
        } else {
            LossSpec::Ce {
                label_smoothing: 0.1,
                class_weights: true,
            }
        },
        sampler: SamplerKind::Shuffle,
        augment: Augment::default(),
        epochs,
        batch_size: 8,
        accumulate: 1,
        lr: 2e-3,
        min_lr: 1e-6,
        warmup_epochs: 1.0,
        weight_decay: 1e-2,
        grad_clip: Some(1.0),
        early_stopping: EarlyStopping {
            monitor: if binary {
                Monitor::Auroc
            } else {
                Monitor::MacroF1
            },
            patience: 0,
            min_delta: 0.0,
        },
        seed: 3,
        precision: Precision::Fp32,
        checkpoint_steps: 0,
        prefetch: 2,
        top_k: 3,
    }
}

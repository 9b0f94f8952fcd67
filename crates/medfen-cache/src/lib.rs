//! Ear regions from CT volumes and a content-addressed int16 HU cache, with a loader
//! that augments and batches records in the background.
//!
//! - [`extract_ears`]: both ears of a canonical volume as `[K, S, S]` HU records
//!   (midline from bone, the right ear mirrored so columns run medial to lateral, the
//!   crop centred on the middle-ear and mastoid air, K slices by [`Sampling`]).
//! - [`build_cache`]: every exam of a split, each series decoded once, into
//!   `<root>/<key>/` (key = spec + source fingerprints); resumable;
//!   [`verify_cache`], [`gc_caches`].
//! - [`CacheReader`], [`make_batch`], [`Loader`]: memory-mapped records, augmentation
//!   drawn per (seed, epoch, record) and shared by the K slices, prefetched batches;
//!   [`Augment`] presets: medfen's training default, the original pipeline's recipe
//!   ([`Augment::original`]) and the window only ([`Augment::eval`]).
//!
//! # Example
//!
//! ```
//! use medfen_cache::{CacheSpec, extract_ears};
//! use medfen_tasks::Side;
//!
//! let dir = tempfile::tempdir()?;
//! medfen_synth::generate(&medfen_synth::SynthConfig::new(dir.path()).with_exams(1).with_matrix(128))?;
//! let exam = std::fs::read_dir(dir.path().join("dicom"))?.next().unwrap()?.path();
//! let exam = std::fs::read_dir(exam)?.next().unwrap()?.path();
//! let volume = medfen_dicom::read_dicom::<i16>(&exam, &Default::default(), &|_| {})?.volume;
//!
//! let spec = CacheSpec { num_slices: 16, image_size: 96, ..CacheSpec::default() };
//! let [left, right] = extract_ears(&volume, &spec);
//! assert_eq!((left.side, right.side), (Side::Left, Side::Right));
//! assert_eq!(left.data.len(), 16 * 96 * 96);
//! // the patient's left ear is at larger LPS x than the midline, the right one smaller
//! assert!(left.placement.centre_mm[0] > left.placement.midline_mm && right.placement.centre_mm[0] < right.placement.midline_mm);
//! // 72 mm crops over 96 pixels
//! assert!((left.placement.pixel_mm[1] - 72.0 / 96.0).abs() < 1e-9);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![warn(missing_docs)]

mod augment;
mod error;
mod kernels;
pub mod laterality;
mod loader;
mod maintain;
mod roi;
mod shell;
mod spec;
mod store;

pub use augment::{Augment, AugmentPreset, augment_record};
pub use error::{Error, Result};
pub use loader::{
    Batch, CacheReader, EpochPosition, Loader, SamplerKind, double_correction_warning, epoch_order,
    make_batch, make_batch_into,
};
pub use maintain::{GcReport, VerifyReport, gc_caches, verify_cache};
pub use roi::{
    CentreSource, EarRecord, LazySlices, Placement, extract_ears, extract_ears_lazy,
    temporal_air_profile,
};
pub use spec::{CODE_VERSION, CacheSpec, CropMode, OnIrregular, Sampling};
pub use store::{
    BuildReport, COMPLETE, CacheManifest, CacheSource, ExtractedExam, RecordMeta, build_cache,
    cache_key, estimated_bytes, extract_source, read_index, sources_from,
};

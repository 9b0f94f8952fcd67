//! Reading a cache for training: records from a memory map, augmented on the fly
//! ([`crate::augment_record`]), batched in the background, in epoch orders.
//!
//! Every random choice of a sample derives from (seed, epoch, record), so a batch is
//! the same whichever thread makes it and whenever.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, sync_channel};

use rand_core::Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::augment::{Augment, SampleRng, augment_record, sample_cost};
use crate::error::{Error, Result};
use crate::spec::CacheSpec;
use crate::store::{COMPLETE, CacheManifest, RecordMeta, read_index};

/// A complete cache opened for reading; records come from a memory map.
pub struct CacheReader {
    dir: PathBuf,
    map: memmap2::Mmap,
    index: Vec<RecordMeta>,
    spec: CacheSpec,
    record_bytes: usize,
}

impl std::fmt::Debug for CacheReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "CacheReader({}, {} records)",
            self.dir.display(),
            self.index.len()
        )
    }
}

impl CacheReader {
    /// Opens the cache folder `dir` (`<root>/<key>`).
    ///
    /// # Errors
    /// An incomplete cache, a data file of the wrong size, unreadable files.
    pub fn open(dir: &Path) -> Result<Self> {
        if !dir.join("spec.json").is_file() {
            return Err(Error::cache(dir, "not a cache folder (no spec.json)"));
        }
        if !dir.join(COMPLETE).exists() {
            return Err(Error::cache(
                dir,
                "incomplete cache (no COMPLETE marker): build it again to resume",
            ));
        }
        let spec_path = dir.join("spec.json");
        let manifest: CacheManifest = medfen_io::read_json(&spec_path)?;
        if manifest.spec.version != crate::spec::CODE_VERSION {
            return Err(Error::cache(
                &spec_path,
                format!(
                    "built by {}; this medfen reads {} caches (build the cache again: \
                     `medfen cache` makes a new one under a new key)",
                    manifest.spec.version,
                    crate::spec::CODE_VERSION
                ),
            ));
        }
        let index = read_index(dir)?;
        let data = dir.join("data.i16");
        let file = std::fs::File::open(&data).map_err(|e| Error::io(&data, e))?;
        // SAFETY: the map is read-only and the cache files are never modified in place
        // (builds write a temporary file and rename it); a file truncated behind our
        // back is the only hazard, and the size is checked here.
        #[allow(unsafe_code)]
        let map = unsafe { memmap2::Mmap::map(&file) }.map_err(|e| Error::io(&data, e))?;
        let record_bytes =
            usize::try_from(manifest.record_bytes).map_err(|e| Error::cache(&spec_path, e))?;
        if map.len() != record_bytes * index.len() {
            return Err(Error::cache(
                &data,
                format!(
                    "{} bytes for {} records of {record_bytes}",
                    map.len(),
                    index.len()
                ),
            ));
        }
        Ok(Self {
            dir: dir.to_path_buf(),
            map,
            index,
            spec: manifest.spec,
            record_bytes,
        })
    }

    /// The cache folder (`<root>/<key>`).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Number of records (ears).
    pub fn len(&self) -> usize {
        self.index.len()
    }

    /// True when the cache holds no record.
    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    /// The metadata of every record.
    pub fn index(&self) -> &[RecordMeta] {
        &self.index
    }

    /// The spec the cache was built with.
    pub fn spec(&self) -> &CacheSpec {
        &self.spec
    }

    /// The raw little-endian bytes of record `i`.
    ///
    /// # Panics
    /// When `i` is out of range.
    pub fn record_bytes(&self, i: usize) -> &[u8] {
        &self.map[i * self.record_bytes..(i + 1) * self.record_bytes]
    }

    /// Record `i` as HU values `[K, S, S]`.
    ///
    /// # Panics
    /// When `i` is out of range.
    pub fn record(&self, i: usize) -> Vec<i16> {
        self.record_bytes(i)
            .chunks_exact(2)
            .map(|b| i16::from_le_bytes([b[0], b[1]]))
            .collect()
    }
}

/// A batch: samples `[B, C, K, S, S]` in [0, 1], row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    /// The values.
    pub data: Vec<f32>,
    /// `[B, C, K, S, S]`.
    pub shape: [usize; 5],
    /// Record index of each sample.
    pub records: Vec<usize>,
    /// Code of each sample (None: no label).
    pub codes: Vec<Option<u8>>,
}

/// The order of records in one epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SamplerKind {
    /// Every record once, in file order.
    Sequential,
    /// Every record once, shuffled by (seed, epoch).
    Shuffle,
    /// As many draws as records, with replacement, each class (code) equally likely.
    /// Do not combine with class-weighted losses: that corrects the imbalance twice
    /// (see [`double_correction_warning`]).
    ClassBalanced,
}

impl std::str::FromStr for SamplerKind {
    type Err = String;

    /// Parses `shuffle`, `class-balanced` (also `class_balanced`, `balanced`) or
    /// `sequential`.
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "shuffle" => Ok(Self::Shuffle),
            "class-balanced" | "class_balanced" | "balanced" => Ok(Self::ClassBalanced),
            "sequential" => Ok(Self::Sequential),
            other => Err(format!(
                "unknown sampler `{other}`: expected shuffle, class-balanced or sequential"
            )),
        }
    }
}

/// The records of `candidates` (indices into the cache) for one epoch.
pub fn epoch_order(
    kind: SamplerKind,
    candidates: &[usize],
    codes: &[Option<u8>],
    seed: u64,
    epoch: u64,
) -> Vec<usize> {
    let mut rng = SampleRng::new(seed, epoch, u64::MAX);
    match kind {
        SamplerKind::Sequential => candidates.to_vec(),
        SamplerKind::Shuffle => {
            let mut v = candidates.to_vec();
            for i in (1..v.len()).rev() {
                let j = (rng.0.next_u64() % (i as u64 + 1)) as usize;
                v.swap(i, j);
            }
            v
        }
        SamplerKind::ClassBalanced => {
            let mut by_class: std::collections::BTreeMap<Option<u8>, Vec<usize>> =
                std::collections::BTreeMap::new();
            for &i in candidates {
                by_class.entry(codes[i]).or_default().push(i);
            }
            let classes: Vec<&Vec<usize>> = by_class.values().collect();
            (0..candidates.len())
                .map(|_| {
                    let c = classes[(rng.0.next_u64() % classes.len() as u64) as usize];
                    c[(rng.0.next_u64() % c.len() as u64) as usize]
                })
                .collect()
        }
    }
}

/// The warning to log when a class-balanced sampler meets a class-weighted loss.
pub fn double_correction_warning(
    sampler: SamplerKind,
    weighted_loss: bool,
) -> Option<&'static str> {
    (sampler == SamplerKind::ClassBalanced && weighted_loss).then_some(
        "class-balanced sampling and a class-weighted loss both correct the imbalance: \
         probabilities will be pushed toward the rare classes and thresholds will be off; use one",
    )
}

/// Where a batch's samples sit in an epoch. Each sample's augmentation is drawn from
/// (seed, epoch, its position in the epoch's order), never from its record: an ear a
/// sampler draws twice in one epoch (class-balanced sampling draws with replacement) is
/// augmented differently each time, and a resumed epoch draws what the uninterrupted
/// one did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EpochPosition {
    /// The run's seed.
    pub seed: u64,
    /// The epoch.
    pub epoch: u64,
    /// Position of the batch's first sample in the epoch's order.
    pub first: u64,
}

impl EpochPosition {
    /// The start of epoch `epoch`.
    pub fn start(seed: u64, epoch: u64) -> Self {
        Self {
            seed,
            epoch,
            first: 0,
        }
    }

    /// The same epoch, `n` samples further.
    pub fn advanced(self, n: usize) -> Self {
        Self {
            first: self.first + n as u64,
            ..self
        }
    }

    /// The random key of sample `j` of the batch.
    fn key(self, j: usize) -> (u64, u64, u64) {
        (self.seed, self.epoch, self.first + j as u64)
    }
}

/// Makes one batch (samples in parallel) of the `records` found at `at` in the epoch.
pub fn make_batch(
    reader: &CacheReader,
    records: &[usize],
    aug: &Augment,
    at: EpochPosition,
) -> Batch {
    make_batch_into(reader, records, aug, at, Vec::new())
}

/// [`make_batch`] writing into `buffer` (its allocation is reused: fresh multi-megabyte
/// allocations cost more in page faults than the augmentation itself).
pub fn make_batch_into(
    reader: &CacheReader,
    records: &[usize],
    aug: &Augment,
    at: EpochPosition,
    mut buffer: Vec<f32>,
) -> Batch {
    let spec = reader.spec();
    let per = aug.channels() * spec.record_len();
    // Every value is overwritten below; resizing only initialises new capacity.
    let len = per * records.len();
    if buffer.capacity() < len {
        buffer.reserve_exact(len - buffer.len());
        medfen_io::advise_huge_pages(&mut buffer);
    }
    buffer.resize(len, 0.0);
    buffer.truncate(len);
    let mut data = buffer;
    // Costly samples (those with an affine) first, one sample per task: the threads
    // then end the batch on cheap samples and finish together (in input order, a thread
    // could be left with two costly ones while the other waits).
    let mut jobs: Vec<(usize, usize, &mut [f32])> = records
        .iter()
        .copied()
        .zip(data.chunks_mut(per))
        .enumerate()
        .map(|(j, (i, out))| (j, i, out))
        .collect();
    jobs.sort_by_key(|&(j, _, _)| std::cmp::Reverse(sample_cost(aug, spec, at.key(j))));
    jobs.into_par_iter()
        .with_max_len(1)
        .for_each(|(j, i, out)| {
            let (seed, epoch, sample) = at.key(j);
            augment_record(reader.record_bytes(i), spec, aug, seed, epoch, sample, out);
        });
    Batch {
        data,
        shape: [
            records.len(),
            aug.channels(),
            spec.num_slices,
            spec.image_size,
            spec.image_size,
        ],
        records: records.to_vec(),
        codes: records.iter().map(|&i| reader.index()[i].code).collect(),
    }
}

/// Batches of one epoch made ahead by a background thread (at most `prefetch` waiting).
/// Hand finished batches back with [`Loader::recycle`] to reuse their buffers.
pub struct Loader {
    rx: Receiver<Batch>,
    free: std::sync::mpsc::Sender<Vec<f32>>,
    worker: Option<std::thread::JoinHandle<()>>,
}

impl Loader {
    /// Starts making the batches of `order` (record indices, the part of the epoch's
    /// order from position `at.first` on) in groups of `batch_size`.
    pub fn start(
        reader: Arc<CacheReader>,
        order: Vec<usize>,
        batch_size: usize,
        aug: Augment,
        at: EpochPosition,
        prefetch: usize,
    ) -> Self {
        let (tx, rx) = sync_channel(prefetch.max(1));
        let (free, free_rx) = std::sync::mpsc::channel::<Vec<f32>>();
        let worker = std::thread::spawn(move || {
            let size = batch_size.max(1);
            for (b, chunk) in order.chunks(size).enumerate() {
                let buffer = free_rx.try_recv().unwrap_or_default();
                let batch = make_batch_into(&reader, chunk, &aug, at.advanced(b * size), buffer);
                if tx.send(batch).is_err() {
                    break; // the consumer went away
                }
            }
        });
        Self {
            rx,
            free,
            worker: Some(worker),
        }
    }

    /// Returns a consumed batch's buffer for reuse by later batches.
    pub fn recycle(&self, batch: Batch) {
        let _ = self.free.send(batch.data);
    }
}

impl Iterator for Loader {
    type Item = Batch;

    fn next(&mut self) -> Option<Batch> {
        self.rx.recv().ok()
    }
}

impl Drop for Loader {
    fn drop(&mut self) {
        // Unblock the worker by dropping the receiver first, then wait for it.
        let (_, dummy) = sync_channel(1);
        drop(std::mem::replace(&mut self.rx, dummy));
        if let Some(w) = self.worker.take() {
            let _ = w.join();
        }
    }
}

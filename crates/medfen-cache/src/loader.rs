//! Reading a cache for training: records from a memory map, augmented on the fly,
//! batched in the background.
//!
//! Every random choice of a sample derives from (seed, epoch, record), so a batch is
//! the same whichever thread makes it and whenever. One draw per sample is applied
//! identically to all K slices of the ear: the window jitter, flips, the affine and
//! the intensity change (noise is drawn per pixel from the same stream). The window,
//! intensity scale and shift and gamma are folded into one lookup table per sample, so
//! the per-pixel work is a lookup (plus bilinear sampling when an affine is drawn).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, sync_channel};

use rand_chacha::ChaCha8Rng;
use rand_core::{Rng, SeedableRng};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

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
        let manifest: CacheManifest = serde_json::from_slice(
            &std::fs::read(&spec_path).map_err(|e| Error::io(&spec_path, e))?,
        )
        .map_err(|e| Error::cache(&spec_path, e))?;
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

/// Augmentation settings. [`Augment::eval`] only windows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Augment {
    /// Window level, HU.
    pub window_level: f32,
    /// Window width, HU.
    pub window_width: f32,
    /// Level jitter, ± HU.
    pub level_jitter: f32,
    /// Width scale range.
    pub width_scale: (f32, f32),
    /// Probability of mirroring the columns (medial-lateral).
    pub flip_columns: f32,
    /// Probability of mirroring the rows (anterior-posterior).
    pub flip_rows: f32,
    /// Probability of an affine (rotation, scale, shift).
    pub affine_prob: f32,
    /// Largest rotation, degrees.
    pub rotate_deg: f32,
    /// Scale range.
    pub scale: (f32, f32),
    /// Largest shift, fraction of the image side.
    pub shift: f32,
    /// Intensity scale jitter (± fraction).
    pub intensity_scale: f32,
    /// Intensity shift jitter (± on the [0, 1] scale).
    pub intensity_shift: f32,
    /// Gamma range (1 = none).
    pub gamma: (f32, f32),
    /// Gaussian noise standard deviation on the [0, 1] scale.
    pub noise_std: f32,
    /// Extra channels, each another fixed window (level, width).
    pub extra_windows: Vec<(f32, f32)>,
}

impl Default for Augment {
    /// Training defaults: window 500/3000 with level ±200 and width x[0.8, 1.2], an
    /// affine half of the time (±10°, x[0.9, 1.1], ±5%), intensity ±10% / ±0.05,
    /// gamma [0.8, 1.25], noise 0.02, no flips (records already share one
    /// medial-to-lateral orientation).
    fn default() -> Self {
        Self {
            window_level: 500.0,
            window_width: 3000.0,
            level_jitter: 200.0,
            width_scale: (0.8, 1.2),
            flip_columns: 0.0,
            flip_rows: 0.0,
            affine_prob: 0.5,
            rotate_deg: 10.0,
            scale: (0.9, 1.1),
            shift: 0.05,
            intensity_scale: 0.1,
            intensity_shift: 0.05,
            gamma: (0.8, 1.25),
            noise_std: 0.02,
            extra_windows: Vec::new(),
        }
    }
}

impl Augment {
    /// No randomness: the window only (evaluation).
    pub fn eval(window_level: f32, window_width: f32) -> Self {
        Self {
            window_level,
            window_width,
            level_jitter: 0.0,
            width_scale: (1.0, 1.0),
            flip_columns: 0.0,
            flip_rows: 0.0,
            affine_prob: 0.0,
            rotate_deg: 0.0,
            scale: (1.0, 1.0),
            shift: 0.0,
            intensity_scale: 0.0,
            intensity_shift: 0.0,
            gamma: (1.0, 1.0),
            noise_std: 0.0,
            extra_windows: Vec::new(),
        }
    }

    /// Channels per sample.
    pub fn channels(&self) -> usize {
        1 + self.extra_windows.len()
    }
}

/// The random stream of one sample.
struct SampleRng(ChaCha8Rng);

impl SampleRng {
    fn new(seed: u64, epoch: u64, sample: u64) -> Self {
        let mut h = Sha256::new();
        h.update(b"medfen-cache augment\0");
        h.update(seed.to_le_bytes());
        h.update(epoch.to_le_bytes());
        h.update(sample.to_le_bytes());
        Self(ChaCha8Rng::from_seed(h.finalize().into()))
    }

    #[allow(clippy::cast_precision_loss)]
    fn unit(&mut self) -> f32 {
        (self.0.next_u32() >> 8) as f32 / (1u32 << 24) as f32
    }

    fn range(&mut self, lo: f32, hi: f32) -> f32 {
        lo + (hi - lo) * self.unit()
    }

    fn sym(&mut self, a: f32) -> f32 {
        self.range(-a, a)
    }
}

/// HU values covered by the lookup tables (cache records are clamped HU).
const LUT_MIN: i32 = -2048;
const LUT_LEN: usize = 6144;

fn lut(level: f32, width: f32, scale: f32, shift: f32, gamma: f32) -> Vec<f32> {
    let lo = level - width / 2.0;
    #[allow(clippy::cast_precision_loss)]
    (0..LUT_LEN)
        .map(|i| {
            let hu = (i as i32 + LUT_MIN) as f32;
            let v = ((hu - lo) / width).clamp(0.0, 1.0);
            let v = if (gamma - 1.0).abs() > 1e-6 {
                v.powf(gamma)
            } else {
                v
            };
            (v * scale + shift).clamp(0.0, 1.0)
        })
        .collect()
}

#[inline]
fn lookup(table: &[f32], hu: i32) -> f32 {
    #[allow(clippy::cast_sign_loss, clippy::cast_possible_truncation)]
    let i = (hu - LUT_MIN).clamp(0, LUT_LEN as i32 - 1) as usize;
    table[i]
}

/// Augments one record (`raw`: little-endian i16 `[K, S, S]`) into `out`
/// (`[C, K, S, S]` floats in [0, 1]).
///
/// # Panics
/// When `raw` or `out` have the wrong length for `spec` and `aug`.
#[allow(clippy::too_many_lines)]
pub fn augment_record(
    raw: &[u8],
    spec: &CacheSpec,
    aug: &Augment,
    seed: u64,
    epoch: u64,
    sample: u64,
    out: &mut [f32],
) {
    let (k, s) = (spec.num_slices, spec.image_size);
    let plane = s * s;
    assert_eq!(raw.len(), 2 * k * plane, "record size");
    assert_eq!(out.len(), aug.channels() * k * plane, "output size");
    let mut rng = SampleRng::new(seed, epoch, sample);
    let level = aug.window_level + rng.sym(aug.level_jitter);
    let width = (aug.window_width * rng.range(aug.width_scale.0, aug.width_scale.1)).max(1.0);
    let flip_c = rng.unit() < aug.flip_columns;
    let flip_r = rng.unit() < aug.flip_rows;
    let affine = rng.unit() < aug.affine_prob;
    let (theta, zoom, tx, ty) = (
        rng.sym(aug.rotate_deg).to_radians(),
        rng.range(aug.scale.0, aug.scale.1),
        rng.sym(aug.shift),
        rng.sym(aug.shift),
    );
    let iscale = 1.0 + rng.sym(aug.intensity_scale);
    let ishift = rng.sym(aug.intensity_shift);
    let gamma = rng.range(aug.gamma.0, aug.gamma.1);
    let mut noise = PixelNoise(rng.0.next_u64() | 1);
    let mut tables = vec![lut(level, width, iscale, ishift, gamma)];
    for &(l, w) in &aug.extra_windows {
        tables.push(lut(l, w, 1.0, 0.0, 1.0));
    }
    let value_at = |z: usize, idx: usize| -> i32 {
        let i = 2 * (z * plane + idx);
        i32::from(i16::from_le_bytes([raw[i], raw[i + 1]]))
    };
    #[allow(clippy::cast_precision_loss)]
    let half = s as f32 / 2.0;
    let (sin, cos) = theta.sin_cos();
    #[allow(clippy::cast_precision_loss)]
    let (sx_shift, sy_shift) = (tx * s as f32, ty * s as f32);
    // Where every output pixel reads, computed once for all K slices.
    let flip = |i: usize, on: bool| if on { s - 1 - i } else { i };
    let source = if affine {
        let mut taps = Vec::with_capacity(plane);
        for r in 0..s {
            for c in 0..s {
                #[allow(clippy::cast_precision_loss)]
                let (y, x) = (
                    flip(r, flip_r) as f32 + 0.5 - half,
                    flip(c, flip_c) as f32 + 0.5 - half,
                );
                let (yy, xx) = ((y - sy_shift) / zoom, (x - sx_shift) / zoom);
                let (sy, sx) = (
                    cos * yy + sin * xx + half - 0.5,
                    -sin * yy + cos * xx + half - 0.5,
                );
                let (y0, x0) = (sy.floor(), sx.floor());
                #[allow(
                    clippy::cast_possible_truncation,
                    clippy::cast_sign_loss,
                    clippy::cast_precision_loss
                )]
                let at = |yy: f32, xx: f32| -> Option<usize> {
                    (yy >= 0.0 && xx >= 0.0 && yy < s as f32 && xx < s as f32)
                        .then(|| yy as usize * s + xx as usize)
                };
                taps.push((
                    [
                        at(y0, x0),
                        at(y0, x0 + 1.0),
                        at(y0 + 1.0, x0),
                        at(y0 + 1.0, x0 + 1.0),
                    ],
                    sy - y0,
                    sx - x0,
                ));
            }
        }
        Source::Taps(taps)
    } else {
        Source::Pixel(
            (0..plane)
                .map(|i| flip(i / s, flip_r) * s + flip(i % s, flip_c))
                .collect(),
        )
    };
    let pad_f = f32::from(spec.pad_hu);
    let identity = matches!(&source, Source::Pixel(_)) && !flip_r && !flip_c;
    let mut values = vec![0i32; plane];
    for z in 0..k {
        let base = z * plane;
        // 1. The HU each output pixel takes (a straight copy when nothing moves).
        match &source {
            Source::Pixel(_) if identity => {
                for (v, b) in values
                    .iter_mut()
                    .zip(raw[2 * base..2 * (base + plane)].chunks_exact(2))
                {
                    *v = i32::from(i16::from_le_bytes([b[0], b[1]]));
                }
            }
            Source::Pixel(map) => {
                for (v, &m) in values.iter_mut().zip(map) {
                    *v = value_at(z, m);
                }
            }
            Source::Taps(taps) => {
                for (v, &(idx, fy, fx)) in values.iter_mut().zip(taps) {
                    #[allow(clippy::cast_precision_loss)]
                    let at = |j: usize| idx[j].map_or(pad_f, |p| value_at(z, p) as f32);
                    let top = at(0) + (at(1) - at(0)) * fx;
                    let bottom = at(2) + (at(3) - at(2)) * fx;
                    let f = top + (bottom - top) * fy;
                    #[allow(clippy::cast_possible_truncation)]
                    let t = f as i32;
                    #[allow(clippy::cast_precision_loss)]
                    let frac = f - t as f32;
                    *v = t + i32::from(frac >= 0.5) - i32::from(frac <= -0.5);
                }
            }
        }
        // 2. Window, intensity and gamma through the table; noise; extra windows.
        let first = &mut out[base..base + plane];
        for (o, &v) in first.iter_mut().zip(&values) {
            *o = lookup(&tables[0], v);
        }
        if aug.noise_std > 0.0 {
            for o in first.iter_mut() {
                *o = (*o + aug.noise_std * noise.next()).clamp(0.0, 1.0);
            }
        }
        for (ch, t) in tables.iter().enumerate().skip(1) {
            let start = ch * k * plane + base;
            for (o, &v) in out[start..start + plane].iter_mut().zip(&values) {
                *o = lookup(t, v);
            }
        }
    }
}

/// Where the output pixels of a sample read, the same for its K slices.
enum Source {
    /// One source pixel (no affine): its index in the plane.
    Pixel(Vec<usize>),
    /// Bilinear taps: four plane indices (None outside) and the two weights.
    Taps(Vec<([Option<usize>; 4], f32, f32)>),
}

/// Fast approximately normal noise (xorshift64* and the sum of four 16-bit uniforms).
struct PixelNoise(u64);

impl PixelNoise {
    #[inline]
    fn next(&mut self) -> f32 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        let r = x.wrapping_mul(0x2545_F491_4F6C_DD1D);
        let sum = (r & 0xFFFF) + ((r >> 16) & 0xFFFF) + ((r >> 32) & 0xFFFF) + (r >> 48);
        #[allow(clippy::cast_precision_loss)]
        {
            (sum as f32 - 131_070.0) / 37_837.23
        }
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
                #[allow(clippy::cast_possible_truncation)]
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
                    #[allow(clippy::cast_possible_truncation)]
                    let c = classes[(rng.0.next_u64() % classes.len() as u64) as usize];
                    #[allow(clippy::cast_possible_truncation)]
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

/// Makes one batch (samples in parallel).
pub fn make_batch(
    reader: &CacheReader,
    records: &[usize],
    aug: &Augment,
    seed: u64,
    epoch: u64,
) -> Batch {
    let spec = reader.spec();
    let per = aug.channels() * spec.record_len();
    let mut data = vec![0f32; per * records.len()];
    data.par_chunks_mut(per).zip(records).for_each(|(out, &i)| {
        augment_record(
            reader.record_bytes(i),
            spec,
            aug,
            seed,
            epoch,
            i as u64,
            out,
        );
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
pub struct Loader {
    rx: Receiver<Batch>,
    worker: Option<std::thread::JoinHandle<()>>,
}

impl Loader {
    /// Starts making the batches of `order` (record indices) in groups of `batch_size`.
    pub fn start(
        reader: Arc<CacheReader>,
        order: Vec<usize>,
        batch_size: usize,
        aug: Augment,
        seed: u64,
        epoch: u64,
        prefetch: usize,
    ) -> Self {
        let (tx, rx) = sync_channel(prefetch.max(1));
        let worker = std::thread::spawn(move || {
            for chunk in order.chunks(batch_size.max(1)) {
                let batch = make_batch(&reader, chunk, &aug, seed, epoch);
                if tx.send(batch).is_err() {
                    break; // the consumer went away
                }
            }
        });
        Self {
            rx,
            worker: Some(worker),
        }
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

//! Augmentation of one cache record: window level/width jitter, flips, a small affine,
//! intensity, gamma and noise, drawn per (seed, epoch, record) and applied identically
//! to the record's K slices.

use rand_chacha::ChaCha8Rng;
use rand_core::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::kernels::{BLOCK, Isa, Noise, PIECE, SliceBlock, Taps, WindowMap, bilinear, mix64};
use crate::spec::CacheSpec;

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
pub(crate) struct SampleRng(pub(crate) ChaCha8Rng);

impl SampleRng {
    pub(crate) fn new(seed: u64, epoch: u64, sample: u64) -> Self {
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

/// Augments one record (`raw`: little-endian i16 `[K, S, S]`) into `out`
/// (`[C, K, S, S]` floats in [0, 1]).
///
/// Every value is first mapped through the sample's window (level, width, intensity,
/// gamma); an affine then resamples the windowed slice bilinearly (pixel centres,
/// `pad_hu` outside the record), and the noise is added last: normal draws read from a
/// fixed table in runs of 1,024 pixels, each run at an offset and with a sign drawn
/// for it (independent within a slice; the same values recur, shifted, across samples).
///
/// # Panics
/// When `raw` or `out` have the wrong length for `spec` and `aug`.
pub fn augment_record(
    raw: &[u8],
    spec: &CacheSpec,
    aug: &Augment,
    seed: u64,
    epoch: u64,
    sample: u64,
    out: &mut [f32],
) {
    augment_record_with(Isa::detect(), raw, spec, aug, (seed, epoch, sample), out);
}

/// The relative cost of augmenting one sample: 2 when an affine is drawn for it (the
/// bilinear resampling about doubles the work), 1 otherwise. The batch maker starts
/// with the costly samples so that the threads finish together.
pub(crate) fn sample_cost(
    aug: &Augment,
    spec: &CacheSpec,
    (seed, epoch, sample): (u64, u64, u64),
) -> u8 {
    let draws = Draws::new(
        aug,
        spec.image_size,
        &mut SampleRng::new(seed, epoch, sample),
    );
    1 + u8::from(draws.affine.is_some())
}

/// One sample's draws: where its output pixels read and how values are mapped.
struct Draws {
    maps: Vec<WindowMap>,
    flip_r: bool,
    flip_c: bool,
    /// The affine, when one was drawn.
    affine: Option<Affine>,
    /// Noise standard deviation and key.
    noise: Option<(f32, u64)>,
}

impl Draws {
    fn new(aug: &Augment, image_size: usize, rng: &mut SampleRng) -> Self {
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
        let noise_key = rng.0.next_u64();
        let mut maps = vec![WindowMap::new(level, width, iscale, ishift, gamma)];
        for &(l, w) in &aug.extra_windows {
            maps.push(WindowMap::new(l, w, 1.0, 0.0, 1.0));
        }
        #[allow(clippy::cast_precision_loss)]
        let side = image_size as f32;
        Self {
            maps,
            flip_r,
            flip_c,
            affine: affine.then(|| Affine {
                sin_cos: theta.sin_cos(),
                zoom,
                shift: (ty * side, tx * side),
            }),
            noise: (aug.noise_std > 0.0).then_some((aug.noise_std, noise_key)),
        }
    }
}

/// A rotation about the image centre, a zoom and a shift.
#[derive(Clone, Copy)]
struct Affine {
    /// Sine and cosine of the rotation.
    sin_cos: (f32, f32),
    /// Zoom factor (> 1 enlarges).
    zoom: f32,
    /// Shift in pixels (rows, columns).
    shift: (f32, f32),
}

/// Per-thread buffers reused across samples (fresh 100-600 kB allocations per ear cost
/// page faults).
#[derive(Default)]
struct Scratch {
    taps: Taps,
    map: Vec<u32>,
    values: Vec<i16>,
    padded: Vec<f32>,
    converted: Vec<i16>,
    block: SliceBlock,
}

thread_local! {
    static SCRATCH: std::cell::RefCell<Scratch> = std::cell::RefCell::default();
}

/// [`augment_record`] with the loops of `isa`.
pub(crate) fn augment_record_with(
    isa: Isa,
    raw: &[u8],
    spec: &CacheSpec,
    aug: &Augment,
    (seed, epoch, sample): (u64, u64, u64),
    out: &mut [f32],
) {
    let (k, s) = (spec.num_slices, spec.image_size);
    let plane = s * s;
    assert_eq!(raw.len(), 2 * k * plane, "record size");
    assert_eq!(out.len(), aug.channels() * k * plane, "output size");
    let draws = Draws::new(aug, s, &mut SampleRng::new(seed, epoch, sample));
    SCRATCH.with_borrow_mut(|scratch| {
        let Scratch {
            taps,
            map,
            values,
            padded,
            converted,
            block,
        } = scratch;
        // The record as i16 (records are little-endian and 2-byte aligned in the
        // memory map; anything else is converted once).
        let src: &[i16] = match bytemuck::try_cast_slice::<u8, i16>(raw) {
            Ok(v) if cfg!(target_endian = "little") => v,
            _ => {
                converted.clear();
                converted.extend(
                    raw.chunks_exact(2)
                        .map(|b| i16::from_le_bytes([b[0], b[1]])),
                );
                converted
            }
        };
        let flip = |i: usize, on: bool| if on { s - 1 - i } else { i };
        let source = if let Some(affine) = draws.affine {
            affine_taps(isa, s, affine, (draws.flip_r, draws.flip_c), taps);
            padded.resize((s + 2) * (s + 2), 0.0);
            Source::Taps
        } else if draws.flip_r || draws.flip_c {
            map.clear();
            #[allow(clippy::cast_possible_truncation)]
            map.extend(
                (0..plane)
                    .map(|i| (flip(i / s, draws.flip_r) * s + flip(i % s, draws.flip_c)) as u32),
            );
            values.resize(plane, 0);
            Source::Pixel
        } else {
            Source::Identity
        };
        for (ch, window) in draws.maps.iter().enumerate() {
            let pad = window.value(spec.pad_hu);
            // The noise of slice z (the first channel only).
            let noise = |z: usize| match (ch, draws.noise) {
                (0, Some((std, key))) => Some(Noise::new(std, mix64(key ^ z as u64))),
                _ => None,
            };
            // Whole blocks of slices at once where the vector loops have a block copy.
            let mut done = 0;
            while source == Source::Taps && done + BLOCK <= k {
                let (from, to) = (done * plane, (done + BLOCK) * plane);
                let o = &mut out[ch * k * plane + from..ch * k * plane + to];
                let streams: Option<[Noise; BLOCK]> = match (ch, draws.noise) {
                    (0, Some((std, key))) => Some(std::array::from_fn(|j| {
                        Noise::new(std, mix64(key ^ (done + j) as u64))
                    })),
                    _ => None,
                };
                let (hu, noise) = (&src[from..to], streams.as_ref());
                if !block.window_bilinear(isa, (window, pad), (hu, s), taps, o, noise) {
                    break;
                }
                done += BLOCK;
            }
            if source == Source::Taps {
                // The border of the padded plane: `pad_hu` through this window.
                padded.fill(pad);
            }
            for z in done..k {
                let slice = &src[z * plane..(z + 1) * plane];
                let o = &mut out[(ch * k + z) * plane..(ch * k + z + 1) * plane];
                match source {
                    Source::Identity | Source::Pixel => {
                        let hu = if source == Source::Pixel {
                            for (v, &m) in values.iter_mut().zip(map.iter()) {
                                *v = slice[m as usize];
                            }
                            &values[..]
                        } else {
                            slice
                        };
                        // Window and noise in one pass, a piece (a run of the noise) at
                        // a time.
                        let noise = noise(z);
                        for (run, (hu, o)) in hu.chunks(PIECE).zip(o.chunks_mut(PIECE)).enumerate()
                        {
                            match noise {
                                Some(noise) => {
                                    window.apply_noisy(isa, hu, o, noise.run(run, hu.len()));
                                }
                                None => window.apply(isa, hu, o),
                            }
                        }
                        continue;
                    }
                    Source::Taps => {
                        let p = s + 2;
                        for (row, dst) in slice
                            .chunks_exact(s)
                            .zip(padded.chunks_exact_mut(p).skip(1))
                        {
                            window.apply_raw(isa, row, &mut dst[1..=s]);
                        }
                        bilinear(isa, padded, p, taps, o);
                    }
                }
                // The noise, and the clamp the window left for after the affine (the
                // other sources have finished above).
                noise(z).unwrap_or(Noise::none()).add(isa, 0, o);
            }
        }
    });
}

/// The bilinear taps of an affine (rotation, zoom, shift in pixels) after the flips,
/// into a plane padded by one pixel on every side: a point further out than the pad
/// reads the pad with weight 1. The loops are compiled for the best vector width
/// `isa` allows (the same IEEE operations, so the same taps).
fn affine_taps(isa: Isa, s: usize, affine: Affine, flips: (bool, bool), taps: &mut Taps) {
    #[cfg(target_arch = "x86_64")]
    {
        #[target_feature(enable = "avx512f")]
        fn avx512(s: usize, affine: Affine, flips: (bool, bool), taps: &mut Taps) {
            affine_taps_body(s, affine, flips, taps);
        }
        #[target_feature(enable = "avx2,fma")]
        fn avx2(s: usize, affine: Affine, flips: (bool, bool), taps: &mut Taps) {
            affine_taps_body(s, affine, flips, taps);
        }
        #[allow(unsafe_code)]
        match isa {
            // SAFETY: `Isa::Avx512` is only detected on CPUs with AVX-512 F.
            Isa::Avx512 => return unsafe { avx512(s, affine, flips, taps) },
            // SAFETY: `Isa::Avx2` is only detected on CPUs with AVX2 and FMA.
            Isa::Avx2 => return unsafe { avx2(s, affine, flips, taps) },
            Isa::Baseline => {}
        }
    }
    let _ = isa;
    affine_taps_body(s, affine, flips, taps);
}

/// [`affine_taps`]' loops; always inlined, so that each copy above compiles them for
/// its vector width.
#[allow(clippy::inline_always)]
#[inline(always)]
fn affine_taps_body(
    s: usize,
    Affine {
        sin_cos: (sin, cos),
        zoom,
        shift: (shift_r, shift_c),
    }: Affine,
    (flip_r, flip_c): (bool, bool),
    taps: &mut Taps,
) {
    #[allow(clippy::cast_possible_truncation, clippy::cast_possible_wrap)]
    let (si, p) = (s as i32, s as i32 + 2);
    #[allow(clippy::cast_precision_loss)]
    let (half, last, beyond) = (s as f32 / 2.0, s as f32 - 1.0, s as f32 + 1.0);
    let inv_zoom = 1.0 / zoom;
    // Branch-free, so the column loop vectorises.
    let axis = |v: f32| -> (i32, f32) {
        // Into [-2, s + 1] (NaN too: `max` and `min` take the number), which keeps every
        // class below (pad before, inside, pad after) and lets a truncation give the
        // floor.
        let v = v.max(-2.0).min(beyond);
        // SAFETY: v is finite and within [-2, s + 1], so v and v0 + 1 fit an i32.
        #[allow(unsafe_code, clippy::cast_precision_loss)]
        let v0 = {
            let t: i32 = unsafe { v.to_int_unchecked() };
            (if t as f32 > v { t - 1 } else { t }) as f32
        };
        // SAFETY: as above.
        #[allow(unsafe_code)]
        let inside = (unsafe { (v0 + 1.0).to_int_unchecked::<i32>() }, v - v0);
        let before = (0, 0.0); // pad row/column -1, weight on it
        let after = (si, 1.0); // pad row/column s, weight on it
        if v0 < -1.0 {
            before
        } else if v0 > last {
            after
        } else {
            inside
        }
    };
    let plane = s * s;
    taps.index.resize(plane, 0);
    taps.wx.resize(plane, 0.0);
    taps.wy.resize(plane, 0.0);
    let rows = taps
        .index
        .chunks_exact_mut(s)
        .zip(taps.wx.chunks_exact_mut(s))
        .zip(taps.wy.chunks_exact_mut(s));
    for (r, ((index, wx), wy)) in (0..si).zip(rows) {
        #[allow(clippy::cast_precision_loss)]
        let y = (if flip_r { si - 1 - r } else { r }) as f32 + 0.5 - half;
        let yy = (y - shift_r) * inv_zoom;
        let (row_y, row_x) = (cos * yy + half - 0.5, -sin * yy + half - 0.5);
        for (c, ((i, wx), wy)) in
            (0..si).zip(index.iter_mut().zip(wx.iter_mut()).zip(wy.iter_mut()))
        {
            #[allow(clippy::cast_precision_loss)]
            let x = (if flip_c { si - 1 - c } else { c }) as f32 + 0.5 - half;
            let xx = (x - shift_c) * inv_zoom;
            let ((y0, ty), (x0, tx)) = (axis(row_y + sin * xx), axis(row_x + cos * xx));
            #[allow(clippy::cast_sign_loss)]
            {
                *i = (y0 * p + x0) as u32;
            }
            *wx = tx;
            *wy = ty;
        }
    }
}

/// Where the output pixels of a sample read, the same for its K slices.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Source {
    /// Every pixel from where it is.
    Identity,
    /// One source pixel each (flips, no affine): `Scratch::map`.
    Pixel,
    /// Bilinear taps into the padded plane: `Scratch::taps`.
    Taps,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(k: usize, s: usize) -> CacheSpec {
        CacheSpec {
            num_slices: k,
            image_size: s,
            ..CacheSpec::default()
        }
    }

    fn flat(k: usize, s: usize, hu: i16) -> Vec<u8> {
        (0..k * s * s).flat_map(|_| hu.to_le_bytes()).collect()
    }

    /// A record of pseudo-random HU over the whole i16 range's interesting part,
    /// with a few extremes.
    fn noisy(k: usize, s: usize, seed: u32) -> Vec<u8> {
        let mut x = seed.max(1);
        (0..k * s * s)
            .flat_map(|i| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                let hu = match i % 97 {
                    0 => i16::MIN,
                    1 => i16::MAX,
                    _ => (x % 5000) as i16 - 1500,
                };
                hu.to_le_bytes()
            })
            .collect()
    }

    #[test]
    fn the_vectorised_loops_give_the_portable_loops_results_bit_for_bit() {
        // Every copy this CPU can run against the portable one. Sizes with tails after
        // every vector width (8, 16), odd planes, whole and partial blocks of slices;
        // the training defaults plus flips, forced affines and a second window.
        for (k, s) in [
            (3, 19),
            (2, 24),
            (1, 7),
            (10, 13),
            (8, 16),
            (2, 37),
            (9, 33),
            (16, 20),
            (25, 11),
        ] {
            let spec = spec(k, s);
            let raw = noisy(k, s, (k * 100 + s) as u32);
            for aug in [
                Augment::default(),
                Augment {
                    flip_columns: 0.5,
                    flip_rows: 0.5,
                    affine_prob: 1.0,
                    scale: (0.5, 1.5),
                    extra_windows: vec![(40.0, 400.0)],
                    ..Augment::default()
                },
                Augment {
                    flip_rows: 1.0,
                    ..Augment::eval(300.0, 2000.0)
                },
                Augment {
                    affine_prob: 1.0,
                    noise_std: 0.0,
                    intensity_shift: 0.2,
                    ..Augment::default()
                },
            ] {
                for sample in 0..12 {
                    let n = aug.channels() * k * s * s;
                    let run = |isa: Isa| {
                        let mut out = vec![0f32; n];
                        augment_record_with(isa, &raw, &spec, &aug, (5, 1, sample), &mut out);
                        out.iter().map(|x| x.to_bits()).collect::<Vec<_>>()
                    };
                    let plain = run(Isa::Baseline);
                    for isa in Isa::available() {
                        assert_eq!(run(isa), plain, "{isa:?} k {k} s {s} sample {sample}");
                    }
                    assert!(
                        plain
                            .iter()
                            .all(|&v| (0.0..=1.0).contains(&f32::from_bits(v)))
                    );
                }
            }
        }
    }

    #[test]
    fn the_gamma_pieces_stay_within_1e_4_of_the_window_and_power_of_every_hu() {
        let mut worst = 0f32;
        for (level, width, scale, shift, gamma) in [
            (420.5, 2800.0, 1.07, -0.03, 0.83),
            (500.0, 3000.0, 1.0, 0.0, 0.8),
            (300.0, 2400.0, 0.9, 0.05, 1.25),
            (700.0, 3600.0, 1.1, 0.0, 1.05),
        ] {
            let map = WindowMap::new(level, width, scale, shift, gamma);
            let lo = level - width / 2.0;
            let mut previous = 0f32;
            for hu in (-32768..=32767)
                .step_by(7)
                .chain([-1000, -979, 1820, 1821, 32767])
            {
                let hu = hu as i16;
                let v = f64::from(((f32::from(hu) - lo) * (1.0 / width)).clamp(0.0, 1.0));
                let want = (v.powf(f64::from(gamma)) * f64::from(scale) + f64::from(shift))
                    .clamp(0.0, 1.0);
                let got = map.value(hu);
                worst = worst.max((f64::from(got) - want).abs() as f32);
                assert!((0.0..=1.0).contains(&got), "HU {hu}: {got}");
            }
            // no visible wiggle: along every HU, never below an earlier value by 1e-5
            for hu in -2000..=3000i16 {
                let got = map.value(hu);
                assert!(got >= previous - 1e-5, "HU {hu}: {got} after {previous}");
                previous = previous.max(got);
            }
        }
        assert!(worst < 1e-4, "largest error {worst}");
    }

    #[test]
    fn noise_after_a_gamma_is_within_1e_4_of_clamping_before_and_after_it() {
        // Intensity scale and shift that push the curve out of [0, 1] at both ends,
        // where the one clamp after the noise stands in for the two.
        for (scale, shift) in [(1.1, -0.05), (0.9, 0.05), (1.0, 0.0)] {
            let map = WindowMap::new(480.0, 2700.0, scale, shift, 0.83);
            let hu: Vec<i16> = (-1500..3500).step_by(3).map(|h| h as i16).collect();
            let noise = Noise::new(0.05, 99);
            let mut start = 0;
            while start < hu.len() {
                let piece = &hu[start..(start + PIECE).min(hu.len())];
                let run = noise.run(start / PIECE, piece.len());
                for isa in Isa::available() {
                    let mut out = vec![0f32; piece.len()];
                    map.apply_noisy(isa, piece, &mut out, run);
                    for ((&h, &got), &t) in piece.iter().zip(&out).zip(run.draws) {
                        let want = run.at(t, map.value(h));
                        assert!(
                            (got - want).abs() <= 1e-4 && (0.0..=1.0).contains(&got),
                            "{isa:?} HU {h}: {got} vs {want}"
                        );
                    }
                }
                start += PIECE;
            }
        }
    }

    #[test]
    fn pixel_noise_has_the_requested_spread_around_the_window_value() {
        let (k, s) = (4, 64);
        let spec = spec(k, s);
        // HU 500 sits at 0.5 in the 500/3000 window
        let raw = flat(k, s, 500);
        let aug = Augment {
            noise_std: 0.02,
            ..Augment::eval(500.0, 3000.0)
        };
        let mut out = vec![0f32; k * s * s];
        augment_record(&raw, &spec, &aug, 3, 0, 9, &mut out);
        let n = out.len() as f64;
        let mean = out.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
        let sd = (out
            .iter()
            .map(|&v| (f64::from(v) - mean).powi(2))
            .sum::<f64>()
            / n)
            .sqrt();
        assert!((mean - 0.5).abs() < 0.001, "mean {mean}");
        assert!((sd - 0.02).abs() < 0.001, "sd {sd}");
        // slices get different noise
        assert_ne!(out[..s * s], out[s * s..2 * s * s]);
    }

    #[test]
    fn an_affine_that_moves_nothing_is_the_identity_and_far_points_read_the_pad() {
        let (k, s) = (2, 16);
        let spec = spec(k, s);
        let raw: Vec<u8> = (0..k * s * s)
            .flat_map(|i| ((i % (s * s)) as i16 * 5 - 600).to_le_bytes())
            .collect();
        let still = Augment {
            affine_prob: 1.0,
            rotate_deg: 0.0,
            scale: (1.0, 1.0),
            shift: 0.0,
            ..Augment::eval(500.0, 3000.0)
        };
        let (mut a, mut b) = (vec![0f32; k * s * s], vec![0f32; k * s * s]);
        augment_record(&raw, &spec, &still, 1, 0, 0, &mut a);
        augment_record(&raw, &spec, &Augment::eval(500.0, 3000.0), 1, 0, 0, &mut b);
        assert_eq!(a, b);
        // zoomed out 4x: the border of the output lies outside the source -> pad HU
        let far = Augment {
            scale: (0.25, 0.25),
            ..still
        };
        augment_record(&raw, &spec, &far, 1, 0, 0, &mut a);
        let pad = ((f32::from(spec.pad_hu) + 1000.0) / 3000.0).clamp(0.0, 1.0);
        assert_eq!(a[0], pad);
        assert_eq!(a[s * s - 1], pad);
        // the centre still reads the image
        assert_ne!(a[s / 2 * s + s / 2], pad);
    }
}

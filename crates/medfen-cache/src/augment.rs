//! Augmentation of one cache record: window level/width jitter, flips, a small affine,
//! intensity, gamma and noise, drawn per (seed, epoch, record) and applied identically
//! to the record's K slices.

use rand_chacha::ChaCha8Rng;
use rand_core::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

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

/// HU values covered by the lookup tables (cache records are clamped HU).
const LUT_MIN: i32 = -2048;
const LUT_LEN: usize = 6144;

/// The map from HU to [0, 1] of one sample and channel: window, intensity scale and
/// shift, gamma. Linear maps (gamma 1) are computed directly (vectorised); others go
/// through a table over the HU range of the cache.
enum Window {
    Linear {
        lo: f32,
        width: f32,
        scale: f32,
        shift: f32,
    },
    Table(Vec<f32>),
}

impl Window {
    fn new(level: f32, width: f32, scale: f32, shift: f32, gamma: f32) -> Self {
        let lo = level - width / 2.0;
        if (gamma - 1.0).abs() > 1e-6 {
            Self::Table(
                #[allow(clippy::cast_precision_loss, clippy::cast_possible_wrap)]
                (0..LUT_LEN)
                    .map(|i| {
                        let hu = (i as i32 + LUT_MIN) as f32;
                        let v = ((hu - lo) / width).clamp(0.0, 1.0).powf(gamma);
                        (v * scale + shift).clamp(0.0, 1.0)
                    })
                    .collect(),
            )
        } else {
            Self::Linear {
                lo,
                width,
                scale,
                shift,
            }
        }
    }

    /// `out[i] = map(hu[i])`.
    fn apply(&self, hu: &[i16], out: &mut [f32]) {
        match self {
            Self::Linear {
                lo,
                width,
                scale,
                shift,
            } => {
                #[allow(clippy::cast_possible_truncation)]
                let (min, max) = (LUT_MIN as i16, (LUT_MIN + LUT_LEN as i32 - 1) as i16);
                for (o, &h) in out.iter_mut().zip(hu) {
                    let h = f32::from(h.clamp(min, max));
                    let v = ((h - lo) / width).clamp(0.0, 1.0);
                    *o = (v * scale + shift).clamp(0.0, 1.0);
                }
            }
            Self::Table(t) => {
                for (o, &h) in out.iter_mut().zip(hu) {
                    *o = lookup(t, h);
                }
            }
        }
    }
}

#[inline]
fn lookup(table: &[f32], hu: i16) -> f32 {
    #[allow(clippy::cast_sign_loss, clippy::cast_possible_truncation)]
    let i = (i32::from(hu) - LUT_MIN).clamp(0, LUT_LEN as i32 - 1) as usize;
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
    let mut tables = vec![Window::new(level, width, iscale, ishift, gamma)];
    for &(l, w) in &aug.extra_windows {
        tables.push(Window::new(l, w, 1.0, 0.0, 1.0));
    }
    // The record as i16 (records are little-endian and 2-byte aligned in the memory
    // map; anything else is converted once).
    let converted: Vec<i16>;
    let src: &[i16] = match bytemuck::try_cast_slice::<u8, i16>(raw) {
        Ok(v) if cfg!(target_endian = "little") => v,
        _ => {
            converted = raw
                .chunks_exact(2)
                .map(|b| i16::from_le_bytes([b[0], b[1]]))
                .collect();
            &converted
        }
    };
    #[allow(clippy::cast_precision_loss)]
    let half = s as f32 / 2.0;
    let (sin, cos) = theta.sin_cos();
    #[allow(clippy::cast_precision_loss)]
    let (sx_shift, sy_shift) = (tx * s as f32, ty * s as f32);
    // Where every output pixel reads, computed once for all K slices.
    let flip = |i: usize, on: bool| if on { s - 1 - i } else { i };
    let source = if affine {
        // Taps into the slice padded by one pixel of `pad_hu` on every side, so no tap
        // is ever out of bounds: a point further out reads the pad with weight 1.
        let p = s + 2;
        #[allow(clippy::cast_precision_loss)]
        let last = s as f32 - 1.0;
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
                let axis = |v: f32| -> (usize, f32) {
                    let v0 = v.floor();
                    if v0 < -1.0 {
                        (0, 0.0) // pad row/column -1, weight on it
                    } else if v0 > last {
                        (s, 1.0) // pad row/column s, weight on it
                    } else {
                        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                        ((v0 + 1.0) as usize, v - v0)
                    }
                };
                let ((y0, wy), (x0, wx)) = (axis(sy), axis(sx));
                #[allow(clippy::cast_possible_truncation)]
                taps.push(((y0 * p + x0) as u32, wy, wx));
            }
        }
        Source::Taps(taps)
    } else if flip_r || flip_c {
        #[allow(clippy::cast_possible_truncation)]
        Source::Pixel(
            (0..plane)
                .map(|i| (flip(i / s, flip_r) * s + flip(i % s, flip_c)) as u32)
                .collect(),
        )
    } else {
        Source::Identity
    };
    let pad = spec.pad_hu;
    // Affine: every slice padded by one pixel of `pad_hu`, then the bilinear HU of all
    // slices computed tile by tile, so a tile's taps stay in the L1 cache while all K
    // slices use them (taps are read once per ear, not once per slice).
    let mut padded = if affine {
        vec![pad; (s + 2) * (s + 2)]
    } else {
        Vec::new()
    };
    let mut values = vec![
        0i16;
        if matches!(source, Source::Identity) {
            0
        } else {
            plane
        }
    ];
    let noise_table = normal_table();
    for z in 0..k {
        let base = z * plane;
        let slice = &src[base..base + plane];
        // 1. The HU each output pixel takes.
        let hu: &[i16] = match &source {
            Source::Identity => slice,
            Source::Pixel(map) => {
                for (v, &m) in values.iter_mut().zip(map) {
                    *v = slice[m as usize];
                }
                &values
            }
            Source::Taps(taps) => {
                let p = s + 2;
                for (row, dst) in slice
                    .chunks_exact(s)
                    .zip(padded.chunks_exact_mut(p).skip(1))
                {
                    dst[1..=s].copy_from_slice(row);
                }
                let (upper, lower) = (&padded[..], &padded[p..]);
                for (v, &(i, wy, wx)) in values.iter_mut().zip(taps) {
                    let i = i as usize;
                    let (a, b, c, d) = (
                        f32::from(upper[i]),
                        f32::from(upper[i + 1]),
                        f32::from(lower[i]),
                        f32::from(lower[i + 1]),
                    );
                    let top = a + (b - a) * wx;
                    let bottom = c + (d - c) * wx;
                    let f = top + (bottom - top) * wy;
                    // Round half away from zero by truncation (`f32::round` is a
                    // library call on baseline x86-64, and this loop is the hot one).
                    #[allow(clippy::cast_possible_truncation)]
                    {
                        *v = (f + 0.5f32.copysign(f)) as i16;
                    }
                }
                &values
            }
        };
        // 2. Window, intensity and gamma; then the noise (four draws per random word).
        let first = &mut out[base..base + plane];
        tables[0].apply(hu, first);
        if aug.noise_std > 0.0 {
            let std = aug.noise_std;
            let mut o4 = first.chunks_exact_mut(4);
            for o in &mut o4 {
                let r = noise.next_u64();
                for (j, v) in o.iter_mut().enumerate() {
                    #[allow(clippy::cast_possible_truncation)]
                    let n = noise_table[((r >> (16 * j)) as usize) & (NOISE_LEN - 1)];
                    *v = (*v + std * n).clamp(0.0, 1.0);
                }
            }
            let r = noise.next_u64();
            for (j, v) in o4.into_remainder().iter_mut().enumerate() {
                #[allow(clippy::cast_possible_truncation)]
                let n = noise_table[((r >> (16 * j)) as usize) & (NOISE_LEN - 1)];
                *v = (*v + std * n).clamp(0.0, 1.0);
            }
        }
        for (ch, t) in tables.iter().enumerate().skip(1) {
            let start = ch * k * plane + base;
            t.apply(hu, &mut out[start..start + plane]);
        }
    }
}

/// Where the output pixels of a sample read, the same for its K slices.
enum Source {
    /// Every pixel from where it is.
    Identity,
    /// One source pixel (flips, no affine): its index in the plane.
    Pixel(Vec<u32>),
    /// Bilinear taps: the top-left tap's index in the padded plane and the two weights.
    Taps(Vec<(u32, f32, f32)>),
}

/// Entries of the noise table (a power of two).
const NOISE_LEN: usize = 4096;

/// Standard normal quantiles at `(i + 0.5) / NOISE_LEN`: a uniformly drawn entry is a
/// (finely discretised) standard normal draw.
fn normal_table() -> &'static [f32] {
    static TABLE: std::sync::OnceLock<Vec<f32>> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| {
        #[allow(clippy::cast_precision_loss, clippy::cast_possible_truncation)]
        (0..NOISE_LEN)
            .map(|i| normal_quantile((i as f64 + 0.5) / NOISE_LEN as f64) as f32)
            .collect()
    })
}

/// The standard normal quantile (Acklam's rational approximation without the
/// refinement step: absolute error below 2e-5, far below the noise's discretisation).
#[allow(clippy::unreadable_literal)]
fn normal_quantile(p: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969683028665376e1,
        2.209460984245205e2,
        -2.759285104469687e2,
        1.383_577_518_672_69e2,
        -3.066479806614716e1,
        2.506628277459239,
    ];
    const B: [f64; 5] = [
        -5.447609879822406e1,
        1.615858368580409e2,
        -1.556989798598866e2,
        6.680131188771972e1,
        -1.328068155288572e1,
    ];
    const C: [f64; 6] = [
        -7.784894002430293e-3,
        -3.223964580411365e-1,
        -2.400758277161838,
        -2.549671010115819,
        4.374664141464968,
        2.938163982698783,
    ];
    const D: [f64; 4] = [
        7.784695709041462e-3,
        3.224671290700398e-1,
        2.445134137142996,
        3.754408661907416,
    ];
    let tail = |q: f64| {
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    if p < 0.02425 {
        tail((-2.0 * p.ln()).sqrt())
    } else if p > 1.0 - 0.02425 {
        -tail((-2.0 * (1.0 - p).ln()).sqrt())
    } else {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    }
}

/// The per-pixel random stream (xorshift64*), four 16-bit draws per call.
struct PixelNoise(u64);

impl PixelNoise {
    #[inline]
    fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
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

    #[test]
    fn the_noise_table_holds_standard_normal_quantiles() {
        // Python's statistics.NormalDist().inv_cdf
        assert!((normal_quantile(0.975) - 1.959_963_985).abs() < 2e-5);
        assert!((normal_quantile(0.5)).abs() < 1e-12);
        assert!((normal_quantile(0.001) + 3.090_232_306).abs() < 2e-5);
        assert!((normal_quantile(0.999) - 3.090_232_306).abs() < 2e-5);
        let t = normal_table();
        let mean = t.iter().map(|&v| f64::from(v)).sum::<f64>() / t.len() as f64;
        let var = t.iter().map(|&v| f64::from(v).powi(2)).sum::<f64>() / t.len() as f64;
        assert!(
            mean.abs() < 1e-9 && (var - 1.0).abs() < 0.01,
            "{mean} {var}"
        );
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

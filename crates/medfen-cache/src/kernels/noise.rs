//! The pixel noise of the augmentation: standard normal draws read from one fixed table
//! in runs, each run at its own random offset and with a random sign.
//!
//! A slice is cut into runs of [`PIECE`] pixels (the last may be shorter); pixel `i`
//! gets `table[offset + i % PIECE] * sign * std`, where run `i / PIECE`'s offset (one of
//! [`TABLE_LEN`]) and sign are a hash of the slice's key and the run's number. Within a
//! run the draws are independent (consecutive table entries), runs start at independent
//! offsets, and any run can be computed alone, so a slice may be taken a piece at a time
//! in any order. Adding a draw costs a load, a conversion and a fused multiply-add per
//! vector of pixels, where generating one per pixel (64 xorshift generators and byte
//! sums, the previous scheme) cost about 15 vector operations per 16 pixels and a
//! quarter of the training loader's time. The price: the same 65,536 values recur,
//! shifted, across slices and samples, so the noise is independent within a slice but
//! not over a whole training run, as a per-pixel generator's would be.
//!
//! The table is 65,536 draws of `sum of 12 uniforms - 6` (Irwin-Hall, n = 12: mean 0,
//! variance 1, bell-shaped, bounded at ±6 sd) in steps of 1/4096 sd, stored as `i16`
//! (128 KiB, half the cache traffic of floats), made once from a fixed ChaCha8 seed
//! with integer sums, so it is the same on every platform.

use std::sync::OnceLock;

use rand_chacha::ChaCha8Rng;
use rand_core::{Rng, SeedableRng};

use super::Isa;

/// Pixels per run of consecutive table draws (the loops' piece of work: a piece gets its
/// noise while it is in the L1 cache).
pub(crate) const PIECE: usize = 1024;

/// Draws in the noise table (a power of two: offsets are masked).
pub(crate) const TABLE_LEN: usize = 1 << 16;

/// Table steps per standard deviation.
const STEPS: f32 = 4096.0;

/// The table, [`TABLE_LEN`] draws (in [`STEPS`] per standard deviation) followed by the
/// first [`PIECE`] again, so that a run from any offset is contiguous.
fn table() -> &'static [i16] {
    static TABLE: OnceLock<Vec<i16>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut rng = ChaCha8Rng::from_seed(*b"medfen-cache noise table, v1 \0\0\0");
        let mut t: Vec<i16> = (0..TABLE_LEN)
            .map(|_| {
                // Exact integer sum of 12 uniform words, then one rounding (to within
                // ±6 * STEPS = ±24,576).
                let sum: u64 = (0..12).map(|_| u64::from(rng.next_u32())).sum();
                ((sum as f64 / 4_294_967_296.0 - 6.0) * f64::from(STEPS)).round() as i16
            })
            .collect();
        t.extend_from_within(..PIECE);
        t
    })
}

/// The noise of one slice: standard deviation and key.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Noise {
    std: f32,
    key: u64,
}

/// The draws of one run: table values (standard normal, in steps of 1/4096) and the
/// signed scale to apply to them.
#[derive(Clone, Copy)]
pub(crate) struct NoiseRun {
    pub(crate) draws: &'static [i16],
    pub(crate) scale: f32,
}

impl Noise {
    /// The noise of standard deviation `std` of the slice with key `key`.
    pub(crate) fn new(std: f32, key: u64) -> Self {
        Self { std, key }
    }

    /// No noise: [`Noise::add`] then only clamps the values to [0, 1].
    pub(crate) fn none() -> Self {
        Self { std: 0.0, key: 0 }
    }

    /// The draws of run `run` (pixels `run * PIECE..`), `len` (at most [`PIECE`]) of them.
    pub(crate) fn run(&self, run: usize, len: usize) -> NoiseRun {
        assert!(len <= PIECE, "a run holds at most PIECE draws");
        let h = super::mix64(self.key ^ (run as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let offset = (h as usize) & (TABLE_LEN - 1);
        // Exact: a power-of-two division.
        let scale = if h >> 63 == 1 { -self.std } else { self.std } / STEPS;
        NoiseRun {
            draws: &table()[offset..offset + len],
            scale,
        }
    }

    /// Adds the draws of pixels `from..from + values.len()` of the slice to `values`
    /// (clamped to [0, 1]).
    pub(crate) fn add(&self, isa: Isa, from: usize, values: &mut [f32]) {
        let mut at = 0;
        while at < values.len() {
            let pixel = from + at;
            let (start, n) = (
                pixel % PIECE,
                (PIECE - pixel % PIECE).min(values.len() - at),
            );
            let run = self.run(pixel / PIECE, PIECE);
            let run = NoiseRun {
                draws: &run.draws[start..start + n],
                scale: run.scale,
            };
            run.add(isa, &mut values[at..at + n]);
            at += n;
        }
    }
}

impl NoiseRun {
    /// `values[i] = clamp(draws[i] * scale + values[i], 0, 1)` (one fused multiply-add).
    ///
    /// # Panics
    /// When there are fewer draws than values.
    pub(crate) fn add(self, isa: Isa, values: &mut [f32]) {
        let n = values.len();
        assert!(n <= self.draws.len(), "a draw for every value");
        #[cfg(target_arch = "x86_64")]
        #[allow(unsafe_code)]
        let done = match isa {
            // SAFETY: `Isa::Avx512` is only detected on CPUs with AVX-512 F and BW.
            Isa::Avx512 => unsafe { avx512::add(self, values) },
            // SAFETY: `Isa::Avx2` is only detected on CPUs with AVX2 and FMA.
            Isa::Avx2 => unsafe { avx2::add(self, values) },
            Isa::Baseline => 0,
        };
        #[cfg(not(target_arch = "x86_64"))]
        let done = {
            let _ = isa;
            0
        };
        for (v, &t) in values[done..].iter_mut().zip(&self.draws[done..n]) {
            *v = self.at(t, *v);
        }
    }

    /// One value with its draw `t` added: the operation of every copy.
    #[inline]
    pub(crate) fn at(self, t: i16, v: f32) -> f32 {
        f32::from(t).mul_add(self.scale, v).clamp(0.0, 1.0)
    }
}

/// The AVX2 copy, 8 values at a time.
#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)]
pub(super) mod avx2 {
    use std::arch::x86_64::{
        __m256, _mm_loadu_si128, _mm256_cvtepi16_epi32, _mm256_cvtepi32_ps, _mm256_fmadd_ps,
        _mm256_loadu_ps, _mm256_set1_ps, _mm256_storeu_ps,
    };

    use super::NoiseRun;
    use crate::kernels::avx2::clamp01;

    /// 8 draws as floats.
    ///
    /// # Safety
    /// `p` is valid for 8 reads.
    #[inline]
    #[target_feature(enable = "avx2")]
    pub(crate) unsafe fn load_draws(p: *const i16) -> __m256 {
        // SAFETY: as the caller promised.
        _mm256_cvtepi32_ps(_mm256_cvtepi16_epi32(unsafe { _mm_loadu_si128(p.cast()) }))
    }

    /// `NoiseRun::add` for the whole multiples of 8; returns how many it did. The
    /// caller checked that there is a draw for every value.
    #[target_feature(enable = "avx2,fma")]
    pub(super) fn add(run: NoiseRun, values: &mut [f32]) -> usize {
        let n = values.len().min(run.draws.len());
        let scale = _mm256_set1_ps(run.scale);
        let mut i = 0;
        while i + 8 <= n {
            // SAFETY: i + 8 <= n <= values.len() and <= run.draws.len().
            unsafe {
                let p = values.as_mut_ptr().add(i);
                let t = load_draws(run.draws.as_ptr().add(i));
                _mm256_storeu_ps(p, clamp01(_mm256_fmadd_ps(t, scale, _mm256_loadu_ps(p))));
            }
            i += 8;
        }
        i
    }
}

/// The AVX-512 copy, 16 values at a time.
#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)]
mod avx512 {
    use std::arch::x86_64::{
        _mm256_loadu_si256, _mm512_cvtepi16_epi32, _mm512_cvtepi32_ps, _mm512_fmadd_ps,
        _mm512_loadu_ps, _mm512_max_ps, _mm512_min_ps, _mm512_set1_ps, _mm512_storeu_ps,
    };

    use super::NoiseRun;

    /// The AVX2 `add`, 16 at a time.
    #[target_feature(enable = "avx512f")]
    pub(super) fn add(run: NoiseRun, values: &mut [f32]) -> usize {
        let n = values.len().min(run.draws.len());
        let scale = _mm512_set1_ps(run.scale);
        let (zero, one) = (_mm512_set1_ps(0.0), _mm512_set1_ps(1.0));
        let mut i = 0;
        while i + 16 <= n {
            // SAFETY: i + 16 <= n <= values.len() and <= run.draws.len().
            unsafe {
                let p = values.as_mut_ptr().add(i);
                let t = _mm256_loadu_si256(run.draws.as_ptr().add(i).cast());
                let t = _mm512_cvtepi32_ps(_mm512_cvtepi16_epi32(t));
                let v = _mm512_fmadd_ps(t, scale, _mm512_loadu_ps(p));
                // `clamp(v, 0, 1)` as `f32::clamp` (see `kernels::avx2::clamp01`).
                _mm512_storeu_ps(p, _mm512_min_ps(one, _mm512_max_ps(zero, v)));
            }
            i += 16;
        }
        i
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_standard_normal_and_bounded() {
        let t: Vec<f32> = table()[..TABLE_LEN]
            .iter()
            .map(|&v| f32::from(v) / STEPS)
            .collect();
        let n = t.len() as f64;
        let mean = t.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
        let var = t
            .iter()
            .map(|&v| (f64::from(v) - mean).powi(2))
            .sum::<f64>()
            / n;
        assert!(mean.abs() < 0.01, "mean {mean}");
        assert!((var.sqrt() - 1.0).abs() < 0.01, "sd {}", var.sqrt());
        // Normal tails: about 4.55% beyond 2 sd, 0.27% beyond 3 sd.
        let beyond = |k: f32| t.iter().filter(|v| v.abs() > k).count() as f64 / n;
        assert!((beyond(2.0) - 0.0455).abs() < 0.004, "{}", beyond(2.0));
        assert!((beyond(3.0) - 0.0027).abs() < 0.001, "{}", beyond(3.0));
        assert!(t.iter().all(|v| v.abs() <= 6.0));
        // The wrap-around copy.
        assert_eq!(table()[TABLE_LEN..], table()[..PIECE]);
    }

    /// Pearson correlation of two equally long series.
    fn correlation(a: &[f32], b: &[f32]) -> f64 {
        let n = a.len() as f64;
        let mean = |v: &[f32]| v.iter().map(|&x| f64::from(x)).sum::<f64>() / n;
        let (ma, mb) = (mean(a), mean(b));
        let (mut ab, mut aa, mut bb) = (0.0, 0.0, 0.0);
        for (&x, &y) in a.iter().zip(b) {
            let (x, y) = (f64::from(x) - ma, f64::from(y) - mb);
            ab += x * y;
            aa += x * x;
            bb += y * y;
        }
        ab / (aa * bb).sqrt()
    }

    #[test]
    fn neighbouring_pixels_rows_and_slices_get_uncorrelated_noise() {
        // Two slices of 224 x 224 on mid-grey (no clamping), std 0.02.
        let (s, plane) = (224, 224 * 224);
        let slice = |key: u64| {
            let mut v = vec![0.5f32; plane];
            Noise::new(0.02, key).add(Isa::Baseline, 0, &mut v);
            v
        };
        let (a, b) = (slice(mix(7)), slice(mix(8)));
        let sd = (a.iter().map(|&x| f64::from(x - 0.5).powi(2)).sum::<f64>() / plane as f64).sqrt();
        assert!((sd - 0.02).abs() < 0.0005, "sd {sd}");
        // Lag one pixel (within runs), one row (across runs) and one slice: with 50,176
        // pairs, |r| of independent series stays below 0.02 (4.5 standard errors).
        let lags = [
            ("pixel", correlation(&a[..plane - 1], &a[1..])),
            ("row", correlation(&a[..plane - s], &a[s..])),
            ("slice", correlation(&a, &b)),
        ];
        for (what, r) in lags {
            assert!(r.abs() < 0.02, "{what}: r = {r}");
        }
    }

    fn mix(x: u64) -> u64 {
        crate::kernels::mix64(x)
    }

    #[test]
    fn runs_differ_and_a_slice_taken_in_any_pieces_gets_the_same_draws() {
        let noise = Noise::new(0.02, 0xDEAD_BEEF);
        let whole = {
            let mut v = vec![0.5f32; 3 * PIECE + 100];
            noise.add(Isa::Baseline, 0, &mut v);
            v
        };
        for isa in Isa::available() {
            for cut in [1, 7, 333, PIECE, PIECE + 9, 2 * PIECE + 5] {
                let mut v = vec![0.5f32; whole.len()];
                let (a, b) = v.split_at_mut(cut);
                noise.add(isa, cut, b);
                noise.add(isa, 0, a);
                assert_eq!(v, whole, "{isa:?} cut at {cut}");
            }
        }
        // Different runs, different keys: different draws.
        assert_ne!(whole[..PIECE], whole[PIECE..2 * PIECE]);
        let other = Noise::new(0.02, 0xDEAD_BEEE);
        let mut v = vec![0.5f32; PIECE];
        other.add(Isa::Baseline, 0, &mut v);
        assert_ne!(v[..], whole[..PIECE]);
    }
}

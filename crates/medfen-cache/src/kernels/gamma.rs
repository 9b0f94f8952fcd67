//! The gamma curve of a window map, `x^gamma * scale + shift` on the window's [0, 1],
//! evaluated without table gathers or square roots. The window position is shifted to
//! `y = x (1 - 2^-8) + 2^-8` in [2^-8, 1), so that the bits of `y` as a float say where
//! it lies: its exponent picks one of 8 octaves, the leading bit of its mantissa a half
//! of the octave (16 pieces, finer toward the dark end, where the power bends most), and
//! the mantissa as a float `f` in [1, 2) (one AVX-512 `getmant`) the position across
//! the octave. Each piece is the quadratic through the curve's values at its ends and
//! middle, expanded in `f`; the coefficients are picked with in-register permutes (one
//! per coefficient with AVX-512, two and a blend with AVX2). For gamma in [0.8, 1.25]
//! the pieces stay within 1e-4 of the power above the window's first hundredth (tested
//! on every HU of four windows: 7.5e-5 at worst), a fiftieth of an 8-bit grey level and
//! far below the noise the augmentation adds, and within 2.5e-4 below it, where the
//! power bends most (2.1e-4 at gamma 0.8 a few HU above the window's bottom). The
//! original recipe's gammas down to 0.6 bend more there: 7.3e-4 at 0.7 and 2.2e-3 at
//! 0.6, about half an 8-bit grey level, on those few HU only. (Measured alternatives: pieces in
//! `sqrt(x)` spent a tenth of the loader's time in the square root; 32 pieces are 7x
//! more accurate but their picking costs AVX2 CPUs 10%; cubic pieces cost 10% on two
//! threads.)
//!
//! The portable, AVX2 and AVX-512 copies do the same IEEE operations in the same order
//! (fused multiply-adds are correctly rounded everywhere), so they agree bit for bit.

/// Pieces of the curve: 8 octaves of 2.
pub(crate) const PIECES: usize = 16;

/// The lowest shifted position, 2^-8 (the bottom of the lowest octave).
const LOW: f32 = 1.0 / 256.0;

/// The highest shifted position: the largest float below 1 (the top octave's end).
const HIGH: f32 = 1.0 - f32::EPSILON / 2.0;

/// The piece slot of a shifted position `y` in [`LOW`, `HIGH`]: bits 22-25 of its float
/// bits (the leading mantissa bit and the exponent's lowest three), the same in every
/// copy. Slots are the pieces in order, rotated (2^-8 has slot 14).
#[inline]
fn slot(y: f32) -> usize {
    ((y.to_bits() >> 22) & 15) as usize
}

/// The position of `y` across its octave: its mantissa as a float in [1, 2) (what
/// AVX-512's `getmant` gives for positive normal floats).
#[inline]
fn mantissa(y: f32) -> f32 {
    f32::from_bits((y.to_bits() & 0x7F_FFFF) | 0x3F80_0000)
}

/// The window and the pieces: `y = clamp(hu * slope + offset, low, high)` (one fused
/// multiply-add), then the piece of slot `slot(y)` at `f = mantissa(y)` (in [1, 2)):
/// `c0 + f * (c1 + f * c2)` (fused multiply-adds), clamped to [0, 1].
///
/// `low` and `high` narrow [`LOW`, `HIGH`] to where the curve runs from 0 to 1 (the
/// intensity scale and shift move those points inside when they push the curve out of
/// [0, 1]): beyond them the clamped curve is constant either way, and the pieces there
/// lie within their error (1e-4) of [0, 1] before the final clamp. So when noise
/// follows, one clamp after it serves both (`raw`), two vector operations fewer.
pub(crate) struct GammaCurve {
    slope: f32,
    offset: f32,
    low: f32,
    high: f32,
    c: [[f32; PIECES]; 3],
}

impl GammaCurve {
    /// The pieces of `x^gamma * scale + shift` for `x = (hu - lo) / width`.
    pub(crate) fn new((lo, width): (f32, f32), gamma: f32, scale: f32, shift: f32) -> Self {
        let (gamma, scale, shift) = (f64::from(gamma), f64::from(scale), f64::from(shift));
        let low = f64::from(LOW);
        // The curve as a function of the shifted position y.
        let curve = |y: f64| ((y - low) / (1.0 - low)).max(0.0).powf(gamma) * scale + shift;
        let mut c = [[0f32; PIECES]; 3];
        for k in 0..PIECES {
            // Octave k / 2 from 2^-8 up, half k % 2 of it.
            let base = low * f64::from(1u32 << (k / 2));
            let (y0, h) = (base * (1.0 + (k % 2) as f64 / 2.0), base / 2.0);
            let (g0, gm, g1) = (curve(y0), curve(y0 + h / 2.0), curve(y0 + h));
            // q(0) = g0, q(1/2) = gm, q(1) = g1 in t = 2 u across the piece (u in
            // [0, 1/2)), expanded in u ...
            let (a0, a1, a2) = (
                g0,
                2.0 * (4.0 * gm - 3.0 * g0 - g1),
                4.0 * (2.0 * (g0 + g1) - 4.0 * gm),
            );
            // ... and in the mantissa f = u + o (o = 1 in the lower half of the octave,
            // 1.5 in the upper).
            let o = 1.0 + (k % 2) as f64 / 2.0;
            let coefficients = [a0 - a1 * o + a2 * o * o, a1 - 2.0 * a2 * o, a2];
            let s = slot(y0 as f32);
            for (c, v) in c.iter_mut().zip(coefficients) {
                {
                    c[s] = v as f32;
                }
            }
        }
        // Where the curve crosses 0 and 1 (it rises: scale > 0), as shifted positions.
        let crossing = |v: f64| {
            let x = ((v - shift) / scale).max(0.0).powf(1.0 / gamma);
            let y = (x * (1.0 - low) + low) as f32;
            y.clamp(LOW, HIGH)
        };
        let (y0, y1) = if scale > 0.0 && gamma > 0.0 {
            (crossing(0.0), crossing(1.0))
        } else {
            (LOW, HIGH)
        };
        let slope = (1.0 - LOW) / width;
        Self {
            slope,
            offset: (-lo).mul_add(slope, LOW),
            low: y0,
            high: y1.max(y0),
            c,
        }
    }

    /// The curve held at its values at window positions `low` and `high` (in [0, 1])
    /// below and above them.
    pub(crate) fn held(mut self, (low, high): (f64, f64)) -> Self {
        let position = |x: f64| {
            let y = (x * (1.0 - f64::from(LOW)) + f64::from(LOW)) as f32;
            y.clamp(LOW, HIGH)
        };
        self.low = self.low.max(position(low));
        self.high = self.high.min(position(high)).max(self.low);
        self
    }

    /// The curve at `hu`, clamped to [0, 1].
    #[inline]
    pub(crate) fn at(&self, hu: i16) -> f32 {
        self.raw(hu).clamp(0.0, 1.0)
    }

    /// The curve at `hu` before the clamp to [0, 1] (within 1e-4 of [0, 1]).
    #[inline]
    pub(crate) fn raw(&self, hu: i16) -> f32 {
        let y = f32::from(hu)
            .mul_add(self.slope, self.offset)
            .clamp(self.low, self.high);
        let (i, f) = (slot(y), mantissa(y));
        let c = &self.c;
        f.mul_add(f.mul_add(c[2][i], c[1][i]), c[0][i])
    }
}

/// The AVX2 copy.
#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)]
pub(super) mod avx2 {
    use std::arch::x86_64::{
        __m256, __m256i, _mm_loadu_si128, _mm256_and_si256, _mm256_blendv_ps, _mm256_castps_si256,
        _mm256_castsi256_ps, _mm256_cvtepi16_epi32, _mm256_cvtepi32_ps, _mm256_fmadd_ps,
        _mm256_loadu_ps, _mm256_max_ps, _mm256_min_ps, _mm256_or_si256, _mm256_permutevar8x32_ps,
        _mm256_set1_epi32, _mm256_set1_ps, _mm256_slli_epi32, _mm256_srli_epi32, _mm256_storeu_ps,
    };

    use super::{GammaCurve, PIECES};
    use crate::kernels::Finish;
    use crate::kernels::avx2::clamp01;

    /// Entry `slot` of 16: a permute of each half, blended on bit 3 of `slot`.
    #[inline]
    #[target_feature(enable = "avx2")]
    fn pick(c: &[f32; PIECES], slot: __m256i, upper: __m256) -> __m256 {
        // SAFETY: `c` holds 16 floats.
        let (lo, hi) = unsafe {
            (
                _mm256_loadu_ps(c.as_ptr()),
                _mm256_loadu_ps(c.as_ptr().add(8)),
            )
        };
        _mm256_blendv_ps(
            _mm256_permutevar8x32_ps(lo, slot),
            _mm256_permutevar8x32_ps(hi, slot),
            upper,
        )
    }

    /// `out[i] = curve.at(hu[i])` 8 at a time, finished as `finish` says; returns how
    /// many it did (the caller does the tail).
    #[target_feature(enable = "avx2,fma")]
    pub(in super::super) fn apply(
        curve: &GammaCurve,
        hu: &[i16],
        out: &mut [f32],
        finish: Finish,
    ) -> usize {
        match finish {
            Finish::Noise(r) => body::<true, true>(curve, hu, out, r.draws, r.scale),
            Finish::Clamp => body::<false, true>(curve, hu, out, &[], 0.0),
            Finish::Raw => body::<false, false>(curve, hu, out, &[], 0.0),
        }
    }

    /// `apply`; `draws` holds a draw for every value when `NOISY`; the values are
    /// clamped when `CLAMP`.
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    fn body<const NOISY: bool, const CLAMP: bool>(
        curve: &GammaCurve,
        hu: &[i16],
        out: &mut [f32],
        draws: &[i16],
        noise_scale: f32,
    ) -> usize {
        let n = hu.len().min(out.len());
        assert!(!NOISY || draws.len() >= n);
        let (slope, offset) = (_mm256_set1_ps(curve.slope), _mm256_set1_ps(curve.offset));
        let (low, high) = (_mm256_set1_ps(curve.low), _mm256_set1_ps(curve.high));
        let (mantissa, one) = (_mm256_set1_epi32(0x7F_FFFF), _mm256_set1_epi32(0x3F80_0000));
        let noise_scale = _mm256_set1_ps(noise_scale);
        let mut i = 0;
        while i + 8 <= n {
            // SAFETY: i + 8 <= n <= hu.len() (16 bytes).
            let h = _mm256_cvtepi16_epi32(unsafe { _mm_loadu_si128(hu.as_ptr().add(i).cast()) });
            let y = _mm256_fmadd_ps(_mm256_cvtepi32_ps(h), slope, offset);
            let y = _mm256_castps_si256(_mm256_min_ps(high, _mm256_max_ps(low, y)));
            let slot = _mm256_srli_epi32::<22>(y);
            let f = _mm256_castsi256_ps(_mm256_or_si256(_mm256_and_si256(y, mantissa), one));
            let upper = _mm256_castsi256_ps(_mm256_slli_epi32::<28>(slot));
            let c = |j: usize| pick(&curve.c[j], slot, upper);
            let mut v = _mm256_fmadd_ps(f, _mm256_fmadd_ps(f, c(2), c(1)), c(0));
            if NOISY {
                // SAFETY: i + 8 <= n <= draws.len() when NOISY.
                let t = unsafe { crate::kernels::noise::avx2::load_draws(draws.as_ptr().add(i)) };
                v = _mm256_fmadd_ps(t, noise_scale, v);
            }
            let v = if CLAMP { clamp01(v) } else { v };
            // SAFETY: i + 8 <= n <= out.len().
            unsafe { _mm256_storeu_ps(out.as_mut_ptr().add(i), v) };
            i += 8;
        }
        i
    }
}

/// The AVX-512 copy.
#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)]
pub(super) mod avx512 {
    use std::arch::x86_64::{
        __m512, _MM_MANT_NORM_1_2, _MM_MANT_SIGN_SRC, _mm256_loadu_si256, _mm512_castps_si512,
        _mm512_cvtepi16_epi32, _mm512_cvtepi32_ps, _mm512_fmadd_ps, _mm512_getmant_ps,
        _mm512_loadu_ps, _mm512_max_ps, _mm512_min_ps, _mm512_permutexvar_ps, _mm512_set1_ps,
        _mm512_srli_epi32, _mm512_storeu_ps,
    };

    use super::GammaCurve;
    use crate::kernels::Finish;

    /// `clamp(x, 0, 1)` as `f32::clamp` (see the AVX2 copy).
    #[inline]
    #[target_feature(enable = "avx512f")]
    fn clamp01(x: __m512) -> __m512 {
        _mm512_min_ps(_mm512_set1_ps(1.0), _mm512_max_ps(_mm512_set1_ps(0.0), x))
    }

    /// The AVX2 `apply`, 16 at a time (one permute picks each coefficient).
    #[target_feature(enable = "avx512f")]
    pub(in super::super) fn apply(
        curve: &GammaCurve,
        hu: &[i16],
        out: &mut [f32],
        finish: Finish,
    ) -> usize {
        match finish {
            Finish::Noise(r) => body::<true, true>(curve, hu, out, r.draws, r.scale),
            Finish::Clamp => body::<false, true>(curve, hu, out, &[], 0.0),
            Finish::Raw => body::<false, false>(curve, hu, out, &[], 0.0),
        }
    }

    /// `apply`; `draws` holds a draw for every value when `NOISY`; the values are
    /// clamped when `CLAMP`.
    #[inline]
    #[target_feature(enable = "avx512f")]
    fn body<const NOISY: bool, const CLAMP: bool>(
        curve: &GammaCurve,
        hu: &[i16],
        out: &mut [f32],
        draws: &[i16],
        noise_scale: f32,
    ) -> usize {
        let n = hu.len().min(out.len());
        assert!(!NOISY || draws.len() >= n);
        let (slope, offset) = (_mm512_set1_ps(curve.slope), _mm512_set1_ps(curve.offset));
        let (low, high) = (_mm512_set1_ps(curve.low), _mm512_set1_ps(curve.high));
        let noise_scale = _mm512_set1_ps(noise_scale);
        // SAFETY: each coefficient array holds 16 floats.
        let c: [__m512; 3] =
            std::array::from_fn(|j| unsafe { _mm512_loadu_ps(curve.c[j].as_ptr()) });
        let mut i = 0;
        while i + 16 <= n {
            // SAFETY: i + 16 <= n <= hu.len() (32 bytes).
            let h = _mm512_cvtepi16_epi32(unsafe { _mm256_loadu_si256(hu.as_ptr().add(i).cast()) });
            let y = _mm512_fmadd_ps(_mm512_cvtepi32_ps(h), slope, offset);
            let y = _mm512_min_ps(high, _mm512_max_ps(low, y));
            let slot = _mm512_srli_epi32::<22>(_mm512_castps_si512(y));
            let f = _mm512_getmant_ps::<_MM_MANT_NORM_1_2, _MM_MANT_SIGN_SRC>(y);
            let a = |j: usize| _mm512_permutexvar_ps(slot, c[j]);
            let mut v = _mm512_fmadd_ps(f, _mm512_fmadd_ps(f, a(2), a(1)), a(0));
            if NOISY {
                // SAFETY: i + 16 <= n <= draws.len() when NOISY.
                let t = _mm512_cvtepi32_ps(_mm512_cvtepi16_epi32(unsafe {
                    _mm256_loadu_si256(draws.as_ptr().add(i).cast())
                }));
                v = _mm512_fmadd_ps(t, noise_scale, v);
            }
            let v = if CLAMP { clamp01(v) } else { v };
            // SAFETY: i + 16 <= n <= out.len().
            unsafe { _mm512_storeu_ps(out.as_mut_ptr().add(i), v) };
            i += 16;
        }
        i
    }
}

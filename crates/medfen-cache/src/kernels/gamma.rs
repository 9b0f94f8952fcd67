//! The gamma curve of a window map, `x^gamma * scale + shift` on the window's [0, 1],
//! evaluated without table gathers: as a function of `u = sqrt(x)` (which makes
//! `u^(2 gamma)` smooth at 0 for the gamma of augmentations, >= 0.5) it is 16 quadratic
//! pieces, each through the curve's values at its ends and middle. The piece's
//! coefficients are picked with in-register permutes (one per coefficient with
//! AVX-512, two and a blend with AVX2). For gamma in [0.8, 1.25] the pieces stay within
//! 1.5e-4 of the power (tested; 8e-5 at worst on the tested windows), a twenty-fifth of
//! an 8-bit grey level and far below the noise the augmentation adds.
//!
//! The portable, AVX2 and AVX-512 copies do the same IEEE operations in the same order
//! (fused multiply-adds, and the square root, are correctly rounded everywhere), so they
//! agree bit for bit.

/// Pieces of the curve.
pub(crate) const PIECES: usize = 16;

/// The top of the scaled window: just below `PIECES^2`, so that `sqrt` stays below
/// `PIECES` and every piece index is in range without a clamp.
const TOP: f32 = 255.999;

/// The window and the pieces. The window's `x` is taken scaled by `PIECES^2`, so that
/// `t = sqrt(x * PIECES^2)` is the piece index plus the position `f` in [0, 1) across
/// the piece, which has the value `c0 + f * (c1 + f * c2)` (fused multiply-adds).
pub(crate) struct GammaCurve {
    /// `x * PIECES^2 = clamp(hu * slope + offset, 0, TOP)` (one fused multiply-add).
    slope: f32,
    offset: f32,
    c0: [f32; PIECES],
    c1: [f32; PIECES],
    c2: [f32; PIECES],
}

impl GammaCurve {
    /// The pieces of `x^gamma * scale + shift` for `x = (hu - lo) / width`.
    pub(crate) fn new((lo, width): (f32, f32), gamma: f32, scale: f32, shift: f32) -> Self {
        let (gamma, scale, shift) = (f64::from(gamma), f64::from(scale), f64::from(shift));
        // The curve as a function of u = sqrt(x).
        let curve = |u: f64| (u * u).powf(gamma) * scale + shift;
        let (mut c0, mut c1, mut c2) = ([0f32; PIECES], [0f32; PIECES], [0f32; PIECES]);
        #[allow(clippy::cast_precision_loss)]
        let h = 1.0 / PIECES as f64;
        for j in 0..PIECES {
            #[allow(clippy::cast_precision_loss)]
            let u0 = j as f64 * h;
            let (g0, gm, g1) = (curve(u0), curve(u0 + h / 2.0), curve(u0 + h));
            // q(0) = g0, q(1/2) = gm, q(1) = g1
            #[allow(clippy::cast_possible_truncation)]
            {
                c0[j] = g0 as f32;
                c1[j] = (4.0 * gm - 3.0 * g0 - g1) as f32;
                c2[j] = (2.0 * (g0 + g1) - 4.0 * gm) as f32;
            }
        }
        #[allow(clippy::cast_precision_loss)]
        let slope = (PIECES * PIECES) as f32 / width;
        Self {
            slope,
            offset: -lo * slope,
            c0,
            c1,
            c2,
        }
    }

    /// The curve at `hu`, clamped to [0, 1].
    #[inline]
    pub(crate) fn at(&self, hu: i16) -> f32 {
        let t = f32::from(hu)
            .mul_add(self.slope, self.offset)
            .clamp(0.0, TOP)
            .sqrt();
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let i = t as usize;
        #[allow(clippy::cast_precision_loss)]
        let f = t - i as f32;
        f.mul_add(f.mul_add(self.c2[i], self.c1[i]), self.c0[i])
            .clamp(0.0, 1.0)
    }
}

/// The AVX2 copy.
#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)]
pub(super) mod avx2 {
    use std::arch::x86_64::{
        __m256, __m256i, _mm_loadu_si128, _mm256_blendv_ps, _mm256_castsi256_ps,
        _mm256_cvtepi16_epi32, _mm256_cvtepi32_ps, _mm256_cvttps_epi32, _mm256_fmadd_ps,
        _mm256_loadu_ps, _mm256_max_ps, _mm256_min_ps, _mm256_permutevar8x32_ps, _mm256_set1_ps,
        _mm256_slli_epi32, _mm256_sqrt_ps, _mm256_storeu_ps, _mm256_sub_ps,
    };

    use super::{GammaCurve, PIECES, TOP};

    /// `clamp(x, 0, 1)` as `f32::clamp`.
    #[inline]
    #[target_feature(enable = "avx2")]
    fn clamp01(x: __m256) -> __m256 {
        _mm256_min_ps(_mm256_set1_ps(1.0), _mm256_max_ps(_mm256_set1_ps(0.0), x))
    }

    /// Coefficient `i` of 16: a permute of each half, blended on bit 3 of `i`.
    #[inline]
    #[target_feature(enable = "avx2")]
    fn pick(c: &[f32; PIECES], i: __m256i, upper: __m256) -> __m256 {
        // SAFETY: `c` holds 16 floats.
        let (lo, hi) = unsafe {
            (
                _mm256_loadu_ps(c.as_ptr()),
                _mm256_loadu_ps(c.as_ptr().add(8)),
            )
        };
        _mm256_blendv_ps(
            _mm256_permutevar8x32_ps(lo, i),
            _mm256_permutevar8x32_ps(hi, i),
            upper,
        )
    }

    /// `out[i] = curve.at(hu[i])` 8 at a time; returns how many it did (the caller
    /// does the tail).
    #[target_feature(enable = "avx2,fma")]
    pub(in super::super) fn apply(curve: &GammaCurve, hu: &[i16], out: &mut [f32]) -> usize {
        let n = hu.len().min(out.len());
        let (slope, offset) = (_mm256_set1_ps(curve.slope), _mm256_set1_ps(curve.offset));
        let (zero, top) = (_mm256_set1_ps(0.0), _mm256_set1_ps(TOP));
        let mut i = 0;
        while i + 8 <= n {
            // SAFETY: i + 8 <= n <= hu.len() (16 bytes).
            let h = _mm256_cvtepi16_epi32(unsafe { _mm_loadu_si128(hu.as_ptr().add(i).cast()) });
            let x = _mm256_fmadd_ps(_mm256_cvtepi32_ps(h), slope, offset);
            let t = _mm256_sqrt_ps(_mm256_min_ps(top, _mm256_max_ps(zero, x)));
            let k = _mm256_cvttps_epi32(t);
            let f = _mm256_sub_ps(t, _mm256_cvtepi32_ps(k));
            let upper = _mm256_castsi256_ps(_mm256_slli_epi32::<28>(k));
            let (c0, c1, c2) = (
                pick(&curve.c0, k, upper),
                pick(&curve.c1, k, upper),
                pick(&curve.c2, k, upper),
            );
            let v = _mm256_fmadd_ps(f, _mm256_fmadd_ps(f, c2, c1), c0);
            // SAFETY: i + 8 <= n <= out.len().
            unsafe { _mm256_storeu_ps(out.as_mut_ptr().add(i), clamp01(v)) };
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
        __m512, _mm256_loadu_si256, _mm512_cvtepi16_epi32, _mm512_cvtepi32_ps, _mm512_cvttps_epi32,
        _mm512_fmadd_ps, _mm512_loadu_ps, _mm512_max_ps, _mm512_min_ps, _mm512_permutexvar_ps,
        _mm512_set1_ps, _mm512_sqrt_ps, _mm512_storeu_ps, _mm512_sub_ps,
    };

    use super::{GammaCurve, TOP};

    /// `clamp(x, 0, 1)` as `f32::clamp`.
    #[inline]
    #[target_feature(enable = "avx512f")]
    fn clamp01(x: __m512) -> __m512 {
        _mm512_min_ps(_mm512_set1_ps(1.0), _mm512_max_ps(_mm512_set1_ps(0.0), x))
    }

    /// The AVX2 `apply`, 16 at a time.
    #[target_feature(enable = "avx512f")]
    pub(in super::super) fn apply(curve: &GammaCurve, hu: &[i16], out: &mut [f32]) -> usize {
        let n = hu.len().min(out.len());
        let (slope, offset) = (_mm512_set1_ps(curve.slope), _mm512_set1_ps(curve.offset));
        let (zero, top) = (_mm512_set1_ps(0.0), _mm512_set1_ps(TOP));
        // SAFETY: each coefficient array holds 16 floats.
        let (c0, c1, c2) = unsafe {
            (
                _mm512_loadu_ps(curve.c0.as_ptr()),
                _mm512_loadu_ps(curve.c1.as_ptr()),
                _mm512_loadu_ps(curve.c2.as_ptr()),
            )
        };
        let mut i = 0;
        while i + 16 <= n {
            // SAFETY: i + 16 <= n <= hu.len() (32 bytes).
            let h = _mm512_cvtepi16_epi32(unsafe { _mm256_loadu_si256(hu.as_ptr().add(i).cast()) });
            let x = _mm512_fmadd_ps(_mm512_cvtepi32_ps(h), slope, offset);
            let t = _mm512_sqrt_ps(_mm512_min_ps(top, _mm512_max_ps(zero, x)));
            let k = _mm512_cvttps_epi32(t);
            let f = _mm512_sub_ps(t, _mm512_cvtepi32_ps(k));
            let (c0, c1, c2) = (
                _mm512_permutexvar_ps(k, c0),
                _mm512_permutexvar_ps(k, c1),
                _mm512_permutexvar_ps(k, c2),
            );
            let v = _mm512_fmadd_ps(f, _mm512_fmadd_ps(f, c2, c1), c0);
            // SAFETY: i + 16 <= n <= out.len().
            unsafe { _mm512_storeu_ps(out.as_mut_ptr().add(i), clamp01(v)) };
            i += 16;
        }
        i
    }
}

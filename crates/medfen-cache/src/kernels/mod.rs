//! The pixel loops of the augmentation: portable loops the compiler vectorises, and on
//! x86-64 AVX2 and AVX-512 copies chosen at run time by what the CPU has
//! ([`Isa::detect`]). All copies do the same IEEE operations in the same order, so they
//! give bit-identical results.

mod block;
mod gamma;
mod noise;

pub(crate) use block::{BLOCK, SliceBlock};
use gamma::GammaCurve;
pub(crate) use noise::{Noise, NoiseRun, PIECE};

/// Which copy of the loops to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Isa {
    /// AVX-512 (F and BW; AMD Zen 4 and later, Intel server CPUs since 2017): 16-wide
    /// noise and gamma (one permute per coefficient); everything else as [`Isa::Avx2`].
    Avx512,
    /// AVX2 with FMA (x86-64 CPUs since 2013-2015): explicit gathers for the bilinear
    /// taps, and 8-wide vectors for the rest.
    Avx2,
    /// The baseline target (SSE2 on x86-64).
    Baseline,
}

impl Isa {
    /// The best copy this CPU can run.
    pub(crate) fn detect() -> Self {
        Self::available()[0]
    }

    /// Every copy this CPU can run, best first (the tests compare them).
    pub(crate) fn available() -> Vec<Self> {
        let mut all = Vec::new();
        #[cfg(target_arch = "x86_64")]
        {
            use std::arch::is_x86_feature_detected as has;
            if has!("avx2") && has!("fma") {
                if has!("avx512f") && has!("avx512bw") {
                    all.push(Self::Avx512);
                }
                all.push(Self::Avx2);
            }
        }
        all.push(Self::Baseline);
        all
    }

    /// Whether the CPU has AVX2 and FMA (the AVX-512 level implies them).
    pub(crate) fn avx2(self) -> bool {
        matches!(self, Self::Avx2 | Self::Avx512)
    }
}

/// The map from HU to [0, 1] of one sample and channel: with `x = clamp((hu - lo) /
/// width, 0, 1)`, in medfen's order `clamp(curve(x) * scale + shift, 0, 1)`, where the
/// curve is the identity or a gamma (16 quadratic pieces: [`GammaCurve`]); in the
/// original pipeline's order ([`WindowMap::intensity_first`]) `clamp(x * scale + shift,
/// 1e-6, 1)^gamma`, or `x * scale + shift` unclamped until after the noise.
pub(crate) struct WindowMap {
    lo: f32,
    inv_width: f32,
    scale: f32,
    shift: f32,
    /// Whether a linear map clamps `x * scale + shift` before the noise is added (it
    /// is clamped after the noise either way).
    clamp_before_noise: bool,
    curve: Option<GammaCurve>,
}

impl WindowMap {
    pub(crate) fn new(level: f32, width: f32, scale: f32, shift: f32, gamma: f32) -> Self {
        Self {
            lo: level - width / 2.0,
            inv_width: 1.0 / width,
            scale,
            shift,
            clamp_before_noise: true,
            curve: ((gamma - 1.0).abs() > 1e-6)
                .then(|| GammaCurve::new((level - width / 2.0, width), gamma, scale, shift)),
        }
    }

    /// The map in the original pipeline's order: intensity scale and shift, then the
    /// gamma on values clamped to [1e-6, 1] (a scale is kept above 0.001).
    ///
    /// With a gamma, `clamp(x * scale + shift, 1e-6, 1)` is `clamp(u, low, high)` for
    /// the position `u = (hu - lo') / width'` in a window moved by the shift and
    /// narrowed by the scale (`x` is clamped to [0, 1] first, so `low = max(shift,
    /// 1e-6)` and `high = min(scale + shift, 1)`), so the gamma is the usual curve of
    /// that window, held at its values at `low` and `high`.
    pub(crate) fn intensity_first(
        level: f32,
        width: f32,
        scale: f32,
        shift: f32,
        gamma: f32,
    ) -> Self {
        let scale = scale.max(1e-3);
        let lo = level - width / 2.0;
        let curve = ((gamma - 1.0).abs() > 1e-6).then(|| {
            let (lo, width) = (lo - shift * width / scale, width / scale);
            let low = f64::from(shift).clamp(1e-6, 1.0);
            let high = f64::from(scale + shift).min(1.0).max(low);
            GammaCurve::new((lo, width), gamma, 1.0, 0.0).held((low, high))
        });
        Self {
            lo,
            inv_width: 1.0 / width,
            scale,
            shift,
            clamp_before_noise: false,
            curve,
        }
    }

    /// The value of one HU.
    pub(crate) fn value(&self, hu: i16) -> f32 {
        let mut out = [0f32];
        self.apply(Isa::Baseline, &[hu], &mut out);
        out[0]
    }

    /// `out[i] = map(hu[i])`.
    pub(crate) fn apply(&self, isa: Isa, hu: &[i16], out: &mut [f32]) {
        self.apply_with(isa, hu, out, Finish::Clamp);
    }

    /// `out[i] = map(hu[i])` with the draws of `noise` added, in one pass: the values
    /// of [`WindowMap::apply`] followed by [`NoiseRun::add`] (within 1e-4: a gamma's
    /// one clamp after the noise stands in for the two, see [`GammaCurve`]).
    ///
    /// # Panics
    /// When `noise` has fewer draws than values to map.
    pub(crate) fn apply_noisy(&self, isa: Isa, hu: &[i16], out: &mut [f32], noise: NoiseRun) {
        self.apply_with(isa, hu, out, Finish::Noise(noise));
    }

    /// [`WindowMap::apply`] without a gamma's final clamp to [0, 1] (its values lie
    /// within the pieces' error of [0, 1]; a linear map is clamped as by `apply` in
    /// medfen's order, and left unclamped in the original's), for values that are
    /// clamped later (after the affine and its noise).
    pub(crate) fn apply_raw(&self, isa: Isa, hu: &[i16], out: &mut [f32]) {
        self.apply_with(isa, hu, out, Finish::Raw);
    }

    fn apply_with(&self, isa: Isa, hu: &[i16], out: &mut [f32], finish: Finish) {
        let n = hu.len().min(out.len());
        let noise = match finish {
            Finish::Noise(noise) => {
                assert!(noise.draws.len() >= n, "a draw for every value");
                Some(noise)
            }
            Finish::Clamp | Finish::Raw => None,
        };
        // Whether a linear map clamps `x * scale + shift` now: always when nothing
        // follows; otherwise (noise, or an affine and then noise) as its order says.
        let clamp = matches!(finish, Finish::Clamp) || self.clamp_before_noise;
        #[allow(unsafe_code)]
        let done = match (isa, &self.curve) {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `Isa::Avx512` is only detected on CPUs with AVX-512 F and BW.
            (Isa::Avx512, Some(curve)) => unsafe { gamma::avx512::apply(curve, hu, out, finish) },
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `Isa::Avx2` is only detected on CPUs with AVX2 and FMA.
            (Isa::Avx2, Some(curve)) => unsafe { gamma::avx2::apply(curve, hu, out, finish) },
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `Isa::Avx2` and `Isa::Avx512` are only detected on CPUs with AVX2
            // and FMA.
            (Isa::Avx2 | Isa::Avx512, None) => unsafe { avx2::linear(self, hu, out, noise, clamp) },
            _ => 0,
        };
        let (hu, out) = (&hu[done..n], &mut out[done..n]);
        match (&self.curve, finish) {
            // The gamma's one clamp after the noise (see `GammaCurve`).
            (Some(curve), Finish::Noise(noise)) => {
                for ((o, &h), &t) in out.iter_mut().zip(hu).zip(&noise.draws[done..n]) {
                    *o = noise.at(t, curve.raw(h));
                }
            }
            (Some(curve), Finish::Clamp) => {
                for (o, &h) in out.iter_mut().zip(hu) {
                    *o = curve.at(h);
                }
            }
            (Some(curve), Finish::Raw) => {
                for (o, &h) in out.iter_mut().zip(hu) {
                    *o = curve.raw(h);
                }
            }
            (None, _) => {
                for (o, &h) in out.iter_mut().zip(hu) {
                    let v = ((f32::from(h) - self.lo) * self.inv_width).clamp(0.0, 1.0);
                    let v = v * self.scale + self.shift;
                    *o = if clamp { v.clamp(0.0, 1.0) } else { v };
                }
                if let Some(noise) = noise {
                    for (o, &t) in out.iter_mut().zip(&noise.draws[done..n]) {
                        *o = noise.at(t, *o);
                    }
                }
            }
        }
    }
}

/// How a map's values end: clamped to [0, 1], with noise added and then clamped, or
/// (a gamma's) left unclamped for a later clamp.
#[derive(Clone, Copy)]
pub(crate) enum Finish {
    Clamp,
    Noise(NoiseRun),
    Raw,
}

/// Bilinear taps of every output pixel into a plane padded by one pixel on each side
/// (so no tap is out of bounds): the top-left tap's index and the two weights.
#[derive(Default)]
pub(crate) struct Taps {
    pub(crate) index: Vec<u32>,
    pub(crate) wx: Vec<f32>,
    pub(crate) wy: Vec<f32>,
}

/// `out[i]` = the bilinear value of `plane` (rows of `pitch` values) at tap `i`:
/// `top + (bottom - top) * wy` with `top = a + (b - a) * wx`, likewise `bottom`.
///
/// # Panics
/// When `plane` holds less than two rows, or `taps` fewer entries than `out`.
pub(crate) fn bilinear(isa: Isa, plane: &[f32], pitch: usize, taps: &Taps, out: &mut [f32]) {
    // Indices are clamped to the last valid tap (valid taps never need it), which keeps
    // every read in bounds whatever the taps hold.
    assert!(plane.len() > 2 * pitch, "a plane of at least two rows");
    assert!(
        taps.index.len() >= out.len() && taps.wx.len() >= out.len() && taps.wy.len() >= out.len(),
        "a tap for every output value"
    );
    #[cfg(target_arch = "x86_64")]
    if isa.avx2() {
        // SAFETY: `Isa::Avx2` and `Isa::Avx512` are only detected on CPUs with AVX2.
        #[allow(unsafe_code)]
        unsafe {
            avx2::bilinear(plane, pitch, taps, out);
        }
        return;
    }
    let _ = isa;
    bilinear_portable(plane, pitch, (&taps.index, &taps.wx, &taps.wy), out);
}

/// [`bilinear`] with the taps as slices (the AVX2 copy does its tail with it).
#[inline]
fn bilinear_portable(
    plane: &[f32],
    pitch: usize,
    (index, wx, wy): (&[u32], &[f32], &[f32]),
    out: &mut [f32],
) {
    let len = plane.len() - pitch - 1;
    // Four views of one common length, so the clamp proves all four reads in bounds.
    let (a, b) = (&plane[..len], &plane[1..=len]);
    let (c, d) = (&plane[pitch..pitch + len], &plane[pitch + 1..=pitch + len]);
    for (((o, &i), &wx), &wy) in out.iter_mut().zip(index).zip(wx).zip(wy) {
        let i = (i as usize).min(len - 1);
        let top = (b[i] - a[i]).mul_add(wx, a[i]);
        let bottom = (d[i] - c[i]).mul_add(wx, c[i]);
        *o = (bottom - top).mul_add(wy, top);
    }
}

/// The AVX2 copies: the portable loops' operations in the same order, 8 lanes at a time.
#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)]
mod avx2 {
    use std::arch::x86_64::{
        __m256, __m256i, _mm_loadu_si128, _mm256_add_ps, _mm256_castsi256_ps,
        _mm256_castsi256_si128, _mm256_cvtepi16_epi32, _mm256_cvtepi32_ps,
        _mm256_extracti128_si256, _mm256_fmadd_ps, _mm256_i32gather_epi64, _mm256_loadu_ps,
        _mm256_loadu_si256, _mm256_max_ps, _mm256_min_epu32, _mm256_min_ps, _mm256_mul_ps,
        _mm256_permute4x64_epi64, _mm256_set1_epi32, _mm256_set1_ps, _mm256_shuffle_ps,
        _mm256_storeu_ps, _mm256_sub_ps,
    };

    use super::{NoiseRun, Taps, WindowMap};

    /// `clamp(x, 0, 1)` exactly as `f32::clamp` (`max(0, x)` keeps x when equal, then
    /// `min(1, x)` likewise).
    #[inline]
    #[target_feature(enable = "avx2")]
    pub(super) fn clamp01(x: __m256) -> __m256 {
        _mm256_min_ps(_mm256_set1_ps(1.0), _mm256_max_ps(_mm256_set1_ps(0.0), x))
    }

    /// The linear window, 8 values at a time, with the noise's draws added when there
    /// are any and `x * scale + shift` clamped before them when `clamp`; returns how many
    /// it did (the caller does the tail).
    #[target_feature(enable = "avx2,fma")]
    pub(super) fn linear(
        map: &WindowMap,
        hu: &[i16],
        out: &mut [f32],
        noise: Option<NoiseRun>,
        clamp: bool,
    ) -> usize {
        match (noise, clamp) {
            (Some(r), true) => linear_body::<true, true>(map, hu, out, r.draws, r.scale),
            (Some(r), false) => linear_body::<true, false>(map, hu, out, r.draws, r.scale),
            (None, true) => linear_body::<false, true>(map, hu, out, &[], 0.0),
            (None, false) => linear_body::<false, false>(map, hu, out, &[], 0.0),
        }
    }

    /// `linear`; `draws` holds a draw for every value when `NOISY`; `x * scale + shift`
    /// is clamped when `CLAMP`, and after the noise when `NOISY`.
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    fn linear_body<const NOISY: bool, const CLAMP: bool>(
        map: &WindowMap,
        hu: &[i16],
        out: &mut [f32],
        draws: &[i16],
        noise_scale: f32,
    ) -> usize {
        let n = hu.len().min(out.len());
        assert!(!NOISY || draws.len() >= n);
        let (lo, inv_width) = (_mm256_set1_ps(map.lo), _mm256_set1_ps(map.inv_width));
        let (scale, shift) = (_mm256_set1_ps(map.scale), _mm256_set1_ps(map.shift));
        let noise_scale = _mm256_set1_ps(noise_scale);
        let mut i = 0;
        while i + 8 <= n {
            // SAFETY: i + 8 <= n <= hu.len() (16 bytes), <= out.len() and, when NOISY,
            // <= draws.len().
            unsafe {
                let h = _mm256_cvtepi16_epi32(_mm_loadu_si128(hu.as_ptr().add(i).cast()));
                let v = clamp01(_mm256_mul_ps(
                    _mm256_sub_ps(_mm256_cvtepi32_ps(h), lo),
                    inv_width,
                ));
                let mut v = _mm256_add_ps(_mm256_mul_ps(v, scale), shift);
                if CLAMP {
                    v = clamp01(v);
                }
                if NOISY {
                    let t = super::noise::avx2::load_draws(draws.as_ptr().add(i));
                    v = clamp01(_mm256_fmadd_ps(t, noise_scale, v));
                }
                _mm256_storeu_ps(out.as_mut_ptr().add(i), v);
            }
            i += 8;
        }
        i
    }

    /// The bilinear taps, four 4-pair gathers per 8 values (tail by the portable loop). The
    /// caller checked that `plane` has two rows and `taps` an entry per output.
    #[target_feature(enable = "avx2,fma")]
    pub(super) fn bilinear(plane: &[f32], pitch: usize, taps: &Taps, out: &mut [f32]) {
        let len = plane.len() - pitch - 1;
        let n = out.len();
        let last = _mm256_set1_epi32((len - 1).min(i32::MAX as usize) as i32);
        let p = plane.as_ptr();
        let mut i = 0;
        while i + 8 <= n {
            // SAFETY: i + 8 <= n <= each tap vector's length; indices are clamped to
            // len - 1, so index + pitch + 1 < plane.len() for every gather.
            unsafe {
                let idx: __m256i = _mm256_loadu_si256(taps.index.as_ptr().add(i).cast());
                // Taps 0 1 4 5 | 2 3 6 7, so that the pair gathers below, de-interleaved
                // within 128-bit halves, come out in order 0..8.
                let idx = _mm256_permute4x64_epi64::<0xD8>(_mm256_min_epu32(idx, last));
                let (lo, hi) = (
                    _mm256_castsi256_si128(idx),
                    _mm256_extracti128_si256::<1>(idx),
                );
                // Each 64-bit gather reads a tap and its right neighbour (gathers need
                // no alignment).
                #[allow(clippy::cast_ptr_alignment)]
                let top = p.cast::<i64>();
                #[allow(clippy::cast_ptr_alignment)]
                let bottom = p.add(pitch).cast::<i64>();
                let ab0 = _mm256_castsi256_ps(_mm256_i32gather_epi64::<4>(top, lo));
                let ab1 = _mm256_castsi256_ps(_mm256_i32gather_epi64::<4>(top, hi));
                let cd0 = _mm256_castsi256_ps(_mm256_i32gather_epi64::<4>(bottom, lo));
                let cd1 = _mm256_castsi256_ps(_mm256_i32gather_epi64::<4>(bottom, hi));
                let (a, b) = (
                    _mm256_shuffle_ps::<0x88>(ab0, ab1),
                    _mm256_shuffle_ps::<0xDD>(ab0, ab1),
                );
                let (c, d) = (
                    _mm256_shuffle_ps::<0x88>(cd0, cd1),
                    _mm256_shuffle_ps::<0xDD>(cd0, cd1),
                );
                let wx = _mm256_loadu_ps(taps.wx.as_ptr().add(i));
                let wy = _mm256_loadu_ps(taps.wy.as_ptr().add(i));
                let top = _mm256_fmadd_ps(_mm256_sub_ps(b, a), wx, a);
                let bottom = _mm256_fmadd_ps(_mm256_sub_ps(d, c), wx, c);
                let v = _mm256_fmadd_ps(_mm256_sub_ps(bottom, top), wy, top);
                _mm256_storeu_ps(out.as_mut_ptr().add(i), v);
            }
            i += 8;
        }
        super::bilinear_portable(
            plane,
            pitch,
            (&taps.index[i..], &taps.wx[i..], &taps.wy[i..]),
            &mut out[i..],
        );
    }
}

/// A 64-bit mix (SplitMix64's finaliser): the noise key of one slice.
pub(crate) fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

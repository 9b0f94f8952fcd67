//! The pixel loops of the augmentation: portable loops the compiler vectorises, and on
//! x86-64 AVX2 and AVX-512 copies chosen at run time by what the CPU has
//! ([`Isa::detect`]). All copies do the same IEEE operations in the same order, so they
//! give bit-identical results.

mod block;
mod gamma;

pub(crate) use block::{BLOCK, PIECE, SliceBlock};
use gamma::GammaCurve;

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

/// The map from HU to [0, 1] of one sample and channel:
/// `clamp(curve(clamp((hu - lo) / width, 0, 1)) * scale + shift, 0, 1)`, where the
/// curve is the identity or a gamma (16 quadratic pieces: [`GammaCurve`]).
pub(crate) struct WindowMap {
    lo: f32,
    inv_width: f32,
    scale: f32,
    shift: f32,
    curve: Option<GammaCurve>,
}

impl WindowMap {
    pub(crate) fn new(level: f32, width: f32, scale: f32, shift: f32, gamma: f32) -> Self {
        Self {
            lo: level - width / 2.0,
            inv_width: 1.0 / width,
            scale,
            shift,
            curve: ((gamma - 1.0).abs() > 1e-6)
                .then(|| GammaCurve::new((level - width / 2.0, width), gamma, scale, shift)),
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
        let n = hu.len().min(out.len());
        #[allow(unsafe_code)]
        let done = match (isa, &self.curve) {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `Isa::Avx512` is only detected on CPUs with AVX-512 F and BW.
            (Isa::Avx512, Some(curve)) => unsafe { gamma::avx512::apply(curve, hu, out) },
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `Isa::Avx2` is only detected on CPUs with AVX2.
            (Isa::Avx2, Some(curve)) => unsafe { gamma::avx2::apply(curve, hu, out) },
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `Isa::Avx2` and `Isa::Avx512` are only detected on CPUs with AVX2.
            (Isa::Avx2 | Isa::Avx512, None) => unsafe { avx2::linear(self, hu, out) },
            _ => 0,
        };
        self.apply_portable(&hu[done..n], &mut out[done..n]);
    }

    #[inline]
    fn apply_portable(&self, hu: &[i16], out: &mut [f32]) {
        if let Some(curve) = &self.curve {
            for (o, &h) in out.iter_mut().zip(hu) {
                *o = curve.at(h);
            }
            return;
        }
        for (o, &h) in out.iter_mut().zip(hu) {
            let v = ((f32::from(h) - self.lo) * self.inv_width).clamp(0.0, 1.0);
            *o = (v * self.scale + self.shift).clamp(0.0, 1.0);
        }
    }
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

/// Lanes of the noise generator (pixel `i` draws from lane `i % NOISE_LANES`).
pub(crate) const NOISE_LANES: usize = 64;

/// Standard deviation of a sum of four uniform bytes (Irwin-Hall, n = 4, on 0..=255).
const BYTE_SUM_SD: f32 = 147.801_21;

/// The noise stream of one slice: noise of standard deviation `std`, added to the
/// slice's values (clamped to [0, 1]).
///
/// Each draw is the sum of the four bytes of a 32-bit random word, centred and scaled
/// (Irwin-Hall with n = 4: bell-shaped, mean 0, the requested standard deviation,
/// bounded at ±3.45 sd) - no table lookups, so it vectorises without gathers. The words
/// come from [`NOISE_LANES`] xorshift32 generators seeded from the key. The slice may
/// be taken a piece at a time: pieces whose lengths are multiples of [`NOISE_LANES`]
/// (all but the last) get the values the whole slice would.
#[derive(Clone)]
pub(crate) struct Noise {
    lanes: [u32; NOISE_LANES],
    scale: f32,
}

impl Noise {
    /// The stream of standard deviation `std` and key `key`.
    pub(crate) fn new(std: f32, key: u64) -> Self {
        #[allow(clippy::cast_possible_truncation)]
        let (k0, k1) = (key as u32, (key >> 32) as u32);
        let mut lanes = [0u32; NOISE_LANES];
        for (l, s) in (0u32..).zip(lanes.iter_mut()) {
            *s = mix32(mix32(l ^ k0) ^ k1).max(1);
        }
        Self {
            lanes,
            scale: std / BYTE_SUM_SD,
        }
    }

    /// Adds the next `values.len()` draws to `values` (clamped to [0, 1]).
    pub(crate) fn add(&mut self, isa: Isa, values: &mut [f32]) {
        let Self { lanes, scale } = self;
        let scale = *scale;
        let done = match isa {
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => {
                // SAFETY: `Isa::Avx512` is only detected on CPUs with AVX-512 F and BW.
                #[allow(unsafe_code)]
                unsafe {
                    avx512::add_noise(values, scale, lanes)
                }
            }
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => {
                // SAFETY: `Isa::Avx2` is only detected on CPUs with AVX2.
                #[allow(unsafe_code)]
                unsafe {
                    avx2::add_noise(values, scale, lanes)
                }
            }
            _ => 0,
        };
        for chunk in values[done..].chunks_mut(NOISE_LANES) {
            for (v, s) in chunk.iter_mut().zip(lanes.iter_mut()) {
                *s = xorshift32(*s);
                *v = byte_sum_centred(*s).mul_add(scale, *v).clamp(0.0, 1.0);
            }
        }
    }
}

#[inline]
fn xorshift32(mut x: u32) -> u32 {
    x ^= x << 13;
    x ^= x >> 17;
    x ^ (x << 5)
}

/// The sum of the four bytes of `x`, minus its mean 510.
#[inline]
fn byte_sum_centred(x: u32) -> f32 {
    let sum = (x & 0xff) + ((x >> 8) & 0xff) + ((x >> 16) & 0xff) + (x >> 24);
    #[allow(clippy::cast_possible_wrap, clippy::cast_precision_loss)]
    let centred = (sum as i32 - 510) as f32;
    centred
}

/// The AVX2 copies: the portable loops' operations in the same order, 8 lanes at a time.
#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)]
mod avx2 {
    use std::arch::x86_64::{
        __m256, __m256i, _mm_loadu_si128, _mm256_add_ps, _mm256_castsi256_ps,
        _mm256_castsi256_si128, _mm256_cvtepi16_epi32, _mm256_cvtepi32_ps,
        _mm256_extracti128_si256, _mm256_fmadd_ps, _mm256_i32gather_epi64, _mm256_loadu_ps,
        _mm256_loadu_si256, _mm256_madd_epi16, _mm256_maddubs_epi16, _mm256_max_ps,
        _mm256_min_epu32, _mm256_min_ps, _mm256_mul_ps, _mm256_permute4x64_epi64, _mm256_set1_epi8,
        _mm256_set1_epi16, _mm256_set1_epi32, _mm256_set1_ps, _mm256_setzero_si256,
        _mm256_shuffle_ps, _mm256_slli_epi32, _mm256_srli_epi32, _mm256_storeu_ps,
        _mm256_storeu_si256, _mm256_sub_epi32, _mm256_sub_ps, _mm256_xor_si256,
    };

    use super::{NOISE_LANES, Taps, WindowMap};

    /// `clamp(x, 0, 1)` exactly as `f32::clamp` (`max(0, x)` keeps x when equal, then
    /// `min(1, x)` likewise).
    #[inline]
    #[target_feature(enable = "avx2")]
    pub(super) fn clamp01(x: __m256) -> __m256 {
        _mm256_min_ps(_mm256_set1_ps(1.0), _mm256_max_ps(_mm256_set1_ps(0.0), x))
    }

    /// The linear window, 8 values at a time; returns how many it did (the caller does
    /// the tail).
    #[target_feature(enable = "avx2")]
    pub(super) fn linear(map: &WindowMap, hu: &[i16], out: &mut [f32]) -> usize {
        let n = hu.len().min(out.len());
        let (lo, inv_width) = (_mm256_set1_ps(map.lo), _mm256_set1_ps(map.inv_width));
        let (scale, shift) = (_mm256_set1_ps(map.scale), _mm256_set1_ps(map.shift));
        let mut i = 0;
        while i + 8 <= n {
            // SAFETY: i + 8 <= n <= hu.len() (16 bytes) and <= out.len().
            let h = unsafe { _mm_loadu_si128(hu.as_ptr().add(i).cast()) };
            let h = _mm256_cvtepi16_epi32(h);
            let v = clamp01(_mm256_mul_ps(
                _mm256_sub_ps(_mm256_cvtepi32_ps(h), lo),
                inv_width,
            ));
            let v = clamp01(_mm256_add_ps(_mm256_mul_ps(v, scale), shift));
            // SAFETY: as above.
            unsafe { _mm256_storeu_ps(out.as_mut_ptr().add(i), v) };
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
        #[allow(clippy::cast_possible_truncation, clippy::cast_possible_wrap)]
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

    /// `xorshift32` on 8 lanes.
    #[inline]
    #[target_feature(enable = "avx2")]
    fn xorshift32(x: __m256i) -> __m256i {
        let x = _mm256_xor_si256(x, _mm256_slli_epi32::<13>(x));
        let x = _mm256_xor_si256(x, _mm256_srli_epi32::<17>(x));
        _mm256_xor_si256(x, _mm256_slli_epi32::<5>(x))
    }

    /// `byte_sum_centred` on 8 lanes: bytes summed in pairs, then pairs of pairs.
    #[inline]
    #[target_feature(enable = "avx2")]
    fn byte_sum_centred(x: __m256i) -> __m256 {
        let pairs = _mm256_maddubs_epi16(x, _mm256_set1_epi8(1));
        let sum = _mm256_madd_epi16(pairs, _mm256_set1_epi16(1));
        _mm256_cvtepi32_ps(_mm256_sub_epi32(sum, _mm256_set1_epi32(510)))
    }

    /// The noise of `add_noise` for the whole multiples of `NOISE_LANES` values,
    /// advancing `lanes`; returns how many values it did.
    #[target_feature(enable = "avx2,fma")]
    pub(super) fn add_noise(
        values: &mut [f32],
        scale: f32,
        lanes: &mut [u32; NOISE_LANES],
    ) -> usize {
        let n = values.len();
        let scale = _mm256_set1_ps(scale);
        // One vector per 8 lanes: independent generators, so the loop is not bound by
        // the latency of one xorshift chain.
        let mut state = [_mm256_setzero_si256(); NOISE_LANES / 8];
        for (v, s) in state.iter_mut().enumerate() {
            // SAFETY: 8 * v + 8 <= NOISE_LANES = lanes.len().
            *s = unsafe { _mm256_loadu_si256(lanes.as_ptr().add(8 * v).cast()) };
        }
        let mut i = 0;
        while i + NOISE_LANES <= n {
            for (v, s) in state.iter_mut().enumerate() {
                *s = xorshift32(*s);
                // SAFETY: i + 8 * v + 8 <= i + NOISE_LANES <= n = values.len().
                unsafe {
                    let p = values.as_mut_ptr().add(i + 8 * v);
                    let x = _mm256_loadu_ps(p);
                    let x = clamp01(_mm256_fmadd_ps(byte_sum_centred(*s), scale, x));
                    _mm256_storeu_ps(p, x);
                }
            }
            i += NOISE_LANES;
        }
        for (v, s) in state.iter().enumerate() {
            // SAFETY: as above.
            unsafe { _mm256_storeu_si256(lanes.as_mut_ptr().add(8 * v).cast(), *s) };
        }
        i
    }
}

/// The AVX-512 copies: the AVX2 copies' operations, 16 lanes at a time.
#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)]
mod avx512 {
    use std::arch::x86_64::{
        __m512, __m512i, _mm512_cvtepi32_ps, _mm512_fmadd_ps, _mm512_loadu_ps, _mm512_loadu_si512,
        _mm512_madd_epi16, _mm512_maddubs_epi16, _mm512_max_ps, _mm512_min_ps, _mm512_set1_epi8,
        _mm512_set1_epi16, _mm512_set1_epi32, _mm512_set1_ps, _mm512_setzero_si512,
        _mm512_slli_epi32, _mm512_srli_epi32, _mm512_storeu_ps, _mm512_storeu_si512,
        _mm512_sub_epi32, _mm512_xor_si512,
    };

    use super::NOISE_LANES;

    /// `clamp(x, 0, 1)` as `f32::clamp` (see the AVX2 copy).
    #[inline]
    #[target_feature(enable = "avx512f")]
    pub(super) fn clamp01(x: __m512) -> __m512 {
        _mm512_min_ps(_mm512_set1_ps(1.0), _mm512_max_ps(_mm512_set1_ps(0.0), x))
    }

    /// `xorshift32` on 16 lanes.
    #[inline]
    #[target_feature(enable = "avx512f")]
    fn xorshift32(x: __m512i) -> __m512i {
        let x = _mm512_xor_si512(x, _mm512_slli_epi32::<13>(x));
        let x = _mm512_xor_si512(x, _mm512_srli_epi32::<17>(x));
        _mm512_xor_si512(x, _mm512_slli_epi32::<5>(x))
    }

    /// The AVX2 `add_noise` with the 16 lanes in one vector.
    #[target_feature(enable = "avx512f,avx512bw")]
    pub(super) fn add_noise(
        values: &mut [f32],
        scale: f32,
        lanes: &mut [u32; NOISE_LANES],
    ) -> usize {
        let n = values.len();
        let scale = _mm512_set1_ps(scale);
        let mut state = [_mm512_setzero_si512(); NOISE_LANES / 16];
        for (v, s) in state.iter_mut().enumerate() {
            // SAFETY: 16 * v + 16 <= NOISE_LANES = lanes.len().
            *s = unsafe { _mm512_loadu_si512(lanes.as_ptr().add(16 * v).cast()) };
        }
        let mut i = 0;
        while i + NOISE_LANES <= n {
            for (v, s) in state.iter_mut().enumerate() {
                *s = xorshift32(*s);
                let pairs = _mm512_maddubs_epi16(*s, _mm512_set1_epi8(1));
                let sum = _mm512_madd_epi16(pairs, _mm512_set1_epi16(1));
                let centred = _mm512_cvtepi32_ps(_mm512_sub_epi32(sum, _mm512_set1_epi32(510)));
                // SAFETY: i + 16 * v + 16 <= i + NOISE_LANES <= n = values.len().
                unsafe {
                    let p = values.as_mut_ptr().add(i + 16 * v);
                    let x = _mm512_loadu_ps(p);
                    _mm512_storeu_ps(p, clamp01(_mm512_fmadd_ps(centred, scale, x)));
                }
            }
            i += NOISE_LANES;
        }
        for (v, s) in state.iter().enumerate() {
            // SAFETY: as above.
            unsafe { _mm512_storeu_si512(lanes.as_mut_ptr().add(16 * v).cast(), *s) };
        }
        i
    }
}

/// A 32-bit integer hash with good avalanche (Wellons' "lowbias32").
#[inline]
fn mix32(mut x: u32) -> u32 {
    x ^= x >> 16;
    x = x.wrapping_mul(0x7feb_352d);
    x ^= x >> 15;
    x = x.wrapping_mul(0x846c_a68b);
    x ^ (x >> 16)
}

/// A 64-bit mix (SplitMix64's finaliser): the noise key of one slice.
pub(crate) fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

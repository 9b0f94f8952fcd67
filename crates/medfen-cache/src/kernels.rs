//! The pixel loops of the augmentation: portable loops the compiler vectorises, and on
//! x86-64 an AVX2 copy (explicit gathers for table lookups and bilinear taps) chosen at
//! run time when the CPU has it ([`Isa::detect`]). Both copies do the same IEEE
//! operations in the same order, so they give bit-identical results.

/// Which copy of the loops to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Isa {
    /// AVX2 (x86-64 CPUs since 2013-2015): explicit gathers for the table lookups and
    /// the bilinear taps, and 8-wide vectors for the rest.
    Avx2,
    /// The baseline target (SSE2 on x86-64).
    Baseline,
}

impl Isa {
    /// The best copy this CPU can run.
    pub(crate) fn detect() -> Self {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            return Self::Avx2;
        }
        Self::Baseline
    }
}

/// The map from HU to [0, 1] of one sample and channel:
/// `clamp(curve(clamp((hu - lo) / width, 0, 1)) * scale + shift, 0, 1)`, where the
/// curve is the identity (computed directly) or a gamma (through a table over the HU
/// of the window - HU outside it take the end values - one gather per 8 values, cheaper
/// than evaluating the power; the table is small enough to stay in the L1 cache).
pub(crate) struct WindowMap {
    lo: f32,
    inv_width: f32,
    scale: f32,
    shift: f32,
    table: Option<GammaTable>,
}

/// The map's value for every HU from `first` (`values` is never empty).
pub(crate) struct GammaTable {
    first: i32,
    values: Vec<f32>,
}

impl GammaTable {
    #[inline]
    fn index(&self, hu: i16) -> usize {
        #[allow(
            clippy::cast_sign_loss,
            clippy::cast_possible_truncation,
            clippy::cast_possible_wrap
        )]
        let i = (i32::from(hu) - self.first).clamp(0, self.values.len() as i32 - 1) as usize;
        i
    }
}

impl WindowMap {
    pub(crate) fn new(level: f32, width: f32, scale: f32, shift: f32, gamma: f32) -> Self {
        let lo = level - width / 2.0;
        let inv_width = 1.0 / width;
        let table = ((gamma - 1.0).abs() > 1e-6).then(|| {
            // From the last HU at or below `lo` (value 0) to the first at or above
            // `lo + width` (value 1); HU beyond take these end values.
            #[allow(clippy::cast_possible_truncation)]
            let (first, last) = (
                (lo.floor() as i32).clamp(-32768, 32767),
                ((lo + width).ceil() as i32).clamp(-32768, 32767),
            );
            let values = (first..=last.max(first))
                .map(|hu| {
                    #[allow(clippy::cast_precision_loss)]
                    let v = ((hu as f32 - lo) * inv_width).clamp(0.0, 1.0).powf(gamma);
                    (v * scale + shift).clamp(0.0, 1.0)
                })
                .collect();
            GammaTable { first, values }
        });
        Self {
            lo,
            inv_width,
            scale,
            shift,
            table,
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
        #[cfg(target_arch = "x86_64")]
        if isa == Isa::Avx2 {
            // SAFETY: `Isa::Avx2` is only detected on CPUs with AVX2.
            #[allow(unsafe_code)]
            unsafe {
                match &self.table {
                    Some(table) => avx2::lookup(table, hu, out),
                    None => avx2::linear(self, hu, out),
                }
            }
            return;
        }
        let _ = isa;
        self.apply_portable(hu, out);
    }

    #[inline]
    fn apply_portable(&self, hu: &[i16], out: &mut [f32]) {
        if let Some(table) = &self.table {
            for (o, &h) in out.iter_mut().zip(hu) {
                *o = table.values[table.index(h)];
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
    if isa == Isa::Avx2 {
        // SAFETY: `Isa::Avx2` is only detected on CPUs with AVX2.
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
        let top = a[i] + (b[i] - a[i]) * wx;
        let bottom = c[i] + (d[i] - c[i]) * wx;
        *o = top + (bottom - top) * wy;
    }
}

/// Lanes of the noise generator (pixel `i` draws from lane `i % NOISE_LANES`).
pub(crate) const NOISE_LANES: usize = 16;

/// Standard deviation of a sum of four uniform bytes (Irwin-Hall, n = 4, on 0..=255).
const BYTE_SUM_SD: f32 = 147.801_21;

/// Adds noise of standard deviation `std` to every value (clamped to [0, 1]).
///
/// Each draw is the sum of the four bytes of a 32-bit random word, centred and scaled
/// (Irwin-Hall with n = 4: bell-shaped, mean 0, the requested standard deviation,
/// bounded at ±3.45 sd) - no table lookups, so it vectorises without gathers. The words
/// come from [`NOISE_LANES`] xorshift32 generators seeded from `key`.
pub(crate) fn add_noise(isa: Isa, values: &mut [f32], std: f32, key: u64) {
    #[allow(clippy::cast_possible_truncation)]
    let (k0, k1) = (key as u32, (key >> 32) as u32);
    let mut lanes = [0u32; NOISE_LANES];
    for (l, s) in (0u32..).zip(lanes.iter_mut()) {
        *s = mix32(mix32(l ^ k0) ^ k1).max(1);
    }
    let scale = std / BYTE_SUM_SD;
    let done = match isa {
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 => {
            // SAFETY: `Isa::Avx2` is only detected on CPUs with AVX2.
            #[allow(unsafe_code)]
            unsafe {
                avx2::add_noise(values, scale, &mut lanes)
            }
        }
        _ => 0,
    };
    for chunk in values[done..].chunks_mut(NOISE_LANES) {
        for (v, s) in chunk.iter_mut().zip(lanes.iter_mut()) {
            *s = xorshift32(*s);
            *v = (*v + scale * byte_sum_centred(*s)).clamp(0.0, 1.0);
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
        _mm256_extracti128_si256, _mm256_i32gather_epi64, _mm256_i32gather_ps, _mm256_loadu_ps,
        _mm256_loadu_si256, _mm256_madd_epi16, _mm256_maddubs_epi16, _mm256_max_epi32,
        _mm256_max_ps, _mm256_min_epi32, _mm256_min_epu32, _mm256_min_ps, _mm256_mul_ps,
        _mm256_permute4x64_epi64, _mm256_set1_epi8, _mm256_set1_epi16, _mm256_set1_epi32,
        _mm256_set1_ps, _mm256_setzero_si256, _mm256_shuffle_ps, _mm256_slli_epi32,
        _mm256_srli_epi32, _mm256_storeu_ps, _mm256_storeu_si256, _mm256_sub_epi32, _mm256_sub_ps,
        _mm256_xor_si256,
    };

    use super::{GammaTable, NOISE_LANES, Taps, WindowMap};

    /// `clamp(x, 0, 1)` exactly as `f32::clamp` (`max(0, x)` keeps x when equal, then
    /// `min(1, x)` likewise).
    #[inline]
    #[target_feature(enable = "avx2")]
    fn clamp01(x: __m256) -> __m256 {
        _mm256_min_ps(_mm256_set1_ps(1.0), _mm256_max_ps(_mm256_set1_ps(0.0), x))
    }

    /// The linear window, 8 values at a time (tail by the portable loop).
    #[target_feature(enable = "avx2")]
    pub(super) fn linear(map: &WindowMap, hu: &[i16], out: &mut [f32]) {
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
        map.apply_portable(&hu[i..n], &mut out[i..n]);
    }

    /// The table lookup, 8 gathers at a time (tail by the portable loop).
    #[target_feature(enable = "avx2")]
    pub(super) fn lookup(table: &GammaTable, hu: &[i16], out: &mut [f32]) {
        let n = hu.len().min(out.len());
        #[allow(clippy::cast_possible_truncation, clippy::cast_possible_wrap)]
        let last = _mm256_set1_epi32(table.values.len() as i32 - 1);
        let (zero, first) = (_mm256_setzero_si256(), _mm256_set1_epi32(table.first));
        let mut i = 0;
        while i + 8 <= n {
            // SAFETY: i + 8 <= n <= hu.len() (16 bytes) and <= out.len(); the indices are
            // clamped to 0..values.len().
            unsafe {
                let h = _mm256_cvtepi16_epi32(_mm_loadu_si128(hu.as_ptr().add(i).cast()));
                let idx =
                    _mm256_min_epi32(_mm256_max_epi32(_mm256_sub_epi32(h, first), zero), last);
                let v = _mm256_i32gather_ps::<4>(table.values.as_ptr(), idx);
                _mm256_storeu_ps(out.as_mut_ptr().add(i), v);
            }
            i += 8;
        }
        for (o, &h) in out[i..n].iter_mut().zip(&hu[i..n]) {
            *o = table.values[table.index(h)];
        }
    }

    /// The bilinear taps, four 4-pair gathers per 8 values (tail by the portable loop). The
    /// caller checked that `plane` has two rows and `taps` an entry per output.
    #[target_feature(enable = "avx2")]
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
                let top = _mm256_add_ps(a, _mm256_mul_ps(_mm256_sub_ps(b, a), wx));
                let bottom = _mm256_add_ps(c, _mm256_mul_ps(_mm256_sub_ps(d, c), wx));
                let v = _mm256_add_ps(top, _mm256_mul_ps(_mm256_sub_ps(bottom, top), wy));
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
    #[target_feature(enable = "avx2")]
    pub(super) fn add_noise(
        values: &mut [f32],
        scale: f32,
        lanes: &mut [u32; NOISE_LANES],
    ) -> usize {
        let n = values.len();
        let scale = _mm256_set1_ps(scale);
        // SAFETY: `lanes` holds 16 u32 (two 32-byte vectors).
        let (mut s0, mut s1) = unsafe {
            (
                _mm256_loadu_si256(lanes.as_ptr().cast()),
                _mm256_loadu_si256(lanes.as_ptr().add(8).cast()),
            )
        };
        let mut i = 0;
        while i + NOISE_LANES <= n {
            s0 = xorshift32(s0);
            s1 = xorshift32(s1);
            // SAFETY: i + 16 <= n = values.len().
            unsafe {
                let p = values.as_mut_ptr().add(i);
                let x = _mm256_loadu_ps(p);
                let y = _mm256_loadu_ps(p.add(8));
                let x = clamp01(_mm256_add_ps(x, _mm256_mul_ps(scale, byte_sum_centred(s0))));
                let y = clamp01(_mm256_add_ps(y, _mm256_mul_ps(scale, byte_sum_centred(s1))));
                _mm256_storeu_ps(p, x);
                _mm256_storeu_ps(p.add(8), y);
            }
            i += NOISE_LANES;
        }
        // SAFETY: as above.
        unsafe {
            _mm256_storeu_si256(lanes.as_mut_ptr().cast(), s0);
            _mm256_storeu_si256(lanes.as_mut_ptr().add(8).cast(), s1);
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

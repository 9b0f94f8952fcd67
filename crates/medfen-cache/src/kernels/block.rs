//! The affine of eight slices at once. The eight windowed slices are interleaved pixel
//! by pixel into one padded plane, so each bilinear tap of the eight is one contiguous
//! 8-float load instead of a gather per slice; the results are transposed back into
//! slice planes. Every value goes through the same operations as in the one-slice loops
//! ([`super::bilinear`]), so the results are bit-identical to them.

use super::{Isa, Noise, PIECE, Taps, WindowMap};

/// Slices per block.
pub(crate) const BLOCK: usize = 8;

/// The interleaved plane of a block and its row buffer, reused across samples.
#[derive(Default)]
pub(crate) struct SliceBlock {
    /// `[(s + 2) * (s + 2), BLOCK]`: the windowed slices, one pixel of padding around.
    plane: Vec<f32>,
    /// `[BLOCK, s]`: one windowed row of each slice.
    rows: Vec<f32>,
}

impl SliceBlock {
    /// Windows the [`BLOCK`] slices of `hu` (`[BLOCK, s, s]`) through `window` (the
    /// padding is `pad`, through the window), resamples them at `taps` into `out`
    /// (`[BLOCK, s, s]`), adds each slice's `noise`, if any, and clamps to [0, 1] (the
    /// window's values are left unclamped for it: [`WindowMap::apply_raw`]).
    /// Returns false, doing nothing, when `isa` has no vector copy of this loop (the
    /// caller then takes the slices one by one).
    ///
    /// # Panics
    /// When `hu` or `out` do not hold `BLOCK * s * s` values, or `taps` fewer than
    /// `s * s` taps.
    pub(crate) fn window_bilinear(
        &mut self,
        isa: Isa,
        (window, pad): (&WindowMap, f32),
        (hu, s): (&[i16], usize),
        taps: &Taps,
        out: &mut [f32],
        noise: Option<&[Noise; BLOCK]>,
    ) -> bool {
        #[cfg(target_arch = "x86_64")]
        if isa.avx2() {
            let (plane, p) = (s * s, s + 2);
            assert_eq!(hu.len(), BLOCK * plane, "a block of slices");
            assert_eq!(out.len(), BLOCK * plane, "an output block");
            assert!(
                s > 0
                    && taps.index.len() >= plane
                    && taps.wx.len() >= plane
                    && taps.wy.len() >= plane,
                "a tap for every output pixel"
            );
            // Cache-line aligned, so that no 8-float load of a pixel straddles two lines.
            let block_plane = aligned(&mut self.plane, p * p * BLOCK);
            self.rows.resize(BLOCK * s, 0.0);
            // The border: first and last rows, first and last columns.
            let row = p * BLOCK;
            block_plane[..row].fill(pad);
            block_plane[(p - 1) * row..].fill(pad);
            for y in 1..=s {
                block_plane[y * row..y * row + BLOCK].fill(pad);
                block_plane[(y + 1) * row - BLOCK..(y + 1) * row].fill(pad);
            }
            for y in 0..s {
                for (j, dst) in self.rows.chunks_exact_mut(s).enumerate() {
                    let at = j * plane + y * s;
                    window.apply_raw(isa, &hu[at..at + s], dst);
                }
                let at = (y + 1) * row + BLOCK;
                // SAFETY: `Isa::Avx2` and `Isa::Avx512` are only detected on CPUs with AVX2.
                #[allow(unsafe_code)]
                unsafe {
                    avx2::interleave(&self.rows, s, &mut block_plane[at..at + s * BLOCK]);
                }
            }
            for from in (0..plane).step_by(PIECE) {
                let to = (from + PIECE).min(plane);
                // SAFETY: as above.
                #[allow(unsafe_code)]
                unsafe {
                    avx2::bilinear(block_plane, p, taps, from..to, out);
                }
                // The noise, and the clamp the window left for after the affine.
                for (j, o) in out.chunks_exact_mut(plane).enumerate() {
                    let noise = noise.map_or(Noise::none(), |noise| noise[j]);
                    noise.add(isa, from, &mut o[from..to]);
                }
            }
            return true;
        }
        let _ = (isa, window, pad, hu, s, taps, out, noise);
        false
    }
}

/// `len` values of `buffer` starting on a 64-byte boundary (the buffer grows as needed).
fn aligned(buffer: &mut Vec<f32>, len: usize) -> &mut [f32] {
    buffer.resize(len + 15, 0.0);
    let skip = buffer.as_ptr().align_offset(64).min(15);
    &mut buffer[skip..skip + len]
}

#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)]
mod avx2 {
    use std::arch::x86_64::{
        __m256, _mm256_fmadd_ps, _mm256_loadu_ps, _mm256_permute2f128_ps, _mm256_set1_ps,
        _mm256_setzero_ps, _mm256_shuffle_ps, _mm256_storeu_ps, _mm256_sub_ps, _mm256_unpackhi_ps,
        _mm256_unpacklo_ps,
    };

    use super::{BLOCK, Taps};

    /// Transposes 8 x 8 floats.
    #[inline]
    #[target_feature(enable = "avx2")]
    fn transpose(r: &mut [__m256; 8]) {
        let t0 = _mm256_unpacklo_ps(r[0], r[1]);
        let t1 = _mm256_unpackhi_ps(r[0], r[1]);
        let t2 = _mm256_unpacklo_ps(r[2], r[3]);
        let t3 = _mm256_unpackhi_ps(r[2], r[3]);
        let t4 = _mm256_unpacklo_ps(r[4], r[5]);
        let t5 = _mm256_unpackhi_ps(r[4], r[5]);
        let t6 = _mm256_unpacklo_ps(r[6], r[7]);
        let t7 = _mm256_unpackhi_ps(r[6], r[7]);
        let u0 = _mm256_shuffle_ps::<0x44>(t0, t2);
        let u1 = _mm256_shuffle_ps::<0xEE>(t0, t2);
        let u2 = _mm256_shuffle_ps::<0x44>(t1, t3);
        let u3 = _mm256_shuffle_ps::<0xEE>(t1, t3);
        let u4 = _mm256_shuffle_ps::<0x44>(t4, t6);
        let u5 = _mm256_shuffle_ps::<0xEE>(t4, t6);
        let u6 = _mm256_shuffle_ps::<0x44>(t5, t7);
        let u7 = _mm256_shuffle_ps::<0xEE>(t5, t7);
        r[0] = _mm256_permute2f128_ps::<0x20>(u0, u4);
        r[1] = _mm256_permute2f128_ps::<0x20>(u1, u5);
        r[2] = _mm256_permute2f128_ps::<0x20>(u2, u6);
        r[3] = _mm256_permute2f128_ps::<0x20>(u3, u7);
        r[4] = _mm256_permute2f128_ps::<0x31>(u0, u4);
        r[5] = _mm256_permute2f128_ps::<0x31>(u1, u5);
        r[6] = _mm256_permute2f128_ps::<0x31>(u2, u6);
        r[7] = _mm256_permute2f128_ps::<0x31>(u3, u7);
    }

    /// `dst[x * 8 + j] = rows[j * s + x]`; the caller checked the lengths (`rows`:
    /// `8 * s`, `dst`: `s * 8`).
    #[target_feature(enable = "avx2")]
    pub(super) fn interleave(rows: &[f32], s: usize, dst: &mut [f32]) {
        assert!(rows.len() >= BLOCK * s && dst.len() >= BLOCK * s);
        let mut x = 0;
        while x + 8 <= s {
            let mut v = [_mm256_setzero_ps(); 8];
            for (j, v) in v.iter_mut().enumerate() {
                // SAFETY: j * s + x + 8 <= 8 * s <= rows.len().
                *v = unsafe { _mm256_loadu_ps(rows.as_ptr().add(j * s + x)) };
            }
            transpose(&mut v);
            for (q, v) in v.iter().enumerate() {
                // SAFETY: (x + q) * 8 + 8 <= s * 8 <= dst.len().
                unsafe { _mm256_storeu_ps(dst.as_mut_ptr().add((x + q) * BLOCK), *v) };
            }
            x += 8;
        }
        for x in x..s {
            for j in 0..BLOCK {
                dst[x * BLOCK + j] = rows[j * s + x];
            }
        }
    }

    /// The bilinear value of each of the 8 interleaved slices of `plane` (rows of
    /// `pitch` pixels) at the taps of the output pixels `range`, into `out` (`[8, n]`):
    /// the operations of `super::super::bilinear_portable`, 8 slices per vector. Tap
    /// indices are clamped as there.
    #[target_feature(enable = "avx2,fma")]
    pub(super) fn bilinear(
        plane: &[f32],
        pitch: usize,
        taps: &Taps,
        range: std::ops::Range<usize>,
        out: &mut [f32],
    ) {
        let n = out.len() / BLOCK;
        let pixels = plane.len() / BLOCK;
        assert!(pixels > 2 * pitch && range.end <= n && taps.index.len() >= n);
        assert!(taps.wx.len() >= n && taps.wy.len() >= n);
        let last = pixels - pitch - 2;
        let tap = |i: usize| (taps.index[i] as usize).min(last);
        let down = pitch * BLOCK;
        let base = plane.as_ptr();
        let (index, wxs, wys) = (
            &taps.index[range.clone()],
            &taps.wx[range.clone()],
            &taps.wy[range.clone()],
        );
        let mut i = range.start;
        // Chunks of 8 taps: their lengths are known, so no bounds checks in the loop.
        for ((index, wxs), wys) in index
            .chunks_exact(8)
            .zip(wxs.chunks_exact(8))
            .zip(wys.chunks_exact(8))
        {
            let mut v = [_mm256_setzero_ps(); 8];
            for (q, v) in v.iter_mut().enumerate() {
                let t = (index[q] as usize).min(last);
                // SAFETY: t <= pixels - pitch - 2, so the furthest read, pixel
                // t + pitch + 1, is within the plane.
                unsafe {
                    let at = base.add(t * BLOCK);
                    let a = _mm256_loadu_ps(at);
                    let b = _mm256_loadu_ps(at.add(BLOCK));
                    let c = _mm256_loadu_ps(at.add(down));
                    let d = _mm256_loadu_ps(at.add(down + BLOCK));
                    let wx = _mm256_set1_ps(wxs[q]);
                    let wy = _mm256_set1_ps(wys[q]);
                    let top = _mm256_fmadd_ps(_mm256_sub_ps(b, a), wx, a);
                    let bottom = _mm256_fmadd_ps(_mm256_sub_ps(d, c), wx, c);
                    *v = _mm256_fmadd_ps(_mm256_sub_ps(bottom, top), wy, top);
                }
            }
            transpose(&mut v);
            for (j, v) in v.iter().enumerate() {
                // SAFETY: j * n + i + 8 <= 8 * n <= out.len().
                unsafe { _mm256_storeu_ps(out.as_mut_ptr().add(j * n + i), *v) };
            }
            i += 8;
        }
        for i in i..range.end {
            let t = tap(i) * BLOCK;
            let (wx, wy) = (taps.wx[i], taps.wy[i]);
            for j in 0..BLOCK {
                let (a, b) = (plane[t + j], plane[t + BLOCK + j]);
                let (c, d) = (plane[t + down + j], plane[t + down + BLOCK + j]);
                let top = (b - a).mul_add(wx, a);
                let bottom = (d - c).mul_add(wx, c);
                out[j * n + i] = (bottom - top).mul_add(wy, top);
            }
        }
    }
}

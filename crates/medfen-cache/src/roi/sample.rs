//! Bilinear sampling of the crop: per-axis taps, and one slice sampled separably.

use super::Geometry;

/// Bilinear taps of one output coordinate: the two source indices (None outside the
/// image) and the weight of the second.
#[derive(Clone, Copy)]
pub(super) struct Taps {
    pub(super) i0: Option<usize>,
    pub(super) i1: Option<usize>,
    pub(super) f: f32,
}

pub(super) fn taps(p: f64, n: usize) -> Taps {
    let base = p.floor();
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_precision_loss,
        clippy::cast_sign_loss
    )]
    let at = |i: f64| (i >= 0.0 && i < n as f64).then_some(i as usize);
    #[allow(clippy::cast_possible_truncation)]
    Taps {
        i0: at(base),
        i1: at(base + 1.0),
        f: (p - base) as f32,
    }
}

/// `x.round() as i32` (half away from zero) without the libm call, which is not inlined
/// on baseline x86-64; exact for |x| <= 2^23 (beyond, it gives ±2^23: callers saturate
/// to int16), and NaN gives 0. Bounding `x` first lets the truncation skip the
/// saturation checks of `as`, so loops over it vectorise.
#[inline]
pub(super) fn round_i32(x: f32) -> i32 {
    let x = if x.is_nan() {
        0.0
    } else {
        x.clamp(-8_388_608.0, 8_388_608.0)
    };
    // SAFETY: x is finite and within ±2^23, which an i32 holds.
    #[allow(unsafe_code)]
    let t: i32 = unsafe { x.to_int_unchecked() };
    #[allow(clippy::cast_precision_loss)]
    let frac = x - t as f32;
    t + i32::from(frac >= 0.5) - i32::from(frac <= -0.5)
}

/// `dst[i] = round_i32(src[i])` saturated to int16: the conversion of every crop
/// value, compiled twice (baseline SSE2 and, chosen at run time, AVX2) from the same
/// scalar code, so both give the same integers.
pub(super) fn round_into_i16(src: &[f32], dst: &mut [i16]) {
    #[inline]
    fn body(src: &[f32], dst: &mut [i16]) {
        for (d, &v) in dst.iter_mut().zip(src) {
            #[allow(clippy::cast_possible_truncation)]
            {
                *d = round_i32(v).clamp(-32768, 32767) as i16;
            }
        }
    }
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        #[target_feature(enable = "avx2")]
        fn avx2(src: &[f32], dst: &mut [i16]) {
            body(src, dst);
        }
        // SAFETY: the CPU has AVX2 (checked above).
        #[allow(unsafe_code)]
        unsafe {
            avx2(src, dst);
        }
        return;
    }
    body(src, dst);
}

/// One slice of the crop: `rows` x `cols` taps from slice `z`, into `out`.
///
/// Separable: each source row the taps read is interpolated along x once (output rows
/// mostly share their two source rows), then output rows blend two such rows along y.
/// The arithmetic is the one of the direct form (`top + (bottom - top) * fy` of
/// `p0 + (p1 - p0) * fx`), so results are bit-identical to it.
pub(super) fn crop_slice(
    g: &Geometry,
    z: usize,
    rows: &[Taps],
    cols: &[Taps],
    pad: f32,
    out: &mut [f32],
) {
    let plane = &g.v.data[z * g.ny * g.nx..(z + 1) * g.ny * g.nx];
    let w = cols.len();
    // Column taps as indices into the row converted to f32 with `pad` appended at
    // index nx (a tap outside the image reads it): no branch per tap.
    let column = |c: Option<usize>| c.unwrap_or(g.nx);
    let col_index: Vec<(usize, usize, f32)> = cols
        .iter()
        .map(|t| (column(t.i0), column(t.i1), t.f))
        .collect();
    // Only the columns the taps read are converted.
    let inside = || {
        col_index
            .iter()
            .flat_map(|&(i0, i1, _)| [i0, i1])
            .filter(|&i| i < g.nx)
    };
    let (first, last) = (inside().min().unwrap_or(0), inside().max().unwrap_or(0));
    let mut line = vec![pad; g.nx + 1];
    let mut horizontal = |row: Option<usize>, buf: &mut [f32]| match row {
        None => buf.fill(pad),
        Some(r) => {
            let source = &plane[r * g.nx + first..=r * g.nx + last];
            for (l, &v) in line[first..=last].iter_mut().zip(source) {
                *l = f32::from(v);
            }
            for (&(i0, i1, f), o) in col_index.iter().zip(buf.iter_mut()) {
                let (p0, p1) = (line[i0], line[i1]);
                *o = p0 + (p1 - p0) * f;
            }
        }
    };
    // Two interpolated source rows, keyed by source row (`None`: outside the image).
    let mut keys: [Option<Option<usize>>; 2] = [None, None];
    let mut bufs = [vec![0f32; w], vec![0f32; w]];
    for (ty, line) in rows.iter().zip(out.chunks_exact_mut(w)) {
        let mut slot = |row: Option<usize>, keep: Option<usize>| -> usize {
            if let Some(i) = keys.iter().position(|k| *k == Some(row)) {
                return i;
            }
            let i = usize::from(keep == Some(0));
            horizontal(row, &mut bufs[i]);
            keys[i] = Some(row);
            i
        };
        let top = slot(ty.i0, None);
        let bottom = slot(ty.i1, Some(top));
        let (t, b) = (&bufs[top], &bufs[bottom]);
        for ((o, t), b) in line.iter_mut().zip(t).zip(b) {
            *o = t + (b - t) * ty.f;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crop_values_round_half_away_from_zero_and_saturate_to_int16() {
        let cases: [(f32, i16); 14] = [
            (0.0, 0),
            (0.499_999_97, 0),
            (0.5, 1),
            (-0.5, -1),
            (2.5, 3),
            (-2.5, -3),
            (-1023.6, -1024),
            (1499.4, 1499),
            (32767.4, 32767),
            (40000.0, 32767),
            (-40000.0, -32768),
            (1e30, 32767),
            (f32::NEG_INFINITY, -32768),
            (f32::NAN, 0),
        ];
        // Long enough for the vector loops, with the cases in every lane position.
        let src: Vec<f32> = (0..101).map(|i| cases[i % cases.len()].0).collect();
        let want: Vec<i16> = (0..101).map(|i| cases[i % cases.len()].1).collect();
        let mut got = vec![0i16; src.len()];
        round_into_i16(&src, &mut got);
        assert_eq!(got, want);
        for &(x, w) in &cases {
            assert_eq!(round_i32(x).clamp(-32768, 32767), i32::from(w), "{x}");
        }
    }
}

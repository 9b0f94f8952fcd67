//! One slice of an ear crop, sampled separably: each source row the row taps read is
//! interpolated along x once (output rows mostly share their two source rows), then
//! output rows blend two such rows along y.
//!
//! The arithmetic is the one of the direct form (`top + (bottom - top) * fy` of
//! `p0 + (p1 - p0) * fx`, a multiply then an add, never fused), so every copy of the
//! loops (portable, AVX2) gives results bit-identical to it.

use super::Geometry;
use super::taps::Taps;
use crate::kernels::Isa;

/// Output columns per block of the vector kernel, and the line values a block may
/// read (two 8-wide registers).
const BLOCK: usize = 8;
const WINDOW: usize = 16;

/// The column side of a crop grid, the same for every row and slice.
///
/// A source row is converted to f32 into a *line*: line index `i + 1` holds source
/// column `i`, indices 0 and `nx + 1` hold the pad value (every tap outside the image
/// reads one of them), and [`WINDOW`] more pad values follow so that a vector load at
/// any tap stays inside the line.
pub(super) struct Columns {
    /// Per output column: line indices of the two taps and the weight of the second.
    i0: Vec<u32>,
    i1: Vec<u32>,
    f: Vec<f32>,
    /// Per block of [`BLOCK`] output columns: the first of the [`WINDOW`] line values
    /// its taps read, or `None` when they spread wider (strong downsampling).
    windows: Vec<Option<u32>>,
    /// Line indices inside the image that some tap reads (the only ones converted).
    span: std::ops::Range<usize>,
    nx: usize,
}

impl Columns {
    /// The columns of output positions `positions` (in source columns) on rows of
    /// `nx` values.
    pub(super) fn new(positions: impl Iterator<Item = f64>, nx: usize) -> Self {
        let (mut i0, mut i1, mut f) = (Vec::new(), Vec::new(), Vec::new());
        let line = |i: f64| (i.clamp(-1.0, nx as f64) + 1.0) as u32;
        for p in positions {
            let base = p.floor();
            i0.push(line(base));
            i1.push(line(base + 1.0));
            f.push((p - base) as f32);
        }
        let inside = i0
            .iter()
            .chain(&i1)
            .map(|&i| i as usize)
            .filter(|&i| (1..=nx).contains(&i));
        let span = match (inside.clone().min(), inside.max()) {
            (Some(a), Some(b)) => a..b + 1,
            _ => 1..1,
        };
        let windows = i0
            .chunks(BLOCK)
            .zip(i1.chunks(BLOCK))
            .map(|(a, b)| {
                let lo = a.iter().chain(b).copied().min()?;
                let hi = a.iter().chain(b).copied().max()?;
                (a.len() == BLOCK && (hi - lo) < WINDOW as u32).then_some(lo)
            })
            .collect();
        Self {
            i0,
            i1,
            f,
            windows,
            span,
            nx,
        }
    }

    /// Output columns.
    fn len(&self) -> usize {
        self.f.len()
    }

    /// A line of pad values.
    fn line(&self, pad: f32) -> Vec<f32> {
        vec![pad; self.nx + 2 + WINDOW]
    }

    /// Output columns `c` of `out` from `line`, one tap pair at a time.
    fn interpolate_columns(&self, line: &[f32], out: &mut [f32], c: std::ops::Range<usize>) {
        for c in c {
            let (p0, p1) = (line[self.i0[c] as usize], line[self.i1[c] as usize]);
            out[c] = p0 + (p1 - p0) * self.f[c];
        }
    }

    /// `out` (one value per output column) from `line`.
    #[inline]
    fn interpolate(&self, line: &[f32], out: &mut [f32], isa: Isa) {
        #[cfg(target_arch = "x86_64")]
        if isa.avx2() {
            // SAFETY: the CPU has AVX2 (`isa` says so); `interpolate_avx2` checks its
            // indices against the line.
            #[allow(unsafe_code)]
            unsafe {
                self.interpolate_avx2(line, out);
            }
            return;
        }
        let _ = isa;
        self.interpolate_columns(line, out, 0..self.len());
    }

    /// [`Self::interpolate`] with each block of 8 columns gathered from a 16-value
    /// window by two register permutes and a blend.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    fn interpolate_avx2(&self, line: &[f32], out: &mut [f32]) {
        use std::arch::x86_64::{
            __m256i, _mm256_add_ps, _mm256_blendv_ps, _mm256_castsi256_ps, _mm256_cmpgt_epi32,
            _mm256_loadu_ps, _mm256_loadu_si256, _mm256_mul_ps, _mm256_permutevar8x32_ps,
            _mm256_set1_epi32, _mm256_storeu_ps, _mm256_sub_epi32, _mm256_sub_ps,
        };
        let seven = _mm256_set1_epi32(7);
        for (b, window) in self.windows.iter().enumerate() {
            let c = b * BLOCK..(b + 1) * BLOCK;
            let Some(base) = *window else {
                self.interpolate_columns(line, out, c.start..c.end.min(self.len()));
                continue;
            };
            let base = base as usize;
            // Checked once per block (never fails: the line ends with WINDOW pads
            // after its last tap); the loads below read line[base..base + 16] and
            // out[c], whole blocks only.
            assert!(base + WINDOW <= line.len() && c.end <= out.len() && c.end <= self.len());
            // SAFETY: the ranges were checked above; unaligned loads and stores (hence
            // the pointer casts to wider types).
            #[allow(unsafe_code, clippy::cast_possible_wrap, clippy::cast_ptr_alignment)]
            unsafe {
                let lo = _mm256_loadu_ps(line.as_ptr().add(base));
                let hi = _mm256_loadu_ps(line.as_ptr().add(base + BLOCK));
                let at = _mm256_set1_epi32(base as i32);
                let pick = |idx: &[u32]| {
                    let i = _mm256_sub_epi32(
                        _mm256_loadu_si256(idx.as_ptr().add(c.start).cast::<__m256i>()),
                        at,
                    );
                    let from_hi = _mm256_castsi256_ps(_mm256_cmpgt_epi32(i, seven));
                    _mm256_blendv_ps(
                        _mm256_permutevar8x32_ps(lo, i),
                        _mm256_permutevar8x32_ps(hi, i),
                        from_hi,
                    )
                };
                let (p0, p1) = (pick(&self.i0), pick(&self.i1));
                let f = _mm256_loadu_ps(self.f.as_ptr().add(c.start));
                let v = _mm256_add_ps(p0, _mm256_mul_ps(_mm256_sub_ps(p1, p0), f));
                _mm256_storeu_ps(out.as_mut_ptr().add(c.start), v);
            }
        }
    }
}

/// `dst[i] = src[i]` as f32, 8 at a time when `isa` has AVX2.
fn widen(src: &[i16], dst: &mut [f32], isa: Isa) {
    #[inline]
    fn body(src: &[i16], dst: &mut [f32]) {
        for (d, &v) in dst.iter_mut().zip(src) {
            *d = f32::from(v);
        }
    }
    #[cfg(target_arch = "x86_64")]
    if isa.avx2() {
        #[target_feature(enable = "avx2")]
        fn avx2(src: &[i16], dst: &mut [f32]) {
            body(src, dst);
        }
        // SAFETY: the CPU has AVX2 (`isa` says so).
        #[allow(unsafe_code)]
        unsafe {
            avx2(src, dst);
        }
        return;
    }
    let _ = isa;
    body(src, dst);
}

/// One slice of the crop: `rows` x `cols` taps from slice `z`, into `out`.
pub(super) fn crop_slice(
    g: &Geometry,
    z: usize,
    rows: &[Taps],
    cols: &Columns,
    pad: f32,
    out: &mut [f32],
    isa: Isa,
) {
    #[cfg(target_arch = "x86_64")]
    if isa.avx2() {
        #[target_feature(enable = "avx2,fma")]
        fn avx2(
            g: &Geometry,
            z: usize,
            rows: &[Taps],
            cols: &Columns,
            pad: f32,
            out: &mut [f32],
            isa: Isa,
        ) {
            crop_body(g, z, rows, cols, pad, out, isa);
        }
        // SAFETY: the CPU has AVX2 and FMA (`isa` says so).
        #[allow(unsafe_code)]
        unsafe {
            avx2(g, z, rows, cols, pad, out, isa);
        }
        return;
    }
    crop_body(g, z, rows, cols, pad, out, isa);
}

// Always inlined: the AVX2 copy above gets its loops compiled for AVX2.
#[allow(clippy::inline_always)]
#[inline(always)]
fn crop_body(
    g: &Geometry,
    z: usize,
    rows: &[Taps],
    cols: &Columns,
    pad: f32,
    out: &mut [f32],
    isa: Isa,
) {
    let plane = g.plane(z);
    let w = cols.len();
    let span = cols.span.clone();
    let mut line = cols.line(pad);
    let mut horizontal = |row: Option<usize>, buf: &mut [f32]| match row {
        None => buf.fill(pad),
        Some(r) => {
            let source = &plane[r * g.nx + span.start - 1..r * g.nx + span.end - 1];
            widen(source, &mut line[span.clone()], isa);
            cols.interpolate(&line, buf, isa);
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
    use super::super::taps::taps;
    use super::*;

    /// The direct form of the bilinear crop, one output value at a time.
    fn direct(g: &Geometry, z: usize, rows: &[Taps], cols: &[Taps], pad: f32) -> Vec<f32> {
        let at = |y: Option<usize>, x: Option<usize>| match (y, x) {
            (Some(y), Some(x)) => f32::from(g.plane(z)[y * g.nx + x]),
            _ => pad,
        };
        let mut out = Vec::new();
        for ty in rows {
            for tx in cols {
                let h = |y| at(y, tx.i0) + (at(y, tx.i1) - at(y, tx.i0)) * tx.f;
                let (top, bottom) = (h(ty.i0), h(ty.i1));
                out.push(top + (bottom - top) * ty.f);
            }
        }
        out
    }

    #[test]
    fn every_copy_of_the_crop_equals_the_direct_form_bit_for_bit() {
        let (ny, nx) = (37, 53);
        let mut state = 0x1234_5678_u32;
        let data: Vec<i16> = (0..2 * ny * nx)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                (state % 4000) as i16 - 1024
            })
            .collect();
        let volume = medfen_dicom::Volume {
            data,
            shape: [2, ny, nx],
            spacing: [1.0; 3],
            origin: [0.0; 3],
            direction: [[0.0, 0.0, 1.0], [0.0, 1.0, 0.0], [1.0, 0.0, 0.0]],
            slice_axis: 0,
            sources: Vec::new(),
            qa: Vec::new(),
        };
        let g = Geometry::new(&volume);
        // (start, step, count): upsampling, mirrored, across each edge, outside the
        // image, strong downsampling (no vector windows), a partial last block.
        let grids: [(f64, f64, usize); 7] = [
            (10.3, 0.857, 24),
            (45.7, -0.857, 24),
            (-6.2, 0.6, 32),
            (40.1, 0.9, 24),
            (-30.0, 0.5, 16),
            (0.4, 2.7, 16),
            (3.1, 1.3, 13),
        ];
        for &(start, step, n) in &grids {
            let positions: Vec<f64> = (0..n).map(|i| start + step * i as f64).collect();
            let cols = Columns::new(positions.iter().copied(), nx);
            let col_taps: Vec<Taps> = positions.iter().map(|&p| taps(p, nx)).collect();
            let rows: Vec<Taps> = (0..n).map(|i| taps(-3.3 + 1.7 * i as f64, ny)).collect();
            let want = direct(&g, 1, &rows, &col_taps, -1024.0);
            for isa in Isa::available() {
                let mut got = vec![0f32; n * n];
                crop_slice(&g, 1, &rows, &cols, -1024.0, &mut got, isa);
                let same = got
                    .iter()
                    .zip(&want)
                    .all(|(a, b)| a.to_bits() == b.to_bits());
                assert!(same, "{isa:?} differs on grid {start} + {step} x {n}");
            }
        }
    }
}

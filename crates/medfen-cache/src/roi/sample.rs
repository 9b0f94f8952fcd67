//! Bilinear sampling of the crop: per-axis taps, one slice sampled separably, and an
//! ear's record.

use medfen_tasks::Side;

use super::crop::{Columns, crop_slice};
use super::taps::{Taps, taps};
use super::{EarPlan, EarRecord, Geometry, Placement, ZAt, side_x};
use crate::kernels::Isa;
use crate::spec::{CacheSpec, CropMode};

/// The in-plane sampling grid of one ear's crop, the same for every slice.
pub(super) struct Grid {
    /// Crop centre column in source voxels.
    cx: f64,
    /// Output pixel size in source voxels (row, column).
    step: [f64; 2],
    rows: Vec<Taps>,
    cols: Columns,
    /// Output rows and columns whose centre lies inside the source image.
    inside: [usize; 2],
}

impl Grid {
    /// The source rows the crop reads (None when every tap falls outside the image).
    pub(super) fn source_rows(&self) -> Option<std::ops::Range<usize>> {
        let inside = || self.rows.iter().flat_map(|t| [t.i0, t.i1]).flatten();
        Some(inside().min()?..inside().max()? + 1)
    }
}

/// The grid of `ear`'s crop.
pub(super) fn grid(g: &Geometry, spec: &CacheSpec, mid: f64, ear: &EarPlan) -> Grid {
    let cx = side_x(ear.side, mid.round(), ear.cu);
    let s = spec.image_size;
    let step = match spec.crop {
        CropMode::TemporalPatch { crop_mm, .. } => {
            let p = crop_mm / s as f64;
            [p / g.v.spacing[1], p / g.v.spacing[2]]
        }
        CropMode::NativePixels { crop_px, .. } => [crop_px as f64 / s as f64; 2],
    };
    let dir = match ear.side {
        Side::Left => 1.0,
        Side::Right => -1.0,
    };
    let offset = |i: usize| i as f64 + 0.5 - s as f64 / 2.0;
    let [ny, nx] = [g.ny, g.nx];
    let row_at = |r: usize| ear.cy + offset(r) * step[0];
    let col_at = |c: usize| cx + dir * offset(c) * step[1];
    let within = |p: f64, n: usize| (-0.5..=n as f64 - 0.5).contains(&p);
    Grid {
        cx,
        step,
        cols: Columns::new((0..s).map(col_at), nx),
        rows: (0..s).map(|r| taps(row_at(r), ny)).collect(),
        inside: [
            (0..s).filter(|&r| within(row_at(r), ny)).count(),
            (0..s).filter(|&c| within(col_at(c), nx)).count(),
        ],
    }
}

/// `ear`'s record: its crop on `grid` at every slice of its z plan (reads only the
/// grid's source rows of the plan's slices).
pub(super) fn record(
    g: &Geometry,
    spec: &CacheSpec,
    mid: f64,
    ear: &EarPlan,
    grid: &Grid,
) -> EarRecord {
    let mut writer = RecordWriter::new(spec);
    for &at in &ear.plan {
        writer.push(g, grid, at);
    }
    writer.finish(g, mid, ear, grid)
}

/// A record built one output slice at a time (so a slice can be cropped while its
/// source rows are still in cache).
pub(super) struct RecordWriter {
    data: Vec<i16>,
    a: Vec<f32>,
    b: Vec<f32>,
    pad: f32,
    isa: Isa,
}

impl RecordWriter {
    pub(super) fn new(spec: &CacheSpec) -> Self {
        let n = spec.image_size * spec.image_size;
        Self {
            data: Vec::with_capacity(spec.record_len()),
            a: vec![0f32; n],
            b: vec![0f32; n],
            pad: f32::from(spec.pad_hu),
            isa: Isa::detect(),
        }
    }

    /// The next output slice: the crop of source slice `lo`, blended with `hi` by `w`;
    /// `pad_hu` everywhere beyond the first or last source slice.
    pub(super) fn push(&mut self, g: &Geometry, grid: &Grid, at: ZAt) {
        let ZAt::Inside(lo, hi, w) = at else {
            self.a.fill(self.pad);
            round_append(&self.a, &mut self.data);
            return;
        };
        let (rows, cols) = (&grid.rows, &grid.cols);
        crop_slice(g, lo, rows, cols, self.pad, &mut self.a, self.isa);
        if w > 0.0 {
            crop_slice(g, hi, rows, cols, self.pad, &mut self.b, self.isa);
            let w = w as f32;
            for (x, y) in self.a.iter_mut().zip(&self.b) {
                *x += (y - *x) * w;
            }
        }
        round_append(&self.a, &mut self.data);
    }

    /// The record, once every slice of `ear`'s plan was pushed.
    pub(super) fn finish(self, g: &Geometry, mid: f64, ear: &EarPlan, grid: &Grid) -> EarRecord {
        let (cy, cx) = (ear.cy, grid.cx);
        let z_mm: Vec<f64> = ear
            .plan
            .iter()
            .map(|at| g.position(at.index(), cy, cx)[2])
            .collect();
        let p = g.position(0.0, cy, cx);
        let slice_indices = ear.plan.iter().map(|at| at.nearest(g.nz)).collect();
        let outside = ear
            .plan
            .iter()
            .filter(|at| matches!(at, ZAt::Outside(_)))
            .count();
        let plane = (grid.rows.len() * grid.rows.len()) as f64;
        let padded = outside as f64 * plane
            + (ear.plan.len() - outside) as f64
                * (plane - (grid.inside[0] * grid.inside[1]) as f64);
        EarRecord {
            side: ear.side,
            data: self.data,
            placement: Placement {
                slice_indices,
                z_mm,
                centre_mm: [p[0], p[1]],
                centre_vox: [cy, cx],
                pixel_mm: [grid.step[0] * g.v.spacing[1], grid.step[1] * g.v.spacing[2]],
                midline_mm: g.position(0.0, 0.0, mid)[0],
                centre_source: ear.source,
                padded_fraction: padded / (plane * ear.plan.len().max(1) as f64),
            },
        }
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
    let frac = x - t as f32;
    t + i32::from(frac >= 0.5) - i32::from(frac <= -0.5)
}

/// Appends `round_i32(src[i])` saturated to int16 to `dst`: the conversion of every
/// crop value, compiled twice (baseline SSE2 and, chosen at run time, AVX2) from the
/// same scalar code, so both give the same integers.
pub(super) fn round_append(src: &[f32], dst: &mut Vec<i16>) {
    #[inline]
    fn body(src: &[f32], dst: &mut Vec<i16>) {
        dst.extend(
            src.iter()
                .map(|&v| round_i32(v).clamp(-32768, 32767) as i16),
        );
    }
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        #[target_feature(enable = "avx2")]
        fn avx2(src: &[f32], dst: &mut Vec<i16>) {
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
        let mut got = vec![7i16; 3];
        round_append(&src, &mut got);
        let got = got.split_off(3);
        assert_eq!(got, want);
        for &(x, w) in &cases {
            assert_eq!(round_i32(x).clamp(-32768, 32767), i32::from(w), "{x}");
        }
    }
}

//! Ear regions from a CT volume in the canonical LPS frame (`[z, y, x]`, +x toward the
//! patient's left).
//!
//! 1. **Midline**: the median over probe slices of the mean column of bone (HU > 300).
//! 2. **Sides**: the patient's left ear is on the high-x side; the right ear's half is
//!    mirrored, so in every record the columns run from medial (left edge) to lateral
//!    (right edge), as for the left ear.
//! 3. **z**: per ear, a cheap "temporal air score" per slice (the fraction of air inside
//!    the bone box of the lateral band), smoothed; its peak centres `air-block` and `mm`
//!    sampling.
//! 4. **Crop centre**: on probe slices, the area-weighted centroid of that enclosed air
//!    (the middle ear and mastoid); where too little air is resolved (opacified ears,
//!    coarse data), the largest bone component of the lateral band (4-connected, at
//!    least `min_area_mm2`), its box centre biased laterally, median over the probe
//!    slices. The source used is recorded.
//! 5. **Crop**: a square of `crop_mm` (or `crop_px` native pixels) resampled with
//!    bilinear interpolation at half-pixel centres to `image_size`, padded with
//!    `pad_hu`; in `mm` sampling also linear in z.

use serde::{Deserialize, Serialize};

use medfen_dicom::Volume;
use medfen_tasks::Side;

use crate::spec::{CacheSpec, Sampling};

mod crop;
mod geometry;
mod sample;
mod taps;

use geometry::Geometry;
pub use geometry::LazySlices;

/// Enclosed air (mm², summed over the probe slices) below which the crop centre comes
/// from the bone instead.
const MIN_AIR_MM2: f64 = 20.0;

/// How the crop centre of an ear was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CentreSource {
    /// The centroid of the air enclosed by bone in the lateral band (middle ear and
    /// mastoid cells).
    Air,
    /// This ear had too little air; the other ear's air centre, mirrored.
    MirroredAir,
    /// The largest bone component of the lateral band.
    Component,
    /// No component reached the minimum area: the largest one.
    SmallComponent,
    /// No bone in the lateral band: the centre of the half image.
    NoBone,
}

/// Where an ear record comes from in its volume.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Placement {
    /// Per slice: the nearest source slice index.
    pub slice_indices: Vec<usize>,
    /// Per slice: position along the slice axis, mm (LPS z for axial series).
    pub z_mm: Vec<f64>,
    /// Crop centre in LPS mm (x, y).
    pub centre_mm: [f64; 2],
    /// Crop centre in source voxels (y, x).
    pub centre_vox: [f64; 2],
    /// Output pixel size, mm (row, column).
    pub pixel_mm: [f64; 2],
    /// Midline, LPS x mm.
    pub midline_mm: f64,
    /// How the crop centre was found.
    pub centre_source: CentreSource,
    /// Share of the record's voxels that lie outside the volume (beyond its first or
    /// last slice, or beside its field of view), filled with `pad_hu`: 0 for an ear
    /// wholly inside; more is a flag, never a silent copy of edge slices.
    #[serde(default)]
    pub padded_fraction: f64,
}

/// One extracted ear.
#[derive(Debug, Clone, PartialEq)]
pub struct EarRecord {
    /// The patient side.
    pub side: Side,
    /// `[K, S, S]` HU, row-major; columns medial to lateral.
    pub data: Vec<i16>,
    /// Where it comes from.
    pub placement: Placement,
}

fn median(v: &mut [f64]) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        0.5 * (v[n / 2 - 1] + v[n / 2])
    })
}

/// `n` indices spread evenly over `lo..=hi` (floor of linspace).
fn linspace_idx(lo: usize, hi: usize, n: usize) -> Vec<usize> {
    if n == 1 {
        return vec![usize::midpoint(lo, hi)];
    }
    (0..n)
        .map(|k| (lo as f64 + (hi - lo) as f64 * k as f64 / (n - 1) as f64).floor() as usize)
        .collect()
}

/// Maps a side-local column `u` (0 at the midline, growing laterally) to x.
fn side_x(side: Side, mid: f64, u: f64) -> f64 {
    match side {
        Side::Left => mid + u,
        Side::Right => mid - 1.0 - u,
    }
}

/// The midline column (fractional) and whether bone was found.
fn midline(g: &Geometry, spec: &CacheSpec) -> (f64, bool) {
    let mut means = Vec::new();
    for z in linspace_idx(0, g.nz - 1, spec.probe_slices.min(g.nz)) {
        // Integer sums (exact, as the float sums of integers were), branch-free per row
        // so the loop vectorises; a row's column sum fits a u32 for any DICOM width.
        let (mut sum, mut n) = (0u64, 0u64);
        for row in g.plane(z).chunks_exact(g.nx) {
            let (mut row_sum, mut row_n) = (0u32, 0u32);
            for (x, &v) in (0u32..).zip(row) {
                let bone = u32::from(v > spec.bone_hu);
                row_sum += bone * x;
                row_n += bone;
            }
            sum += u64::from(row_sum);
            n += u64::from(row_n);
        }
        if n > 0 {
            means.push(sum as f64 / n as f64);
        }
    }
    let fallback = g.nx as f64 / 2.0;
    match median(&mut means) {
        Some(m) => ((m + 0.5).clamp(1.0, g.nx as f64 - 1.0), true),
        None => (fallback, false),
    }
}

/// Side-local columns of the lateral band: `u0..half`.
fn band(half: usize, band: f64) -> usize {
    let u0 = ((1.0 - band) * half as f64).floor() as usize;
    u0.min(half.saturating_sub(1))
}

fn half_width(g: &Geometry, side: Side, mid: f64) -> usize {
    match side {
        Side::Left => g.nx.saturating_sub(mid.ceil() as usize),
        Side::Right => mid.floor() as usize,
    }
}

/// The column of the midline, rounded once per slice walk.
fn mid_column(mid: f64) -> usize {
    mid.round().max(0.0) as usize
}

/// The column of side-local column `u` (`m`: [`mid_column`]).
#[inline]
fn voxel_x(side: Side, m: usize, u: usize) -> usize {
    match side {
        Side::Left => m + u,
        Side::Right => m.saturating_sub(1 + u),
    }
}

/// Rows of slice `z` where the temporal bone can be: the middle of the head's
/// front-to-back extent (30% to 85% of it from the front), which leaves out the
/// paranasal sinuses (air inside bone too, but anterior).
fn ear_rows(g: &Geometry, z: usize) -> (usize, usize) {
    let (mut y0, mut y1) = (usize::MAX, 0);
    let plane = g.plane(z);
    for y in (0..g.ny).step_by(2) {
        if (0..g.nx).step_by(2).any(|x| plane[y * g.nx + x] > -500) {
            y0 = y0.min(y);
            y1 = y1.max(y);
        }
    }
    if y0 > y1 {
        return (0, g.ny);
    }
    let at = |f: f64| (y0 as f64 + f * (y1 - y0) as f64).round() as usize;
    (at(0.3), (at(0.85) + 1).min(g.ny))
}

/// Temporal air score of slice `z` for one side, in mm²: the air of the lateral band
/// (within the ear rows) enclosed by bone along its row and its column (middle-ear and
/// mastoid air, not the air around the head), plus a tenth of the band's bone area so
/// the dense temporal bone still marks the level where the air is not resolved (thick
/// slices, coarse pixels).
fn air_score(
    g: &Geometry,
    spec: &CacheSpec,
    side: Side,
    mid: f64,
    band_frac: f64,
    z: usize,
) -> f64 {
    // Every second row and column when pixels are finer than 0.8 mm: the profile only
    // needs to find the level.
    let step = if g.v.spacing[1].max(g.v.spacing[2]) < 0.8 {
        2
    } else {
        1
    };
    enclosed_air(g, spec, side, mid, band_frac, z, step).0
}

/// The score of [`air_score`] and the centroid (row, side-local column) of the
/// enclosed air with its area in mm², when there is any; every `step`-th row and column
/// is looked at.
fn enclosed_air(
    g: &Geometry,
    spec: &CacheSpec,
    side: Side,
    mid: f64,
    band_frac: f64,
    z: usize,
    step: usize,
) -> (f64, Option<(f64, f64, f64)>) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        #[target_feature(enable = "avx2")]
        fn avx2(
            g: &Geometry,
            spec: &CacheSpec,
            side: Side,
            (mid, band_frac): (f64, f64),
            z: usize,
            step: usize,
        ) -> (f64, Option<(f64, f64, f64)>) {
            enclosed_air_body(g, spec, side, mid, band_frac, z, step)
        }
        // SAFETY: the CPU has AVX2 (checked above). The same code either way: integer
        // loops, and float sums of exact integers.
        #[allow(unsafe_code)]
        return unsafe { avx2(g, spec, side, (mid, band_frac), z, step) };
    }
    enclosed_air_body(g, spec, side, mid, band_frac, z, step)
}

// Always inlined: the AVX2 copy above gets its loops compiled for AVX2.
#[allow(clippy::inline_always)]
#[inline(always)]
fn enclosed_air_body(
    g: &Geometry,
    spec: &CacheSpec,
    side: Side,
    mid: f64,
    band_frac: f64,
    z: usize,
    step: usize,
) -> (f64, Option<(f64, f64, f64)>) {
    let m = mid_column(mid);
    let half = half_width(g, side, mid);
    let u0 = band(half, band_frac);
    let (r0, r1) = ear_rows(g, z);
    let w = (half.saturating_sub(u0)).div_ceil(step);
    let h = (r1 - r0).div_ceil(step);
    if w == 0 || h == 0 {
        return (0.0, None);
    }
    let mut cls = vec![0u8; w * h]; // 1 air, 2 bone
    let plane = g.plane(z);
    let (bone_hu, air_hu) = (spec.bone_hu, spec.air_hu);
    let classify = |v: i16| {
        if v > bone_hu { 2 } else { u8::from(v < air_hu) }
    };
    for (yi, out) in cls.chunks_exact_mut(w).enumerate() {
        let row = &plane[(r0 + yi * step) * g.nx..][..g.nx];
        // Whole rows of the band are contiguous (mirrored for the right ear).
        match (side, step) {
            (Side::Left, 1) => {
                for (o, &v) in out.iter_mut().zip(&row[m + u0..m + u0 + w]) {
                    *o = classify(v);
                }
            }
            (Side::Right, 1) => {
                for (o, &v) in out.iter_mut().zip(row[m - u0 - w..m - u0].iter().rev()) {
                    *o = classify(v);
                }
            }
            _ => {
                for (ci, o) in out.iter_mut().enumerate() {
                    *o = classify(row[voxel_x(side, m, u0 + ci * step)]);
                }
            }
        }
    }
    let bone = cls.iter().map(|&c| usize::from(c == 2)).sum::<usize>();
    // Per column, the first and last row of bone (branch-free, so it vectorises).
    let mut col_lo = vec![u32::MAX; w];
    let mut col_hi = vec![0u32; w];
    for (y, row) in (0u32..).zip(cls.chunks_exact(w)) {
        for ((lo, hi), &c) in col_lo.iter_mut().zip(col_hi.iter_mut()).zip(row) {
            let bone = u32::from(c == 2).wrapping_neg(); // all ones on bone
            *lo = (*lo).min(y | !bone);
            *hi = (*hi & !bone) | (y & bone);
        }
    }
    // Air with bone on both sides along its row and its column. The sums of pixel
    // coordinates are integers: summed exactly in u64 (as the f64 sums were).
    let (mut enclosed, mut sum_y, mut sum_c) = (0u64, 0u64, 0u64);
    for (y, row) in (0u32..).zip(cls.chunks_exact(w)) {
        let (Some(lo), Some(hi)) = (
            row.iter().position(|&c| c == 2),
            row.iter().rposition(|&c| c == 2),
        ) else {
            continue;
        };
        let (mut n, mut sc) = (0u32, 0u32);
        for (c, ((&k, &clo), &chi)) in (0u32..)
            .zip(row.iter().zip(&col_lo).zip(&col_hi))
            .take(hi)
            .skip(lo)
        {
            #[allow(clippy::needless_bitwise_bool)]
            let inside = (k == 1) & (clo < y) & (y < chi);
            n += u32::from(inside);
            sc += u32::from(inside) * c;
        }
        enclosed += u64::from(n);
        sum_y += u64::from(n) * u64::from(y);
        sum_c += u64::from(sc);
    }
    let enclosed = usize::try_from(enclosed).unwrap_or(usize::MAX);
    // Back to pixel coordinates: sum of (r0 + y * step) and (u0 + c * step).
    let (sy, su) = (
        (enclosed as u64 * r0 as u64 + sum_y * step as u64) as f64,
        (enclosed as u64 * u0 as u64 + sum_c * step as u64) as f64,
    );
    let px = g.v.spacing[1] * g.v.spacing[2] * (step * step) as f64;
    let score = (enclosed as f64 + 0.1 * bone as f64) * px;
    let centroid = (enclosed > 0).then(|| {
        (
            sy / enclosed as f64,
            su / enclosed as f64,
            enclosed as f64 * px,
        )
    });
    (score, centroid)
}

/// The slices the air profile looks at: about one per 0.9 mm (every slice of 1 mm
/// series, every second of 0.4-0.6 mm ones).
fn profile_slices(nz: usize, spacing_z: f64) -> Vec<usize> {
    let m = (0.9 / spacing_z.max(1e-3)).round().max(1.0) as usize;
    (0..nz).step_by(m).collect()
}

/// The slice with the most temporal air (scores smoothed over ±3 mm).
fn air_peak(g: &Geometry, spec: &CacheSpec, side: Side, mid: f64, band_frac: f64) -> usize {
    let zs = profile_slices(g.nz, g.v.spacing[0]);
    let scores: Vec<f64> = zs
        .iter()
        .map(|&z| air_score(g, spec, side, mid, band_frac, z))
        .collect();
    let sz = g.v.spacing[0];
    let mut best = (f64::NEG_INFINITY, g.nz / 2);
    for &z in &zs {
        let near: Vec<f64> = zs
            .iter()
            .zip(&scores)
            .filter(|(zz, _)| (**zz as f64 - z as f64).abs() * sz <= 3.0 + 1e-9)
            .map(|(_, sc)| *sc)
            .collect();
        let m = near.iter().sum::<f64>() / near.len().max(1) as f64;
        if m > best.0 + 1e-12 {
            best = (m, z);
        }
    }
    best.1
}

/// Crop centre on one slice: (y, u, source).
fn slice_centre(
    g: &Geometry,
    side: Side,
    mid: f64,
    z: usize,
    spec: &CacheSpec,
    (band_frac, bias, min_area_mm2): (f64, f64, f64),
) -> (f64, f64, CentreSource) {
    let m = mid_column(mid);
    let half = half_width(g, side, mid);
    let u0 = band(half, band_frac);
    let w = half - u0;
    let (r0, r1) = ear_rows(g, z);
    let mut mask = vec![false; g.ny * w];
    let plane = g.plane(z);
    for y in r0..r1 {
        let row = &plane[y * g.nx..][..g.nx];
        for u in u0..half {
            mask[y * w + (u - u0)] = row[voxel_x(side, m, u)] > spec.bone_hu;
        }
    }
    // 4-connected components.
    let mut label = vec![0u32; mask.len()];
    let mut best: Option<(usize, [usize; 4])> = None; // (area, [y0, y1, c0, c1])
    let mut best_big: Option<(usize, [usize; 4])> = None;
    let min_px = min_area_mm2 / (g.v.spacing[1] * g.v.spacing[2]);
    let mut next = 0u32;
    let mut stack = Vec::new();
    for start in 0..mask.len() {
        if !mask[start] || label[start] != 0 {
            continue;
        }
        next += 1;
        label[start] = next;
        stack.push(start);
        let (mut area, mut b) = (0usize, [usize::MAX, 0, usize::MAX, 0]);
        while let Some(i) = stack.pop() {
            let (y, c) = (i / w, i % w);
            area += 1;
            b = [b[0].min(y), b[1].max(y), b[2].min(c), b[3].max(c)];
            let mut visit = |j: usize| {
                if mask[j] && label[j] == 0 {
                    label[j] = next;
                    stack.push(j);
                }
            };
            if y > 0 {
                visit(i - w);
            }
            if y + 1 < g.ny {
                visit(i + w);
            }
            if c > 0 {
                visit(i - 1);
            }
            if c + 1 < w {
                visit(i + 1);
            }
        }
        if best.is_none_or(|(a, _)| area > a) {
            best = Some((area, b));
        }
        if area as f64 >= min_px && best_big.is_none_or(|(a, _)| area > a) {
            best_big = Some((area, b));
        }
    }
    let (source, chosen) = match (best_big, best) {
        (Some(b), _) => (CentreSource::Component, b.1),
        (None, Some(b)) => (CentreSource::SmallComponent, b.1),
        (None, None) => return (g.ny as f64 / 2.0, half as f64 / 2.0, CentreSource::NoBone),
    };
    let [y0, y1, c0, c1] = chosen;
    let cy = (y0 + y1) as f64 / 2.0;
    // lateral edge is the high side-local column
    let cu = (u0 + c1) as f64 - bias * ((c1 - c0) as f64).max(1.0);
    (cy, cu, source)
}

/// Where one output slice samples the source.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum ZAt {
    /// Between source slices `lo` and `hi`, `w` the weight of `hi`.
    Inside(usize, usize, f64),
    /// Beyond the first or last source slice, at this fractional slice index: filled
    /// with `pad_hu`, never with a copy of the edge slice.
    Outside(f64),
}

impl ZAt {
    /// The source slices it reads.
    pub(super) fn slices(self) -> impl Iterator<Item = usize> {
        let pair = match self {
            Self::Inside(lo, hi, _) => Some([lo, hi]),
            Self::Outside(_) => None,
        };
        pair.into_iter().flatten()
    }

    /// The nearest source slice (the edge slice when outside).
    pub(super) fn nearest(self, nz: usize) -> usize {
        match self {
            Self::Inside(lo, hi, w) => {
                if w < 0.5 {
                    lo
                } else {
                    hi
                }
            }
            Self::Outside(f) => (f.round().max(0.0) as usize).min(nz - 1),
        }
    }

    /// The fractional source slice index.
    pub(super) fn index(self) -> f64 {
        match self {
            Self::Inside(lo, hi, w) => lo as f64 + (hi as f64 - lo as f64) * w,
            Self::Outside(f) => f,
        }
    }
}

/// Where each output slice samples the source.
type ZPlan = Vec<ZAt>;

fn z_plan(g: &Geometry, spec: &CacheSpec, peak: usize) -> ZPlan {
    let k = spec.num_slices;
    let n = g.nz;
    let whole = |idx: Vec<usize>| idx.into_iter().map(|i| ZAt::Inside(i, i, 0.0)).collect();
    match spec.sampling {
        Sampling::Even => {
            if n < k {
                // Every slice once, then air: fewer slices than asked for are padded
                // (and flagged), not repeated.
                (0..k)
                    .map(|i| {
                        if i < n {
                            ZAt::Inside(i, i, 0.0)
                        } else {
                            ZAt::Outside(i as f64)
                        }
                    })
                    .collect()
            } else {
                whole(linspace_idx(0, n - 1, k))
            }
        }
        Sampling::AirBlock { block_len } => {
            let len = block_len.max(k).min(n);
            if len >= n {
                return z_plan(
                    g,
                    &CacheSpec {
                        sampling: Sampling::Even,
                        ..spec.clone()
                    },
                    peak,
                );
            }
            let start = peak.saturating_sub(len / 2).min(n - len);
            whole(linspace_idx(start, start + len - 1, k))
        }
        Sampling::Mm { spacing_mm } => {
            let step = spacing_mm / g.v.spacing[0];
            let last = (n - 1) as f64;
            (0..k)
                .map(|i| {
                    let f = peak as f64 + (i as f64 - (k as f64 - 1.0) / 2.0) * step;
                    // Within rounding of the first or last slice is that slice.
                    let f = if f < 0.0 && f > -1e-9 {
                        0.0
                    } else if f > last && f < last + 1e-9 {
                        last
                    } else {
                        f
                    };
                    if !(0.0..=last).contains(&f) {
                        return ZAt::Outside(f);
                    }
                    let lo = f.floor() as usize;
                    let hi = (lo + 1).min(n - 1);
                    ZAt::Inside(lo, hi, f - lo as f64)
                })
                .collect()
        }
    }
}

/// The temporal air score of every slice for one ear (the z profile `air-block` and
/// `mm` sampling centre on), with the midline used.
pub fn temporal_air_profile(volume: &Volume<i16>, spec: &CacheSpec, side: Side) -> (Vec<f64>, f64) {
    let g = Geometry::new(volume);
    let (mid, _) = midline(&g, spec);
    let (band_frac, _, _) = spec.crop.search();
    let scores = (0..g.nz)
        .map(|z| air_score(&g, spec, side, mid, band_frac, z))
        .collect();
    (scores, mid)
}

/// Extracts both ears of `volume` (left first).
///
/// # Panics
/// Never for volumes medfen-dicom assembles (at least one voxel per axis).
pub fn extract_ears(volume: &Volume<i16>, spec: &CacheSpec) -> [EarRecord; 2] {
    let g = Geometry::new(volume);
    let (mid, peaks) = locate(&g, spec);
    finish(&g, spec, mid, peaks)
}

/// The slices [`locate`] reads: the midline probes and the air profile's slices.
fn locate_slices(nz: usize, spacing_z: f64, spec: &CacheSpec) -> Vec<usize> {
    let mut zs = linspace_idx(0, nz - 1, spec.probe_slices.min(nz));
    if spec.sampling != Sampling::Even {
        zs.extend(profile_slices(nz, spacing_z));
    }
    zs.sort_unstable();
    zs.dedup();
    zs
}

/// The midline and each ear's z peak (left, right).
fn locate(g: &Geometry, spec: &CacheSpec) -> (f64, [usize; 2]) {
    let (mid, _) = midline(g, spec);
    let (band_frac, _, _) = spec.crop.search();
    let peaks = [Side::Left, Side::Right].map(|side| match spec.sampling {
        Sampling::Even => g.nz / 2,
        _ => air_peak(g, spec, side, mid, band_frac),
    });
    (mid, peaks)
}

/// Each ear's z plan (left, right).
fn z_plans(g: &Geometry, spec: &CacheSpec, peaks: [usize; 2]) -> [ZPlan; 2] {
    peaks.map(|p| z_plan(g, spec, p))
}

/// Sorted, deduplicated slices.
fn unique(mut zs: Vec<usize>) -> Vec<usize> {
    zs.sort_unstable();
    zs.dedup();
    zs
}

/// The probe slices of a z plan (where the crop centre is looked for): the nearest
/// source slice of evenly spaced output slices.
fn probes(spec: &CacheSpec, plan: &ZPlan) -> Vec<usize> {
    let inside: Vec<usize> = plan
        .iter()
        .filter_map(|at| match *at {
            ZAt::Inside(lo, hi, w) => Some(if w < 0.5 { lo } else { hi }),
            ZAt::Outside(_) => None,
        })
        .collect();
    if inside.is_empty() {
        return Vec::new();
    }
    linspace_idx(0, inside.len() - 1, spec.probe_slices.min(inside.len()))
        .into_iter()
        .map(|i| inside[i])
        .collect()
}

/// Fills rows of the listed slices (for [`extract_ears_lazy`]).
pub type SliceLoader<'a, E> =
    dyn FnMut(&mut LazySlices, &[usize], std::ops::Range<usize>) -> Result<(), E> + 'a;

/// Extracts both ears when only what it reads is decoded: `load(slices, zs, rows)` must
/// fill at least those rows of those slices ([`LazySlices::missing`] says which are not
/// yet, [`LazySlices::rows_mut`] takes them). Whole slices are asked for where the
/// midline and the crop centres are looked for, and only the rows the crops sample of
/// the other slices. The records equal those of [`extract_ears`] on the fully decoded
/// volume, whatever the rest of the buffer holds.
///
/// # Errors
/// Whatever `load` returns.
pub fn extract_ears_lazy<E>(
    slices: &mut LazySlices,
    spec: &CacheSpec,
    load: &mut SliceLoader<'_, E>,
) -> Result<[EarRecord; 2], E> {
    let [nz, ny, _] = slices.shape();
    let spacing_z = Geometry::lazy(slices).v.spacing[0];
    let located = locate_slices(nz, spacing_z, spec);
    // Room for every slice it may ask for: the probes, and two per output slice and ear.
    slices.reserve_slots(located.len() + 2 * spec.probe_slices + 4 * spec.num_slices);
    load(slices, &located, 0..ny)?;
    let (mid, peaks) = locate(&Geometry::lazy(slices), spec);
    let plans = z_plans(&Geometry::lazy(slices), spec, peaks);
    let probed = unique(plans.iter().flat_map(|p| probes(spec, p)).collect());
    load(slices, &probed, 0..ny)?;
    let ears = centres(&Geometry::lazy(slices), spec, mid, plans);
    let grids = ears
        .each_ref()
        .map(|e| sample::grid(&Geometry::lazy(slices), spec, mid, e));
    let rows = grids
        .iter()
        .filter_map(sample::Grid::source_rows)
        .reduce(|a, b| a.start.min(b.start)..a.end.max(b.end))
        .unwrap_or(0..0);
    // Output slice by output slice, both ears: each source slice is cropped while the
    // rows just decoded are still in cache.
    let mut writers = [(); 2].map(|()| sample::RecordWriter::new(spec));
    for k in 0..ears[0].plan.len().max(ears[1].plan.len()) {
        let at: Vec<_> = ears.iter().filter_map(|e| e.plan.get(k).copied()).collect();
        load(
            slices,
            &unique(at.iter().flat_map(|a| a.slices()).collect()),
            rows.clone(),
        )?;
        let g = Geometry::lazy(slices);
        for ((writer, ear), grid) in writers.iter_mut().zip(&ears).zip(&grids) {
            if let Some(&at) = ear.plan.get(k) {
                writer.push(&g, grid, at);
            }
        }
    }
    let g = Geometry::lazy(slices);
    let [wl, wr] = writers;
    Ok([
        wl.finish(&g, mid, &ears[0], &grids[0]),
        wr.finish(&g, mid, &ears[1], &grids[1]),
    ])
}

/// Where one ear's record samples its volume.
pub(super) struct EarPlan {
    side: Side,
    plan: ZPlan,
    /// Crop centre: row and side-local column.
    cy: f64,
    cu: f64,
    source: CentreSource,
}

/// Crop centres and records, given the midline and the z peaks.
fn finish(g: &Geometry, spec: &CacheSpec, mid: f64, peaks: [usize; 2]) -> [EarRecord; 2] {
    let ears = centres(g, spec, mid, z_plans(g, spec, peaks));
    ears.map(|e| {
        let grid = sample::grid(g, spec, mid, &e);
        sample::record(g, spec, mid, &e, &grid)
    })
}

/// Each ear's crop centre (reads the probe slices of the plans, whole).
fn centres(g: &Geometry, spec: &CacheSpec, mid: f64, plans: [ZPlan; 2]) -> [EarPlan; 2] {
    let (band_frac, bias, min_area) = spec.crop.search();
    // Phase 1: the in-plane centre of each ear.
    let [pl, pr] = plans;
    let mut ears = [(Side::Left, pl), (Side::Right, pr)].map(|(side, plan)| {
        // Crop centre: median over probe slices among the sampled ones.
        let probes = probes(spec, &plan);
        let mut ys = Vec::new();
        let mut us = Vec::new();
        let mut sources = [0usize; 5];
        // Prefer the air of the middle ear and mastoid, weighted by area.
        let (mut ay, mut au, mut aw) = (0.0, 0.0, 0.0);
        for &z in &probes {
            if let (_, Some((y, u, area))) = enclosed_air(g, spec, side, mid, band_frac, z, 1) {
                ay += y * area;
                au += u * area;
                aw += area;
            }
        }
        if aw >= MIN_AIR_MM2 {
            ys.push(ay / aw);
            us.push(au / aw);
            sources[CentreSource::Air as usize] += 1;
        }
        for z in probes.iter().copied().filter(|_| aw < MIN_AIR_MM2) {
            let (y, u, src) = slice_centre(g, side, mid, z, spec, (band_frac, bias, min_area));
            sources[src as usize] += 1;
            if src != CentreSource::NoBone {
                ys.push(y);
                us.push(u);
            }
        }
        let half = half_width(g, side, mid);
        let cy = median(&mut ys).unwrap_or(g.ny as f64 / 2.0);
        let cu = median(&mut us).unwrap_or(half as f64 / 2.0);
        let source = if sources[CentreSource::Air as usize] > 0 {
            CentreSource::Air
        } else if sources[CentreSource::Component as usize] > 0 {
            CentreSource::Component
        } else if sources[CentreSource::SmallComponent as usize] > 0 {
            CentreSource::SmallComponent
        } else {
            CentreSource::NoBone
        };
        EarPlan {
            side,
            plan,
            cy,
            cu,
            source,
        }
    });
    // Phase 2: an ear without resolved air (opacified, or poorly pneumatised) takes the
    // mirror image of the other ear's air centre when it has one: the two temporal
    // bones are nearly symmetric, the bone fallback is not.
    for (this, other) in [(0, 1), (1, 0)] {
        if ears[this].source != CentreSource::Air && ears[other].source == CentreSource::Air {
            ears[this].cy = ears[other].cy;
            ears[this].cu = ears[other].cu;
            ears[this].source = CentreSource::MirroredAir;
        }
    }
    ears
}

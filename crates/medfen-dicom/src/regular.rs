//! Irregular slice geometry made regular: gaps, uneven steps and gantry tilt.
//!
//! [`load_volume`](crate::load_volume) stacks the slices it finds at the median step,
//! so with a gap or uneven steps the volume's affine puts slices where they are not,
//! and under gantry tilt its grid is sheared (slice origins drift in-plane from slice
//! to slice). [`regularize`] resamples such a volume onto a regular, orthogonal grid
//! from the slices' real positions: along the slice normal at the median spacing
//! (linear between the two neighbouring slices; a gap is bridged, not hidden), and
//! each slice shifted in-plane by its own drift (bilinear), the shear correction
//! dcm2niix applies to tilted CT. Voxels that fall outside every slice are air.

use crate::error::{Error, Result};
use crate::geometry::{cross, dot, scale, sub, unit};
use crate::plan::VolumePlan;
use crate::qa::QaKind;
use crate::volume::Volume;

/// HU of voxels outside the acquired slices.
const AIR: f32 = -1024.0;

/// Why `plan`'s slices are not a regular orthogonal grid (its gap, uneven-spacing and
/// tilt findings, joined), or `None` when they are.
pub fn irregularity(plan: &VolumePlan) -> Option<String> {
    let reasons: Vec<&str> = plan
        .qa
        .iter()
        .filter(|f| {
            matches!(
                f.kind,
                QaKind::Gap | QaKind::NonUniformSpacing | QaKind::GantryTilt
            )
        })
        .map(|f| f.message.as_str())
        .collect();
    (!reasons.is_empty()).then(|| reasons.join("; "))
}

/// Where each slice of a volume really is: its position along the slice normal and
/// its in-plane drift (rows, columns, in voxels), relative to slice 0: voxel `(y, x)`
/// of the regular grid lies at `(y - drift_y, x - drift_x)` of slice `j`.
struct SlicePlaces {
    normal: [f64; 3],
    along: Vec<f64>,
    drift: Vec<[f64; 2]>,
}

impl SlicePlaces {
    fn of(volume: &Volume<i16>, plan: &VolumePlan) -> Result<Self> {
        let refuse = |reason: &str| Error::Geometry {
            series: plan.series.clone(),
            reason: format!("cannot resample onto a regular grid: {reason}"),
            files: plan.files.first().cloned().into_iter().collect(),
        };
        if volume.slice_axis != 0 {
            return Err(refuse("only axial acquisitions are resampled"));
        }
        let positions = plan
            .positions
            .as_ref()
            .ok_or_else(|| refuse("slices without ImagePositionPatient"))?;
        if positions.len() != volume.shape[0] {
            return Err(refuse("the volume does not hold the plan's slices"));
        }
        // Volume slice j is plan slice j, or the reverse when the axis was flipped.
        let reversed = volume.sources.first().map(|s| &s.path) != plan.files.first();
        let at = |j: usize| positions[if reversed { positions.len() - 1 - j } else { j }];
        let [_, d1, d2] = volume.direction;
        let mut normal = unit(cross(d2, d1)).ok_or_else(|| refuse("degenerate axes"))?;
        if dot(normal, volume.direction[0]) < 0.0 {
            normal = scale(normal, -1.0);
        }
        let p0 = at(0);
        let mut along = Vec::with_capacity(positions.len());
        let mut drift = Vec::with_capacity(positions.len());
        for j in 0..positions.len() {
            let d = sub(at(j), p0);
            let t = dot(d, normal);
            let q = sub(d, scale(normal, t));
            along.push(t);
            drift.push([
                dot(q, d1) / volume.spacing[1],
                dot(q, d2) / volume.spacing[2],
            ]);
        }
        if along.windows(2).any(|w| w[1] <= w[0]) {
            return Err(refuse("slice positions do not increase along the normal"));
        }
        Ok(Self {
            normal,
            along,
            drift,
        })
    }

    /// The median step along the normal.
    fn median_step(&self) -> f64 {
        let mut steps: Vec<f64> = self.along.windows(2).map(|w| w[1] - w[0]).collect();
        steps.sort_by(f64::total_cmp);
        steps.get(steps.len() / 2).copied().unwrap_or(1.0)
    }

    /// The two slices around position `t` and the weight of the second.
    fn bracket(&self, t: f64) -> (usize, usize, f64) {
        let hi = self
            .along
            .partition_point(|&a| a < t)
            .min(self.along.len() - 1);
        if hi == 0 {
            return (0, 0, 0.0);
        }
        let lo = hi - 1;
        let w = (t - self.along[lo]) / (self.along[hi] - self.along[lo]);
        (lo, hi, w.clamp(0.0, 1.0))
    }
}

/// Bilinear value of `plane` (`ny` x `nx`) at fractional `(y, x)`; air outside.
fn bilinear(plane: &[i16], ny: usize, nx: usize, y: f64, x: f64) -> f32 {
    if y < 0.0 || x < 0.0 || y > (ny - 1) as f64 || x > (nx - 1) as f64 {
        return AIR;
    }
    let (y0, x0) = (y.floor() as usize, x.floor() as usize);
    let (y1, x1) = ((y0 + 1).min(ny - 1), (x0 + 1).min(nx - 1));
    let (fy, fx) = ((y - y0 as f64) as f32, (x - x0 as f64) as f32);
    let v = |yy: usize, xx: usize| f32::from(plane[yy * nx + xx]);
    let top = v(y0, x0) + (v(y0, x1) - v(y0, x0)) * fx;
    let bottom = v(y1, x0) + (v(y1, x1) - v(y1, x0)) * fx;
    top + (bottom - top) * fy
}

/// `volume` (assembled from `plan`) resampled onto a regular, orthogonal grid: slices
/// every median step along the slice normal from the first slice to the last, each
/// taken from its two neighbouring source slices shifted by their in-plane drift.
/// A volume that already is regular comes back unchanged in content (to rounding).
///
/// # Errors
/// [`Error::Geometry`] for a non-axial acquisition, slices without positions, or
/// positions that do not increase along the normal.
pub fn regularize(volume: &Volume<i16>, plan: &VolumePlan) -> Result<Volume<i16>> {
    let places = SlicePlaces::of(volume, plan)?;
    let step = places.median_step();
    let last = places.along.last().copied().unwrap_or(0.0);
    let nz = (last / step + 1e-6).floor() as usize + 1;
    let [_, ny, nx] = volume.shape;
    let plane_len = ny * nx;
    let plane = |j: usize| &volume.data[j * plane_len..(j + 1) * plane_len];
    let mut data = vec![0i16; nz * plane_len];
    let mut sources = Vec::with_capacity(nz);
    for (i, out) in data.chunks_mut(plane_len).enumerate() {
        let (lo, hi, w) = places.bracket(i as f64 * step);
        sources.push(volume.sources[if w < 0.5 { lo } else { hi }].clone());
        let (a, b) = (places.drift[lo], places.drift[hi]);
        for y in 0..ny {
            for x in 0..nx {
                let (yf, xf) = (y as f64, x as f64);
                let va = bilinear(plane(lo), ny, nx, yf - a[0], xf - a[1]);
                let v = if w > 0.0 {
                    let vb = bilinear(plane(hi), ny, nx, yf - b[0], xf - b[1]);
                    va + (vb - va) * w as f32
                } else {
                    va
                };
                out[y * nx + x] = v.round().clamp(-32768.0, 32767.0) as i16;
            }
        }
    }
    Ok(Volume {
        data,
        shape: [nz, ny, nx],
        spacing: [step, volume.spacing[1], volume.spacing[2]],
        origin: volume.origin,
        direction: [places.normal, volume.direction[1], volume.direction[2]],
        slice_axis: 0,
        sources,
        qa: volume.qa.clone(),
    })
}

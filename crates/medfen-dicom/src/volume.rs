//! A volume in the canonical patient frame, with its geometry and provenance.

use std::path::PathBuf;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::geometry::{Vec3, add, norm, scale};
use crate::qa::QaFinding;

/// Where one slice of a volume came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SliceSource {
    /// The file.
    pub path: PathBuf,
    /// Frame within the file.
    pub frame: u32,
}

/// A 3D image `[z, y, x]` (x fastest) in the canonical LPS frame.
///
/// Array axes are the closest patient axes: x runs towards the patient's **left**,
/// y towards **posterior**, z towards **superior** (for an axial CT, slices go from
/// feet to head and the patient's left ear is at high x). Oblique or tilted acquisitions
/// keep their exact geometry in `direction`; axes are only permuted and flipped, never
/// resampled.
#[derive(Debug, Clone, PartialEq)]
pub struct Volume<T> {
    /// Voxel values, `data[(z * ny + y) * nx + x]`.
    pub data: Vec<T>,
    /// `[nz, ny, nx]`.
    pub shape: [usize; 3],
    /// Length in mm of one step along each array axis, `[z, y, x]`.
    pub spacing: [f64; 3],
    /// LPS position (mm) of the centre of voxel `[0, 0, 0]`.
    pub origin: Vec3,
    /// Unit LPS direction of each array axis, `[z, y, x]` (not orthogonal under gantry tilt).
    pub direction: [Vec3; 3],
    /// Which array axis the source slices run along (0 = z for axial acquisitions).
    pub slice_axis: usize,
    /// Source of each slice along `slice_axis`, by increasing index.
    pub sources: Vec<SliceSource>,
    /// Geometry and intensity findings.
    pub qa: Vec<QaFinding>,
}

/// The geometry of a volume without its voxels (what `--json` summaries print).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VolumeGeometry {
    /// `[nz, ny, nx]`.
    pub shape: [usize; 3],
    /// Step lengths `[z, y, x]` in mm.
    pub spacing: [f64; 3],
    /// LPS position of voxel `[0, 0, 0]`.
    pub origin: Vec3,
    /// Unit LPS directions of the axes `[z, y, x]`.
    pub direction: [Vec3; 3],
    /// 4x4 matrix mapping `(x, y, z, 1)` voxel indices to LPS mm.
    pub affine: [[f64; 4]; 4],
}

impl<T: Copy> Volume<T> {
    /// Number of voxels.
    pub fn len(&self) -> usize {
        self.data.len()
    }

    /// True for an empty volume.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// The value at `[z, y, x]`.
    ///
    /// # Panics
    /// When the index is out of bounds.
    pub fn at(&self, z: usize, y: usize, x: usize) -> T {
        assert!(
            z < self.shape[0] && y < self.shape[1] && x < self.shape[2],
            "index out of bounds"
        );
        self.data[(z * self.shape[1] + y) * self.shape[2] + x]
    }

    /// LPS position (mm) of the centre of voxel `[z, y, x]` (fractional indices allowed).
    pub fn index_to_lps(&self, z: f64, y: f64, x: f64) -> Vec3 {
        let mut p = self.origin;
        for (axis, i) in [z, y, x].into_iter().enumerate() {
            p = add(p, scale(self.direction[axis], i * self.spacing[axis]));
        }
        p
    }

    /// The 4x4 affine mapping `(x, y, z, 1)` indices to LPS mm (ITK/NIfTI column order:
    /// column 0 is the x axis).
    pub fn affine(&self) -> [[f64; 4]; 4] {
        let col = |axis: usize| scale(self.direction[axis], self.spacing[axis]);
        let (cx, cy, cz) = (col(2), col(1), col(0));
        let mut a = [[0.0; 4]; 4];
        for r in 0..3 {
            a[r] = [cx[r], cy[r], cz[r], self.origin[r]];
        }
        a[3] = [0.0, 0.0, 0.0, 1.0];
        a
    }

    /// Shape, spacing, origin, direction and affine.
    pub fn geometry(&self) -> VolumeGeometry {
        VolumeGeometry {
            shape: self.shape,
            spacing: self.spacing,
            origin: self.origin,
            direction: self.direction,
            affine: self.affine(),
        }
    }

    /// The same volume with every value converted by `f`.
    pub fn map<U>(&self, f: impl Fn(T) -> U) -> Volume<U> {
        Volume {
            data: self.data.iter().map(|&v| f(v)).collect(),
            shape: self.shape,
            spacing: self.spacing,
            origin: self.origin,
            direction: self.direction,
            slice_axis: self.slice_axis,
            sources: self.sources.clone(),
            qa: self.qa.clone(),
        }
    }
}

/// An array in acquisition order `[k, r, c]` and the LPS step vectors of its axes.
pub(crate) struct Acquired<T> {
    pub data: Vec<T>,
    pub shape: [usize; 3],
    /// Step vectors of axes k, r, c.
    pub steps: [Vec3; 3],
    pub origin: Vec3,
}

/// Permutes and flips an acquisition-order array so that its axes are the closest to
/// (S, P, L): `[z, y, x]` in LPS. Returns the volume and where the slice axis went.
pub(crate) fn to_canonical<T: Copy + Default + Send + Sync>(
    a: Acquired<T>,
) -> (Vec<T>, [usize; 3], [Vec3; 3], Vec3, usize) {
    // perm[t] = source axis for target t (t = 0: L/x, 1: P/y, 2: S/z), maximising alignment.
    let units: Vec<Vec3> = a
        .steps
        .iter()
        .map(|s| scale(*s, 1.0 / norm(*s).max(1e-12)))
        .collect();
    let perms = [
        [0, 1, 2],
        [0, 2, 1],
        [1, 0, 2],
        [1, 2, 0],
        [2, 0, 1],
        [2, 1, 0],
    ];
    let score = |p: &[usize; 3]| (0..3).map(|t| units[p[t]][t].abs()).sum::<f64>();
    let perm = *perms
        .iter()
        .max_by(|x, y| score(x).total_cmp(&score(y)))
        .expect("six permutations");
    let flip: [bool; 3] = std::array::from_fn(|t| units[perm[t]][t] < 0.0);
    // Output axes in array order [z, y, x] = targets [2, 1, 0].
    let src_axis = [perm[2], perm[1], perm[0]];
    let out_flip = [flip[2], flip[1], flip[0]];
    let out_shape = [
        a.shape[src_axis[0]],
        a.shape[src_axis[1]],
        a.shape[src_axis[2]],
    ];
    let mut origin = a.origin;
    let mut steps = [[0.0; 3]; 3];
    for o in 0..3 {
        let s = src_axis[o];
        if out_flip[o] {
            origin = add(origin, scale(a.steps[s], (a.shape[s] - 1) as f64));
            steps[o] = scale(a.steps[s], -1.0);
        } else {
            steps[o] = a.steps[s];
        }
    }
    let slice_axis = src_axis.iter().position(|&s| s == 0).expect("permutation");
    let identity = src_axis == [0, 1, 2] && out_flip == [false, false, false];
    if identity {
        return (a.data, out_shape, steps, origin, slice_axis);
    }
    // Strides of the source array along each output axis (negative when flipped).
    let src_strides = [a.shape[1] * a.shape[2], a.shape[2], 1];
    let stride: [isize; 3] = std::array::from_fn(|o| {
        let st = src_strides[src_axis[o]] as isize;
        if out_flip[o] { -st } else { st }
    });
    let start: isize = (0..3)
        .filter(|&o| out_flip[o])
        .map(|o| (out_shape[o] as isize - 1) * src_strides[src_axis[o]] as isize)
        .sum();
    let mut out = vec![T::default(); a.data.len()];
    let plane = out_shape[1] * out_shape[2];
    out.par_chunks_mut(plane.max(1))
        .enumerate()
        .for_each(|(z, chunk)| {
            for y in 0..out_shape[1] {
                let mut src = start + z as isize * stride[0] + y as isize * stride[1];
                for v in &mut chunk[y * out_shape[2]..(y + 1) * out_shape[2]] {
                    *v = a.data[src as usize];
                    src += stride[2];
                }
            }
        });
    (out, out_shape, steps, origin, slice_axis)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn acquired(steps: [Vec3; 3]) -> Acquired<u16> {
        // 2 slices x 3 rows x 4 columns, value = 100k + 10r + c.
        let data = (0..2)
            .flat_map(|k| {
                (0..3).flat_map(move |r| (0..4).map(move |c| (100 * k + 10 * r + c) as u16))
            })
            .collect();
        Acquired {
            data,
            shape: [2, 3, 4],
            steps,
            origin: [0.0; 3],
        }
    }

    #[test]
    fn axial_is_untouched() {
        let (data, shape, steps, origin, axis) = to_canonical(acquired([
            [0.0, 0.0, 2.0],
            [0.0, 0.5, 0.0],
            [0.5, 0.0, 0.0],
        ]));
        assert_eq!((shape, origin, axis), ([2, 3, 4], [0.0; 3], 0));
        assert_eq!(steps[2], [0.5, 0.0, 0.0]);
        assert_eq!(data[4 * 3 + 1], 101);
    }

    #[test]
    fn right_to_left_rows_are_flipped_and_sagittal_is_permuted() {
        // Columns run to the patient's right (-x): flip x.
        let (data, shape, steps, origin, _) = to_canonical(acquired([
            [0.0, 0.0, 2.0],
            [0.0, 0.5, 0.0],
            [-0.5, 0.0, 0.0],
        ]));
        assert_eq!(shape, [2, 3, 4]);
        assert_eq!(steps[2], [0.5, 0.0, 0.0]);
        assert_eq!(origin, [-1.5, 0.0, 0.0]);
        assert_eq!(data[0], 3); // column 3 of row 0 first
        // Sagittal: slices along L, rows towards feet (-S), columns towards P.
        let (data, shape, steps, origin, axis) = to_canonical(acquired([
            [1.0, 0.0, 0.0],
            [0.0, 0.0, -0.5],
            [0.0, 0.5, 0.0],
        ]));
        assert_eq!(shape, [3, 4, 2]); // z from rows, y from columns, x from slices
        assert_eq!(axis, 2);
        assert_eq!(steps[0], [0.0, 0.0, 0.5]);
        assert_eq!(origin, [0.0, 0.0, -1.0]);
        // Voxel [z=0,y=0,x=1] = source row 2 (flipped), column 0, slice 1.
        assert_eq!(data[1], 120);
    }
}

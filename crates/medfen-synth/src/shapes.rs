//! Geometry of the phantom: rotations, ellipsoids in patient space, boxes, and painting
//! them into image planes row span by row span.

/// A point or vector in patient space (LPS, mm).
pub(crate) type V3 = [f64; 3];

/// A 3x3 matrix, row-major.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Mat3(pub [[f64; 3]; 3]);

impl Mat3 {
    pub const IDENTITY: Self = Self([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]);

    /// Rotation about z (degrees), then y, then x: `Rx * Ry * Rz`.
    pub fn rotation_deg(about_x: f64, about_y: f64, about_z: f64) -> Self {
        let (sx, cx) = about_x.to_radians().sin_cos();
        let (sy, cy) = about_y.to_radians().sin_cos();
        let (sz, cz) = about_z.to_radians().sin_cos();
        let rx = Self([[1.0, 0.0, 0.0], [0.0, cx, -sx], [0.0, sx, cx]]);
        let ry = Self([[cy, 0.0, sy], [0.0, 1.0, 0.0], [-sy, 0.0, cy]]);
        let rz = Self([[cz, -sz, 0.0], [sz, cz, 0.0], [0.0, 0.0, 1.0]]);
        rx.mul(&ry).mul(&rz)
    }

    pub fn mul(&self, o: &Self) -> Self {
        let mut r = [[0.0; 3]; 3];
        for (i, row) in r.iter_mut().enumerate() {
            for (j, v) in row.iter_mut().enumerate() {
                *v = (0..3).map(|k| self.0[i][k] * o.0[k][j]).sum();
            }
        }
        Self(r)
    }

    pub fn apply(&self, v: V3) -> V3 {
        std::array::from_fn(|i| (0..3).map(|k| self.0[i][k] * v[k]).sum())
    }
}

pub(crate) fn add(a: V3, b: V3) -> V3 {
    [a[0] + b[0], a[1] + b[1], a[2] + b[2]]
}

/// Where the head sits in the scanner: patient space = `rotation * head + translation`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Pose {
    pub rotation: Mat3,
    pub translation: V3,
}

impl Pose {
    pub fn to_world(self, head: V3) -> V3 {
        add(self.rotation.apply(head), self.translation)
    }
}

/// An axis-aligned box in patient space.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Aabb {
    pub min: V3,
    pub max: V3,
}

impl Aabb {
    /// The patient-space box around a head-space box placed by `pose`.
    pub fn of_head_box(min: V3, max: V3, pose: &Pose) -> Self {
        let mut lo = [f64::INFINITY; 3];
        let mut hi = [f64::NEG_INFINITY; 3];
        for corner in 0..8 {
            let h = [
                if corner & 1 == 0 { min[0] } else { max[0] },
                if corner & 2 == 0 { min[1] } else { max[1] },
                if corner & 4 == 0 { min[2] } else { max[2] },
            ];
            let w = pose.to_world(h);
            for a in 0..3 {
                lo[a] = lo[a].min(w[a]);
                hi[a] = hi[a].max(w[a]);
            }
        }
        Self { min: lo, max: hi }
    }

    pub fn centre(&self) -> V3 {
        std::array::from_fn(|a| 0.5 * (self.min[a] + self.max[a]))
    }

    pub fn extent(&self) -> V3 {
        std::array::from_fn(|a| self.max[a] - self.min[a])
    }
}

/// An ellipsoid in patient space: points `p` with `(p - c)^T Q (p - c) <= 1`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Ellipsoid {
    pub centre: V3,
    q: [[f64; 3]; 3],
    half: V3,
}

impl Ellipsoid {
    /// An ellipsoid with semi-axes `semi` along the axes of `local` (a rotation within
    /// the head), centred at head point `centre`, placed by `pose`.
    pub fn new(centre: V3, semi: V3, local: Mat3, pose: &Pose) -> Self {
        let r = pose.rotation.mul(&local);
        let inv_sq = semi.map(|a| 1.0 / (a * a));
        let mut q = [[0.0; 3]; 3];
        for (i, row) in q.iter_mut().enumerate() {
            for (j, v) in row.iter_mut().enumerate() {
                *v = (0..3).map(|k| r.0[i][k] * r.0[j][k] * inv_sq[k]).sum();
            }
        }
        let half = std::array::from_fn(|i| {
            (0..3)
                .map(|k| (r.0[i][k] * semi[k]).powi(2))
                .sum::<f64>()
                .sqrt()
        });
        Self {
            centre: pose.to_world(centre),
            q,
            half,
        }
    }

    /// An axis-aligned (in head space) ellipsoid.
    pub fn aligned(centre: V3, semi: V3, pose: &Pose) -> Self {
        Self::new(centre, semi, Mat3::IDENTITY, pose)
    }

    #[cfg(test)]
    pub fn contains(&self, p: V3) -> bool {
        let d = [
            p[0] - self.centre[0],
            p[1] - self.centre[1],
            p[2] - self.centre[2],
        ];
        let mut s = 0.0;
        for i in 0..3 {
            for j in 0..3 {
                s += d[i] * self.q[i][j] * d[j];
            }
        }
        s <= 1.0
    }

    /// The interval of x where the line (·, y, z) is inside, if any.
    #[inline]
    pub fn x_span(&self, y: f64, z: f64) -> Option<(f64, f64)> {
        let v = y - self.centre[1];
        let w = z - self.centre[2];
        if v.abs() > self.half[1] || w.abs() > self.half[2] {
            return None;
        }
        let q = &self.q;
        let a = q[0][0];
        let b = 2.0 * (q[0][1] * v + q[0][2] * w);
        let c = q[1][1] * v * v + 2.0 * q[1][2] * v * w + q[2][2] * w * w - 1.0;
        let disc = b * b - 4.0 * a * c;
        if disc < 0.0 {
            return None;
        }
        let root = disc.sqrt();
        Some((
            self.centre[0] + (-b - root) / (2.0 * a),
            self.centre[0] + (-b + root) / (2.0 * a),
        ))
    }

    pub fn bbox(&self) -> Aabb {
        Aabb {
            min: std::array::from_fn(|i| self.centre[i] - self.half[i]),
            max: std::array::from_fn(|i| self.centre[i] + self.half[i]),
        }
    }
}

/// When a paint operation changes a pixel.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Condition {
    /// Always.
    Always,
    /// Only pixels that are air (below -500 HU): fluid filling aerated spaces.
    AirOnly,
    /// Only soft tissue or fluid (-500..=500 HU): re-aerating a lining painted before.
    SoftOnly,
}

/// One layer of the phantom: an ellipsoid painted with a value, optionally only on one
/// side of a plane (`normal . (p - point) >= 0`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Paint {
    pub shape: Ellipsoid,
    pub hu: f32,
    pub condition: Condition,
    pub clip: Option<(V3, V3)>,
}

impl Paint {
    pub fn new(shape: Ellipsoid, hu: f32) -> Self {
        Self {
            shape,
            hu,
            condition: Condition::Always,
            clip: None,
        }
    }

    pub fn when(mut self, condition: Condition) -> Self {
        self.condition = condition;
        self
    }

    pub fn clipped(mut self, point: V3, normal: V3) -> Self {
        self.clip = Some((point, normal));
        self
    }

    #[inline]
    fn applies(&self, current: f32, p: V3) -> bool {
        let ok = match self.condition {
            Condition::Always => true,
            Condition::AirOnly => current < -500.0,
            Condition::SoftOnly => (-500.0..=500.0).contains(&current),
        };
        ok && self.clip.is_none_or(|(q, n)| {
            n[0] * (p[0] - q[0]) + n[1] * (p[1] - q[1]) + n[2] * (p[2] - q[2]) >= 0.0
        })
    }
}

/// A grid of pixel centres in a plane: pixel `(r, c)` is at
/// `origin + c * col_step + r * row_step`, where the column step runs along +x.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct PlaneGrid {
    pub origin: V3,
    /// Step between columns (along +x), mm.
    pub dx: f64,
    /// Step between rows (a vector in the y-z plane).
    pub row_step: V3,
    pub rows: usize,
    pub cols: usize,
}

/// Paints the layers in order into `out` (`rows x cols`, row-major) on `grid`.
pub(crate) fn paint_plane(layers: &[Paint], grid: &PlaneGrid, out: &mut [f32]) {
    debug_assert_eq!(out.len(), grid.rows * grid.cols);
    let x_end = grid.origin[0] + grid.dx * (grid.cols as f64 - 1.0);
    for layer in layers {
        let bb = layer.shape.bbox();
        if bb.max[0] < grid.origin[0] || bb.min[0] > x_end {
            continue;
        }
        for r in 0..grid.rows {
            let y = grid.origin[1] + r as f64 * grid.row_step[1];
            let z = grid.origin[2] + r as f64 * grid.row_step[2];
            let Some((xa, xb)) = layer.shape.x_span(y, z) else {
                continue;
            };
            let c0 = ((xa - grid.origin[0]) / grid.dx).ceil().max(0.0);
            let c1 = ((xb - grid.origin[0]) / grid.dx)
                .floor()
                .min(grid.cols as f64 - 1.0);
            if c1 < c0 {
                continue;
            }
            let row = &mut out[r * grid.cols..(r + 1) * grid.cols];
            let simple = layer.condition == Condition::Always && layer.clip.is_none();
            if simple {
                row[c0 as usize..=c1 as usize].fill(layer.hu);
            } else {
                for (c, v) in row
                    .iter_mut()
                    .enumerate()
                    .take(c1 as usize + 1)
                    .skip(c0 as usize)
                {
                    let p = [grid.origin[0] + c as f64 * grid.dx, y, z];
                    if layer.applies(*v, p) {
                        *v = layer.hu;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pose(deg: f64) -> Pose {
        Pose {
            rotation: Mat3::rotation_deg(deg, -deg / 2.0, deg * 1.5),
            translation: [3.0, -4.0, 10.0],
        }
    }

    #[test]
    fn spans_agree_with_point_membership() {
        let p = pose(20.0);
        let e = Ellipsoid::new(
            [10.0, 5.0, -3.0],
            [8.0, 4.0, 6.0],
            Mat3::rotation_deg(0.0, 0.0, 30.0),
            &p,
        );
        let bb = e.bbox();
        for yi in -20..=20 {
            for zi in -20..=20 {
                let (y, z) = (
                    e.centre[1] + f64::from(yi) * 0.5,
                    e.centre[2] + f64::from(zi) * 0.5,
                );
                let span = e.x_span(y, z);
                for xi in -40..=40 {
                    let x = e.centre[0] + f64::from(xi) * 0.3;
                    let inside = e.contains([x, y, z]);
                    let in_span = span.is_some_and(|(a, b)| x >= a && x <= b);
                    assert_eq!(inside, in_span, "{x} {y} {z}");
                    if inside {
                        assert!((0..3).all(|k| [x, y, z][k] >= bb.min[k] - 1e-9
                            && [x, y, z][k] <= bb.max[k] + 1e-9));
                    }
                }
            }
        }
    }

    #[test]
    fn painting_respects_order_conditions_and_clips() {
        let p = pose(0.0);
        let grid = PlaneGrid {
            origin: [-10.0, -10.0, 10.0],
            dx: 1.0,
            row_step: [0.0, 1.0, 0.0],
            rows: 21,
            cols: 21,
        };
        let big = Ellipsoid::aligned([0.0, 0.0, 0.0], [8.0, 8.0, 8.0], &p);
        let small = Ellipsoid::aligned([0.0, 0.0, 0.0], [4.0, 4.0, 4.0], &p);
        let layers = [
            Paint::new(big, -1000.0),
            // fluid only in the posterior half (y > 0 in the world: head y + 4 - 4)
            Paint::new(big, 15.0)
                .when(Condition::AirOnly)
                .clipped([0.0, -4.0, 0.0], [0.0, 1.0, 0.0]),
            Paint::new(small, 1500.0),
        ];
        let mut out = vec![0.0f32; 21 * 21];
        paint_plane(&layers, &grid, &mut out);
        let at = |x: i32, y: i32| out[((y + 10) * 21 + x + 10) as usize];
        // the centre is at world (3, -4, 10)
        assert_eq!(at(3, -4), 1500.0); // the last layer wins
        assert_eq!(at(3, -10), -1000.0); // anterior of the clip plane y = -4: air kept
        assert_eq!(at(3, 2), 15.0); // posterior: filled
        assert_eq!(at(10, 10), 0.0); // outside everything
    }
}

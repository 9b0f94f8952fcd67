//! Synthetic series with known geometry for the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use medfen_dicom::writer::{DicomImageSpec, FrameSpec, write_dicom};
use medfen_dicom::{Vec3, Volume};

/// Geometry of a synthetic series: voxel (k, r, c) is at
/// `origin + c * dx * row_dir + r * dy * col_dir + k * step`.
#[derive(Clone)]
pub struct Geom {
    pub rows: u16,
    pub cols: u16,
    pub dy: f64,
    pub dx: f64,
    pub row_dir: Vec3,
    pub col_dir: Vec3,
    pub origin: Vec3,
    pub step: Vec3,
    pub n: usize,
}

/// The stored value written at (k, r, c): unique per voxel, 12-bit.
pub fn stored(k: usize, r: usize, c: usize) -> i32 {
    (100 + 97 * k + 11 * r + c) as i32 % 4096
}

/// HU of that voxel (slope 1, intercept -1024).
pub fn hu(k: usize, r: usize, c: usize) -> i16 {
    (stored(k, r, c) - 1024) as i16
}

impl Geom {
    pub fn axial(n: usize) -> Self {
        Self {
            rows: 12,
            cols: 16,
            dy: 0.5,
            dx: 0.4,
            row_dir: [1.0, 0.0, 0.0],
            col_dir: [0.0, 1.0, 0.0],
            origin: [-3.2, -2.4, 10.0],
            step: [0.0, 0.0, 0.6],
            n,
        }
    }

    pub fn position(&self, k: f64, r: f64, c: f64) -> Vec3 {
        std::array::from_fn(|i| {
            self.origin[i]
                + c * self.dx * self.row_dir[i]
                + r * self.dy * self.col_dir[i]
                + k * self.step[i]
        })
    }

    /// (k, r, c) of an LPS point, solving the 3x3 system by Cramer's rule.
    pub fn indices_of(&self, p: Vec3) -> [f64; 3] {
        let a: [Vec3; 3] = [
            std::array::from_fn(|i| self.dx * self.row_dir[i]),
            std::array::from_fn(|i| self.dy * self.col_dir[i]),
            self.step,
        ];
        let b: Vec3 = std::array::from_fn(|i| p[i] - self.origin[i]);
        let det = |m: [Vec3; 3]| {
            m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1])
                - m[1][0] * (m[0][1] * m[2][2] - m[0][2] * m[2][1])
                + m[2][0] * (m[0][1] * m[1][2] - m[0][2] * m[1][1])
        };
        let d = det(a);
        let solve = |col: usize| {
            let mut m = a;
            m[col] = b;
            det(m) / d
        };
        [solve(2), solve(1), solve(0)]
    }

    pub fn spec(&self, k: usize, uid: &str) -> DicomImageSpec {
        DicomImageSpec {
            rows: self.rows,
            cols: self.cols,
            pixel_spacing: Some([self.dy, self.dx]),
            orientation: Some([
                self.row_dir[0],
                self.row_dir[1],
                self.row_dir[2],
                self.col_dir[0],
                self.col_dir[1],
                self.col_dir[2],
            ]),
            series_uid: uid.to_owned(),
            sop_instance_uid: format!("{uid}.{k}"),
            instance_number: Some(k as i64 + 1),
            frames: vec![FrameSpec {
                position: Some(self.position(k as f64, 0.0, 0.0)),
                slope: 1.0,
                intercept: -1024.0,
                stored: self.plane(k),
            }],
            ..DicomImageSpec::default()
        }
    }

    pub fn plane(&self, k: usize) -> Vec<i32> {
        (0..usize::from(self.rows))
            .flat_map(|r| (0..usize::from(self.cols)).map(move |c| stored(k, r, c)))
            .collect()
    }

    /// Writes slices `ks` as files whose names are not in slice order.
    pub fn write(
        &self,
        dir: &Path,
        uid: &str,
        ks: &[usize],
        edit: impl Fn(usize, &mut DicomImageSpec),
    ) -> Vec<PathBuf> {
        ks.iter()
            .map(|&k| {
                let mut spec = self.spec(k, uid);
                edit(k, &mut spec);
                let path = dir.join(file_name(uid, k));
                write_dicom(&path, &spec).unwrap();
                path
            })
            .collect()
    }

    pub fn write_all(&self, dir: &Path, uid: &str) -> Vec<PathBuf> {
        self.write(dir, uid, &(0..self.n).collect::<Vec<_>>(), |_, _| {})
    }
}

/// File name of slice `k` of series `uid`: not in slice order.
pub fn file_name(uid: &str, k: usize) -> String {
    format!("{}_IM{:05}.dcm", uid.replace('.', "_"), (k * 7919) % 99_991)
}

/// Asserts two spacing/coordinate triples agree to 1e-9 mm.
pub fn assert_close(a: [f64; 3], b: [f64; 3]) {
    assert!(
        a.iter().zip(&b).all(|(x, y)| (x - y).abs() < 1e-9),
        "{a:?} vs {b:?}"
    );
}

/// Checks every voxel: its LPS position maps back to integer source indices (to
/// 1e-4 mm) of a slice in `present`, and it holds that voxel's HU.
pub fn check_every_voxel(vol: &Volume<i16>, g: &Geom) {
    let [nz, ny, nx] = vol.shape;
    assert_eq!(
        nz * ny * nx,
        g.n * usize::from(g.rows) * usize::from(g.cols),
        "voxel count"
    );
    for z in 0..nz {
        for y in 0..ny {
            for x in 0..nx {
                let p = vol.index_to_lps(z as f64, y as f64, x as f64);
                let [k, r, c] = g.indices_of(p);
                let (ki, ri, ci) = (k.round(), r.round(), c.round());
                let q = g.position(ki, ri, ci);
                let err =
                    ((p[0] - q[0]).powi(2) + (p[1] - q[1]).powi(2) + (p[2] - q[2]).powi(2)).sqrt();
                assert!(
                    err < 1e-4,
                    "voxel [{z},{y},{x}] at {p:?} is {err} mm from source voxel ({k},{r},{c})"
                );
                let v = vol.at(z, y, x);
                assert_eq!(
                    v,
                    hu(ki as usize, ri as usize, ci as usize),
                    "value at [{z},{y},{x}] (source {ki},{ri},{ci})"
                );
            }
        }
    }
}

pub fn rot_x(v: Vec3, deg: f64) -> Vec3 {
    let (s, c) = deg.to_radians().sin_cos();
    [v[0], c * v[1] - s * v[2], s * v[1] + c * v[2]]
}

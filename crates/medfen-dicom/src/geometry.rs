//! Small 3-vector helpers and orientation classification in the patient (LPS) frame.

use serde::{Deserialize, Serialize};

/// A point or direction in LPS millimetres.
pub type Vec3 = [f64; 3];

pub(crate) fn dot(a: Vec3, b: Vec3) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

pub(crate) fn cross(a: Vec3, b: Vec3) -> Vec3 {
    [
        a[1] * b[2] - a[2] * b[1],
        a[2] * b[0] - a[0] * b[2],
        a[0] * b[1] - a[1] * b[0],
    ]
}

pub(crate) fn norm(a: Vec3) -> f64 {
    dot(a, a).sqrt()
}

pub(crate) fn scale(a: Vec3, s: f64) -> Vec3 {
    [a[0] * s, a[1] * s, a[2] * s]
}

pub(crate) fn add(a: Vec3, b: Vec3) -> Vec3 {
    [a[0] + b[0], a[1] + b[1], a[2] + b[2]]
}

pub(crate) fn sub(a: Vec3, b: Vec3) -> Vec3 {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}

/// `a / |a|`, or `None` for a (near) zero vector.
pub(crate) fn unit(a: Vec3) -> Option<Vec3> {
    let n = norm(a);
    (n > 1e-9).then(|| scale(a, 1.0 / n))
}

/// The anatomical plane of a slice stack, from its normal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Plane {
    /// Normal closest to head-feet.
    Axial,
    /// Normal closest to front-back.
    Coronal,
    /// Normal closest to left-right.
    Sagittal,
}

/// Orientation of a slice stack: the closest plane and how far from it the normal is.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Orientation {
    /// Closest anatomical plane.
    pub plane: Plane,
    /// Angle between the slice normal and that plane's axis, in degrees.
    pub obliquity_deg: f64,
}

impl Orientation {
    /// Classifies the stack whose rows run along `row` and columns along `col`.
    pub fn from_cosines(row: Vec3, col: Vec3) -> Option<Self> {
        let n = unit(cross(row, col))?;
        let axis = (0..3).fold(
            0,
            |best, i| if n[i].abs() > n[best].abs() { i } else { best },
        );
        let c = n[axis];
        let plane = match axis {
            0 => Plane::Sagittal,
            1 => Plane::Coronal,
            _ => Plane::Axial,
        };
        Some(Self {
            plane,
            obliquity_deg: c.abs().clamp(0.0, 1.0).acos().to_degrees(),
        })
    }

    /// "axial", or "axial+15.0°" for an oblique stack.
    pub fn label(&self) -> String {
        let name = match self.plane {
            Plane::Axial => "axial",
            Plane::Coronal => "coronal",
            Plane::Sagittal => "sagittal",
        };
        if self.obliquity_deg < 0.5 {
            name.to_owned()
        } else {
            format!("{name}+{:.1}°", self.obliquity_deg)
        }
    }
}

/// Splits Image Orientation (Patient) into unit row and column cosines.
pub(crate) fn cosines(iop: [f64; 6]) -> Option<(Vec3, Vec3)> {
    Some((
        unit([iop[0], iop[1], iop[2]])?,
        unit([iop[3], iop[4], iop[5]])?,
    ))
}

/// True when two orientations agree within `tol` per cosine component.
pub(crate) fn same_orientation(a: [f64; 6], b: [f64; 6], tol: f64) -> bool {
    a.iter().zip(&b).all(|(x, y)| (x - y).abs() <= tol)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_planes_and_obliquity() {
        let ax = Orientation::from_cosines([1.0, 0.0, 0.0], [0.0, 1.0, 0.0]).unwrap();
        assert_eq!((ax.plane, ax.label()), (Plane::Axial, "axial".to_owned()));
        let sag = Orientation::from_cosines([0.0, 1.0, 0.0], [0.0, 0.0, -1.0]).unwrap();
        assert_eq!(sag.plane, Plane::Sagittal);
        let t = 15f64.to_radians();
        let obl = Orientation::from_cosines([1.0, 0.0, 0.0], [0.0, t.cos(), -t.sin()]).unwrap();
        assert_eq!(obl.plane, Plane::Axial);
        assert!((obl.obliquity_deg - 15.0).abs() < 1e-9);
        assert_eq!(obl.label(), "axial+15.0°");
        assert!(Orientation::from_cosines([1.0, 0.0, 0.0], [1.0, 0.0, 0.0]).is_none());
    }
}

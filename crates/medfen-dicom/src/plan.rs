//! Assembly geometry of a series, from headers alone: slice order along the normal,
//! spacing from positions, and the QA findings. No pixel is read here.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::geometry::{Vec3, cosines, cross, dot, norm, same_orientation, scale, sub, unit};
use crate::header::{DicomHeader, FrameGeometry};
use crate::qa::{QaFinding, QaKind};
use crate::series::{Series, SliceRef, median};

/// Tolerances of the assembly checks. `Default` is the documented behaviour.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct AssemblyOptions {
    /// A step larger than this multiple of the median step is a gap (default 1.5).
    pub gap_factor: f64,
    /// Relative deviation of a step from the median reported as non-uniform (default 0.01).
    pub spacing_tolerance: f64,
    /// Positions closer than this (mm) are duplicates (default 0.001).
    pub duplicate_tolerance: f64,
    /// Stack-to-normal angle (degrees) above which the stack is reported tilted (default 0.01).
    pub tilt_tolerance_deg: f64,
}

impl Default for AssemblyOptions {
    fn default() -> Self {
        Self {
            gap_factor: 1.5,
            spacing_tolerance: 0.01,
            duplicate_tolerance: 1e-3,
            tilt_tolerance_deg: 0.01,
        }
    }
}

/// How the slices of a series map into patient space, before any pixel is read.
///
/// Voxel `(k, r, c)` (slice, row, column, in acquisition order) lies at
/// `origin + c * column_step + r * row_step + k * slice_step` (LPS mm).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VolumePlan {
    /// Series id.
    pub series: String,
    /// The slices in order of increasing position along the normal.
    pub slices: Vec<SliceRef>,
    /// Their files (parallel to `slices`).
    pub files: Vec<PathBuf>,
    /// Slices left out (duplicate positions).
    pub excluded: Vec<SliceRef>,
    /// Rows per slice.
    pub rows: usize,
    /// Columns per slice.
    pub cols: usize,
    /// LPS position of the first voxel's centre.
    pub origin: Vec3,
    /// LPS step from one column to the next (row direction x column spacing).
    pub column_step: Vec3,
    /// LPS step from one row to the next (column direction x row spacing).
    pub row_step: Vec3,
    /// LPS step from one slice to the next (median step; sheared under gantry tilt).
    pub slice_step: Vec3,
    /// Median distance between neighbouring slices along the normal, in mm.
    pub slice_spacing: f64,
    /// ImagePositionPatient of each slice (parallel to `slices`), when every slice has
    /// one: what [`crate::regularize`] resamples from.
    pub positions: Option<Vec<Vec3>>,
    /// Geometry findings.
    pub qa: Vec<QaFinding>,
}

/// Plans the volume of `series`.
///
/// Slices are ordered by the projection of ImagePositionPatient on the slice normal
/// (row cosines x column cosines), never by InstanceNumber or SliceLocation; the slice
/// spacing is the median of the steps between neighbours. When positions are missing,
/// InstanceNumber orders the slices and the spacing comes from SpacingBetweenSlices or
/// SliceThickness, and a finding says so.
///
/// A single slice gives a one-slice volume whose slice step is the nominal thickness
/// (or 1 mm).
///
/// # Errors
/// [`Error::Geometry`] when the frames differ in size or orientation (naming the
/// minority files).
///
/// # Panics
/// Only for headers that were not made by [`crate::read_header`] (which always records
/// one geometry entry per frame).
pub fn plan_volume(
    series: &Series,
    headers: &[DicomHeader],
    options: &AssemblyOptions,
) -> Result<VolumePlan> {
    let mut p = Planner {
        series,
        headers,
        options,
        qa: Vec::new(),
    };
    let first = *series
        .slices
        .first()
        .ok_or_else(|| p.error("no slices".into(), Vec::new()))?;
    let (rows, cols) = p.check_sizes(&first)?;
    let (row_dir, col_dir, normal) = p.directions(&first)?;
    let (dy, dx) = p.pixel_spacing(&first);
    let all_positions = series
        .slices
        .iter()
        .all(|s| p.frame_of(s).position.is_some());
    let mut ordered = p.order(normal, all_positions);
    let mut excluded = Vec::new();
    if all_positions {
        (ordered, excluded) = p.drop_duplicates(ordered);
    }
    let (slice_spacing, slice_step) = if all_positions && ordered.len() > 1 {
        p.measured_steps(&ordered, normal, &first)
    } else {
        p.nominal_step(normal, &first)
    };
    let origin = ordered[0].2.unwrap_or([0.0; 3]);
    let files = ordered.iter().map(|o| p.path_of(&o.0)).collect();
    let positions = ordered.iter().map(|o| o.2).collect();
    Ok(VolumePlan {
        series: series.id.clone(),
        slices: ordered.into_iter().map(|o| o.0).collect(),
        files,
        excluded,
        rows: usize::from(rows),
        cols: usize::from(cols),
        origin,
        column_step: scale(row_dir, dx),
        row_step: scale(col_dir, dy),
        slice_step,
        slice_spacing,
        positions,
        qa: p.qa,
    })
}

/// A slice in stack order: the slice, its position along the normal (or its
/// InstanceNumber when positions are missing), and its position.
type Ordered = (SliceRef, f64, Option<Vec3>);

/// The series being planned and the findings so far.
struct Planner<'a> {
    series: &'a Series,
    headers: &'a [DicomHeader],
    options: &'a AssemblyOptions,
    qa: Vec<QaFinding>,
}

impl Planner<'_> {
    fn path_of(&self, s: &SliceRef) -> PathBuf {
        self.headers[s.header].path.clone()
    }

    fn frame_of(&self, s: &SliceRef) -> FrameGeometry {
        let h = &self.headers[s.header];
        h.frames.get(s.frame as usize).cloned().unwrap_or_else(|| {
            h.frames
                .first()
                .cloned()
                .expect("an image header has at least one frame")
        })
    }

    fn error(&self, reason: String, files: Vec<PathBuf>) -> Error {
        Error::Geometry {
            series: self.series.id.clone(),
            reason,
            files,
        }
    }

    /// The files of the slices for which `differs` holds.
    fn files_where(&self, differs: impl Fn(&SliceRef) -> bool) -> Vec<PathBuf> {
        self.series
            .slices
            .iter()
            .filter(|s| differs(s))
            .map(|s| self.path_of(s))
            .collect()
    }

    /// Rows and columns, the same for every frame.
    fn check_sizes(&self, first: &SliceRef) -> Result<(u16, u16)> {
        let h = &self.headers[first.header];
        let (rows, cols) = (h.rows, h.cols);
        let mismatched = self.files_where(|s| {
            let h = &self.headers[s.header];
            (h.rows, h.cols) != (rows, cols)
        });
        if mismatched.is_empty() {
            return Ok((rows, cols));
        }
        Err(self.error(
            format!(
                "mixed image sizes: {} frame(s) differ from {cols}x{rows}",
                mismatched.len()
            ),
            mismatched,
        ))
    }

    /// Row and column cosines (the same for every frame) and the slice normal.
    fn directions(&mut self, first: &SliceRef) -> Result<(Vec3, Vec3, Vec3)> {
        let orientation = self.frame_of(first).orientation;
        let odd = self.files_where(|s| match (self.frame_of(s).orientation, orientation) {
            (Some(a), Some(b)) => !same_orientation(a, b, 1e-4),
            (a, b) => a.is_some() != b.is_some(),
        });
        if !odd.is_empty() {
            return Err(self.error(
                format!(
                    "mixed orientations: {} frame(s) differ from the first",
                    odd.len()
                ),
                odd,
            ));
        }
        let (row_dir, col_dir) = if let Some(rc) = orientation.and_then(cosines) {
            rc
        } else {
            self.qa.push(QaFinding::new(
                QaKind::OrientationMissing,
                "ImageOrientationPatient missing or invalid: axial orientation assumed",
                vec![self.path_of(first)],
            ));
            ([1.0, 0.0, 0.0], [0.0, 1.0, 0.0])
        };
        let normal = unit(cross(row_dir, col_dir)).ok_or_else(|| {
            self.error(
                "row and column cosines are parallel".into(),
                vec![self.path_of(first)],
            )
        })?;
        Ok((row_dir, col_dir, normal))
    }

    /// The first frame's pixel spacing (row, column), with findings when it is missing
    /// or varies.
    fn pixel_spacing(&mut self, first: &SliceRef) -> (f64, f64) {
        let spacing = self.frame_of(first).pixel_spacing;
        let (dy, dx) = match spacing {
            Some([r, c]) if r > 0.0 && c > 0.0 => (r, c),
            _ => {
                self.qa.push(QaFinding::new(
                    QaKind::PixelSpacingMissing,
                    "PixelSpacing missing: 1 mm assumed",
                    vec![self.path_of(first)],
                ));
                (1.0, 1.0)
            }
        };
        let varying = self.files_where(|s| {
            self.frame_of(s)
                .pixel_spacing
                .zip(spacing)
                .is_some_and(|(a, b)| (a[0] - b[0]).abs() > 1e-4 || (a[1] - b[1]).abs() > 1e-4)
        });
        if !varying.is_empty() {
            self.qa.push(QaFinding::new(
                QaKind::PixelSpacingVaries,
                format!(
                    "PixelSpacing differs from the first slice's {dy}\\{dx} in {} slice(s)",
                    varying.len()
                ),
                varying,
            ));
        }
        (dy, dx)
    }

    /// The slices in stack order: by position along the normal, or by InstanceNumber
    /// (with a finding) when a position is missing. Ties (duplicates) keep
    /// InstanceNumber order, then file order.
    fn order(&mut self, normal: Vec3, all_positions: bool) -> Vec<Ordered> {
        let mut ordered: Vec<Ordered> = if all_positions {
            self.series
                .slices
                .iter()
                .map(|s| {
                    let p = self.frame_of(s).position.expect("checked");
                    (*s, dot(p, normal), Some(p))
                })
                .collect()
        } else {
            let missing = self.files_where(|s| self.frame_of(s).position.is_none());
            self.qa.push(QaFinding::new(
                QaKind::InstanceNumberFallback,
                format!("{} frame(s) lack ImagePositionPatient: ordered by InstanceNumber, spacing from header", missing.len()),
                missing,
            ));
            self.series
                .slices
                .iter()
                .map(|s| {
                    let h = &self.headers[s.header];
                    let n = h.instance_number.unwrap_or(0) as f64 + f64::from(s.frame);
                    (*s, n, None)
                })
                .collect()
        };
        let headers = self.headers;
        ordered.sort_by(|a, b| {
            a.1.total_cmp(&b.1)
                .then_with(|| {
                    headers[a.0.header]
                        .instance_number
                        .cmp(&headers[b.0.header].instance_number)
                })
                .then_with(|| a.0.cmp(&b.0))
        });
        ordered
    }

    /// Leaves out slices that repeat a position already present (with a finding).
    fn drop_duplicates(&mut self, ordered: Vec<Ordered>) -> (Vec<Ordered>, Vec<SliceRef>) {
        let mut kept: Vec<Ordered> = Vec::with_capacity(ordered.len());
        let mut excluded = Vec::new();
        let mut dup_files: Vec<PathBuf> = Vec::new();
        for item in ordered {
            match kept.last() {
                Some(last) if (item.1 - last.1).abs() < self.options.duplicate_tolerance => {
                    if dup_files.last() != Some(&self.path_of(&last.0)) {
                        dup_files.push(self.path_of(&last.0));
                    }
                    dup_files.push(self.path_of(&item.0));
                    excluded.push(item.0);
                }
                _ => kept.push(item),
            }
        }
        if !excluded.is_empty() {
            self.qa.push(QaFinding::new(
                QaKind::DuplicatePosition,
                format!(
                    "{} slice(s) repeat a position already present and were left out",
                    excluded.len()
                ),
                dup_files,
            ));
        }
        (kept, excluded)
    }

    /// Spacing (median step along the normal) and slice step (along the stack,
    /// sheared when tilted) of two or more positioned slices, with gap, spacing and tilt
    /// findings.
    fn measured_steps(
        &mut self,
        ordered: &[Ordered],
        normal: Vec3,
        first: &SliceRef,
    ) -> (f64, Vec3) {
        let steps: Vec<f64> = ordered.windows(2).map(|w| w[1].1 - w[0].1).collect();
        let med = median(&mut steps.clone()).expect("two or more slices");
        for (kind, bad, msg) in step_findings(&steps, med, self.options) {
            let files: Vec<PathBuf> = bad
                .iter()
                .flat_map(|&i| [self.path_of(&ordered[i].0), self.path_of(&ordered[i + 1].0)])
                .collect();
            self.qa.push(QaFinding::new(kind, msg, files));
        }
        // The stack direction from first to last position; sheared when tilted.
        let p0 = ordered[0].2.expect("positions");
        let pn = ordered[ordered.len() - 1].2.expect("positions");
        let along = unit(sub(pn, p0)).unwrap_or(normal);
        let cos_tilt = dot(along, normal).clamp(-1.0, 1.0);
        let tilt = cos_tilt.acos().to_degrees();
        if tilt > self.options.tilt_tolerance_deg {
            let recorded = self.headers[first.header]
                .gantry_tilt
                .map_or_else(|| "not recorded".into(), |t| format!("{t}°"));
            self.qa.push(QaFinding::new(
                QaKind::GantryTilt,
                format!(
                    "slice stack is {tilt:.2}° off the slice normal (gantry tilt {recorded}): the voxel grid is sheared; \
                     slices are {med:.4} mm apart along the normal"
                ),
                vec![self.path_of(&ordered[0].0), self.path_of(&ordered[ordered.len() - 1].0)],
            ));
        }
        (med, scale(along, med / cos_tilt))
    }

    /// Spacing from SpacingBetweenSlices or SliceThickness (or 1 mm), along the
    /// normal: one slice, or slices without positions.
    fn nominal_step(&self, normal: Vec3, first: &SliceRef) -> (f64, Vec3) {
        let h = &self.headers[first.header];
        let d = h
            .spacing_between_slices
            .filter(|d| d.abs() > 0.0)
            .or_else(|| self.frame_of(first).slice_thickness)
            .map_or(1.0, f64::abs);
        (d, scale(normal, d))
    }
}

/// Gap and non-uniform-spacing findings over the steps (indices of the bad steps).
fn step_findings(
    steps: &[f64],
    median: f64,
    o: &AssemblyOptions,
) -> Vec<(QaKind, Vec<usize>, String)> {
    let mut out = Vec::new();
    let gaps: Vec<usize> = (0..steps.len())
        .filter(|&i| steps[i] > o.gap_factor * median)
        .collect();
    if !gaps.is_empty() {
        let missing: f64 = gaps
            .iter()
            .map(|&i| (steps[i] / median).round() - 1.0)
            .sum();
        let largest = gaps.iter().map(|&i| steps[i]).fold(0.0, f64::max);
        out.push((
            QaKind::Gap,
            gaps.clone(),
            format!(
                "{} gap(s) larger than {}x the median step {median:.4} mm (largest {largest:.4} mm, about {missing} slice(s) missing)",
                gaps.len(),
                o.gap_factor
            ),
        ));
    }
    let uneven: Vec<usize> = (0..steps.len())
        .filter(|&i| !gaps.contains(&i) && (steps[i] - median).abs() > o.spacing_tolerance * median)
        .collect();
    if !uneven.is_empty() {
        let worst = uneven
            .iter()
            .map(|&i| (steps[i] - median).abs() / median)
            .fold(0.0, f64::max);
        out.push((
            QaKind::NonUniformSpacing,
            uneven,
            format!("slice steps deviate from the median {median:.4} mm by up to {:.2}% (tolerance {:.2}%)", 100.0 * worst, 100.0 * o.spacing_tolerance),
        ));
    }
    out
}

impl VolumePlan {
    /// LPS position of voxel `(k, r, c)` in acquisition order.
    pub fn voxel_position(&self, k: f64, r: f64, c: f64) -> Vec3 {
        let mut p = self.origin;
        for (step, n) in [
            (self.column_step, c),
            (self.row_step, r),
            (self.slice_step, k),
        ] {
            p = [p[0] + n * step[0], p[1] + n * step[1], p[2] + n * step[2]];
        }
        p
    }

    /// Length of the slice step (equals the slice spacing unless the stack is tilted).
    pub fn slice_step_length(&self) -> f64 {
        norm(self.slice_step)
    }
}

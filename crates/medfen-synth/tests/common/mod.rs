//! Helpers shared by the medfen-synth integration tests: the truth and series tables
//! as typed rows, and a file-tree snapshot for byte-identity checks.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// One row of `truth.csv`.
#[derive(Debug, Clone, Deserialize)]
pub struct TruthRow {
    pub exam_id: u64,
    pub patient: String,
    pub date: String,
    pub side: String,
    pub code: u8,
    pub label_blank: bool,
    pub label_row: Option<usize>,
    pub lesion: Option<String>,
    pub variant: Option<String>,
    pub lesion_center_mm_x: Option<f64>,
    pub lesion_center_vox_z: Option<f64>,
    pub lesion_center_vox_y: Option<f64>,
    pub lesion_center_vox_x: Option<f64>,
    pub lesion_extent_vox_z: Option<f64>,
    pub lesion_extent_vox_y: Option<f64>,
    pub lesion_extent_vox_x: Option<f64>,
    pub mirror_center_vox_z: Option<f64>,
    pub mirror_center_vox_y: Option<f64>,
    pub mirror_center_vox_x: Option<f64>,
    pub mirror_extent_vox_z: Option<f64>,
    pub mirror_extent_vox_y: Option<f64>,
    pub mirror_extent_vox_x: Option<f64>,
    pub lesion_center_mm_y: Option<f64>,
    pub lesion_center_mm_z: Option<f64>,
    pub lesion_extent_mm_x: Option<f64>,
    pub lesion_extent_mm_y: Option<f64>,
    pub lesion_extent_mm_z: Option<f64>,
    pub ear_center_mm_x: f64,
    pub ear_center_mm_y: f64,
    pub ear_center_mm_z: f64,
    pub ear_center_vox_z: f64,
    pub ear_center_vox_y: f64,
    pub ear_center_vox_x: f64,
    pub ear_extent_vox_z: f64,
    pub ear_extent_vox_y: f64,
    pub ear_extent_vox_x: f64,
    pub bone_series_uid: String,
    pub bone_series_dir: String,
}

impl TruthRow {
    /// The lesion box in voxels: centre and extent `[z, y, x]`.
    pub fn lesion_voxels(&self) -> Option<([f64; 3], [f64; 3])> {
        Some((
            [
                self.lesion_center_vox_z?,
                self.lesion_center_vox_y?,
                self.lesion_center_vox_x?,
            ],
            [
                self.lesion_extent_vox_z?,
                self.lesion_extent_vox_y?,
                self.lesion_extent_vox_x?,
            ],
        ))
    }

    /// The mirrored box on the other ear in voxels: centre and extent `[z, y, x]`.
    pub fn mirror_voxels(&self) -> Option<([f64; 3], [f64; 3])> {
        Some((
            [
                self.mirror_center_vox_z?,
                self.mirror_center_vox_y?,
                self.mirror_center_vox_x?,
            ],
            [
                self.mirror_extent_vox_z?,
                self.mirror_extent_vox_y?,
                self.mirror_extent_vox_x?,
            ],
        ))
    }
}

/// One row of `series.csv`.
#[derive(Debug, Clone, Deserialize)]
pub struct SeriesRow {
    pub exam_id: u64,
    pub role: String,
    pub intended: bool,
    pub series_number: i64,
    pub series_uid: String,
    pub dir: String,
    pub transfer_syntax: String,
    pub slices: usize,
    pub rows: usize,
    pub columns: usize,
    pub pixel_spacing: f64,
    pub slice_step: Option<f64>,
    pub origin_x: f64,
    pub origin_y: f64,
    pub origin_z: f64,
    pub instance_reversed: bool,
    pub kernel: String,
    pub manufacturer: String,
}

/// Reads a CSV table of `T` rows.
pub fn read_csv<T: for<'de> Deserialize<'de>>(path: &Path) -> Vec<T> {
    let mut reader =
        csv::Reader::from_path(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    reader
        .deserialize()
        .collect::<Result<Vec<T>, _>>()
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every file under `root` (relative path -> bytes).
pub fn snapshot(root: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let rel = path.strip_prefix(root).unwrap().to_path_buf();
                out.insert(rel, std::fs::read(&path).unwrap());
            }
        }
    }
    out
}

/// Mean of `data` (shape `[z, y, x]`) over the box `centre ± extent / 2` (voxel
/// coordinates), each voxel weighted by the fraction of it inside the box: boxes a few
/// voxels wide are compared without rounding their edges. Returns the mean and the
/// box volume in voxels.
pub fn box_mean(data: &[i16], shape: [usize; 3], centre: [f64; 3], extent: [f64; 3]) -> (f64, f64) {
    let weights: [Vec<(usize, f64)>; 3] = std::array::from_fn(|a| {
        let (lo, hi) = (centre[a] - extent[a] / 2.0, centre[a] + extent[a] / 2.0);
        let first = lo.round().max(0.0) as usize;
        let last = (hi.round().max(0.0) as usize).min(shape[a].saturating_sub(1));
        (first..=last)
            .map(|i| {
                let overlap = (hi.min(i as f64 + 0.5) - lo.max(i as f64 - 0.5)).max(0.0);
                (i, overlap)
            })
            .filter(|(_, w)| *w > 0.0)
            .collect()
    });
    let (mut sum, mut total) = (0.0, 0.0);
    for &(z, wz) in &weights[0] {
        for &(y, wy) in &weights[1] {
            for &(x, wx) in &weights[2] {
                let w = wz * wy * wx;
                sum += w * f64::from(data[(z * shape[1] + y) * shape[2] + x]);
                total += w;
            }
        }
    }
    (sum / total.max(f64::MIN_POSITIVE), total)
}

/// Voxel centre and extent `[z, y, x]` of an axis-aligned millimetre box (`centre`,
/// `extent` as x, y, z in LPS) in a volume with identity direction.
pub fn mm_box_voxels(
    origin: [f64; 3],
    spacing: [f64; 3],
    centre: [f64; 3],
    extent: [f64; 3],
) -> ([f64; 3], [f64; 3]) {
    let c = [
        (centre[2] - origin[2]) / spacing[0],
        (centre[1] - origin[1]) / spacing[1],
        (centre[0] - origin[0]) / spacing[2],
    ];
    let e = [
        extent[2] / spacing[0],
        extent[1] / spacing[1],
        extent[0] / spacing[2],
    ];
    (c, e)
}

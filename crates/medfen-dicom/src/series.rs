//! Grouping image headers into series that can each form one volume.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::geometry::{self, Orientation, cosines, dot, same_orientation, unit};
use crate::header::DicomHeader;

/// One frame of one file: the unit a volume is assembled from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct SliceRef {
    /// Index of the file's header in the list the series was grouped from.
    pub header: usize,
    /// Frame within the file (0 for single-frame images).
    pub frame: u32,
}

/// Image frames that share a Series Instance UID, size, orientation and acquisition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Series {
    /// Series Instance UID, with `#2`, `#3`, ... when one UID was split.
    pub id: String,
    /// Study Instance UID.
    pub study_uid: String,
    /// Series Instance UID.
    pub series_uid: String,
    /// Why the UID was split, naming the parts (None when not split).
    pub split: Option<String>,
    /// The frames, in file order.
    pub slices: Vec<SliceRef>,
}

/// Orientation tolerance when grouping (per direction-cosine component).
const ORIENTATION_TOL: f64 = 1e-4;

#[derive(Debug, Clone, PartialEq)]
struct PartKey {
    rows: u16,
    cols: u16,
    orientation: Option<[f64; 6]>,
    acquisition: Option<i64>,
}

impl PartKey {
    fn matches(&self, other: &Self) -> bool {
        self.rows == other.rows
            && self.cols == other.cols
            && self.acquisition == other.acquisition
            && match (self.orientation, other.orientation) {
                (Some(a), Some(b)) => same_orientation(a, b, ORIENTATION_TOL),
                (None, None) => true,
                _ => false,
            }
    }

    fn describe(&self) -> String {
        let mut s = format!("{}x{}", self.cols, self.rows);
        if let Some(o) = self
            .orientation
            .and_then(cosines)
            .and_then(|(r, c)| Orientation::from_cosines(r, c))
        {
            let _ = write!(s, " {}", o.label());
        }
        if let Some(a) = self.acquisition {
            let _ = write!(s, " acquisition {a}");
        }
        s
    }
}

/// Groups the image frames of `headers` into series: by Series Instance UID, then split
/// where image size, orientation or Acquisition Number differ. (Acquisition Number only
/// splits when it forms groups of several frames; scanners that number every slice as
/// its own acquisition are not shattered.)
///
/// Non-image headers are ignored. The result is sorted by study, series number, UID.
pub fn group_series(headers: &[DicomHeader]) -> Vec<Series> {
    let mut by_uid: BTreeMap<(String, String), Vec<SliceRef>> = BTreeMap::new();
    for (i, h) in headers.iter().enumerate() {
        if !h.is_image() {
            continue;
        }
        let refs = by_uid
            .entry((h.study_uid.clone(), h.series_uid.clone()))
            .or_default();
        refs.extend((0..h.number_of_frames).map(|frame| SliceRef { header: i, frame }));
    }
    let mut out = Vec::new();
    for ((study_uid, series_uid), refs) in by_uid {
        let key_of = |r: &SliceRef, with_acq: bool| {
            let h = &headers[r.header];
            PartKey {
                rows: h.rows,
                cols: h.cols,
                orientation: h.frames.get(r.frame as usize).and_then(|f| f.orientation),
                acquisition: if with_acq { h.acquisition_number } else { None },
            }
        };
        let partition = |with_acq: bool| {
            let mut parts: Vec<(PartKey, Vec<SliceRef>)> = Vec::new();
            for r in &refs {
                let k = key_of(r, with_acq);
                match parts.iter_mut().find(|(pk, _)| pk.matches(&k)) {
                    Some((_, v)) => v.push(*r),
                    None => parts.push((k, vec![*r])),
                }
            }
            parts
        };
        let mut parts = partition(true);
        // Acquisition numbers that give every frame its own group are not a real split.
        if parts.len() > 1 && parts.iter().all(|(_, v)| v.len() == 1) {
            parts = partition(false);
        }
        // Largest part first, so `#1`... numbering is stable and meaningful.
        parts.sort_by(|a, b| b.1.len().cmp(&a.1.len()).then_with(|| a.1[0].cmp(&b.1[0])));
        let split = (parts.len() > 1).then(|| {
            let desc: Vec<String> = parts
                .iter()
                .enumerate()
                .map(|(i, (k, v))| format!("#{}: {} frames {}", i + 1, v.len(), k.describe()))
                .collect();
            format!(
                "split by size/orientation/acquisition into {}",
                desc.join("; ")
            )
        });
        for (i, (_, slices)) in parts.into_iter().enumerate() {
            out.push(Series {
                id: if split.is_some() {
                    format!("{series_uid}#{}", i + 1)
                } else {
                    series_uid.clone()
                },
                study_uid: study_uid.clone(),
                series_uid: series_uid.clone(),
                split: split.clone(),
                slices,
            });
        }
    }
    out.sort_by(|a, b| {
        let num = |s: &Series| {
            headers[s.slices[0].header]
                .series_number
                .unwrap_or(i64::MAX)
        };
        (a.study_uid.as_str(), num(a), a.id.as_str()).cmp(&(
            b.study_uid.as_str(),
            num(b),
            b.id.as_str(),
        ))
    });
    out
}

/// What selection and the exam index need to know about a series.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeriesSummary {
    /// Series id (UID, with `#n` when split).
    pub id: String,
    /// Series Instance UID.
    pub series_uid: String,
    /// Series Number.
    pub series_number: Option<i64>,
    /// Series Description.
    pub description: Option<String>,
    /// Modality.
    pub modality: Option<String>,
    /// Image Type values of the first file.
    pub image_type: Vec<String>,
    /// Number of frames.
    pub n_slices: usize,
    /// Number of files.
    pub n_files: usize,
    /// Rows.
    pub rows: u16,
    /// Columns.
    pub cols: u16,
    /// Pixel spacing (between rows, between columns) of the first frame.
    pub pixel_spacing: Option<[f64; 2]>,
    /// Median distance between neighbouring slice positions along the normal, in mm.
    pub slice_spacing: Option<f64>,
    /// Nominal Slice Thickness of the first frame.
    pub slice_thickness: Option<f64>,
    /// Closest plane and obliquity.
    pub orientation: Option<Orientation>,
    /// Convolution Kernel.
    pub kernel: Option<String>,
    /// Manufacturer.
    pub manufacturer: Option<String>,
    /// Model.
    pub model: Option<String>,
    /// Body Part Examined.
    pub body_part: Option<String>,
    /// Transfer syntaxes present.
    pub transfer_syntaxes: Vec<String>,
    /// The files, in path order.
    pub files: Vec<PathBuf>,
    /// Why the UID was split.
    pub split: Option<String>,
}

/// Summarises a series (cheap: headers only).
pub fn summarize(series: &Series, headers: &[DicomHeader]) -> SeriesSummary {
    let first = &headers[series.slices[0].header];
    let frame0 = first.frames.first();
    let orientation = frame0
        .and_then(|f| f.orientation)
        .and_then(cosines)
        .and_then(|(r, c)| Orientation::from_cosines(r, c));
    let normal = frame0
        .and_then(|f| f.orientation)
        .and_then(cosines)
        .and_then(|(r, c)| unit(geometry::cross(r, c)));
    let slice_spacing = normal.and_then(|n| {
        let mut z: Vec<f64> = series
            .slices
            .iter()
            .filter_map(|s| headers[s.header].frames.get(s.frame as usize)?.position)
            .map(|p| dot(p, n))
            .collect();
        z.sort_by(f64::total_cmp);
        let mut steps: Vec<f64> = z
            .windows(2)
            .map(|w| w[1] - w[0])
            .filter(|d| *d > 1e-3)
            .collect();
        median(&mut steps)
    });
    let mut files: Vec<PathBuf> = series
        .slices
        .iter()
        .map(|s| headers[s.header].path.clone())
        .collect();
    files.dedup();
    let mut syntaxes: Vec<String> = series
        .slices
        .iter()
        .map(|s| headers[s.header].transfer_syntax.clone())
        .collect();
    syntaxes.sort();
    syntaxes.dedup();
    SeriesSummary {
        id: series.id.clone(),
        series_uid: series.series_uid.clone(),
        series_number: first.series_number,
        description: first.series_description.clone(),
        modality: first.modality.clone(),
        image_type: first.image_type.clone(),
        n_slices: series.slices.len(),
        n_files: files.len(),
        rows: first.rows,
        cols: first.cols,
        pixel_spacing: frame0.and_then(|f| f.pixel_spacing),
        slice_spacing,
        slice_thickness: frame0.and_then(|f| f.slice_thickness),
        orientation,
        kernel: first.kernel.clone(),
        manufacturer: first.manufacturer.clone(),
        model: first.model.clone(),
        body_part: first.body_part.clone(),
        transfer_syntaxes: syntaxes,
        files,
        split: series.split.clone(),
    }
}

/// Median of the values (sorts them); `None` when empty.
pub(crate) fn median(v: &mut [f64]) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let m = v.len() / 2;
    Some(if v.len() % 2 == 1 {
        v[m]
    } else {
        0.5 * (v[m - 1] + v[m])
    })
}

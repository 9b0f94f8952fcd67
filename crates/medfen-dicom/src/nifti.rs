//! NIfTI-1 (`.nii`, `.nii.gz`) into the same canonical LPS volume as DICOM.
//!
//! The voxel-to-world transform is the sform when its code is set, else the qform
//! (from its quaternion), else the voxel sizes alone (NIfTI "method 1"). NIfTI world
//! coordinates are RAS; they are converted to LPS, and the array is permuted and flipped
//! to the closest canonical orientation exactly as DICOM volumes are.

use std::path::Path;

use nifti::{InMemNiftiVolume, NiftiHeader, NiftiObject, NiftiType, ReaderOptions};

use crate::error::{Error, Result};
use crate::geometry::{Vec3, norm, scale};
use crate::volume::{Acquired, SliceSource, Volume, to_canonical};

/// True for file names NIfTI reading applies to.
pub fn is_nifti(path: &Path) -> bool {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    let stem = name.strip_suffix(".gz").unwrap_or(&name);
    Path::new(stem).extension().is_some_and(|e| e == "nii")
}

/// Reads a 3D (or 2D) NIfTI image as float32 values (scl_slope/scl_inter applied).
///
/// # Errors
/// [`Error::Nifti`] for unreadable files, 4D images, or unsupported data types.
pub fn read_nifti(path: &Path) -> Result<Volume<f32>> {
    let bad = |reason: String| Error::Nifti {
        path: path.to_path_buf(),
        reason,
    };
    let obj = ReaderOptions::new().read_file(path).map_err(|e| match e {
        nifti::NiftiError::InvalidFormat => {
            bad("not a NIfTI-1 file (NIfTI-2 and Analyze headers are not supported)".into())
        }
        other => bad(other.to_string()),
    })?;
    let header = obj.header().clone();
    let ndim = usize::from(header.dim[0]);
    if !(1..=7).contains(&ndim) {
        return Err(bad(format!(
            "dim[0] = {ndim} is not a valid number of dimensions"
        )));
    }
    let dims: Vec<usize> = (1..=ndim).map(|d| usize::from(header.dim[d])).collect();
    if dims.iter().skip(3).any(|&d| d > 1) {
        return Err(bad(format!(
            "{ndim}D image of shape {dims:?}: medfen reads 3D volumes (split 4D series first)"
        )));
    }
    let [nx, ny, nz] = std::array::from_fn(|d| dims.get(d).copied().unwrap_or(1).max(1));
    let values = typed_values(obj.into_volume(), &header).map_err(bad)?;
    if values.len() < nx * ny * nz {
        return Err(bad(format!(
            "{} voxels present, {} expected",
            values.len(),
            nx * ny * nz
        )));
    }
    let (slope, inter) = (header.scl_slope, header.scl_inter);
    let data: Vec<f32> =
        if slope != 0.0 && slope.is_finite() && inter.is_finite() && (slope != 1.0 || inter != 0.0)
        {
            values
                .iter()
                .take(nx * ny * nz)
                .map(|v| (f64::from(*v) * f64::from(slope) + f64::from(inter)) as f32)
                .collect()
        } else {
            values.into_iter().take(nx * ny * nz).collect()
        };
    let affine = lps_affine(&header);
    let column = |c: usize| -> Vec3 { [affine[0][c], affine[1][c], affine[2][c]] };
    // NIfTI data is x-fastest: as a C array it is [k][j][i].
    let acquired = Acquired {
        data,
        shape: [nz, ny, nx],
        steps: [column(2), column(1), column(0)],
        origin: column(3),
    };
    let (data, shape, steps, origin, slice_axis) = to_canonical(acquired);
    let spacing: [f64; 3] = std::array::from_fn(|a| norm(steps[a]));
    let direction = std::array::from_fn(|a| scale(steps[a], 1.0 / spacing[a].max(1e-12)));
    Ok(Volume {
        data,
        shape,
        spacing,
        origin,
        direction,
        slice_axis,
        sources: vec![SliceSource {
            path: path.to_path_buf(),
            frame: 0,
        }],
        qa: Vec::new(),
    })
}

/// The raw voxel values as f32 (before scl_slope/scl_inter).
fn typed_values(
    volume: InMemNiftiVolume,
    header: &NiftiHeader,
) -> std::result::Result<Vec<f32>, String> {
    let ty = header.data_type().map_err(|e| e.to_string())?;
    let err = |e: nifti::NiftiError| e.to_string();
    Ok(match ty {
        NiftiType::Uint8 => volume
            .into_nifti_typed_data::<u8>()
            .map_err(err)?
            .into_iter()
            .map(f32::from)
            .collect(),
        NiftiType::Int8 => volume
            .into_nifti_typed_data::<i8>()
            .map_err(err)?
            .into_iter()
            .map(f32::from)
            .collect(),
        NiftiType::Uint16 => volume
            .into_nifti_typed_data::<u16>()
            .map_err(err)?
            .into_iter()
            .map(f32::from)
            .collect(),
        NiftiType::Int16 => volume
            .into_nifti_typed_data::<i16>()
            .map_err(err)?
            .into_iter()
            .map(f32::from)
            .collect(),
        NiftiType::Uint32 => volume
            .into_nifti_typed_data::<u32>()
            .map_err(err)?
            .into_iter()
            .map(|v| v as f32)
            .collect(),
        NiftiType::Int32 => volume
            .into_nifti_typed_data::<i32>()
            .map_err(err)?
            .into_iter()
            .map(|v| v as f32)
            .collect(),
        NiftiType::Uint64 => volume
            .into_nifti_typed_data::<u64>()
            .map_err(err)?
            .into_iter()
            .map(|v| v as f32)
            .collect(),
        NiftiType::Int64 => volume
            .into_nifti_typed_data::<i64>()
            .map_err(err)?
            .into_iter()
            .map(|v| v as f32)
            .collect(),
        NiftiType::Float32 => volume.into_nifti_typed_data::<f32>().map_err(err)?,
        NiftiType::Float64 => volume
            .into_nifti_typed_data::<f64>()
            .map_err(err)?
            .into_iter()
            .map(|v| v as f32)
            .collect(),
        other => {
            return Err(format!(
                "data type {other:?} is not supported (grayscale numbers only)"
            ));
        }
    })
}

/// The voxel-to-LPS affine (3x4) of a NIfTI header.
fn lps_affine(h: &NiftiHeader) -> [[f64; 4]; 3] {
    let ras: [[f64; 4]; 3] = if h.sform_code > 0 {
        [h.srow_x, h.srow_y, h.srow_z].map(|r| r.map(f64::from))
    } else if h.qform_code > 0 {
        qform_affine(h)
    } else {
        let p = |i: usize| f64::from(h.pixdim[i]).abs().max(1e-6);
        [
            [p(1), 0.0, 0.0, 0.0],
            [0.0, p(2), 0.0, 0.0],
            [0.0, 0.0, p(3), 0.0],
        ]
    };
    // RAS -> LPS: negate the x and y rows.
    [ras[0].map(|v| -v), ras[1].map(|v| -v), ras[2]]
}

/// The qform affine from the quaternion, voxel sizes and qfac (NIfTI-1 method 2).
fn qform_affine(h: &NiftiHeader) -> [[f64; 4]; 3] {
    let (b, c, d) = (
        f64::from(h.quatern_b),
        f64::from(h.quatern_c),
        f64::from(h.quatern_d),
    );
    let a = (1.0 - (b * b + c * c + d * d)).max(0.0).sqrt();
    let r = [
        [
            a * a + b * b - c * c - d * d,
            2.0 * (b * c - a * d),
            2.0 * (b * d + a * c),
        ],
        [
            2.0 * (b * c + a * d),
            a * a + c * c - b * b - d * d,
            2.0 * (c * d - a * b),
        ],
        [
            2.0 * (b * d - a * c),
            2.0 * (c * d + a * b),
            a * a + d * d - b * b - c * c,
        ],
    ];
    let qfac = if h.pixdim[0] < 0.0 { -1.0 } else { 1.0 };
    let zoom = [
        f64::from(h.pixdim[1]),
        f64::from(h.pixdim[2]),
        f64::from(h.pixdim[3]) * qfac,
    ];
    let offset = [
        f64::from(h.quatern_x),
        f64::from(h.quatern_y),
        f64::from(h.quatern_z),
    ];
    std::array::from_fn(|i| {
        [
            r[i][0] * zoom[0],
            r[i][1] * zoom[1],
            r[i][2] * zoom[2],
            offset[i],
        ]
    })
}

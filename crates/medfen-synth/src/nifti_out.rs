//! `--format nifti`: one NIfTI-1 volume per exam (the bone series, int16 HU, RAS
//! affine) and a CSV of exam-level labels, the input of the frozen-feature workflow.

use std::io::Write;
use std::path::Path;

use flate2::{Compression, GzBuilder};
use rayon::prelude::*;

use crate::cohort::Cohort;
use crate::config::SynthConfig;
use crate::ct::ExamScan;
use crate::error::{Error, Result};
use crate::truth;
use medfen_io::Table;

/// Exam-level label columns, one per code 1..=6: 1 when either ear has the code.
pub const LABEL_COLUMNS: [&str; 6] = [
    "label_csom",
    "label_cholesteatoma",
    "label_ome",
    "label_cholesterol_granuloma",
    "label_normal",
    "label_other",
];

/// A NIfTI-1 header for an int16 volume of `dims` (x, y, z) whose voxel (i, j, k) lies
/// at `origin_lps + (i dx, j dy, k dz)` in LPS; written as RAS (sform and qform).
fn header(dims: [usize; 3], spacing: [f64; 3], origin_lps: [f64; 3], description: &str) -> Vec<u8> {
    let mut h = vec![0u8; 352];
    let put_i16 = |h: &mut [u8], at: usize, v: i16| h[at..at + 2].copy_from_slice(&v.to_le_bytes());
    let put_f32 =
        |h: &mut [u8], at: usize, v: f64| h[at..at + 4].copy_from_slice(&(v as f32).to_le_bytes());
    h[0..4].copy_from_slice(&348i32.to_le_bytes());
    h[38] = b'r';
    let dim = [3, dims[0], dims[1], dims[2], 1, 1, 1, 1];
    for (k, d) in dim.iter().enumerate() {
        put_i16(&mut h, 40 + 2 * k, *d as i16);
    }
    put_i16(&mut h, 70, 4); // DT_INT16
    put_i16(&mut h, 72, 16);
    let pixdim = [1.0, spacing[0], spacing[1], spacing[2], 0.0, 0.0, 0.0, 0.0];
    for (k, p) in pixdim.iter().enumerate() {
        put_f32(&mut h, 76 + 4 * k, *p);
    }
    put_f32(&mut h, 108, 352.0); // vox_offset
    put_f32(&mut h, 112, 1.0); // scl_slope
    put_f32(&mut h, 116, 0.0); // scl_inter
    h[123] = 2; // mm
    let text = description.as_bytes();
    h[148..148 + text.len().min(79)].copy_from_slice(&text[..text.len().min(79)]);
    put_i16(&mut h, 252, 1); // qform_code: scanner
    put_i16(&mut h, 254, 1); // sform_code: scanner
    // RAS = diag(-1, -1, 1) * LPS: a 180 degree turn about z, quaternion (0, 0, 0, 1).
    put_f32(&mut h, 256, 0.0);
    put_f32(&mut h, 260, 0.0);
    put_f32(&mut h, 264, 1.0);
    let offset = [-origin_lps[0], -origin_lps[1], origin_lps[2]];
    for (k, o) in offset.iter().enumerate() {
        put_f32(&mut h, 268 + 4 * k, *o);
    }
    let rows = [
        [-spacing[0], 0.0, 0.0, offset[0]],
        [0.0, -spacing[1], 0.0, offset[1]],
        [0.0, 0.0, spacing[2], offset[2]],
    ];
    for (r, row) in rows.iter().enumerate() {
        for (c, v) in row.iter().enumerate() {
            put_f32(&mut h, 280 + 16 * r + 4 * c, *v);
        }
    }
    h[344..348].copy_from_slice(b"n+1\0");
    h
}

/// Writes the NIfTI dataset; returns (files, files reused).
pub(crate) fn write(
    out: &Path,
    config: &SynthConfig,
    cohort: &Cohort,
    scans: &[ExamScan],
    progress: &(dyn Fn(u64) + Sync),
) -> Result<(u64, u64)> {
    let reused = scans
        .par_iter()
        .zip(&cohort.exams)
        .map(|(scan, exam)| -> Result<u64> {
            let path = out.join("nifti").join(format!("{}.nii.gz", exam.exam_id));
            if path.exists() {
                progress(1);
                return Ok(1);
            }
            let bone = scan.bone();
            let mut bytes = header(
                [bone.cols, bone.rows, bone.slices],
                [bone.pixel_spacing, bone.pixel_spacing, bone.step],
                bone.origin,
                "medfen-synth phantom, HU",
            );
            for k in 0..bone.slices {
                for v in scan.hu(config, exam, bone, k) {
                    bytes.extend_from_slice(&v.to_le_bytes());
                }
            }
            let mut gz = GzBuilder::new()
                .mtime(0)
                .write(Vec::new(), Compression::fast());
            gz.write_all(&bytes).map_err(|e| Error::io(&path, e))?;
            let compressed = gz.finish().map_err(|e| Error::io(&path, e))?;
            medfen_io::write_atomically(&path, &compressed)?;
            progress(1);
            Ok(0)
        })
        .sum::<Result<u64>>()?;

    let mut t = Table::new();
    let exams = &cohort.exams;
    t.int("exam_id", exams.iter().map(|e| Some(e.exam_id as i64)));
    t.text("rel_dir", exams.iter().map(|_| Some("nifti".to_owned())));
    t.text("study_uid", scans.iter().map(|s| Some(s.study_uid.clone())));
    t.text(
        "series_uid",
        scans.iter().map(|s| Some(s.bone().uid.clone())),
    );
    t.text(
        "nifti_path",
        exams
            .iter()
            .map(|e| Some(format!("nifti/{}.nii.gz", e.exam_id))),
    );
    for (c, name) in LABEL_COLUMNS.iter().enumerate() {
        let code = c as u8 + 1;
        t.int(
            name,
            exams
                .iter()
                .map(|e| Some(i64::from(e.codes.contains(&code)))),
        );
    }
    t.int(
        "left_code",
        exams.iter().map(|e| Some(i64::from(e.codes[0]))),
    );
    t.int(
        "right_code",
        exams.iter().map(|e| Some(i64::from(e.codes[1]))),
    );
    t.write_csv(&out.join("labels.csv"))?;
    let no_rows = vec![None; exams.len()];
    let no_defects = vec![None; exams.len()];
    truth::ear_table(config, cohort, scans, &no_rows, &no_defects)
        .write_parquet_and_csv(&out.join("truth.parquet"))?;
    Ok((exams.len() as u64, reused))
}

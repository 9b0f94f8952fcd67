//! The ground truth: one row per ear (`truth.parquet`) and one per series
//! (`series.parquet`), each with a CSV twin.

use crate::cohort::Cohort;
use crate::config::SynthConfig;
use crate::ct::{ExamScan, SeriesPlan, SeriesRole};
use crate::defects::DefectKind;
use crate::phantom::EarTruth;
use crate::shapes::Aabb;
use medfen_io::Table;

/// A box's centre and extent in the voxels of `series` (canonical `[z, y, x]`).
fn voxels(b: &Aabb, series: &SeriesPlan) -> ([f64; 3], [f64; 3]) {
    let c = b.centre();
    let e = b.extent();
    let o = series.origin;
    let (px, dz) = (series.pixel_spacing, series.step);
    (
        [(c[2] - o[2]) / dz, (c[1] - o[1]) / px, (c[0] - o[0]) / px],
        [e[2] / dz, e[1] / px, e[0] / px],
    )
}

/// Adds the 12 columns `<prefix>_{center,extent}_{mm_x..z, vox_z..x}` of optional boxes.
fn box_columns(t: &mut Table, prefix: &str, boxes: &[(Option<Aabb>, &SeriesPlan)]) {
    let mm = |f: &dyn Fn(&Aabb) -> f64| -> Vec<Option<f64>> {
        boxes.iter().map(|(b, _)| b.as_ref().map(f)).collect()
    };
    for (a, axis) in ["x", "y", "z"].iter().enumerate() {
        t.float(
            &format!("{prefix}_center_mm_{axis}"),
            mm(&|b| b.centre()[a]),
        );
    }
    for (a, axis) in ["x", "y", "z"].iter().enumerate() {
        t.float(
            &format!("{prefix}_extent_mm_{axis}"),
            mm(&|b| b.extent()[a]),
        );
    }
    let vox: Vec<Option<([f64; 3], [f64; 3])>> = boxes
        .iter()
        .map(|(b, s)| b.as_ref().map(|b| voxels(b, s)))
        .collect();
    for (a, axis) in ["z", "y", "x"].iter().enumerate() {
        t.float(
            &format!("{prefix}_center_vox_{axis}"),
            vox.iter().map(|v| v.map(|(c, _)| c[a])),
        );
    }
    for (a, axis) in ["z", "y", "x"].iter().enumerate() {
        t.float(
            &format!("{prefix}_extent_vox_{axis}"),
            vox.iter().map(|v| v.map(|(_, e)| e[a])),
        );
    }
}

/// The per-ear truth table.
pub(crate) fn ear_table(
    config: &SynthConfig,
    cohort: &Cohort,
    scans: &[ExamScan],
    exam_rows: &[Option<usize>],
    defects: &[Option<DefectKind>],
) -> Table {
    let mut rows: Vec<(usize, &EarTruth)> = Vec::new();
    for (i, scan) in scans.iter().enumerate() {
        for ear in &scan.scene.ears {
            rows.push((i, ear));
        }
    }
    let exam = |i: usize| &cohort.exams[i];
    let mut t = Table::new();
    t.int(
        "exam_id",
        rows.iter().map(|(i, _)| Some(exam(*i).exam_id as i64)),
    );
    t.int(
        "patient",
        rows.iter().map(|(i, _)| Some(exam(*i).patient as i64)),
    );
    t.text(
        "date",
        rows.iter().map(|(i, _)| Some(exam(*i).date.to_string())),
    );
    t.text(
        "side",
        rows.iter().map(|(_, e)| Some(e.side.name().to_owned())),
    );
    t.int("code", rows.iter().map(|(_, e)| Some(i64::from(e.code))));
    t.flag(
        "label_blank",
        rows.iter().map(|(i, e)| exam(*i).blank[e.side.index()]),
    );
    t.int(
        "label_row",
        rows.iter()
            .map(|(i, _)| exam_rows.get(*i).copied().flatten().map(|r| r as i64)),
    );
    t.text(
        "lesion",
        rows.iter().map(|(_, e)| e.lesion.map(str::to_owned)),
    );
    t.text(
        "variant",
        rows.iter()
            .map(|(_, e)| e.variant.map(|v| v.name().to_owned())),
    );
    let bone: Vec<&SeriesPlan> = rows.iter().map(|(i, _)| scans[*i].bone()).collect();
    let with = |f: &dyn Fn(&EarTruth) -> Option<Aabb>| -> Vec<(Option<Aabb>, &SeriesPlan)> {
        rows.iter()
            .zip(&bone)
            .map(|((_, e), s)| (f(e), *s))
            .collect()
    };
    box_columns(&mut t, "lesion", &with(&|e| e.lesion_box));
    box_columns(&mut t, "mirror", &with(&|e| e.mirror_box));
    box_columns(&mut t, "ear", &with(&|e| Some(e.ear_box)));
    t.text("bone_series_uid", bone.iter().map(|s| Some(s.uid.clone())));
    t.text(
        "bone_series_dir",
        rows.iter()
            .zip(&bone)
            .map(|((i, _), s)| Some(scans[*i].dir.join(&s.folder).to_string_lossy().into_owned())),
    );
    t.text(
        "defect",
        rows.iter().map(|(i, _)| {
            defects[*i].map(|d| {
                serde_json::to_value(d)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default()
            })
        }),
    );
    t.text(
        "difficulty",
        rows.iter().map(|_| {
            serde_json::to_value(config.difficulty)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
        }),
    );
    t
}

/// The per-series table.
pub(crate) fn series_table(cohort: &Cohort, scans: &[ExamScan]) -> Table {
    let rows: Vec<(usize, &SeriesPlan)> = scans
        .iter()
        .enumerate()
        .flat_map(|(i, s)| s.series.iter().map(move |p| (i, p)))
        .collect();
    let mut t = Table::new();
    t.int(
        "exam_id",
        rows.iter()
            .map(|(i, _)| Some(cohort.exams[*i].exam_id as i64)),
    );
    t.text(
        "role",
        rows.iter().map(|(_, s)| Some(s.role.name().to_owned())),
    );
    t.flag(
        "intended",
        rows.iter().map(|(_, s)| s.role == SeriesRole::Bone),
    );
    t.int("series_number", rows.iter().map(|(_, s)| Some(s.number)));
    t.text("series_uid", rows.iter().map(|(_, s)| Some(s.uid.clone())));
    t.text(
        "dir",
        rows.iter()
            .map(|(i, s)| Some(scans[*i].dir.join(&s.folder).to_string_lossy().into_owned())),
    );
    t.text(
        "transfer_syntax",
        rows.iter().map(|(_, s)| Some(s.syntax.uid().to_owned())),
    );
    t.int("slices", rows.iter().map(|(_, s)| Some(s.slices as i64)));
    t.int("rows", rows.iter().map(|(_, s)| Some(s.rows as i64)));
    t.int("columns", rows.iter().map(|(_, s)| Some(s.cols as i64)));
    t.float(
        "pixel_spacing",
        rows.iter().map(|(_, s)| Some(s.pixel_spacing)),
    );
    t.float(
        "slice_step",
        rows.iter()
            .map(|(_, s)| (s.role != SeriesRole::Localizer).then_some(s.step)),
    );
    t.float("thickness", rows.iter().map(|(_, s)| Some(s.thickness)));
    for (a, axis) in ["x", "y", "z"].iter().enumerate() {
        t.float(
            &format!("origin_{axis}"),
            rows.iter().map(|(_, s)| Some(s.origin[a])),
        );
    }
    t.flag(
        "instance_reversed",
        rows.iter().map(|(_, s)| s.instance_reversed),
    );
    t.text("kernel", rows.iter().map(|(_, s)| Some(s.kernel.clone())));
    t.text(
        "manufacturer",
        rows.iter()
            .map(|(i, _)| Some(scans[*i].profile.manufacturer.to_owned())),
    );
    t.text(
        "model",
        rows.iter()
            .map(|(i, _)| Some(scans[*i].profile.model.to_owned())),
    );
    t
}

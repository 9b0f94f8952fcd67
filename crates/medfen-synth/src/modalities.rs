//! `--format png-modalities`: the multi-modal fusion workflow's layout,
//! `Grade/<hospital>/[foldK/]grade{0|1}/<patient>/<modality>/<patient>_<modality>_slice_NNN.png`,
//! 224x224 8-bit slices in two modalities (A: bone window of thin bone-kernel slices;
//! P: soft-tissue window of thick soft-kernel slices), with an external hospital whose
//! images are noisier and softer (a domain shift).

use std::path::{Path, PathBuf};

use image::ImageEncoder;
use image::codecs::png::PngEncoder;
use rayon::prelude::*;

use crate::cohort::Cohort;
use crate::config::SynthConfig;
use crate::ct::ExamScan;
use crate::error::{Error, Result};
use crate::random::Stream;
use crate::render::{Reconstruction, render_image};
use crate::shapes::PlaneGrid;
use medfen_io::Table;

/// Image size.
pub const SIZE: usize = 224;
/// Slices per modality per patient.
pub const SLICES: usize = 12;
/// The training hospital (its patients are split into folds) and the external one.
pub const HOSPITALS: [&str; 2] = ["JM", "ZS"];
/// The two modalities.
pub const MODALITIES: [&str; 2] = ["A", "P"];

/// Grade 1 when either ear has a disease that needs surgery (CSOM, cholesteatoma,
/// cholesterol granuloma); grade 0 for normal ears, effusion and other findings.
pub fn grade(codes: [u8; 2]) -> u8 {
    u8::from(codes.iter().any(|c| matches!(c, 1 | 2 | 4)))
}

struct PatientDir {
    id: String,
    hospital: &'static str,
    fold: Option<usize>,
    grade: u8,
    dir: PathBuf,
}

fn window(hu: f32, level: f32, width: f32) -> u8 {
    (((hu - (level - width / 2.0)) / width) * 255.0)
        .round()
        .clamp(0.0, 255.0) as u8
}

fn png(path: &Path, pixels: &[u8]) -> Result<()> {
    let mut bytes = Vec::new();
    PngEncoder::new(&mut bytes)
        .write_image(
            pixels,
            SIZE as u32,
            SIZE as u32,
            image::ExtendedColorType::L8,
        )
        .map_err(|e| Error::Image {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
    medfen_io::write_atomically(path, &bytes)?;
    Ok(())
}

/// Assigns each exam's patient a hospital (a quarter go to the external one), an id,
/// a fold (internal hospital) and a grade, and their folder.
fn patient_dirs(out: &Path, config: &SynthConfig, cohort: &Cohort) -> Vec<PatientDir> {
    let mut s = Stream::new(config.seed, "modalities", 0);
    let mut counts = [0usize; 2];
    cohort
        .exams
        .iter()
        .map(|e| {
            let h = usize::from(s.chance(0.25));
            counts[h] += 1;
            let hospital = HOSPITALS[h];
            let id = format!("{hospital}{:04}", counts[h]);
            let fold = (h == 0).then(|| 1 + (counts[0] - 1) % 5);
            let grade = grade(e.codes);
            let mut dir = out.join("Grade").join(hospital);
            if let Some(f) = fold {
                dir = dir.join(format!("fold{f}"));
            }
            let dir = dir.join(format!("grade{grade}")).join(&id);
            PatientDir {
                id,
                hospital,
                fold,
                grade,
                dir,
            }
        })
        .collect()
}

/// Modality `m`'s reconstruction and display window; the external hospital's scanner
/// is blurrier and windows differently.
fn modality_look(m: usize, external: bool, base_noise: f64) -> (Reconstruction, (f32, f32)) {
    let recon = if m == 0 {
        Reconstruction {
            blur_passes: 1 + usize::from(external),
            sections: 1,
            thickness: 0.6,
            noise_hu: base_noise * if external { 1.6 } else { 1.0 },
        }
    } else {
        Reconstruction {
            blur_passes: 2 + usize::from(external),
            sections: 3,
            thickness: 2.0,
            noise_hu: base_noise * if external { 0.6 } else { 0.35 },
        }
    };
    let window = match (m, external) {
        (0, false) => (700.0, 4000.0),
        (0, true) => (750.0, 3800.0),
        (_, false) => (40.0, 400.0),
        (_, true) => (60.0, 380.0),
    };
    (recon, window)
}

/// Writes a patient's slices of every modality that are not there yet; returns the
/// files reused.
fn write_patient(
    config: &SynthConfig,
    p: &PatientDir,
    scan: &ExamScan,
    exam_index: usize,
) -> Result<u64> {
    let external = p.hospital != HOSPITALS[0];
    let z_lo = scan
        .scene
        .ears
        .iter()
        .map(|e| e.ear_box.min[2])
        .fold(f64::INFINITY, f64::min);
    let z_hi = scan
        .scene
        .ears
        .iter()
        .map(|e| e.ear_box.max[2])
        .fold(f64::NEG_INFINITY, f64::max);
    let centre = scan.scene.pose.translation;
    let px = 0.75;
    let mut reused = 0;
    for (m, modality) in MODALITIES.iter().enumerate() {
        let (recon, (level, width)) =
            modality_look(m, external, config.difficulty.knobs().noise_hu);
        for k in 0..SLICES {
            let path = p
                .dir
                .join(modality)
                .join(format!("{}_{modality}_slice_{k:03}.png", p.id));
            if path.exists() {
                reused += 1;
                continue;
            }
            let z = z_lo + (z_hi - z_lo) * (k as f64 + 0.5) / SLICES as f64;
            let half = (SIZE as f64 - 1.0) / 2.0 * px;
            let grid = PlaneGrid {
                origin: [centre[0] - half, centre[1] - half, z],
                dx: px,
                row_step: [0.0, px, 0.0],
                rows: SIZE,
                cols: SIZE,
            };
            let mut noise = Stream::new(
                config.seed,
                "modality-noise",
                ((exam_index as u64) << 16) | ((m as u64) << 8) | k as u64,
            );
            let hu = render_image(&scan.scene, &grid, 2, &recon, &mut noise);
            let pixels: Vec<u8> = hu.iter().map(|&v| window(v, level, width)).collect();
            png(&path, &pixels)?;
        }
    }
    Ok(reused)
}

/// `patients.parquet` (and CSV): each patient's id, hospital, fold, grade, exam and
/// codes, and folder.
fn write_patients(out: &Path, patients: &[PatientDir], cohort: &Cohort) -> Result<()> {
    let mut t = Table::new();
    t.text("patient_id", patients.iter().map(|p| Some(p.id.clone())));
    t.text(
        "hospital",
        patients.iter().map(|p| Some(p.hospital.to_owned())),
    );
    t.int("fold", patients.iter().map(|p| p.fold.map(|f| f as i64)));
    t.int("grade", patients.iter().map(|p| Some(i64::from(p.grade))));
    t.int(
        "exam_id",
        cohort.exams.iter().map(|e| Some(e.exam_id as i64)),
    );
    t.int(
        "left_code",
        cohort.exams.iter().map(|e| Some(i64::from(e.codes[0]))),
    );
    t.int(
        "right_code",
        cohort.exams.iter().map(|e| Some(i64::from(e.codes[1]))),
    );
    t.text(
        "dir",
        patients.iter().map(|p| {
            Some(
                p.dir
                    .strip_prefix(out)
                    .unwrap_or(&p.dir)
                    .to_string_lossy()
                    .into_owned(),
            )
        }),
    );
    Ok(t.write_parquet_and_csv(&out.join("patients.parquet"))?)
}

/// Writes the PNG dataset; returns (files, files reused).
pub(crate) fn write(
    out: &Path,
    config: &SynthConfig,
    cohort: &Cohort,
    scans: &[ExamScan],
    progress: &(dyn Fn(u64) + Sync),
) -> Result<(u64, u64)> {
    let patients = patient_dirs(out, config, cohort);
    let reused: u64 = patients
        .par_iter()
        .zip(scans)
        .zip(&cohort.exams)
        .map(|((p, scan), exam)| -> Result<u64> {
            let reused = write_patient(config, p, scan, exam.index)?;
            progress(1);
            Ok(reused)
        })
        .sum::<Result<u64>>()?;
    write_patients(out, &patients, cohort)?;
    let files = (patients.len() * SLICES * MODALITIES.len()) as u64;
    Ok((files, reused))
}

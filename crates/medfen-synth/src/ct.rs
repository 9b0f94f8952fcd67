//! The CT exam as a scanner writes it: a thin bone-kernel axial series, sometimes a
//! soft-tissue reconstruction and a localizer, with realistic headers and file names.

use std::path::{Path, PathBuf};

use medfen_dicom::writer::{DicomImageSpec, FrameSpec, WriteSyntax, encode_dicom};
use medfen_io::write_atomically;
use rayon::prelude::*;

use crate::cohort::{ExamPlan, Patient};
use crate::config::{DifficultyKnobs, SyntaxChoice, SynthConfig};
use crate::error::Result;
use crate::phantom::{Anatomy, Scene};
use crate::random::Stream;
use crate::render::{Reconstruction, StoredFormat, render_image, stored_values};
use crate::scanner::{FileNaming, SCANNERS, ScannerProfile};
use crate::shapes::{Mat3, PlaneGrid, Pose, V3};

/// Root of every UID medfen-synth writes (under the Medical Connections root).
pub(crate) const UID_ROOT: &str = "1.2.826.0.1.3680043.10.1137";

/// What a series is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeriesRole {
    /// The thin bone-kernel axial series: the one a volume should be built from.
    Bone,
    /// A thicker soft-tissue reconstruction of the same acquisition.
    Soft,
    /// A one-image coronal localizer.
    Localizer,
}

impl SeriesRole {
    /// `"bone"`, `"soft"` or `"localizer"`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Bone => "bone",
            Self::Soft => "soft",
            Self::Localizer => "localizer",
        }
    }
}

/// One series of an exam, as planned.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SeriesPlan {
    pub role: SeriesRole,
    pub number: i64,
    pub folder: String,
    pub uid: String,
    pub description: String,
    pub kernel: String,
    pub syntax: WriteSyntax,
    pub rows: usize,
    pub cols: usize,
    pub pixel_spacing: f64,
    /// ImagePositionPatient of the lowest slice (axial) or of the image (localizer).
    pub origin: V3,
    /// Step between slices along +z (axial series).
    pub step: f64,
    /// Posterior (+y) drift of the slice position per slice, mm: a tilted gantry.
    pub tilt_drift: f64,
    /// Gantry/Detector Tilt written, degrees.
    pub tilt_deg: f64,
    pub thickness: f64,
    pub slices: usize,
    /// InstanceNumber decreases as z increases.
    pub instance_reversed: bool,
    pub spacing_between_slices: Option<f64>,
    /// File name of each slice, in z order.
    pub file_names: Vec<String>,
    /// SOP Instance UID of each slice, in z order.
    pub sop_uids: Vec<String>,
    pub recon: Reconstruction,
}

/// A file written broken on purpose (`--corrupt-rate`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum BrokenFile {
    /// Slice `slice` of the bone series, cut to `fraction` of its length.
    Truncated { slice: usize, fraction: f64 },
    /// An extra file of random bytes named like a DICOM file, in the bone series folder.
    NotDicom { name: String },
}

/// One exam ready to write.
pub(crate) struct ExamScan {
    pub scene: Scene,
    pub series: Vec<SeriesPlan>,
    pub study_uid: String,
    pub frame_uid: String,
    pub profile: &'static ScannerProfile,
    /// `dicom/<date>/<exam_id>`, relative to the dataset root.
    pub dir: PathBuf,
}

fn round_to(v: f64, unit: f64) -> f64 {
    (v / unit).round() * unit
}

fn syntax_of(choice: SyntaxChoice, s: &mut Stream) -> WriteSyntax {
    match choice {
        SyntaxChoice::ExplicitLe => WriteSyntax::ExplicitLe,
        SyntaxChoice::Rle => WriteSyntax::Rle,
        SyntaxChoice::Jpeg => WriteSyntax::JpegLossless,
        SyntaxChoice::Mixed => *s.pick(&[
            WriteSyntax::ExplicitLe,
            WriteSyntax::ImplicitLe,
            WriteSyntax::Rle,
            WriteSyntax::JpegLossless,
        ]),
    }
}

fn file_names(naming: FileNaming, sops: &[String], s: &mut Stream) -> Vec<String> {
    match naming {
        FileNaming::SopUid => sops.iter().map(|u| format!("{u}.dcm")).collect(),
        FileNaming::ShuffledNumbers => {
            let mut numbers: Vec<usize> = (1..=sops.len()).collect();
            s.shuffle(&mut numbers);
            numbers.iter().map(|n| format!("IM{n:05}.dcm")).collect()
        }
        FileNaming::Hex => {
            let mut seen = std::collections::BTreeSet::new();
            (0..sops.len())
                .map(|_| {
                    loop {
                        let name = format!("{:08X}.dcm", s.next_u64() as u32);
                        if seen.insert(name.clone()) {
                            break name;
                        }
                    }
                })
                .collect()
        }
    }
}

/// Unique SOP Instance UIDs under `series_uid`, numbered in random order.
fn sop_uids(series_uid: &str, n: usize, s: &mut Stream) -> Vec<String> {
    let mut numbers: Vec<u64> = (0..n).map(|k| k as u64 + 1).collect();
    s.shuffle(&mut numbers);
    let offset = s.int(1000, 9000) as u64;
    numbers
        .iter()
        .map(|k| format!("{series_uid}.{}", offset + k))
        .collect()
}

/// The reconstruction grid shared by the axial series: matrix, pixel size, the
/// position of the first pixel, and the noise.
struct Grid {
    matrix: usize,
    pixel: f64,
    x0: f64,
    y0: f64,
    noise: f64,
}

/// The head's pose in the scanner: a small rotation and a shift of the field of view.
fn head_pose(s: &mut Stream, knobs: &DifficultyKnobs) -> Pose {
    let rot = knobs.rotation_deg;
    Pose {
        rotation: Mat3::rotation_deg(
            s.symmetric(rot * 0.5),
            s.symmetric(rot * 0.7),
            s.symmetric(rot),
        ),
        translation: [
            s.symmetric(knobs.fov_shift_mm),
            s.symmetric(knobs.fov_shift_mm) + 10.0,
            round_to(s.uniform(-180.0, -120.0), 0.1),
        ],
    }
}

/// The z range both ears need, with a margin.
fn ear_z_range(scene: &Scene) -> (f64, f64) {
    let z_lo = scene
        .ears
        .iter()
        .map(|e| e.ear_box.min[2])
        .fold(f64::INFINITY, f64::min)
        - 2.0;
    let z_hi = scene
        .ears
        .iter()
        .map(|e| e.ear_box.max[2])
        .fold(f64::NEG_INFINITY, f64::max)
        + 2.0;
    (z_lo, z_hi)
}

fn grid(config: &SynthConfig, knobs: &DifficultyKnobs, noise_factor: f64, s: &mut Stream) -> Grid {
    let scale = config.scale();
    let matrix = config.matrix;
    let fov = if knobs.spacing_jitter == 0.0 {
        204.8
    } else {
        round_to(204.8 * (1.0 + s.symmetric(knobs.spacing_jitter)), 0.1)
    };
    let pixel = round_to(fov / 512.0 * scale, 1e-5);
    let recon_centre = [round_to(s.symmetric(knobs.fov_shift_mm * 0.3), 0.1), 0.0];
    Grid {
        matrix,
        pixel,
        x0: round_to(recon_centre[0] - (matrix as f64 - 1.0) / 2.0 * pixel, 1e-4),
        y0: round_to(recon_centre[1] - (matrix as f64 - 1.0) / 2.0 * pixel, 1e-4),
        noise: knobs.noise_hu * noise_factor,
    }
}

/// Series 1: a one-image localizer.
fn localizer(
    config: &SynthConfig,
    s: &mut Stream,
    uid_base: &str,
    pose: &Pose,
    grid: &Grid,
    profile: &ScannerProfile,
) -> SeriesPlan {
    let (scale, matrix) = (config.scale(), grid.matrix);
    let n = 1;
    let uid = format!("{uid_base}.{}", 10 + n);
    let px = round_to(0.9 * scale, 1e-4);
    let sops = sop_uids(&uid, 1, s);
    SeriesPlan {
        role: SeriesRole::Localizer,
        number: n,
        uid,
        folder: format!("{n}_Topogram"),
        description: "Topogram 0.6 T20s".into(),
        kernel: "T20s".into(),
        syntax: syntax_of(config.syntax, s),
        rows: matrix,
        cols: matrix,
        pixel_spacing: px,
        origin: [
            round_to(-(matrix as f64 - 1.0) / 2.0 * px, 1e-4),
            round_to(pose.translation[1], 1e-4),
            round_to(pose.translation[2] + (matrix as f64 - 1.0) / 2.0 * px, 1e-4),
        ],
        step: 0.0,
        tilt_drift: 0.0,
        tilt_deg: 0.0,
        thickness: px,
        slices: 1,
        instance_reversed: false,
        spacing_between_slices: None,
        file_names: file_names(profile.naming, &sops, s),
        sop_uids: sops,
        recon: Reconstruction {
            blur_passes: 1,
            sections: 1,
            thickness: 0.0,
            noise_hu: grid.noise * 0.5,
        },
    }
}

/// Series 2: thin bone slices covering both ears (`z_range`).
fn bone_series(
    config: &SynthConfig,
    s: &mut Stream,
    knobs: &DifficultyKnobs,
    (z_lo, z_hi): (f64, f64),
    uid_base: &str,
    grid: &Grid,
    profile: &ScannerProfile,
) -> SeriesPlan {
    let scale = config.scale();
    let step = round_to(*s.pick(knobs.slice_steps) * scale, 1e-4);
    let drawn = {
        // 60..200 slices, most between 100 and 160 (scaled with the matrix)
        let t = 0.5 * (s.unit() + s.unit());
        ((60.0 + 140.0 * t) / scale).round() as usize
    };
    let needed = ((z_hi - z_lo) / step).ceil() as usize + 1;
    let n_bone = drawn.max(needed).max(8);
    let slack = (n_bone - 1) as f64 * step - (z_hi - z_lo);
    let z_start = round_to(z_lo - s.uniform(0.0, slack.max(0.0)), 1e-3);
    let bone_number = 2;
    let kernel = (*s.pick(profile.bone_kernels)).to_owned();
    let bone_uid = format!("{uid_base}.{}", 10 + bone_number);
    let instance_reversed = s.chance(0.3);
    let sops = sop_uids(&bone_uid, n_bone, s);
    SeriesPlan {
        role: SeriesRole::Bone,
        number: bone_number,
        uid: bone_uid,
        folder: format!("{bone_number}_TB_{step}mm_{kernel}"),
        description: format!("Temporal bone {step} {kernel}"),
        kernel,
        syntax: syntax_of(config.syntax, s),
        rows: grid.matrix,
        cols: grid.matrix,
        pixel_spacing: grid.pixel,
        origin: [grid.x0, grid.y0, z_start],
        step,
        tilt_drift: step * config.gantry_tilt_deg.to_radians().tan(),
        tilt_deg: config.gantry_tilt_deg,
        thickness: step,
        slices: n_bone,
        instance_reversed,
        // Some scanners write a negative SpacingBetweenSlices; medfen ignores it.
        spacing_between_slices: match s.int(0, 2) {
            0 => None,
            1 => Some(step),
            _ => Some(-step),
        },
        file_names: file_names(profile.naming, &sops, s),
        sop_uids: sops,
        recon: Reconstruction {
            blur_passes: 1,
            sections: 1,
            thickness: step,
            noise_hu: grid.noise,
        },
    }
}

/// Series 3: a thicker soft-tissue reconstruction over the bone series' z range.
fn soft_series(
    config: &SynthConfig,
    s: &mut Stream,
    bone: &SeriesPlan,
    uid_base: &str,
    grid: &Grid,
    profile: &ScannerProfile,
) -> SeriesPlan {
    let scale = config.scale();
    let (step, z_start) = (bone.step, bone.origin[2]);
    let z_end = z_start + (bone.slices - 1) as f64 * step;
    let soft_step = round_to(
        f64::max(*s.pick(&[1.0, 1.5, 2.0, 3.0]), 1.6 * step / scale) * scale,
        1e-4,
    );
    let n_soft = (((z_end - z_start) / soft_step).floor() as usize + 1).max(2);
    let n = bone.number + 1;
    let uid = format!("{uid_base}.{}", 10 + n);
    let kernel = (*s.pick(profile.soft_kernels)).to_owned();
    let sops = sop_uids(&uid, n_soft, s);
    SeriesPlan {
        role: SeriesRole::Soft,
        number: n,
        uid,
        folder: format!("{n}_Soft_{soft_step}mm_{kernel}"),
        description: format!("Head soft tissue {soft_step} {kernel}"),
        kernel,
        syntax: syntax_of(config.syntax, s),
        rows: grid.matrix,
        cols: grid.matrix,
        pixel_spacing: grid.pixel,
        origin: [grid.x0, grid.y0, z_start],
        step: soft_step,
        tilt_drift: 0.0,
        tilt_deg: 0.0,
        thickness: soft_step,
        slices: n_soft,
        instance_reversed: s.chance(0.3),
        spacing_between_slices: Some(soft_step),
        file_names: file_names(profile.naming, &sops, s),
        sop_uids: sops,
        recon: Reconstruction {
            blur_passes: 2,
            sections: 3,
            thickness: soft_step,
            noise_hu: grid.noise * 0.35,
        },
    }
}

/// Plans the exam: where the head is, which series exist and their geometry.
pub(crate) fn plan_exam(config: &SynthConfig, exam: &ExamPlan, anatomy: &Anatomy) -> ExamScan {
    let knobs: DifficultyKnobs = config.difficulty.knobs();
    let mut s = Stream::new(config.seed, "scan", exam.index as u64);
    let profile = &SCANNERS[exam.scanner];
    let pose = head_pose(&mut s, &knobs);
    let mut lesion_stream = Stream::new(config.seed, "lesions", exam.index as u64);
    let scene = Scene::new(anatomy, exam.codes, pose, &knobs, &mut lesion_stream);
    let z_range = ear_z_range(&scene);
    let uid_base = format!("{UID_ROOT}.{}.{}", config.seed % 1_000_000, exam.exam_id);
    let study_uid = format!("{uid_base}.1");
    let frame_uid = format!("{uid_base}.2");
    let grid = grid(config, &knobs, profile.noise_factor, &mut s);
    // Series numbers as a scanner assigns them: 1 localizer, 2 bone, 3 soft tissue.
    let mut series = Vec::new();
    let has_localizer = s.chance(0.5);
    let has_soft = s.chance(0.5);
    if has_localizer {
        series.push(localizer(config, &mut s, &uid_base, &pose, &grid, profile));
    }
    let bone = bone_series(config, &mut s, &knobs, z_range, &uid_base, &grid, profile);
    let soft = has_soft.then(|| soft_series(config, &mut s, &bone, &uid_base, &grid, profile));
    series.push(bone);
    series.extend(soft);
    ExamScan {
        scene,
        series,
        study_uid,
        frame_uid,
        profile,
        dir: PathBuf::from("dicom")
            .join(exam.date.to_string())
            .join(exam.exam_id.to_string()),
    }
}

impl ExamScan {
    /// The planned bone series.
    pub fn bone(&self) -> &SeriesPlan {
        self.series
            .iter()
            .find(|s| s.role == SeriesRole::Bone)
            .expect("every exam has a bone series")
    }

    fn stored_format(&self) -> StoredFormat {
        StoredFormat {
            intercept: -1024.0,
            padding: self.profile.padded_signed.then_some(-2000),
        }
    }

    /// Stored values of image `k` (z order) of `series`, as the scanner writes them.
    pub fn stored(
        &self,
        config: &SynthConfig,
        exam: &ExamPlan,
        series: &SeriesPlan,
        k: usize,
    ) -> Vec<i32> {
        let mut noise = Stream::new(
            config.seed,
            "noise",
            ((exam.index as u64) << 24) | ((series.number as u64) << 16) | k as u64,
        );
        let (grid, normal_axis) = match series.role {
            SeriesRole::Localizer => (
                PlaneGrid {
                    origin: series.origin,
                    dx: series.pixel_spacing,
                    row_step: [0.0, 0.0, -series.pixel_spacing],
                    rows: series.rows,
                    cols: series.cols,
                },
                1,
            ),
            _ => (
                PlaneGrid {
                    origin: Self::slice_origin(series, k),
                    dx: series.pixel_spacing,
                    row_step: [0.0, series.pixel_spacing, 0.0],
                    rows: series.rows,
                    cols: series.cols,
                },
                2,
            ),
        };
        let hu = render_image(&self.scene, &grid, normal_axis, &series.recon, &mut noise);
        let radius = match series.role {
            SeriesRole::Localizer => f64::INFINITY,
            _ => series.rows as f64 / 2.0,
        };
        stored_values(&hu, series.rows, series.cols, &self.stored_format(), radius)
    }

    /// HU of image `k` of `series` as a reader computes them (padding becomes air).
    pub fn hu(
        &self,
        config: &SynthConfig,
        exam: &ExamPlan,
        series: &SeriesPlan,
        k: usize,
    ) -> Vec<i16> {
        let format = self.stored_format();
        self.stored(config, exam, series, k)
            .into_iter()
            .map(|v| {
                if Some(v) == format.padding {
                    -1024
                } else {
                    (f64::from(v) + format.intercept) as i16
                }
            })
            .collect()
    }

    /// The header and pixels of image `k` (z order) of `series`.
    fn spec(
        &self,
        config: &SynthConfig,
        exam: &ExamPlan,
        patient: &Patient,
        series: &SeriesPlan,
        k: usize,
    ) -> DicomImageSpec {
        let stored = self.stored(config, exam, series, k);
        let format = self.stored_format();
        let orientation = match series.role {
            SeriesRole::Localizer => [1.0, 0.0, 0.0, 0.0, 0.0, -1.0],
            _ => [1.0, 0.0, 0.0, 0.0, 1.0, 0.0],
        };
        let image_type = match series.role {
            SeriesRole::Localizer => vec!["ORIGINAL".into(), "PRIMARY".into(), "LOCALIZER".into()],
            _ => vec!["ORIGINAL".into(), "PRIMARY".into(), "AXIAL".into()],
        };
        let instance = if series.instance_reversed {
            series.slices - k
        } else {
            k + 1
        };
        DicomImageSpec {
            syntax: series.syntax,
            rows: series.rows as u16,
            cols: series.cols as u16,
            pixel_spacing: Some([series.pixel_spacing, series.pixel_spacing]),
            orientation: Some(orientation),
            bits_stored: if format.padding.is_some() { 16 } else { 12 },
            signed: format.padding.is_some(),
            monochrome1: false,
            padding: format.padding,
            study_uid: self.study_uid.clone(),
            series_uid: series.uid.clone(),
            sop_instance_uid: series.sop_uids[k].clone(),
            frame_of_reference_uid: Some(self.frame_uid.clone()),
            modality: "CT".into(),
            image_type,
            series_number: Some(series.number),
            series_description: Some(series.description.clone()),
            instance_number: Some(instance as i64),
            acquisition_number: Some(1),
            kernel: Some(series.kernel.clone()),
            manufacturer: Some(self.profile.manufacturer.into()),
            model: Some(self.profile.model.into()),
            body_part: Some("HEAD".into()),
            slice_thickness: Some(series.thickness),
            spacing_between_slices: series.spacing_between_slices,
            gantry_tilt: Some(series.tilt_deg),
            patient_id: Some(patient.id.clone()),
            patient_name: Some(patient.name.clone()),
            study_date: Some(exam.date.dicom()),
            accession_number: Some(exam.exam_id.to_string()),
            frames: vec![FrameSpec {
                position: Some(match series.role {
                    SeriesRole::Localizer => series.origin,
                    _ => Self::slice_origin(series, k),
                }),
                slope: 1.0,
                intercept: format.intercept,
                stored,
            }],
        }
    }

    /// ImagePositionPatient of slice `k` (z order) of an axial series.
    pub fn slice_origin(series: &SeriesPlan, k: usize) -> V3 {
        let y = if series.tilt_drift == 0.0 {
            series.origin[1]
        } else {
            round_to(series.origin[1] + k as f64 * series.tilt_drift, 1e-4)
        };
        [
            series.origin[0],
            y,
            round_to(series.origin[2] + k as f64 * series.step, 1e-4),
        ]
    }

    /// Writes every file of the exam under `root` (files already present are kept: a
    /// rerun resumes). `broken` files are written broken instead.
    pub fn write(
        &self,
        root: &Path,
        config: &SynthConfig,
        exam: &ExamPlan,
        patient: &Patient,
        broken: &[BrokenFile],
        progress: &(dyn Fn(u64) + Sync),
    ) -> Result<()> {
        for series in &self.series {
            let dir = root.join(&self.dir).join(&series.folder);
            (0..series.slices)
                .into_par_iter()
                .try_for_each(|k| -> Result<()> {
                    let path = dir.join(&series.file_names[k]);
                    if !path.exists() {
                        let mut bytes = encode_dicom(&self.spec(config, exam, patient, series, k))?;
                        if series.role == SeriesRole::Bone {
                            for b in broken {
                                if let BrokenFile::Truncated { slice, fraction } = b
                                    && *slice == k
                                {
                                    bytes.truncate((bytes.len() as f64 * fraction) as usize);
                                }
                            }
                        }
                        write_atomically(&path, &bytes)?;
                        stamp_acquired(&path, exam.date)?;
                    }
                    progress(1);
                    Ok(())
                })?;
            if series.role == SeriesRole::Bone {
                for b in broken {
                    if let BrokenFile::NotDicom { name } = b {
                        let mut s = Stream::new(config.seed, "junk", exam.index as u64);
                        let junk: Vec<u8> = (0..2048).map(|_| s.next_u64() as u8).collect();
                        write_atomically(&dir.join(name), &junk)?;
                        stamp_acquired(&dir.join(name), exam.date)?;
                    }
                }
            }
        }
        Ok(())
    }

    /// Files the exam writes (for progress bars).
    pub fn file_count(&self) -> u64 {
        self.series.iter().map(|s| s.slices as u64).sum()
    }
}

/// Gives a written file the exam's date (noon UTC) as its modification time, as an
/// archive's files carry their acquisition's: the same options then give the same
/// files down to their times, so what keys on them (a cache's content address) is the
/// same on every machine.
fn stamp_acquired(path: &Path, date: crate::cohort::Date) -> Result<()> {
    let secs = u64::try_from(date.days() * 86_400 + 12 * 3600).unwrap_or(0);
    let time = std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs);
    std::fs::File::options()
        .write(true)
        .open(path)
        .and_then(|f| f.set_modified(time))
        .map_err(|e| crate::error::Error::io(path, e))
}

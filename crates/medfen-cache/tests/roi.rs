//! On synth data the ear crops hold the truth: every lesion box lies inside its ear's
//! crop (in-plane and in z), and a one-sided lesion shows in that patient side's
//! record only.

use std::collections::BTreeMap;
use std::path::Path;

use medfen_cache::{CacheSpec, EarRecord, LazySlices, extract_ears};
use medfen_dicom::{ReadOptions, read_dicom};
use medfen_synth::{CodeFrequencies, Difficulty, SynthConfig, generate};
use medfen_tasks::Side;

#[derive(Debug, serde::Deserialize)]
struct Truth {
    exam_id: u64,
    side: String,
    code: u8,
    variant: Option<String>,
    lesion_center_mm_x: Option<f64>,
    lesion_center_mm_y: Option<f64>,
    lesion_center_mm_z: Option<f64>,
    lesion_extent_mm_x: Option<f64>,
    lesion_extent_mm_y: Option<f64>,
    lesion_extent_mm_z: Option<f64>,
    mirror_center_mm_x: Option<f64>,
    mirror_center_mm_y: Option<f64>,
    mirror_center_mm_z: Option<f64>,
    bone_series_dir: String,
}

struct Exam {
    ears: [EarRecord; 2],
    truth: Vec<Truth>,
}

fn exams(dir: &Path, difficulty: Difficulty, spec: &CacheSpec) -> Vec<Exam> {
    exams_at(dir, difficulty, spec, 16, 128)
}

fn exams_at(
    dir: &Path,
    difficulty: Difficulty,
    spec: &CacheSpec,
    n: usize,
    matrix: usize,
) -> Vec<Exam> {
    let config = SynthConfig::new(dir)
        .with_exams(n)
        .with_seed(31)
        .with_matrix(matrix)
        .with_difficulty(difficulty)
        .with_code_frequencies(CodeFrequencies([0.12, 0.12, 0.12, 0.12, 0.4, 0.12]));
    generate(&config).unwrap();
    let mut rdr = csv::Reader::from_path(dir.join("truth.csv")).unwrap();
    let mut by_exam: BTreeMap<u64, Vec<Truth>> = BTreeMap::new();
    for t in rdr.deserialize::<Truth>() {
        let t = t.unwrap();
        by_exam.entry(t.exam_id).or_default().push(t);
    }
    by_exam
        .into_values()
        .map(|truth| {
            let series = dir.join(&truth[0].bone_series_dir);
            let v = read_dicom::<i16>(&series, &ReadOptions::default(), &|_| {})
                .unwrap()
                .volume;
            Exam {
                ears: extract_ears(&v, spec),
                truth,
            }
        })
        .collect()
}

fn record<'a>(e: &'a Exam, side: &str) -> &'a EarRecord {
    let s = if side == "left" {
        Side::Left
    } else {
        Side::Right
    };
    e.ears.iter().find(|r| r.side == s).unwrap()
}

/// The record pixel (k, row, col) nearest to an LPS point, if inside the record.
fn to_record(r: &EarRecord, size: usize, p: [f64; 3]) -> Option<(usize, usize, usize)> {
    let dir = if r.side == Side::Left { 1.0 } else { -1.0 };
    let half = size as f64 / 2.0;
    let col = (p[0] - r.placement.centre_mm[0]) * dir / r.placement.pixel_mm[1] + half - 0.5;
    let row = (p[1] - r.placement.centre_mm[1]) / r.placement.pixel_mm[0] + half - 0.5;
    let k = r
        .placement
        .z_mm
        .iter()
        .enumerate()
        .min_by(|a, b| (a.1 - p[2]).abs().total_cmp(&(b.1 - p[2]).abs()))?
        .0;
    let inside = |v: f64| v >= 0.0 && v <= size as f64 - 1.0;
    (inside(col) && inside(row) && (r.placement.z_mm[k] - p[2]).abs() < 2.0)
        .then(|| (k, row.round() as usize, col.round() as usize))
}

#[test]
fn every_lesion_box_is_inside_its_ear_crop() {
    let spec = CacheSpec {
        image_size: 64,
        ..CacheSpec::default()
    };
    // coarse (128: 1.6 mm pixels) and full-size (512: 0.4 mm) scans
    for (difficulty, n, matrix) in [
        (Difficulty::Medium, 16, 128),
        (Difficulty::Hard, 16, 128),
        (Difficulty::Medium, 6, 512),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let mut lesions = 0;
        for e in exams_at(dir.path(), difficulty, &spec, n, matrix) {
            for t in &e.truth {
                let Some(cx) = t.lesion_center_mm_x else {
                    continue;
                };
                let r = record(&e, &t.side);
                let (cy, cz) = (t.lesion_center_mm_y.unwrap(), t.lesion_center_mm_z.unwrap());
                let (ex, ey, ez) = (
                    t.lesion_extent_mm_x.unwrap(),
                    t.lesion_extent_mm_y.unwrap(),
                    t.lesion_extent_mm_z.unwrap(),
                );
                // every corner of the box maps into the record
                for dx in [-0.5, 0.5] {
                    for dy in [-0.5, 0.5] {
                        for dz in [-0.5, 0.5] {
                            let p = [cx + dx * ex, cy + dy * ey, cz + dz * ez];
                            assert!(
                                to_record(r, spec.image_size, p).is_some(),
                                "{difficulty:?} exam {} {}: corner {p:?} outside the crop centred at {:?}, z {:.1}..{:.1}",
                                t.exam_id,
                                t.side,
                                r.placement.centre_mm,
                                r.placement.z_mm[0],
                                r.placement.z_mm[r.placement.z_mm.len() - 1]
                            );
                        }
                    }
                }
                lesions += 1;
            }
        }
        assert!(lesions >= n / 2, "{lesions} lesions");
    }
}

#[test]
fn a_one_sided_lesion_shows_in_its_own_sides_record_only() {
    let spec = CacheSpec {
        image_size: 96,
        ..CacheSpec::default()
    };
    let dir = tempfile::tempdir().unwrap();
    let mut checked = 0;
    for e in exams(dir.path(), Difficulty::Easy, &spec) {
        for t in &e.truth {
            let other = e.truth.iter().find(|o| o.side != t.side).unwrap();
            if t.lesion_center_mm_x.is_none() || other.code != 5 || other.variant.is_some() {
                continue;
            }
            // the lesion box in its own record, the mirrored box in the other one
            let own = record(&e, &t.side);
            let theirs = record(&e, &other.side);
            let extent = [
                t.lesion_extent_mm_x.unwrap(),
                t.lesion_extent_mm_y.unwrap(),
                t.lesion_extent_mm_z.unwrap(),
            ];
            let p = [
                t.lesion_center_mm_x.unwrap(),
                t.lesion_center_mm_y.unwrap(),
                t.lesion_center_mm_z.unwrap(),
            ];
            let q = [
                t.mirror_center_mm_x.unwrap(),
                t.mirror_center_mm_y.unwrap(),
                t.mirror_center_mm_z.unwrap(),
            ];
            let mean = |r: &EarRecord, c: [f64; 3]| {
                let s = spec.image_size;
                let dir = if r.side == Side::Left { 1.0 } else { -1.0 };
                let half = s as f64 / 2.0;
                let (mut sum, mut n) = (0.0, 0.0);
                for (k, z) in r.placement.z_mm.iter().enumerate() {
                    if (z - c[2]).abs() > extent[2] / 2.0 {
                        continue;
                    }
                    for row in 0..s {
                        let y = r.placement.centre_mm[1]
                            + (row as f64 + 0.5 - half) * r.placement.pixel_mm[0];
                        if (y - c[1]).abs() > extent[1] / 2.0 {
                            continue;
                        }
                        for col in 0..s {
                            let x = r.placement.centre_mm[0]
                                + dir * (col as f64 + 0.5 - half) * r.placement.pixel_mm[1];
                            if (x - c[0]).abs() <= extent[0] / 2.0 {
                                sum += f64::from(r.data[(k * s + row) * s + col]);
                                n += 1.0;
                            }
                        }
                    }
                }
                assert!(n > 20.0, "box of {n} pixels");
                sum / n
            };
            let diseased = mean(own, p);
            let normal = mean(theirs, q);
            // lesions fill air with soft tissue or fluid: the box is denser than its mirror
            assert!(
                diseased - normal > 80.0,
                "exam {} {} code {}: {diseased:.0} HU at the lesion, {normal:.0} HU at its mirror",
                t.exam_id,
                t.side,
                t.code
            );
            checked += 1;
        }
    }
    assert!(checked >= 4, "{checked} one-sided lesions");
}

#[test]
fn the_compatible_spec_crops_native_pixels_over_evenly_spread_slices() {
    let spec = CacheSpec {
        image_size: 56,
        ..CacheSpec::compatible()
    };
    let dir = tempfile::tempdir().unwrap();
    generate(
        &SynthConfig::new(dir.path())
            .with_exams(1)
            .with_seed(5)
            .with_matrix(128),
    )
    .unwrap();
    let series = std::fs::read_dir(dir.path().join("dicom"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let v = read_dicom::<i16>(&series, &ReadOptions::default(), &|_| {})
        .unwrap()
        .volume;
    for r in extract_ears(&v, &spec) {
        assert_eq!(r.data.len(), 32 * 56 * 56);
        assert!((r.placement.pixel_mm[1] - v.spacing[2] * 192.0 / 56.0).abs() < 1e-9);
        let n = v.shape[0];
        assert_eq!(r.placement.slice_indices[0], 0);
        assert_eq!(*r.placement.slice_indices.last().unwrap(), n - 1);
        assert!(r.placement.slice_indices.windows(2).all(|w| w[0] <= w[1]));
    }
}

#[test]
fn decoding_only_the_slices_read_gives_the_same_records() {
    let dir = tempfile::tempdir().unwrap();
    generate(
        &SynthConfig::new(dir.path())
            .with_exams(2)
            .with_seed(12)
            .with_matrix(256),
    )
    .unwrap();
    let truth = std::fs::read_to_string(dir.path().join("truth.csv")).unwrap();
    let header: Vec<&str> = truth.lines().next().unwrap().split(',').collect();
    let col = header.iter().position(|h| *h == "bone_series_dir").unwrap();
    for line in truth.lines().skip(1).step_by(2) {
        let series = dir.path().join(line.split(',').nth(col).unwrap());
        let full = read_dicom::<i16>(&series, &ReadOptions::default(), &|_| {})
            .unwrap()
            .volume;
        for spec in [
            CacheSpec {
                image_size: 48,
                ..CacheSpec::default()
            },
            CacheSpec {
                image_size: 48,
                ..CacheSpec::compatible()
            },
        ] {
            let want = extract_ears(&full, &spec);
            // The buffer holds bone: a read of what was not loaded would move the crops.
            let [_, ny, nx] = full.shape;
            let mut slices = LazySlices::new(full.clone(), vec![1500; full.data.len()]);
            let mut asked = BTreeMap::new();
            let got = medfen_cache::extract_ears_lazy(
                &mut slices,
                &spec,
                &mut |v: &mut LazySlices,
                      zs: &[usize],
                      rows: std::ops::Range<usize>|
                 -> Result<(), ()> {
                    for &z in zs {
                        let hull = asked.entry(z).or_insert(rows.clone());
                        *hull = hull.start.min(rows.start)..hull.end.max(rows.end);
                        let at = (z * ny + rows.start) * nx..(z * ny + rows.end) * nx;
                        v.rows_mut(z, rows.clone()).copy_from_slice(&full.data[at]);
                    }
                    Ok(())
                },
            )
            .unwrap();
            assert_eq!(got, want, "{:?}", spec.sampling);
            if spec.sampling == medfen_cache::Sampling::Even {
                // probes and the 32 kept slices only
                assert!(
                    asked.len() <= 32 + spec.probe_slices,
                    "{} of {} slices decoded",
                    asked.len(),
                    full.shape[0]
                );
                // and of the kept slices not probed, only the rows the crops read (the
                // default spec probes most slices for its air profile)
                let rows_read: usize = asked.values().map(ExactSizeIterator::len).sum();
                assert!(
                    rows_read < (asked.len() - spec.probe_slices) * ny,
                    "{rows_read} rows of {} slices",
                    asked.len()
                );
            }
        }
    }
}

/// LPS mm of voxel (k, row, col) of a record.
fn voxel_mm(r: &EarRecord, size: usize, (k, row, col): (usize, usize, usize)) -> [f64; 3] {
    let dir = if r.side == Side::Left { 1.0 } else { -1.0 };
    let half = size as f64 / 2.0;
    [
        r.placement.centre_mm[0] + dir * (col as f64 + 0.5 - half) * r.placement.pixel_mm[1],
        r.placement.centre_mm[1] + (row as f64 + 0.5 - half) * r.placement.pixel_mm[0],
        r.placement.z_mm[k],
    ]
}

/// Mean |a - b| over the voxels of `a` inside `bx` (centre, extent in mm), `b` read at
/// the same LPS position moved by `shift` mm (nearest voxel).
fn mismatch(
    a: &EarRecord,
    b: &EarRecord,
    size: usize,
    bx: ([f64; 3], [f64; 3]),
    shift: [f64; 3],
) -> f64 {
    let (c, e) = bx;
    let (mut sum, mut n) = (0.0, 0.0);
    for k in 0..a.placement.z_mm.len() {
        for row in 0..size {
            for col in 0..size {
                let p = voxel_mm(a, size, (k, row, col));
                if (0..3).any(|i| (p[i] - c[i]).abs() > e[i] / 2.0) {
                    continue;
                }
                let q = [p[0] + shift[0], p[1] + shift[1], p[2] + shift[2]];
                if let Some((kb, rb, cb)) = to_record(b, size, q) {
                    let va = f64::from(a.data[(k * size + row) * size + col]);
                    let vb = f64::from(b.data[(kb * size + rb) * size + cb]);
                    sum += (va - vb).abs();
                    n += 1.0;
                }
            }
        }
    }
    assert!(n > 100.0, "{n} voxels compared");
    sum / n
}

/// Both ears of the exam in `series` as `medfen cache` extracts them.
fn cached(spec: &CacheSpec, series: &Path) -> medfen_cache::ExtractedExam {
    let src = medfen_cache::CacheSource {
        exam_id: 1,
        series_dir: series.to_path_buf(),
        series_uid: String::new(),
        codes: [Some(4), Some(5)],
        split: None,
    };
    medfen_cache::extract_source(spec, &src).unwrap()
}

/// Copies the series in `from` to `to` without the three slices just below `z` (mm).
fn copy_with_a_gap(from: &Path, to: &Path, z: f64) {
    std::fs::create_dir_all(to).unwrap();
    let mut by_z: Vec<(f64, std::path::PathBuf)> = std::fs::read_dir(from)
        .unwrap()
        .map(|e| {
            let path = e.unwrap().path();
            let h = medfen_dicom::read_header(&path).unwrap();
            (h.frames[0].position.unwrap()[2], path)
        })
        .collect();
    by_z.sort_by(|a, b| a.0.total_cmp(&b.0));
    let below = by_z.iter().rposition(|(p, _)| *p < z).unwrap();
    for (i, (_, path)) in by_z.iter().enumerate() {
        if !(below - 2..=below).contains(&i) {
            std::fs::copy(path, to.join(path.file_name().unwrap())).unwrap();
        }
    }
}

/// One phantom with a granuloma in the left ear, acquired regularly, with a 3-slice gap
/// just below the lesion, and on a gantry tilted 15°. The irregular series are
/// resampled onto a regular grid, and within the truth's lesion box each record
/// matches the regular acquisition (whose geometry the DICOM tests check to 1e-4 mm)
/// best where their mm positions say: moving either by one voxel along z or the rows
/// makes them differ more. Stacking the gap series at the median step misplaces
/// everything above the gap by three slices; the tilted stack drifts ~0.32 mm per slice.
#[test]
fn a_gap_or_gantry_tilt_leaves_the_lesion_at_its_true_position() {
    let size = 64;
    let spec = CacheSpec {
        image_size: size,
        ..CacheSpec::default()
    };
    let dir = tempfile::tempdir().unwrap();
    let synth = |name: &str, tilt: f64| {
        let out = dir.path().join(name);
        let config = SynthConfig::new(&out)
            .with_exams(1)
            .with_seed(5)
            .with_matrix(256)
            .with_difficulty(Difficulty::Easy)
            .with_code_frequencies(CodeFrequencies([0.0, 0.0, 0.0, 1.0, 0.0, 0.0]))
            .with_diseased_sides(medfen_synth::DiseasedSides::Left)
            .with_gantry_tilt(tilt);
        generate(&config).unwrap();
        let mut rdr = csv::Reader::from_path(out.join("truth.csv")).unwrap();
        let truth: Vec<Truth> = rdr.deserialize().map(Result::unwrap).collect();
        let left = truth.into_iter().find(|t| t.side == "left").unwrap();
        (out.join(&left.bone_series_dir), left)
    };
    let (regular_dir, truth) = synth("regular", 0.0);
    let lesion = (
        [
            truth.lesion_center_mm_x.unwrap(),
            truth.lesion_center_mm_y.unwrap(),
            truth.lesion_center_mm_z.unwrap(),
        ],
        [
            truth.lesion_extent_mm_x.unwrap(),
            truth.lesion_extent_mm_y.unwrap(),
            truth.lesion_extent_mm_z.unwrap(),
        ],
    );
    let regular = cached(&spec, &regular_dir);
    assert_eq!(regular.geometry, None);
    // Three slices just below the lesion's centre removed.
    let gap_dir = dir.path().join("gap");
    copy_with_a_gap(&regular_dir, &gap_dir, lesion.0[2] - 2.0);
    let (tilted_dir, _) = synth("tilted", 15.0);
    // Refused when asked, with the finding as the reason.
    let refuse = CacheSpec {
        on_irregular: medfen_cache::OnIrregular::Refuse,
        ..spec.clone()
    };
    let src = medfen_cache::CacheSource {
        exam_id: 7,
        series_dir: tilted_dir.clone(),
        series_uid: String::new(),
        codes: [Some(4), Some(5)],
        split: None,
    };
    let err = medfen_cache::extract_source(&refuse, &src)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("exam 7") && err.contains("refused") && err.contains("gantry tilt 15"),
        "{err}"
    );
    for (name, series) in [("gap", gap_dir), ("tilt", tilted_dir)] {
        let exam = cached(&spec, &series);
        let why = exam.geometry.clone().expect("resampled");
        assert!(why.starts_with("resampled: "), "{why}");
        let (a, b) = (&exam.ears[0], &regular.ears[0]);
        let voxel = [a.placement.pixel_mm[1], a.placement.pixel_mm[0], 1.25];
        let at = |axis: usize, steps: f64| {
            let mut shift = [0.0; 3];
            shift[axis] = steps * voxel[axis];
            mismatch(a, b, size, lesion, shift)
        };
        let here = at(0, 0.0);
        for axis in [1, 2] {
            for steps in [-1.0, 1.0] {
                let moved = at(axis, steps);
                assert!(
                    here < moved,
                    "{name}: {here:.1} HU apart in place, {moved:.1} HU moved {steps} voxel along axis {axis}"
                );
            }
        }
        // The series ends before the 40 mm the record spans: the slices beyond are air
        // and counted, in both acquisitions alike (to a slice).
        let (pa, pb) = (a.placement.padded_fraction, b.placement.padded_fraction);
        assert!(
            pb > 0.0 && (pa - pb).abs() <= 1.0 / 32.0 + 1e-9,
            "{name}: {pa} vs {pb}"
        );
    }
}

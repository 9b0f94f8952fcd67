//! The lesions are where the truth says: at easy difficulty the mean HU inside every
//! diseased ear's truth box exceeds the mean of the same box mirrored onto the normal
//! other ear by more than any left-right difference the same boxes show in exams with
//! two normal ears, for every code; and every box lies on the patient side the truth
//! names.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::{TruthRow, box_mean, mm_box_voxels, read_csv};
use medfen_dicom::{ReadOptions, Volume, read_dicom};
use medfen_synth::{CodeFrequencies, Difficulty, SynthConfig, generate};

/// A diseased ear whose other ear is normal without a benign variant.
#[derive(Debug)]
struct Lesion {
    code: u8,
    /// Mean HU in the truth box minus the mirrored box.
    contrast: f64,
    /// `contrast` times the box volume (HU x ml): grows with the lesion's size.
    excess: f64,
    /// The box relative to the ear's centre (mm) and its extent (mm), for reuse on
    /// normal ears.
    offset: [f64; 3],
    extent: [f64; 3],
    side_sign: f64,
}

struct Exam {
    volume: Volume<i16>,
    ears: Vec<TruthRow>,
}

fn mean_mm(v: &Volume<i16>, centre: [f64; 3], extent: [f64; 3]) -> (f64, f64) {
    let (c, e) = mm_box_voxels(v.origin, v.spacing, centre, extent);
    box_mean(&v.data, v.shape, c, e)
}

fn load(root: &Path) -> Vec<Exam> {
    let truth: Vec<TruthRow> = read_csv(&root.join("truth.csv"));
    let mut by_exam: BTreeMap<u64, Vec<TruthRow>> = BTreeMap::new();
    for t in truth {
        by_exam.entry(t.exam_id).or_default().push(t);
    }
    by_exam
        .into_values()
        .map(|ears| {
            assert_eq!(ears.len(), 2, "exam {}: two ears", ears[0].exam_id);
            let exam_dir = root
                .join(&ears[0].bone_series_dir)
                .parent()
                .unwrap()
                .to_path_buf();
            let volume = read_dicom::<i16>(&exam_dir, &ReadOptions::default(), &|_| {})
                .unwrap()
                .volume;
            Exam { volume, ears }
        })
        .collect()
}

fn centre(t: &TruthRow) -> [f64; 3] {
    [t.ear_center_mm_x, t.ear_center_mm_y, t.ear_center_mm_z]
}

/// Checks sides and box geometry of every ear; returns the measurable lesions.
fn lesions(exams: &[Exam]) -> Vec<Lesion> {
    let mut out = Vec::new();
    for exam in exams {
        let v = &exam.volume;
        for (ear, other) in [
            (&exam.ears[0], &exam.ears[1]),
            (&exam.ears[1], &exam.ears[0]),
        ] {
            let id = ear.exam_id;
            // The side is the patient's: the left ear lies at larger LPS x.
            let sign = if ear.side == "left" { 1.0 } else { -1.0 };
            assert!(
                sign * (ear.ear_center_mm_x - other.ear_center_mm_x) > 40.0,
                "exam {id}"
            );
            assert!(sign * (ear.ear_center_vox_x - other.ear_center_vox_x) > 40.0 / v.spacing[2]);
            if ear.code == 5 {
                assert!(
                    ear.lesion.is_none() && ear.lesion_voxels().is_none(),
                    "exam {id}"
                );
                continue;
            }
            let c = [
                ear.lesion_center_mm_x.expect("diseased ear has a box"),
                ear.lesion_center_mm_y.unwrap(),
                ear.lesion_center_mm_z.unwrap(),
            ];
            let extent = [
                ear.lesion_extent_mm_x.unwrap(),
                ear.lesion_extent_mm_y.unwrap(),
                ear.lesion_extent_mm_z.unwrap(),
            ];
            let midline = f64::midpoint(ear.ear_center_mm_x, other.ear_center_mm_x);
            assert!(
                sign * (c[0] - midline) > 20.0,
                "exam {id}: box on the wrong side"
            );
            // mm and voxel centres agree through the volume's geometry
            let vox = [
                ear.lesion_center_vox_z.unwrap(),
                ear.lesion_center_vox_y.unwrap(),
                ear.lesion_center_vox_x.unwrap(),
            ];
            for (k, axis) in [(0, 2), (1, 1), (2, 0)] {
                let mm = v.origin[axis] + vox[k] * v.spacing[k];
                assert!(
                    (mm - c[axis]).abs() < 1e-3,
                    "exam {id}: voxel/mm centres disagree"
                );
            }
            if other.code != 5 || other.variant.is_some() {
                continue;
            }
            let (lc, le) = ear.lesion_voxels().unwrap();
            let (mc, me) = ear.mirror_voxels().unwrap();
            let (inside, n_in) = box_mean(&v.data, v.shape, lc, le);
            let (mirror, n_mirror) = box_mean(&v.data, v.shape, mc, me);
            assert!(
                n_in > 8.0 && n_mirror > 8.0,
                "exam {id}: boxes of {n_in}/{n_mirror} voxels"
            );
            let ml = extent.iter().product::<f64>() / 1000.0;
            out.push(Lesion {
                code: ear.code,
                contrast: inside - mirror,
                excess: (inside - mirror) * ml,
                offset: std::array::from_fn(|a| c[a] - centre(ear)[a]),
                extent,
                side_sign: sign,
            });
        }
    }
    out
}

/// The same statistic on exams with two plain normal ears: every lesion's box placed
/// on one ear (relative to the ear centre) against its mirror on the other.
fn null_contrasts(exams: &[Exam], lesions: &[Lesion]) -> Vec<f64> {
    let mut out = Vec::new();
    for exam in exams {
        if !exam.ears.iter().all(|e| e.code == 5 && e.variant.is_none()) {
            continue;
        }
        for l in lesions {
            let (ear, other) = if (exam.ears[0].side == "left") == (l.side_sign > 0.0) {
                (&exam.ears[0], &exam.ears[1])
            } else {
                (&exam.ears[1], &exam.ears[0])
            };
            let here: [f64; 3] = std::array::from_fn(|a| centre(ear)[a] + l.offset[a]);
            let o = centre(other);
            let there = [o[0] - l.offset[0], o[1] + l.offset[1], o[2] + l.offset[2]];
            let (a, _) = mean_mm(&exam.volume, here, l.extent);
            let (b, _) = mean_mm(&exam.volume, there, l.extent);
            out.push(a - b);
        }
    }
    out
}

fn dataset(dir: &Path, difficulty: Difficulty) -> Vec<Exam> {
    // Diseased ears of every code, mostly with a normal other ear.
    let freq = CodeFrequencies([0.1, 0.1, 0.1, 0.1, 0.5, 0.1]);
    let config = SynthConfig::new(dir)
        .with_exams(24)
        .with_seed(5)
        .with_matrix(256)
        .with_difficulty(difficulty)
        .with_code_frequencies(freq)
        .with_blank_sides(0.0);
    generate(&config).unwrap();
    load(dir)
}

#[test]
fn at_easy_difficulty_the_truth_box_mean_separates_every_code_from_normal_ears() {
    let dir = tempfile::tempdir().unwrap();
    let exams = dataset(dir.path(), Difficulty::Easy);
    let found = lesions(&exams);
    let null = null_contrasts(&exams, &found);
    assert!(null.len() >= 3 * found.len(), "{} null boxes", null.len());
    let null_max = null.iter().map(|d| d.abs()).fold(0.0, f64::max);
    for code in [1u8, 2, 3, 4, 6] {
        let of_code: Vec<&Lesion> = found.iter().filter(|l| l.code == code).collect();
        assert!(
            !of_code.is_empty(),
            "no code-{code} ear with a normal partner"
        );
        for l in of_code {
            assert!(
                l.contrast > null_max,
                "code {code}: truth box {:.0} HU above its mirror; normal ears differ by up to {null_max:.0} HU",
                l.contrast
            );
        }
    }
}

#[test]
fn hard_difficulty_makes_lesions_smaller_and_subtler() {
    let easy = tempfile::tempdir().unwrap();
    let hard = tempfile::tempdir().unwrap();
    let median = |exams: Vec<Exam>| {
        let mut d: Vec<f64> = lesions(&exams).iter().map(|l| l.excess).collect();
        d.sort_by(f64::total_cmp);
        d[d.len() / 2]
    };
    let e = median(dataset(easy.path(), Difficulty::Easy));
    let h = median(dataset(hard.path(), Difficulty::Hard));
    assert!(
        h < 0.6 * e,
        "median lesion excess easy {e:.0} HU ml, hard {h:.0} HU ml"
    );
    assert!(h > 0.0, "hard lesions are still there: {h:.0} HU ml");
}

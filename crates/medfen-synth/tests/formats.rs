//! The other formats: NIfTI volumes equal to the DICOM bone series of the same cohort,
//! the multi-modal PNG tree, and the whole-body bone scans with their boxes.

mod common;

use std::collections::BTreeMap;

use common::{SeriesRow, read_csv};
use medfen_dicom::{ReadOptions, read_dicom, read_nifti};
use medfen_synth::{OutputFormat, SynthConfig, generate};

#[derive(serde::Deserialize)]
struct ExamLabels {
    exam_id: u64,
    nifti_path: String,
    label_csom: u8,
    label_cholesteatoma: u8,
    label_ome: u8,
    label_cholesterol_granuloma: u8,
    label_normal: u8,
    label_other: u8,
    left_code: u8,
    right_code: u8,
}

#[derive(serde::Deserialize)]
struct PatientRow {
    patient_id: String,
    hospital: String,
    fold: Option<u8>,
    grade: u8,
    left_code: u8,
    right_code: u8,
    dir: String,
}

#[derive(serde::Deserialize)]
struct BoxRow {
    image: String,
    label: u8,
    class: String,
    xmin: u32,
    ymin: u32,
    xmax: u32,
    ymax: u32,
}

#[test]
fn nifti_volumes_hold_the_bone_series_with_its_geometry_and_labels() {
    let dcm = tempfile::tempdir().unwrap();
    let nii = tempfile::tempdir().unwrap();
    let base = |dir: &std::path::Path| {
        SynthConfig::new(dir)
            .with_exams(3)
            .with_seed(4)
            .with_matrix(96)
    };
    generate(&base(dcm.path())).unwrap();
    let report = generate(&base(nii.path()).with_format(OutputFormat::Nifti)).unwrap();
    assert_eq!(report.exams, 3);
    let series: Vec<SeriesRow> = read_csv(&dcm.path().join("series.csv"));
    let labels: Vec<ExamLabels> = read_csv(&nii.path().join("labels.csv"));
    assert_eq!(labels.len(), 3);
    for l in &labels {
        let flags = [
            l.label_csom,
            l.label_cholesteatoma,
            l.label_ome,
            l.label_cholesterol_granuloma,
            l.label_normal,
            l.label_other,
        ];
        for (k, flag) in flags.iter().enumerate() {
            let code = k as u8 + 1;
            assert_eq!(*flag, u8::from(l.left_code == code || l.right_code == code));
        }
        let from_nifti = read_nifti(&nii.path().join(&l.nifti_path)).unwrap();
        let bone = series
            .iter()
            .find(|s| s.exam_id == l.exam_id && s.intended)
            .expect("same cohort in both formats");
        let exam_dir = dcm.path().join(&bone.dir).parent().unwrap().to_path_buf();
        let from_dicom = read_dicom::<f32>(&exam_dir, &ReadOptions::default(), &|_| {})
            .unwrap()
            .volume;
        assert_eq!(from_nifti.shape, from_dicom.shape, "exam {}", l.exam_id);
        for a in 0..3 {
            assert!((from_nifti.spacing[a] - from_dicom.spacing[a]).abs() < 1e-4);
            assert!((from_nifti.origin[a] - from_dicom.origin[a]).abs() < 1e-3);
        }
        assert!(
            from_nifti.data == from_dicom.data,
            "exam {}: voxels differ",
            l.exam_id
        );
    }
}

#[test]
fn png_modalities_follow_the_fusion_layout() {
    let dir = tempfile::tempdir().unwrap();
    let config = SynthConfig::new(dir.path())
        .with_exams(16)
        .with_seed(2)
        .with_format(OutputFormat::PngModalities);
    generate(&config).unwrap();
    let patients: Vec<PatientRow> = read_csv(&dir.path().join("patients.csv"));
    assert_eq!(patients.len(), 16);
    let mut per_hospital: BTreeMap<&str, usize> = BTreeMap::new();
    for p in &patients {
        *per_hospital.entry(&p.hospital).or_default() += 1;
        let surgical = [p.left_code, p.right_code]
            .iter()
            .any(|c| matches!(c, 1 | 2 | 4));
        assert_eq!(p.grade, u8::from(surgical), "{}", p.patient_id);
        assert_eq!(
            p.fold.is_some(),
            p.hospital == "JM",
            "{}: folds only for JM",
            p.patient_id
        );
        let fold = p.fold.map(|f| format!("fold{f}/")).unwrap_or_default();
        let expected = format!(
            "Grade/{}/{fold}grade{}/{}",
            p.hospital, p.grade, p.patient_id
        );
        assert_eq!(p.dir, expected);
        let mut means = Vec::new();
        for m in ["A", "P"] {
            let folder = dir.path().join(&p.dir).join(m);
            let mut names: Vec<String> = std::fs::read_dir(&folder)
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            names.sort();
            assert_eq!(names.len(), 12, "{}", folder.display());
            assert_eq!(names[0], format!("{}_{m}_slice_000.png", p.patient_id));
            let img = image::open(folder.join(&names[6])).unwrap();
            assert_eq!((img.width(), img.height()), (224, 224));
            let gray = img.to_luma8();
            let mean = gray.pixels().map(|p| f64::from(p.0[0])).sum::<f64>() / (224.0 * 224.0);
            means.push(mean);
        }
        // Two different modalities: the soft-tissue window is brighter than the bone window.
        assert!(means[1] > means[0] + 10.0, "{}: {means:?}", p.patient_id);
    }
    assert!(
        per_hospital.get("JM").copied().unwrap_or(0) >= 8,
        "{per_hospital:?}"
    );
    assert!(
        per_hospital.get("ZS").copied().unwrap_or(0) >= 1,
        "{per_hospital:?}"
    );
}

#[test]
fn bone_scans_have_indexes_and_boxes_around_hot_spots() {
    let dir = tempfile::tempdir().unwrap();
    let config = SynthConfig::new(dir.path())
        .with_exams(12)
        .with_seed(6)
        .with_format(OutputFormat::Bonescan);
    generate(&config).unwrap();
    let boxes: Vec<BoxRow> = read_csv(&dir.path().join("boxes.csv"));
    for (folder, sub) in [("wholeBodyANT", "ant"), ("wholeBodyPOST", "post")] {
        let index =
            std::fs::read_to_string(dir.path().join(folder).join(format!("{folder}.txt"))).unwrap();
        let lines: Vec<(String, u8)> = index
            .lines()
            .map(|l| {
                let (name, label) = l.split_once(' ').unwrap();
                (name.to_string(), label.parse().unwrap())
            })
            .collect();
        assert_eq!(lines.len(), 12);
        assert!(lines.iter().any(|l| l.1 == 1) && lines.iter().any(|l| l.1 == 0));
        for (name, label) in &lines {
            let image_path = format!("{folder}/{name}");
            let img = image::open(dir.path().join(&image_path))
                .unwrap()
                .to_luma8();
            assert_eq!((img.width(), img.height()), (256, 1024));
            let xml = std::fs::read_to_string(
                dir.path()
                    .join(folder)
                    .join(sub)
                    .join(name.replace(".jpg", ".xml")),
            )
            .unwrap();
            assert!(
                xml.contains(&format!("<filename>{name}</filename>")),
                "{xml}"
            );
            let mine: Vec<&BoxRow> = boxes.iter().filter(|b| b.image == image_path).collect();
            assert_eq!(xml.matches("<object>").count(), mine.len(), "{image_path}");
            let nidus = mine.iter().filter(|b| b.class == "nidus").count();
            assert_eq!(
                nidus > 0,
                *label == 1,
                "{image_path}: label {label}, {nidus} nidus boxes"
            );
            assert_eq!(
                mine.iter().filter(|b| b.class == "physiological").count(),
                1
            );
            let median = {
                let mut v: Vec<u8> = img.pixels().map(|p| p.0[0]).collect();
                v.sort_unstable();
                v[v.len() / 2]
            };
            for b in mine {
                assert_eq!(b.label, *label);
                assert!(b.xmin < b.xmax && b.xmax < 256 && b.ymin < b.ymax && b.ymax < 1024);
                assert!(xml.contains(&format!("<xmin>{}</xmin>", b.xmin)));
                // Uptake is displayed dark: the box holds pixels far darker than the
                // image's typical (background) value.
                let darkest = (b.ymin..=b.ymax)
                    .flat_map(|y| (b.xmin..=b.xmax).map(move |x| (x, y)))
                    .map(|(x, y)| img.get_pixel(x, y).0[0])
                    .min()
                    .unwrap();
                assert!(
                    i32::from(darkest) < i32::from(median) - 80,
                    "{image_path} {}: darkest {darkest}, median {median}",
                    b.class
                );
            }
        }
    }
    for folder in ["pelvisANT", "pelvisPOST"] {
        let index =
            std::fs::read_to_string(dir.path().join(folder).join(format!("{folder}.txt"))).unwrap();
        assert_eq!(index.lines().count(), 12);
        let name = index.lines().next().unwrap().split_once(' ').unwrap().0;
        let img = image::open(dir.path().join(folder).join(name)).unwrap();
        assert_eq!((img.width(), img.height()), (176, 180));
    }
}

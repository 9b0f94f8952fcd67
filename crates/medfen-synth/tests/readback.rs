//! medfen-dicom reads every synth exam back with exactly the geometry synth wrote, and
//! its series selector picks the intended (thin bone-kernel axial) series every time.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::{SeriesRow, TruthRow, read_csv};
use medfen_dicom::{ReadOptions, VolumeSourceInfo, read_dicom};
use medfen_synth::{Difficulty, SyntaxChoice, SynthConfig, generate};

fn check_dataset(root: &Path) -> usize {
    let series: Vec<SeriesRow> = read_csv(&root.join("series.csv"));
    let truth: Vec<TruthRow> = read_csv(&root.join("truth.csv"));
    let mut by_exam: BTreeMap<u64, Vec<&SeriesRow>> = BTreeMap::new();
    for s in &series {
        by_exam.entry(s.exam_id).or_default().push(s);
    }
    let mut checked = 0;
    for (exam, rows) in &by_exam {
        assert!(
            (1..=3).contains(&rows.len()),
            "exam {exam}: {} series",
            rows.len()
        );
        let bone: Vec<_> = rows.iter().filter(|r| r.intended).collect();
        assert_eq!(bone.len(), 1, "exam {exam}: exactly one intended series");
        let bone = bone[0];
        assert_eq!(bone.role, "bone");
        let exam_dir = root.join(&bone.dir).parent().unwrap().to_path_buf();
        let loaded = read_dicom::<i16>(&exam_dir, &ReadOptions::default(), &|_| {})
            .unwrap_or_else(|e| panic!("exam {exam}: {e}"));
        let VolumeSourceInfo::Dicom {
            series: chosen,
            unreadable,
            ..
        } = &loaded.source
        else {
            panic!("exam {exam}: not read as DICOM");
        };
        assert!(unreadable.is_empty(), "exam {exam}: {unreadable:?}");
        assert_eq!(
            chosen.series_uid, bone.series_uid,
            "exam {exam}: wrong series chosen"
        );
        let v = &loaded.volume;
        assert_eq!(
            v.shape,
            [bone.slices, bone.rows, bone.columns],
            "exam {exam}"
        );
        let step = bone.slice_step.expect("bone series has a slice step");
        for (got, want) in v
            .spacing
            .iter()
            .zip([step, bone.pixel_spacing, bone.pixel_spacing])
        {
            assert!(
                (got - want).abs() < 1e-6,
                "exam {exam}: spacing {:?}",
                v.spacing
            );
        }
        for (got, want) in v
            .origin
            .iter()
            .zip([bone.origin_x, bone.origin_y, bone.origin_z])
        {
            assert!(
                (got - want).abs() < 1e-3,
                "exam {exam}: origin {:?}",
                v.origin
            );
        }
        let axial = [[0.0, 0.0, 1.0], [0.0, 1.0, 0.0], [1.0, 0.0, 0.0]];
        for (got, want) in v.direction.iter().flatten().zip(axial.iter().flatten()) {
            assert!(
                (got - want).abs() < 1e-9,
                "exam {exam}: direction {:?}",
                v.direction
            );
        }
        assert!(v.qa.is_empty(), "exam {exam}: QA {:?}", v.qa);
        // HU: air outside the head (padding and the reconstruction circle map to air),
        // dense bone somewhere, nothing below air.
        let min = v.data.iter().copied().min().unwrap();
        let max = v.data.iter().copied().max().unwrap();
        assert_eq!(min, -1024, "exam {exam}");
        assert!(max > 1200, "exam {exam}: max {max} HU, no dense bone");
        assert_eq!(v.data[0], -1024, "exam {exam}: corner voxel");
        // The truth table points at this series.
        for t in truth.iter().filter(|t| t.exam_id == *exam) {
            assert_eq!(t.bone_series_uid, bone.series_uid);
            assert_eq!(t.bone_series_dir, bone.dir);
        }
        checked += 1;
    }
    checked
}

#[test]
fn every_exam_reads_back_with_its_written_geometry_and_the_bone_series_is_chosen() {
    let dir = tempfile::tempdir().unwrap();
    let config = SynthConfig::new(dir.path())
        .with_exams(8)
        .with_seed(11)
        .with_matrix(96)
        .with_difficulty(Difficulty::Hard)
        .with_syntax(SyntaxChoice::Mixed);
    let report = generate(&config).unwrap();
    assert_eq!(report.exams, 8);
    assert_eq!(check_dataset(dir.path()), 8);
    // The dataset exercises what it promises: several series per exam, InstanceNumber
    // reversed against position somewhere, more than one transfer syntax and vendor.
    let series: Vec<SeriesRow> = read_csv(&dir.path().join("series.csv"));
    assert!(series.len() > 8, "only bone series");
    assert!(series.iter().any(|s| s.role == "localizer"));
    assert!(series.iter().any(|s| s.role == "soft"));
    assert!(series.iter().any(|s| s.instance_reversed));
    let syntaxes: std::collections::BTreeSet<_> =
        series.iter().map(|s| &s.transfer_syntax).collect();
    assert!(syntaxes.len() >= 3, "{syntaxes:?}");
    let vendors: std::collections::BTreeSet<_> = series.iter().map(|s| &s.manufacturer).collect();
    assert!(vendors.len() >= 2, "{vendors:?}");
}

#[test]
fn full_size_exams_have_realistic_headers() {
    // The default 512 matrix: ~0.4 mm pixels, ~0.6 mm steps, 60-200 slices.
    let dir = tempfile::tempdir().unwrap();
    let config = SynthConfig::new(dir.path()).with_exams(2).with_seed(3);
    generate(&config).unwrap();
    assert_eq!(check_dataset(dir.path()), 2);
    let series: Vec<SeriesRow> = read_csv(&dir.path().join("series.csv"));
    for s in series.iter().filter(|s| s.role == "bone") {
        assert_eq!((s.rows, s.columns), (512, 512));
        assert!(
            (0.3..=0.5).contains(&s.pixel_spacing),
            "{}",
            s.pixel_spacing
        );
        let step = s.slice_step.unwrap();
        assert!((0.5..=0.75).contains(&step), "{step}");
        assert!((60..=200).contains(&s.slices), "{}", s.slices);
    }
}

//! Volume assembly on series written with known geometry: every voxel's LPS position
//! (to 1e-4 mm) and value is checked, and QA findings must name the right files.

mod common;

use common::{Geom, assert_close, check_every_voxel, file_name, hu, rot_x};
use medfen_dicom::writer::{FrameSpec, WriteSyntax, write_dicom};
use medfen_dicom::{
    QaKind, ReadOptions, ScanOptions, SelectionPolicy, TieBreak, Volume, group_series, read_dicom,
    scan,
};

fn load(dir: &std::path::Path) -> medfen_dicom::LoadedVolume<i16> {
    read_dicom::<i16>(dir, &ReadOptions::default(), &|_| {}).unwrap()
}

fn kinds(v: &Volume<i16>) -> Vec<QaKind> {
    v.qa.iter().map(|f| f.kind).collect()
}

#[test]
fn axial_series_has_exact_geometry_and_no_findings() {
    let dir = tempfile::tempdir().unwrap();
    let g = Geom::axial(10);
    g.write_all(dir.path(), "1.2.3.1");
    let vol = load(dir.path()).volume;
    assert_eq!(vol.shape, [10, 12, 16]);
    assert_close(vol.spacing, [0.6, 0.5, 0.4]);
    assert_close(vol.origin, [-3.2, -2.4, 10.0]);
    assert_eq!(
        vol.direction,
        [[0.0, 0.0, 1.0], [0.0, 1.0, 0.0], [1.0, 0.0, 0.0]]
    );
    assert!(vol.qa.is_empty(), "{:?}", vol.qa);
    check_every_voxel(&vol, &g);
    // Affine columns are x, y, z steps and the origin.
    let a = vol.affine();
    assert_close([a[0][0], a[1][1], a[2][2]], [0.4, 0.5, 0.6]);
    assert_eq!(a[2][3], 10.0);
    // Sources are in slice order, whatever the file names.
    assert!(
        vol.sources
            .iter()
            .enumerate()
            .all(|(k, s)| s.path.ends_with(file_name("1.2.3.1", k)))
    );
}

#[test]
fn instance_numbers_reversed_against_position_change_nothing() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let g = Geom::axial(8);
    g.write_all(a.path(), "1.2.3.2");
    g.write(b.path(), "1.2.3.2", &(0..8).collect::<Vec<_>>(), |k, s| {
        s.instance_number = Some(100 - k as i64);
    });
    let (va, vb) = (load(a.path()).volume, load(b.path()).volume);
    assert_eq!(va.data, vb.data);
    assert_eq!(va.affine(), vb.affine());
    check_every_voxel(&vb, &g);
}

#[test]
fn sagittal_series_is_reoriented_to_lps() {
    let dir = tempfile::tempdir().unwrap();
    // Rows run anterior-to-posterior (+P), columns head-to-feet (-S); slices step to the
    // patient's right (-L).
    let g = Geom {
        row_dir: [0.0, 1.0, 0.0],
        col_dir: [0.0, 0.0, -1.0],
        step: [-0.7, 0.0, 0.0],
        origin: [5.0, -3.0, 20.0],
        ..Geom::axial(6)
    };
    g.write_all(dir.path(), "1.2.3.3");
    let vol = load(dir.path()).volume;
    // z from rows (12), y from columns (16), x from slices (6).
    assert_eq!(vol.shape, [12, 16, 6]);
    assert_eq!(vol.slice_axis, 2);
    assert_eq!(
        vol.direction,
        [[0.0, 0.0, 1.0], [0.0, 1.0, 0.0], [1.0, 0.0, 0.0]]
    );
    assert_close(vol.spacing, [0.5, 0.4, 0.7]);
    check_every_voxel(&vol, &g);
}

#[test]
fn oblique_15_degrees_keeps_exact_direction_cosines() {
    let dir = tempfile::tempdir().unwrap();
    let col = rot_x([0.0, 1.0, 0.0], 15.0);
    let normal = rot_x([0.0, 0.0, 1.0], 15.0);
    let g = Geom {
        col_dir: col,
        step: normal.map(|v| v * 0.6),
        ..Geom::axial(7)
    };
    g.write_all(dir.path(), "1.2.3.4");
    let loaded = load(dir.path());
    let vol = loaded.volume;
    assert_eq!(vol.shape, [7, 12, 16]);
    for (a, b) in vol.direction[0].iter().zip(&normal) {
        assert!((a - b).abs() < 1e-6, "{:?} vs {normal:?}", vol.direction[0]);
    }
    check_every_voxel(&vol, &g);
    match loaded.source {
        medfen_dicom::VolumeSourceInfo::Dicom { series, .. } => {
            assert_eq!(series.orientation.unwrap().label(), "axial+15.0°");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn gantry_tilt_gives_a_sheared_affine_and_a_finding() {
    let dir = tempfile::tempdir().unwrap();
    // Axial slices whose positions drift posteriorly by tan(12°) per step.
    let tilt = 12f64.to_radians().tan();
    let g = Geom {
        step: [0.0, 0.6 * tilt, 0.6],
        ..Geom::axial(9)
    };
    let files = g.write(
        dir.path(),
        "1.2.3.5",
        &(0..9).collect::<Vec<_>>(),
        |_, s| s.gantry_tilt = Some(12.0),
    );
    let vol = load(dir.path()).volume;
    check_every_voxel(&vol, &g);
    let finding = vol
        .qa
        .iter()
        .find(|f| f.kind == QaKind::GantryTilt)
        .expect("tilt finding");
    assert!(finding.message.contains("12.00°"), "{}", finding.message);
    assert!(
        finding.message.contains("0.6000 mm apart"),
        "{}",
        finding.message
    );
    // It names the first and last slice.
    let first = files[0].clone();
    let last = files[8].clone();
    assert_eq!(finding.files, vec![first, last]);
}

#[test]
fn a_missing_slice_is_a_gap_naming_its_neighbours() {
    let dir = tempfile::tempdir().unwrap();
    let g = Geom::axial(10);
    let present: Vec<usize> = (0..10).filter(|&k| k != 5).collect();
    let files = g.write(dir.path(), "1.2.3.6", &present, |_, _| {});
    let vol = load(dir.path()).volume;
    assert_eq!(vol.shape[0], 9);
    assert!(
        (vol.spacing[0] - 0.6).abs() < 1e-9,
        "the median step ignores the gap: {}",
        vol.spacing[0]
    );
    let gap = vol
        .qa
        .iter()
        .find(|f| f.kind == QaKind::Gap)
        .expect("gap finding");
    assert!(
        gap.message.contains("about 1 slice(s) missing"),
        "{}",
        gap.message
    );
    // Slices 4 and 6 bound the gap (files[4] is slice 4, files[5] is slice 6).
    assert_eq!(gap.files, vec![files[4].clone(), files[5].clone()]);
    // Values follow the present slices in order.
    for (z, &k) in present.iter().enumerate() {
        assert_eq!(vol.at(z, 3, 2), hu(k, 3, 2));
    }
}

#[test]
fn a_duplicated_slice_is_left_out_and_named() {
    let dir = tempfile::tempdir().unwrap();
    let g = Geom::axial(6);
    let files = g.write_all(dir.path(), "1.2.3.7");
    let mut dup = g.spec(3, "1.2.3.7");
    dup.sop_instance_uid = "1.2.3.7.99".into();
    dup.instance_number = Some(99);
    let dup_path = dir.path().join("ZZ_copy.dcm");
    write_dicom(&dup_path, &dup).unwrap();
    let vol = load(dir.path()).volume;
    assert_eq!(vol.shape[0], 6);
    check_every_voxel(&vol, &g);
    assert_eq!(kinds(&vol), vec![QaKind::DuplicatePosition]);
    assert_eq!(vol.qa[0].files, vec![files[3].clone(), dup_path]);
}

#[test]
fn two_interleaved_series_in_one_folder_are_separated_and_chosen_by_rules() {
    let dir = tempfile::tempdir().unwrap();
    let thin = Geom::axial(12);
    let thick = Geom {
        step: [0.0, 0.0, 1.8],
        ..Geom::axial(4)
    };
    thin.write(
        dir.path(),
        "1.2.3.8.1",
        &(0..12).collect::<Vec<_>>(),
        |_, s| s.kernel = Some("U75u".into()),
    );
    thick.write(
        dir.path(),
        "1.2.3.8.2",
        &(0..4).collect::<Vec<_>>(),
        |_, s| {
            s.kernel = Some("B30f".into());
            s.series_number = Some(2);
        },
    );
    let report = scan(dir.path(), &ScanOptions::default(), &|_| {}).unwrap();
    assert_eq!(group_series(&report.headers).len(), 2);
    let loaded = load(dir.path());
    check_every_voxel(&loaded.volume, &thin);
    let medfen_dicom::VolumeSourceInfo::Dicom { choice, .. } = loaded.source else {
        panic!()
    };
    assert_eq!(choice.id, "1.2.3.8.1");
    assert!(
        choice.reason.contains("finest slice spacing"),
        "{}",
        choice.reason
    );
    assert_eq!(choice.alternatives[0].id, "1.2.3.8.2");
}

#[test]
fn a_stray_file_of_another_size_splits_the_series_and_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let g = Geom::axial(8);
    g.write_all(dir.path(), "1.2.3.9");
    let small = Geom {
        rows: 8,
        cols: 8,
        ..Geom::axial(1)
    };
    let mut spec = small.spec(0, "1.2.3.9");
    spec.sop_instance_uid = "1.2.3.9.999".into();
    let stray = vec![dir.path().join("stray.dcm")];
    write_dicom(&stray[0], &spec).unwrap();
    let vol = load(dir.path()).volume;
    check_every_voxel(&vol, &g);
    let split = vol
        .qa
        .iter()
        .find(|f| f.kind == QaKind::SeriesSplit)
        .expect("split finding");
    assert_eq!(split.files, stray);
    assert!(
        split.message.contains("#1: 8 frames 16x12") && split.message.contains("#2: 1 frames 8x8"),
        "{}",
        split.message
    );
}

#[test]
fn columns_running_to_the_patients_right_are_flipped() {
    let dir = tempfile::tempdir().unwrap();
    let g = Geom {
        row_dir: [-1.0, 0.0, 0.0],
        origin: [3.2, -2.4, 10.0],
        ..Geom::axial(4)
    };
    g.write_all(dir.path(), "1.2.3.10");
    let vol = load(dir.path()).volume;
    assert_eq!(
        vol.direction[2],
        [1.0, 0.0, 0.0],
        "x must run towards the patient's left"
    );
    // The patient-left edge (written last in each row) is now at high x... and the
    // lowest x holds the patient's right: the last written column.
    assert_eq!(vol.at(0, 0, 0), hu(0, 0, 15));
    check_every_voxel(&vol, &g);
}

#[test]
fn enhanced_multiframe_ct_uses_per_frame_positions_and_rescale() {
    let dir = tempfile::tempdir().unwrap();
    let g = Geom::axial(5);
    let mut spec = g.spec(0, "1.2.3.11");
    // Frames stored in reverse position order, each with its own intercept.
    spec.frames = (0..5)
        .rev()
        .map(|k| FrameSpec {
            position: Some(g.position(k as f64, 0.0, 0.0)),
            slope: 1.0,
            intercept: -1024.0 - k as f64,
            stored: g.plane(k).iter().map(|v| v + k as i32).collect(),
        })
        .collect();
    write_dicom(&dir.path().join("enhanced.dcm"), &spec).unwrap();
    let vol = load(dir.path()).volume;
    assert_eq!(vol.shape, [5, 12, 16]);
    check_every_voxel(&vol, &g);
    assert_eq!(
        vol.sources[0].frame, 4,
        "the lowest slice is the last frame"
    );
}

#[test]
fn missing_positions_fall_back_to_instance_number_and_say_so() {
    let dir = tempfile::tempdir().unwrap();
    let g = Geom::axial(5);
    let files = g.write(
        dir.path(),
        "1.2.3.12",
        &(0..5).collect::<Vec<_>>(),
        |k, s| {
            if k == 2 {
                s.frames[0].position = None;
            }
            s.spacing_between_slices = Some(0.6);
        },
    );
    let vol = load(dir.path()).volume;
    assert_eq!(vol.shape[0], 5);
    let f = vol
        .qa
        .iter()
        .find(|f| f.kind == QaKind::InstanceNumberFallback)
        .expect("fallback finding");
    assert_eq!(f.files, vec![files[2].clone()]);
    assert!((vol.spacing[0] - 0.6).abs() < 1e-9);
    for k in 0..5 {
        assert_eq!(vol.at(k, 1, 1), hu(k, 1, 1));
    }
}

#[test]
fn every_written_transfer_syntax_gives_the_same_volume() {
    let g = Geom::axial(4);
    let mut volumes = Vec::new();
    for syntax in [
        WriteSyntax::ExplicitLe,
        WriteSyntax::ImplicitLe,
        WriteSyntax::ExplicitBe,
        WriteSyntax::Rle,
        WriteSyntax::JpegLossless,
    ] {
        let dir = tempfile::tempdir().unwrap();
        g.write(dir.path(), "1.2.3.13", &[0, 1, 2, 3], |_, s| {
            s.syntax = syntax;
        });
        let vol = load(dir.path()).volume;
        check_every_voxel(&vol, &g);
        volumes.push(vol.data);
    }
    assert!(volumes.windows(2).all(|w| w[0] == w[1]));
}

/// The plan and volume of a series folder.
fn plan_and_volume(dir: &std::path::Path) -> (medfen_dicom::VolumePlan, Volume<i16>) {
    let options = ReadOptions::default();
    let scan = scan(dir, &options.scan, &|_| {}).unwrap();
    let series = group_series(&scan.headers);
    let plan = medfen_dicom::plan_volume(&series[0], &scan.headers, &options.assembly).unwrap();
    let volume = medfen_dicom::load_volume::<i16>(&plan, &scan.headers, &|_| {}).unwrap();
    (plan, volume)
}

#[test]
fn a_three_slice_gap_is_resampled_onto_the_regular_grid() {
    let dir = tempfile::tempdir().unwrap();
    let g = Geom::axial(12);
    let present: Vec<usize> = (0..12).filter(|k| !(5..8).contains(k)).collect();
    g.write(dir.path(), "1.2.3.16", &present, |_, _| {});
    let (plan, stacked) = plan_and_volume(dir.path());
    assert_eq!(
        stacked.shape[0], 9,
        "stacked at the median step: wrong beyond the gap"
    );
    assert!(
        medfen_dicom::irregularity(&plan)
            .unwrap()
            .contains("missing")
    );
    let regular = medfen_dicom::regularize(&stacked, &plan).unwrap();
    // Every slice back at its true position; the values are linear in the slice index,
    // so the bridged gap equals the slices that were never written.
    assert_eq!(regular.shape, [12, 12, 16]);
    check_every_voxel(&regular, &g);
    // A regular series needs nothing.
    let full = tempfile::tempdir().unwrap();
    g.write_all(full.path(), "1.2.3.17");
    let (plan, volume) = plan_and_volume(full.path());
    assert_eq!(medfen_dicom::irregularity(&plan), None);
    assert_eq!(
        medfen_dicom::regularize(&volume, &plan).unwrap().data,
        volume.data
    );
}

#[test]
fn gantry_tilt_is_sheared_back_onto_an_orthogonal_grid() {
    let dir = tempfile::tempdir().unwrap();
    let tilt = 15f64.to_radians().tan();
    let drift = 0.6 * tilt; // mm posterior per slice
    let g = Geom {
        step: [0.0, drift, 0.6],
        rows: 40,
        ..Geom::axial(9)
    };
    g.write(
        dir.path(),
        "1.2.3.18",
        &(0..9).collect::<Vec<_>>(),
        |_, s| {
            s.gantry_tilt = Some(15.0);
        },
    );
    let (plan, sheared) = plan_and_volume(dir.path());
    assert!(
        medfen_dicom::irregularity(&plan)
            .unwrap()
            .contains("gantry tilt")
    );
    let regular = medfen_dicom::regularize(&sheared, &plan).unwrap();
    assert_eq!(regular.shape, [9, 40, 16]);
    assert_close(regular.direction[0], [0.0, 0.0, 1.0]);
    assert_close(regular.spacing, [0.6, 0.5, 0.4]);
    // Voxel (k, y, x) of the orthogonal grid lies at source row y - k * drift / dy of
    // slice k; the values are linear in the row, so bilinear sampling is exact.
    let mut checked = 0;
    for k in 0..9 {
        for y in 0..40 {
            let r = y as f64 - k as f64 * drift / 0.5;
            for x in 0..16 {
                let v = regular.at(k, y, x);
                let p = regular.index_to_lps(k as f64, y as f64, x as f64);
                let [_, pr, pc] = g.indices_of(p);
                assert!((pr - r).abs() < 1e-9 && (pc - x as f64).abs() < 1e-9);
                if r < 0.0 {
                    assert_eq!(v, -1024, "outside the slice: air");
                    continue;
                }
                let want = 100.0 + 97.0 * k as f64 + 11.0 * r + x as f64 - 1024.0;
                assert!(
                    (f64::from(v) - want).abs() <= 0.5 + 1e-3,
                    "[{k},{y},{x}] {v} vs {want}"
                );
                checked += 1;
            }
        }
    }
    assert!(checked > 9 * 30 * 16);
}

#[test]
fn a_monochrome1_slice_gives_the_same_hu_as_its_monochrome2_twin() {
    // MONOCHROME1 says how to display values, not how to compute HU (PS3.3 C.11.1):
    // the same stored values under either interpretation are the same HU.
    let g = Geom::axial(3);
    let (mono2, mono1) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    g.write_all(mono2.path(), "1.2.3.15");
    g.write(mono1.path(), "1.2.3.15", &[0, 1, 2], |_, s| {
        s.monochrome1 = true;
    });
    let (a, b) = (load(mono2.path()).volume, load(mono1.path()).volume);
    check_every_voxel(&b, &g);
    assert_eq!(a.data, b.data);
}

#[test]
fn ties_between_equal_series_are_errors_unless_a_policy_breaks_them() {
    let dir = tempfile::tempdir().unwrap();
    let g = Geom::axial(4);
    g.write_all(dir.path(), "1.2.3.14.1");
    g.write(dir.path(), "1.2.3.14.2", &[0, 1, 2, 3], |_, s| {
        s.series_number = Some(7);
    });
    let err = read_dicom::<i16>(dir.path(), &ReadOptions::default(), &|_| {}).unwrap_err();
    assert!(
        err.to_string()
            .contains("cannot choose between series 1.2.3.14.1, 1.2.3.14.2"),
        "{err}"
    );
    let policy = {
        let mut p = SelectionPolicy::new()
            .any_modality()
            .with_tie_break(TieBreak::HighestSeriesNumber);
        p.min_slices = 1;
        p
    };
    let loaded =
        read_dicom::<i16>(dir.path(), &ReadOptions::new().with_policy(policy), &|_| {}).unwrap();
    let medfen_dicom::VolumeSourceInfo::Dicom { choice, .. } = loaded.source else {
        panic!()
    };
    assert_eq!(choice.id, "1.2.3.14.2");
}

//! labels.xlsx reads as the hospital's spreadsheet: the real sheet and columns, one
//! row per exam in no particular order, `N：name` cells agreeing with truth.parquet,
//! blank sides where the truth says; and every planted defect is where defects.json
//! says it is.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use calamine::{Data, Reader, Xlsx, open_workbook};
use common::{TruthRow, read_csv};
use medfen_synth::{DefectKind, LABEL_COLUMNS, LABEL_SHEET, PlantedDefect, SynthConfig, generate};
use medfen_tasks::CODE_NAMES;

fn sheet(path: &std::path::Path) -> Vec<Vec<Data>> {
    let mut book: Xlsx<_> = open_workbook(path).unwrap();
    assert_eq!(book.sheet_names(), vec![LABEL_SHEET.to_string()]);
    let range = book.worksheet_range(LABEL_SHEET).unwrap();
    range.rows().map(<[Data]>::to_vec).collect()
}

fn text(cell: &Data) -> String {
    match cell {
        Data::Empty => String::new(),
        Data::String(s) => s.clone(),
        Data::Float(f) => format!("{f}"),
        Data::Int(i) => format!("{i}"),
        other => other.to_string(),
    }
}

fn exam_id(cell: &Data) -> Option<u64> {
    match cell {
        Data::Float(f) => Some(*f as u64),
        Data::Int(i) => u64::try_from(*i).ok(),
        Data::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

#[test]
fn labels_follow_the_real_spreadsheet_and_agree_with_the_truth() {
    let dir = tempfile::tempdir().unwrap();
    let config = SynthConfig::new(dir.path())
        .with_exams(40)
        .with_seed(8)
        .with_matrix(64)
        .with_blank_sides(0.1);
    let report = generate(&config).unwrap();
    let rows = sheet(&dir.path().join("labels.xlsx"));
    let header: Vec<String> = rows[0].iter().map(text).collect();
    assert_eq!(header, LABEL_COLUMNS);
    assert_eq!(rows.len(), 1 + 40);
    let truth: Vec<TruthRow> = read_csv(&dir.path().join("truth.csv"));
    let mut ids = Vec::new();
    let mut blank = 0;
    for (k, row) in rows.iter().enumerate().skip(1) {
        let id = exam_id(&row[1]).unwrap_or_else(|| panic!("row {}: exam id {:?}", k + 1, row[1]));
        ids.push(id);
        for (col, side) in [(3, "left"), (4, "right")] {
            let t = truth
                .iter()
                .find(|t| t.exam_id == id && t.side == side)
                .unwrap();
            assert_eq!(t.label_row, Some(k + 1), "exam {id}: label_row");
            let cell = text(&row[col]);
            if t.label_blank {
                assert!(
                    cell.trim().is_empty(),
                    "exam {id} {side}: {cell:?} should be blank"
                );
                blank += 1;
            } else {
                // `N：name`, as typed: full-width or ASCII colon, stray spaces.
                let (n, name) = cell
                    .split_once('：')
                    .or_else(|| cell.split_once(':'))
                    .unwrap_or_else(|| panic!("exam {id} {side}: {cell:?}"));
                assert_eq!(n.trim().parse::<u8>().unwrap(), t.code, "exam {id} {side}");
                assert_eq!(name.trim(), CODE_NAMES[usize::from(t.code) - 1]);
            }
        }
        assert!(
            !text(&row[5]).is_empty() && !text(&row[6]).is_empty(),
            "findings"
        );
    }
    assert_eq!(blank, report.blank_sides);
    assert!(blank > 0, "no blank sides at 10%");
    let mut sorted = ids.clone();
    sorted.sort_unstable();
    assert_ne!(
        ids, sorted,
        "rows are in exam order; the real export is not"
    );
    assert_eq!(ids.iter().collect::<BTreeSet<_>>().len(), 40);
    // Some patients have two exams, the later with a larger exam id.
    let mut exams_of: BTreeMap<&str, Vec<(&str, u64)>> = BTreeMap::new();
    for t in truth.iter().filter(|t| t.side == "left") {
        exams_of
            .entry(&t.patient)
            .or_default()
            .push((&t.date, t.exam_id));
    }
    let repeats: Vec<_> = exams_of.values().filter(|v| v.len() == 2).collect();
    assert!(!repeats.is_empty(), "no patient with two exams");
    for v in repeats {
        let mut v = v.clone();
        v.sort_unstable();
        assert!(v[0].1 < v[1].1, "{v:?}");
    }
}

#[test]
fn every_planted_defect_is_where_defects_json_says() {
    let dir = tempfile::tempdir().unwrap();
    let config = SynthConfig::new(dir.path())
        .with_exams(40)
        .with_seed(21)
        .with_matrix(64)
        .with_corrupt_rate(1.0);
    let report = generate(&config).unwrap();
    let listed: Vec<PlantedDefect> =
        serde_json::from_slice(&std::fs::read(dir.path().join("defects.json")).unwrap()).unwrap();
    assert_eq!(listed, report.defects);
    let kinds: BTreeSet<DefectKind> = listed.iter().map(|d| d.kind).collect();
    assert_eq!(
        kinds.len(),
        DefectKind::ALL.len(),
        "kinds planted: {kinds:?}"
    );

    let rows = sheet(&dir.path().join("labels.xlsx"));
    let row = |n: usize| &rows[n - 1];
    let scan = medfen_dicom::scan(
        &dir.path().join("dicom"),
        &medfen_dicom::ScanOptions::default(),
        &|_| {},
    )
    .unwrap();
    let exam_dirs: BTreeSet<u64> = std::fs::read_dir(dir.path().join("dicom"))
        .unwrap()
        .flat_map(|d| std::fs::read_dir(d.unwrap().path()).unwrap())
        .map(|e| e.unwrap().file_name().to_string_lossy().parse().unwrap())
        .collect();
    let labelled: BTreeSet<u64> = rows.iter().skip(1).filter_map(|r| exam_id(&r[1])).collect();
    for d in &listed {
        assert!(!d.expected.is_empty());
        match d.kind {
            DefectKind::MalformedCell => {
                let r = row(d.label_row.unwrap());
                let planted = d.text.as_deref().unwrap();
                assert!(text(&r[3]) == planted || text(&r[4]) == planted, "{d:?}");
            }
            DefectKind::DuplicateRowAgreeing | DefectKind::DuplicateRowConflicting => {
                let (a, b) = (row(d.label_row.unwrap()), row(d.other_row.unwrap()));
                assert_eq!(exam_id(&a[1]), Some(d.exam_id));
                assert_eq!(exam_id(&b[1]), Some(d.exam_id));
                let same = text(&a[3]) == text(&b[3]) && text(&a[4]) == text(&b[4]);
                assert_eq!(same, d.kind == DefectKind::DuplicateRowAgreeing, "{d:?}");
            }
            DefectKind::BrokenDicom => {
                let file = dir.path().join(d.file.as_deref().unwrap());
                assert!(
                    scan.unreadable.iter().any(|u| u.path == file),
                    "{} not reported unreadable",
                    file.display()
                );
            }
            DefectKind::NotDicom => {
                let file = dir.path().join(d.file.as_deref().unwrap());
                assert!(scan.non_dicom.contains(&file), "{}", file.display());
            }
            DefectKind::UnlabelledExam => {
                assert!(exam_dirs.contains(&d.exam_id) && !labelled.contains(&d.exam_id));
            }
            DefectKind::MissingExam => {
                assert!(!exam_dirs.contains(&d.exam_id) && labelled.contains(&d.exam_id));
            }
            DefectKind::BadExamId => {
                let r = row(d.label_row.unwrap());
                assert_eq!(text(&r[1]), d.text.clone().unwrap());
                assert!(exam_id(&r[1]).is_none(), "{d:?}");
            }
            DefectKind::BadDate => {
                let r = row(d.label_row.unwrap());
                assert_eq!(text(&r[2]), d.text.clone().unwrap(), "{d:?}");
            }
        }
    }
    // Exactly the planted files are unreadable or not DICOM.
    let broken = listed
        .iter()
        .filter(|d| d.kind == DefectKind::BrokenDicom)
        .count();
    let junk = listed
        .iter()
        .filter(|d| d.kind == DefectKind::NotDicom)
        .count();
    assert_eq!(scan.unreadable.len(), broken);
    assert_eq!(scan.non_dicom.len(), junk);
}

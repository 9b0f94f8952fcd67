//! Every defect `medfen synth --corrupt-rate` plants is reported by the label reader or
//! the index: nothing is dropped silently.

mod common;

use medfen_synth::{DefectKind, PlantedDefect, SynthConfig};
use medfen_tasks::{Error, LabelOptions, read_labels};

/// Whether the label reader or the index reports the planted defect `d`.
fn reported(report: &medfen_tasks::IndexReport, d: &PlantedDefect) -> bool {
    let quarantined = |row: usize| report.quarantine.iter().any(|q| q.problem.row == row);
    match d.kind {
        DefectKind::MalformedCell => {
            let row = d.label_row.unwrap();
            report
                .quarantine
                .iter()
                .any(|q| q.problem.row == row && q.problem.text == d.text.clone().unwrap())
        }
        DefectKind::BadExamId | DefectKind::BadDate => quarantined(d.label_row.unwrap()),
        DefectKind::DuplicateRowConflicting => {
            quarantined(d.label_row.unwrap()) && quarantined(d.other_row.unwrap())
        }
        DefectKind::DuplicateRowAgreeing => report.label_summary.merged.iter().any(|(id, rows)| {
            *id == d.exam_id
                && rows.contains(&d.label_row.unwrap())
                && rows.contains(&d.other_row.unwrap())
        }),
        DefectKind::BrokenDicom => {
            let file = d.file.clone().unwrap();
            report
                .not_indexed
                .unreadable_files
                .iter()
                .any(|u| format!("dicom/{}", u.path) == file)
        }
        DefectKind::NotDicom => {
            let file = d.file.clone().unwrap();
            report
                .not_indexed
                .non_dicom_files
                .iter()
                .any(|f| format!("dicom/{f}") == file)
        }
        DefectKind::UnlabelledExam => report
            .not_indexed
            .unlabelled_exams
            .iter()
            .any(|u| u.exam_id == d.exam_id),
        DefectKind::MissingExam => report
            .not_indexed
            .unmatched_labels
            .iter()
            .any(|u| u.exam_id == d.exam_id),
    }
}

#[test]
fn every_planted_defect_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let config = SynthConfig::new(dir.path())
        .with_exams(40)
        .with_seed(21)
        .with_matrix(64)
        .with_corrupt_rate(1.0);
    let p = common::run(dir.path(), config);
    let planted: Vec<PlantedDefect> =
        serde_json::from_slice(&std::fs::read(p.data.join("defects.json")).unwrap()).unwrap();
    let kinds: std::collections::BTreeSet<_> = planted.iter().map(|d| d.kind).collect();
    assert_eq!(kinds.len(), DefectKind::ALL.len(), "{kinds:?}");

    let report: medfen_tasks::IndexReport =
        serde_json::from_slice(&std::fs::read(p.work.join("exams.json")).unwrap()).unwrap();
    for d in &planted {
        assert!(reported(&report, d), "not reported: {d:?}");
    }
    // Exams whose only label row was quarantined are listed as such, not as unlabelled.
    for q in &report.not_indexed.quarantined_exams {
        assert!(
            report
                .quarantine
                .iter()
                .any(|r| r.problem.exam_id == Some(q.exam_id))
        );
        assert!(
            !report
                .not_indexed
                .unlabelled_exams
                .iter()
                .any(|u| u.exam_id == q.exam_id)
        );
    }
    // Broken files inside a chosen series leave a gap the index reports.
    let t = medfen_io::Table::read(&p.work.join("exams.parquet")).unwrap();
    let path = p.work.join("exams.parquet");
    let unreadable = t.ints("unreadable_files").unwrap();
    let qa = t.ints("qa_findings").unwrap();
    let broken = planted
        .iter()
        .filter(|d| d.kind == DefectKind::BrokenDicom)
        .count();
    assert_eq!(unreadable.iter().flatten().sum::<i64>() as usize, broken);
    for (u, q) in unreadable.iter().zip(&qa) {
        if u.unwrap_or(0) > 0 {
            assert!(q.unwrap_or(0) > 0, "a missing slice without a QA finding");
        }
    }

    // The same inputs give the same index bytes (the scan runs in parallel).
    let labels = read_labels(
        &p.data.join("labels.xlsx"),
        &LabelOptions {
            skip_invalid: true,
            ..LabelOptions::default()
        },
    )
    .unwrap();
    let again = medfen_tasks::build_index(
        &labels,
        &p.data.join("dicom"),
        &medfen_tasks::IndexOptions::default(),
        &|_| {},
    )
    .unwrap();
    assert_eq!(
        again.table().parquet_bytes(&path).unwrap(),
        std::fs::read(&path).unwrap()
    );

    // Without --skip-invalid the label rows are an error that names each of them.
    let err = read_labels(&p.data.join("labels.xlsx"), &LabelOptions::default()).unwrap_err();
    let Error::InvalidLabels { problems, .. } = &err else {
        panic!("{err}")
    };
    for d in planted.iter().filter(|d| {
        matches!(
            d.kind,
            DefectKind::MalformedCell
                | DefectKind::BadDate
                | DefectKind::BadExamId
                | DefectKind::DuplicateRowConflicting
        )
    }) {
        assert!(
            problems.iter().any(|p| p.row == d.label_row.unwrap()),
            "{d:?} not in the error"
        );
    }
}

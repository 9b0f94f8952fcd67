//! Label tables: CSV and xlsx, mapped columns, merged duplicates, conflicts naming both
//! rows, and quarantine instead of failure on request.

use medfen_tasks::{Error, LabelColumns, LabelOptions, read_labels};

fn write(dir: &std::path::Path, name: &str, text: &str) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn csv_with_mapped_columns_and_both_colons() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "labels.csv",
        "\u{feff}exam,when,L,R,notes\n\
         300,2024-03-01,5:正常,3：分泌性中耳炎,x\n\
         100,20240102,,6 ： 其他,\n\
         200,2024/2/29 10:00,1：慢性化脓性中耳炎,,\n",
    );
    let options = LabelOptions {
        columns: LabelColumns {
            exam_id: "exam".into(),
            date: "when".into(),
            left: "L".into(),
            right: "R".into(),
            ..LabelColumns::default()
        },
        ..LabelOptions::default()
    };
    let t = read_labels(&p, &options).unwrap();
    let ids: Vec<u64> = t.exams.iter().map(|e| e.exam_id).collect();
    assert_eq!(ids, vec![100, 200, 300], "sorted by exam id");
    assert_eq!((t.exams[0].left, t.exams[0].right), (None, Some(6)));
    assert_eq!(t.exams[0].date.as_deref(), Some("2024-01-02"));
    assert_eq!(t.exams[1].date.as_deref(), Some("2024-02-29"));
    assert_eq!(t.exams[2].rows, vec![2]);
    assert_eq!(t.summary.blank_sides, 2);
    assert_eq!(t.summary.ears_by_code, [1, 0, 1, 0, 1, 1]);
    // the default column names are not there: the error lists what is
    let err = read_labels(&p, &LabelOptions::default()).unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, Error::MissingColumn { .. }));
    assert!(
        text.contains("检查号") && text.contains("exam, when, L, R, notes"),
        "{text}"
    );
}

#[test]
fn conflicts_name_both_rows_and_quarantine_keeps_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "labels.csv",
        "检查号,检查时间,左侧诊断-训练,右侧诊断-训练\n\
         1,2024-01-01,5：正常,5：正常\n\
         2,2024-01-01,2：中耳胆脂瘤,5：正常\n\
         2,2024-01-01,1：慢性化脓性中耳炎,5：正常\n\
         3,2024-01-01,7：未知,5：正常\n\
         4X,2024-01-01,5：正常,5：正常\n\
         5,2024-02-30,5：正常,5：正常\n\
         6,2024-01-01,5：中耳胆脂瘤,\n\
         1,2024-01-01,5：正常,5：正常\n",
    );
    let err = read_labels(&p, &LabelOptions::default()).unwrap_err();
    let Error::InvalidLabels { problems, .. } = &err else {
        panic!("{err}");
    };
    let rows: Vec<usize> = problems.iter().map(|p| p.row).collect();
    assert_eq!(rows, vec![3, 4, 5, 6, 7, 8], "{err}");
    let text = err.to_string();
    assert!(
        text.contains(
            "exam 2 has rows 3, 4 that disagree: left code 2 in row 3 but code 1 in row 4"
        ),
        "{text}"
    );
    assert!(text.contains("unknown code 7"), "{text}");
    assert!(
        text.contains("\"4X\"") && text.contains("not a number"),
        "{text}"
    );
    assert!(text.contains("2024-02-30 is not a calendar date"), "{text}");
    assert!(
        text.contains("code 5 is 正常, but the cell names 中耳胆脂瘤"),
        "{text}"
    );
    assert!(text.contains("--skip-invalid"), "{text}");

    let options = LabelOptions {
        skip_invalid: true,
        ..LabelOptions::default()
    };
    let t = read_labels(&p, &options).unwrap();
    assert_eq!(t.exams.len(), 1);
    assert_eq!(t.exams[0].exam_id, 1);
    assert_eq!(t.exams[0].rows, vec![2, 9], "agreeing duplicates merged");
    assert_eq!(t.summary.merged, vec![(1, vec![2, 9])]);
    assert_eq!(t.summary.quarantined_rows, 6);
    let ids: Vec<Option<u64>> = t.quarantine.iter().map(|q| q.problem.exam_id).collect();
    assert_eq!(ids, vec![Some(2), Some(2), Some(3), None, Some(5), Some(6)]);
    let q = dir.path().join("q.csv");
    t.write_quarantine(&q).unwrap();
    let written = std::fs::read_to_string(&q).unwrap();
    assert!(
        written.starts_with("row,exam_id,column,text,reason\n"),
        "{written}"
    );
    assert_eq!(written.lines().count(), 7);
}

#[test]
fn xlsx_sheets_are_checked_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let config = medfen_synth::SynthConfig::new(dir.path().join("ds"))
        .with_exams(4)
        .with_matrix(64);
    medfen_synth::generate(&config).unwrap();
    let xlsx = dir.path().join("ds/labels.xlsx");
    let t = read_labels(&xlsx, &LabelOptions::default()).unwrap();
    assert_eq!(t.exams.len(), 4);
    let err = read_labels(
        &xlsx,
        &LabelOptions {
            sheet: "Sheet1".into(),
            ..LabelOptions::default()
        },
    )
    .unwrap_err();
    assert!(
        err.to_string()
            .contains("no sheet `Sheet1`; its sheets are: 影像学检查"),
        "{err}"
    );
}

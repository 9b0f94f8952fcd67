//! `medfen metrics` end to end: CSV and Parquet in, JSON and PNGs out, errors that
//! name the file, column and row.

use std::fs;
use std::path::Path;
use std::process::{Command, Output};
use std::sync::Arc;

use arrow_array::{ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray};
use serde_json::Value;

const MEDFEN: &str = env!("CARGO_BIN_EXE_medfen");

fn medfen(args: &[&str], dir: &Path) -> Output {
    Command::new(MEDFEN)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap()
}

fn ok_json(out: &Output) -> Value {
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The example of the medfen-metrics crate page: 4 exams, 2 ears each.
const SMALL: &str = "exam_id,y_true,y_prob\ne1,1,0.9\ne1,0,0.3\ne2,1,0.8\ne2,1,0.4\ne3,0,0.35\ne3,0,0.1\ne4,0,0.5\ne4,1,0.7\n";

#[test]
fn csv_metrics_match_hand_computed_values() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("p.csv"), SMALL).unwrap();
    let out = medfen(
        &[
            "metrics", "--pred", "p.csv", "--score", "y_prob", "--label", "y_true", "--group",
            "exam_id", "--json",
        ],
        dir.path(),
    );
    let j = ok_json(&out);
    let b = &j["binary"];
    assert_eq!(b["auroc"], 15.0 / 16.0);
    assert_eq!(
        (
            b["n"].as_u64(),
            b["n_pos"].as_u64(),
            b["n_clusters"].as_u64()
        ),
        (Some(8), Some(4), Some(4))
    );
    assert_eq!(
        b["threshold"]["here"]["counts"],
        serde_json::json!({"tp": 3, "fp": 1, "tn": 3, "fn": 1})
    );
    assert_eq!(b["sensitivity_at_specificity"]["threshold"], 0.7);
    assert_eq!(b["auroc_analytic"]["method"], "obuchowski");
    assert_eq!(b["bootstrap"]["metrics"][0]["n_valid_replicates"], 2000);
    assert_eq!(j["input"]["sha256"].as_str().unwrap().len(), 64);
    // Same input and seed: byte-identical output.
    let again = medfen(
        &[
            "metrics", "--pred", "p.csv", "--score", "y_prob", "--label", "y_true", "--group",
            "exam_id", "--json",
        ],
        dir.path(),
    );
    assert_eq!(out.stdout, again.stdout);
}

#[test]
fn threshold_chosen_on_validation_is_frozen_for_test_and_plots_are_written() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("val.csv"), SMALL).unwrap();
    let out = medfen(
        &[
            "metrics",
            "--pred",
            "val.csv",
            "--score",
            "y_prob",
            "--label",
            "y_true",
            "--group",
            "exam_id",
            "--choose-threshold",
            "youden",
            "--out",
            "val.json",
            "--plots",
            "plots",
            "--bootstrap",
            "300",
        ],
        dir.path(),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary = String::from_utf8_lossy(&out.stdout);
    assert!(
        summary.contains("AUROC") && summary.contains("rule youden"),
        "{summary}"
    );
    for png in ["roc.png", "pr.png", "reliability.png"] {
        let bytes = fs::read(dir.path().join("plots").join(png)).unwrap();
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "{png}");
    }
    let val: Value =
        serde_json::from_str(&fs::read_to_string(dir.path().join("val.json")).unwrap()).unwrap();
    let chosen = val["binary"]["threshold"]["chosen"]["threshold"]
        .as_f64()
        .unwrap();
    assert_eq!(
        chosen, 0.7,
        "Youden on the small set: sensitivity 3/4, specificity 1"
    );

    // Test predictions written as Parquet.
    let scores = Float64Array::from(vec![0.75, 0.69, 0.2, 0.71, 0.9, 0.1]);
    let labels = Int64Array::from(vec![1, 1, 0, 0, 1, 0]);
    let exams = StringArray::from(vec!["t1", "t1", "t2", "t2", "t3", "t3"]);
    let batch = RecordBatch::try_from_iter([
        ("y_prob", Arc::new(scores) as ArrayRef),
        ("y_true", Arc::new(labels) as ArrayRef),
        ("exam_id", Arc::new(exams) as ArrayRef),
    ])
    .unwrap();
    let file = fs::File::create(dir.path().join("test.parquet")).unwrap();
    let mut writer = parquet::arrow::ArrowWriter::try_new(file, batch.schema(), None).unwrap();
    writer.write(&batch).unwrap();
    writer.close().unwrap();
    let out = medfen(
        &[
            "metrics",
            "--pred",
            "test.parquet",
            "--score",
            "y_prob",
            "--label",
            "y_true",
            "--group",
            "exam_id",
            "--threshold-from",
            "val.json",
            "--json",
            "--bootstrap",
            "0",
        ],
        dir.path(),
    );
    let t = &ok_json(&out)["binary"]["threshold"];
    assert_eq!(t["frozen"], true);
    assert_eq!(t["here"]["threshold"], 0.7);
    // 0.75 and 0.9 positives caught, 0.69 missed, 0.71 negative is a false positive.
    assert_eq!(
        t["here"]["counts"],
        serde_json::json!({"tp": 2, "fp": 1, "tn": 2, "fn": 1})
    );
}

/// missing values are named or dropped on request
fn missing_values_are_named_or_dropped_on_request(p: &Path) {
    fs::write(
        p.join("gaps.csv"),
        "y_true,y_prob\n1,0.9\n,0.3\n0,0.2\n0,\n1,0.6\n",
    )
    .unwrap();
    let out = medfen(
        &[
            "metrics", "--pred", "gaps.csv", "--score", "y_prob", "--label", "y_true",
        ],
        p,
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("column `y_true` is empty at line 3") && err.contains("--drop-missing"),
        "{err}"
    );
    let out = medfen(
        &[
            "metrics",
            "--pred",
            "gaps.csv",
            "--score",
            "y_prob",
            "--label",
            "y_true",
            "--drop-missing",
            "--json",
        ],
        p,
    );
    let j = ok_json(&out);
    assert_eq!(
        j["input"]["dropped_rows"],
        serde_json::json!(["line 3", "line 5"])
    );
    assert_eq!(j["input"]["used_rows"], 3);

    let out = medfen(
        &[
            "metrics",
            "--pred",
            "gaps.csv",
            "--score",
            "y_prob",
            "--label",
            "y_true",
            "--threshold-from",
            "missing.json",
        ],
        p,
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("missing.json"));
    fs::write(p.join("nothr.json"), "{\"binary\": {}}").unwrap();
    let out = medfen(
        &[
            "metrics",
            "--pred",
            "gaps.csv",
            "--score",
            "y_prob",
            "--label",
            "y_true",
            "--drop-missing",
            "--threshold-from",
            "nothr.json",
        ],
        p,
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("nothr.json: no stored threshold"));
}

#[test]
fn bad_input_names_file_column_and_row() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    fs::write(p.join("bad.csv"), "y_true,y_prob\n1,0.9\n0,high\n").unwrap();
    let out = medfen(
        &[
            "metrics", "--pred", "bad.csv", "--score", "y_prob", "--label", "y_true",
        ],
        p,
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("bad.csv")
            && err.contains("y_prob")
            && err.contains("line 3")
            && err.contains("`high`"),
        "{err}"
    );

    let out = medfen(
        &[
            "metrics", "--pred", "bad.csv", "--score", "prob", "--label", "y_true",
        ],
        p,
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no column `prob`") && err.contains("y_true, y_prob"),
        "{err}"
    );

    fs::write(p.join("labels.csv"), "y_true,y_prob\n1,0.9\n2,0.3\n").unwrap();
    let out = medfen(
        &[
            "metrics",
            "--pred",
            "labels.csv",
            "--score",
            "y_prob",
            "--label",
            "y_true",
        ],
        p,
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("line 3: label `2` is not binary"));
    missing_values_are_named_or_dropped_on_request(p);
}

#[test]
fn one_class_is_reported_as_undefined_not_zero() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("pos.csv"), "y,s\n1,0.9\n1,0.2\n1,0.6\n").unwrap();
    let out = medfen(
        &[
            "metrics", "--pred", "pos.csv", "--score", "s", "--label", "y", "--json",
        ],
        dir.path(),
    );
    let j = ok_json(&out);
    assert_eq!(j["binary"]["auroc"], Value::Null);
    assert!(
        j["binary"]["undefined"]
            .as_array()
            .unwrap()
            .iter()
            .any(|u| u.as_str().unwrap().contains("AUROC"))
    );
}

#[test]
fn multiclass_from_several_score_columns() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("mc.csv"),
        "cls,p0,p1,p2\n0,0.7,0.2,0.1\n0,0.3,0.6,0.1\n1,0.1,0.8,0.1\n2,0.2,0.2,0.6\n2,0.1,0.3,0.6\n2,0.5,0.3,0.2\n",
    )
    .unwrap();
    let out = medfen(
        &[
            "metrics", "--pred", "mc.csv", "--score", "p0,p1,p2", "--label", "cls", "--json",
        ],
        dir.path(),
    );
    let m = &ok_json(&out)["multiclass"];
    assert_eq!(
        m["confusion_matrix"],
        serde_json::json!([[1, 1, 0], [0, 1, 0], [1, 0, 2]])
    );
    assert_eq!(m["per_class"][2]["recall"], 2.0 / 3.0);
    let out = medfen(
        &[
            "metrics", "--pred", "mc.csv", "--score", "p0,p1", "--label", "cls",
        ],
        dir.path(),
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("class 2 is not one of 0..1"));
}

/// A prediction table as `medfen eval` (`labelled`) or `medfen predict` writes it.
fn prediction_table(labelled: bool) -> medfen_tasks::PredictionTable {
    use medfen_tasks::{Prediction, PredictionTable, Side};
    let rows = (0..12u64)
        .map(|i| {
            // Ears 0 and 7 are outside the task: no target, as eval writes them.
            let in_task = labelled.then_some(i != 0 && i != 7);
            let y_true = (in_task == Some(true)).then_some(u8::from(i % 3 == 0));
            Prediction {
                exam_id: Some(100 + i / 2),
                side: if i % 2 == 0 { Side::Left } else { Side::Right },
                source: (!labelled).then(|| format!("exam{}", i / 2)),
                patient_key: labelled.then(|| format!("p{}", i / 4)),
                code: labelled.then_some(if i % 3 == 0 { 2 } else { 5 }),
                in_task,
                y_true,
                y_pred: usize::from(i % 2 == 0),
                probs: vec![f64::from(i as u32) / 12.0],
                threshold: Some(0.5),
                top_slices: Vec::new(),
            }
        })
        .collect();
    PredictionTable {
        class_names: Vec::new(),
        top_k: 0,
        rows,
    }
}

#[test]
fn medfen_reads_its_own_prediction_tables() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for name in ["eval.csv", "eval.parquet"] {
        prediction_table(true).write(&d.join(name)).unwrap();
        let args = [
            "metrics",
            "--pred",
            name,
            "--score",
            "y_prob",
            "--label",
            "y_true",
            "--group",
            "patient_key",
        ];
        let mut json = args.to_vec();
        json.push("--json");
        let j = ok_json(&medfen(&json, d));
        assert_eq!(j["input"]["outside_task_rows"], 2, "{name}");
        assert_eq!(j["input"]["used_rows"], 10, "{name}");
        assert_eq!(j["binary"]["n"], 10, "{name}");
        let out = medfen(&args, d);
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains("(10 of 12 rows used; 2 outside the task (`in_task` false) left out)"),
            "{text}"
        );
    }
    // predict's table has no labels: said plainly, not as an empty cell at line 2.
    prediction_table(false)
        .write(&d.join("predict.csv"))
        .unwrap();
    let out = medfen(
        &[
            "metrics",
            "--pred",
            "predict.csv",
            "--score",
            "y_prob",
            "--label",
            "y_true",
        ],
        d,
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no row has a label in `y_true`") && err.contains("medfen predict"),
        "{err}"
    );
}

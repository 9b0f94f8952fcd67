//! medfen-metrics against golden values from scikit-learn and f64 Python references
//! (`fixtures/metrics/golden.json`, made by `fixtures/metrics/make_golden.py`).

use std::path::{Path, PathBuf};
use std::process::Command;

use medfen_metrics as mm;
use serde_json::Value;

fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/metrics")
}

fn golden() -> Value {
    let path = fixture_dir().join("golden.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap_or(f64::INFINITY)) // null = +inf threshold
        .collect()
}

fn labels(v: &Value) -> Vec<bool> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_i64().unwrap() == 1)
        .collect()
}

fn close(what: &str, got: f64, want: f64, tol: f64) {
    let ok = if want.is_infinite() {
        got == want
    } else {
        (got - want).abs() <= tol * want.abs().max(1.0)
    };
    assert!(
        ok,
        "{what}: medfen {got:.17} vs oracle {want:.17} (tolerance {tol})"
    );
}

fn close_all(what: &str, got: &[f64], want: &[f64], tol: f64) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        close(&format!("{what}[{i}]"), *g, *w, tol);
    }
}

/// AUROC, the ROC curve and sensitivity at specificity of one golden case (or the
/// single-class error when the oracle has no AUROC).
fn check_roc(name: &str, case: &Value, y: &[bool], s: &[f64]) {
    if let Some(want) = case["auroc"].as_f64() {
        close(
            &format!("{name} auroc"),
            mm::auroc(y, s).unwrap(),
            want,
            1e-12,
        );
        let roc = mm::roc_curve(y, s).unwrap();
        close_all(
            &format!("{name} roc fpr"),
            &roc.fpr,
            &floats(&case["roc"]["fpr"]),
            1e-12,
        );
        close_all(
            &format!("{name} roc tpr"),
            &roc.tpr,
            &floats(&case["roc"]["tpr"]),
            1e-12,
        );
        close_all(
            &format!("{name} roc thr"),
            &roc.thresholds,
            &floats(&case["roc"]["thresholds"]),
            0.0,
        );
        for target in [0.8, 0.9, 0.95, 0.99] {
            let want = &case[format!("sens_at_spec_{target}")];
            let op = mm::sensitivity_at_specificity(y, s, target).unwrap();
            close(
                &format!("{name} sens@spec {target}"),
                op.sensitivity,
                want["sensitivity"].as_f64().unwrap(),
                1e-12,
            );
            close(
                &format!("{name} thr@spec {target}"),
                op.threshold,
                want["threshold"].as_f64().unwrap(),
                0.0,
            );
            // Exact: never more than floor((1 - target) * n_neg) false positives.
            let n_neg = y.iter().filter(|l| !**l).count() as f64;
            let allowed = ((1.0 - target) * n_neg + 1e-9).floor();
            assert!(
                op.counts.fp as f64 <= allowed,
                "{name}: {} FPs > {allowed}",
                op.counts.fp
            );
        }
    } else {
        assert!(
            matches!(mm::auroc(y, s), Err(mm::Error::SingleClass { .. })),
            "{name}"
        );
    }
}

/// Average precision and the PR curve of one golden case.
fn check_pr(name: &str, case: &Value, y: &[bool], s: &[f64]) {
    if let Some(want) = case["average_precision"].as_f64() {
        close(
            &format!("{name} AP"),
            mm::average_precision(y, s).unwrap(),
            want,
            1e-12,
        );
        let pr = mm::pr_curve(y, s).unwrap();
        // scikit-learn lists the points by increasing threshold; medfen by decreasing.
        let mut p = floats(&case["pr"]["precision"]);
        let mut r = floats(&case["pr"]["recall"]);
        let mut t = floats(&case["pr"]["thresholds"]);
        p.reverse();
        r.reverse();
        t.reverse();
        t.insert(0, f64::INFINITY);
        close_all(&format!("{name} pr precision"), &pr.precision, &p, 1e-12);
        close_all(&format!("{name} pr recall"), &pr.recall, &r, 1e-12);
        close_all(&format!("{name} pr thresholds"), &pr.thresholds, &t, 0.0);
    }
}

/// Counts and metrics at each of the case's thresholds.
fn check_at_thresholds(name: &str, case: &Value, y: &[bool], s: &[f64]) {
    for entry in case["at_threshold"].as_array().unwrap() {
        let thr = entry["threshold"].as_f64().unwrap();
        let c = mm::ConfusionCounts::at_threshold(y, s, thr).unwrap();
        let counts = [c.tp, c.fp, c.tn, c.fn_];
        let want: Vec<u64> = ["tp", "fp", "tn", "fn"]
            .iter()
            .map(|k| entry[k].as_u64().unwrap())
            .collect();
        assert_eq!(counts.to_vec(), want, "{name} counts at {thr}");
        let m = c.metrics();
        let pairs = [
            ("accuracy", m.accuracy),
            ("precision", m.precision),
            ("sensitivity", m.sensitivity),
            ("f1", m.f1),
            ("mcc", m.mcc),
            ("balanced_accuracy", m.balanced_accuracy),
        ];
        for (key, got) in pairs {
            match entry[key].as_f64() {
                Some(want) => close(&format!("{name} {key}@{thr}"), got.unwrap(), want, 1e-12),
                None => assert_eq!(got, None, "{name} {key}@{thr} should be undefined"),
            }
        }
    }
}

/// Brier score, ECE and the DeLong variance of one golden case.
fn check_calibration_and_delong(name: &str, case: &Value, y: &[bool], s: &[f64]) {
    if let Some(want) = case["brier"].as_f64() {
        close(
            &format!("{name} brier"),
            mm::brier_score(y, s).unwrap(),
            want,
            1e-12,
        );
        let cal = mm::calibration(y, s, 10, 0.95).unwrap();
        close(
            &format!("{name} ece"),
            cal.ece,
            case["ece_10"].as_f64().unwrap(),
            1e-12,
        );
    }
    if case["delong"].is_object() {
        let d = mm::delong(y, s, 0.95).unwrap();
        close(
            &format!("{name} delong auroc"),
            d.auroc,
            case["delong"]["auroc"].as_f64().unwrap(),
            1e-9,
        );
        close(
            &format!("{name} delong var"),
            d.variance,
            case["delong"]["variance"].as_f64().unwrap(),
            1e-9,
        );
    }
}

#[test]
fn binary_cases_match_scikit_learn() {
    let g = golden();
    let mut checked = 0;
    for case in g["binary"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let y = labels(&case["labels"]);
        let s = floats(&case["scores"]);
        check_roc(name, case, &y, &s);
        check_pr(name, case, &y, &s);
        check_at_thresholds(name, case, &y, &s);
        check_calibration_and_delong(name, case, &y, &s);
        checked += 1;
    }
    assert_eq!(checked, 7, "every golden case must be checked");
}

#[test]
fn clustered_and_paired_variances_match_the_python_reference() {
    let g = golden();
    let c = &g["clustered"];
    let (y, s) = (labels(&c["labels"]), floats(&c["scores"]));
    let ids: Vec<i64> = c["clusters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_i64().unwrap())
        .collect();
    let clusters = mm::Clusters::from_ids(&ids);
    let o = mm::obuchowski(&y, &s, &clusters, 0.95).unwrap();
    close(
        "obuchowski auroc",
        o.auroc,
        c["obuchowski"]["auroc"].as_f64().unwrap(),
        1e-9,
    );
    close(
        "obuchowski variance",
        o.variance,
        c["obuchowski"]["variance"].as_f64().unwrap(),
        1e-9,
    );
    let d = mm::delong(&y, &s, 0.95).unwrap();
    close(
        "delong variance",
        d.variance,
        c["delong"]["variance"].as_f64().unwrap(),
        1e-9,
    );
    // Correlated ears: the clustered variance is larger than the naive one here.
    assert!(o.variance > d.variance);

    let p = &g["paired"];
    let y = labels(&p["labels"]);
    let cmp =
        mm::paired_delong(&y, &floats(&p["scores_a"]), &floats(&p["scores_b"]), 0.95).unwrap();
    let want = &p["paired_delong"];
    close(
        "paired auroc a",
        cmp.auroc_a,
        want["auroc_a"].as_f64().unwrap(),
        1e-9,
    );
    close(
        "paired auroc b",
        cmp.auroc_b,
        want["auroc_b"].as_f64().unwrap(),
        1e-9,
    );
    close(
        "paired variance",
        cmp.std_error * cmp.std_error,
        want["variance"].as_f64().unwrap(),
        1e-9,
    );
    close(
        "paired z",
        cmp.z.unwrap(),
        want["z"].as_f64().unwrap(),
        1e-9,
    );
    close(
        "paired p",
        cmp.p_value.unwrap(),
        want["p_value"].as_f64().unwrap(),
        1e-9,
    );
}

/// A class present but never predicted counts as 0 in the averaged precision (and a
/// class predicted but absent as 0 in recall), as scikit-learn with zero_division=0.
#[test]
fn averages_count_0_over_0_as_scikit_learn_does() {
    let g = golden();
    let m = &g["multiclass_never_predicted"];
    let as_usize = |v: &Value| -> Vec<usize> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_u64().unwrap() as usize)
            .collect()
    };
    let k = m["n_classes"].as_u64().unwrap() as usize;
    let r =
        mm::multiclass_report(&as_usize(&m["y_true"]), &as_usize(&m["y_pred"]), k, None).unwrap();
    assert_eq!(r.per_class[2].precision, None);
    for (name, avg) in [("macro", &r.macro_avg), ("weighted", &r.weighted_avg)] {
        for (stat, value) in [
            ("precision", avg.precision),
            ("recall", avg.recall),
            ("f1", avg.f1),
        ] {
            let key = format!("{name}_{stat}");
            close(&key, value.unwrap(), m[&key].as_f64().unwrap(), 1e-12);
        }
    }
}

#[test]
fn multiclass_matches_scikit_learn() {
    let g = golden();
    let m = &g["multiclass"];
    let k = m["n_classes"].as_u64().unwrap() as usize;
    let as_usize = |v: &Value| {
        v.as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_u64().unwrap() as usize)
            .collect::<Vec<_>>()
    };
    let (y, pred) = (as_usize(&m["y_true"]), as_usize(&m["y_pred"]));
    let prob = floats(&m["probabilities"]);
    assert_eq!(mm::argmax_rows(&prob, k).unwrap(), pred);
    let r = mm::multiclass_report(&y, &pred, k, Some(&prob)).unwrap();
    let cm: Vec<Vec<u64>> = m["confusion_matrix"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| {
            row.as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_u64().unwrap())
                .collect()
        })
        .collect();
    assert_eq!(r.confusion_matrix, cm);
    close(
        "accuracy",
        r.accuracy,
        m["accuracy"].as_f64().unwrap(),
        1e-12,
    );
    for c in 0..k {
        let pc = &r.per_class[c];
        close(
            &format!("precision {c}"),
            pc.precision.unwrap(),
            m["precision"][c].as_f64().unwrap(),
            1e-12,
        );
        close(
            &format!("recall {c}"),
            pc.recall.unwrap(),
            m["recall"][c].as_f64().unwrap(),
            1e-12,
        );
        close(
            &format!("f1 {c}"),
            pc.f1.unwrap(),
            m["f1"][c].as_f64().unwrap(),
            1e-12,
        );
        assert_eq!(pc.support, m["support"][c].as_u64().unwrap());
        close(
            &format!("auroc ovr {c}"),
            pc.auroc_ovr.unwrap(),
            m["auroc_ovr"][c].as_f64().unwrap(),
            1e-12,
        );
        close(
            &format!("ap ovr {c}"),
            pc.ap_ovr.unwrap(),
            m["ap_ovr"][c].as_f64().unwrap(),
            1e-12,
        );
    }
    close(
        "macro f1",
        r.macro_avg.f1.unwrap(),
        m["macro_f1"].as_f64().unwrap(),
        1e-12,
    );
    close(
        "weighted f1",
        r.weighted_avg.f1.unwrap(),
        m["weighted_f1"].as_f64().unwrap(),
        1e-12,
    );
    close(
        "macro auroc ovr",
        r.macro_avg.auroc_ovr.unwrap(),
        m["macro_auroc_ovr"].as_f64().unwrap(),
        1e-12,
    );
    assert!(r.undefined.is_empty(), "{:?}", r.undefined);
}

#[test]
fn golden_file_is_what_the_script_produces() {
    let python = std::env::var_os("MEDFEN_ORACLE_PYTHON").expect(
        "MEDFEN_ORACLE_PYTHON is not set: the scikit-learn oracle is missing. Run `cargo xtask oracles` \
         (or `cargo xtask test`, which provisions it)",
    );
    assert!(
        Path::new(&python).is_file(),
        "the oracle interpreter {} does not exist: run `cargo xtask oracles`",
        python.to_string_lossy()
    );
    let out = Command::new(&python)
        .arg(fixture_dir().join("make_golden.py"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let fresh: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        fresh,
        golden(),
        "fixtures/metrics/golden.json is stale: regenerate it with make_golden.py"
    );
}

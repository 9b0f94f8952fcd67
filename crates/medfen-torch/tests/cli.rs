//! `medfen train / eval / predict` as a user runs them: a tiny synth dataset through the
//! command lines, their outputs, and the errors for bad input.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::{dataset, failed, ok};

const EXE: &str = env!("CARGO_BIN_EXE_medfen-torch");

fn medfen(dir: &Path, args: &[&str]) -> Output {
    Command::new(EXE)
        .current_dir(dir)
        .args(["-q"])
        .args(args)
        .env("OMP_NUM_THREADS", "1")
        .output()
        .unwrap()
}

/// The original pipeline's augmentation, as run.json records it.
fn the_original_augmentation_is_recorded(root: &Path, train: &[&str]) {
    // The original pipeline's augmentation, as run.json records it.
    let mut original = train.to_vec();
    let last = original.len() - 1;
    original[last] = "runs/o";
    original.extend(["--augment", "original"]);
    ok(&medfen(root, &original));
    let stored: serde_json::Value =
        serde_json::from_slice(&std::fs::read(root.join("runs/o/run.json")).unwrap()).unwrap();
    let augment = &stored["augment"];
    assert_eq!(augment["intensity_first"], true, "{augment}");
    assert_eq!(augment["affine_prob"].as_f64(), Some(0.0), "{augment}");
    let gamma_prob = augment["gamma_prob"].as_f64().unwrap();
    assert!((gamma_prob - 0.2).abs() < 1e-6, "{augment}");
    original[last] = "runs/p";
    let last = original.len() - 1;
    original[last] = "python";
    let err = failed(&medfen(root, &original));
    assert!(err.contains("python") && err.contains("original"), "{err}");
}

/// eval and predict
fn eval_and_predict(root: &Path, dicom: &Path) {
    let run = root.join("runs/a");
    let out = ok(&medfen(
        root,
        &[
            "eval",
            "--run",
            "runs/a",
            "--split",
            "test",
            "--replicates",
            "200",
            "--device",
            "cpu",
        ],
    ));
    // The pre-specified operating points come first, the re-chosen ones last.
    let at = |what: &str| {
        out.find(what)
            .unwrap_or_else(|| panic!("no `{what}` in\n{out}"))
    };
    assert!(
        at("pre-specified (val)") < at("youden on val (threshold"),
        "{out}"
    );
    assert!(at("youden on val (threshold") < at("AUROC"), "{out}");
    assert!(at("AUROC") < at("exploratory (chosen on test)"), "{out}");
    assert!(out.contains("resampling patients"), "{out}");
    assert!(!out.contains("NaN"), "{out}");
    let csv = std::fs::read_to_string(run.join("eval/test-best/predictions.csv")).unwrap();
    let header = csv.lines().next().unwrap();
    assert!(
        header.starts_with(
            "exam_id,side,source,patient_key,code,in_task,y_true,y_pred,y_prob,threshold,top1_slice"
        ),
        "{header}"
    );
    assert!(run.join("thresholds.json").exists());

    // predict: one exam folder in, its two ears out
    let date = std::fs::read_dir(dicom)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let exam = std::fs::read_dir(&date)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let out = ok(&medfen(
        root,
        &[
            "predict",
            "--run",
            "runs/a",
            "--out",
            "p.csv",
            "--device",
            "cpu",
            exam.to_str().unwrap(),
        ],
    ));
    assert!(out.contains("2 ears of 1 exams"), "{out}");
    let p = std::fs::read_to_string(root.join("p.csv")).unwrap();
    assert_eq!(p.lines().count(), 3);
    assert!(p.lines().nth(1).unwrap().contains(",left,"));
}

/// Bad input names what is wrong.
fn bad_input_names_what_is_wrong(root: &Path, train: &[&str]) {
    // Bad input names what is wrong.
    let mut bad = train.to_vec();
    bad[2] = "no/such/cache";
    let last = bad.len() - 1;
    bad[last] = "runs/b";
    let err = failed(&medfen(root, &bad));
    assert!(err.contains("no/such/cache"), "{err}");
    let mut bad = train.to_vec();
    bad.extend(["--model", "ear2d-r99"]);
    let out_at = bad.len() - 3;
    bad[out_at] = "runs/c";
    let err = failed(&medfen(root, &bad));
    assert!(
        err.contains("unknown model `ear2d-r99`") && err.contains("resnet3d-18"),
        "{err}"
    );
    let err = failed(&medfen(
        root,
        &[
            "eval",
            "--run",
            "runs/none",
            "--split",
            "test",
            "--device",
            "cpu",
        ],
    ));
    assert!(
        err.contains("runs/none") && err.contains("not a run folder"),
        "{err}"
    );
}

#[test]
fn train_eval_and_predict_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let (cache, splits, dicom) = dataset(root);
    let (cache, splits) = (cache.to_str().unwrap(), splits.to_str().unwrap());
    let train = [
        "train",
        "--cache",
        cache,
        "--splits",
        splits,
        "--task",
        "normal_vs_abnormal",
        "--width",
        "8",
        "--small-input",
        "--epochs",
        "2",
        "--device",
        "cpu",
        "--out",
        "runs/a",
    ];
    let out = ok(&medfen(root, &train));
    assert!(out.contains("medfen train: runs/a"), "{out}");
    assert!(out.contains("2 epoch(s): completed 2 epochs"), "{out}");
    let run = root.join("runs/a");
    for f in [
        "run.json",
        "best.safetensors",
        "last.safetensors",
        "metrics.jsonl",
        "report.json",
    ] {
        assert!(run.join(f).exists(), "no {f}");
    }
    let stored: serde_json::Value =
        serde_json::from_slice(&std::fs::read(run.join("run.json")).unwrap()).unwrap();
    assert_eq!(stored["model"]["kind"], "ear2d");
    assert_eq!(stored["early_stopping"]["monitor"], "auroc");
    assert_eq!(stored["cache_spec"]["image_size"], 32);

    // Same folder again without --resume: refused; with --resume: nothing left to do.
    let err = failed(&medfen(root, &train));
    assert!(err.contains("--resume"), "{err}");
    let mut again = train.to_vec();
    again.push("--resume");
    assert!(ok(&medfen(root, &again)).contains("completed 2 epochs"));
    the_original_augmentation_is_recorded(root, &train);
    eval_and_predict(root, &dicom);
    bad_input_names_what_is_wrong(root, &train);
}

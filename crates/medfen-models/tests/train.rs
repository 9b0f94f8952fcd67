//! Training runs end to end on synth data: an easy task is learned (test AUROC >= 0.9)
//! with thresholds frozen from val; a resumed run equals an uninterrupted one bit for
//! bit; one-sided disease stays on its side; checkpoints reload to identical
//! predictions (also from DICOM); a cache with another spec is refused.

mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use common::{Prepared, cache_for, config, prepared, rng_lock, spec};
use medfen_io::Table;
use medfen_metrics::ThresholdRule;
use medfen_models::Error;
use medfen_models::eval::{EvalOptions, evaluate};
use medfen_models::optim::Schedule;
use medfen_models::predict::predict_exams;
use medfen_models::train::{
    LossSpec, ModelSpec, Monitor, PosWeight, RunOptions, TrainConfig, probe_batch_size, train,
};
use medfen_synth::DiseasedSides;
use medfen_tasks::{ClusterUnit, PredictionTable, SplitName, Thresholds};
use tch::{Device, Tensor};

fn run_options(out: &Path) -> RunOptions {
    RunOptions {
        out: out.to_path_buf(),
        resume: false,
        device: Device::Cpu,
        stop_after_steps: None,
    }
}

fn eval_options(run: &Path, split: &str) -> EvalOptions {
    EvalOptions {
        run: run.to_path_buf(),
        split: split.parse::<SplitName>().unwrap(),
        cache: None,
        checkpoint: "best".into(),
        device: Device::Cpu,
        replicates: 300,
        threshold_rule: ThresholdRule::Youden,
        cluster: ClusterUnit::Patient,
        batch_size: None,
    }
}

fn weights(path: &Path) -> HashMap<String, Tensor> {
    Tensor::read_safetensors(path)
        .unwrap()
        .into_iter()
        .collect()
}

fn assert_same_weights(a: &Path, b: &Path) {
    let (wa, wb) = (weights(a), weights(b));
    assert_eq!(wa.len(), wb.len());
    assert!(!wa.is_empty());
    for (name, t) in &wa {
        let u = &wb[name];
        assert!(
            t.equal(u),
            "{name} differs between {} and {}",
            a.display(),
            b.display()
        );
    }
}

fn easy() -> Prepared {
    prepared("easy", 100, DiseasedSides::Both, 64)
}

/// `predict` from DICOM extracts the ears as the cache did: its rows agree with eval's
/// (`evaluated`, the Parquet table) for the same ears, column by column; those predict
/// cannot know are empty.
fn predict_agrees_with_eval(p: &Prepared, run: &Path, evaluated: &Path, threshold: f64) {
    let evaluated = PredictionTable::read(evaluated).unwrap();
    let split = p.splits.join("100pct/test.parquet");
    let t = Table::read(&split).unwrap();
    let ids = t.ints("exam_id").unwrap();
    let dirs = t.texts("exam_dir").unwrap();
    let exams: Vec<(i64, PathBuf)> = (0..t.rows())
        .step_by(2)
        .take(3)
        .map(|i| (ids[i].unwrap(), p.dicom.join(dirs[i].clone().unwrap())))
        .collect();
    let paths: Vec<PathBuf> = exams.iter().map(|e| e.1.clone()).collect();
    let predicted = predict_exams(run, "best", &paths, None, Device::Cpu).unwrap();
    assert_eq!(predicted.rows.len(), 2 * exams.len());
    assert_eq!(
        (predicted.top_k, &predicted.class_names),
        (evaluated.top_k, &evaluated.class_names)
    );
    for pred in &predicted.rows {
        let e = evaluated
            .rows
            .iter()
            .find(|e| e.exam_id == pred.exam_id && e.side == pred.side)
            .unwrap_or_else(|| panic!("no eval row for {:?} {:?}", pred.exam_id, pred.side));
        let id = pred.exam_id;
        assert!(
            (pred.probs[0] - e.probs[0]).abs() < 1e-5,
            "exam {id:?}: y_prob"
        );
        assert_eq!(pred.y_pred, e.y_pred, "exam {id:?}: y_pred");
        assert_eq!(pred.threshold, Some(threshold));
        assert_eq!(pred.threshold, e.threshold);
        assert_eq!(pred.top_slices.len(), e.top_slices.len());
        for (a, b) in pred.top_slices.iter().zip(&e.top_slices) {
            assert_eq!(
                (a.slice, a.source_slice, a.z_mm),
                (b.slice, b.source_slice, b.z_mm),
                "exam {id:?}: top slices"
            );
            assert!((a.weight - b.weight).abs() < 1e-5);
        }
        assert!(pred.source.is_some() && e.source.is_none());
        assert!(pred.code.is_none() && pred.y_true.is_none() && pred.in_task.is_none());
        assert!(pred.patient_key.is_none() && e.patient_key.is_some());
    }
}

#[test]
fn ear2d_learns_easy_synth_with_frozen_val_thresholds_and_reloads_identically() {
    let _rng = rng_lock();
    let p = easy();
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    let cfg = config(&p, "normal_vs_abnormal", 12);
    let report = train(&cfg, &run_options(&run), &mut |_| {}).unwrap();
    assert_eq!(report.epochs_run, 12);
    assert!(
        report.train_counts[0] > 10 && report.train_counts[1] > 10,
        "{report:?}"
    );
    let lines = std::fs::read_to_string(run.join("metrics.jsonl")).unwrap();
    assert_eq!(lines.lines().count(), 12);
    let first: serde_json::Value = serde_json::from_str(lines.lines().next().unwrap()).unwrap();
    for key in [
        "train_loss",
        "lr",
        "val",
        "ears_per_s",
        "data_wait_fraction",
    ] {
        assert!(first.get(key).is_some(), "metrics.jsonl lacks {key}");
    }
    assert!(run.join("reports/epoch-012.json").exists());

    let test = evaluate(&eval_options(&run, "test")).unwrap();
    let b = test.binary.as_ref().unwrap();
    let auroc = b.auroc.unwrap();
    assert!(auroc >= 0.9, "test AUROC {auroc}");
    assert!(
        test.exams >= 20 && test.ears_in_task >= 30,
        "{} exams",
        test.exams
    );
    // The bootstrap resamples patients and brackets the estimate.
    let ci = &b.bootstrap.as_ref().unwrap().metrics[0];
    assert_eq!(ci.name, "auroc");
    assert!(ci.lower.unwrap() <= auroc && auroc <= ci.upper.unwrap());
    assert_eq!(test.cluster, ClusterUnit::Patient);
    assert_eq!(
        (b.n_clusters, test.clusters),
        (test.patients, test.patients)
    );
    assert!(test.patients <= test.exams);
    // The headline: val's frozen thresholds, each with its own interval.
    let labels: Vec<&str> = b.pre_specified.iter().map(|p| p.label.as_str()).collect();
    assert_eq!(labels, ["youden on val", "95% specificity on val"]);
    for p in &b.pre_specified {
        let sens = p.sensitivity.as_ref().unwrap();
        assert_eq!(sens.estimate, p.here.metrics.sensitivity);
        assert!(sens.lower.unwrap() <= sens.upper.unwrap());
    }
    // Thresholds were chosen on val, stored, and applied unchanged to test.
    let stored: Thresholds = Thresholds::read(&run).unwrap().unwrap();
    assert_eq!(stored.chosen_on, "val");
    let t = b.threshold.as_ref().unwrap();
    assert!(t.frozen);
    assert_eq!(t.here.threshold, stored.operating.threshold);
    let val_report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(run.join("eval/val-best/metrics.json")).unwrap())
            .unwrap();
    assert_eq!(
        val_report["thresholds"]["operating"]["threshold"].as_f64(),
        Some(stored.operating.threshold)
    );

    // Predictions: every test ear, attention top-k with source slices and z.
    let [csv, parquet] = &test.predictions;
    let table = Table::read(parquet).unwrap();
    assert_eq!(table.rows(), test.ears);
    for col in [
        "exam_id",
        "side",
        "code",
        "y_true",
        "y_prob",
        "y_pred",
        "top1_slice",
        "top1_weight",
        "top1_source_slice",
        "top1_z_mm",
        "top3_z_mm",
    ] {
        assert!(table.names().contains(&col), "no column {col}");
    }
    the_predictions_reproduce_the_interval(parquet, ci, cfg.seed);
    let w = table.floats("top1_weight").unwrap();
    assert!(w.iter().all(|w| w.unwrap() > 1.0 / 16.0 - 1e-6));
    let csv_before = std::fs::read(csv).unwrap();

    // Reloading the checkpoint gives the same predictions, byte for byte.
    evaluate(&eval_options(&run, "test")).unwrap();
    assert_eq!(std::fs::read(csv).unwrap(), csv_before);

    predict_agrees_with_eval(&p, &run, parquet, stored.operating.threshold);
}

/// The prediction table alone reproduces eval's patient-clustered AUROC interval, as
/// `medfen metrics --group patient_key --drop-missing --seed <run seed>` computes it.
fn the_predictions_reproduce_the_interval(
    parquet: &Path,
    ci: &medfen_metrics::MetricInterval,
    seed: u64,
) {
    let table = Table::read(parquet).unwrap();
    let (labels, probs, keys) = (
        table.binary_labels("y_true").unwrap(),
        table.floats("y_prob").unwrap(),
        table.texts("patient_key").unwrap(),
    );
    let rows: Vec<usize> = (0..table.rows()).filter(|&i| labels[i].is_some()).collect();
    let keys: Vec<String> = rows.iter().map(|&i| keys[i].clone().unwrap()).collect();
    let report = medfen_metrics::binary_report(
        &rows.iter().map(|&i| labels[i].unwrap()).collect::<Vec<_>>(),
        &rows.iter().map(|&i| probs[i].unwrap()).collect::<Vec<_>>(),
        Some(&medfen_metrics::Clusters::from_ids(&keys)),
        &medfen_metrics::ReportOptions::new().with_bootstrap(Some(
            medfen_metrics::BootstrapConfig::new()
                .with_replicates(300)
                .with_seed(seed),
        )),
    )
    .unwrap();
    let again = &report.bootstrap.unwrap().metrics[0];
    assert_eq!((again.lower, again.upper), (ci.lower, ci.upper));
}

/// Under gradient accumulation the learning-rate schedule counts optimizer steps, not
/// batches: the lr of each epoch's last step is the schedule's at that step count.
fn the_schedule_advances_per_optimizer_step(
    cfg: &TrainConfig,
    report: &medfen_models::train::TrainReport,
    run: &Path,
) {
    assert_eq!(cfg.accumulate, 2);
    let ears: usize = report.train_counts.iter().sum();
    let batches = (ears as u64).div_ceil(cfg.batch_size as u64);
    let steps_per_epoch = batches.div_ceil(cfg.accumulate);
    let schedule = Schedule::for_run(
        cfg.lr,
        cfg.min_lr,
        cfg.epochs,
        batches,
        cfg.accumulate,
        cfg.warmup_epochs,
    );
    let lines = std::fs::read_to_string(run.join("metrics.jsonl")).unwrap();
    for (e, line) in lines.lines().enumerate() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let steps = v["optimizer_steps"].as_u64().unwrap();
        assert_eq!(steps, (e as u64 + 1) * steps_per_epoch, "epoch {e}");
        assert_eq!(v["lr"].as_f64(), Some(schedule.lr(steps - 1)), "epoch {e}");
        if e == 0 {
            // Counting batches would have used another learning rate.
            assert_ne!(schedule.lr(batches - 1), schedule.lr(steps - 1));
        }
    }
}

/// Checkpoints and early stopping never read the test split: with every test record of
/// the cache overwritten, training gives bit-identical weights and validation numbers.
fn the_test_split_is_never_read(p: &Prepared, cfg: &TrainConfig, reference: &Path) {
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join(p.cache.file_name().unwrap());
    std::fs::create_dir_all(&copy).unwrap();
    for entry in std::fs::read_dir(&p.cache).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, copy.join(path.file_name().unwrap())).unwrap();
    }
    let reader = medfen_cache::CacheReader::open(&copy).unwrap();
    let record = reader.record_bytes(0).len();
    let test: Vec<usize> = (0..reader.len())
        .filter(|&i| reader.index()[i].split.as_deref() == Some("test"))
        .collect();
    assert!(test.len() >= 20, "{} test records", test.len());
    drop(reader);
    let mut data = std::fs::read(copy.join("data.i16")).unwrap();
    for &i in &test {
        for (k, b) in data[i * record..(i + 1) * record].iter_mut().enumerate() {
            *b = if k % 2 == 0 { 0xff } else { 0x7f }; // i16::MAX everywhere
        }
    }
    std::fs::write(copy.join("data.i16"), data).unwrap();
    let corrupted = TrainConfig {
        cache_dir: copy,
        ..cfg.clone()
    };
    let run = dir.path().join("run");
    train(&corrupted, &run_options(&run), &mut |_| {}).unwrap();
    for checkpoint in ["best.safetensors", "last.safetensors"] {
        assert_same_weights(&reference.join(checkpoint), &run.join(checkpoint));
    }
    let val = |run: &Path| -> Vec<serde_json::Value> {
        std::fs::read_to_string(run.join("metrics.jsonl"))
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["val"].clone())
            .collect()
    };
    assert_eq!(val(reference), val(&run));
}

/// The folder of the first exam of the test split.
fn first_test_exam(p: &Prepared) -> PathBuf {
    let t = Table::read(&p.splits.join("100pct/test.parquet")).unwrap();
    p.dicom
        .join(t.texts("exam_dir").unwrap()[0].clone().unwrap())
}

/// After `run` was trained further than the weights its val thresholds were chosen on,
/// test evaluation and prediction refuse them; a given threshold is used as given, and
/// evaluating val again frees both.
fn stale_thresholds_are_refused(p: &Prepared, run: &Path, val: &EvalOptions, test: &EvalOptions) {
    let refused = |err: &Error| {
        let msg = err.to_string();
        assert!(
            msg.contains("thresholds.json")
                && msg.contains("other weights")
                && msg.contains("medfen eval --split val --checkpoint last"),
            "{msg}"
        );
    };
    refused(&evaluate(test).unwrap_err());
    let exam = first_test_exam(p);
    let predict = |threshold| {
        predict_exams(
            run,
            "last",
            std::slice::from_ref(&exam),
            threshold,
            Device::Cpu,
        )
    };
    refused(&predict(None).unwrap_err());
    let given = predict(Some(0.3)).unwrap();
    assert!(given.rows.iter().all(|r| r.threshold == Some(0.3)));
    assert!(predict(Some(1.5)).is_err());
    let chosen = evaluate(val).unwrap().thresholds.unwrap();
    let tested = evaluate(test).unwrap();
    assert_eq!(tested.thresholds, Some(chosen.clone()));
    let predicted = predict(None).unwrap();
    assert!(
        predicted
            .rows
            .iter()
            .all(|r| r.threshold == Some(chosen.operating.threshold))
    );
}

#[test]
fn two_epochs_equal_one_epoch_then_resume_and_a_mid_epoch_interruption() {
    let _rng = rng_lock();
    let p = easy();
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(&p, "normal_vs_abnormal", 2);
    cfg.accumulate = 2;
    cfg.batch_size = 6;
    let straight = dir.path().join("straight");
    let report = train(&cfg, &run_options(&straight), &mut |_| {}).unwrap();
    the_schedule_advances_per_optimizer_step(&cfg, &report, &straight);
    the_test_split_is_never_read(&p, &cfg, &straight);

    // Stopped after epoch 1 (its optimizer steps), then resumed.
    let steps_per_epoch = std::fs::read_to_string(straight.join("metrics.jsonl"))
        .unwrap()
        .lines()
        .next()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["optimizer_steps"]
                .as_u64()
                .unwrap()
        })
        .unwrap();
    let resumed = dir.path().join("resumed");
    let mut opts = run_options(&resumed);
    opts.stop_after_steps = Some(steps_per_epoch);
    let partial = train(&cfg, &opts, &mut |_| {}).unwrap();
    assert_eq!(partial.epochs_run, 1);
    assert!(!resumed.join("report.json").exists());
    // Thresholds frozen on val now belong to epoch 1's weights.
    let on = |split: &str| EvalOptions {
        checkpoint: "last".into(),
        replicates: 0,
        ..eval_options(&resumed, split)
    };
    evaluate(&on("val")).unwrap();
    // Without --resume an existing run is refused.
    let err = train(&cfg, &run_options(&resumed), &mut |_| {}).unwrap_err();
    assert!(err.to_string().contains("--resume"), "{err}");
    opts.stop_after_steps = None;
    opts.resume = true;
    let done = train(&cfg, &opts, &mut |_| {}).unwrap();
    assert!(done.resumed);
    assert_eq!(done.epochs_run, 2);
    stale_thresholds_are_refused(&p, &resumed, &on("val"), &on("test"));
    // A run never evaluated on val has no threshold to predict with.
    let exam = first_test_exam(&p);
    let err = predict_exams(&straight, "last", &[exam], None, Device::Cpu).unwrap_err();
    assert!(err.to_string().contains("medfen eval --split val"), "{err}");
    assert_same_weights(
        &straight.join("last.safetensors"),
        &resumed.join("last.safetensors"),
    );
    assert_same_weights(
        &straight.join("best.safetensors"),
        &resumed.join("best.safetensors"),
    );

    // Interrupted in the middle of epoch 1 (after 3 optimizer steps), then resumed.
    let mid = dir.path().join("mid");
    let mut opts = run_options(&mid);
    opts.stop_after_steps = Some(3);
    train(&cfg, &opts, &mut |_| {}).unwrap();
    let state: serde_json::Value =
        serde_json::from_slice(&std::fs::read(mid.join("state.json")).unwrap()).unwrap();
    assert_eq!(state["epoch"], 0);
    assert_eq!(state["batch"], 6); // 3 steps of 2 accumulated batches
    opts.stop_after_steps = None;
    opts.resume = true;
    train(&cfg, &opts, &mut |_| {}).unwrap();
    assert_same_weights(
        &straight.join("last.safetensors"),
        &mid.join("last.safetensors"),
    );
    // The epoch lines agree too, apart from timings.
    let strip = |run: &Path| -> Vec<serde_json::Value> {
        std::fs::read_to_string(run.join("metrics.jsonl"))
            .unwrap()
            .lines()
            .map(|l| {
                let mut v: serde_json::Value = serde_json::from_str(l).unwrap();
                for k in ["ears_per_s", "data_wait_fraction", "seconds"] {
                    v.as_object_mut().unwrap().remove(k);
                }
                v
            })
            .collect()
    };
    assert_eq!(strip(&straight), strip(&mid));

    // A resume with other options is refused, naming the option.
    let mut other = cfg.clone();
    other.lr = 1e-3;
    let mut opts = run_options(&mid);
    opts.resume = true;
    let err = train(&other, &opts, &mut |_| {}).unwrap_err();
    assert!(err.to_string().contains("lr"), "{err}");
}

#[test]
fn disease_only_in_left_ears_gives_right_ears_low_probabilities() {
    let _rng = rng_lock();
    let p = prepared("left-only", 80, DiseasedSides::Left, 64);
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    let mut cfg = config(&p, "normal_vs_abnormal", 20);
    // Only about a third of the ears are diseased here.
    cfg.loss = LossSpec::Bce {
        pos_weight: PosWeight::Auto,
    };
    train(&cfg, &run_options(&run), &mut |_| {}).unwrap();
    let test = evaluate(&eval_options(&run, "test")).unwrap();
    let parquet = &test.predictions[1];
    let t = Table::read(parquet).unwrap();
    let sides = t.texts("side").unwrap();
    let probs = t.floats("y_prob").unwrap();
    let codes = t.ints("code").unwrap();
    let mut right = Vec::new();
    let mut left_diseased = Vec::new();
    let mut left_normal = Vec::new();
    for i in 0..t.rows() {
        match (sides[i].as_deref(), codes[i]) {
            (Some("right"), Some(c)) => {
                assert_eq!(c, 5, "synth made a diseased right ear");
                right.push(probs[i].unwrap());
            }
            (Some("left"), Some(c)) if c != 5 => left_diseased.push(probs[i].unwrap()),
            (Some("left"), Some(_)) => left_normal.push(probs[i].unwrap()),
            _ => {}
        }
    }
    assert!(right.len() >= 10 && left_diseased.len() >= 5);
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let auroc = test.binary.as_ref().unwrap().auroc.unwrap();
    assert!(auroc >= 0.9, "test AUROC {auroc}");
    assert!(mean(&right) < 0.2, "right ears: {right:?}");
    // Normal left ears look like normal right ears: the records carry no side cue.
    assert!(
        mean(&left_normal) < 0.3,
        "normal left ears: {left_normal:?}"
    );
    assert!(
        mean(&left_diseased) > 0.6,
        "diseased left ears: {left_diseased:?}"
    );
}

#[test]
fn a_cache_with_another_spec_is_refused_and_bad_options_are_named() {
    let _rng = rng_lock();
    let p = easy();
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    let mut cfg = config(&p, "normal_vs_abnormal", 1);
    cfg.model = ModelSpec::from_name("ear2d-r18-mean", 8, 1, 1, false).unwrap();
    train(&cfg, &run_options(&run), &mut |_| {}).unwrap();
    let other = cache_for(&p.root, &p.exams, &p.splits, &spec(48));
    let mut opts = eval_options(&run, "val");
    opts.cache = Some(other.clone());
    match evaluate(&opts) {
        Err(Error::SpecMismatch { differences, .. }) => {
            assert!(
                differences.contains("image_size: run 64 != cache 48"),
                "{differences}"
            );
        }
        other => panic!("expected a spec mismatch, got {other:?}"),
    }

    let bad = |f: &dyn Fn(&mut TrainConfig), needle: &str| {
        let mut c = config(&p, "normal_vs_abnormal", 1);
        f(&mut c);
        let out = dir.path().join(format!("bad-{needle}"));
        let err = train(&c, &run_options(&out), &mut |_| {}).unwrap_err();
        assert!(err.to_string().contains(needle), "{needle}: {err}");
    };
    bad(&|c| c.task = "no_such_task".into(), "no_such_task");
    bad(
        &|c| {
            c.loss = LossSpec::Ce {
                label_smoothing: 0.0,
                class_weights: false,
            }
        },
        "binary",
    );
    bad(
        &|c| {
            c.task = "six_class".into();
            c.early_stopping.monitor = Monitor::Auroc;
            c.loss = LossSpec::Ce {
                label_smoothing: 0.0,
                class_weights: false,
            };
        },
        "only for binary tasks",
    );
    bad(&|c| c.subset = "7pct".into(), "100pct");
    bad(&|c| c.epochs = 0, "--epochs");
}

#[test]
fn six_classes_3d_resnets_focal_loss_and_class_balanced_sampling_train() {
    let _rng = rng_lock();
    let p = easy();
    let dir = tempfile::tempdir().unwrap();
    // six-class, CE with label smoothing and class weights, macro-F1 monitored
    let six = dir.path().join("six");
    let r = train(&config(&p, "six_class", 1), &run_options(&six), &mut |_| {}).unwrap();
    let cw = r.loss_weights.class_weights.clone().unwrap();
    assert_eq!(cw.len(), 6);
    let n: usize = r.train_counts.iter().sum();
    for (c, w) in r.train_counts.iter().zip(&cw) {
        if *c > 0 {
            assert!((w - n as f64 / (6.0 * *c as f64)).abs() < 1e-12);
        }
    }
    let test = evaluate(&eval_options(&six, "test")).unwrap();
    assert!(test.multiclass.is_some() && test.one_vs_rest.len() == 6);
    let t = Table::read(&test.predictions[1]).unwrap();
    assert!(t.names().contains(&"prob_normal") || t.names().iter().any(|n| n.starts_with("prob_")));

    // A 3D ResNet on the same records, focal loss, class-balanced sampler + alpha:
    // trains, and warns about the double imbalance correction.
    let mut cfg = config(&p, "normal_vs_abnormal", 1);
    cfg.model = ModelSpec::from_name("resnet3d-10", 8, 1, 1, true).unwrap();
    cfg.loss = LossSpec::Focal {
        gamma: 2.0,
        alpha: Some(0.25),
    };
    cfg.sampler = medfen_cache::SamplerKind::ClassBalanced;
    let r3 = dir.path().join("r3d");
    let r = train(&cfg, &run_options(&r3), &mut |_| {}).unwrap();
    assert!(
        r.warnings
            .iter()
            .any(|w| w.contains("both correct the imbalance"))
    );
    let line: serde_json::Value = serde_json::from_str(
        std::fs::read_to_string(r3.join("metrics.jsonl"))
            .unwrap()
            .lines()
            .next()
            .unwrap(),
    )
    .unwrap();
    assert!(line["train_loss"].as_f64().unwrap().is_finite());
    let test = evaluate(&eval_options(&r3, "test")).unwrap();
    // no attention in 3D models: top-k columns are empty
    let t = Table::read(&test.predictions[1]).unwrap();
    assert!(t.ints("top1_slice").unwrap().iter().all(Option::is_none));

    // pos_weight auto = negatives / positives of train
    let mut cfg = config(&p, "normal_vs_abnormal", 1);
    cfg.loss = LossSpec::Bce {
        pos_weight: PosWeight::Auto,
    };
    let r = train(&cfg, &run_options(&dir.path().join("pw")), &mut |_| {}).unwrap();
    let (neg, pos) = (r.train_counts[0] as f64, r.train_counts[1] as f64);
    assert_eq!(r.loss_weights.pos_weight, Some(neg / pos));
}

#[test]
fn the_batch_size_probe_leaves_weights_and_batchnorm_statistics_untouched() {
    let _rng = rng_lock();
    tch::manual_seed(1);
    let spec = ModelSpec::from_name("ear2d-r18", 8, 1, 1, true).unwrap();
    let model = medfen_models::train::Model::new(&spec, Device::Cpu);
    let before: Vec<(String, Tensor)> = model
        .vs
        .variables()
        .into_iter()
        .map(|(n, t)| (n, t.detach().copy()))
        .collect();
    assert!(before.iter().any(|(n, _)| n.ends_with("running_mean")));
    let b = probe_batch_size(&model, [1, 4, 32, 32], &[1, 2, 4]).unwrap();
    assert_eq!(b, 4);
    let after = model.vs.variables();
    for (name, t) in &before {
        assert!(after[name].equal(t), "{name} changed");
        let g = after[name].grad();
        assert!(!g.defined() || g.abs().sum(tch::Kind::Float).double_value(&[]) == 0.0);
    }
}

#[test]
fn channels_last_weights_compute_what_contiguous_ones_do() {
    let _rng = rng_lock();
    tch::manual_seed(2);
    for (name, shape) in [
        ("ear2d-r18", [2, 1, 4, 32, 32]),
        ("resnet3d-10", [2, 1, 8, 24, 24]),
    ] {
        let spec = ModelSpec::from_name(name, 8, 1, 1, false).unwrap();
        let model = medfen_models::train::Model::new(&spec, Device::Cpu);
        let convs: Vec<Tensor> = model
            .vs
            .variables()
            .into_values()
            .filter(|t| t.dim() >= 4)
            .collect();
        // Every weight has PyTorch's channels-last strides (channel stride 1, the last
        // spatial stride the channel count), also the one-input-channel stem, whose
        // contiguous strides would keep the largest activations channels-first.
        for w in &convs {
            let (size, stride) = (w.size(), w.stride());
            assert_eq!(stride[1], 1, "{name}: {size:?} has strides {stride:?}");
            assert_eq!(
                stride[size.len() - 1],
                size[1],
                "{name}: {size:?} {stride:?}"
            );
        }
        assert!(
            convs.iter().any(|t| t.size()[1] == 1),
            "{name}: no stem checked"
        );
        let x = Tensor::rand(shape, (tch::Kind::Float, Device::Cpu));
        let a = tch::no_grad(|| model.forward(&x, false).logits);
        tch::no_grad(|| {
            for (_, mut v) in model.vs.variables() {
                let c = v.contiguous();
                v.set_data(&c);
            }
        });
        let b = tch::no_grad(|| model.forward(&x, false).logits);
        let diff = (a - b).abs().max().double_value(&[]);
        assert!(diff < 1e-4, "{name}: {diff}");
    }
}

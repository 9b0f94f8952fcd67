//! GPU checks, compiled by `cargo xtask test` (clippy with `--features cuda-tests`) and
//! run on a CUDA host with `cargo test -p medfen-models --features cuda-tests` after
//! `cargo xtask libtorch --cuda`: libtorch_cuda really loads, fp16 and bf16 autocast
//! train with the loss scaler, the auto-batch probe leaves the model untouched on the
//! GPU, and GPU predictions agree with CPU ones.
#![cfg(feature = "cuda-tests")]

mod common;

use common::{config, prepared, rng_lock};
use medfen_metrics::ThresholdRule;
use medfen_models::DeviceChoice;
use medfen_models::eval::{EvalOptions, evaluate};
use medfen_models::train::{Model, ModelSpec, Precision, RunOptions, probe_batch_size, train};
use medfen_synth::DiseasedSides;
use tch::{Device, Tensor};

fn gpu() -> Device {
    let device = DeviceChoice::Auto.resolve().unwrap();
    assert!(
        device.is_cuda(),
        "no CUDA device: libtorch_cuda did not load (check the --no-as-needed link) or there is no GPU"
    );
    device
}

fn run_on(out: &std::path::Path, device: Device) -> RunOptions {
    RunOptions {
        out: out.to_path_buf(),
        resume: false,
        device,
        stop_after_steps: None,
    }
}

#[test]
fn cuda_is_linked_and_computes() {
    let device = gpu();
    let a = Tensor::from_slice(&[1.0f32, 2.0, 3.0]).to_device(device);
    assert_eq!((&a * &a).sum(tch::Kind::Float).double_value(&[]), 14.0);
    assert!(tch::Cuda::cudnn_is_available());
}

#[test]
fn mixed_precision_training_runs_and_gpu_predictions_match_cpu() {
    let _rng = rng_lock();
    let device = gpu();
    let p = prepared("easy", 100, DiseasedSides::Both, 64);
    let dir = tempfile::tempdir().unwrap();
    for precision in [Precision::Fp16, Precision::Bf16] {
        let mut cfg = config(&p, "normal_vs_abnormal", 3);
        cfg.precision = precision;
        let out = dir.path().join(format!("{precision:?}"));
        let report = train(&cfg, &run_on(&out, device), &mut |_| {}).unwrap();
        assert_eq!(report.epochs_run, 3);
        let lines = std::fs::read_to_string(out.join("metrics.jsonl")).unwrap();
        for l in lines.lines() {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            assert!(v["train_loss"].as_f64().unwrap().is_finite());
        }
    }
    // fp32 on the GPU against the CPU: the same checkpoint, nearly the same numbers.
    let cfg = config(&p, "normal_vs_abnormal", 2);
    let out = dir.path().join("fp32");
    train(&cfg, &run_on(&out, device), &mut |_| {}).unwrap();
    let eval = |device| {
        evaluate(&EvalOptions {
            run: out.clone(),
            split: medfen_tasks::SplitName::Val,
            cache: None,
            checkpoint: "last".into(),
            device,
            replicates: 0,
            threshold_rule: ThresholdRule::Youden,
            cluster: medfen_tasks::ClusterUnit::Patient,
            batch_size: None,
        })
        .unwrap()
        .binary
        .unwrap()
        .auroc
        .unwrap()
    };
    assert!((eval(device) - eval(Device::Cpu)).abs() < 1e-3);
}

#[test]
fn the_probe_leaves_the_model_untouched_on_the_gpu() {
    let device = gpu();
    let spec = ModelSpec::from_name("ear2d-r18", 32, 1, 1, false).unwrap();
    let model = Model::new(&spec, device);
    let before: Vec<(String, Tensor)> = model
        .vs
        .variables()
        .into_iter()
        .map(|(n, t)| (n, t.detach().copy()))
        .collect();
    let b = probe_batch_size(
        &model,
        [1, 32, 224, 224],
        &[1, 2, 4, 8, 16, 32, 64, 128, 256],
    )
    .unwrap();
    assert!(b >= 1);
    let after = model.vs.variables();
    for (name, t) in &before {
        assert!(after[name].equal(t), "{name} changed");
    }
}

#[test]
fn cuda_autocast_computes_in_the_precision_asked_for() {
    use medfen_models::autocast::{autocast, autocast_precision};
    let device = gpu();
    let before = autocast_precision(device).unwrap();
    let a = Tensor::ones([64, 64], (tch::Kind::Float, device));
    // libtorch's CUDA default is float16: bf16 must really be bf16.
    for (precision, kind) in [
        (Precision::Bf16, tch::Kind::BFloat16),
        (Precision::Fp16, tch::Kind::Half),
    ] {
        let product = autocast(precision, device, || a.matmul(&a)).unwrap();
        assert_eq!(product.kind(), kind, "{precision:?}");
    }
    assert_eq!(autocast_precision(device).unwrap(), before);
    assert_eq!(a.matmul(&a).kind(), tch::Kind::Float);
}

//! Training-step and inference-batch time of ear2d-r18 and a 3D ResNet18 (fp32, CPU),
//! printed as JSON lines for `cargo xtask bench train` (which runs the same models in
//! PyTorch eager in the same run and prints the ratios).
//!
//! Usage: `cargo bench -p medfen-models --bench train -- [THREADS [CASE]]` (CASE: run
//! only the cases whose name contains it).
#![allow(clippy::print_stdout)]

use std::time::Instant;

use medfen_models::nets::{Ear2dConfig, ResNet3dConfig, SlicePooling};
use medfen_models::optim::AdamW;
use medfen_models::train::{Model, ModelSpec};
use tch::{Device, Kind, Tensor};

struct Case {
    name: &'static str,
    spec: ModelSpec,
    shape: [i64; 5],
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Times `f` (after 2 warm-up calls) until 12 calls or 20 s; the median in ms.
fn time(mut f: impl FnMut()) -> (f64, usize) {
    f();
    f();
    let mut times = Vec::new();
    let started = Instant::now();
    while times.len() < 12 && (times.len() < 3 || started.elapsed().as_secs_f64() < 20.0) {
        let t = Instant::now();
        f();
        times.push(t.elapsed().as_secs_f64() * 1e3);
    }
    let n = times.len();
    (median(times), n)
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let threads: i32 = args.first().and_then(|a| a.parse().ok()).unwrap_or(2);
    let only = args.get(1).map_or("", String::as_str);
    tch::set_num_threads(threads);
    let ear2d = ModelSpec::Ear2d(Ear2dConfig {
        pooling: SlicePooling::GatedAttention { hidden: 128 },
        ..Ear2dConfig::default()
    });
    let cases = [
        Case {
            name: "ear2d-r18 b4 K16 128px",
            spec: ear2d,
            shape: [4, 1, 16, 128, 128],
        },
        Case {
            name: "ear2d-r18 b2 K32 192px",
            spec: ear2d,
            shape: [2, 1, 32, 192, 192],
        },
        Case {
            name: "resnet3d-18 b2 1x32x128x128",
            spec: ModelSpec::ResNet3d(ResNet3dConfig::default()),
            shape: [2, 1, 32, 128, 128],
        },
    ];
    for case in cases.iter().filter(|c| c.name.contains(only)) {
        tch::manual_seed(0);
        let model = Model::new(&case.spec, Device::Cpu);
        let mut opt = AdamW::new(&model.vs, 1e-2);
        let xs = Tensor::rand(case.shape, (Kind::Float, Device::Cpu));
        let y = Tensor::from_slice(&[1.0f32, 0.0, 1.0, 0.0][..case.shape[0] as usize]);
        let (train_ms, n_train) = time(|| {
            opt.zero_grad();
            let out = model.forward(&xs, true);
            let loss = out
                .logits
                .squeeze_dim(1)
                .binary_cross_entropy_with_logits::<Tensor>(&y, None, None, tch::Reduction::Mean);
            loss.backward();
            opt.step(1e-4);
        });
        // As `medfen eval` and `medfen predict` run a loaded checkpoint: BatchNorm folded
        // once, then batch after batch.
        let inference = model.for_inference();
        let (infer_ms, n_infer) = time(|| {
            tch::no_grad(|| {
                let _ = inference
                    .forward(&xs)
                    .logits
                    .sum(Kind::Float)
                    .double_value(&[]);
            });
        });
        println!(
            "{}",
            serde_json::json!({
                "case": case.name,
                "threads": threads,
                "parameters": model.parameters(),
                "train_step_ms": train_ms,
                "train_samples": n_train,
                "inference_ms": infer_ms,
                "inference_samples": n_infer,
            })
        );
    }
}

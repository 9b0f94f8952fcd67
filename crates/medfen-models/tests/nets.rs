//! The networks: output shapes, torchvision initialisation, attention weights, and an
//! ear2d model that learns a slice-level cue and points its attention at that slice.

use medfen_models::data::{batch_inputs, masked_mean, task_targets};
use medfen_models::nets::{
    DualEar2d, Ear2d, Ear2dConfig, Pass, ResNet2d, ResNet2dConfig, ResNet3d, ResNet3dConfig,
    ResNet3dDepth, ResNetDepth, Shortcut, SlicePooling,
};
use tch::nn::{self, ModuleT, OptimizerConfig};
use tch::{Device, Kind, Tensor};

/// libtorch's random generator is global: tests that seed it run one at a time, so
/// another test's draws cannot interleave with theirs.
static TORCH_RNG: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn rng_lock() -> std::sync::MutexGuard<'static, ()> {
    TORCH_RNG
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn small(depth: ResNetDepth) -> ResNet2dConfig {
    ResNet2dConfig {
        depth,
        width: 8,
        in_channels: 1,
        small_input: true,
    }
}

#[test]
fn resnets_map_slices_to_features_of_the_documented_size() {
    let _rng = rng_lock();
    tch::manual_seed(0);
    let vs = nn::VarStore::new(Device::Cpu);
    let r18 = ResNet2d::new(&(vs.root() / "r18"), &small(ResNetDepth::R18));
    let r50 = ResNet2d::new(&(vs.root() / "r50"), &small(ResNetDepth::R50));
    let wide = ResNet2d::new(
        &(vs.root() / "std"),
        &ResNet2dConfig {
            width: 16,
            ..ResNet2dConfig::default()
        },
    );
    let x = Tensor::randn([2, 1, 32, 32], (Kind::Float, Device::Cpu));
    assert_eq!(r18.forward_t(&x, false).size(), [2, 64]);
    assert_eq!(r50.forward_t(&x, false).size(), [2, 256]);
    let big = Tensor::randn([2, 1, 64, 64], (Kind::Float, Device::Cpu));
    assert_eq!(wide.forward_t(&big, true).size(), [2, 128]);
    // torchvision initialisation: BatchNorm weight 1, bias 0; the named layout
    let vars = vs.variables();
    assert!(vars.contains_key("r18.layer2.0.downsample.0.weight"));
    assert!(vars.contains_key("r50.layer4.2.conv3.weight"));
    let bn = &vars["r18.layer1.0.bn1.weight"];
    assert_eq!(bn.min().double_value(&[]), 1.0);
    assert_eq!(
        vars["r18.layer1.0.bn1.bias"].abs().max().double_value(&[]),
        0.0
    );
}

#[test]
fn ear2d_pools_slices_with_weights_that_sum_to_one() {
    let _rng = rng_lock();
    tch::manual_seed(1);
    let vs = nn::VarStore::new(Device::Cpu);
    let config = Ear2dConfig {
        encoder: small(ResNetDepth::R18),
        pooling: SlicePooling::GatedAttention { hidden: 16 },
        outputs: 6,
        dropout: 0.0,
    };
    let model = Ear2d::new(&(vs.root() / "ear2d"), &config);
    let x = Tensor::rand([3, 1, 5, 32, 32], (Kind::Float, Device::Cpu));
    let out = model.forward(&x, false);
    assert_eq!(out.logits.size(), [3, 6]);
    assert_eq!(out.slice_weights.size(), [3, 5]);
    let sums = out.slice_weights.sum_dim_intlist(1, false, Kind::Float);
    assert!((sums - 1.0).abs().max().double_value(&[]) < 1e-5);
    let mean = Ear2d::new(
        &(vs.root() / "mean"),
        &Ear2dConfig {
            pooling: SlicePooling::Mean,
            ..config
        },
    );
    let w = mean.forward(&x, false).slice_weights;
    assert!((w - 0.2).abs().max().double_value(&[]) < 1e-6);
}

#[test]
fn transformer_pooling_reports_weights_and_learns_the_slice_cue() {
    let _rng = rng_lock();
    tch::manual_seed(3);
    let vs = nn::VarStore::new(Device::Cpu);
    let config = Ear2dConfig {
        encoder: small(ResNetDepth::R18),
        pooling: SlicePooling::Transformer {
            layers: 1,
            heads: 4,
            max_slices: 8,
        },
        outputs: 1,
        dropout: 0.0,
    };
    let model = Ear2d::new(&(vs.root() / "ear2d"), &config);
    let x = Tensor::rand([2, 1, 4, 24, 24], (Kind::Float, Device::Cpu));
    let out = model.forward(&x, false);
    assert_eq!(out.logits.size(), [2, 1]);
    let sums = out.slice_weights.sum_dim_intlist(1, false, Kind::Float);
    assert!((sums - 1.0).abs().max().double_value(&[]) < 1e-5);
    // Position embeddings: reversing the slices changes the output.
    let reversed = model.forward(&x.flip([2]), false).logits;
    assert!((reversed - &out.logits).abs().max().double_value(&[]) > 1e-6);
    let mut opt = nn::Adam::default().build(&vs, 3e-3).unwrap();
    for step in 0..60 {
        let (x, y, _) = toy_batch(16, 4, 100 + step);
        let loss = model
            .forward(&x, true)
            .logits
            .squeeze_dim(1)
            .binary_cross_entropy_with_logits::<Tensor>(&y, None, None, tch::Reduction::Mean);
        opt.backward_step(&loss);
    }
    let (x, y, _) = toy_batch(64, 4, 9999);
    let out = tch::no_grad(|| model.forward(&x, false));
    let accuracy = out
        .logits
        .squeeze_dim(1)
        .ge(0.0)
        .to_kind(Kind::Float)
        .eq_tensor(&y)
        .to_kind(Kind::Float)
        .mean(Kind::Float)
        .double_value(&[]);
    assert!(accuracy >= 0.85, "accuracy {accuracy}");
}

#[test]
fn the_dual_form_runs_both_ears_through_one_shared_model() {
    let _rng = rng_lock();
    tch::manual_seed(5);
    let vs = nn::VarStore::new(Device::Cpu);
    let config = Ear2dConfig {
        encoder: small(ResNetDepth::R18),
        pooling: SlicePooling::GatedAttention { hidden: 8 },
        outputs: 1,
        dropout: 0.0,
    };
    let dual = DualEar2d::new(&(vs.root() / "ear2d"), &config);
    let x = Tensor::rand([3, 2, 1, 4, 16, 16], (Kind::Float, Device::Cpu));
    let out = dual.forward(&x, false);
    assert_eq!(out.logits.size(), [3, 2, 1]);
    assert_eq!(out.slice_weights.size(), [3, 2, 4]);
    // The same variables as a single-ear model built at the same path.
    let mut single_vs = nn::VarStore::new(Device::Cpu);
    let single = Ear2d::new(&(single_vs.root() / "ear2d"), &config);
    single_vs.copy(&vs).unwrap();
    let right = single.forward(&x.select(1, 1), false).logits;
    assert!(
        (right - out.logits.select(1, 1))
            .abs()
            .max()
            .double_value(&[])
            < 1e-6
    );
}

/// Stacks of K noise slices; positives have a bright square on one slice.
fn toy_batch(n: i64, k: i64, seed: i64) -> (Tensor, Tensor, Tensor) {
    tch::manual_seed(seed);
    let x = Tensor::rand([n, 1, k, 24, 24], (Kind::Float, Device::Cpu)) * 0.5;
    let y = Tensor::randint(2, [n], (Kind::Int64, Device::Cpu));
    let slice = Tensor::randint(k, [n], (Kind::Int64, Device::Cpu));
    for i in 0..n {
        if y.int64_value(&[i]) == 1 {
            let s = slice.int64_value(&[i]);
            let _ = x
                .get(i)
                .get(0)
                .get(s)
                .narrow(0, 8, 8)
                .narrow(1, 8, 8)
                .fill_(1.0);
        }
    }
    (x, y.to_kind(Kind::Float), slice)
}

#[test]
fn ear2d_learns_a_slice_cue_and_attends_to_that_slice() {
    let _rng = rng_lock();
    tch::manual_seed(7);
    let vs = nn::VarStore::new(Device::Cpu);
    let config = Ear2dConfig {
        encoder: small(ResNetDepth::R18),
        pooling: SlicePooling::GatedAttention { hidden: 16 },
        outputs: 1,
        dropout: 0.0,
    };
    let model = Ear2d::new(&(vs.root() / "ear2d"), &config);
    let mut opt = nn::Adam::default().build(&vs, 3e-3).unwrap();
    for step in 0..60 {
        let (x, y, _) = toy_batch(16, 4, 100 + step);
        let out = model.forward(&x, true);
        let loss = out
            .logits
            .squeeze_dim(1)
            .binary_cross_entropy_with_logits::<Tensor>(&y, None, None, tch::Reduction::Mean);
        opt.backward_step(&loss);
    }
    let (x, y, slice) = toy_batch(64, 4, 9999);
    let out = tch::no_grad(|| model.forward(&x, false));
    let pred = out.logits.squeeze_dim(1).ge(0.0).to_kind(Kind::Float);
    let accuracy = pred
        .eq_tensor(&y)
        .to_kind(Kind::Float)
        .mean(Kind::Float)
        .double_value(&[]);
    assert!(accuracy >= 0.9, "accuracy {accuracy}");
    // For positives, the bright slice gets more than its share (1/K) of the attention.
    let (mut on_cue, mut positives) = (0.0, 0.0);
    for i in 0..64 {
        if y.double_value(&[i]) == 1.0 {
            on_cue += out
                .slice_weights
                .double_value(&[i, slice.int64_value(&[i])]);
            positives += 1.0;
        }
    }
    let mean_weight = on_cue / positives;
    assert!(
        mean_weight > 0.4,
        "mean attention on the cue slice {mean_weight:.3} (chance 0.25)"
    );
}

#[test]
fn resnet3d_forward_and_backward_on_a_small_volume() {
    let _rng = rng_lock();
    tch::manual_seed(3);
    let vs = nn::VarStore::new(Device::Cpu);
    let config = ResNet3dConfig {
        depth: ResNet3dDepth::R18,
        width: 8,
        outputs: 2,
        ..ResNet3dConfig::default()
    };
    let net = ResNet3d::new(&(vs.root() / "r3d"), &config);
    let x = Tensor::randn([2, 1, 16, 32, 32], (Kind::Float, Device::Cpu));
    let y = net.forward_t(&x, true);
    assert_eq!(y.size(), [2, 2]);
    let loss = y.cross_entropy_for_logits(&Tensor::from_slice(&[0i64, 1]));
    loss.backward();
    for (name, var) in vs.variables() {
        if !var.requires_grad() {
            continue; // BatchNorm running statistics
        }
        let g = var.grad();
        assert!(g.defined(), "no gradient for {name}");
        assert!(
            g.isfinite().all().int64_value(&[]) == 1,
            "non-finite gradient for {name}"
        );
    }
    let stem_grad = vs.variables()["r3d.conv1.weight"]
        .grad()
        .abs()
        .sum(Kind::Float)
        .double_value(&[]);
    assert!(stem_grad > 0.0);
    // MONAI's layout and head initialisation; deeper and shortcut-A variants build and run.
    assert_eq!(vs.variables()["r3d.conv1.weight"].size(), [8, 1, 7, 7, 7]);
    assert_eq!(
        vs.variables()["r3d.fc.bias"].abs().max().double_value(&[]),
        0.0
    );
    for (depth, shortcut, features) in [
        (ResNet3dDepth::R10, Shortcut::A, 64),
        (ResNet3dDepth::R50, Shortcut::B, 256),
    ] {
        let vs = nn::VarStore::new(Device::Cpu);
        let net = ResNet3d::new(
            &vs.root(),
            &ResNet3dConfig {
                depth,
                width: 8,
                shortcut,
                no_max_pool: true,
                outputs: 3,
                ..ResNet3dConfig::default()
            },
        );
        let y = net.forward_t(
            &Tensor::randn([1, 1, 8, 16, 16], (Kind::Float, Device::Cpu)),
            false,
        );
        assert_eq!(y.size(), [1, 3]);
        assert_eq!(vs.variables()["fc.weight"].size(), [3, features]);
    }
}

#[test]
fn cache_batches_feed_ear2d_and_masked_losses_never_go_nan() {
    let _rng = rng_lock();
    let batch = medfen_cache::Batch {
        data: (0..2 * 3 * 16 * 16).map(|i| (i % 7) as f32 / 7.0).collect(),
        shape: [2, 1, 3, 16, 16],
        records: vec![0, 1],
        codes: vec![Some(6), None],
    };
    let x = batch_inputs(&batch, Device::Cpu);
    assert_eq!(x.size(), [2, 1, 3, 16, 16]);
    assert!((x.double_value(&[0, 0, 0, 0, 8]) - 1.0 / 7.0).abs() < 1e-6);
    tch::manual_seed(2);
    let vs = nn::VarStore::new(Device::Cpu);
    let model = Ear2d::new(
        &vs.root(),
        &Ear2dConfig {
            encoder: small(ResNetDepth::R18),
            ..Ear2dConfig::default()
        },
    );
    let out = model.forward(&x, true);
    let tasks = medfen_tasks::TaskRegistry::builtin();
    // normal_vs_diseased excludes code 6: both ears of this batch are masked
    let (y, mask) = task_targets(
        &batch.codes,
        tasks.resolve("normal_vs_diseased").unwrap(),
        Device::Cpu,
    );
    let losses = out
        .logits
        .squeeze_dim(1)
        .binary_cross_entropy_with_logits::<Tensor>(&y, None, None, tch::Reduction::None);
    let loss = masked_mean(&losses, &mask);
    assert_eq!(loss.double_value(&[]), 0.0);
    loss.backward();
    // six_class: the code-6 ear counts, the unlabelled one does not
    let (y6, mask6) = task_targets(
        &batch.codes,
        tasks.resolve("six_class").unwrap(),
        Device::Cpu,
    );
    assert_eq!(Vec::<i64>::try_from(&y6).unwrap(), vec![5, 0]);
    assert_eq!(Vec::<bool>::try_from(&mask6).unwrap(), vec![true, false]);
}

/// Gives every BatchNorm of `vs` non-trivial affine parameters and running statistics
/// (random weights and biases, then three training-mode passes of `run`).
fn randomise_batch_norms(vs: &nn::VarStore, run: impl Fn()) {
    tch::no_grad(|| {
        for (name, mut v) in vs.variables() {
            if name.contains("bn") || name.contains("downsample.1") {
                match name.rsplit('.').next() {
                    Some("weight") => v.copy_(&(Tensor::rand_like(&v) + 0.5)),
                    Some("bias") => v.copy_(&(Tensor::randn_like(&v) * 0.3)),
                    _ => {}
                }
            }
        }
    });
    for _ in 0..3 {
        run();
    }
}

fn max_abs_diff(a: &Tensor, b: &Tensor) -> f64 {
    (a - b).abs().max().double_value(&[])
}

#[test]
fn folded_batch_norm_inference_equals_evaluation_mode() {
    let _rng = rng_lock();
    tch::manual_seed(11);
    // 2D: basic and bottleneck blocks, both stems, through ear2d's pooling and head.
    for (depth, small_input) in [(ResNetDepth::R18, false), (ResNetDepth::R50, true)] {
        let vs = nn::VarStore::new(Device::Cpu);
        let config = Ear2dConfig {
            encoder: ResNet2dConfig {
                small_input,
                ..small(depth)
            },
            outputs: 3,
            ..Ear2dConfig::default()
        };
        let net = Ear2d::new(&vs.root(), &config);
        medfen_models::train::to_channels_last(&vs);
        let x = Tensor::randn([2, 1, 4, 32, 32], (Kind::Float, Device::Cpu)) * 2.0 + 0.5;
        randomise_batch_norms(&vs, || {
            let _ = net.forward(&x, true);
        });
        let folded = net.fold();
        assert_eq!(folded.len(), if small_input { 53 } else { 20 });
        let (eval, fast) = tch::no_grad(|| {
            (
                net.forward_pass(&x, Pass::Eval),
                net.forward_pass(&x, Pass::Folded(&folded)),
            )
        });
        let scale = eval.logits.abs().max().double_value(&[]);
        assert!(scale > 0.1, "{depth:?}: degenerate logits {scale}");
        let diff = max_abs_diff(&eval.logits, &fast.logits);
        assert!(
            diff <= 1e-4 * scale,
            "{depth:?}: logits differ by {diff} (scale {scale})"
        );
        let wdiff = max_abs_diff(&eval.slice_weights, &fast.slice_weights);
        assert!(wdiff <= 1e-5, "{depth:?}: slice weights differ by {wdiff}");
        // The pass really skips BatchNorm: changing its statistics after folding changes
        // evaluation mode but not the folded weights' result.
        tch::no_grad(|| {
            let mut rv = vs.variables()["encoder.bn1.running_var"].shallow_clone();
            let _ = rv.fill_(100.0);
        });
        let (eval2, fast2) = tch::no_grad(|| {
            (
                net.forward_pass(&x, Pass::Eval),
                net.forward_pass(&x, Pass::Folded(&folded)),
            )
        });
        assert!(max_abs_diff(&eval.logits, &eval2.logits) > 1e-3 * scale);
        assert_eq!(max_abs_diff(&fast.logits, &fast2.logits), 0.0);
    }
    // 3D: shortcut A (padding) and B (projection).
    for (depth, shortcut) in [
        (ResNet3dDepth::R10, Shortcut::A),
        (ResNet3dDepth::R18, Shortcut::B),
    ] {
        let vs = nn::VarStore::new(Device::Cpu);
        let net = ResNet3d::new(
            &vs.root(),
            &ResNet3dConfig {
                depth,
                width: 8,
                shortcut,
                outputs: 2,
                ..ResNet3dConfig::default()
            },
        );
        medfen_models::train::to_channels_last(&vs);
        let x = Tensor::randn([2, 1, 8, 16, 16], (Kind::Float, Device::Cpu));
        randomise_batch_norms(&vs, || {
            let _ = net.forward(&x, Pass::Train);
        });
        let folded = net.fold();
        let (eval, fast) = tch::no_grad(|| {
            (
                net.forward(&x, Pass::Eval),
                net.forward(&x, Pass::Folded(&folded)),
            )
        });
        let scale = eval.abs().max().double_value(&[]);
        assert!(scale > 0.01, "{depth:?}: degenerate logits {scale}");
        let diff = max_abs_diff(&eval, &fast);
        assert!(
            diff <= 1e-4 * scale,
            "{depth:?}/{shortcut:?}: logits differ by {diff}"
        );
    }
}

#[test]
fn bf16_autocast_computes_in_bf16_and_restores_the_previous_state() {
    use medfen_models::autocast::{autocast, autocast_precision};
    use medfen_models::train::Precision;
    let _rng = rng_lock();
    let cpu = Device::Cpu;
    let before = autocast_precision(cpu).unwrap();
    let a = Tensor::ones([8, 8], (Kind::Float, cpu));
    // libtorch's CPU autocast, through the same shim CUDA uses: a matmul inside the
    // region is computed in the dtype asked for.
    let (product, inside) = autocast(Precision::Bf16, cpu, || {
        (a.matmul(&a), autocast_precision(cpu).unwrap())
    })
    .unwrap();
    assert_eq!(product.kind(), Kind::BFloat16);
    assert_eq!(inside, Some(Precision::Bf16));
    assert_eq!(product.to_kind(Kind::Float).double_value(&[0, 0]), 8.0);
    // Nested regions and the state afterwards.
    let nested = autocast(Precision::Bf16, cpu, || {
        autocast(Precision::Bf16, cpu, || a.matmul(&a)).unwrap()
    })
    .unwrap();
    assert_eq!(nested.kind(), Kind::BFloat16);
    assert_eq!(autocast_precision(cpu).unwrap(), before);
    assert_eq!(a.matmul(&a).kind(), Kind::Float, "autocast left on");
    assert_eq!(
        autocast(Precision::Fp32, cpu, || a.matmul(&a))
            .unwrap()
            .kind(),
        Kind::Float
    );
}

//! AdamW with owned state: the same updates as libtorch's Adam when decay is off,
//! decay only on weights, exact resume from saved state; the schedule in optimizer
//! steps.

use medfen_models::checkpoint;
use medfen_models::optim::{AdamW, Schedule};
use tch::nn::{self, Module, OptimizerConfig};
use tch::{Device, Kind, Tensor};

/// libtorch's random generator is global: seeded tests run one at a time.
static TORCH_RNG: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn rng_lock() -> std::sync::MutexGuard<'static, ()> {
    TORCH_RNG
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn data() -> (Tensor, Tensor) {
    tch::manual_seed(11);
    let x = Tensor::randn([32, 4], (Kind::Float, Device::Cpu));
    let y = x.sum_dim_intlist(1, true, Kind::Float) * 0.5 + 0.3;
    (x, y)
}

fn model(vs: &nn::VarStore) -> impl Module + use<> {
    nn::seq()
        .add(nn::linear(
            vs.root() / "a",
            4,
            8,
            nn::LinearConfig::default(),
        ))
        .add_fn(Tensor::relu)
        .add(nn::linear(
            vs.root() / "b",
            8,
            1,
            nn::LinearConfig::default(),
        ))
}

#[test]
fn without_decay_it_matches_libtorch_adam() {
    let _rng = rng_lock();
    let (x, y) = data();
    tch::manual_seed(0);
    let vs_a = nn::VarStore::new(Device::Cpu);
    let net_a = model(&vs_a);
    let mut vs_b = nn::VarStore::new(Device::Cpu);
    let net_b = model(&vs_b);
    vs_b.copy(&vs_a).unwrap();
    let mut ours = AdamW::new(&vs_a, 0.0);
    let mut theirs = nn::Adam::default().build(&vs_b, 0.01).unwrap();
    for _ in 0..25 {
        ours.zero_grad();
        net_a
            .forward(&x)
            .mse_loss(&y, tch::Reduction::Mean)
            .backward();
        ours.step(0.01);
        theirs.backward_step(&net_b.forward(&x).mse_loss(&y, tch::Reduction::Mean));
    }
    let (a, b) = (vs_a.variables(), vs_b.variables());
    for (name, t) in &a {
        let diff = (t - &b[name]).abs().max().double_value(&[]);
        assert!(diff < 1e-5, "{name}: {diff}");
    }
    assert_eq!(ours.steps(), 25);
}

#[test]
fn decay_applies_to_weights_only_and_resume_is_exact() {
    let _rng = rng_lock();
    let (x, y) = data();
    tch::manual_seed(0);
    let vs = nn::VarStore::new(Device::Cpu);
    let net = model(&vs);
    let mut opt = AdamW::new(&vs, 0.05);
    let (decayed, plain) = opt.groups();
    assert_eq!(decayed, vec!["a.weight", "b.weight"]);
    assert_eq!(plain, vec!["a.bias", "b.bias"]);
    let schedule = Schedule::for_run(0.02, 0.0, 2, 5, 1, 0.2);
    let dir = tempfile::tempdir().unwrap();
    let train = |opt: &mut AdamW, net: &dyn Module, steps: std::ops::Range<u64>| {
        for s in steps {
            opt.zero_grad();
            net.forward(&x)
                .mse_loss(&y, tch::Reduction::Mean)
                .backward();
            opt.step(schedule.lr(s));
        }
    };
    train(&mut opt, &net, 0..5);
    checkpoint::save(&vs, &dir.path().join("w.safetensors")).unwrap();
    opt.save(&dir.path().join("opt.safetensors")).unwrap();
    train(&mut opt, &net, 5..10);

    // A fresh process: other random weights, then the saved weights and state.
    tch::manual_seed(99);
    let mut vs2 = nn::VarStore::new(Device::Cpu);
    let net2 = model(&vs2);
    checkpoint::load(&mut vs2, &dir.path().join("w.safetensors")).unwrap();
    let mut opt2 = AdamW::new(&vs2, 0.05);
    opt2.load(&dir.path().join("opt.safetensors")).unwrap();
    assert_eq!(opt2.steps(), 5);
    train(&mut opt2, &net2, 5..10);
    let (a, b) = (vs.variables(), vs2.variables());
    for (name, t) in &a {
        assert!(t.equal(&b[name]), "{name} differs after resume");
    }
    // A state for another model is refused with the reason.
    let vs3 = nn::VarStore::new(Device::Cpu);
    let _ = nn::linear(vs3.root() / "a", 4, 3, nn::LinearConfig::default());
    let err = AdamW::new(&vs3, 0.0)
        .load(&dir.path().join("opt.safetensors"))
        .unwrap_err();
    assert!(err.to_string().contains("opt.safetensors"), "{err}");
}

#[test]
fn the_schedule_counts_optimizer_steps() {
    let _rng = rng_lock();
    let s = Schedule::for_run(1.0, 0.1, 3, 10, 3, 1.0);
    assert_eq!((s.warmup_steps, s.total_steps), (4, 12));
    let lrs: Vec<f64> = (0..12).map(|i| s.lr(i)).collect();
    assert_eq!(lrs[0], 0.25);
    assert_eq!(lrs[3], 1.0);
    assert!(lrs[4..].windows(2).all(|w| w[1] <= w[0]), "{lrs:?}");
    assert!((lrs[11] - 0.1).abs() < 1e-12);
    assert!((s.lr(100) - 0.1).abs() < 1e-12, "past the end: the floor");
}

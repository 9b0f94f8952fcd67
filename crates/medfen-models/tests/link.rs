//! Proves the libtorch link end to end on CPU: a small network trains to near-zero loss
//! on a separable problem, its checkpoint round-trips through safetensors, and bad
//! checkpoints are refused with errors that name the file.

use medfen_models::{DeviceChoice, Error, checkpoint};
use tch::nn::{self, ModuleT, OptimizerConfig};
use tch::{Device, Kind, Reduction, Tensor};

/// Two interleaved half-moons: separable, but not by a straight line.
fn moons(n: usize) -> (Tensor, Tensor) {
    let mut xs = Vec::with_capacity(2 * n);
    let mut ys = Vec::with_capacity(n);
    for i in 0..n {
        let t = std::f32::consts::PI * (i / 2) as f32 / (n / 2) as f32;
        if i % 2 == 0 {
            xs.extend([t.cos(), t.sin()]);
            ys.push(0.0f32);
        } else {
            xs.extend([1.0 - t.cos(), 0.5 - t.sin()]);
            ys.push(1.0);
        }
    }
    (
        Tensor::from_slice(&xs).reshape([n as i64, 2]),
        Tensor::from_slice(&ys).reshape([n as i64, 1]),
    )
}

fn mlp(p: &nn::Path<'_>) -> impl ModuleT + use<> {
    nn::seq_t()
        .add(nn::linear(p / "fc1", 2, 32, nn::LinearConfig::default()))
        .add(nn::batch_norm1d(
            p / "bn1",
            32,
            nn::BatchNormConfig::default(),
        ))
        .add_fn(Tensor::relu)
        .add(nn::linear(p / "fc2", 32, 32, nn::LinearConfig::default()))
        .add_fn(Tensor::relu)
        .add(nn::linear(p / "out", 32, 1, nn::LinearConfig::default()))
}

#[test]
fn trains_saves_and_reloads_identically() {
    tch::manual_seed(7);
    let device = DeviceChoice::Cpu.resolve().unwrap();
    let (x, y) = moons(256);
    let vs = nn::VarStore::new(device);
    let net = mlp(&vs.root());
    let mut opt = nn::Adam::default().build(&vs, 1e-2).unwrap();
    let loss_of = |train| {
        net.forward_t(&x, train)
            .binary_cross_entropy_with_logits::<Tensor>(&y, None, None, Reduction::Mean)
    };
    let initial = loss_of(false).double_value(&[]);
    for _ in 0..600 {
        opt.backward_step(&loss_of(true));
    }
    let final_loss = tch::no_grad(|| loss_of(false)).double_value(&[]);
    assert!(
        initial > 0.5,
        "untrained loss should be near ln 2, got {initial}"
    );
    assert!(
        final_loss < 0.02,
        "training did not converge: loss {final_loss}"
    );
    let accuracy = tch::no_grad(|| {
        net.forward_t(&x, false)
            .gt(0.0)
            .to_kind(Kind::Float)
            .eq_tensor(&y)
            .to_kind(Kind::Float)
            .mean(Kind::Float)
            .double_value(&[])
    });
    assert!((accuracy - 1.0).abs() < f64::EPSILON, "accuracy {accuracy}");

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ckpt").join("best.safetensors");
    checkpoint::save(&vs, &path).unwrap();
    let leftovers: Vec<_> = std::fs::read_dir(path.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        leftovers,
        vec![std::ffi::OsString::from("best.safetensors")]
    );

    tch::manual_seed(99); // a different initialisation, overwritten by the load
    let mut fresh_vs = nn::VarStore::new(Device::Cpu);
    let fresh = mlp(&fresh_vs.root());
    let before = tch::no_grad(|| fresh.forward_t(&x, false));
    checkpoint::load(&mut fresh_vs, &path).unwrap();
    let original = tch::no_grad(|| net.forward_t(&x, false));
    let reloaded = tch::no_grad(|| fresh.forward_t(&x, false));
    assert!(
        !before.equal(&original),
        "fresh model must differ before loading"
    );
    assert!(
        reloaded.equal(&original),
        "reloaded outputs differ from the originals"
    );
    // BatchNorm running statistics are buffers, not trainable weights: they must travel too.
    let mean_of = |v: &nn::VarStore| v.variables()["bn1.running_mean"].shallow_clone();
    assert!(mean_of(&fresh_vs).equal(&mean_of(&vs)));
    assert!(mean_of(&vs).abs().sum(Kind::Float).double_value(&[]) > 0.0);
}

#[test]
fn refuses_wrong_extension_missing_file_and_mismatched_shapes() {
    let dir = tempfile::tempdir().unwrap();
    let vs = nn::VarStore::new(Device::Cpu);
    let _ = nn::linear(vs.root() / "a", 3, 2, nn::LinearConfig::default());

    let pt = dir.path().join("model.pt");
    assert!(matches!(checkpoint::save(&vs, &pt), Err(Error::CheckpointExtension(p)) if p == pt));

    let missing = dir.path().join("missing.safetensors");
    let mut target = nn::VarStore::new(Device::Cpu);
    let _ = nn::linear(target.root() / "a", 3, 2, nn::LinearConfig::default());
    let err = checkpoint::load(&mut target, &missing).unwrap_err();
    assert!(err.to_string().contains("missing.safetensors"), "{err}");

    let saved = dir.path().join("a.safetensors");
    checkpoint::save(&vs, &saved).unwrap();
    let mut wider = nn::VarStore::new(Device::Cpu);
    let _ = nn::linear(wider.root() / "a", 3, 4, nn::LinearConfig::default());
    let err = checkpoint::load(&mut wider, &saved).unwrap_err();
    assert!(matches!(err, Error::CheckpointRead { .. }), "{err}");
    assert!(err.to_string().contains("a.safetensors"), "{err}");
}

//! One type for every network a run can train, with the variables it owns.

use tch::nn::{self, ModuleT};
use tch::{Device, Tensor};

use super::config::ModelSpec;
use crate::nets::{Ear2d, ResNet3d};

/// What a forward pass gives: logits `[B, outputs]` and, for attention models, slice
/// weights `[B, K]`.
#[derive(Debug)]
pub struct Forward {
    /// `[B, outputs]`.
    pub logits: Tensor,
    /// `[B, K]` attention weights (rows sum to 1); `None` for 3D models.
    pub slice_weights: Option<Tensor>,
}

enum Net {
    Ear2d(Box<Ear2d>),
    ResNet3d(Box<ResNet3d>),
}

/// A network and its variables.
pub struct Model {
    /// The variables (weights and BatchNorm buffers).
    pub vs: nn::VarStore,
    net: Net,
    spec: ModelSpec,
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Model({:?})", self.spec)
    }
}

/// Stores every 2D and 3D convolution weight channels-last (NHWC / NDHWC strides, same
/// shapes): oneDNN's convolutions then run without layout reorders and propagate the
/// layout to their outputs (about 15% faster on CPU for the ear2d encoder). Values,
/// checkpoints and results are unchanged.
pub fn to_channels_last(vs: &nn::VarStore) {
    tch::no_grad(|| {
        for (_, mut v) in vs.variables() {
            let cl = match v.dim() {
                4 => v.permute([0, 2, 3, 1]).contiguous().permute([0, 3, 1, 2]),
                5 => v
                    .permute([0, 2, 3, 4, 1])
                    .contiguous()
                    .permute([0, 4, 1, 2, 3]),
                _ => continue,
            };
            v.set_data(&cl);
        }
    });
}

impl Model {
    /// Builds `spec` on `device`, initialised from libtorch's current generator (seed
    /// it first with `tch::manual_seed` for reproducible weights).
    pub fn new(spec: &ModelSpec, device: Device) -> Self {
        let vs = nn::VarStore::new(device);
        let root = vs.root();
        let net = match spec {
            ModelSpec::Ear2d(c) => Net::Ear2d(Box::new(Ear2d::new(&(&root / "ear2d"), c))),
            ModelSpec::ResNet3d(c) => {
                Net::ResNet3d(Box::new(ResNet3d::new(&(&root / "resnet3d"), c)))
            }
        };
        to_channels_last(&vs);
        Self {
            vs,
            net,
            spec: *spec,
        }
    }

    /// The specification it was built from.
    pub fn spec(&self) -> &ModelSpec {
        &self.spec
    }

    /// Runs a `[B, C, K, S, S]` batch (`train` selects dropout and batch statistics).
    pub fn forward(&self, xs: &Tensor, train: bool) -> Forward {
        match &self.net {
            Net::Ear2d(m) => {
                let out = m.forward(xs, train);
                Forward {
                    logits: out.logits,
                    slice_weights: Some(out.slice_weights),
                }
            }
            Net::ResNet3d(m) => Forward {
                logits: m.forward_t(xs, train),
                slice_weights: None,
            },
        }
    }

    /// Number of trainable values.
    pub fn parameters(&self) -> i64 {
        self.vs
            .trainable_variables()
            .iter()
            .map(Tensor::numel)
            .sum::<usize>() as i64
    }
}

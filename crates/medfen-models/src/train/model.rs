//! One type for every network a run can train, with the variables it owns.

use tch::nn;
use tch::{Device, Tensor};

use super::config::ModelSpec;
use crate::nets::{Ear2d, FoldedWeights, Pass, ResNet3d};

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
/// layout to their outputs (about 15% faster on CPU for the ear2d encoder; BatchNorm,
/// ReLU and max-pool then also run their channels-last kernels). Values, checkpoints and
/// results are unchanged.
///
/// The strides are those of PyTorch's `channels_last` formats, also for one input
/// channel (the stem): there a permute-contiguous-permute round trip would give
/// contiguous strides back, and the stem's activations, the largest of the network,
/// would stay channels-first.
pub fn to_channels_last(vs: &nn::VarStore) {
    tch::no_grad(|| {
        for (_, mut v) in vs.variables() {
            let Some(strides) = channels_last_strides(&v.size()) else {
                continue;
            };
            let mut cl = Tensor::empty_strided(v.size(), &strides, (v.kind(), v.device()));
            cl.copy_(&v);
            v.set_data(&cl);
        }
    });
}

/// Channels-last strides of a 4-D (NHWC) or 5-D (NDHWC) shape `[N, C, spatial..]`.
fn channels_last_strides(size: &[i64]) -> Option<Vec<i64>> {
    if !(4..=5).contains(&size.len()) {
        return None;
    }
    let mut strides = vec![1i64; size.len()];
    let mut step = size[1];
    for d in (2..size.len()).rev() {
        strides[d] = step;
        step *= size[d];
    }
    strides[0] = step;
    Some(strides)
}

/// A [`Model`] ready for inference, made by [`Model::for_inference`].
#[derive(Debug)]
pub struct InferenceModel<'m> {
    model: &'m Model,
    folded: FoldedWeights,
}

impl InferenceModel<'_> {
    /// Runs a `[B, C, K, S, S]` batch in evaluation mode.
    pub fn forward(&self, xs: &Tensor) -> Forward {
        self.model.run(xs, Pass::Folded(&self.folded))
    }
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
        self.run(xs, if train { Pass::Train } else { Pass::Eval })
    }

    fn run(&self, xs: &Tensor, pass: Pass<'_>) -> Forward {
        match &self.net {
            Net::Ear2d(m) => {
                let out = m.forward_pass(xs, pass);
                Forward {
                    logits: out.logits,
                    slice_weights: Some(out.slice_weights),
                }
            }
            Net::ResNet3d(m) => Forward {
                logits: m.forward(xs, pass),
                slice_weights: None,
            },
        }
    }

    /// The model ready for inference: BatchNorm folded into the convolutions (computed
    /// now, from the current weights), so no pass over the activations is spent on
    /// BatchNorm. Its outputs
    /// equal [`Model::forward`] with `train = false` up to float round-off. Make it again
    /// after the weights change (a training step, a checkpoint load).
    pub fn for_inference(&self) -> InferenceModel<'_> {
        let folded = match &self.net {
            Net::Ear2d(m) => m.fold(),
            Net::ResNet3d(m) => m.fold(),
        };
        InferenceModel {
            model: self,
            folded,
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

//! The ear2d model: a 2D ResNet encodes each of an ear's K slices, slice features are
//! pooled (gated attention by default, with its weights reported), and a linear head
//! gives the logits.

use serde::{Deserialize, Serialize};
use tch::nn;
use tch::{Kind, Tensor};

use super::attention::{GatedAttention, SlicePooling};
use super::conv_bn::{FoldedWeights, Pass};
use super::resnet2d::{ResNet2d, ResNet2dConfig};
use super::transformer::TransformerPooling;

/// ear2d settings.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Ear2dConfig {
    /// The slice encoder.
    pub encoder: ResNet2dConfig,
    /// The pooling over slices.
    pub pooling: SlicePooling,
    /// Outputs: 1 for a binary task (a logit), C for C classes.
    pub outputs: i64,
    /// Dropout before the head.
    pub dropout: f64,
}

impl Default for Ear2dConfig {
    fn default() -> Self {
        Self {
            encoder: ResNet2dConfig::default(),
            pooling: SlicePooling::GatedAttention { hidden: 128 },
            outputs: 1,
            dropout: 0.2,
        }
    }
}

/// What a forward pass returns.
#[derive(Debug)]
pub struct Ear2dOutput {
    /// `[B, outputs]`.
    pub logits: Tensor,
    /// Slice weights `[B, K]` (rows sum to 1).
    pub slice_weights: Tensor,
}

/// The ear2d network.
#[derive(Debug)]
pub struct Ear2d {
    encoder: ResNet2d,
    attention: Option<GatedAttention>,
    transformer: Option<TransformerPooling>,
    head: nn::Linear,
    config: Ear2dConfig,
}

impl Ear2d {
    /// Builds the variables under `p`.
    pub fn new(p: &nn::Path, config: &Ear2dConfig) -> Self {
        let encoder = ResNet2d::new(&(p / "encoder"), &config.encoder);
        let f = encoder.features();
        let attention = match config.pooling {
            SlicePooling::GatedAttention { hidden } => {
                Some(GatedAttention::new(&(p / "attention"), f, hidden))
            }
            _ => None,
        };
        let transformer = match config.pooling {
            SlicePooling::Transformer {
                layers,
                heads,
                max_slices,
            } => Some(TransformerPooling::new(
                &(p / "transformer"),
                f,
                layers,
                heads,
                max_slices,
            )),
            _ => None,
        };
        Self {
            head: nn::linear(p / "head", f, config.outputs, nn::LinearConfig::default()),
            encoder,
            attention,
            transformer,
            config: *config,
        }
    }

    /// Runs `[B, C, K, H, W]` (the layout of medfen-cache batches) through the model.
    ///
    /// # Panics
    /// When the input does not have five dimensions.
    pub fn forward(&self, xs: &Tensor, train: bool) -> Ear2dOutput {
        self.forward_pass(xs, if train { Pass::Train } else { Pass::Eval })
    }

    /// The encoder's BatchNorm folded into its convolutions, for
    /// [`Ear2d::forward_pass`] with [`Pass::Folded`] (inference only; compute it again
    /// after the weights change).
    pub fn fold(&self) -> FoldedWeights {
        self.encoder.fold()
    }

    /// Like [`Ear2d::forward`], with the encoder run as `pass` says.
    ///
    /// # Panics
    /// When the input does not have five dimensions.
    pub fn forward_pass(&self, xs: &Tensor, pass: Pass<'_>) -> Ear2dOutput {
        let train = pass.train();
        let (b, c, k, h, w) = xs.size5().expect("input [B, C, K, H, W]");
        let slices = xs.permute([0, 2, 1, 3, 4]).reshape([b * k, c, h, w]);
        let features = self.encoder.forward(&slices, pass).reshape([b, k, -1]);
        let (pooled, weights) = match (&self.attention, &self.transformer) {
            (Some(a), _) => a.pool(&features),
            (None, Some(t)) => t.pool(&features, train),
            (None, None) => (
                features.mean_dim(1, false, Kind::Float),
                Tensor::full([b, k], 1.0 / k as f64, (Kind::Float, xs.device())),
            ),
        };
        let logits = pooled.dropout(self.config.dropout, train).apply(&self.head);
        Ear2dOutput {
            logits,
            slice_weights: weights,
        }
    }
}

//! Pooling an ear's K slice features into one: gated attention (Ilse et al., 2018),
//! which also says which slices mattered, or a plain mean.

use serde::{Deserialize, Serialize};
use tch::nn;
use tch::{Kind, Tensor};

/// How slice features are pooled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SlicePooling {
    /// Gated attention with the given hidden size.
    GatedAttention {
        /// Hidden size of the attention network.
        hidden: i64,
    },
    /// The mean over slices (weights 1/K).
    Mean,
    /// A small transformer over the slices with a class token (its last-layer attention
    /// is reported as the weights).
    Transformer {
        /// Encoder layers.
        layers: i64,
        /// Attention heads (must divide the feature size).
        heads: i64,
        /// Largest K the position embeddings cover.
        max_slices: i64,
    },
}

/// Gated attention: `a_k = softmax_k(w · (tanh(V h_k) ⊙ sigmoid(U h_k)))`.
#[derive(Debug)]
pub struct GatedAttention {
    v: nn::Linear,
    u: nn::Linear,
    w: nn::Linear,
}

impl GatedAttention {
    /// Builds the variables under `p` for features of size `features`.
    pub fn new(p: &nn::Path, features: i64, hidden: i64) -> Self {
        Self {
            v: nn::linear(p / "v", features, hidden, nn::LinearConfig::default()),
            u: nn::linear(p / "u", features, hidden, nn::LinearConfig::default()),
            w: nn::linear(p / "w", hidden, 1, nn::LinearConfig::default()),
        }
    }

    /// Pools `[B, K, F]` into `[B, F]` and returns the weights `[B, K]` (rows sum to 1).
    pub fn pool(&self, h: &Tensor) -> (Tensor, Tensor) {
        let gate = h.apply(&self.v).tanh() * h.apply(&self.u).sigmoid();
        let scores = gate.apply(&self.w).squeeze_dim(-1);
        let weights = scores.softmax(-1, Kind::Float);
        let pooled = (h * weights.unsqueeze(-1)).sum_dim_intlist(1, false, Kind::Float);
        (pooled, weights)
    }
}

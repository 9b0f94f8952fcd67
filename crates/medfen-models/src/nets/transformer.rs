//! A small transformer over an ear's K slice features: a learned class token and slice
//! position embeddings, pre-norm encoder layers (multi-head self-attention and a GELU
//! MLP), and the class token's output as the pooled feature. The class token's
//! attention over the slices in the last layer (mean over heads) is reported as the
//! slice weights, like gated attention's.

use tch::nn::{self, Module};
use tch::{Kind, Tensor};

struct Layer {
    norm1: nn::LayerNorm,
    qkv: nn::Linear,
    proj: nn::Linear,
    norm2: nn::LayerNorm,
    fc1: nn::Linear,
    fc2: nn::Linear,
}

/// Transformer pooling over slices.
pub struct TransformerPooling {
    cls: Tensor,
    positions: Tensor,
    layers: Vec<Layer>,
    norm: nn::LayerNorm,
    heads: i64,
    max_slices: i64,
}

impl std::fmt::Debug for TransformerPooling {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "TransformerPooling({} layers, {} heads)",
            self.layers.len(),
            self.heads
        )
    }
}

impl TransformerPooling {
    /// Builds the variables under `p` for `features`-sized slice features, `layers`
    /// encoder layers of `heads` heads, and at most `max_slices` slices.
    ///
    /// # Panics
    /// When `features` is not a multiple of `heads`.
    pub fn new(p: &nn::Path, features: i64, layers: i64, heads: i64, max_slices: i64) -> Self {
        assert_eq!(features % heads, 0, "features must be a multiple of heads");
        let init = nn::Init::Randn {
            mean: 0.0,
            stdev: 0.02,
        };
        let lin = |p: nn::Path, i, o| nn::linear(p, i, o, nn::LinearConfig::default());
        let ln = |p: nn::Path| nn::layer_norm(p, vec![features], nn::LayerNormConfig::default());
        Self {
            cls: p.var("cls", &[1, 1, features], init),
            positions: p.var("positions", &[1, max_slices + 1, features], init),
            layers: (0..layers)
                .map(|i| {
                    let q = p / "layers" / i;
                    Layer {
                        norm1: ln(&q / "norm1"),
                        qkv: lin(&q / "qkv", features, 3 * features),
                        proj: lin(&q / "proj", features, features),
                        norm2: ln(&q / "norm2"),
                        fc1: lin(&q / "fc1", features, 4 * features),
                        fc2: lin(&q / "fc2", 4 * features, features),
                    }
                })
                .collect(),
            norm: ln(p / "norm"),
            heads,
            max_slices,
        }
    }

    /// Pools `[B, K, F]` into `[B, F]` and returns the class token's last-layer
    /// attention over the slices `[B, K]` (rows sum to 1).
    ///
    /// # Panics
    /// When K exceeds the `max_slices` given at construction.
    pub fn pool(&self, h: &Tensor, train: bool) -> (Tensor, Tensor) {
        let (b, k, f) = h.size3().expect("[B, K, F] slice features");
        assert!(
            k <= self.max_slices,
            "{k} slices > max_slices {}",
            self.max_slices
        );
        let d = f / self.heads;
        let mut x = Tensor::cat(&[self.cls.expand([b, 1, f], false), h.shallow_clone()], 1)
            + self.positions.narrow(1, 0, k + 1);
        let mut weights = Tensor::full([b, k], 1.0 / k as f64, (Kind::Float, h.device()));
        for layer in &self.layers {
            let qkv = layer
                .norm1
                .forward(&x)
                .apply(&layer.qkv)
                .reshape([b, k + 1, 3, self.heads, d])
                .permute([2, 0, 3, 1, 4]);
            let (q, kk, v) = (qkv.get(0), qkv.get(1), qkv.get(2));
            let attn =
                (q.matmul(&kk.transpose(-2, -1)) / (d as f64).sqrt()).softmax(-1, Kind::Float);
            // class token (query 0) over the slices (keys 1..), mean over heads
            let cls_attn = attn
                .select(2, 0)
                .narrow(2, 1, k)
                .mean_dim(1, false, Kind::Float);
            weights = &cls_attn / cls_attn.sum_dim_intlist(1, true, Kind::Float);
            let mixed = attn
                .dropout(0.0, train)
                .matmul(&v)
                .permute([0, 2, 1, 3])
                .reshape([b, k + 1, f])
                .apply(&layer.proj);
            x = &x + mixed; // not `+=`: in place would break autograd (LayerNorm saved x)
            let mlp = layer
                .norm2
                .forward(&x)
                .apply(&layer.fc1)
                .gelu("none")
                .apply(&layer.fc2);
            x = &x + mlp;
        }
        (self.norm.forward(&x.select(1, 0)), weights)
    }
}

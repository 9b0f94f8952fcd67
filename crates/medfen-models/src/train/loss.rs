//! Losses over the ears that take part in the task (masked ears contribute nothing),
//! with the class statistics of the training ears for re-weighting.

use tch::{Kind, Reduction, Tensor};

use super::config::{LossSpec, PosWeight};
use crate::data::masked_mean;

/// A loss ready to apply: the spec plus the weights computed from training counts.
#[derive(Debug)]
pub struct Loss {
    spec: LossSpec,
    pos_weight: Option<Tensor>,
    class_weights: Option<Tensor>,
}

/// The weights a loss uses, as recorded in the run report.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct LossWeights {
    /// BCE positive weight.
    pub pos_weight: Option<f64>,
    /// CE class weights.
    pub class_weights: Option<Vec<f64>>,
}

impl Loss {
    /// The loss of `spec` for training ears with `counts[c]` ears of class `c` (binary:
    /// `[negatives, positives]`).
    pub fn new(spec: LossSpec, counts: &[usize], device: tch::Device) -> (Self, LossWeights) {
        #[allow(clippy::cast_precision_loss)]
        let counts_f: Vec<f64> = counts.iter().map(|&c| c as f64).collect();
        let total: f64 = counts_f.iter().sum();
        let pos_weight = match spec {
            LossSpec::Bce {
                pos_weight: PosWeight::Auto,
            } => Some(counts_f[0] / counts_f.get(1).copied().unwrap_or(0.0).max(1.0)),
            LossSpec::Bce {
                pos_weight: PosWeight::Value(w),
            } => Some(w),
            _ => None,
        };
        let class_weights = match spec {
            LossSpec::Ce {
                class_weights: true,
                ..
            } => {
                #[allow(clippy::cast_precision_loss)]
                let c = counts_f.len() as f64;
                Some(
                    counts_f
                        .iter()
                        .map(|&n| if n > 0.0 { total / (c * n) } else { 0.0 })
                        .collect::<Vec<f64>>(),
                )
            }
            _ => None,
        };
        let to_t = |v: &[f64]| {
            let f: Vec<f32> = v.iter().map(|&x| x as f32).collect();
            Tensor::from_slice(&f).to_device(device)
        };
        (
            Self {
                spec,
                pos_weight: pos_weight.map(|w| to_t(&[w])),
                class_weights: class_weights.as_deref().map(to_t),
            },
            LossWeights {
                pos_weight,
                class_weights,
            },
        )
    }

    /// The mean loss over unmasked ears of `logits` `[B, outputs]` against `targets`
    /// (binary: float 0/1 `[B]`; classes: int64 `[B]`); 0 when every ear is masked.
    pub fn compute(&self, logits: &Tensor, targets: &Tensor, mask: &Tensor) -> Tensor {
        let logits = logits.to_kind(Kind::Float);
        match self.spec {
            LossSpec::Bce { .. } => {
                let z = logits.squeeze_dim(1);
                let per = z.binary_cross_entropy_with_logits::<&Tensor>(
                    targets,
                    None,
                    self.pos_weight.as_ref(),
                    Reduction::None,
                );
                masked_mean(&per, mask)
            }
            LossSpec::Focal { gamma, alpha } => {
                let z = logits.squeeze_dim(1);
                let bce = z.binary_cross_entropy_with_logits::<&Tensor>(
                    targets,
                    None,
                    None,
                    Reduction::None,
                );
                let p_t: Tensor = (-&bce).exp();
                let mut per: Tensor = p_t.neg().g_add_scalar(1.0).pow_tensor_scalar(gamma) * &bce;
                if let Some(a) = alpha {
                    let a_t = targets * a + (1.0 - targets) * (1.0 - a);
                    per *= a_t;
                }
                masked_mean(&per, mask)
            }
            LossSpec::Ce {
                label_smoothing, ..
            } => {
                let per = logits.cross_entropy_loss::<&Tensor>(
                    targets,
                    None,
                    Reduction::None,
                    -100,
                    label_smoothing,
                );
                match &self.class_weights {
                    // PyTorch's weighted mean: sum(w_y * l) / sum(w_y) over the ears used.
                    Some(w) => {
                        let wy = w.index_select(0, targets) * mask.to_kind(Kind::Float);
                        (per * &wy).sum(Kind::Float) / wy.sum(Kind::Float).clamp_min(1e-12)
                    }
                    None => masked_mean(&per, mask),
                }
            }
        }
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::config::PosWeight;
    use tch::Device;

    fn value(t: &Tensor) -> f64 {
        t.double_value(&[])
    }

    fn close(a: f64, b: f64) {
        assert!((a - b).abs() < 1e-5, "{a} != {b}");
    }

    #[test]
    fn bce_weighs_positives_and_ignores_masked_ears() {
        let logits = Tensor::from_slice(&[0.0f32, 2.0, -1.0]).reshape([3, 1]);
        let y = Tensor::from_slice(&[1.0f32, 0.0, 1.0]);
        let mask = Tensor::from_slice(&[true, true, false]);
        let spec = LossSpec::Bce {
            pos_weight: PosWeight::Auto,
        };
        // 30 negatives, 10 positives: pos_weight 3
        let (loss, w) = Loss::new(spec, &[30, 10], Device::Cpu);
        assert_eq!(w.pos_weight, Some(3.0));
        let ln2 = std::f64::consts::LN_2;
        let softplus2 = (1.0 + 2f64.exp()).ln();
        close(
            value(&loss.compute(&logits, &y, &mask)),
            f64::midpoint(3.0 * ln2, softplus2),
        );
        // every ear masked: 0, not NaN
        let none = Tensor::from_slice(&[false, false, false]);
        close(value(&loss.compute(&logits, &y, &none)), 0.0);
    }

    #[test]
    fn focal_loss_is_bce_at_gamma_0_and_down_weights_easy_ears() {
        let logits = Tensor::from_slice(&[0.0f32, 3.0]).reshape([2, 1]);
        let y = Tensor::from_slice(&[1.0f32, 1.0]);
        let mask = Tensor::from_slice(&[true, true]);
        let bce = Loss::new(
            LossSpec::Bce {
                pos_weight: PosWeight::None,
            },
            &[1, 1],
            Device::Cpu,
        )
        .0;
        let f0 = Loss::new(
            LossSpec::Focal {
                gamma: 0.0,
                alpha: None,
            },
            &[1, 1],
            Device::Cpu,
        )
        .0;
        close(
            value(&f0.compute(&logits, &y, &mask)),
            value(&bce.compute(&logits, &y, &mask)),
        );
        let f2 = Loss::new(
            LossSpec::Focal {
                gamma: 2.0,
                alpha: Some(0.25),
            },
            &[1, 1],
            Device::Cpu,
        )
        .0;
        let p3 = 1.0 / (1.0 + (-3f64).exp());
        let want = 0.25 * (0.25 * std::f64::consts::LN_2 + (1.0 - p3).powi(2) * -p3.ln()) / 2.0;
        close(value(&f2.compute(&logits, &y, &mask)), want);
    }

    #[test]
    fn cross_entropy_class_weights_follow_pytorch_weighted_mean() {
        let logits = Tensor::from_slice(&[0.0f32, 0.0, 2.0, 0.0, 0.0, 1.0]).reshape([3, 2]);
        let y = Tensor::from_slice(&[0i64, 1, 1]);
        let mask = Tensor::from_slice(&[true, true, false]);
        // 30 ears of class 0, 10 of class 1: weights 40/(2*30), 40/(2*10)
        let (loss, w) = Loss::new(
            LossSpec::Ce {
                label_smoothing: 0.0,
                class_weights: true,
            },
            &[30, 10],
            Device::Cpu,
        );
        let cw = w.class_weights.unwrap();
        close(cw[0], 40.0 / 60.0);
        close(cw[1], 2.0);
        let l0 = std::f64::consts::LN_2;
        let l1 = (1.0 + 2f64.exp()).ln();
        close(
            value(&loss.compute(&logits, &y, &mask)),
            (cw[0] * l0 + cw[1] * l1) / (cw[0] + cw[1]),
        );
        // label smoothing 0.2 on two classes: targets 0.9 / 0.1
        let smooth = Loss::new(
            LossSpec::Ce {
                label_smoothing: 0.2,
                class_weights: false,
            },
            &[1, 1],
            Device::Cpu,
        )
        .0;
        let one = Tensor::from_slice(&[true, false, false]);
        // ear 0: logits (0, 0) -> -log p = ln 2 for both classes
        close(value(&smooth.compute(&logits, &y, &one)), l0);
    }
}

//! A dynamic loss scaler for fp16 training (PyTorch's `GradScaler` rules): the loss is
//! multiplied by `scale` before backward; gradients are divided by it before the step;
//! a step whose gradients overflow is skipped and the scale halved; after
//! `growth_interval` good steps the scale doubles. Disabled, it is the identity.

use serde::{Deserialize, Serialize};

use crate::optim::AdamW;

/// The scaler's state (saved in `state.json` so a resume continues with the same scale).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LossScaler {
    enabled: bool,
    scale: f64,
    good_steps: u64,
    growth_interval: u64,
}

impl LossScaler {
    /// A scaler starting at 2^16 when `enabled`; the identity otherwise.
    pub fn new(enabled: bool) -> Self {
        Self {
            enabled,
            scale: if enabled { 65536.0 } else { 1.0 },
            good_steps: 0,
            growth_interval: 2000,
        }
    }

    /// The factor applied to the loss.
    pub fn scale(&self) -> f64 {
        self.scale
    }

    /// Divides the gradients of `opt` by the scale and says whether the step may be
    /// taken (false: an overflow; the caller skips it, the scale is halved).
    pub fn unscale_and_check(&mut self, opt: &mut AdamW) -> bool {
        if !self.enabled {
            return true;
        }
        opt.scale_grads(1.0 / self.scale);
        if opt.grad_norm().is_finite() {
            self.good_steps += 1;
            if self.good_steps >= self.growth_interval {
                self.scale *= 2.0;
                self.good_steps = 0;
            }
            true
        } else {
            self.scale = (self.scale / 2.0).max(1.0);
            self.good_steps = 0;
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::nn;

    #[test]
    fn overflow_halves_the_scale_and_is_skipped_while_finite_grads_pass_unscaled() {
        let vs = nn::VarStore::new(tch::Device::Cpu);
        let w = vs.root().var("w", &[2], nn::Init::Const(1.0));
        let mut opt = AdamW::new(&vs, 0.0);
        let mut s = LossScaler::new(true);
        // finite: grads of 65536 * sum(3 w) are 3 * 65536, unscaled to 3
        (w.sum(tch::Kind::Float) * 3.0 * s.scale()).backward();
        assert!(s.unscale_and_check(&mut opt));
        assert_eq!(Vec::<f32>::try_from(&w.grad()).unwrap(), vec![3.0, 3.0]);
        assert_eq!(s.scale(), 65536.0);
        opt.zero_grad();
        // overflow
        (w.sum(tch::Kind::Float) * f64::INFINITY).backward();
        assert!(!s.unscale_and_check(&mut opt));
        assert_eq!(s.scale(), 32768.0);
        // disabled: identity
        let mut off = LossScaler::new(false);
        assert_eq!(off.scale(), 1.0);
        assert!(off.unscale_and_check(&mut opt));
    }
}

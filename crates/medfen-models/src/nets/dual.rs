//! The dual per-exam form: both ears of an exam through one shared ear2d backbone and
//! head (the right ear arrives mirrored, so one head serves both sides), giving a
//! `[B, 2, outputs]` logit per exam. Training on exams with this form and masking the
//! ear whose code is not in the task gives the same loss as training on ears.

use tch::Tensor;
use tch::nn;

use super::ear2d::{Ear2d, Ear2dConfig};

/// What a dual forward pass returns.
#[derive(Debug)]
pub struct DualOutput {
    /// `[B, 2, outputs]`: index 0 the patient's left ear, 1 the right.
    pub logits: Tensor,
    /// `[B, 2, K]` slice weights.
    pub slice_weights: Tensor,
}

/// Two ears, one backbone.
#[derive(Debug)]
pub struct DualEar2d {
    ear: Ear2d,
}

impl DualEar2d {
    /// Builds the shared ear2d under `p`.
    pub fn new(p: &nn::Path, config: &Ear2dConfig) -> Self {
        Self {
            ear: Ear2d::new(p, config),
        }
    }

    /// Runs `[B, 2, C, K, H, W]` (left, right) through the shared model.
    ///
    /// # Panics
    /// When the input does not have six dimensions with 2 ears.
    pub fn forward(&self, xs: &Tensor, train: bool) -> DualOutput {
        let size = xs.size();
        assert!(size.len() == 6 && size[1] == 2, "input [B, 2, C, K, H, W]");
        let b = size[0];
        let ears = xs.reshape([b * 2, size[2], size[3], size[4], size[5]]);
        let out = self.ear.forward(&ears, train);
        DualOutput {
            logits: out.logits.reshape([b, 2, -1]),
            slice_weights: out.slice_weights.reshape([b, 2, -1]),
        }
    }
}

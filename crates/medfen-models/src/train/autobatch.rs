//! The auto-batch probe: tries forward + backward at growing batch sizes and returns
//! the largest that ran, then restores every variable (weights and BatchNorm running
//! statistics) and clears the gradients, so the model is exactly as before (the
//! original probed on the live model and trained with corrupted BatchNorm statistics).

use std::panic::{AssertUnwindSafe, catch_unwind};

use tch::{Kind, Tensor};

use super::model::Model;
use crate::error::{Error, Result};

/// The largest of `candidates` (tried in increasing order, stopping at the first
/// failure, e.g. out of memory) for samples of shape `[C, K, S, S]`.
///
/// # Errors
/// [`Error::Config`] when even the smallest candidate fails.
pub fn probe_batch_size(model: &Model, sample: [i64; 4], candidates: &[usize]) -> Result<usize> {
    let device = model.vs.device();
    let snapshot: Vec<(Tensor, Tensor)> = tch::no_grad(|| {
        model
            .vs
            .variables()
            .into_values()
            .map(|t| {
                let copy = t.detach().copy();
                (t, copy)
            })
            .collect()
    });
    let mut sizes = candidates.to_vec();
    sizes.sort_unstable();
    let mut best = None;
    for &b in &sizes {
        let shape = [b as i64, sample[0], sample[1], sample[2], sample[3]];
        let ok = catch_unwind(AssertUnwindSafe(|| {
            let xs = Tensor::rand(shape, (Kind::Float, device));
            let out = model.forward(&xs, true);
            out.logits.sum(Kind::Float).backward();
        }))
        .is_ok();
        if !ok {
            break;
        }
        best = Some(b);
    }
    tch::no_grad(|| {
        for (live, saved) in &snapshot {
            let mut live = live.shallow_clone();
            live.copy_(saved);
            let mut g = live.grad();
            if g.defined() {
                let _ = g.zero_();
            }
        }
    });
    best.ok_or_else(|| {
        Error::Config(format!(
            "auto batch: even a batch of {} does not fit on {device:?}",
            sizes.first().copied().unwrap_or(0)
        ))
    })
}

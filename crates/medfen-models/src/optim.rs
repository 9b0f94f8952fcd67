//! An AdamW optimizer whose state medfen owns (so `--resume` restores the moments and
//! the step count exactly), and a warmup + cosine learning-rate schedule counted in
//! optimizer steps, so gradient accumulation does not stretch the warmup or leave the
//! cosine unfinished (the original's B8).
//!
//! Weight decay applies to tensors with two or more dimensions (convolution and linear
//! weights), never to biases or normalisation parameters.

use std::path::Path;

use tch::nn::VarStore;
use tch::{Kind, Tensor};

use crate::error::{Error, Result};

/// Linear warmup to `peak_lr`, then a cosine to `min_lr` at `total_steps`.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Schedule {
    /// Learning rate at the end of the warmup.
    pub peak_lr: f64,
    /// Learning rate at the last step.
    pub min_lr: f64,
    /// Optimizer steps of warmup.
    pub warmup_steps: u64,
    /// Optimizer steps in the whole run.
    pub total_steps: u64,
}

impl Schedule {
    /// The schedule of a run of `epochs` epochs of `batches` batches with gradients
    /// accumulated over `accumulate` batches: `ceil(batches / accumulate)` optimizer
    /// steps per epoch.
    ///
    /// ```
    /// use medfen_models::optim::Schedule;
    /// let s = Schedule::for_run(1e-3, 0.0, 10, 100, 4, 1.0);
    /// assert_eq!(s.total_steps, 250); // 25 optimizer steps per epoch, not 100
    /// assert_eq!(s.warmup_steps, 25);
    /// assert!((s.lr(24) - 1e-3).abs() < 1e-12); // warmup ends at its last step
    /// assert!(s.lr(249) < 1e-6);                // the cosine reaches the floor
    /// ```
    pub fn for_run(
        peak_lr: f64,
        min_lr: f64,
        epochs: u64,
        batches: u64,
        accumulate: u64,
        warmup_epochs: f64,
    ) -> Self {
        let per_epoch = batches.div_ceil(accumulate.max(1));
        let warmup_steps = (warmup_epochs * per_epoch as f64).round() as u64;
        Self {
            peak_lr,
            min_lr,
            warmup_steps,
            total_steps: (epochs * per_epoch).max(1),
        }
    }

    /// Learning rate of optimizer step `step` (0-based).
    pub fn lr(&self, step: u64) -> f64 {
        if step < self.warmup_steps {
            return self.peak_lr * (step + 1) as f64 / self.warmup_steps as f64;
        }
        let span = self.total_steps.saturating_sub(self.warmup_steps).max(1);
        let done = (step - self.warmup_steps).min(span - 1);
        let t = if span <= 1 {
            1.0
        } else {
            done as f64 / (span - 1) as f64
        };
        self.min_lr + (self.peak_lr - self.min_lr) * 0.5 * (1.0 + (std::f64::consts::PI * t).cos())
    }
}

struct Param {
    name: String,
    tensor: Tensor,
    m: Tensor,
    v: Tensor,
    decay: bool,
}

/// AdamW (decoupled weight decay, bias-corrected moments) over a var store's trainable
/// variables.
pub struct AdamW {
    params: Vec<Param>,
    step: u64,
    /// First-moment decay.
    pub beta1: f64,
    /// Second-moment decay.
    pub beta2: f64,
    /// Denominator epsilon.
    pub eps: f64,
    /// Decoupled weight decay (on weights with two or more dimensions).
    pub weight_decay: f64,
}

impl std::fmt::Debug for AdamW {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "AdamW({} tensors, step {})",
            self.params.len(),
            self.step
        )
    }
}

impl AdamW {
    /// AdamW over the trainable variables of `vs` (PyTorch defaults: betas 0.9/0.999,
    /// eps 1e-8).
    pub fn new(vs: &VarStore, weight_decay: f64) -> Self {
        let mut vars: Vec<(String, Tensor)> = vs
            .variables()
            .into_iter()
            .filter(|(_, t)| t.requires_grad())
            .collect();
        vars.sort_by(|a, b| a.0.cmp(&b.0));
        let params = vars
            .into_iter()
            .map(|(name, tensor)| Param {
                decay: tensor.dim() >= 2,
                m: tensor.zeros_like(),
                v: tensor.zeros_like(),
                name,
                tensor,
            })
            .collect();
        Self {
            params,
            step: 0,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay,
        }
    }

    /// Optimizer steps taken.
    pub fn steps(&self) -> u64 {
        self.step
    }

    /// Names of the tensors that are decayed and of those that are not.
    pub fn groups(&self) -> (Vec<&str>, Vec<&str>) {
        let (d, n): (Vec<&Param>, Vec<&Param>) = self.params.iter().partition(|p| p.decay);
        (
            d.iter().map(|p| p.name.as_str()).collect(),
            n.iter().map(|p| p.name.as_str()).collect(),
        )
    }

    /// Clears the gradients.
    pub fn zero_grad(&mut self) {
        for p in &mut self.params {
            let mut g = p.tensor.grad();
            if g.defined() {
                let _ = g.zero_();
            }
        }
    }

    /// Multiplies every gradient by `factor` (used to unscale fp16 loss-scaled
    /// gradients, or to average accumulated gradients).
    pub fn scale_grads(&mut self, factor: f64) {
        tch::no_grad(|| {
            for p in &mut self.params {
                let mut g = p.tensor.grad();
                if g.defined() {
                    let _ = g.g_mul_scalar_(factor);
                }
            }
        });
    }

    /// The global L2 norm of the gradients (infinite or NaN when any gradient is).
    pub fn grad_norm(&self) -> f64 {
        tch::no_grad(|| {
            let mut total = 0.0f64;
            for p in &self.params {
                let g = p.tensor.grad();
                if g.defined() {
                    let n = g.to_kind(Kind::Float).norm().double_value(&[]);
                    total += n * n;
                }
            }
            total.sqrt()
        })
    }

    /// Scales the gradients so their global L2 norm is at most `max_norm` (PyTorch's
    /// `clip_grad_norm_`); returns the norm before clipping. Non-finite norms are left
    /// for the caller (the fp16 scaler skips such steps).
    pub fn clip_grad_norm(&mut self, max_norm: f64) -> f64 {
        let norm = self.grad_norm();
        if norm.is_finite() && norm > max_norm {
            self.scale_grads(max_norm / (norm + 1e-6));
        }
        norm
    }

    /// One update with learning rate `lr` from the accumulated gradients.
    pub fn step(&mut self, lr: f64) {
        self.step += 1;
        let t = self.step as i32;
        let c1 = 1.0 - self.beta1.powi(t);
        let c2 = 1.0 - self.beta2.powi(t);
        tch::no_grad(|| {
            for p in &mut self.params {
                let g = p.tensor.grad();
                if !g.defined() {
                    continue;
                }
                if p.decay && self.weight_decay > 0.0 {
                    let _ = p.tensor.g_mul_scalar_(1.0 - lr * self.weight_decay);
                }
                // In place, as PyTorch's single-tensor AdamW: two temporaries per
                // tensor instead of seven (the step is memory bound on large models).
                let _ = p.m.lerp_(&g, 1.0 - self.beta1);
                let _ = p.v.lerp_(&(&g * &g), 1.0 - self.beta2);
                if lr == 0.0 {
                    continue; // moments advance; nothing moves
                }
                // p -= lr / c1 * m / (sqrt(v / c2) + eps), as p += m / denom with
                // denom = (sqrt(v) / sqrt(c2) + eps) * (-c1 / lr), in two passes.
                let scale = -c1 / lr;
                let mut denom = p.v.sqrt();
                let _ = denom.g_mul_scalar_(scale / c2.sqrt());
                let _ = denom.g_add_scalar_(self.eps * scale);
                let _ = p.tensor.addcdiv_(&p.m, &denom);
            }
        });
    }

    /// Saves the moments and the step count (safetensors), atomically.
    ///
    /// # Errors
    /// Write failures, naming the file.
    pub fn save(&self, path: &Path) -> Result<()> {
        let mut tensors: Vec<(String, Tensor)> = Vec::with_capacity(2 * self.params.len() + 1);
        tensors.push(("step".into(), Tensor::from_slice(&[self.step as i64])));
        for p in &self.params {
            tensors.push((format!("m.{}", p.name), p.m.contiguous()));
            tensors.push((format!("v.{}", p.name), p.v.contiguous()));
        }
        let tmp = path.with_extension("tmp.safetensors");
        Tensor::write_safetensors(&tensors, &tmp).map_err(|source| Error::CheckpointWrite {
            path: path.to_path_buf(),
            source,
        })?;
        std::fs::rename(&tmp, path).map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })
    }

    /// Restores the moments and the step count saved by [`AdamW::save`].
    ///
    /// # Errors
    /// A missing file, or a state for other parameters (names or shapes).
    pub fn load(&mut self, path: &Path) -> Result<()> {
        let read = |reason: String| Error::CheckpointRead {
            path: path.to_path_buf(),
            source: tch::TchError::FileFormat(reason),
        };
        let tensors: std::collections::HashMap<String, Tensor> = Tensor::read_safetensors(path)
            .map_err(|e| read(e.to_string()))?
            .into_iter()
            .collect();
        let step = tensors
            .get("step")
            .ok_or_else(|| read("no `step`".into()))?;
        let step = step.to_kind(Kind::Int64).int64_value(&[0]);
        tch::no_grad(|| -> Result<()> {
            for p in &mut self.params {
                for (prefix, dst) in [("m", &mut p.m), ("v", &mut p.v)] {
                    let key = format!("{prefix}.{}", p.name);
                    let src = tensors
                        .get(&key)
                        .ok_or_else(|| read(format!("no `{key}`")))?;
                    if src.size() != dst.size() {
                        return Err(read(format!(
                            "`{key}` has shape {:?}, the model {:?}",
                            src.size(),
                            dst.size()
                        )));
                    }
                    dst.copy_(src);
                }
            }
            Ok(())
        })?;
        self.step = u64::try_from(step).map_err(|_| read("negative step".into()))?;
        Ok(())
    }
}

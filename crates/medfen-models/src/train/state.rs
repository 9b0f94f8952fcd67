//! Where a run is (`state.json`), one line per epoch (`metrics.jsonl`), and the
//! resumable snapshot of weights and optimizer state (`resume/<slot>/`).
//!
//! `state.json` is written last, so a crash leaves the previous consistent state: the
//! snapshot it names is complete, and an older snapshot is removed only after it.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::config::Precision;
use super::model::Model;
use super::scaler::LossScaler;
use super::scores::QuickMetrics;
use crate::checkpoint;
use crate::error::{Error, Result};
use crate::optim::AdamW;

/// One epoch's summary (a line of `metrics.jsonl`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochSummary {
    /// Epoch (1-based).
    pub epoch: u64,
    /// Mean training loss over the epoch's ears in the task.
    pub train_loss: f64,
    /// Learning rate at the epoch's last optimizer step.
    pub lr: f64,
    /// Optimizer steps taken so far.
    pub optimizer_steps: u64,
    /// Validation metrics.
    pub val: QuickMetrics,
    /// The monitored value.
    pub monitored: Option<f64>,
    /// True when this epoch is the best so far (its weights are `best.safetensors`).
    pub best: bool,
    /// Training ears per second (forward + backward + step).
    pub ears_per_s: f64,
    /// Fraction of the epoch's training time spent waiting for batches.
    pub data_wait_fraction: f64,
    /// Steps skipped by the fp16 loss scaler (overflow).
    pub skipped_steps: u64,
    /// Wall seconds of the epoch (training and validation).
    pub seconds: f64,
}

/// Where a run is; `state.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainState {
    /// Epochs completed.
    pub epoch: u64,
    /// Batches done in the current epoch (mid-epoch checkpoints; 0 at epoch ends).
    pub batch: u64,
    /// Optimizer steps taken.
    pub optimizer_steps: u64,
    /// Training-loss sum and ear count of the current, partial epoch.
    pub partial_loss: (f64, u64),
    /// Best monitored value and its epoch.
    pub best: Option<(f64, u64)>,
    /// Validation loss of the best epoch (breaks ties of the monitored metric, which
    /// are common for AUROC once it reaches 1 on a small validation set).
    #[serde(default)]
    pub best_loss: Option<f64>,
    /// Epochs since the best one.
    pub epochs_without_improvement: u64,
    /// True once the run has finished (all epochs or early stop).
    pub finished: bool,
    /// Why the run stopped, when it has.
    pub stop_reason: Option<String>,
    /// fp16 loss scaler state.
    pub scaler: LossScaler,
    /// Folder (relative to the run) with `model.safetensors` and `optimizer.safetensors`.
    pub resume_dir: String,
    /// Every finished epoch.
    pub history: Vec<EpochSummary>,
}

impl TrainState {
    /// The state of a run that has not started.
    pub fn new(precision: Precision) -> Self {
        Self {
            epoch: 0,
            batch: 0,
            optimizer_steps: 0,
            partial_loss: (0.0, 0),
            best: None,
            best_loss: None,
            epochs_without_improvement: 0,
            finished: false,
            stop_reason: None,
            scaler: LossScaler::new(precision == Precision::Fp16),
            resume_dir: String::new(),
            history: Vec::new(),
        }
    }

    /// Reads `state.json` of `run` and restores the weights and optimizer state of the
    /// snapshot it names.
    ///
    /// # Errors
    /// A missing or unreadable state or snapshot, or a snapshot that disagrees with it.
    pub fn resume(run: &Path, model: &mut Model, opt: &mut AdamW) -> Result<Self> {
        let state: Self = medfen_io::read_json(&run.join("state.json"))?;
        let dir = run.join(&state.resume_dir);
        checkpoint::load(&mut model.vs, &dir.join("model.safetensors"))?;
        opt.load(&dir.join("optimizer.safetensors"))?;
        if opt.steps() != state.optimizer_steps {
            return Err(Error::data(
                &dir,
                format!(
                    "optimizer state at step {} but state.json says {}",
                    opt.steps(),
                    state.optimizer_steps
                ),
            ));
        }
        tracing::info!(
            epoch = state.epoch,
            batch = state.batch,
            steps = state.optimizer_steps,
            "resuming"
        );
        Ok(state)
    }

    /// Writes a resumable snapshot (weights, optimizer) into a new slot, then
    /// `state.json` naming it (and `metrics.jsonl` when the history changed), then
    /// removes the previous slot.
    ///
    /// # Errors
    /// I/O and libtorch errors naming the file.
    pub fn save(
        &mut self,
        run: &Path,
        model: &Model,
        opt: &AdamW,
        history_changed: bool,
    ) -> Result<()> {
        let slot = format!(
            "resume/e{:04}-b{:06}-s{:08}",
            self.epoch, self.batch, self.optimizer_steps
        );
        let dir = run.join(&slot);
        std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        checkpoint::save(&model.vs, &dir.join("model.safetensors"))?;
        opt.save(&dir.join("optimizer.safetensors"))?;
        let previous = std::mem::replace(&mut self.resume_dir, slot);
        medfen_io::write_json(&run.join("state.json"), self)?;
        if history_changed {
            self.write_history(run)?;
        }
        if !previous.is_empty() && previous != self.resume_dir {
            let _ = std::fs::remove_dir_all(run.join(previous));
        }
        Ok(())
    }

    fn write_history(&self, run: &Path) -> Result<()> {
        let mut lines = String::new();
        for e in &self.history {
            lines.push_str(&serde_json::to_string(e).map_err(|e| Error::data(run, e))?);
            lines.push('\n');
        }
        Ok(medfen_io::write_durably(
            &run.join("metrics.jsonl"),
            lines.as_bytes(),
        )?)
    }
}

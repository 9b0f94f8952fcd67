//! Running a model over cache records without gradients: logits, probabilities and
//! attention weights per ear, and the validation metrics of an epoch.

use std::sync::Arc;

use medfen_cache::{Augment, CacheReader, EpochPosition, Loader};
use medfen_tasks::{Task, TaskKind};
use serde::{Deserialize, Serialize};
use tch::{Device, Kind};

use super::config::Precision;
use super::ears::CachedEar;
use super::loss::Loss;
use super::model::Model;
use crate::data::{batch_inputs, task_targets};
use crate::error::Result;

/// A model's output for one ear.
#[derive(Debug, Clone, PartialEq)]
pub struct EarScore {
    /// Record index.
    pub record: usize,
    /// Probabilities: one (positive class) for binary tasks, C for C classes.
    pub probs: Vec<f64>,
    /// Attention weights over the K slices (empty for models without attention).
    pub slice_weights: Vec<f32>,
}

/// The window (no randomness) used for evaluation: the training augmentation's
/// window and extra channels.
pub fn eval_window(train: &Augment) -> Augment {
    let mut a = Augment::eval(train.window_level, train.window_width);
    a.extra_windows.clone_from(&train.extra_windows);
    a
}

/// Runs `model` over `ears` in evaluation mode; returns one score per ear (in order)
/// and the mean masked loss when `loss` is given.
///
/// # Errors
/// libtorch errors.
#[allow(clippy::too_many_arguments)]
pub fn score_ears(
    model: &Model,
    reader: &Arc<CacheReader>,
    ears: &[CachedEar],
    window: &Augment,
    task: &Task,
    loss: Option<&Loss>,
    batch_size: usize,
    precision: Precision,
    device: Device,
) -> Result<(Vec<EarScore>, Option<f64>)> {
    let order: Vec<usize> = ears.iter().map(|e| e.record).collect();
    let mut loader = Loader::start(
        Arc::clone(reader),
        order,
        batch_size,
        window.clone(),
        EpochPosition::start(0, 0),
        2,
    );
    let binary = matches!(task.kind, TaskKind::Binary { .. });
    let mut out = Vec::with_capacity(ears.len());
    let (mut loss_sum, mut loss_n) = (0.0f64, 0usize);
    let mut at = 0usize;
    let inference = model.for_inference();
    while let Some(batch) = loader.next() {
        let n = batch.records.len();
        let chunk = &ears[at..at + n];
        at += n;
        let xs = batch_inputs(&batch, device);
        loader.recycle(batch);
        let (probs, weights, batch_loss) = tch::no_grad(|| -> Result<_> {
            let fwd = super::autocast(precision, device, || inference.forward(&xs))?;
            let logits = fwd.logits.to_kind(Kind::Float);
            let batch_loss = loss.map(|l| {
                let codes: Vec<Option<u8>> = chunk.iter().map(|e| e.code).collect();
                let (y, mask) = task_targets(&codes, task, device);
                let used = chunk.iter().filter(|e| e.target(task).is_some()).count();
                (l.compute(&logits, &y, &mask).double_value(&[]), used)
            });
            let probs = if binary {
                logits.sigmoid()
            } else {
                logits.softmax(-1, Kind::Float)
            };
            Ok((
                probs.to_kind(Kind::Double).to_device(Device::Cpu),
                fwd.slice_weights
                    .map(|w| w.to_kind(Kind::Float).to_device(Device::Cpu)),
                batch_loss,
            ))
        })?;
        if let Some((l, used)) = batch_loss {
            {
                loss_sum += l * used as f64;
            }
            loss_n += used;
        }
        let probs: Vec<f64> = Vec::<f64>::try_from(probs.flatten(0, -1))?;
        let weights: Option<Vec<f32>> = weights
            .map(|w| Vec::<f32>::try_from(w.flatten(0, -1)))
            .transpose()?;
        let per = probs.len() / n;
        let k = weights.as_ref().map_or(0, |w| w.len() / n);
        for (j, ear) in chunk.iter().enumerate() {
            out.push(EarScore {
                record: ear.record,
                probs: probs[j * per..(j + 1) * per].to_vec(),
                slice_weights: weights
                    .as_ref()
                    .map(|w| w[j * k..(j + 1) * k].to_vec())
                    .unwrap_or_default(),
            });
        }
    }
    let mean_loss = (loss.is_some() && loss_n > 0).then(|| loss_sum / loss_n as f64);
    Ok((out, mean_loss))
}

/// Quick validation metrics of one epoch (no bootstrap; `medfen eval` gives the full
/// report).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct QuickMetrics {
    /// Ears in the task.
    pub n: usize,
    /// Mean masked loss.
    pub loss: Option<f64>,
    /// AUROC (binary).
    pub auroc: Option<f64>,
    /// Average precision (binary).
    pub average_precision: Option<f64>,
    /// Accuracy (binary at 0.5; multi-class argmax).
    pub accuracy: Option<f64>,
    /// Macro-F1 (binary: F1 of the two classes averaged; multi-class over classes).
    pub macro_f1: Option<f64>,
}

impl QuickMetrics {
    /// The value of `monitor`.
    pub fn get(&self, monitor: super::config::Monitor) -> Option<f64> {
        use super::config::Monitor;
        match monitor {
            Monitor::Auroc => self.auroc,
            Monitor::AveragePrecision => self.average_precision,
            Monitor::MacroF1 => self.macro_f1,
            Monitor::Accuracy => self.accuracy,
            Monitor::Loss => self.loss,
        }
    }
}

/// The targets of the ears that take part in `task` and their positions in `ears`.
pub fn task_rows(ears: &[CachedEar], task: &Task) -> (Vec<u8>, Vec<usize>) {
    let mut targets = Vec::new();
    let mut rows = Vec::new();
    for (i, e) in ears.iter().enumerate() {
        if let Some(t) = e.target(task) {
            targets.push(t);
            rows.push(i);
        }
    }
    (targets, rows)
}

/// Computes [`QuickMetrics`] of `scores` (in the order of `ears`).
///
/// # Errors
/// Metric input errors (never for well-formed scores).
pub fn quick_metrics(
    ears: &[CachedEar],
    scores: &[EarScore],
    task: &Task,
    loss: Option<f64>,
) -> Result<QuickMetrics> {
    let (targets, rows) = task_rows(ears, task);
    let mut m = QuickMetrics {
        n: rows.len(),
        loss,
        ..QuickMetrics::default()
    };
    if rows.is_empty() {
        return Ok(m);
    }
    let c = task.num_classes();
    if c == 2 && scores[rows[0]].probs.len() == 1 {
        let labels: Vec<bool> = targets.iter().map(|&t| t == 1).collect();
        let probs: Vec<f64> = rows.iter().map(|&i| scores[i].probs[0]).collect();
        m.auroc = medfen_metrics::auroc(&labels, &probs).ok();
        m.average_precision = medfen_metrics::average_precision(&labels, &probs).ok();
        let pred: Vec<usize> = probs.iter().map(|&p| usize::from(p >= 0.5)).collect();
        let truth: Vec<usize> = targets.iter().map(|&t| usize::from(t)).collect();
        let r = medfen_metrics::multiclass_report(&truth, &pred, 2, None)?;
        m.accuracy = Some(r.accuracy);
        m.macro_f1 = r.macro_avg.f1;
    } else {
        let probs: Vec<f64> = rows
            .iter()
            .flat_map(|&i| scores[i].probs.iter().copied())
            .collect();
        let pred = medfen_metrics::argmax_rows(&probs, c)?;
        let truth: Vec<usize> = targets.iter().map(|&t| usize::from(t)).collect();
        let r = medfen_metrics::multiclass_report(&truth, &pred, c, Some(&probs))?;
        m.accuracy = Some(r.accuracy);
        m.macro_f1 = r.macro_avg.f1;
        m.auroc = r.macro_avg.auroc_ovr;
    }
    Ok(m)
}

/// Top-`k` slices by attention weight: `(slice position, weight)`, heaviest first.
pub fn top_slices(weights: &[f32], k: usize) -> Vec<(usize, f32)> {
    let mut idx: Vec<(usize, f32)> = weights.iter().copied().enumerate().collect();
    idx.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    idx.truncate(k);
    idx
}

//! From medfen-cache batches (plain buffers) to tensors, and from diagnosis codes to a
//! task's targets with the mask of ears outside the task.

use medfen_cache::Batch;
use medfen_tasks::{Task, TaskKind};
use tch::{Device, Kind, Tensor};

/// The batch's values as a `[B, C, K, S, S]` float tensor on `device`.
pub fn batch_inputs(batch: &Batch, device: Device) -> Tensor {
    let shape: Vec<i64> = batch.shape.iter().map(|&d| d as i64).collect();
    Tensor::from_slice(&batch.data)
        .reshape(shape)
        .to_device(device)
}

/// Targets of `codes` for `task` and the mask of ears that take part (an ear without a
/// label, or with a code outside the task, is masked out of the loss and the metrics).
/// Binary tasks give float targets 0/1 (`[B]`), six-class gives class ids (`[B]`,
/// int64); masked entries hold 0.
///
/// ```
/// use medfen_models::data::task_targets;
/// use medfen_tasks::TaskRegistry;
/// let tasks = TaskRegistry::builtin();
/// let task = tasks.resolve("normal_vs_diseased").unwrap();
/// let (y, mask) = task_targets(&[Some(5), Some(2), Some(6), None], task, tch::Device::Cpu);
/// assert_eq!(Vec::<f32>::try_from(&y).unwrap(), vec![0.0, 1.0, 0.0, 0.0]);
/// assert_eq!(Vec::<bool>::try_from(&mask).unwrap(), vec![true, true, false, false]);
/// ```
pub fn task_targets(codes: &[Option<u8>], task: &Task, device: Device) -> (Tensor, Tensor) {
    let targets: Vec<Option<u8>> = codes.iter().map(|c| task.target(*c)).collect();
    let mask: Vec<bool> = targets.iter().map(Option::is_some).collect();
    let y = match task.kind {
        TaskKind::Binary { .. } => {
            let v: Vec<f32> = targets.iter().map(|t| f32::from(t.unwrap_or(0))).collect();
            Tensor::from_slice(&v)
        }
        TaskKind::SixClass => {
            let v: Vec<i64> = targets.iter().map(|t| i64::from(t.unwrap_or(0))).collect();
            Tensor::from_slice(&v)
        }
    };
    (
        y.to_device(device),
        Tensor::from_slice(&mask).to_device(device),
    )
}

/// The mean of `losses` (`[B]`) over the unmasked entries; 0 (with a gradient path) when
/// every entry is masked, never NaN (the original's B5).
pub fn masked_mean(losses: &Tensor, mask: &Tensor) -> Tensor {
    let m = mask.to_kind(Kind::Float);
    let n = m.sum(Kind::Float).clamp_min(1.0);
    (losses * &m).sum(Kind::Float) / n
}

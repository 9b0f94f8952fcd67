//! The prediction table of an evaluation: one [`Prediction`] per ear of the split, in
//! the common schema.

use medfen_tasks::{Prediction, PredictionTable, Thresholds, TopSlice, round_mm};

use super::Evaluation;
use crate::train::top_slices;

/// The heaviest `top_k` attention slices of an ear, with the source slice index and
/// z of each (the record's `source_slices` and `z_mm`, one per slice).
pub(crate) fn top_slices_of(
    weights: &[f32],
    top_k: usize,
    source_slices: &[usize],
    z_mm: &[f64],
) -> Vec<TopSlice> {
    top_slices(weights, top_k)
        .into_iter()
        .map(|(k, weight)| TopSlice {
            slice: k,
            weight,
            source_slice: source_slices.get(k).copied(),
            z_mm: z_mm.get(k).map(|z| round_mm(*z)),
        })
        .collect()
}

/// Every ear's prediction with the predicted classes `y_pred` and, for binary tasks,
/// the thresholds that made them.
pub(super) fn prediction_table(
    ev: &Evaluation,
    y_pred: &[usize],
    thresholds: Option<&Thresholds>,
) -> PredictionTable {
    let index = ev.reader.index();
    let binary = ev.binary();
    let rows = ev
        .ears
        .iter()
        .zip(&ev.scores)
        .zip(y_pred)
        .map(|((ear, score), &pred)| {
            let placement = &index[score.record].placement;
            let target = ear.target(&ev.task);
            Prediction {
                exam_id: Some(ear.exam_id),
                side: ear.side,
                source: None,
                patient_key: Some(ear.patient_key.clone()),
                code: ear.code,
                in_task: Some(target.is_some()),
                y_true: target,
                y_pred: pred,
                probs: score.probs.clone(),
                threshold: thresholds.map(|t| t.operating.threshold),
                top_slices: top_slices_of(
                    &score.slice_weights,
                    ev.config.top_k,
                    &placement.slice_indices,
                    &placement.z_mm,
                ),
            }
        })
        .collect();
    PredictionTable {
        class_names: if binary {
            Vec::new()
        } else {
            ev.task.class_names.clone()
        },
        top_k: ev.config.top_k,
        rows,
    }
}

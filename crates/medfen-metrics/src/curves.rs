//! ROC and precision-recall curves over every distinct threshold.

use serde::Serialize;

use crate::error::{Error, Result};
use crate::ranked::{RankedScores, Tally};

/// Points of the ROC curve, from (0, 0) at threshold +∞ to (1, 1) at the lowest score.
///
/// One point per distinct score (scikit-learn's `roc_curve(drop_intermediate=False)`);
/// `thresholds[0]` is `f64::INFINITY` (written as `null` in JSON).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RocCurve {
    /// False-positive rate at each threshold.
    pub fpr: Vec<f64>,
    /// True-positive rate (sensitivity) at each threshold.
    pub tpr: Vec<f64>,
    /// Threshold of each point (positive means `score >= threshold`), descending.
    pub thresholds: Vec<f64>,
}

/// Points of the precision-recall curve, from (recall 0, precision 1) at threshold +∞
/// down to the lowest score.
///
/// The same points as scikit-learn's `precision_recall_curve`, in the opposite order.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PrCurve {
    /// Recall (sensitivity) at each threshold.
    pub recall: Vec<f64>,
    /// Precision at each threshold (1 at the starting point).
    pub precision: Vec<f64>,
    /// Threshold of each point, descending; `thresholds[0]` is `f64::INFINITY`.
    pub thresholds: Vec<f64>,
}

/// The ROC curve of `labels` and `scores`.
///
/// # Errors
/// Input validation errors; [`Error::SingleClass`] when a class is absent.
pub fn roc_curve(labels: &[bool], scores: &[f64]) -> Result<RocCurve> {
    let ranked = RankedScores::new(labels, scores)?;
    roc_curve_tally(&ranked.tally(), ranked.distinct_scores()).ok_or(Error::SingleClass {
        metric: "ROC curve",
        n_pos: ranked.n_pos(),
        n_neg: ranked.n_neg(),
    })
}

/// The precision-recall curve of `labels` and `scores`.
///
/// # Errors
/// Input validation errors; [`Error::SingleClass`] when there are no positives.
pub fn pr_curve(labels: &[bool], scores: &[f64]) -> Result<PrCurve> {
    let ranked = RankedScores::new(labels, scores)?;
    pr_curve_tally(&ranked.tally(), ranked.distinct_scores()).ok_or(Error::SingleClass {
        metric: "precision-recall curve",
        n_pos: ranked.n_pos(),
        n_neg: ranked.n_neg(),
    })
}

pub(crate) fn roc_curve_tally(t: &Tally, distinct: &[f64]) -> Option<RocCurve> {
    let (p, n) = (t.total_pos(), t.total_neg());
    if p <= 0.0 || n <= 0.0 {
        return None;
    }
    let mut curve = RocCurve {
        fpr: vec![0.0],
        tpr: vec![0.0],
        thresholds: vec![f64::INFINITY],
    };
    let (mut tp, mut fp) = (0.0, 0.0);
    for ((pos, neg), &thr) in t.pos.iter().zip(&t.neg).zip(distinct) {
        tp += pos;
        fp += neg;
        curve.fpr.push(fp / n);
        curve.tpr.push(tp / p);
        curve.thresholds.push(thr);
    }
    Some(curve)
}

pub(crate) fn pr_curve_tally(t: &Tally, distinct: &[f64]) -> Option<PrCurve> {
    let p = t.total_pos();
    if p <= 0.0 {
        return None;
    }
    let mut curve = PrCurve {
        recall: vec![0.0],
        precision: vec![1.0],
        thresholds: vec![f64::INFINITY],
    };
    let (mut tp, mut fp) = (0.0, 0.0);
    for ((pos, neg), &thr) in t.pos.iter().zip(&t.neg).zip(distinct) {
        tp += pos;
        fp += neg;
        curve.recall.push(tp / p);
        curve
            .precision
            .push(if tp + fp > 0.0 { tp / (tp + fp) } else { 0.0 });
        curve.thresholds.push(thr);
    }
    Some(curve)
}

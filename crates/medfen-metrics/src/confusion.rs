//! Confusion-matrix metrics at a threshold.

use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::ranked::{RankedScores, Tally};

/// Counts of a binary confusion matrix. A sample is predicted positive when
/// `score >= threshold`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ConfusionCounts {
    /// True positives.
    pub tp: u64,
    /// False positives.
    pub fp: u64,
    /// True negatives.
    pub tn: u64,
    /// False negatives.
    #[serde(rename = "fn")]
    pub fn_: u64,
}

/// Metrics derived from a confusion matrix. `None` means undefined (a zero
/// denominator), never silently 0.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct ConfusionMetrics {
    /// (TP + TN) / n.
    pub accuracy: Option<f64>,
    /// TP / (TP + FP) (positive predictive value); undefined with no positive calls.
    pub precision: Option<f64>,
    /// TP / (TP + FN) (recall); undefined without positives.
    pub sensitivity: Option<f64>,
    /// TN / (TN + FP); undefined without negatives.
    pub specificity: Option<f64>,
    /// TN / (TN + FN) (negative predictive value); undefined with no negative calls.
    pub npv: Option<f64>,
    /// 2TP / (2TP + FP + FN); undefined only when TP = FP = FN = 0.
    pub f1: Option<f64>,
    /// (sensitivity + specificity) / 2; undefined when either is.
    pub balanced_accuracy: Option<f64>,
    /// Matthews correlation coefficient; undefined when a row or column of the matrix is
    /// empty.
    pub mcc: Option<f64>,
}

impl ConfusionCounts {
    /// Counts at `threshold` (positive when `score >= threshold`).
    ///
    /// # Errors
    /// Input validation errors of [`RankedScores::new`].
    ///
    /// # Examples
    /// ```
    /// use medfen_metrics::ConfusionCounts;
    /// let c = ConfusionCounts::at_threshold(&[true, true, false, false], &[0.9, 0.3, 0.6, 0.1], 0.5)?;
    /// assert_eq!((c.tp, c.fp, c.tn, c.fn_), (1, 1, 1, 1));
    /// assert_eq!(c.metrics().sensitivity, Some(0.5));
    /// # Ok::<(), medfen_metrics::Error>(())
    /// ```
    pub fn at_threshold(labels: &[bool], scores: &[f64], threshold: f64) -> Result<Self> {
        let ranked = RankedScores::new(labels, scores)?;
        Ok(Self::from_weighted(counts_at(
            &ranked.tally(),
            ranked.distinct_scores(),
            threshold,
        )))
    }

    /// Number of samples.
    pub fn total(&self) -> u64 {
        self.tp + self.fp + self.tn + self.fn_
    }

    /// The metrics of these counts.
    pub fn metrics(&self) -> ConfusionMetrics {
        WeightedCounts {
            tp: self.tp as f64,
            fp: self.fp as f64,
            tn: self.tn as f64,
            fn_: self.fn_ as f64,
        }
        .metrics()
    }

    pub(crate) fn from_weighted(w: WeightedCounts) -> Self {
        Self {
            tp: w.tp.round() as u64,
            fp: w.fp.round() as u64,
            tn: w.tn.round() as u64,
            fn_: w.fn_.round() as u64,
        }
    }
}

/// Confusion counts with real-valued (bootstrap) weights.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub(crate) struct WeightedCounts {
    pub tp: f64,
    pub fp: f64,
    pub tn: f64,
    pub fn_: f64,
}

fn ratio(num: f64, den: f64) -> Option<f64> {
    (den > 0.0).then(|| num / den)
}

impl WeightedCounts {
    /// The counts of a tally whose called-positive groups hold `tp` positives and `fp`
    /// negatives.
    fn from_calls(t: &Tally, tp: f64, fp: f64) -> Self {
        Self {
            tp,
            fp,
            tn: t.total_neg() - fp,
            fn_: t.total_pos() - tp,
        }
    }

    pub(crate) fn metrics(&self) -> ConfusionMetrics {
        let Self { tp, fp, tn, fn_ } = *self;
        let sensitivity = ratio(tp, tp + fn_);
        let specificity = ratio(tn, tn + fp);
        let mcc_den = (tp + fp) * (tp + fn_) * (tn + fp) * (tn + fn_);
        ConfusionMetrics {
            accuracy: ratio(tp + tn, tp + fp + tn + fn_),
            precision: ratio(tp, tp + fp),
            sensitivity,
            specificity,
            npv: ratio(tn, tn + fn_),
            f1: ratio(2.0 * tp, 2.0 * tp + fp + fn_),
            balanced_accuracy: sensitivity.zip(specificity).map(|(a, b)| 0.5 * (a + b)),
            mcc: (mcc_den > 0.0).then(|| (tp * tn - fp * fn_) / mcc_den.sqrt()),
        }
    }
}

/// Counts when the first `k` groups (highest scores) are called positive.
pub(crate) fn counts_top_groups(t: &Tally, k: usize) -> WeightedCounts {
    let tp = t.pos[..k].iter().fold(0.0, |a, b| a + b);
    let fp = t.neg[..k].iter().fold(0.0, |a, b| a + b);
    WeightedCounts::from_calls(t, tp, fp)
}

/// Counts at each of the ascending group counts `ks`, in one pass over the groups
/// (each equal to [`counts_top_groups`] at that count).
pub(crate) fn counts_at_cuts(t: &Tally, ks: &[usize], out: &mut Vec<WeightedCounts>) {
    out.clear();
    let (mut tp, mut fp) = (0.0, 0.0);
    let mut g = 0;
    for &k in ks {
        while g < k {
            tp += t.pos[g];
            fp += t.neg[g];
            g += 1;
        }
        out.push(WeightedCounts::from_calls(t, tp, fp));
    }
}

/// Counts at `threshold`: groups whose score is `>= threshold` are called positive.
pub(crate) fn counts_at(t: &Tally, distinct: &[f64], threshold: f64) -> WeightedCounts {
    counts_top_groups(t, distinct.partition_point(|&s| s >= threshold))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn undefined_is_none_not_zero() {
        let all_neg_calls = ConfusionCounts {
            tp: 0,
            fp: 0,
            tn: 5,
            fn_: 3,
        }
        .metrics();
        assert_eq!(all_neg_calls.precision, None);
        assert_eq!(all_neg_calls.mcc, None);
        assert_eq!(all_neg_calls.f1, Some(0.0));
        assert_eq!(all_neg_calls.sensitivity, Some(0.0));
        let m = ConfusionCounts {
            tp: 6,
            fp: 2,
            tn: 10,
            fn_: 2,
        }
        .metrics();
        let mcc = (60.0 - 4.0) / (8.0f64 * 8.0 * 12.0 * 12.0).sqrt();
        assert!((m.mcc.unwrap() - mcc).abs() < 1e-15);
        assert_eq!(m.balanced_accuracy, Some(0.5 * (0.75 + 10.0 / 12.0)));
    }

    #[test]
    fn threshold_is_inclusive_and_ties_move_together() {
        let c = ConfusionCounts::at_threshold(&[true, false, true], &[0.5, 0.5, 0.4], 0.5).unwrap();
        assert_eq!(
            c,
            ConfusionCounts {
                tp: 1,
                fp: 1,
                tn: 0,
                fn_: 1
            }
        );
    }
}

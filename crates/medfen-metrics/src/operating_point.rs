//! Sensitivity at a target specificity, and specificity at a target sensitivity.

use serde::{Deserialize, Serialize};

use crate::confusion::{ConfusionCounts, counts_top_groups};
use crate::error::{Error, Result, check_unit};
use crate::ranked::{RankedScores, Tally, just_above};

/// An operating point on the ROC curve, with the threshold that produces it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct OperatingPoint {
    /// The target rate that was asked for.
    pub target: f64,
    /// Positive when `score >= threshold`; apply it unchanged to other data.
    pub threshold: f64,
    /// Sensitivity at the threshold.
    pub sensitivity: f64,
    /// Specificity at the threshold.
    pub specificity: f64,
    /// The confusion counts at the threshold.
    pub counts: ConfusionCounts,
}

/// Relative slack for floating-point targets: (1 - 0.9) * 10 is 0.9999999999999998.
const SLACK: f64 = 1e-9;

/// The highest sensitivity whose specificity is at least `target`: at most
/// `floor((1 - target) * n_neg)` false positives, at the lowest threshold that allows.
///
/// The threshold is one of the scores (or just above the highest score when not even
/// the top score can be called positive). Tied scores are never split.
///
/// # Errors
/// Input validation errors; [`Error::InvalidParameter`] for a target outside [0, 1];
/// [`Error::SingleClass`] when a class is absent.
///
/// # Examples
/// ```
/// // 10 negatives: 95% specificity allows floor(0.5) = 0 false positives, so the
/// // threshold must sit above the highest negative (0.8): only the 0.9 positive is caught.
/// let labels = [true, true, true, false, false, false, false, false, false, false, false, false, false];
/// let scores = [0.9, 0.7, 0.6, 0.8, 0.5, 0.4, 0.3, 0.3, 0.2, 0.2, 0.1, 0.1, 0.0];
/// let op = medfen_metrics::sensitivity_at_specificity(&labels, &scores, 0.95)?;
/// assert_eq!(op.threshold, 0.9);
/// assert!((op.sensitivity - 1.0 / 3.0).abs() < 1e-15);
/// // 90% allows one false positive: everything down to 0.6 is called positive.
/// let op = medfen_metrics::sensitivity_at_specificity(&labels, &scores, 0.90)?;
/// assert_eq!((op.threshold, op.sensitivity, op.counts.fp), (0.6, 1.0, 1));
/// # Ok::<(), medfen_metrics::Error>(())
/// ```
pub fn sensitivity_at_specificity(
    labels: &[bool],
    scores: &[f64],
    target_specificity: f64,
) -> Result<OperatingPoint> {
    check_unit("target specificity", target_specificity)?;
    let ranked = RankedScores::new(labels, scores)?;
    require_both(&ranked, "sensitivity at specificity")?;
    let t = ranked.tally();
    let k = groups_for_specificity(&t, target_specificity);
    Ok(point(&t, ranked.distinct_scores(), k, target_specificity))
}

/// The highest specificity whose sensitivity is at least `target`: at least
/// `ceil(target * n_pos)` true positives, at the highest threshold that gives them.
///
/// # Errors
/// As [`sensitivity_at_specificity`].
///
/// # Examples
/// ```
/// let labels = [true, true, false, true, false];
/// let scores = [0.9, 0.8, 0.7, 0.6, 0.1];
/// // 2/3 sensitivity needs 2 true positives: threshold 0.8, no false positive.
/// let op = medfen_metrics::specificity_at_sensitivity(&labels, &scores, 0.6)?;
/// assert_eq!((op.threshold, op.specificity), (0.8, 1.0));
/// // All three positives: threshold 0.6, one false positive.
/// let op = medfen_metrics::specificity_at_sensitivity(&labels, &scores, 1.0)?;
/// assert_eq!((op.threshold, op.specificity), (0.6, 0.5));
/// # Ok::<(), medfen_metrics::Error>(())
/// ```
pub fn specificity_at_sensitivity(
    labels: &[bool],
    scores: &[f64],
    target_sensitivity: f64,
) -> Result<OperatingPoint> {
    check_unit("target sensitivity", target_sensitivity)?;
    let ranked = RankedScores::new(labels, scores)?;
    require_both(&ranked, "specificity at sensitivity")?;
    let t = ranked.tally();
    let k = groups_for_sensitivity(&t, target_sensitivity);
    Ok(point(&t, ranked.distinct_scores(), k, target_sensitivity))
}

fn require_both(ranked: &RankedScores, metric: &'static str) -> Result<()> {
    if ranked.n_pos() == 0 || ranked.n_neg() == 0 {
        return Err(Error::SingleClass {
            metric,
            n_pos: ranked.n_pos(),
            n_neg: ranked.n_neg(),
        });
    }
    Ok(())
}

/// Number of top groups to call positive for the best sensitivity at a specificity of
/// at least `target`.
pub(crate) fn groups_for_specificity(t: &Tally, target: f64) -> usize {
    best_sensitivity_at_specificity(t, target).0
}

/// (groups called positive, true positives) for the best sensitivity at a specificity
/// of at least `target`, in one pass.
pub(crate) fn best_sensitivity_at_specificity(t: &Tally, target: f64) -> (usize, f64) {
    let n = t.total_neg();
    let allowed_fp = ((1.0 - target) * n + SLACK * n.max(1.0)).floor();
    let (mut fp, mut tp, mut best_tp) = (0.0, 0.0, 0.0);
    let mut k = 0;
    for (g, (pos, neg)) in t.pos.iter().zip(&t.neg).enumerate() {
        fp += neg;
        tp += pos;
        if fp > allowed_fp {
            break;
        }
        k = g + 1;
        best_tp = tp;
    }
    (k, best_tp)
}

/// Number of top groups to call positive for the best specificity at a sensitivity of
/// at least `target`.
pub(crate) fn groups_for_sensitivity(t: &Tally, target: f64) -> usize {
    let p = t.total_pos();
    let needed_tp = (target * p - SLACK * p.max(1.0)).ceil();
    if needed_tp <= 0.0 {
        return 0;
    }
    let mut tp = 0.0;
    for (g, pos) in t.pos.iter().enumerate() {
        tp += pos;
        if tp >= needed_tp {
            return g + 1;
        }
    }
    t.pos.len()
}

/// The threshold that calls the top `k` groups positive.
pub(crate) fn threshold_for_groups(distinct: &[f64], k: usize) -> f64 {
    if k == 0 {
        just_above(distinct[0])
    } else {
        distinct[k - 1]
    }
}

fn point(t: &Tally, distinct: &[f64], k: usize, target: f64) -> OperatingPoint {
    let w = counts_top_groups(t, k);
    let m = w.metrics();
    OperatingPoint {
        target,
        threshold: threshold_for_groups(distinct, k),
        sensitivity: m.sensitivity.unwrap_or(0.0),
        specificity: m.specificity.unwrap_or(0.0),
        counts: ConfusionCounts::from_weighted(w),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allows_exactly_floor_false_positives() {
        // 100 negatives scored 0..=99, 10 positives scored 94.5..=103.5, interleaved at the top.
        let mut labels = vec![false; 100];
        let mut scores: Vec<f64> = (0..100).map(f64::from).collect();
        labels.extend([true; 10]);
        scores.extend((0..10).map(|i| 94.5 + f64::from(i)));
        let op = sensitivity_at_specificity(&labels, &scores, 0.95).unwrap();
        // 95%: 5 false positives allowed (negatives 95..=99); the lowest threshold keeping
        // them at 5 is the positive at 94.5, just above the sixth-highest negative (94).
        assert_eq!(op.counts.fp, 5);
        assert_eq!(op.threshold, 94.5);
        assert_eq!(op.counts.tp, 10);
        // One less false positive allowed (96%): 4 FPs.
        let op = sensitivity_at_specificity(&labels, &scores, 0.96).unwrap();
        assert_eq!(op.counts.fp, 4);
        assert_eq!(op.threshold, 95.5);
        assert_eq!(op.counts.tp, 9);
    }

    #[test]
    fn targets_of_zero_and_one() {
        let labels = [true, false, true, false];
        let scores = [0.8, 0.9, 0.3, 0.1];
        let op = sensitivity_at_specificity(&labels, &scores, 1.0).unwrap();
        assert_eq!(op.threshold, 0.9f64.next_up());
        assert_eq!((op.sensitivity, op.specificity), (0.0, 1.0));
        let op = specificity_at_sensitivity(&labels, &scores, 0.0).unwrap();
        assert_eq!(op.counts.tp + op.counts.fp, 0);
        let op = sensitivity_at_specificity(&labels, &scores, 0.0).unwrap();
        assert_eq!((op.threshold, op.sensitivity), (0.1, 1.0));
        assert!(sensitivity_at_specificity(&labels, &scores, 1.5).is_err());
        assert!(matches!(
            sensitivity_at_specificity(&[true, true], &[0.1, 0.2], 0.9),
            Err(Error::SingleClass { n_neg: 0, .. })
        ));
    }
}

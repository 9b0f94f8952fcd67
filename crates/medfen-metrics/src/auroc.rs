//! Area under the ROC curve (Mann-Whitney U with midranks for ties).

use crate::error::{Error, Result};
use crate::ranked::{RankedScores, Tally};

/// AUROC: the probability that a random positive scores above a random negative, ties
/// counting one half. Identical to scikit-learn's `roc_auc_score` (trapezoidal area
/// over distinct thresholds).
///
/// # Errors
/// Input validation errors of [`RankedScores::new`]; [`Error::SingleClass`] when
/// either class is absent.
///
/// # Examples
/// ```
/// // 3 positives and 2 negatives: of the 6 pairs, 5 are ordered correctly and one
/// // (positive 0.4 vs negative 0.4) is tied: (5 + 0.5) / 6.
/// let labels = [true, true, true, false, false];
/// let scores = [0.9, 0.8, 0.4, 0.4, 0.1];
/// let auc = medfen_metrics::auroc(&labels, &scores)?;
/// assert!((auc - 5.5 / 6.0).abs() < 1e-15);
/// # Ok::<(), medfen_metrics::Error>(())
/// ```
pub fn auroc(labels: &[bool], scores: &[f64]) -> Result<f64> {
    let ranked = RankedScores::new(labels, scores)?;
    auroc_ranked(&ranked)
}

/// AUROC of already ranked scores.
///
/// # Errors
/// [`Error::SingleClass`] when either class is absent.
pub fn auroc_ranked(ranked: &RankedScores) -> Result<f64> {
    auroc_tally(&ranked.tally()).ok_or(Error::SingleClass {
        metric: "AUROC",
        n_pos: ranked.n_pos(),
        n_neg: ranked.n_neg(),
    })
}

/// AUROC of a (possibly weighted) tally; `None` when a class has zero weight.
pub(crate) fn auroc_tally(t: &Tally) -> Option<f64> {
    let (p, n) = (t.total_pos(), t.total_neg());
    if p <= 0.0 || n <= 0.0 {
        return None;
    }
    // Walk from the lowest score up, so "negatives strictly below" is a running sum.
    let mut neg_below = 0.0;
    let mut u = 0.0;
    for (pos, neg) in t.pos.iter().zip(&t.neg).rev() {
        u += pos * (neg_below + 0.5 * neg);
        neg_below += neg;
    }
    Some(u / (p * n))
}

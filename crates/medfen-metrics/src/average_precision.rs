//! Average precision (area under the precision-recall curve, step-wise).

use crate::error::{Error, Result};
use crate::ranked::{RankedScores, Tally};

/// Average precision with scikit-learn's definition and tie semantics:
/// `AP = Σ (R_k - R_{k-1}) P_k` over the distinct score thresholds, highest first. Tied
/// scores form one threshold, so the result does not depend on input order.
///
/// # Errors
/// Input validation errors of [`RankedScores::new`]; [`Error::SingleClass`] when there
/// are no positives (with positives but no negatives AP is 1).
///
/// # Examples
/// ```
/// // Descending: 0.9 (+), 0.8 (-), 0.7 (+). Recall steps of 1/2 at precisions 1 and 2/3.
/// let ap = medfen_metrics::average_precision(&[true, false, true], &[0.9, 0.8, 0.7])?;
/// assert!((ap - (0.5 * 1.0 + 0.5 * 2.0 / 3.0)).abs() < 1e-15);
/// # Ok::<(), medfen_metrics::Error>(())
/// ```
pub fn average_precision(labels: &[bool], scores: &[f64]) -> Result<f64> {
    let ranked = RankedScores::new(labels, scores)?;
    average_precision_ranked(&ranked)
}

/// Average precision of already ranked scores.
///
/// # Errors
/// [`Error::SingleClass`] when there are no positives.
pub fn average_precision_ranked(ranked: &RankedScores) -> Result<f64> {
    average_precision_tally(&ranked.tally()).ok_or(Error::SingleClass {
        metric: "average precision",
        n_pos: ranked.n_pos(),
        n_neg: ranked.n_neg(),
    })
}

/// Average precision of a (possibly weighted) tally; `None` without positive weight.
pub(crate) fn average_precision_tally(t: &Tally) -> Option<f64> {
    let total_pos = t.total_pos();
    if total_pos <= 0.0 {
        return None;
    }
    let (mut tp, mut fp, mut ap) = (0.0, 0.0, 0.0);
    for (pos, neg) in t.pos.iter().zip(&t.neg) {
        tp += pos;
        fp += neg;
        if *pos > 0.0 {
            ap += (pos / total_pos) * (tp / (tp + fp));
        }
    }
    Some(ap)
}

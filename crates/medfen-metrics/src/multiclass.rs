//! Multi-class reports: confusion matrix, per-class metrics, averages, one-vs-rest AUROC/AP.

use serde::{Deserialize, Serialize};

use crate::auroc::auroc_tally;
use crate::average_precision::average_precision_tally;
use crate::error::{Error, Result, check_len};
use crate::ranked::RankedScores;

/// Metrics of one class against all others.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassMetrics {
    /// Class index.
    pub class: usize,
    /// Samples whose true class this is.
    pub support: u64,
    /// Samples predicted as this class.
    pub predicted: u64,
    /// TP / predicted; undefined when the class is never predicted.
    pub precision: Option<f64>,
    /// TP / support (sensitivity); undefined without support.
    pub recall: Option<f64>,
    /// TN / (TN + FP); undefined when every sample belongs to this class.
    pub specificity: Option<f64>,
    /// 2TP / (support + predicted); undefined when both are 0.
    pub f1: Option<f64>,
    /// One-vs-rest AUROC of this class's probability column (when probabilities given).
    pub auroc_ovr: Option<f64>,
    /// One-vs-rest average precision of this class's probability column.
    pub ap_ovr: Option<f64>,
}

/// Averages over classes.
///
/// Macro averages are unweighted means, weighted averages weight by support. Precision,
/// recall and F1 average over the classes that occur (as truth or as prediction) and
/// count a 0/0 as 0, as scikit-learn does with `zero_division=0`: a class that is
/// present but never predicted brings a precision of 0, not a gap. Specificity and the
/// one-vs-rest AUROC and AP average over the classes where they are defined. Either
/// way [`MulticlassReport::undefined`] says which class was counted as 0 or left out.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct ClassAverages {
    /// Average precision (PPV) of the classes.
    pub precision: Option<f64>,
    /// Average recall.
    pub recall: Option<f64>,
    /// Average specificity.
    pub specificity: Option<f64>,
    /// Average F1.
    pub f1: Option<f64>,
    /// Average one-vs-rest AUROC.
    pub auroc_ovr: Option<f64>,
    /// Average one-vs-rest average precision.
    pub ap_ovr: Option<f64>,
}

/// A multi-class classification report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MulticlassReport {
    /// Number of samples.
    pub n: usize,
    /// Number of classes.
    pub n_classes: usize,
    /// Fraction of samples predicted correctly.
    pub accuracy: f64,
    /// `confusion_matrix[true][predicted]`.
    pub confusion_matrix: Vec<Vec<u64>>,
    /// One entry per class.
    pub per_class: Vec<ClassMetrics>,
    /// Unweighted means over classes.
    pub macro_avg: ClassAverages,
    /// Support-weighted means over classes.
    pub weighted_avg: ClassAverages,
    /// Which per-class values are undefined and why (e.g. "precision of class 3: never predicted").
    pub undefined: Vec<String>,
}

/// The class with the highest probability in each row of a row-major `n x n_classes`
/// matrix (the lowest class index wins ties).
///
/// # Errors
/// [`Error::LengthMismatch`] when the length is not a multiple of `n_classes`;
/// [`Error::NonFiniteScore`] for NaN or infinite entries.
pub fn argmax_rows(probabilities: &[f64], n_classes: usize) -> Result<Vec<usize>> {
    if n_classes == 0 || !probabilities.len().is_multiple_of(n_classes) {
        return Err(Error::LengthMismatch {
            what: "probability matrix (rows x classes)",
            expected: probabilities.len().div_ceil(n_classes.max(1)) * n_classes.max(1),
            found: probabilities.len(),
        });
    }
    if let Some((index, &value)) = probabilities
        .iter()
        .enumerate()
        .find(|(_, p)| !p.is_finite())
    {
        return Err(Error::NonFiniteScore { index, value });
    }
    Ok(probabilities
        .chunks(n_classes)
        .map(|row| {
            row.iter()
                .enumerate()
                .fold((0, f64::NEG_INFINITY), |best, (c, &p)| {
                    if p > best.1 { (c, p) } else { best }
                })
                .0
        })
        .collect())
}

/// Builds the report for true classes `y_true` and predictions `y_pred` (both in
/// `0..n_classes`), with one-vs-rest AUROC/AP when a row-major `n x n_classes`
/// probability matrix is given.
///
/// # Errors
/// [`Error::Empty`], [`Error::LengthMismatch`], [`Error::InvalidClass`], or score
/// validation errors of the probability matrix.
///
/// # Examples
/// ```
/// let report = medfen_metrics::multiclass_report(&[0, 0, 1, 2, 2, 2], &[0, 1, 1, 2, 2, 0], 3, None)?;
/// assert_eq!(report.confusion_matrix, vec![vec![1, 1, 0], vec![0, 1, 0], vec![1, 0, 2]]);
/// assert!((report.accuracy - 4.0 / 6.0).abs() < 1e-15);
/// assert_eq!(report.per_class[2].recall, Some(2.0 / 3.0));
/// # Ok::<(), medfen_metrics::Error>(())
/// ```
pub fn multiclass_report(
    y_true: &[usize],
    y_pred: &[usize],
    n_classes: usize,
    probabilities: Option<&[f64]>,
) -> Result<MulticlassReport> {
    if y_true.is_empty() {
        return Err(Error::Empty);
    }
    check_len("predictions", y_true.len(), y_pred.len())?;
    for (y, _) in [(y_true, "true"), (y_pred, "pred")] {
        if let Some((index, &value)) = y.iter().enumerate().find(|(_, c)| **c >= n_classes) {
            return Err(Error::InvalidClass {
                index,
                value,
                n_classes,
            });
        }
    }
    if let Some(p) = probabilities {
        check_len(
            "probability matrix entries (n x classes)",
            y_true.len() * n_classes,
            p.len(),
        )?;
    }
    let n = y_true.len();
    let mut cm = vec![vec![0u64; n_classes]; n_classes];
    for (&t, &p) in y_true.iter().zip(y_pred) {
        cm[t][p] += 1;
    }
    let correct: u64 = (0..n_classes).map(|c| cm[c][c]).sum();
    let mut undefined = Vec::new();
    let mut per_class = Vec::with_capacity(n_classes);
    for c in 0..n_classes {
        let tp = cm[c][c] as f64;
        let support: u64 = cm[c].iter().sum();
        let predicted: u64 = cm.iter().map(|row| row[c]).sum();
        let fp = predicted as f64 - tp;
        let tn = n as f64 - support as f64 - fp;
        let ratio = |num: f64, den: f64| (den > 0.0).then(|| num / den);
        let (auroc_ovr, ap_ovr) = match probabilities {
            Some(p) => {
                let labels: Vec<bool> = y_true.iter().map(|&t| t == c).collect();
                let scores: Vec<f64> = p.iter().skip(c).step_by(n_classes).copied().collect();
                let t = RankedScores::new(&labels, &scores)?.tally();
                (auroc_tally(&t), average_precision_tally(&t))
            }
            None => (None, None),
        };
        let m = ClassMetrics {
            class: c,
            support,
            predicted,
            precision: ratio(tp, predicted as f64),
            recall: ratio(tp, support as f64),
            specificity: ratio(tn, tn + fp),
            f1: ratio(2.0 * tp, (support + predicted) as f64),
            auroc_ovr,
            ap_ovr,
        };
        note_undefined(&m, probabilities.is_some(), &mut undefined);
        per_class.push(m);
    }
    let macro_avg = average(&per_class, |_| 1.0);
    let weighted_avg = average(&per_class, |m| m.support as f64);
    Ok(MulticlassReport {
        n,
        n_classes,
        accuracy: correct as f64 / n as f64,
        confusion_matrix: cm,
        per_class,
        macro_avg,
        weighted_avg,
        undefined,
    })
}

/// Says which of a class's values are undefined, and how the averages count them.
fn note_undefined(m: &ClassMetrics, with_probabilities: bool, undefined: &mut Vec<String>) {
    let c = m.class;
    let (support, predicted) = (m.support, m.predicted);
    let mut why =
        |what: &str, reason: &str| undefined.push(format!("{what} of class {c}: {reason}"));
    let occurs = support + predicted > 0;
    if m.precision.is_none() {
        why(
            "precision",
            if occurs {
                "never predicted (counted as 0 in the averages, as scikit-learn's zero_division=0)"
            } else {
                "never predicted"
            },
        );
    }
    if m.recall.is_none() {
        why(
            "recall",
            if occurs {
                "no samples of this class (counted as 0 in the averages, as scikit-learn's zero_division=0)"
            } else {
                "no samples of this class"
            },
        );
    }
    if m.specificity.is_none() {
        why("specificity", "every sample belongs to this class");
    }
    if with_probabilities && m.auroc_ovr.is_none() {
        why(
            "one-vs-rest AUROC",
            "class absent or the only class present",
        );
    }
}

fn average(per_class: &[ClassMetrics], weight: impl Fn(&ClassMetrics) -> f64) -> ClassAverages {
    let mean = |get: &dyn Fn(&ClassMetrics) -> Option<f64>| {
        let (mut sum, mut total) = (0.0, 0.0);
        for m in per_class {
            let w = weight(m);
            if let Some(v) = get(m).filter(|_| w > 0.0) {
                sum += w * v;
                total += w;
            }
        }
        (total > 0.0).then(|| sum / total)
    };
    // scikit-learn's zero_division=0: a 0/0 of a class that occurs counts as 0.
    let zero_if_occurs = |m: &ClassMetrics, v: Option<f64>| {
        v.or_else(|| (m.support + m.predicted > 0).then_some(0.0))
    };
    ClassAverages {
        precision: mean(&|m| zero_if_occurs(m, m.precision)),
        recall: mean(&|m| zero_if_occurs(m, m.recall)),
        specificity: mean(&|m| m.specificity),
        f1: mean(&|m| m.f1),
        auroc_ovr: mean(&|m| m.auroc_ovr),
        ap_ovr: mean(&|m| m.ap_ovr),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_never_predicted_class_counts_as_0_in_macro_precision_and_says_so() {
        let r = multiclass_report(&[0, 1, 2, 2], &[0, 1, 1, 1], 3, None).unwrap();
        assert_eq!(r.per_class[2].precision, None);
        assert_eq!(r.per_class[2].f1, Some(0.0));
        assert!(r.undefined.iter().any(|u| u
            == "precision of class 2: never predicted (counted as 0 in the averages, \
                as scikit-learn's zero_division=0)"));
        // (1 + 1/3 + 0) / 3, as scikit-learn's macro precision with zero_division=0;
        // averaging over the defined classes only would give (1 + 1/3) / 2.
        assert!((r.macro_avg.precision.unwrap() - (1.0 + 1.0 / 3.0) / 3.0).abs() < 1e-15);
        // A class that never occurs is left out of every average.
        let absent = multiclass_report(&[0, 1], &[0, 1], 3, None).unwrap();
        assert_eq!(absent.macro_avg.precision, Some(1.0));
        assert!(
            absent
                .undefined
                .iter()
                .any(|u| u == "precision of class 2: never predicted")
        );
    }

    #[test]
    fn argmax_and_bad_classes() {
        assert_eq!(
            argmax_rows(&[0.2, 0.5, 0.3, 0.4, 0.4, 0.2], 3).unwrap(),
            vec![1, 0]
        );
        assert!(argmax_rows(&[0.2, 0.5], 3).is_err());
        let err = multiclass_report(&[0, 3], &[0, 1], 3, None).unwrap_err();
        assert_eq!(
            err,
            Error::InvalidClass {
                index: 1,
                value: 3,
                n_classes: 3
            }
        );
    }
}

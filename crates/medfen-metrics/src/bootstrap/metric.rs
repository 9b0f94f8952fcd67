//! The statistics a bootstrap can resample.

use serde::{Deserialize, Serialize};

use crate::auroc::auroc_tally;
use crate::average_precision::average_precision_tally;
use crate::calibration::{brier_tally, ece_tally};
use crate::confusion::{
    ConfusionMetrics, WeightedCounts, counts_at, counts_at_cuts, counts_top_groups,
};
use crate::operating_point::{best_sensitivity_at_specificity, groups_for_sensitivity};
use crate::ranked::Tally;

/// A binary-classification statistic, computable from a (weighted) tally.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "metric", rename_all = "snake_case")]
pub enum BinaryMetric {
    /// AUROC.
    Auroc,
    /// Average precision.
    AveragePrecision,
    /// Best sensitivity with specificity >= `target` (re-optimised in each replicate).
    SensitivityAtSpecificity {
        /// Specificity floor.
        target: f64,
    },
    /// Best specificity with sensitivity >= `target` (re-optimised in each replicate).
    SpecificityAtSensitivity {
        /// Sensitivity floor.
        target: f64,
    },
    /// A confusion-matrix statistic at a fixed threshold.
    AtThreshold {
        /// Positive when `score >= threshold`.
        threshold: f64,
        /// Which statistic.
        statistic: ThresholdStatistic,
    },
    /// Brier score (scores must be probabilities).
    Brier,
    /// Expected calibration error with equal-mass bins (scores must be probabilities).
    Ece {
        /// Number of bins.
        n_bins: usize,
    },
}

/// Statistics of a confusion matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ThresholdStatistic {
    /// (TP + TN) / n.
    Accuracy,
    /// TP / (TP + FP).
    Precision,
    /// TP / (TP + FN).
    Sensitivity,
    /// TN / (TN + FP).
    Specificity,
    /// TN / (TN + FN).
    Npv,
    /// F1.
    F1,
    /// Mean of sensitivity and specificity.
    BalancedAccuracy,
    /// Matthews correlation coefficient.
    Mcc,
}

impl ThresholdStatistic {
    /// Every statistic, in report order.
    pub const ALL: [Self; 8] = [
        Self::Accuracy,
        Self::Precision,
        Self::Sensitivity,
        Self::Specificity,
        Self::Npv,
        Self::F1,
        Self::BalancedAccuracy,
        Self::Mcc,
    ];

    /// Short name (`sensitivity`, `f1`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Self::Accuracy => "accuracy",
            Self::Precision => "precision",
            Self::Sensitivity => "sensitivity",
            Self::Specificity => "specificity",
            Self::Npv => "npv",
            Self::F1 => "f1",
            Self::BalancedAccuracy => "balanced_accuracy",
            Self::Mcc => "mcc",
        }
    }
}

impl ThresholdStatistic {
    /// This statistic of a confusion matrix's metrics.
    pub(crate) fn of(self, m: &ConfusionMetrics) -> Option<f64> {
        match self {
            Self::Accuracy => m.accuracy,
            Self::Precision => m.precision,
            Self::Sensitivity => m.sensitivity,
            Self::Specificity => m.specificity,
            Self::Npv => m.npv,
            Self::F1 => m.f1,
            Self::BalancedAccuracy => m.balanced_accuracy,
            Self::Mcc => m.mcc,
        }
    }
}

/// Several statistics evaluated together on every tally of a bootstrap: the groups a
/// threshold calls positive are fixed by the distinct scores, so the confusion counts
/// of all statistics at thresholds are summed in one pass per tally, however many
/// statistics and thresholds there are.
pub(crate) struct MetricSet<'a> {
    metrics: &'a [BinaryMetric],
    distinct: &'a [f64],
    /// Ascending group counts at which confusion counts are needed.
    cuts: Vec<usize>,
    /// For each statistic at a threshold, its index in `cuts`.
    cut_of: Vec<Option<usize>>,
}

impl<'a> MetricSet<'a> {
    /// The plan for `metrics` over tallies of the scores `distinct` (descending).
    pub(crate) fn new(metrics: &'a [BinaryMetric], distinct: &'a [f64]) -> Self {
        let group_count = |m: &BinaryMetric| match *m {
            BinaryMetric::AtThreshold { threshold, .. } => {
                Some(distinct.partition_point(|&s| s >= threshold))
            }
            _ => None,
        };
        let mut cuts: Vec<usize> = metrics.iter().filter_map(group_count).collect();
        cuts.sort_unstable();
        cuts.dedup();
        let cut_of = metrics
            .iter()
            .map(|m| group_count(m).and_then(|k| cuts.binary_search(&k).ok()))
            .collect();
        Self {
            metrics,
            distinct,
            cuts,
            cut_of,
        }
    }

    /// Every statistic of tally `t`, in the order given; `counts` is scratch space.
    pub(crate) fn eval(&self, t: &Tally, counts: &mut Vec<WeightedCounts>) -> Vec<Option<f64>> {
        counts_at_cuts(t, &self.cuts, counts);
        self.metrics
            .iter()
            .zip(&self.cut_of)
            .map(|(m, cut)| match (m, cut) {
                (BinaryMetric::AtThreshold { statistic, .. }, Some(c)) => {
                    statistic.of(&counts[*c].metrics())
                }
                _ => m.eval(t, self.distinct),
            })
            .collect()
    }
}

impl BinaryMetric {
    /// A readable, unique name, e.g. `auroc`, `sensitivity@specificity=0.95`,
    /// `f1@threshold=0.5`.
    pub fn name(&self) -> String {
        match self {
            Self::Auroc => "auroc".into(),
            Self::AveragePrecision => "average_precision".into(),
            Self::SensitivityAtSpecificity { target } => {
                format!("sensitivity@specificity={target}")
            }
            Self::SpecificityAtSensitivity { target } => {
                format!("specificity@sensitivity={target}")
            }
            Self::AtThreshold {
                threshold,
                statistic,
            } => format!("{}@threshold={threshold}", statistic.name()),
            Self::Brier => "brier".into(),
            Self::Ece { n_bins } => format!("ece@bins={n_bins}"),
        }
    }

    /// True for statistics that need scores in [0, 1].
    pub fn needs_probabilities(&self) -> bool {
        matches!(self, Self::Brier | Self::Ece { .. })
    }

    /// The statistic of a tally; `None` when undefined for it.
    pub(crate) fn eval(&self, t: &Tally, distinct: &[f64]) -> Option<f64> {
        match *self {
            Self::Auroc => auroc_tally(t),
            Self::AveragePrecision => average_precision_tally(t),
            Self::SensitivityAtSpecificity { target } => {
                let (p, n) = (t.total_pos(), t.total_neg());
                (p > 0.0 && n > 0.0).then(|| best_sensitivity_at_specificity(t, target).1 / p)
            }
            Self::SpecificityAtSensitivity { target } => {
                let (p, n) = (t.total_pos(), t.total_neg());
                (p > 0.0 && n > 0.0).then(|| {
                    let k = groups_for_sensitivity(t, target);
                    counts_top_groups(t, k).tn / n
                })
            }
            Self::AtThreshold {
                threshold,
                statistic,
            } => statistic.of(&counts_at(t, distinct, threshold).metrics()),
            Self::Brier => brier_tally(t, distinct),
            Self::Ece { n_bins } => ece_tally(t, distinct, n_bins.max(1)),
        }
    }
}

//! One report with every binary metric, its uncertainty, and its threshold provenance.

use serde::{Deserialize, Serialize};

use crate::auroc::auroc_tally;
use crate::average_precision::average_precision_tally;
use crate::bootstrap::{
    BinaryMetric, BootstrapConfig, BootstrapReport, Clusters, MetricInterval, ThresholdStatistic,
    cluster_bootstrap,
};
use crate::calibration::{CalibrationReport, calibration};
use crate::delong::{AurocInterval, delong, obuchowski};
use crate::error::{Error, Result, check_len};
use crate::operating_point::{
    OperatingPoint, sensitivity_at_specificity, specificity_at_sensitivity,
};
use crate::ranked::RankedScores;
use crate::threshold::{ChosenThreshold, ThresholdResult, ThresholdRule, choose_threshold};

/// Where the operating threshold comes from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "source", rename_all = "snake_case")]
pub enum ThresholdSource {
    /// Chosen on the data being reported (fine for validation sets; for test sets use
    /// [`ThresholdSource::Frozen`]). A fixed threshold is the rule `fixed:X`.
    Rule {
        /// The rule.
        rule: ThresholdRule,
    },
    /// Chosen earlier on other data (typically validation) and applied unchanged.
    Frozen {
        /// The stored choice.
        chosen: ChosenThreshold,
    },
}

/// What [`binary_report`] computes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ReportOptions {
    /// Specificity floor for "sensitivity at specificity" (default 0.95).
    pub specificity_target: f64,
    /// Sensitivity floor for "specificity at sensitivity" (default 0.95).
    pub sensitivity_target: f64,
    /// The operating threshold (default: fixed 0.5).
    pub threshold: ThresholdSource,
    /// Bootstrap settings; `None` skips the bootstrap (default: 2000 replicates).
    pub bootstrap: Option<BootstrapConfig>,
    /// Equal-mass bins for calibration (default 10).
    pub calibration_bins: usize,
    /// Confidence level of analytic intervals (default 0.95).
    pub level: f64,
    /// Thresholds fixed before these data were seen (typically chosen on validation
    /// data): each is applied unchanged and reported first, with bootstrap intervals of
    /// its sensitivity and specificity (default none).
    pub pre_specified: Vec<PreSpecified>,
}

/// A threshold fixed before the reported data were seen, and what to call it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PreSpecified {
    /// How the report names it, e.g. `youden on val`.
    pub label: String,
    /// The stored choice.
    pub chosen: ChosenThreshold,
}

/// A pre-specified threshold applied to the reported data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PreSpecifiedPoint {
    /// Its name.
    pub label: String,
    /// The stored choice (rule, threshold, and its performance where it was chosen).
    pub chosen: ChosenThreshold,
    /// Counts and metrics on the reported data.
    pub here: ThresholdResult,
    /// Bootstrap interval of the sensitivity here (`None` without a bootstrap).
    pub sensitivity: Option<MetricInterval>,
    /// Bootstrap interval of the specificity here.
    pub specificity: Option<MetricInterval>,
}

impl Default for ReportOptions {
    fn default() -> Self {
        Self {
            specificity_target: 0.95,
            sensitivity_target: 0.95,
            threshold: ThresholdSource::Rule {
                rule: ThresholdRule::Fixed { threshold: 0.5 },
            },
            bootstrap: Some(BootstrapConfig::default()),
            calibration_bins: 10,
            level: 0.95,
            pre_specified: Vec::new(),
        }
    }
}

impl ReportOptions {
    /// The defaults.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the specificity floor of "sensitivity at specificity".
    pub fn with_specificity_target(mut self, target: f64) -> Self {
        self.specificity_target = target;
        self
    }

    /// Sets the sensitivity floor of "specificity at sensitivity".
    pub fn with_sensitivity_target(mut self, target: f64) -> Self {
        self.sensitivity_target = target;
        self
    }

    /// Sets the threshold source.
    pub fn with_threshold(mut self, threshold: ThresholdSource) -> Self {
        self.threshold = threshold;
        self
    }

    /// Sets (or, with `None`, disables) the bootstrap.
    pub fn with_bootstrap(mut self, bootstrap: Option<BootstrapConfig>) -> Self {
        self.bootstrap = bootstrap;
        self
    }

    /// Adds a pre-specified threshold, reported first (see [`PreSpecified`]).
    pub fn with_pre_specified(mut self, label: impl Into<String>, chosen: ChosenThreshold) -> Self {
        self.pre_specified.push(PreSpecified {
            label: label.into(),
            chosen,
        });
        self
    }

    /// Sets the number of calibration bins.
    pub fn with_calibration_bins(mut self, bins: usize) -> Self {
        self.calibration_bins = bins;
        self
    }
}

/// The operating threshold and how the data fares at it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThresholdReport {
    /// True when the threshold was chosen on other data and applied unchanged.
    pub frozen: bool,
    /// The choice (rule, threshold, and its performance where it was chosen).
    pub chosen: ChosenThreshold,
    /// Counts and metrics on the reported data.
    pub here: ThresholdResult,
}

/// Everything about one set of binary predictions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BinaryReport {
    /// Samples.
    pub n: usize,
    /// Positive samples.
    pub n_pos: usize,
    /// Negative samples.
    pub n_neg: usize,
    /// Clusters (samples when no clusters were given).
    pub n_clusters: usize,
    /// The pre-specified thresholds applied here, in the order given: the headline
    /// numbers of a test set.
    #[serde(default)]
    pub pre_specified: Vec<PreSpecifiedPoint>,
    /// AUROC (midrank).
    pub auroc: Option<f64>,
    /// Average precision (scikit-learn semantics).
    pub average_precision: Option<f64>,
    /// Analytic AUROC interval: Obuchowski when clusters group several samples,
    /// DeLong otherwise.
    pub auroc_analytic: Option<AurocInterval>,
    /// Best sensitivity at the specificity floor, with its threshold.
    pub sensitivity_at_specificity: Option<OperatingPoint>,
    /// Best specificity at the sensitivity floor, with its threshold.
    pub specificity_at_sensitivity: Option<OperatingPoint>,
    /// The operating threshold.
    pub threshold: Option<ThresholdReport>,
    /// Brier, ECE and reliability bins (only when every score is in [0, 1]).
    pub calibration: Option<CalibrationReport>,
    /// Bootstrap intervals of every statistic above.
    pub bootstrap: Option<BootstrapReport>,
    /// What is undefined here, and why.
    pub undefined: Vec<String>,
}

/// The operating threshold: chosen here by a rule (a failure is noted, not raised),
/// or frozen from elsewhere and applied unchanged.
fn operating_threshold(
    labels: &[bool],
    scores: &[f64],
    source: &ThresholdSource,
    note: &mut impl FnMut(&str, &Error),
) -> Result<Option<ThresholdReport>> {
    Ok(match source {
        ThresholdSource::Rule { rule } => choose_threshold(labels, scores, *rule)
            .map(|chosen| ThresholdReport {
                frozen: false,
                here: ThresholdResult {
                    threshold: chosen.threshold,
                    rule: chosen.rule,
                    counts: chosen.counts,
                    metrics: chosen.metrics,
                },
                chosen,
            })
            .map_err(|e| note("threshold", &e))
            .ok(),
        ThresholdSource::Frozen { chosen } => Some(ThresholdReport {
            frozen: true,
            here: chosen.apply(labels, scores)?,
            chosen: chosen.clone(),
        }),
    })
}

/// The pre-specified thresholds applied to the data, with their bootstrap intervals.
fn pre_specified_points(
    labels: &[bool],
    scores: &[f64],
    options: &ReportOptions,
    bootstrap: Option<&BootstrapReport>,
) -> Result<Vec<PreSpecifiedPoint>> {
    let interval = |threshold: f64, statistic: ThresholdStatistic| {
        let metric = BinaryMetric::AtThreshold {
            threshold,
            statistic,
        };
        bootstrap.and_then(|b| b.metrics.iter().find(|m| m.metric == metric).cloned())
    };
    options
        .pre_specified
        .iter()
        .map(|p| {
            let t = p.chosen.threshold;
            Ok(PreSpecifiedPoint {
                label: p.label.clone(),
                chosen: p.chosen.clone(),
                here: p.chosen.apply(labels, scores)?,
                sensitivity: interval(t, ThresholdStatistic::Sensitivity),
                specificity: interval(t, ThresholdStatistic::Specificity),
            })
        })
        .collect()
}

/// Every statistic of the report the bootstrap gives an interval for.
fn bootstrap_metrics(
    options: &ReportOptions,
    threshold: Option<&ThresholdReport>,
    probabilities: bool,
) -> Vec<BinaryMetric> {
    let mut metrics = vec![
        BinaryMetric::Auroc,
        BinaryMetric::AveragePrecision,
        BinaryMetric::SensitivityAtSpecificity {
            target: options.specificity_target,
        },
        BinaryMetric::SpecificityAtSensitivity {
            target: options.sensitivity_target,
        },
    ];
    if let Some(t) = threshold {
        metrics.extend(ThresholdStatistic::ALL.iter().map(|&statistic| {
            BinaryMetric::AtThreshold {
                threshold: t.chosen.threshold,
                statistic,
            }
        }));
    }
    for p in &options.pre_specified {
        for statistic in [
            ThresholdStatistic::Sensitivity,
            ThresholdStatistic::Specificity,
        ] {
            let m = BinaryMetric::AtThreshold {
                threshold: p.chosen.threshold,
                statistic,
            };
            if !metrics.contains(&m) {
                metrics.push(m);
            }
        }
    }
    if probabilities {
        metrics.push(BinaryMetric::Brier);
        metrics.push(BinaryMetric::Ece {
            n_bins: options.calibration_bins,
        });
    }
    metrics
}

/// Computes a [`BinaryReport`].
///
/// Statistics that are undefined on this data (one class missing, too few samples for a
/// variance, scores that are not probabilities for calibration) are `None` and
/// explained in `undefined`; only invalid input is an error.
///
/// # Errors
/// Input validation errors (lengths, NaN/infinite scores); [`Error::InvalidParameter`]
/// for bad options.
pub fn binary_report(
    labels: &[bool],
    scores: &[f64],
    clusters: Option<&Clusters>,
    options: &ReportOptions,
) -> Result<BinaryReport> {
    let ranked = RankedScores::new(labels, scores)?;
    let singletons;
    let clusters = if let Some(c) = clusters {
        check_len("cluster ids", labels.len(), c.n_samples())?;
        c
    } else {
        singletons = Clusters::singletons(labels.len());
        &singletons
    };
    let mut undefined = Vec::new();
    let mut note = |what: &str, err: &Error| undefined.push(format!("{what}: {err}"));
    let tally = ranked.tally();
    let both = ranked.n_pos() > 0 && ranked.n_neg() > 0;
    let auroc = auroc_tally(&tally);
    let average_precision = average_precision_tally(&tally);
    if !both {
        note(
            "AUROC and operating points",
            &Error::SingleClass {
                metric: "AUROC",
                n_pos: ranked.n_pos(),
                n_neg: ranked.n_neg(),
            },
        );
    }
    let clustered = clusters.n_clusters() < labels.len();
    let analytic = if clustered {
        obuchowski(labels, scores, clusters, options.level)
    } else {
        delong(labels, scores, options.level)
    };
    let auroc_analytic = analytic
        .map_err(|e| note("analytic AUROC interval", &e))
        .ok();
    let sens_at_spec = sensitivity_at_specificity(labels, scores, options.specificity_target)
        .map_err(|e| {
            if both {
                note("sensitivity at specificity", &e);
            }
        })
        .ok();
    let spec_at_sens = specificity_at_sensitivity(labels, scores, options.sensitivity_target)
        .map_err(|e| {
            if both {
                note("specificity at sensitivity", &e);
            }
        })
        .ok();
    let threshold = operating_threshold(labels, scores, &options.threshold, &mut note)?;
    let probabilities = scores.iter().all(|s| (0.0..=1.0).contains(s));
    let calibration = if probabilities {
        Some(calibration(
            labels,
            scores,
            options.calibration_bins,
            options.level,
        )?)
    } else {
        undefined.push("calibration: scores are not probabilities in [0, 1]".into());
        None
    };
    let bootstrap = match options.bootstrap {
        Some(config) => {
            let metrics = bootstrap_metrics(options, threshold.as_ref(), probabilities);
            Some(cluster_bootstrap(
                labels, scores, clusters, &metrics, config,
            )?)
        }
        None => None,
    };
    let pre_specified = pre_specified_points(labels, scores, options, bootstrap.as_ref())?;
    Ok(BinaryReport {
        n: ranked.len(),
        n_pos: ranked.n_pos(),
        n_neg: ranked.n_neg(),
        n_clusters: clusters.n_clusters(),
        pre_specified,
        auroc,
        average_precision,
        auroc_analytic,
        sensitivity_at_specificity: sens_at_spec,
        specificity_at_sensitivity: spec_at_sens,
        threshold,
        calibration,
        bootstrap,
        undefined,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_class_is_explained_not_zeroed() {
        let r = binary_report(
            &[true, true, true],
            &[0.2, 0.7, 0.9],
            None,
            &ReportOptions::new(),
        )
        .unwrap();
        assert_eq!(r.auroc, None);
        assert_eq!(r.average_precision, Some(1.0));
        assert!(
            r.undefined.iter().any(|u| u.contains("AUROC")),
            "{:?}",
            r.undefined
        );
        let boot = r.bootstrap.unwrap();
        assert_eq!(boot.metrics[0].estimate, None);
        assert_eq!(
            boot.metrics[0].note.as_deref(),
            Some("undefined on the original data")
        );
        // A fixed threshold needs no negatives.
        assert_eq!(r.threshold.unwrap().here.counts.tp, 2);
    }

    #[test]
    fn frozen_threshold_is_applied_unchanged() {
        let val = binary_report(
            &[false, true, false, true],
            &[0.1, 0.8, 0.4, 0.6],
            None,
            &ReportOptions::new()
                .with_threshold(ThresholdSource::Rule {
                    rule: ThresholdRule::Youden,
                })
                .with_bootstrap(None),
        )
        .unwrap();
        let chosen = val.threshold.unwrap().chosen;
        assert_eq!(chosen.threshold, 0.6);
        let test = binary_report(
            &[true, false, true],
            &[0.65, 0.7, 0.5],
            None,
            &ReportOptions::new()
                .with_threshold(ThresholdSource::Frozen { chosen })
                .with_bootstrap(None),
        )
        .unwrap();
        let t = test.threshold.unwrap();
        assert!(t.frozen);
        assert_eq!(
            (t.here.threshold, t.here.counts.tp, t.here.counts.fp),
            (0.6, 1, 1)
        );
    }

    #[test]
    fn pre_specified_points_come_with_their_own_intervals() {
        let chosen = choose_threshold(
            &[false, true, false, true],
            &[0.1, 0.8, 0.4, 0.6],
            ThresholdRule::Youden,
        )
        .unwrap();
        let labels: Vec<bool> = (0..40).map(|i| i % 3 == 0).collect();
        let scores: Vec<f64> = (0..40).map(|i| f64::from((i * 17) % 40) / 40.0).collect();
        let r = binary_report(
            &labels,
            &scores,
            None,
            &ReportOptions::new()
                .with_pre_specified("youden on val", chosen.clone())
                .with_bootstrap(Some(BootstrapConfig::new().with_replicates(300))),
        )
        .unwrap();
        let [p] = r.pre_specified.as_slice() else {
            panic!("{:?}", r.pre_specified)
        };
        assert_eq!(p.label, "youden on val");
        assert_eq!(p.here, chosen.apply(&labels, &scores).unwrap());
        let sens = p.sensitivity.as_ref().unwrap();
        assert_eq!(sens.estimate, p.here.metrics.sensitivity);
        assert!(sens.lower.unwrap() < sens.upper.unwrap());
        let spec = p.specificity.as_ref().unwrap();
        assert_eq!(spec.estimate, p.here.metrics.specificity);
    }
}

//! Honest classification metrics for medical imaging, in pure Rust.
//!
//! medfen-metrics computes the numbers a diagnostic-accuracy paper reports, with the
//! uncertainty reviewers ask for, and fails loudly instead of guessing:
//!
//! - **Binary**: [`auroc`] (midrank ties), [`roc_curve`], [`average_precision`] and
//!   [`pr_curve`] with scikit-learn's tie semantics, [`ConfusionCounts`] metrics at a
//!   threshold, [`sensitivity_at_specificity`] / [`specificity_at_sensitivity`] (exact:
//!   at most `floor((1 - target) * n_neg)` false positives) with their thresholds, and
//!   [`choose_threshold`] (Youden, F1, floors) to choose on validation data and apply
//!   unchanged to test data.
//! - **Multi-class**: [`multiclass_report`] (confusion matrix, per-class and averaged
//!   precision/recall/specificity/F1, one-vs-rest AUROC and AP).
//! - **Calibration**: [`brier_score`], [`calibration`] (ECE over equal-mass bins,
//!   reliability points with Wilson intervals).
//! - **Uncertainty**: [`cluster_bootstrap`] resampling clusters (the two ears of an
//!   exam, or a patient's exams) *with their multiplicity*, stratified by class,
//!   percentile or BCa; [`paired_bootstrap`] for model A vs B; [`delong`],
//!   [`obuchowski`] (clustered) and their paired tests; [`curve_bands`] for plots.
//! - **Reports**: [`binary_report`] bundles all of it into one serialisable record.
//!
//! Conventions: labels are `bool` (true = positive), scores are finite `f64` and a
//! sample is called positive when `score >= threshold`. Undefined values are `None`
//! (JSON `null`) with the reason recorded, or a typed [`Error`], never a silent 0 or
//! NaN. Everything is f64 and deterministic for a given seed, whatever the thread count.
//! The optional `plots` feature draws ROC, PR and reliability PNGs with confidence bands.
//!
//! # Example
//! Two ears per exam; clusters are exams:
//! ```
//! use medfen_metrics::{binary_report, Clusters, ReportOptions};
//!
//! let exams  = ["e1", "e1", "e2", "e2", "e3", "e3", "e4", "e4"];
//! let labels = [true, false, true, true, false, false, false, true];
//! let scores = [0.9, 0.3, 0.8, 0.4, 0.35, 0.1, 0.5, 0.7];
//! let report = binary_report(&labels, &scores, Some(&Clusters::from_ids(&exams)), &ReportOptions::new())?;
//!
//! // Positives 0.9, 0.8, 0.7, 0.4; negatives 0.5, 0.35, 0.3, 0.1. Of the 16 pairs only
//! // 0.4 < 0.5 is misordered: AUROC = 15/16.
//! assert_eq!(report.auroc, Some(15.0 / 16.0));
//! // At the default threshold 0.5 the negative scoring 0.5 is a false positive.
//! let at = report.threshold.as_ref().unwrap().here.counts;
//! assert_eq!((at.tp, at.fp, at.tn, at.fn_), (3, 1, 3, 1));
//! // 95% specificity allows floor(0.05 * 4) = 0 false positives: threshold 0.7.
//! let op = report.sensitivity_at_specificity.unwrap();
//! assert_eq!((op.threshold, op.sensitivity), (0.7, 0.75));
//! // 2000 replicates of the 4 exams, keeping how often each exam is drawn.
//! let ci = &report.bootstrap.as_ref().unwrap().metrics[0];
//! assert_eq!((ci.name.as_str(), ci.n_valid_replicates), ("auroc", 2000));
//! assert!(!ci.degenerate);
//! assert!(ci.lower.unwrap() <= 15.0 / 16.0 && 15.0 / 16.0 <= ci.upper.unwrap());
//! # Ok::<(), medfen_metrics::Error>(())
//! ```
#![warn(missing_docs)]

mod auroc;
mod average_precision;
mod bootstrap;
mod calibration;
mod confusion;
mod curves;
mod delong;
mod error;
mod multiclass;
mod normal;
mod operating_point;
#[cfg(feature = "plots")]
pub mod plot;
mod proportion;
mod ranked;
mod report;
mod threshold;

pub use auroc::{auroc, auroc_ranked};
pub use average_precision::{average_precision, average_precision_ranked};
pub use bootstrap::{
    BinaryMetric, BootstrapConfig, BootstrapReport, Clusters, CurveBand, CurveBands,
    IntervalMethod, MIN_INFORMATIVE_REPLICATES, MetricInterval, PairedBootstrapReport,
    PairedInterval, ThresholdStatistic, cluster_bootstrap, curve_bands, paired_bootstrap,
};
pub use calibration::{CalibrationReport, ReliabilityBin, brier_score, calibration};
pub use confusion::{ConfusionCounts, ConfusionMetrics};
pub use curves::{PrCurve, RocCurve, pr_curve, roc_curve};
pub use delong::{
    AurocComparison, AurocInterval, VarianceMethod, delong, obuchowski, paired_delong,
    paired_obuchowski,
};
pub use error::{Error, Result};
pub use multiclass::{
    ClassAverages, ClassMetrics, MulticlassReport, argmax_rows, multiclass_report,
};
pub use operating_point::{OperatingPoint, sensitivity_at_specificity, specificity_at_sensitivity};
pub use proportion::wilson_interval;
pub use ranked::{RankedScores, Tally, labels_from_f64};
pub use report::{
    BinaryReport, PreSpecified, PreSpecifiedPoint, ReportOptions, ThresholdReport, ThresholdSource,
    binary_report,
};
pub use threshold::{ChosenThreshold, ThresholdResult, ThresholdRule, choose_threshold};

//! Cluster bootstrap confidence intervals.
//!
//! The resampling unit is a cluster (an exam, whose two ears are correlated, or a
//! patient). A replicate draws as many clusters as there are, with replacement, and a
//! cluster drawn k times counts k times: the multiplicity is kept. (Collapsing repeated
//! draws, as the Python pipeline medfen replaces did, subsamples about 63% of the
//! clusters without replacement and gives intervals about 23% too narrow.)
//!
//! Each replicate is a vector of cluster counts applied as weights to scores that were
//! sorted once, so a replicate costs O(n). Replicate `r` draws from ChaCha8 stream `r`
//! of the seed: results are identical whatever the number of threads.

mod bands;
mod clusters;
mod interval;
mod metric;
mod resample;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

pub use bands::{CurveBand, CurveBands, curve_bands};
pub use clusters::Clusters;
pub use interval::IntervalMethod;
pub use metric::{BinaryMetric, ThresholdStatistic};

use metric::MetricSet;

use crate::error::{Error, Result, check_len};
use crate::ranked::RankedScores;
use resample::Resampler;

/// Settings of a bootstrap.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct BootstrapConfig {
    /// Number of replicates (default 2000).
    pub replicates: usize,
    /// Seed of the random streams (default 42).
    pub seed: u64,
    /// Confidence level (default 0.95).
    pub level: f64,
    /// Resample clusters within their class profile (only positives, only negatives,
    /// both), so every replicate holds both classes and the original number of
    /// clusters of each profile; with equal-sized clusters (two ears per exam) n_pos and
    /// n_neg are then exactly the original ones (default true).
    pub stratified: bool,
    /// Interval method (default percentile).
    pub interval: IntervalMethod,
}

impl Default for BootstrapConfig {
    fn default() -> Self {
        Self {
            replicates: 2000,
            seed: 42,
            level: 0.95,
            stratified: true,
            interval: IntervalMethod::Percentile,
        }
    }
}

impl BootstrapConfig {
    /// The defaults: 2000 replicates, seed 42, 95%, stratified, percentile.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the number of replicates.
    pub fn with_replicates(mut self, replicates: usize) -> Self {
        self.replicates = replicates;
        self
    }

    /// Sets the seed.
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Sets the confidence level.
    pub fn with_level(mut self, level: f64) -> Self {
        self.level = level;
        self
    }

    /// Turns class stratification on or off.
    pub fn with_stratified(mut self, stratified: bool) -> Self {
        self.stratified = stratified;
        self
    }

    /// Sets the interval method.
    pub fn with_interval(mut self, interval: IntervalMethod) -> Self {
        self.interval = interval;
        self
    }

    fn validate(&self) -> Result<()> {
        if self.replicates < 2 {
            return Err(Error::InvalidParameter {
                name: "replicates",
                value: self.replicates.to_string(),
                reason: "at least 2 replicates are needed",
            });
        }
        if !(self.level > 0.0 && self.level < 1.0) {
            return Err(Error::InvalidParameter {
                name: "level",
                value: self.level.to_string(),
                reason: "must be in (0, 1)",
            });
        }
        Ok(())
    }
}

/// The bootstrap interval of one statistic.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricInterval {
    /// The statistic.
    pub metric: BinaryMetric,
    /// Its readable name.
    pub name: String,
    /// Value on the original data (`None`: undefined there).
    pub estimate: Option<f64>,
    /// Lower confidence bound.
    pub lower: Option<f64>,
    /// Upper confidence bound.
    pub upper: Option<f64>,
    /// Standard deviation of the replicate values.
    pub std_error: Option<f64>,
    /// The interval method actually used.
    pub method: IntervalMethod,
    /// Replicates in which the statistic was defined.
    pub n_valid_replicates: usize,
    /// Replicates dropped because the statistic was undefined in them (e.g. no
    /// positives drawn).
    pub n_dropped_replicates: usize,
    /// True when the interval must not be read as informative: its bounds coincide
    /// (e.g. every replicate separates perfectly), it rests on fewer than
    /// [`MIN_INFORMATIVE_REPLICATES`] valid replicates, replicates were dropped, or
    /// there is no interval at all. `degenerate_reason` says which.
    pub degenerate: bool,
    /// Why the interval is degenerate (`None` exactly when `degenerate` is false).
    pub degenerate_reason: Option<String>,
    /// Why an interval is missing, or why BCa fell back to percentile.
    pub note: Option<String>,
}

/// Fewer valid replicates than this make an interval degenerate.
pub const MIN_INFORMATIVE_REPLICATES: usize = 100;

impl MetricInterval {
    /// Sets `degenerate` and `degenerate_reason` from the interval and its replicate
    /// counts.
    fn flag_degeneracy(&mut self) {
        let mut reasons = Vec::new();
        match (self.estimate, self.lower.zip(self.upper)) {
            (None, _) => {
                self.degenerate = true;
                self.degenerate_reason = Some("undefined on the original data".to_owned());
                return;
            }
            (Some(_), None) => reasons.push(format!(
                "no interval: only {} replicate(s) where the statistic is defined",
                self.n_valid_replicates
            )),
            // Equal up to rounding (an AP of 1 is a sum of ratios).
            (Some(est), Some((lo, hi))) if (hi - lo).abs() <= 1e-12 * hi.abs().max(1.0) => {
                reasons.push(if self.metric == BinaryMetric::Auroc && lo == 1.0 {
                    "every replicate separates perfectly".to_owned()
                } else {
                    format!("every replicate gives {est:.3}")
                });
            }
            _ => {}
        }
        if self.lower.is_some() && self.n_valid_replicates < MIN_INFORMATIVE_REPLICATES {
            reasons.push(format!(
                "rests on {} valid replicates (fewer than {MIN_INFORMATIVE_REPLICATES})",
                self.n_valid_replicates
            ));
        }
        if self.n_dropped_replicates > 0 {
            reasons.push(format!(
                "{} of {} replicates dropped (the statistic is undefined in them)",
                self.n_dropped_replicates,
                self.n_dropped_replicates + self.n_valid_replicates
            ));
        }
        self.degenerate = !reasons.is_empty();
        self.degenerate_reason = self.degenerate.then(|| reasons.join("; "));
    }
}

/// `0.912 [0.850, 0.960]`; a degenerate interval says so and why
/// (`1.000 [1.000, 1.000] degenerate: every replicate separates perfectly`); an
/// undefined statistic is `undefined`, never NaN.
impl std::fmt::Display for MetricInterval {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}{}", self.bounds_text(), self.degenerate_text())
    }
}

impl MetricInterval {
    /// `0.912 [0.850, 0.960]`: the estimate and its bounds (`undefined` for an undefined
    /// estimate; no bounds without an interval).
    pub fn bounds_text(&self) -> String {
        let estimate = self
            .estimate
            .map_or_else(|| "undefined".to_owned(), |est| format!("{est:.3}"));
        match self.lower.zip(self.upper) {
            Some((lo, hi)) => format!("{estimate} [{lo:.3}, {hi:.3}]"),
            None => estimate,
        }
    }

    /// ` degenerate: <why>` for a degenerate interval, else an empty string.
    pub fn degenerate_text(&self) -> String {
        self.degenerate_reason
            .as_deref()
            .map_or_else(String::new, |why| format!(" degenerate: {why}"))
    }
}

/// A cluster bootstrap of several statistics on one prediction set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BootstrapReport {
    /// Samples.
    pub n: usize,
    /// Positive samples.
    pub n_pos: usize,
    /// Negative samples.
    pub n_neg: usize,
    /// Clusters (the resampling units).
    pub n_clusters: usize,
    /// The settings used.
    pub config: BootstrapConfig,
    /// One interval per requested statistic.
    pub metrics: Vec<MetricInterval>,
}

/// Cluster bootstrap intervals of `metrics` for `labels`/`scores`, resampling the
/// clusters in `clusters`.
///
/// # Errors
/// Input validation errors; [`Error::LengthMismatch`] when `clusters` does not have one
/// entry per sample; [`Error::InvalidParameter`] for bad settings;
/// [`Error::NotAProbability`] when Brier/ECE is requested for scores outside [0, 1].
/// Statistics that are undefined on the data are reported with `estimate: None` and a
/// note, not as errors.
///
/// # Examples
/// ```
/// use medfen_metrics::{cluster_bootstrap, BinaryMetric, BootstrapConfig, Clusters};
/// // Two ears per exam: clusters are exams.
/// let exams = [1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6];
/// let labels = [true, false, true, true, false, false, true, false, false, false, true, false];
/// let scores = [0.9, 0.2, 0.7, 0.8, 0.3, 0.1, 0.5, 0.4, 0.5, 0.2, 0.95, 0.3];
/// let report = cluster_bootstrap(
///     &labels, &scores, &Clusters::from_ids(&exams),
///     &[BinaryMetric::Auroc], BootstrapConfig::new().with_replicates(500),
/// )?;
/// let auc = &report.metrics[0];
/// // The positive at 0.5 ties one negative and beats six; the others beat all seven.
/// assert_eq!(auc.estimate, Some((4.0 * 7.0 + 6.5) / 35.0));
/// assert!(auc.lower.unwrap() <= auc.estimate.unwrap() && auc.estimate.unwrap() <= auc.upper.unwrap());
/// assert_eq!((report.n_clusters, auc.n_dropped_replicates), (6, 0));
/// # Ok::<(), medfen_metrics::Error>(())
/// ```
pub fn cluster_bootstrap(
    labels: &[bool],
    scores: &[f64],
    clusters: &Clusters,
    metrics: &[BinaryMetric],
    config: BootstrapConfig,
) -> Result<BootstrapReport> {
    config.validate()?;
    let ranked = prepare(labels, scores, clusters, metrics)?;
    let resampler = Resampler::new(&ranked, labels, clusters, config.stratified, config.seed);
    let set = MetricSet::new(metrics, ranked.distinct_scores());
    let values = replicate_values(&ranked, &resampler, config.replicates, &set);
    let estimates = set.eval(&ranked.tally(), &mut Vec::new());
    let jackknife = (config.interval == IntervalMethod::Bca)
        .then(|| jackknife_values(&resampler, metrics.len(), &set));
    let metrics = metrics
        .iter()
        .enumerate()
        .map(|(j, m)| {
            let column: Vec<Option<f64>> = values.iter().map(|row| row[j]).collect();
            let jack = jackknife
                .as_ref()
                .map(|jk| jk.iter().map(|row| row[j]).collect::<Vec<_>>());
            summarise(
                *m,
                m.name(),
                estimates[j],
                &column,
                jack.as_deref(),
                &config,
            )
        })
        .collect();
    Ok(BootstrapReport {
        n: ranked.len(),
        n_pos: ranked.n_pos(),
        n_neg: ranked.n_neg(),
        n_clusters: clusters.n_clusters(),
        config,
        metrics,
    })
}

/// One statistic compared between two models on the same cases.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PairedInterval {
    /// The statistic.
    pub metric: BinaryMetric,
    /// Its readable name.
    pub name: String,
    /// Value for model A.
    pub estimate_a: Option<f64>,
    /// Value for model B.
    pub estimate_b: Option<f64>,
    /// Bootstrap interval of A - B (its `estimate` is the observed difference).
    pub difference: MetricInterval,
    /// Two-sided bootstrap p-value for "no difference": twice the smaller share of
    /// replicates on either side of zero (at most 1).
    pub p_value: Option<f64>,
}

/// A paired cluster bootstrap of two models' scores on the same labelled cases.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PairedBootstrapReport {
    /// Samples.
    pub n: usize,
    /// Positive samples.
    pub n_pos: usize,
    /// Negative samples.
    pub n_neg: usize,
    /// Clusters.
    pub n_clusters: usize,
    /// The settings used.
    pub config: BootstrapConfig,
    /// One comparison per statistic.
    pub metrics: Vec<PairedInterval>,
}

/// Paired cluster bootstrap of the difference A - B of each statistic: both models
/// are evaluated on the same resampled clusters in every replicate.
///
/// # Errors
/// As [`cluster_bootstrap`], plus [`Error::LengthMismatch`] when the two score vectors
/// differ in length.
pub fn paired_bootstrap(
    labels: &[bool],
    scores_a: &[f64],
    scores_b: &[f64],
    clusters: &Clusters,
    metrics: &[BinaryMetric],
    config: BootstrapConfig,
) -> Result<PairedBootstrapReport> {
    config.validate()?;
    check_len("scores of model B", scores_a.len(), scores_b.len())?;
    let ranked_a = prepare(labels, scores_a, clusters, metrics)?;
    let ranked_b = prepare(labels, scores_b, clusters, metrics)?;
    let res_a = Resampler::new(&ranked_a, labels, clusters, config.stratified, config.seed);
    let res_b = Resampler::new(&ranked_b, labels, clusters, config.stratified, config.seed);
    let (set_a, set_b) = (
        MetricSet::new(metrics, ranked_a.distinct_scores()),
        MetricSet::new(metrics, ranked_b.distinct_scores()),
    );
    let n_clusters = clusters.n_clusters();
    let values: Vec<Vec<(Option<f64>, Option<f64>)>> = (0..config.replicates as u64)
        .into_par_iter()
        .map_init(
            || {
                (
                    vec![0u32; n_clusters],
                    ranked_a.empty_tally(),
                    ranked_b.empty_tally(),
                    Vec::new(),
                )
            },
            |(counts, ta, tb, scratch), r| {
                res_a.draw(r, counts);
                res_a.tally_into(counts, ta);
                res_b.tally_into(counts, tb);
                let a = set_a.eval(ta, scratch);
                let b = set_b.eval(tb, scratch);
                a.into_iter().zip(b).collect()
            },
        )
        .collect();
    let (full_a, full_b) = (
        set_a.eval(&ranked_a.tally(), &mut Vec::new()),
        set_b.eval(&ranked_b.tally(), &mut Vec::new()),
    );
    let jackknife = (config.interval == IntervalMethod::Bca).then(|| {
        (
            jackknife_values(&res_a, metrics.len(), &set_a),
            jackknife_values(&res_b, metrics.len(), &set_b),
        )
    });
    let metrics = metrics
        .iter()
        .enumerate()
        .map(|(j, m)| {
            let (ea, eb) = (full_a[j], full_b[j]);
            let diff = |pair: &(Option<f64>, Option<f64>)| pair.0.zip(pair.1).map(|(a, b)| a - b);
            let column: Vec<Option<f64>> = values.iter().map(|row| diff(&row[j])).collect();
            let jack = jackknife.as_ref().map(|(a, b)| {
                a.iter()
                    .zip(b)
                    .map(|(ra, rb)| diff(&(ra[j], rb[j])))
                    .collect::<Vec<_>>()
            });
            let estimate = ea.zip(eb).map(|(a, b)| a - b);
            let difference = summarise(
                *m,
                format!("{} (A - B)", m.name()),
                estimate,
                &column,
                jack.as_deref(),
                &config,
            );
            let valid: Vec<f64> = column.iter().flatten().copied().collect();
            let p_value = (!valid.is_empty()).then(|| {
                let le = valid.iter().filter(|&&d| d <= 0.0).count() as f64;
                let ge = valid.iter().filter(|&&d| d >= 0.0).count() as f64;
                (2.0 * le.min(ge) / valid.len() as f64).min(1.0)
            });
            PairedInterval {
                metric: *m,
                name: m.name(),
                estimate_a: ea,
                estimate_b: eb,
                difference,
                p_value,
            }
        })
        .collect();
    Ok(PairedBootstrapReport {
        n: ranked_a.len(),
        n_pos: ranked_a.n_pos(),
        n_neg: ranked_a.n_neg(),
        n_clusters,
        config,
        metrics,
    })
}

/// Validates inputs shared by the bootstrap entry points and ranks the scores.
fn prepare(
    labels: &[bool],
    scores: &[f64],
    clusters: &Clusters,
    metrics: &[BinaryMetric],
) -> Result<RankedScores> {
    let ranked = RankedScores::new(labels, scores)?;
    check_len("cluster ids", labels.len(), clusters.n_samples())?;
    if metrics.iter().any(BinaryMetric::needs_probabilities)
        && let Some((index, &value)) = scores
            .iter()
            .enumerate()
            .find(|(_, s)| !(0.0..=1.0).contains(*s))
    {
        return Err(Error::NotAProbability {
            metric: "Brier score / ECE",
            index,
            value,
        });
    }
    Ok(ranked)
}

/// Replicate values, `values[r][metric]`, computed in parallel.
fn replicate_values(
    ranked: &RankedScores,
    resampler: &Resampler<'_>,
    replicates: usize,
    set: &MetricSet<'_>,
) -> Vec<Vec<Option<f64>>> {
    let n_clusters = resampler.n_clusters();
    (0..replicates as u64)
        .into_par_iter()
        .map_init(
            || (vec![0u32; n_clusters], ranked.empty_tally(), Vec::new()),
            |(counts, tally, scratch), r| {
                resampler.draw(r, counts);
                resampler.tally_into(counts, tally);
                set.eval(tally, scratch)
            },
        )
        .collect()
}

/// Leave-one-cluster-out values, `values[cluster][metric]`.
fn jackknife_values(
    resampler: &Resampler<'_>,
    n_metrics: usize,
    set: &MetricSet<'_>,
) -> Vec<Vec<Option<f64>>> {
    let mut out = Vec::with_capacity(resampler.n_clusters());
    let mut scratch = Vec::new();
    resampler.for_each_leave_one_out(|_, t| {
        let v = set.eval(t, &mut scratch);
        debug_assert_eq!(v.len(), n_metrics);
        out.push(v);
    });
    out
}

/// Turns one statistic's replicate values into its interval.
fn summarise(
    metric: BinaryMetric,
    name: String,
    estimate: Option<f64>,
    column: &[Option<f64>],
    jackknife: Option<&[Option<f64>]>,
    config: &BootstrapConfig,
) -> MetricInterval {
    let mut valid: Vec<f64> = column.iter().flatten().copied().collect();
    valid.sort_by(f64::total_cmp);
    let n_valid = valid.len();
    let mut out = MetricInterval {
        metric,
        name,
        estimate,
        lower: None,
        upper: None,
        std_error: interval::std_dev(&valid),
        method: IntervalMethod::Percentile,
        n_valid_replicates: n_valid,
        n_dropped_replicates: column.len() - n_valid,
        degenerate: false,
        degenerate_reason: None,
        note: None,
    };
    let Some(est) = estimate else {
        out.note = Some("undefined on the original data".into());
        out.flag_degeneracy();
        return out;
    };
    if n_valid < 2 {
        out.note = Some(format!(
            "only {n_valid} replicate(s) where the statistic is defined"
        ));
        out.flag_degeneracy();
        return out;
    }
    let (mut lo, mut hi) = interval::percentile(&valid, config.level);
    if config.interval == IntervalMethod::Bca {
        let jack: Option<Vec<f64>> = jackknife.and_then(|j| j.iter().copied().collect());
        match jack {
            None => {
                out.note = Some(
                    "BCa unavailable (a leave-one-cluster-out value is undefined); percentile used"
                        .into(),
                );
            }
            Some(jack) => match interval::bca(&valid, est, &jack, config.level) {
                Ok((l, h)) => {
                    (lo, hi) = (l, h);
                    out.method = IntervalMethod::Bca;
                }
                Err(why) => out.note = Some(format!("BCa unavailable ({why}); percentile used")),
            },
        }
    }
    out.lower = Some(lo);
    out.upper = Some(hi);
    out.flag_degeneracy();
    out
}
